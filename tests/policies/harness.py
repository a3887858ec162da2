"""Running policies on pods: alone (pure evaluation with given settings) and through the engine
(`webhook.core.engine.decide` with a configuration), plus the checks every patch must pass."""

from __future__ import annotations

import copy
import json
from functools import cache
from typing import Any

from policies.base import Context, Finding, PatchOp, pod_view
from policies.policy import Policy
from tests.support import kube
from webhook.core.config import Config
from webhook.core.engine import Decision, Webhook, decide
from webhook.core.objects import Request
from webhook.core.plan import Plan, compile_plan

CONTEXT = Context(operation="CREATE", namespace="demo", username="alice")

Row = tuple[str, str, str]
"""(location, key, message) of one finding: what tests compare exactly."""


def evaluate(policy: Policy[Any], obj: dict[str, Any], **settings: Any) -> list[Finding]:
    """The findings of one policy on a Pod, with `settings` (camelCase keys, as in the YAML)."""
    spec = obj["spec"]
    annotations = obj["metadata"].get("annotations", {})
    view = pod_view(spec, path="/spec", annotations=annotations)
    return policy.evaluate(view, CONTEXT, policy.settings.model_validate(settings))


def rows(findings: list[Finding]) -> list[Row]:
    return [(f.location, f.key, f.message) for f in findings]


def patch_of(findings: list[Finding]) -> list[PatchOp]:
    return [op for f in findings for op in f.patch]


@cache
def _plan(config: str) -> Plan:
    return compile_plan(Config.model_validate(json.loads(config)))


def plan(config: dict[str, Any] | None = None) -> Plan:
    """The compiled configuration (the same object for the same configuration)."""
    return _plan(json.dumps(config or {}, sort_keys=True))


def policy_config(policy_id: str, **settings: Any) -> dict[str, Any]:
    """A configuration that only sets one policy's settings."""
    return {"policies": {policy_id: settings}}


def request(
    obj: dict[str, Any],
    *,
    namespace: str = "demo",
    username: str = "alice",
    groups: tuple[str, ...] = ("system:authenticated",),
) -> Request:
    group, _, version = obj["apiVersion"].rpartition("/")
    return Request(
        object=obj,
        group=group,
        version=version,
        kind=obj["kind"],
        namespace=namespace,
        username=username,
        groups=groups,
    )


def run(
    obj: dict[str, Any],
    *,
    webhook: Webhook,
    config: dict[str, Any] | None = None,
    **who: Any,
) -> Decision:
    """The engine's decision on creating `obj` (never a policy error: those are bugs here)."""
    decision = decide(request(obj, **who), plan(config), webhook=webhook)
    assert decision.errors == [], decision.errors
    return decision


def found(decision: Decision, policy: str | None = None) -> list[Row]:
    """The findings of a decision (of one policy, if given)."""
    return [
        (v.finding.location, v.finding.key, v.finding.message)
        for v in decision.verdicts
        if policy is None or v.policy == policy
    ]


def settle(obj: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Mutate `obj` as the API server would (patch applied, checked against the 1.30 and 1.36
    schemas and for requests <= limits), then prove the result needs no further patch."""
    decision = run(obj, webhook="mutate", config=config)
    patched = kube.check_patched(obj, [dict(op) for op in decision.patch])
    again = run(patched, webhook="mutate", config=config)
    assert again.patch == [], f"not idempotent: {again.patch}"
    assert again.would_patch == []
    return patched


def apply_findings(obj: dict[str, Any], findings: list[Finding]) -> dict[str, Any]:
    """`obj` with the findings' patches applied and checked like the API server would."""
    return kube.check_patched(copy.deepcopy(obj), [dict(op) for op in patch_of(findings)])
