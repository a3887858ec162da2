"""The webhook's mutation and the generated MutatingAdmissionPolicies' on the same request, side
by side, as the API server would run each: the pod each leaves behind (the webhook's JSON Patch
applied, or the MAPs' mutations in a given order), and, in warn and audit mode, what each says
it would set (the webhook's warnings and audit lines, the companion ValidatingAdmissionPolicies'
failures), per policy, with the containers it names.

Both see the object as the API server holds it (`typed`: no null members). A namespace the
routing leaves out (kube-system, initgate's own) is called by neither."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from policies.base import Mode
from tests.support import admission_policies, kube, mutating_policies
from tests.support.admission_policies import typed
from tests.support.verdicts import decided, named, webhook
from webhook.audit.live import selects
from webhook.core.config import Config
from webhook.native.builders import POLICY_LABEL
from webhook.native.export import Options, generate

MUTATING = ("default-resources", "emptydir-sizelimit", "readonly-mounts")


def review_of(request: Mapping[str, Any]) -> dict[str, Any]:
    """A captured (or built) AdmissionRequest with what the harness reads always present, and
    its objects typed."""
    return {
        "subResource": "",
        **request,
        "object": typed(request["object"]),
        "oldObject": typed(request.get("oldObject")),
    }


def labels(review: Mapping[str, Any], cap: Mode) -> dict[str, str]:
    """The labels of the request's namespace, whose mode label is `cap`."""
    return {"kubernetes.io/metadata.name": review["namespace"], "initgate.io/mode": cap.value}


def routed(review: Mapping[str, Any], cap: Mode, options: Options | None) -> bool:
    """Whether the chart's webhook configuration sends the request to the webhook at all."""
    routing = (options or Options()).routing
    return selects(routing.selector(cap), labels(review, cap))


@functools.lru_cache(maxsize=64)
def objects_of(config: str, options: Options | None) -> list[dict[str, Any]]:
    """What `initgate export` generates for `config` (JSON), once per configuration."""
    return generate(Config.model_validate_json(config), options).objects


def by_webhook(
    config: Config, review: Mapping[str, Any], cap: Mode, options: Options | None = None
) -> Any:
    """The object the webhook's patch leaves (applied as RFC 6902 says)."""
    obj = review["object"]
    if not routed(review, cap, options):
        return obj
    decision = decided(config, review, cap, endpoint="mutate")
    assert decision.errors == [], decision.errors
    return kube.apply(obj, [dict(op) for op in decision.patch])


def natively(
    config: Config,
    review: Mapping[str, Any],
    cap: Mode,
    *,
    order: Sequence[str] = (),
    options: Options | None = None,
) -> mutating_policies.Mutation:
    """What the generated MutatingAdmissionPolicies do to the request, in `order` (policy ids;
    default: as generated)."""
    prefix = (options or Options()).prefix
    objects = objects_of(config.model_dump_json(by_alias=True), options)
    return mutating_policies.mutate(
        objects, review, labels(review, cap), order=[f"{prefix}-{p}" for p in order]
    )


Said = dict[str, dict[str, frozenset[str]]]


def previews(
    config: Config, review: Mapping[str, Any], cap: Mode, options: Options | None = None
) -> tuple[Said, Said]:
    """What the webhook and the native policies say each mutating policy would set (warn and
    audit); the companion policies judge the object the enforcing MAPs leave, as the API
    server's validating phase comes after its mutating one."""
    mutated = natively(config, review, cap, options=options).object
    companions = [
        o
        for o in objects_of(config.model_dump_json(by_alias=True), options)
        if o["metadata"]["labels"][POLICY_LABEL] in MUTATING
    ]
    outcome = admission_policies.validate(
        companions, {**review, "object": mutated}, labels(review, cap)
    )
    got = named(outcome).actions
    expected = (
        webhook(config, review, cap, endpoint="mutate").actions
        if routed(review, cap, options)
        else {}
    )
    # What enforce mode does is the patch: only warn and audit say anything.
    return (
        {a: expected.get(a, {}) for a in ("warn", "audit")},
        {a: got.get(a, {}) for a in ("deny", "warn", "audit") if a != "deny" or got[a]},
    )
