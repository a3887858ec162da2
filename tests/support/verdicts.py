"""The webhook's verdict and the generated admission policies' verdict on the same request,
side by side, in the terms both share: per namespace cap, which policies deny, warn or record,
and which containers each names."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.base import Mode
from tests.support import admission_policies
from webhook.core.config import Config
from webhook.core.engine import Decision, decide
from webhook.core.objects import Request
from webhook.core.plan import Plan, compile_plan
from webhook.native.export import NEWEST, Options, generate

_NAMED = re.compile(r'(?:^|: |\| )((?:init|sidecar|app|ephemeral|volume) "[^"]*"|pod) \(')
"""What a generated policy's message names: `init "setup" (spec.initContainers[0]): ...`,
each finding after the policy's id or a ` | `."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """Per action (`deny`, `warn`, `audit`), each policy that acts and the containers it names."""

    actions: dict[str, dict[str, frozenset[str]]]


def _decision(config: Config, request: Mapping[str, Any], cap: Mode) -> Decision:
    obj = request["object"]
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    return decide(
        Request(
            obj,
            operation=request["operation"],
            group=group,
            version=version,
            kind=obj["kind"],
            old_object=request.get("oldObject"),
            subresource=request.get("subResource", ""),
            namespace=request["namespace"],
            username=request["userInfo"]["username"],
            groups=tuple(request["userInfo"].get("groups", ())),
        ),
        _plan(config.model_dump_json(by_alias=True)),
        webhook="validate",
        cap=cap,
    )


def webhook(config: Config, review: Mapping[str, Any], cap: Mode) -> Verdict:
    decision = _decision(config, review, cap)
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


def _generated(config: str, options: Options | None) -> list[dict[str, Any]]:
    if options is None or options == Options(kubernetes=options.kubernetes, now=options.now):
        return _cached(config, options.kubernetes if options else NEWEST)
    return generate(Config.model_validate_json(config), options).objects


@functools.lru_cache(maxsize=64)
def _cached(config: str, kubernetes: tuple[int, int]) -> list[dict[str, Any]]:
    """Options hold a dict (unhashable): the common ones are cached by what they say."""
    return generate(Config.model_validate_json(config), Options(kubernetes=kubernetes)).objects


@functools.lru_cache(maxsize=64)
def _plan(config: str) -> Plan:
    return compile_plan(Config.model_validate_json(config))


def native(
    config: Config, review: Mapping[str, Any], cap: Mode, options: Options | None = None
) -> Verdict:
    objects = _generated(config.model_dump_json(by_alias=True), options)
    labels = {"kubernetes.io/metadata.name": review["namespace"], "initgate.io/mode": cap.value}
    outcome = admission_policies.validate(objects, review, labels)
    actions: dict[str, dict[str, set[str]]] = {"deny": {}, "warn": {}, "audit": {}}
    for action, messages in (("deny", outcome.denied), ("warn", outcome.warned)):
        for message in messages:
            policy = message.split(": ", 1)[0]
            actions[action].setdefault(policy, set()).update(_NAMED.findall(message))
    for message in outcome.audited:
        if message not in outcome.denied:  # Deny comes with Audit; the webhook's is one verdict
            policy = message.split(": ", 1)[0]
            actions["audit"].setdefault(policy, set()).update(_NAMED.findall(message))
    return Verdict({k: {p: frozenset(c) for p, c in v.items()} for k, v in actions.items()})


Finding = tuple[str, str, str, str]
"""(policy, what it names: `init "setup"` or `pod`, the field, the message)."""
_FINDINGS = re.compile(
    r'(?:^|\| )((?:init|sidecar|app|ephemeral|volume) "[^"]*"|pod) \(([^)]*)\): '
)


def findings(config: Config, review: Mapping[str, Any]) -> set[Finding]:
    """Every finding of the webhook's validating policies on the request, as a denial lists it."""
    decision = _decision(config, review, Mode.ENFORCE)
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
