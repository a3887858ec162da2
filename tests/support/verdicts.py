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
from webhook.core.engine import decide
from webhook.core.objects import Request
from webhook.core.plan import Plan, compile_plan
from webhook.native.export import Options, generate

_NAMED = re.compile(r'(init|sidecar|app|ephemeral) "([^"]*)"')


@dataclass(frozen=True, slots=True)
class Verdict:
    """Per action (`deny`, `warn`, `audit`), each policy that acts and the containers it names."""

    actions: dict[str, dict[str, frozenset[str]]]


def webhook(config: Config, review: Mapping[str, Any], cap: Mode) -> Verdict:
    request = review
    obj = request["object"]
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    decision = decide(
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
    outcome = admission_policies.validate(objects, review, labels)
    actions: dict[str, dict[str, set[str]]] = {"deny": {}, "warn": {}, "audit": {}}
    for action, messages in (("deny", outcome.denied), ("warn", outcome.warned)):
        for message in messages:
            policy = message.split(": ", 1)[0]
            actions[action].setdefault(policy, set()).update(
                f'{role} "{name}"' for role, name in _NAMED.findall(message)
            )
    for message in outcome.audited:
        if message not in outcome.denied:  # Deny comes with Audit; the webhook's is one verdict
            policy = message.split(": ", 1)[0]
            actions["audit"].setdefault(policy, set()).update(
                f'{role} "{name}"' for role, name in _NAMED.findall(message)
            )
    return Verdict({k: {p: frozenset(c) for p, c in v.items()} for k, v in actions.items()})
