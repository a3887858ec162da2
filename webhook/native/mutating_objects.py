"""The objects one mutating policy becomes (webhook/native/mutating.py: what they share), from
its plan, as a `Writer` writes what the configuration decides: `initgate export` with literals,
the chart with Go templates.

- a MutatingAdmissionPolicy bound, by a MutatingAdmissionPolicyBinding per namespace cap, only
  where the policy acts in enforce mode;
- where it acts in warn or audit mode, a companion ValidatingAdmissionPolicy of the same name and
  variables, bound with Warn or Audit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.base import Mode
from webhook.native import bindings, builders, pods
from webhook.native import writer as written
from webhook.native.builders import Expression
from webhook.native.compiling import Text
from webhook.native.literals import Condition, Setting
from webhook.native.mutating import PATCH, Mutating, shared
from webhook.native.writer import Writer

Binding = Callable[[Mode], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Planned:
    """One mutating policy with what the configuration decides still apart (as
    `export.Planned` for a validating one): `initgate export` writes its settings and
    conditions as literals, the chart as Go templates (`objects`)."""

    policy_id: str
    mode: Setting
    """The policy's own mode (before a namespace caps it)."""
    failure_policy: Setting
    conditions: list[Condition]
    """Who is exempt (namespaces, users, groups), after the routing's conditions."""
    settings: list[Setting]
    """The image exemptions, then the policy's settings."""
    made: Mutating


@dataclass(frozen=True, slots=True)
class Objects:
    """What one mutating policy's objects are made of, once its expressions are written."""

    name: str
    policy: str
    failure_policy: str
    conditions: Sequence[Expression]
    variables: Sequence[Expression]
    made: Mutating
    extra_labels: dict[str, str]
    object_selector: dict[str, Any] = field(default_factory=dict)
    """The bindings' objectSelector (`Routing.object_selector`)."""


def objects(
    planned: Planned,
    writer: Writer,
    *,
    name: str,
    routing: Sequence[Expression],
    object_selector: dict[str, Any],
    extra_labels: dict[str, str],
) -> Objects:
    """What the policy's objects are made of, as `writer` writes the configuration;
    `routing`: the matchConditions every webhook entry has (`Routing.match_conditions`)."""
    made = planned.made
    return Objects(
        name=name,
        policy=planned.policy_id,
        failure_policy=writer.value(planned.failure_policy),
        conditions=[*routing, *written.conditions(writer, [*planned.conditions])],
        variables=[
            *shared(mounts=made.mounts),
            *written.variables(writer, [*planned.settings]),
            *made.variables,
        ],
        made=made,
        extra_labels=extra_labels,
        object_selector=object_selector,
    )


def texts(objects: Objects) -> list[Text]:
    """Every expression of the policy's objects, as the API server compiles each: the MAP's
    with its patch types, the companion VAP's without."""
    validation = preview(objects.made)
    return [
        *(Text(c["name"], c["expression"], frozenset(("bool",))) for c in objects.conditions),
        *(Text(f"variables.{v['name']}", v["expression"]) for v in objects.variables),
        Text("mutations[0]", PATCH, frozenset(("list(JSONPatch)",)), patches=True),
        Text("validations[0].expression", validation["expression"], frozenset(("bool",))),
        Text(
            "validations[0].messageExpression",
            validation["messageExpression"],
            frozenset(("string",)),
        ),
    ]


def preview(made: Mutating) -> dict[str, str]:
    """The companion validation: nothing would change."""
    return {
        "expression": "size(variables.operations) == 0",
        "messageExpression": made.message,
        "message": made.fallback,
        "reason": "Forbidden",
    }


def policy(objects: Objects) -> dict[str, Any]:
    """The MutatingAdmissionPolicy, bound where the policy enforces."""
    return builders.mutating_policy(
        objects.name,
        policy=objects.policy,
        failure_policy=objects.failure_policy,
        resource_rules=pods.POD_RULES,
        match_conditions=objects.conditions,
        variables=objects.variables,
        patches=[PATCH],
        extra_labels=objects.extra_labels,
    )


def companion(objects: Objects) -> dict[str, Any]:
    """The ValidatingAdmissionPolicy of the same name, bound where the policy warns or audits."""
    return builders.validating_policy(
        objects.name,
        policy=objects.policy,
        failure_policy=objects.failure_policy,
        resource_rules=pods.POD_RULES,
        match_conditions=objects.conditions,
        variables=objects.variables,
        validations=[preview(objects.made)],
        extra_labels=objects.extra_labels,
    )


def build(objects: Objects, bound: Sequence[tuple[Mode, Mode]], selector: Binding) -> list[Any]:
    """The MAP and its bindings where the policy enforces; the companion VAP and its bindings
    where it warns or audits (each only when some cap needs it)."""
    found: list[Any] = []
    enforced = [cap for cap, capped in bound if capped is Mode.ENFORCE]
    previewed = [(cap, capped) for cap, capped in bound if capped is not Mode.ENFORCE]
    name, policy_id, labels = objects.name, objects.policy, objects.extra_labels
    if enforced:
        found.append(policy(objects))
        found.extend(
            builders.mutating_binding(
                f"{name}-{cap.value}",
                policy=policy_id,
                policy_name=name,
                namespace_selector=selector(cap),
                object_selector=objects.object_selector,
                extra_labels=labels,
            )
            for cap in enforced
        )
    if previewed:
        found.append(companion(objects))
        found.extend(
            builders.validating_binding(
                f"{name}-{cap.value}",
                policy=policy_id,
                policy_name=name,
                actions=bindings.actions(capped),
                namespace_selector=selector(cap),
                object_selector=objects.object_selector,
                extra_labels=labels,
            )
            for cap, capped in previewed
        )
    return found
