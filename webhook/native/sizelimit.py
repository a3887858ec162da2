"""emptydir-sizelimit as a MutatingAdmissionPolicy: every emptyDir without a sizeLimit that a
container of the configured roles mounts gets the default of its medium (`medium: Memory`, or
disk), or the pod's own budget when larger, as `policies.emptydir_sizelimit` sizes it: the
pod-level limit, else the limits of its running containers (app and sidecars) or of its largest
init container beside the sidecars, whichever is more, in whole bytes, written in the largest
binary unit that divides it. Huge pages are left to their own limits; `kubectl debug` adds no
volume, so its requests change none.
"""

from __future__ import annotations

from policies.emptydir_sizelimit import EmptyDirSizeLimitSettings
from webhook.native.builders import Expression
from webhook.native.literals import Setting, path
from webhook.native.mutating import Mutating

ID = "emptydir-sizelimit"
_AT = ("policies", ID)
_UNITS = ("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)


def _whole(value: str) -> str:
    """CEL: the optional quantity `value` in whole bytes, rounded up; 0 when absent or not
    positive (as `emptydir_sizelimit._whole`). Kubernetes answers isInteger only for a quantity
    it holds as an int64; the others (a fraction) are rounded up from their float."""
    quantity = f"quantity(string({value}.value()))"
    number = f"{quantity}.asApproximateFloat()"
    return (
        f"({value}.hasValue() && sign({quantity}) > 0"
        f" ? ({quantity}.isInteger() ? {quantity}.asInteger()"
        f" : int({number}) + (double(int({number})) < {number} ? 1 : 0)) : 0)"
    )


def _summed(role: str, resource: str) -> str:
    limit = _whole(f"e.c.?resources.?limits[?'{resource}']")
    return f"variables.every.filter(e, e.role == '{role}').map(e, {limit})"


def _budget(resource: str) -> str:
    """CEL: the pod's own budget of `resource`, in bytes (`emptydir_sizelimit._declared`)."""
    own = f"variables.podLimits['{resource}']"
    sidecars = f"{_summed('sidecar', resource)}.sum()"
    running = f"{_summed('app', resource)}.sum()"
    inits = _summed("init", resource)
    return f"({own} > 0 ? {own} : {sidecars} + ([{running}] + {inits}).max())"


def _formatted(size: str) -> str:
    """CEL: a byte count (above 0) as `quantity.format_bytes` writes it: `1536Mi`, `1000`."""
    text = f"string({size})"
    for unit, power in reversed(_UNITS):
        text = f"({size} % {2**power} == 0 ? string({size} / {2**power}) + '{unit}' : {text})"
    return text


def _sized(resource: str, default: str) -> str:
    """CEL: the sizeLimit for a volume counted against `resource`: the default, or the budget
    when above it."""
    budget = f"variables.budget['{resource}']"
    return (
        f"({budget} > 0 && quantity(string({budget})).isGreaterThan(quantity({default}))"
        f" ? {_formatted(budget)} : {default})"
    )


def settings_of(settings: EmptyDirSizeLimitSettings) -> list[Setting]:
    """The policy's settings, as the literal variables its expressions read."""
    return [
        Setting("roles", [r.value for r in settings.roles], path(*_AT, "roles")),
        Setting("sizeLimit", settings.size_limit, path(*_AT, "sizeLimit")),
        Setting("memorySizeLimit", settings.memory_size_limit, path(*_AT, "memorySizeLimit")),
    ]


_RESOURCES = ("memory", "ephemeral-storage")
_UNBOUNDED = (
    "has(v.emptyDir) && !has(v.emptyDir.sizeLimit)"
    " && !v.emptyDir.?medium.orValue('').startsWith('HugePages')"
    " && v.name in variables.mounted"
)
VARIABLES: list[Expression] = [
    {
        "name": "mounted",
        "expression": "variables.mounts.filter(p, p.e.role in variables.roles).map(p, p.m.name)",
    },
    {
        "name": "podLimits",
        "expression": "{"
        + ", ".join(
            f"'{r}': {_whole(f'variables.spec.?resources.?limits[?{r!r}]')}" for r in _RESOURCES
        )
        + "}",
    },
    {
        "name": "budget",
        "expression": "{" + ", ".join(f"'{r}': {_budget(r)}" for r in _RESOURCES) + "}",
    },
    {
        "name": "sizes",
        "expression": (
            f"{{'memory': {_sized('memory', 'variables.memorySizeLimit')},"
            f" 'ephemeral-storage': {_sized('ephemeral-storage', 'variables.sizeLimit')}}}"
        ),
    },
    {
        "name": "unbounded",
        "expression": (
            "request.subResource == 'ephemeralcontainers' ? []"
            f" : variables.spec.?volumes.orValue([]).transformList(i, v, {_UNBOUNDED},"
            " {'index': dyn(i), 'name': dyn(v.name), 'size': dyn(variables.sizes["
            "v.emptyDir.?medium.orValue('') == 'Memory' ? 'memory' : 'ephemeral-storage'])})"
        ),
    },
    {
        "name": "operations",
        "expression": (
            "variables.unbounded.map(x, {'at': dyn('/spec/volumes/' + string(x.index)"
            " + '/emptyDir'), 'key': dyn('sizeLimit'), 'value': dyn(x.size)})"
        ),
    },
]
"""Which volumes are mounted by a container of the roles, the pod's limits and budget per
resource, the sizes a volume gets, and the emptyDirs without a sizeLimit with theirs."""

MESSAGE = (
    f"'{ID}: ' + variables.unbounded.map(x, 'volume \"' + x.name"
    " + '\": would set emptyDir.sizeLimit=' + x.size).join(' | ')"
)


ORDER_NOTE = (
    f"{ID}: Kubernetes does not order MutatingAdmissionPolicies; when default-resources' runs "
    "first, the limits it adds count in the pod's budget, and an emptyDir may get a larger "
    "sizeLimit than the webhook gives it (never a smaller one)"
)


def generate(settings: EmptyDirSizeLimitSettings, *, after_defaults: bool = False) -> Mutating:
    """emptydir-sizelimit as CEL; `after_defaults`: default-resources' MAP may run before it."""
    return Mutating(
        settings=settings_of(settings),
        variables=VARIABLES,
        message=MESSAGE,
        fallback=f"{ID}: would set a sizeLimit on emptyDir volumes that have none.",
        mounts=True,
        notes=[ORDER_NOTE] if after_defaults else [],
    )
