"""init-unbounded as CEL: init containers declare cpu and memory limits (or the pod does),
within the configured maxima; the message suggests a value, as the webhook's does."""

from __future__ import annotations

from policies.init_unbounded import InitUnboundedSettings
from webhook.native import pods
from webhook.native.builders import Expression
from webhook.native.literals import Setting, exempt, path

ID = "init-unbounded"


def _bounds(value: str) -> str:
    """CEL: whether an optional limit bounds anything (present, and not a quantity of 0; one
    that is no quantity counts, as the webhook counts it)."""
    return (
        f"({value}.hasValue() && (!isQuantity(string({value}.value()))"
        f" || sign(quantity(string({value}.value()))) != 0))"
    )


_LIMIT = "e.c.?resources.?limits[?r]"
_POD_LIMIT = "variables.spec.?resources.?limits[?r]"
_UNBOUNDED = f"!{_bounds(_LIMIT)} && !{_bounds(_POD_LIMIT)} && !" + exempt("e", "('limit:' + r)")
_REQUEST = "e.c.?resources.?requests[?r]"
_EXAMPLE = (
    f"({_REQUEST}.hasValue() && isQuantity(string({_REQUEST}.value()))"
    " && (!variables.suggested[?r].hasValue()"
    f" || quantity(string({_REQUEST}.value())).isGreaterThan(quantity(variables.suggested[r])))"
    f" ? string({_REQUEST}.value()) : variables.suggested[?r].orValue(''))"
)
_MISSING = (
    f"{pods.label('e')} + ': resources.limits.' + r + ' is '"
    f" + ({_LIMIT}.hasValue() ? string({_LIMIT}.value()) + ', which the kubelet reads as no limit'"
    " : 'missing')"
    f" + '; ' + ({_EXAMPLE} != '' ? 'set one, e.g. ' + r + ': ' + {_EXAMPLE} : 'set one')"
)
_ABOVE = (
    f"{_LIMIT}.hasValue() && (!isQuantity(string({_LIMIT}.value()))"
    f" || quantity(string({_LIMIT}.value())).isGreaterThan(quantity(variables.maximum[r])))"
    " && !" + exempt("e", "('max:' + r)")
)
_TOO_HIGH = (
    f"{pods.label('e')} + ': resources.limits.' + r + ' is '"
    f" + (isQuantity(string({_LIMIT}.value()))"
    f" ? string({_LIMIT}.value()) + ', above the maximum ' + variables.maximum[r] + '; lower it'"
    f' : "\'" + string({_LIMIT}.value()) + "\', not a quantity; use e.g. " + variables.maximum[r])'
)


def settings_of(settings: InitUnboundedSettings) -> list[Setting]:
    """The policy's settings, as the literal variables its expressions read."""
    return [
        Setting("roles", [r.value for r in settings.roles], path(*_AT, "roles")),
        Setting("required", list(settings.required), path(*_AT, "required")),
        Setting("suggested", dict(settings.suggested), path(*_AT, "suggested")),
        Setting("maximum", dict(settings.maximum), path(*_AT, "maximum")),
    ]


VARIABLES: list[Expression] = [
    {"name": "judged", "expression": "variables.containers.filter(e, e.role in variables.roles)"}
]
_AT = ("policies", ID)


VALIDATIONS = [
    {
        "expression": f"!variables.judged.exists(e, variables.required.exists(r, {_UNBOUNDED}))",
        "messageExpression": (
            f"'{ID}: ' + variables.judged.map(e, variables.required.filter(r, {_UNBOUNDED})"
            f".map(r, {_MISSING}).join(' | ')).filter(m, m != '').join(' | ')"
        ),
        "message": f"{ID}: Add resources.limits to each init container.",
        "reason": "Forbidden",
    },
    {
        "expression": f"!variables.judged.exists(e, variables.maximum.exists(r, {_ABOVE}))",
        "messageExpression": (
            f"'{ID}: ' + variables.judged.map(e, variables.maximum.filter(r, {_ABOVE})"
            f".map(r, {_TOO_HIGH}).join(' | ')).filter(m, m != '').join(' | ')"
        ),
        "message": f"{ID}: Lower the init containers' resources.limits to the maxima.",
        "reason": "Forbidden",
    },
]
