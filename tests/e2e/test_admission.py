"""initgate as installed in a live cluster, judged by admission outcomes only."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.e2e.cluster import Cluster

pytestmark = pytest.mark.e2e

MODE = "initgate.io/mode"
LIMITS = {"limits": {"cpu": "100m", "memory": "64Mi"}}


def init(name: str = "setup", **fields: Any) -> dict[str, Any]:
    """An init container that ends, with limits: nothing to find unless `fields` add it."""
    container = {
        "name": name,
        "image": "busybox:1.36",
        "command": ["sh", "-c", "echo ready > /work/state"],
        "resources": copy.deepcopy(LIMITS),
        "volumeMounts": [{"name": "work", "mountPath": "/work"}],
    }
    return {**container, **fields}


def pod(name: str, *inits: dict[str, Any]) -> dict[str, Any]:
    """A pod whose app container has no resources and whose emptyDir has no sizeLimit: what
    the mutating webhook completes in enforce mode."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "initContainers": list(inits),
            "containers": [
                {
                    "name": "app",
                    "image": "registry.k8s.io/pause:3.10",
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                }
            ],
            "volumes": [{"name": "work", "emptyDir": {}}],
        },
    }


PRIVILEGED = init(securityContext={"privileged": True})
UNBOUNDED = {k: v for k, v in init().items() if k != "resources"}


def deployment(name: str, template: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": template["spec"]},
        },
    }


def test_enforce_denies_a_privileged_init_container(cluster: Cluster) -> None:
    namespace = cluster.namespace(**{MODE: "enforce"})
    answer = cluster.create(pod("privileged", PRIVILEGED), namespace)
    assert answer.status != 0
    assert answer.stderr.startswith("Error from server (Forbidden): ")
    assert 'admission webhook "enforce.validate.initgate.io" denied the request' in answer.stderr
    assert 'init "setup"' in answer.stderr
    assert "privileged" in answer.stderr
    assert cluster.get("pod", "privileged", namespace) is None


def test_warn_admits_with_a_warning(cluster: Cluster) -> None:
    namespace = cluster.namespace(**{MODE: "warn"})
    answer = cluster.create(pod("warned", PRIVILEGED), namespace)
    assert answer.status == 0, answer.stderr
    warnings = [w for w in answer.warnings() if w.startswith("initgate ")]
    assert any("init-privileged" in w and 'init "setup"' in w for w in warnings), answer.stderr
    assert all(len(w) <= 120 for w in warnings), warnings
    stored = cluster.get("pod", "warned", namespace)
    assert stored is not None
    # Warn mode changes nothing: it says what enforce would have changed.
    assert "sizeLimit" not in stored["spec"]["volumes"][0]["emptyDir"]
    assert any("would" in w for w in warnings), warnings


def test_audit_admits_silently(cluster: Cluster) -> None:
    namespace = cluster.namespace(**{MODE: "audit"})
    answer = cluster.create(pod("audited", PRIVILEGED), namespace)
    assert answer.status == 0, answer.stderr
    assert not [w for w in answer.warnings() if w.startswith("initgate ")]
    assert cluster.get("pod", "audited", namespace) is not None


def test_off_is_never_called(cluster: Cluster) -> None:
    namespace = cluster.namespace(**{MODE: "off"})
    answer = cluster.create(pod("off", PRIVILEGED), namespace)
    assert answer.status == 0, answer.stderr
    stored = cluster.get("pod", "off", namespace)
    assert stored is not None
    assert "sizeLimit" not in stored["spec"]["volumes"][0]["emptyDir"]


def _mutated(stored: dict[str, Any]) -> list[str]:
    """What the mutating webhook added to `pod(...)` (with the default configuration: all)."""
    spec = stored["spec"]
    app = spec["containers"][0]
    return [
        what
        for what, done in (
            ("resources", bool(app.get("resources", {}).get("requests"))),
            ("sizeLimit", "sizeLimit" in spec["volumes"][0]["emptyDir"]),
            ("readOnly", app["volumeMounts"][0].get("readOnly") is True),
        )
        if done
    ]


def test_mutation_is_visible_on_the_stored_pod(cluster: Cluster) -> None:
    namespace = cluster.namespace(**{MODE: "enforce"})
    answer = cluster.create(pod("mutated", init()), namespace)
    assert answer.status == 0, answer.stderr
    stored = cluster.get("pod", "mutated", namespace)
    assert stored is not None
    assert _mutated(stored), stored["spec"]
    # The init container was compliant: left as it was.
    assert stored["spec"]["initContainers"][0]["resources"] == LIMITS


def test_server_side_dry_run(cluster: Cluster) -> None:
    """Both webhooks run on --dry-run=server (sideEffects: None); nothing is stored."""
    namespace = cluster.namespace(**{MODE: "enforce"})
    denied = cluster.create(pod("dry-denied", PRIVILEGED), namespace, "--dry-run=server")
    assert denied.status != 0
    assert "denied the request" in denied.stderr
    admitted = cluster.create(pod("dry", init()), namespace, "--dry-run=server", "--output=json")
    assert admitted.status == 0, admitted.stderr
    assert _mutated(json.loads(admitted.stdout))
    assert cluster.get("pod", "dry", namespace) is None


def test_a_deployment_whose_template_violates_is_denied(cluster: Cluster) -> None:
    namespace = cluster.namespace(**{MODE: "enforce"})
    answer = cluster.create(deployment("web", pod("web", UNBOUNDED)), namespace)
    assert answer.status != 0
    assert "denied the request" in answer.stderr
    assert 'Deployment "web"' in answer.stderr
    assert cluster.get("deployment", "web", namespace) is None
    fine = cluster.create(deployment("fine", pod("fine", init())), namespace)
    assert fine.status == 0, fine.stderr


@pytest.mark.parametrize("where", ["ignored", "kube-system", "release"])
def test_exempt_namespaces_are_never_judged(cluster: Cluster, where: str) -> None:
    """An init container without limits (which Pod Security does not mind) is denied in an
    enforced namespace, and admitted untouched where initgate is never called."""
    enforced = cluster.namespace(**{MODE: "enforce"})
    assert cluster.create(pod("unbounded", UNBOUNDED), enforced, "--dry-run=server").status != 0
    if where == "ignored":
        namespace = cluster.namespace(**{MODE: "enforce", "initgate.io/ignore": "true"})
    else:
        namespace = "kube-system" if where == "kube-system" else cluster.release_namespace
    answer = cluster.create(pod("unbounded", UNBOUNDED), namespace, "--dry-run=server", "-o=json")
    assert answer.status == 0, answer.stderr
    assert "initgate" not in answer.stderr
    if where == "ignored":
        # A namespace of our own: nothing else (a LimitRange, another webhook) mutates there.
        assert _mutated(json.loads(answer.stdout)) == []


def test_the_audit_routes_as_the_live_configurations_do(
    cluster: Cluster, capsys: pytest.CaptureFixture[str]
) -> None:
    """What audit mode admitted, the cluster audit finds again, under the mode the live webhook
    configurations route its namespace to."""
    from webhook.cli.main import main  # noqa: PLC0415 - the e2e suite needs only kubectl otherwise

    namespace = cluster.namespace(**{MODE: "audit"})
    assert cluster.create(pod("audited", PRIVILEGED), namespace).status == 0
    argv = ["audit", "--cluster", "--namespace", namespace, "-o", "json"]
    assert main([*argv, "--webhook-configuration", cluster.configuration]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    (audited,) = [o for o in report["objects"] if o["name"] == "audited"]
    assert (audited["mode"], audited["outcome"]) == ("audit", "audited")
    findings = {(f["policy"], f["action"]) for f in audited["findings"]}
    assert ("init-privileged", "audit") in findings
