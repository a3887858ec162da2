"""emptydir-sizelimit as a generated MutatingAdmissionPolicy sets the sizeLimits the webhook's
patch sets (the medium's default, or the pod's own larger budget), for default and non-default
settings, on the policy's own cases, realistic pods and the captured reviews; in warn and audit
mode its companion policy says what it would set."""

from __future__ import annotations

from typing import Any

import pytest

from policies.base import Mode
from tests.policies import pods
from tests.support.reviews import pod
from tests.webhook.native.corpus import CAPS, alone, cases, same

ID = "emptydir-sizelimit"
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "sizes": {"policies": {ID: {"sizeLimit": "500Mi", "memorySizeLimit": "64Mi"}}},
    "decimal-sizes": {"policies": {ID: {"sizeLimit": "3G", "memorySizeLimit": "100M"}}},
    "app-only": {"policies": {ID: {"roles": ["app"]}}},
    "ephemeral-too": {"policies": {ID: {"roles": ["init", "sidecar", "app", "ephemeral"]}}},
    "warn": {"policies": {ID: {"mode": "warn"}}},
    "audit": {"mode": "audit"},
    "image-exempt": {"exemptions": {"images": [{"image": "*"}]}},
    "namespace-exempt": {"policies": {ID: {"exemptions": {"namespaces": ["demo"]}}}},
    "errors-deny": {"onPolicyError": "deny"},
}

WORK = pods.mount("work", "/work")


def _work(volume: dict[str, Any], *, init: bool = False) -> dict[str, Any]:
    if init:
        return pod(init=[pods.shell("fill", "date > /work/x", mounts=[WORK])], volumes=[volume])
    return pod(app=[pods.app(volumeMounts=[WORK])], volumes=[volume])


def _budget(
    *containers: tuple[str, str, dict[str, str]], pod_limits: dict[str, str] | None = None
) -> dict[str, Any]:
    """A disk and a memory emptyDir, mounted by containers (role, name, limits)."""
    volumes = [pods.empty_dir("scratch"), pods.empty_dir("shm", medium="Memory")]
    mounts = [pods.mount("scratch", "/scratch"), pods.mount("shm", "/dev/shm")]
    init: list[dict[str, Any]] = []
    app: list[dict[str, Any]] = []
    for role, name, limits in containers:
        raw: dict[str, Any] = {"name": name, "image": "busybox:1.36"}
        raw["resources"] = {"limits": limits}
        raw["volumeMounts"] = mounts
        if role == "sidecar":
            raw["restartPolicy"] = "Always"
        (app if role == "app" else init).append(raw)
    obj = pod(init=init, app=app, volumes=volumes)
    if pod_limits is not None:
        obj["spec"]["resources"] = {"limits": pod_limits}
    return obj


def _debugged() -> dict[str, Any]:
    obj = pod(volumes=[pods.empty_dir("work")])
    obj["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox:1.36", "volumeMounts": [WORK]}
    ]
    return obj


OWN = {
    "disk": _work(pods.empty_dir("work")),
    "memory": _work(pods.empty_dir("work", medium="Memory")),
    "default-medium": _work(pods.empty_dir("work", medium="")),
    "own-limit": _work(pods.empty_dir("work", sizeLimit="10Gi")),
    "huge-pages": _work(pods.empty_dir("work", medium="HugePages")),
    "huge-pages-sized": _work(pods.empty_dir("work", medium="HugePages-2Mi")),
    "mounted-by-nobody": pod(volumes=[pods.empty_dir("work")]),
    "claim": _work(pods.claim("work")),
    "init-fills-it": _work(pods.empty_dir("work"), init=True),
    "ephemeral-mounts-it": _debugged(),
    "below-defaults": _budget(("app", "a", {"memory": "64Mi"})),
    "one-declares-more": _budget(("app", "m", {"ephemeral-storage": "50Gi", "memory": "8Gi"})),
    "running-add-up": _budget(
        ("app", "a", {"ephemeral-storage": "10Gi"}), ("app", "b", {"ephemeral-storage": "5Gi"})
    ),
    "largest-init": _budget(
        ("init", "download", {"ephemeral-storage": "40Gi"}),
        ("app", "serve", {"ephemeral-storage": "1Gi"}),
    ),
    "init-beside-sidecars": _budget(
        ("sidecar", "logs", {"memory": "1Gi"}),
        ("init", "prepare", {"memory": "4Gi"}),
        ("app", "web", {"memory": "2Gi"}),
    ),
    "decimal-units": _budget(("app", "a", {"memory": "2G"})),
    "milli-bytes": _budget(("app", "a", {"memory": "3000000000500m"})),
    "fraction": _budget(("app", "a", {"memory": "2.5Gi", "ephemeral-storage": "1.5"})),
    "pod-level-limits": _budget(
        ("app", "a", {"memory": "64Mi"}), pod_limits={"memory": "4Gi", "ephemeral-storage": "1Gi"}
    ),
    "zero-and-negative": _budget(("app", "a", {"memory": "0", "ephemeral-storage": "-1Gi"})),
}
PODS = cases(OWN)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize(("name", "review"), PODS, ids=[n for n, _ in PODS])
@pytest.mark.parametrize("cap", CAPS, ids=lambda m: m.value)
def test_the_same_fields(
    config: dict[str, Any], name: str, review: dict[str, Any], cap: Mode
) -> None:
    same(alone(ID, config), review, cap)
