"""default-resources as a generated MutatingAdmissionPolicy sets the fields the webhook's patch
sets, for default and non-default settings, on the policy's own cases, realistic pods and the
captured reviews; in warn and audit mode its companion policy says what it would set."""

from __future__ import annotations

from typing import Any

import pytest

from policies.base import Mode
from tests.support.reviews import pod
from tests.webhook.native.corpus import CAPS, alone, cases, same

ID = "default-resources"
EXTENDED = "example.com/dev~0"
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "every-role-and-extended": {
        "policies": {
            ID: {
                "roles": ["init", "sidecar", "app"],
                "requests": {"cpu": "250m", "memory": "64Mi", EXTENDED: "1"},
                "limits": {"cpu": "1", "memory": "512Mi", EXTENDED: "2"},
            }
        }
    },
    "limits-only": {"policies": {ID: {"requests": {}, "limits": {"memory": "1Gi"}}}},
    "nothing": {"policies": {ID: {"requests": {}, "limits": {}}}},
    "warn": {"policies": {ID: {"mode": "warn"}}},
    "audit": {"mode": "audit"},
    "image-exempt": {
        "policies": {ID: {"exemptions": {"images": [{"image": "nginx:*", "allow": ["resources"]}]}}}
    },
    "other-key-exempt": {
        "exemptions": {"images": [{"image": "nginx:*", "allow": ["volume:*"]}]},
    },
    "namespace-exempt": {"policies": {ID: {"exemptions": {"namespaces": ["de*"]}}}},
    "user-exempt": {"exemptions": {"users": ["kubernetes-*", "alice"]}},
    "errors-deny": {"onPolicyError": "deny"},
}


def _web(resources: Any = "absent", pod_level: dict[str, Any] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": "nginx:1.27"}
    if resources != "absent":
        container["resources"] = resources
    obj = pod(app=[container])
    if pod_level is not None:
        obj["spec"]["resources"] = pod_level
    return obj


OWN = {
    "no-resources": _web(),
    "empty-resources": _web({}),
    "request-kept": _web({"requests": {"cpu": "250m"}}),
    "limit-caps-request": _web({"limits": {"memory": "64Mi"}}),
    "cpu-limit-caps": _web({"limits": {"cpu": "50m"}}),
    "request-raises-limit": _web({"requests": {"cpu": "100m", "memory": "1Gi"}}),
    "complete": _web({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}),
    "extended-set": _web({"requests": {EXTENDED: "3"}, "limits": {EXTENDED: "3"}}),
    "pod-level-resources": _web({}, {"limits": {"cpu": "1", "memory": "1Gi"}}),
    "empty-pod-level-resources": _web({}, {}),
    "null-values": _web({"requests": {"cpu": None}, "limits": {}}),
}
PODS = cases(OWN)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize(("name", "review"), PODS, ids=[n for n, _ in PODS])
@pytest.mark.parametrize("cap", CAPS, ids=lambda m: m.value)
def test_the_same_fields(
    config: dict[str, Any], name: str, review: dict[str, Any], cap: Mode
) -> None:
    same(alone(ID, config), review, cap)
