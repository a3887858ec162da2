"""The webhook's verdict and the generated admission policies' verdict on the same request,
side by side, in the terms both share: per namespace cap, which policies deny, warn or record,
and which containers each names."""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from policies.base import Mode
from tests.support import admission_policies
from webhook.core.config import Config
from webhook.core.engine import Decision, Webhook, decide
from webhook.core.objects import Request
from webhook.core.plan import Plan, compile_plan
from webhook.native.export import Options, generate

_NAMED = re.compile(r'(?:^|: |\| )((?:init|sidecar|app|ephemeral|volume) "[^"]*"|pod)(?: \(|:)')
"""What a generated policy's message names: `init "setup" (spec.initContainers[0]): ...`
(`volume "data": would set ...`: a mutating policy's companion, as the webhook's warning),
each finding after the policy's id or a ` | `."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Per action (`deny`, `warn`, `audit`), each policy that acts and the containers it names."""

    actions: dict[str, dict[str, frozenset[str]]]


def decided(
    config: Config, review: Mapping[str, Any], cap: Mode, *, endpoint: Webhook = "validate"
) -> Decision:
    """The engine's decision on `review` (an AdmissionRequest) under `cap`."""
    obj = review["object"]
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    return decide(
        Request(
            obj,
            operation=review["operation"],
            group=group,
            version=version,
            kind=obj["kind"],
            old_object=review.get("oldObject"),
            subresource=review.get("subResource", ""),
            namespace=review["namespace"],
            username=review["userInfo"]["username"],
            groups=tuple(review["userInfo"].get("groups", ())),
        ),
        _plan(config.model_dump_json(by_alias=True)),
        webhook=endpoint,
        cap=cap,
    )


def webhook(
    config: Config, review: Mapping[str, Any], cap: Mode, *, endpoint: Webhook = "validate"
) -> Verdict:
    """The webhook's verdict (its validating endpoint's, or its mutating one's: what it would
    patch in warn and audit mode is reported as the validating one reports findings)."""
    decision = decided(config, review, cap, endpoint=endpoint)
    actions: dict[str, dict[str, set[str]]] = {"deny": {}, "warn": {}, "audit": {}}
    action = {Mode.ENFORCE: "deny", Mode.WARN: "warn", Mode.AUDIT: "audit"}
    for verdict in decision.verdicts:
        named = actions[action[verdict.mode]].setdefault(verdict.policy, set())
        container = verdict.finding.container
        # A finding about the pod (its `containers` only say whose images may exempt it) is
        # named `pod`, as the generated policies' messages name it.
        named.add(f'{container.role} "{container.name}"' if container else verdict.finding.location)
    if decision.allowed is False and not decision.verdicts:
        actions["deny"].setdefault("onPolicyError", set())
    return Verdict({k: {p: frozenset(c) for p, c in v.items()} for k, v in actions.items()})


_GENERATED: dict[tuple[str, str], list[dict[str, Any]]] = {}


def generated(config: Config, options: Options | None = None) -> list[dict[str, Any]]:
    """The objects of a configuration, generated once (generating compiles every expression;
    kept by the options' repr: they hold a dict, and are not hashable)."""
    return _generated(config.model_dump_json(by_alias=True), options)


def _generated(config: str, options: Options | None) -> list[dict[str, Any]]:
    key = (config, repr(options))
    if key not in _GENERATED:
        if len(_GENERATED) >= 64:
            _GENERATED.clear()
        _GENERATED[key] = generate(Config.model_validate_json(config), options).objects
    return _GENERATED[key]


@functools.lru_cache(maxsize=64)
def _plan(config: str) -> Plan:
    return compile_plan(Config.model_validate_json(config))


def native(
    config: Config, review: Mapping[str, Any], cap: Mode, options: Options | None = None
) -> Verdict:
    objects = generated(config, options)
    labels = {"kubernetes.io/metadata.name": review["namespace"], "initgate.io/mode": cap.value}
    return named(admission_policies.validate(objects, review, labels))


def named(outcome: admission_policies.Outcome, only: Collection[str] = ()) -> Verdict:
    """The verdict the validating policies' messages give (`<policy>: <role> "<name>" ...`),
    of the policies in `only` (all when empty)."""
    actions: dict[str, dict[str, set[str]]] = {"deny": {}, "warn": {}, "audit": {}}
    audited = [m for m in outcome.audited if m not in outcome.denied]
    # Deny comes with Audit; the webhook's is one verdict.
    for action, messages in (
        ("deny", outcome.denied),
        ("warn", outcome.warned),
        ("audit", audited),
    ):
        for message in messages:
            policy = message.split(": ", 1)[0]
            if only and policy not in only:
                continue
            actions[action].setdefault(policy, set()).update(_NAMED.findall(message))
    return Verdict({k: {p: frozenset(c) for p, c in v.items()} for k, v in actions.items()})


Finding = tuple[str, str, str, str]
"""(policy, what it names: `init "setup"` or `pod`, the field, the message)."""
_FINDINGS = re.compile(
    r'(?:^|\| )((?:init|sidecar|app|ephemeral|volume) "[^"]*"|pod) \(([^)]*)\): '
)


def findings(config: Config, review: Mapping[str, Any]) -> set[Finding]:
    """Every finding of the webhook's validating policies on the request, as a denial lists it."""
    decision = decided(config, review, Mode.ENFORCE)
    obj = review["object"]
    prefix = {"CronJob": "spec.jobTemplate.spec.template.spec", "Pod": "spec"}.get(
        obj["kind"], "spec.template.spec"
    )
    return {
        (
            v.policy,
            v.finding.location,
            f"{prefix}.{v.finding.container.field}" if v.finding.container else prefix,
            v.finding.message,
        )
        for v in decision.verdicts
    }


def native_findings(
    config: Config, review: Mapping[str, Any], options: Options | None = None
) -> set[Finding]:
    """Every finding in the generated policies' denials and warnings of the request, in an
    enforced namespace: each validation's message split at ` | `."""
    labels = {"kubernetes.io/metadata.name": review["namespace"], "initgate.io/mode": "enforce"}
    objects = _generated(config.model_dump_json(by_alias=True), options)
    found = set()
    outcome = admission_policies.validate(objects, review, labels)
    for said in (*outcome.denied, *outcome.warned):
        policy, _, rest = said.partition(": ")
        parts = _FINDINGS.split(rest)[1:]
        for label, field, message in zip(parts[::3], parts[1::3], parts[2::3], strict=True):
            found.add((policy, label, field, message.removesuffix(" ")))
    return found
