"""Generate the admission policies of one configuration: what `initgate export
admission-policies` prints and the chart installs.

Each validating policy (and user rule) becomes one ValidatingAdmissionPolicy and a binding per
namespace cap it acts under; each mutating policy one MutatingAdmissionPolicy (Kubernetes 1.36
and later) and its bindings. What cannot be expressed is returned as a note, never dropped
silently. Every expression is compiled in initgate's CEL environment before it is returned.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from policies import readonly_mounts
from policies.base import Mode
from policies.policy import PolicySettings
from webhook.core.cel import cost
from webhook.core.cel.environment import CompileError
from webhook.core.cel.expression import compile_checked
from webhook.core.config import Config
from webhook.native import bindings, builders, lint, literals, notes, own_rules, pods, unbounded
from webhook.native.builders import Expression
from webhook.native.generated import Validating

POLICY_VARIABLES = frozenset(
    ("object", "oldObject", "request", "params", "namespaceObject", "variables")
)
"""What a ValidatingAdmissionPolicy's expressions may read."""
NO_LIMIT = cost.UNBOUNDED
"""The generated expressions are not held to the rules' budget nor length: the API server meters
them itself as they run (docs/native-policies.md), and their static estimates, which assume a
thousand containers of 64 KiB scripts, may saturate; `make bench` reports their cost."""
PARSE_DEPTH = 32
"""Levels of nesting initgate's CEL runtime (cel-cpp) parses; cel-go, Kubernetes', 250."""
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


Generator = Callable[[Config, Any], Validating]

_VALIDATING: dict[str, Generator] = {
    unbounded.ID: lambda _config, s: Validating(
        unbounded.settings_of(s), unbounded.VARIABLES, unbounded.VALIDATIONS
    ),
    lint.ID: lambda _config, s: lint.generate(s),
}


def generate(config: Config, options: Options | None = None) -> Export:
    """The objects for `config`, and notes on what they leave out."""
    options = options or Options()
    if options.now == 0.0:
        options = replace(options, now=literals.current_time())
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
    _rules(export, config, options)
    export.notes.extend(notes.left_to_the_webhook(config, options.kubernetes, _VALIDATING))
    exemptions = [
        ("exemptions", config.exemptions),
        *((f"policies.{p}.exemptions", config.policy(p).exemptions) for p in _VALIDATING),
        *((f"rules[{i}].exemptions", rule.exemptions) for i, rule in enumerate(config.rules)),
    ]
    export.notes.extend(notes.exemptions(exemptions, options.now))
    return export


def _rules(export: Export, config: Config, options: Options) -> None:
    """One policy per user rule, or a note saying why it has none."""
    data_flow = config.policy(readonly_mounts.POLICY.id)
    assert isinstance(data_flow, readonly_mounts.ReadonlyMountsSettings)  # noqa: S101 - by its id
    for index, rule in enumerate(config.rules):
        why = own_rules.unreadable(rule, indexed=options.indexed)
        if why:
            export.notes.append(why)
            continue
        _validating(
            export,
            config=config,
            options=options,
            policy_id=rule.id,
            policy_settings=rule,
            generator=lambda _config, r: own_rules.generate(
                r, data_flow=data_flow, indexed=options.indexed
            ),
            where=("rules", str(index), "exemptions"),
        )


def _validating(
    export: Export,
    *,
    config: Config,
    options: Options,
    policy_id: str,
    policy_settings: PolicySettings,
    generator: Generator,
    where: tuple[str, ...] = (),
) -> None:
    mode = literals.mode(config, policy_settings)
    if mode is Mode.OFF:
        export.notes.append(f"{policy_id}: mode off, no policy generated")
        return
    made = generator(config, policy_settings)
    export.notes.extend(made.notes)
    if mode.rank > made.most.rank:
        export.notes.append(
            f"{policy_id}: mode {mode.value} is generated as {made.most.value}: its CEL "
            "approximates the webhook's analysis, and an approximation must not deny"
        )
        mode = made.most
    bound = bindings.caps(mode)
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
    where = where or ("policies", policy_id, "exemptions")
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
    too_deep = _compiled(policy_id, conditions, variables, made.validations, nested=made.nested)
    if too_deep:
        export.notes.append(
            f"{policy_id}: generated unchecked: with its variables bound, {', '.join(too_deep)}"
            f" nests deeper than initgate's CEL runtime parses ({PARSE_DEPTH} levels; Kubernetes"
            " parses 250): initgate could not compile it, its tests and `make bench` cannot run it"
        )
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
    *,
    nested: bool,
) -> list[str]:
    """Compile every expression as the API server would (a bug here is initgate's). Where a
    user's text is `nested` in variable bindings, what is too deep for initgate's runtime (not
    for Kubernetes') is returned instead: where it is."""
    too_deep = []
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
            _check(text, results)
        except CompileError as error:
            if nested and "recursion" in error.message:
                too_deep.append(where)
                continue
            raise GenerationError(f"{policy_id}: {where}: {error}\n{text}") from None
    return too_deep


# The policies share most of their variables (the pod spec, its containers, the data flow): each
# text is compiled once.
@functools.lru_cache(maxsize=1024)
def _check(text: str, results: frozenset[str] | None) -> None:
    compile_checked(
        text, variables=POLICY_VARIABLES, results=results, budget=NO_LIMIT, max_length=NO_LIMIT
    )


def modes(config: Config) -> dict[str, Mode]:
    """Each generated policy's own mode (before a namespace caps it)."""
    found = {
        policy_id: literals.mode(config, config.policy(policy_id)) for policy_id in _VALIDATING
    }
    found.update({rule.id: literals.mode(config, rule) for rule in config.rules})
    return found
