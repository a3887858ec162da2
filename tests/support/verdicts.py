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

_NAMED = re.compile(r'(init|sidecar|app|ephemeral) "([^"]*)"')


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
        for container in (verdict.finding.container, *verdict.finding.containers):
            if container is not None:
                named.add(f'{container.role} "{container.name}"')
    if decision.allowed is False and not decision.verdicts:
        actions["deny"].setdefault("onPolicyError", set())
    return Verdict({k: {p: frozenset(c) for p, c in v.items()} for k, v in actions.items()})


@functools.lru_cache(maxsize=64)
def _generated(config: str, options: Options | None) -> list[dict[str, Any]]:
    return generate(Config.model_validate_json(config), options).objects


@functools.lru_cache(maxsize=64)
def _plan(config: str) -> Plan:
    return compile_plan(Config.model_validate_json(config))


def native(
    config: Config, review: Mapping[str, Any], cap: Mode, options: Options | None = None
) -> Verdict:
    objects = _generated(config.model_dump_json(by_alias=True), options)
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
            actions[action].setdefault(policy, set()).update(
                f'{role} "{name}"' for role, name in _NAMED.findall(message)
            )
    return Verdict({k: {p: frozenset(c) for p, c in v.items()} for k, v in actions.items()})
