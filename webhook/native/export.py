"""Generate the admission policies of one configuration: what `initgate export
admission-policies` prints and the chart installs.

Each validating policy (and user rule) becomes one ValidatingAdmissionPolicy and a binding per
namespace cap it acts under; each mutating policy one MutatingAdmissionPolicy (Kubernetes 1.36
and later) and its bindings. What cannot be expressed is returned as a note, never dropped
silently. Every expression is compiled in initgate's CEL environment before it is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from policies.base import Mode
from webhook.core.cel.environment import CompileError
from webhook.core.cel.expression import compile_checked
from webhook.core.config import Config
from webhook.native import bindings, builders, literals, pods, unbounded
from webhook.native.builders import Expression
from webhook.native.literals import Condition, Setting

POLICY_VARIABLES = frozenset(
    ("object", "oldObject", "request", "params", "namespaceObject", "variables")
)
"""What a ValidatingAdmissionPolicy's expressions may read."""
NO_LIMIT = 2**62
"""The generated expressions are not held to the rules' budget: the API server meters them
itself (docs/native-policies.md); their cost is reported by `make bench`."""
OLDEST = (1, 30)
NEWEST = (1, 36)


class GenerationError(ValueError):
    """A generated expression that does not compile: a bug of initgate's, not of the user."""


@dataclass(frozen=True, slots=True)
class Options:
    kubernetes: tuple[int, int] = NEWEST
    routing: bindings.Routing = field(default_factory=bindings.Routing)
    prefix: str = "initgate"
    """Object names are `<prefix>-<policy id>`."""
    now: float = 0.0
    """When exemptions are read (those ended by then are left out); 0: the clock."""
    extra_labels: dict[str, str] = field(default_factory=dict)

    @property
    def indexed(self) -> bool:
        """Two-variable comprehensions (transformList): accepted in new policies from 1.33."""
        return self.kubernetes >= (1, 33)


@dataclass(slots=True)
class Export:
    objects: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the configuration says that the generated policies do not carry, and why."""


@dataclass(frozen=True, slots=True)
class Validating:
    """What one validating policy adds to the shared variables: its settings (literals), then
    the variables and validations that read them."""

    settings: list[Setting]
    variables: list[Expression]
    validations: list[dict[str, str]]
    renamed: Sequence[tuple[str, str]] = ()
    notes: list[str] = field(default_factory=list)


Generator = Callable[[Config, Any], Validating]

_VALIDATING: dict[str, Generator] = {
    unbounded.ID: lambda _config, s: Validating(
        unbounded.settings_of(s), unbounded.VARIABLES, unbounded.VALIDATIONS
    ),
}


@dataclass(frozen=True, slots=True)
class Planned:
    """One validating policy with what the configuration decides still apart: `generate` writes
    its settings and conditions as literals, the chart as the Go templates that compute the same
    values at `helm upgrade` (webhook/native/chart.py), around the same static expressions. Only
    `Setting`s and `Condition`s may depend on the configuration."""

    policy_id: str
    mode: Setting
    """The policy's own mode (before a namespace caps it)."""
    failure_policy: Setting
    conditions: list[Expression | Condition]
    variables: list[Expression | Setting]
    validations: list[dict[str, str]]
    notes: list[str]


def plan(config: Config, options: Options) -> list[Planned]:
    """Every validating policy of `config`, whatever its mode."""
    return [
        _planned(config, options, policy_id, generator)
        for policy_id, generator in _VALIDATING.items()
    ]


def generate(config: Config, options: Options | None = None) -> Export:
    """The objects for `config`, and notes on what they leave out."""
    options = options or Options()
    if options.now == 0.0:
        options = Options(
            options.kubernetes,
            options.routing,
            options.prefix,
            literals.current_time(),
            options.extra_labels,
        )
    export = Export()
    for planned in plan(config, options):
        bound = bindings.caps(Mode(planned.mode.value))
        if not bound:
            export.notes.append(f"{planned.policy_id}: mode off, no policy generated")
            continue
        export.notes.extend(planned.notes)
        name = f"{options.prefix}-{planned.policy_id}"
        policy = policy_object(
            planned,
            Literals(),
            name=name,
            routing=options.routing.match_conditions,
            extra_labels=options.extra_labels,
        )
        spec = policy["spec"]
        _compiled(
            planned.policy_id, spec["matchConditions"], spec["variables"], spec["validations"]
        )
        export.objects.append(policy)
        export.objects.extend(
            builders.validating_binding(
                f"{name}-{cap.value}",
                policy=planned.policy_id,
                policy_name=name,
                actions=bindings.actions(capped),
                namespace_selector=options.routing.selector(cap),
                object_selector=options.routing.object_selector,
                extra_labels=options.extra_labels,
            )
            for cap, capped in bound
        )
    return export


def _planned(config: Config, options: Options, policy_id: str, generator: Generator) -> Planned:
    settings = config.policy(policy_id)
    made = generator(config, settings)
    image_exemptions = literals.exemptions(
        config, settings, options.now, policy=policy_id, renamed=made.renamed
    )
    own = ("policies", policy_id, "exemptions")
    return Planned(
        policy_id,
        mode=Setting(
            "mode",
            literals.mode(config, settings).value,
            f'default (index $config "mode") ({literals.path("policies", policy_id, "mode")})',
        ),
        failure_policy=Setting(
            "failurePolicy",
            "Fail" if config.on_policy_error == "deny" else "Ignore",
            'ternary "Fail" "Ignore" (eq (index $config "onPolicyError") "deny")',
        ),
        conditions=[
            pods.CHANGED,
            *literals.who(config.exemptions, "exempt", options.now, ("exemptions",), every=True),
            *literals.who(settings.exemptions, f"{policy_id}-exempt", options.now, own, every=True),
        ],
        variables=[
            *pods.shared(indexed=options.indexed),
            image_exemptions,
            *made.settings,
            *made.variables,
        ],
        validations=made.validations,
        notes=made.notes,
    )


class Writer(Protocol):
    """How what the configuration decides is written into a generated object."""

    def value(self, setting: Setting) -> Any:
        """A field's value (`failurePolicy`)."""

    def literal(self, setting: Setting) -> str:
        """A variable's expression: the setting as a CEL literal."""

    def condition(self, condition: Condition) -> Expression | None:
        """A matchCondition; None: left out."""


class Literals:
    """`initgate export`'s writer: the configuration's values, as CEL literals."""

    def value(self, setting: Setting) -> Any:
        return setting.value

    def literal(self, setting: Setting) -> str:
        return literals.literal(setting.value)

    def condition(self, condition: Condition) -> Expression | None:
        return condition.condition() if condition.present else None


def policy_object(
    planned: Planned,
    writer: Writer,
    *,
    name: str,
    routing: Sequence[Expression],
    extra_labels: dict[str, str],
) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy of `planned`, as `writer` writes the configuration into it;
    `routing`: the matchConditions every webhook entry has (`Routing.match_conditions`)."""
    conditions = [
        writer.condition(c) if isinstance(c, Condition) else c for c in planned.conditions
    ]
    return builders.validating_policy(
        name,
        policy=planned.policy_id,
        failure_policy=writer.value(planned.failure_policy),
        resource_rules=pods.WORKLOAD_RULES,
        match_conditions=[*routing, *(c for c in conditions if c is not None)],
        variables=[
            {"name": v.name, "expression": writer.literal(v)} if isinstance(v, Setting) else v
            for v in planned.variables
        ],
        validations=planned.validations,
        extra_labels=extra_labels,
    )


def _compiled(
    policy_id: str,
    conditions: Sequence[Expression],
    variables: Sequence[Expression],
    validations: Sequence[dict[str, str]],
) -> None:
    """Compile every expression as the API server would (a bug here is initgate's)."""
    texts = [
        *((c["name"], c["expression"], frozenset(("bool",))) for c in conditions),
        *((v["name"], v["expression"], None) for v in variables),
        *(
            (f"validations[{i}].{key}", v[key], frozenset((result,)))
            for i, v in enumerate(validations)
            for key, result in (("expression", "bool"), ("messageExpression", "string"))
            if key in v
        ),
    ]
    for where, text, results in texts:
        try:
            compile_checked(text, variables=POLICY_VARIABLES, results=results, budget=NO_LIMIT)
        except CompileError as error:
            raise GenerationError(f"{policy_id}: {where}: {error}\n{text}") from None


def modes(config: Config) -> dict[str, Mode]:
    """Each generated policy's own mode (before a namespace caps it)."""
    return {policy_id: literals.mode(config, config.policy(policy_id)) for policy_id in _VALIDATING}
