"""default-resources as a MutatingAdmissionPolicy: the requests and limits a container lacks,
from the configured defaults, as `policies.default_resources` adds them: a value already set
is never changed, a default request is capped at the container's own limit and a default limit
raised to its own request, and a pod with pod-level resources is left alone.

Where the webhook adds a missing `resources` (or `requests`, `limits`) map whole, the policy
adds it empty and then each value: CEL cannot build a map whose keys are the configured
resource names (transformMap is not offered by initgate's runtime), and the pod ends the same.
"""

from __future__ import annotations

from policies.default_resources import DefaultResourcesSettings
from webhook.native import pods
from webhook.native.builders import Expression
from webhook.native.literals import Setting, exempt, path
from webhook.native.mutating import Mutating

ID = "default-resources"
_AT = ("policies", ID)

# For the container entry `e` and a resource name `r` of the defaults.
_HAS = "e.c.?resources.?{key}[?r].hasValue()"
_CAPPED = (
    "(e.c.?resources.?{bound}[?r].hasValue() && isQuantity(string(e.c.resources.{bound}[r]))"
    " && quantity(string(e.c.resources.{bound}[r])).{compare}(quantity(variables.{key}[r]))"
    " ? e.c.resources.{bound}[r] : variables.{key}[r])"
)
"""The value a missing request (limit) gets: the default, or the container's own limit (request)
when that is below (above) it, as `default_resources._missing`."""
_KEYS = {
    "requests": ("limits", "isLessThan"),
    "limits": ("requests", "isGreaterThan"),
}


def _missing(key: str) -> str:
    """CEL: the names of the defaults of `key` the container `e` lacks."""
    return f"variables.{key}.filter(r, !{_HAS.format(key=key)})"


def _value(key: str) -> str:
    bound, compare = _KEYS[key]
    return _CAPPED.format(key=key, bound=bound, compare=compare)


def _adds(key: str) -> str:
    """CEL: the operations adding the missing defaults of `key` (its map first, when absent)."""
    create = (
        f"(e.c.?resources.?{key}.hasValue() || size({_missing(key)}) == 0 ? []"
        f" : [{{'at': dyn(e.path + '/resources'), 'key': dyn('{key}'), 'value': dyn({{}})}}])"
    )
    each = (
        f"{_missing(key)}.map(r, {{'at': dyn(e.path + '/resources/{key}'), 'key': dyn(r),"
        f" 'value': dyn({_value(key)})}})"
    )
    return f"{create} + {each}"


def _described(key: str) -> str:
    """CEL: `requests cpu=100m memory=128Mi`, or '' when none is missing."""
    return (
        f"(size({_missing(key)}) == 0 ? '' : '{key} ' + "
        f"{_missing(key)}.map(r, r + '=' + string({_value(key)})).join(' '))"
    )


def settings_of(settings: DefaultResourcesSettings) -> list[Setting]:
    """The policy's settings, as the literal variables its expressions read."""
    return [
        Setting("roles", [r.value for r in settings.roles], path(*_AT, "roles")),
        Setting("requests", dict(settings.requests), path(*_AT, "requests")),
        Setting("limits", dict(settings.limits), path(*_AT, "limits")),
    ]


_EXEMPT = exempt("e", "'resources'")
VARIABLES: list[Expression] = [
    {
        "name": "lacking",
        "expression": (
            "size(variables.spec.?resources.orValue({})) > 0 ? []"
            " : variables.containers.filter(e, e.role in variables.roles"
            f" && (size({_missing('requests')}) > 0 || size({_missing('limits')}) > 0)"
            f" && !{_EXEMPT})"
        ),
    },
    {
        "name": "operations",
        "expression": (
            "variables.lacking.map(e, (has(e.c.resources) ? []"
            " : [{'at': dyn(e.path), 'key': dyn('resources'), 'value': dyn({})}])"
            f" + {_adds('requests')} + {_adds('limits')}).flatten()"
        ),
    },
]
"""The judged containers lacking a default (none when the pod declares pod-level resources: its
containers share that budget), and the operations adding them."""

MESSAGE = (
    f"'{ID}: ' + variables.lacking.map(e, {pods.label('e')} + ': would set '"
    f" + [{_described('requests')}, {_described('limits')}].filter(s, s != '').join(', '))"
    ".join(' | ')"
)


def generate(settings: DefaultResourcesSettings) -> Mutating:
    """default-resources as CEL."""
    return Mutating(
        settings=settings_of(settings),
        variables=VARIABLES,
        message=MESSAGE,
        fallback=f"{ID}: would add the default requests and limits containers lack.",
    )
