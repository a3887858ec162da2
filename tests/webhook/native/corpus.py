"""The pods the mutating policies are proved on (the policies' realistic pods, the captured
reviews the mutating webhook received), and the proof itself: for one configuration, request and
namespace cap, the generated MutatingAdmissionPolicies leave the pod the webhook's patch leaves,
in every order the API server may run them, a second run changes nothing, and in warn and
audit mode the companion policies say what the webhook says it would set."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from policies.base import Mode
from tests.policies import pods
from tests.support import reviews
from tests.support.admission_policies import request_for
from tests.support.mutations import (
    MUTATING,
    by_webhook,
    natively,
    previews,
    review_of,
)
from webhook.core.config import Config

CAPS = (Mode.ENFORCE, Mode.WARN, Mode.AUDIT)
REALISTIC: dict[str, Callable[[], dict[str, Any]]] = {
    "every-role": lambda: pods.every_role(resources={}),
    "model-download": pods.model_download,
    "wait-for-database": pods.wait_for_database,
    "migration": pods.migration,
    "config-validation": pods.config_validation,
    "rendered-config": pods.rendered_config,
    "permissions": pods.permissions,
    "seeded-claim": pods.seeded_claim,
    "log-sidecar": pods.log_sidecar,
    "metrics-sidecar": pods.metrics_sidecar,
    "privileged-sysctl": pods.privileged_sysctl,
    "istio": pods.istio,
    "linkerd": pods.linkerd,
    "vault-agent": pods.vault_agent,
    "prometheus": pods.prometheus,
    "compliant": pods.compliant,
}


def captured() -> list[tuple[str, dict[str, Any]]]:
    """Every request the mutating webhook received from a real API server (pods only: a
    template is never patched, and no MAP matches it)."""
    return [
        (case, review_of(reviews.captured(case, "mutate")["request"]))
        for case in reviews.CASES
        if reviews.captured(case, "mutate")["request"]["kind"]["kind"] == "Pod"
    ]


def realistic() -> list[tuple[str, dict[str, Any]]]:
    """The policies' realistic pods (tests/policies/pods.py), created in `demo`."""
    return [(name, review_of(request_for(build()))) for name, build in REALISTIC.items()]


def cases(own: Mapping[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """A policy's own pods (created in `demo`), then the realistic ones and the captured reviews:
    the requests a proof runs on, named."""
    return [
        *((name, review_of(request_for(obj))) for name, obj in own.items()),
        *realistic(),
        *captured(),
    ]


def alone(policy: str, config: Mapping[str, Any]) -> Config:
    """`config` with the other mutating policies off: one policy's proof."""
    policies = {p: {"mode": "off"} for p in MUTATING if p != policy}
    merged = {**config, "policies": {**policies, **config.get("policies", {})}}
    return Config.model_validate(merged)


def orders(config: Config, cap: Mode = Mode.ENFORCE) -> list[Sequence[str]]:
    """The orders the mutating policies that enforce under `cap` may run in (Kubernetes does
    not order them; the others have no MAP bound there)."""
    enforcing = [
        p for p in MUTATING if (config.policy(p).mode or config.mode).cap(cap) is Mode.ENFORCE
    ]
    return [list(order) for order in itertools.permutations(enforcing)] or [[]]


def same(config: Config, review: Mapping[str, Any], cap: Mode) -> None:
    """The proof on one request (see the module's docstring)."""
    expected = by_webhook(config, review, cap)
    for order in orders(config, cap):
        mutation = natively(config, review, cap, order=order)
        assert mutation.errors == [], mutation.errors
        assert mutation.object == expected, f"order {order}"
        again = natively(config, {**review, "object": mutation.object}, cap, order=order)
        assert (again.object, again.changed) == (mutation.object, []), "not idempotent"
    said, got = previews(config, review, cap)
    assert got == said
