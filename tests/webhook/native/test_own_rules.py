"""The cookbook's rules as generated ValidatingAdmissionPolicies give the webhook's verdicts and
messages: on pods written to pass and fail each rule, on realistic pods, on the pod templates of
the seven workload kinds and on the captured reviews, under every namespace cap, with modes,
exemptions and readonly-mounts' setting changed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.base import Mode
from tests.policies import pods as realistic
from tests.support import admission_policies, reviews
from tests.support.admission_policies import request_for
from tests.support.verdicts import findings, native, native_findings, webhook
from webhook.core.config import Config
from webhook.native.export import Options

ROOT = Path(__file__).resolve().parents[3]
COOKBOOK: dict[str, Any] = yaml.safe_load((ROOT / "docs/rules/cookbook.yaml").read_text())
RULES = frozenset(rule["id"] for rule in COOKBOOK["rules"])
ONLY_RULES = {"policies": {"init-unbounded": {"mode": "off"}, "init-lint": {"mode": "off"}}}
DIGEST = "registry.example.com/tools/fetch@sha256:" + "a" * 64
PINNED = "registry.example.com/tools/fetch:1.4"
OWN_REGISTRY = {"image": PINNED, "terminationMessagePolicy": "FallbackToLogsOnError"}
FILL = ["sh", "-c", "cp -r /seed/. /data/"]


def _init(name: str, **fields: Any) -> dict[str, Any]:
    return reviews.container(name, **{"command": FILL, **OWN_REGISTRY, **fields})


def _pods() -> dict[str, dict[str, Any]]:
    """Pods that pass or fail each cookbook rule."""
    data = [{"name": "data", "emptyDir": {}}]
    mounted = [{"name": "data", "mountPath": "/data"}]
    reader = reviews.container("app", "nginx:1.27", volumeMounts=copy.deepcopy(mounted))
    probe = {"exec": {"command": ["true"]}}
    root_filler = _init("fill", volumeMounts=mounted)
    non_root = {"runAsNonRoot": True, "runAsUser": 1000}
    return {
        "compliant": reviews.pod(
            init=[
                _init("fill", image=DIGEST, volumeMounts=mounted, securityContext=non_root),
                _init("proxy", restartPolicy="Always", startupProbe=probe),
            ],
            app=[reader],
            volumes=data,
        ),
        "everything-wrong": reviews.pod(
            init=[
                reviews.container(
                    "setup",
                    "busybox",
                    volumeMounts=[
                        *mounted,
                        {"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/"},
                    ],
                    command=FILL,
                    resources={"limits": {"memory": "2Gi"}},
                ),
                reviews.container("proxy", "envoy:latest", restartPolicy="Always"),
            ],
            app=[reader],
            volumes=[*data, {"name": "token", "emptyDir": {}}],
        ),
        "root-filler": reviews.pod(init=[root_filler], app=[reader], volumes=data),
        "root-preparer": reviews.pod(
            init=[_init("chown", command=["sh", "-c", "chown 1000 /data"], volumeMounts=mounted)],
            app=[reader],
            volumes=data,
        ),
        "pod-run-as-non-root": reviews.pod(
            init=[root_filler],
            app=[reader],
            volumes=data,
            securityContext={"runAsNonRoot": True},
        ),
        "root-filler-read-by-nobody": reviews.pod(
            init=[root_filler], app=[reviews.container("app", "nginx:1.27")], volumes=data
        ),
        "six-init-containers": reviews.pod(
            init=[_init(f"step-{i}", image=DIGEST) for i in range(6)]
        ),
        "memory-not-a-quantity": reviews.pod(
            init=[_init("odd", resources={"limits": {"memory": "lots"}})]
        ),
        "untagged-registry-with-port": reviews.pod(
            init=[_init("port", image="registry.example.com:5000/tools/fetch")]
        ),
    }


def _workloads() -> dict[str, dict[str, Any]]:
    spec = _pods()["everything-wrong"]["spec"]
    kinds = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController")
    return {kind: reviews.workload(kind, spec) for kind in (*kinds, "Job", "CronJob")}


def _debugged() -> dict[str, Any]:
    """`kubectl debug` adding an ephemeral container that adds a capability."""
    before = _pods()["compliant"]
    after = copy.deepcopy(before)
    after["spec"]["ephemeralContainers"] = [
        reviews.container("debugger", securityContext={"capabilities": {"add": ["SYS_PTRACE"]}})
    ]
    return request_for(after, operation="UPDATE", old=before, subresource="ephemeralcontainers")


def requests() -> dict[str, dict[str, Any]]:
    found = {name: request_for(obj) for name, obj in _pods().items()}
    found.update({f"template-{k}": request_for(obj) for k, obj in _workloads().items()})
    found.update({f"realistic-{k}": request_for(make()) for k, make in realistic.REALISTIC.items()})
    found["kubectl-debug"] = _debugged()
    for case in reviews.CASES:
        captured = admission_policies.captured(reviews.captured(case, "validate")["request"])
        found[f"captured-{case}"] = {**captured, "namespace": "demo"}  # not kube-system's
    return found


REQUESTS = requests()


def _config(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy({**COOKBOOK, **ONLY_RULES})
    for rule in config["rules"]:
        rule.update(changes.pop(rule["id"], {}))
    return {**config, **changes}


CONFIGS = {
    "cookbook": _config(),
    "modes": _config(
        **{
            "init-registry": {"mode": "warn"},
            "init-digest": {"mode": "audit"},
            "sidecar-probe": {"mode": "off"},
        },
        mode="warn",
    ),
    "exemptions": _config(
        **{
            "init-no-token": {"exemptions": {"namespaces": ["de*"]}},
            "init-digest": {"exemptions": {"users": ["alice"]}},
            "pod-init-count": {"exemptions": {"images": [{"image": "registry.example.com/*"}]}},
            # The captured reviews' user is in system:masters.
            "init-termination-log": {"exemptions": {"groups": ["system:mast*"]}},
        },
        exemptions={
            "images": [
                {"image": "busybox", "allow": ["init-registry", "init-termination-*"]},
                {"image": "nginx:*", "namespaces": ["other"]},
                {"image": "envoy:*", "expires": "2020-01-01"},
            ]
        },
    ),
    "preparing-inits-fill": _config(
        policies={**ONLY_RULES["policies"], "readonly-mounts": {"ignorePreparingInits": False}}
    ),
}


def _rules_only(verdict: dict[str, dict[str, frozenset[str]]]) -> dict[str, Any]:
    return {a: {p: c for p, c in v.items() if p in RULES} for a, v in verdict.items()}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("request_", REQUESTS.values(), ids=REQUESTS.keys())
def test_the_same_verdicts(config: dict[str, Any], request_: dict[str, Any]) -> None:
    parsed = Config.model_validate(config)
    expected = _rules_only(webhook(parsed, request_, Mode.ENFORCE).actions)
    assert _rules_only(native(parsed, request_, Mode.ENFORCE).actions) == expected


@pytest.mark.parametrize("cap", [Mode.ENFORCE, Mode.WARN, Mode.AUDIT], ids=lambda m: m.value)
@pytest.mark.parametrize("config", ["cookbook", "modes"])
@pytest.mark.parametrize("name", ["everything-wrong", "template-CronJob", "kubectl-debug"])
def test_the_same_verdicts_under_every_cap(config: str, name: str, cap: Mode) -> None:
    parsed = Config.model_validate(CONFIGS[config])
    request_ = REQUESTS[name]
    expected = _rules_only(webhook(parsed, request_, cap).actions)
    assert expected != {"deny": {}, "warn": {}, "audit": {}}
    assert _rules_only(native(parsed, request_, cap).actions) == expected


@pytest.mark.parametrize("kubernetes", [(1, 36), (1, 32)], ids=["1.36", "1.32"])
@pytest.mark.parametrize(
    "name", ["everything-wrong", "root-filler", "template-Deployment", "kubectl-debug"]
)
def test_the_same_messages(name: str, kubernetes: tuple[int, int]) -> None:
    """Each finding reads as the webhook words it: the rule, the container, its field, and the
    rule's messageExpression (or message) evaluated on that container; before Kubernetes 1.33
    too, without two-variable comprehensions."""
    config = Config.model_validate(CONFIGS["cookbook"])
    expected = {f for f in findings(config, REQUESTS[name]) if f[0] in RULES}
    assert expected
    options = Options(kubernetes=kubernetes)
    assert native_findings(config, REQUESTS[name], options) == expected
