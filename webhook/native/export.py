"""Generate the admission policies of one configuration: what `initgate export
admission-policies` prints and the chart installs.

Each validating policy (and user rule) becomes one ValidatingAdmissionPolicy and a binding per
namespace cap it acts under; each mutating policy one MutatingAdmissionPolicy (Kubernetes 1.36
and later) and its bindings. What cannot be expressed is returned as a note, never dropped
silently. Every expression is compiled in initgate's CEL environment before it is returned.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from policies import readonly_mounts
from policies.base import Mode
from policies.policy import PolicySettings
from webhook.core.config import Config
from webhook.core.rules import RuleSettings
from webhook.native import (
    bindings,
    builders,
    lint,
    literals,
    mutating,
    mutating_objects,
    notes,
    own_rules,
    pods,
    privileged,
    readonly,
    resources,
    sizelimit,
    unbounded,
)
from webhook.native import writer as written
from webhook.native.builders import Expression
from webhook.native.compiling import (
    NO_LIMIT,
    PARSE_DEPTH,
    POLICY_VARIABLES,
    GenerationError,
    Text,
    check,
)
from webhook.native.generated import Validating
from webhook.native.literals import Condition, Setting
from webhook.native.writer import Literals, Writer

__all__ = [
    "NEWEST",
    "NO_LIMIT",
    "OLDEST",
    "POLICY_VARIABLES",
    "Export",
    "GenerationError",
    "Literals",
    "Options",
    "Planned",
    "Writer",
    "generate",
    "modes",
    "mutating_plans",
    "plan",
    "policy_object",
    "rule_plan",
    "rule_plans",
]
OLDEST = (1, 30)
NEWEST = (1, 36)


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
    privileged.ID: lambda _config, s: Validating(
        privileged.settings_of(s),
        privileged.VARIABLES,
        privileged.VALIDATIONS,
        renamed=privileged.RENAMED,
    ),
    unbounded.ID: lambda _config, s: Validating(
        unbounded.settings_of(s), unbounded.VARIABLES, unbounded.VALIDATIONS
    ),
    lint.ID: lambda _config, s: lint.generate(s),
}

MutatingGenerator = Callable[[Config, Any], mutating.Mutating]

_MUTATING: dict[str, MutatingGenerator] = {
    resources.ID: lambda _config, s: resources.generate(s),
    sizelimit.ID: lambda config, s: sizelimit.generate(
        s,
        after_defaults=literals.mode(config, s) is Mode.ENFORCE
        and literals.mode(config, config.policy(resources.ID)) is Mode.ENFORCE,
    ),
    readonly.ID: lambda _config, s: readonly.generate(s),
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
    most: Mode = Mode.ENFORCE
    """The strongest mode the generated policy acts in (init-lint's approximations only warn)."""
    nested: bool = False
    """Whether a user's text is nested in variable bindings (a user rule's)."""


def plan(config: Config, options: Options) -> list[Planned]:
    """Every built-in validating policy of `config`, whatever its mode (the chart writes these;
    user rules are planned by `rule_plans`)."""
    return [
        _planned(
            config,
            options,
            policy_id=policy_id,
            settings=config.policy(policy_id),
            generator=generator,
            at=("policies", policy_id),
        )
        for policy_id, generator in _VALIDATING.items()
    ]


def rule_plans(config: Config, options: Options) -> tuple[list[Planned], list[str]]:
    """A plan per user rule, and a note for each rule that has none, saying why."""
    planned, why_not = [], []
    for rule in config.rules:
        why = own_rules.unreadable(rule, indexed=options.indexed)
        if why:
            why_not.append(why)
        else:
            planned.append(rule_plan(config, options, rule))
    return planned, why_not


def rule_plan(config: Config, options: Options, rule: RuleSettings) -> Planned:
    """The plan of one user rule that `own_rules` can generate. Its settings are read from
    `$rule` in the chart: the rule, merged over its defaults, in a range over the rules."""
    data_flow = config.policy(readonly_mounts.POLICY.id)
    assert isinstance(data_flow, readonly_mounts.ReadonlyMountsSettings)  # noqa: S101 - by its id

    def generator(_config: Config, r: Any) -> Validating:
        return own_rules.generate(r, data_flow=data_flow, indexed=options.indexed)

    return _planned(
        config, options, policy_id=rule.id, settings=rule, generator=generator, at=("$rule",)
    )


def generate(config: Config, options: Options | None = None) -> Export:
    """The objects for `config`, and notes on what they leave out."""
    options = options or Options()
    if options.now == 0.0:
        options = replace(options, now=literals.current_time())
    export = Export()
    rules, why_not = rule_plans(config, options)
    for planned in [*plan(config, options), *rules]:
        _write(export, planned, options)
    for planned_mutating in mutating_plans(config, options):
        _mutating(export, planned_mutating, options)
    export.notes.extend(why_not)
    generated = [*_VALIDATING, *(_MUTATING if options.kubernetes >= mutating.MINIMUM else ())]
    export.notes.extend(notes.left_to_the_webhook(config, options.kubernetes, generated))
    exemptions = [
        ("exemptions", config.exemptions),
        *((f"policies.{p}.exemptions", config.policy(p).exemptions) for p in generated),
        *((f"rules[{i}].exemptions", rule.exemptions) for i, rule in enumerate(config.rules)),
    ]
    export.notes.extend(notes.exemptions(exemptions, options.now))
    return export


def _write(export: Export, planned: Planned, options: Options) -> None:
    """The policy and its bindings, or the note that says why there are none."""
    mode = Mode(planned.mode.value)
    if mode is Mode.OFF:
        export.notes.append(f"{planned.policy_id}: mode off, no policy generated")
        return
    export.notes.extend(planned.notes)
    if mode.rank > planned.most.rank:
        export.notes.append(
            f"{planned.policy_id}: mode {mode.value} is generated as {planned.most.value}: its "
            "CEL approximates the webhook's analysis, and an approximation must not deny"
        )
        mode = planned.most
    name = f"{options.prefix}-{planned.policy_id}"
    policy = policy_object(
        planned,
        Literals(),
        name=name,
        routing=options.routing.match_conditions,
        extra_labels=options.extra_labels,
    )
    spec = policy["spec"]
    too_deep = _compiled(
        planned.policy_id,
        spec["matchConditions"],
        spec["variables"],
        spec["validations"],
        nested=planned.nested,
    )
    if too_deep:
        export.notes.append(
            f"{planned.policy_id}: generated unchecked: with its variables bound, "
            f"{', '.join(too_deep)} nests deeper than initgate's CEL runtime parses "
            f"({PARSE_DEPTH} levels; Kubernetes parses 250): initgate could not compile it, its "
            "tests and `make bench` cannot run it"
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
        for cap, capped in bindings.caps(mode)
    )


def _planned(
    config: Config,
    options: Options,
    *,
    policy_id: str,
    settings: PolicySettings,
    generator: Generator,
    at: tuple[str, ...],
) -> Planned:
    """The plan of a policy whose settings are `settings`, at `at` in the configuration."""
    made = generator(config, settings)
    image_exemptions = literals.exemptions(
        config, settings, options.now, policy=policy_id, at=at, renamed=made.renamed
    )
    return Planned(
        policy_id,
        mode=_mode(config, settings, at),
        failure_policy=_failure_policy(config),
        conditions=[
            pods.CHANGED,
            *literals.exempt_conditions(config, settings, policy_id, options.now, at=at),
        ],
        variables=[
            *pods.shared(indexed=options.indexed),
            image_exemptions,
            *made.settings,
            *made.variables,
        ],
        validations=made.validations,
        notes=made.notes,
        most=made.most,
        nested=made.nested,
    )


def _mode(config: Config, settings: PolicySettings, at: tuple[str, ...]) -> Setting:
    template = f'default (index $config "mode") ({literals.path(*at, "mode")})'
    return Setting("mode", literals.mode(config, settings).value, template)


def _failure_policy(config: Config) -> Setting:
    return Setting(
        "failurePolicy",
        "Fail" if config.on_policy_error == "deny" else "Ignore",
        'ternary "Fail" "Ignore" (eq (index $config "onPolicyError") "deny")',
    )


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
    return builders.validating_policy(
        name,
        policy=planned.policy_id,
        failure_policy=writer.value(planned.failure_policy),
        resource_rules=pods.WORKLOAD_RULES,
        match_conditions=[*routing, *written.conditions(writer, planned.conditions)],
        variables=written.variables(writer, planned.variables),
        validations=planned.validations,
        extra_labels=extra_labels,
    )


def _compiled(
    policy_id: str,
    conditions: Sequence[Expression],
    variables: Sequence[Expression],
    validations: Sequence[dict[str, str]],
    *,
    nested: bool,
) -> list[str]:
    """Compile every expression as the API server would (a bug here is initgate's); returns
    where a `nested` user's text is too deep for initgate's runtime (`compiling.check`)."""
    return check(
        policy_id,
        [
            *(Text(c["name"], c["expression"], frozenset(("bool",))) for c in conditions),
            *(Text(f"variables.{v['name']}", v["expression"]) for v in variables),
            *(
                Text(f"validations[{i}].{key}", v[key], frozenset((result,)))
                for i, v in enumerate(validations)
                for key, result in (("expression", "bool"), ("messageExpression", "string"))
                if key in v
            ),
        ],
        nested=nested,
    )


def mutating_plans(config: Config, options: Options) -> list[mutating_objects.Planned]:
    """Every mutating policy of `config`, whatever its mode and the Kubernetes version."""
    found = []
    for policy_id, generator in _MUTATING.items():
        settings = config.policy(policy_id)
        at = ("policies", policy_id)
        found.append(
            mutating_objects.Planned(
                policy_id,
                mode=_mode(config, settings, at),
                failure_policy=_failure_policy(config),
                conditions=literals.exempt_conditions(
                    config, settings, policy_id, options.now, at=at
                ),
                settings=[
                    literals.exemptions(config, settings, options.now, policy=policy_id, at=at),
                    *(made := generator(config, settings)).settings,
                ],
                made=made,
            )
        )
    return found


def _mutating(export: Export, planned: mutating_objects.Planned, options: Options) -> None:
    bound = bindings.caps(Mode(planned.mode.value))
    if not bound:
        export.notes.append(f"{planned.policy_id}: mode off, no policy generated")
        return
    if options.kubernetes < mutating.MINIMUM:
        return  # notes.left_to_the_webhook says so
    objects = mutating_objects.objects(
        planned,
        Literals(),
        name=f"{options.prefix}-{planned.policy_id}",
        routing=options.routing.match_conditions,
        object_selector=options.routing.object_selector,
        extra_labels=options.extra_labels,
    )
    check(planned.policy_id, mutating_objects.texts(objects))
    export.notes.extend(planned.made.notes)
    previewed = any(capped is not Mode.ENFORCE for _, capped in bound)
    if previewed and mutating.PREVIEW_NOTE not in export.notes:
        export.notes.append(mutating.PREVIEW_NOTE)
    export.objects.extend(mutating_objects.build(objects, bound, options.routing.selector))


def modes(config: Config) -> dict[str, Mode]:
    """Each generated policy's own mode (before a namespace caps it)."""
    found = {
        policy_id: literals.mode(config, config.policy(policy_id))
        for policy_id in (*_VALIDATING, *_MUTATING)
    }
    found.update({rule.id: literals.mode(config, rule) for rule in config.rules})
    return found
