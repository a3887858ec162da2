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
from typing import Any

from policies.base import Mode
from policies.policy import PolicySettings
from webhook.core.cel.environment import CompileError
from webhook.core.cel.expression import compile_checked
from webhook.core.config import Config
from webhook.native import bindings, builders, literals, pods, privileged, unbounded
from webhook.native.builders import Expression
from webhook.native.literals import Setting

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
    privileged.ID: lambda _config, s: Validating(
        privileged.settings_of(s),
        privileged.VARIABLES,
        privileged.VALIDATIONS,
        renamed=privileged.RENAMED,
    ),
    unbounded.ID: lambda _config, s: Validating(
        unbounded.settings_of(s), unbounded.VARIABLES, unbounded.VALIDATIONS
    ),
}


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
    for policy_id, generator in _VALIDATING.items():
        policy_settings = config.policy(policy_id)
        _validating(
            export,
            config=config,
            options=options,
            policy_id=policy_id,
            policy_settings=policy_settings,
            generator=generator,
        )
    return export


def _validating(
    export: Export,
    *,
    config: Config,
    options: Options,
    policy_id: str,
    policy_settings: PolicySettings,
    generator: Generator,
) -> None:
    mode = literals.mode(config, policy_settings)
    bound = bindings.caps(mode)
    if not bound:
        export.notes.append(f"{policy_id}: mode off, no policy generated")
        return
    made = generator(config, policy_settings)
    export.notes.extend(made.notes)
    name = f"{options.prefix}-{policy_id}"
    values = [
        literals.exemptions(
            config, policy_settings, options.now, policy=policy_id, renamed=made.renamed
        ),
        *made.settings,
    ]
    variables = [
        *pods.shared(indexed=options.indexed),
        *(s.variable() for s in values),
        *made.variables,
    ]
    where = ("policies", policy_id, "exemptions")
    conditions = [
        pods.CHANGED,
        *(
            c.condition()
            for c in literals.who(config.exemptions, "exempt", options.now, ("exemptions",))
        ),
        *(
            c.condition()
            for c in literals.who(
                policy_settings.exemptions, f"{policy_id}-exempt", options.now, where
            )
        ),
    ]
    _compiled(policy_id, conditions, variables, made.validations)
    export.objects.append(
        builders.validating_policy(
            name,
            policy=policy_id,
            failure_policy="Fail" if config.on_policy_error == "deny" else "Ignore",
            resource_rules=pods.WORKLOAD_RULES,
            match_conditions=conditions,
            variables=variables,
            validations=made.validations,
            extra_labels=options.extra_labels,
        )
    )
    for cap, capped in bound:
        export.objects.append(
            builders.validating_binding(
                f"{name}-{cap.value}",
                policy=policy_id,
                policy_name=name,
                actions=bindings.actions(capped),
                namespace_selector=options.routing.selector(cap),
                extra_labels=options.extra_labels,
            )
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
