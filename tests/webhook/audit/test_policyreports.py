"""PolicyReports written through the real client to the replay server, which stores them."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support.schemas import policy_report_errors
from tests.webhook.audit.apiserver import Replay
from webhook.audit.cluster import Cluster, connect, scan
from webhook.audit.policyreports import PolicyReports, build
from webhook.core.config import Config
from webhook.core.plan import Plan, compile_plan

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
NOW = 1_790_000_000
RESULTS = {"pass", "fail", "warn", "error", "skip"}
SEVERITIES = {"critical", "high", "medium", "low", "info"}


@pytest.fixture
def cluster(kubeconfig: Path) -> Iterator[Cluster]:
    connected = connect(kubeconfig)
    yield connected
    connected.close()


def writes(replay: Replay) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in replay.state.requests if m in ("POST", "PUT", "DELETE")]


def test_without_the_crd_nothing_is_written_and_that_is_logged_once(
    replay: Replay, cluster: Cluster, default_plan: Plan, caplog: pytest.LogCaptureFixture
) -> None:
    report = scan(cluster, default_plan, namespace="workloads")
    reports = PolicyReports(cluster)
    with caplog.at_level(logging.INFO, logger="initgate.audit"):
        assert reports.write(report, default_plan) is None
        assert reports.write(report, default_plan) is None
    assert [r.getMessage() for r in caplog.records] == [
        "no PolicyReport API (wgpolicyk8s.io/v1alpha2): reports are not written"
    ]
    assert [p for _, p, _ in replay.state.requests if "wgpolicyk8s" in p] == []
    assert writes(replay) == []


def test_reports_per_namespace_created_updated_only_when_changed_and_deleted(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    replay.state.policy_reports = True
    reports = PolicyReports(cluster, page_size=2)
    report = scan(cluster, default_plan)
    assert reports.write(report, default_plan, now=NOW) == Counter(created=5)
    # kube-public is exempt by the configuration; the other namespaces had no pod or workload.
    assert sorted(ns for ns, _ in replay.state.reports) == [
        "chain-test",
        "demo",
        "patch-test",
        "warn-test",
        "workloads",
    ]
    stored = replay.state.reports[("workloads", "initgate")]
    assert stored["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "initgate"}
    # fail: 8, one of them the node tuner's hostNetwork, about the pod
    # skip: the standalone pod's istio-init, which init-privileged's Istio preset exempts
    assert stored["summary"] == {"pass": 18, "fail": 8, "warn": 7, "error": 0, "skip": 1}
    pod, db = stored["results"][:2]
    assert (pod["rule"], pod["message"], pod["properties"]["field"]) == (
        "hostNamespaces:hostNetwork",
        'pod: hostNetwork is true; remove it (inherited by init "sysctl")',
        "spec.template.spec",
    )
    assert "container" not in pod["properties"]
    assert db == {
        "source": "initgate",
        "policy": "init-privileged",
        "result": "fail",
        "scored": True,
        "timestamp": {"seconds": NOW, "nanos": 0},
        "resources": [
            {
                "apiVersion": "apps/v1",
                "kind": "DaemonSet",
                "namespace": "workloads",
                "name": "node-tuner",
                "uid": "94b60e5f-4821-4118-a8b7-b3f0f1077225",
            }
        ],
        "rule": "privileged",
        "severity": "high",
        "message": 'init "sysctl": securityContext.privileged is true; remove it',
        "properties": {
            "mode": "enforce",
            "action": "deny",
            "webhook": "validate",
            "field": "spec.template.spec.initContainers[0]",
            "container": "sysctl",
            "role": "init",
            "appliesTo": "object",
        },
    }
    for result in stored["results"]:
        assert result["result"] in RESULTS
        assert result.get("severity", "info") in SEVERITIES
        assert all(isinstance(v, str) for v in result.get("properties", {}).values())
    (skipped,) = [r for r in stored["results"] if r["result"] == "skip"]
    assert (skipped["policy"], skipped["resources"][0]["name"], skipped["message"]) == (
        "init-privileged",
        "standalone",
        "exempt: policies.init-privileged.presets",
    )
    assert skipped["properties"] == {"exemptions": "policies.init-privileged.presets"}
    lint = [r for r in stored["results"] if r["policy"] == "init-lint" and r["result"] != "pass"]
    assert [(r["result"], r["scored"], r["rule"]) for r in lint] == [
        ("warn", False, "unbounded-wait")
    ]

    replay.state.requests.clear()
    assert reports.write(scan(cluster, default_plan), default_plan, now=NOW + 60) == Counter(
        unchanged=5
    )
    assert writes(replay) == []

    replay.state.labels = {
        "workloads": {"initgate.io/ignore": "true"},
        "demo": {"initgate.io/mode": "warn"},
    }
    replay.state.requests.clear()
    result = reports.write(scan(cluster, default_plan), default_plan, now=NOW + 120)
    assert result == Counter(unchanged=3, updated=1, deleted=1)
    assert writes(replay) == [
        ("PUT", "/apis/wgpolicyk8s.io/v1alpha2/namespaces/demo/policyreports/initgate"),
        ("DELETE", "/apis/wgpolicyk8s.io/v1alpha2/namespaces/workloads/policyreports/initgate"),
    ]
    demo = replay.state.reports[("demo", "initgate")]
    assert {r["properties"]["mode"] for r in demo["results"] if r["result"] != "pass"} == {"warn"}


def test_a_report_someone_else_created_is_replaced(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    replay.state.policy_reports = True
    replay.state.reports[("workloads", "initgate")] = {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {"name": "initgate", "namespace": "workloads", "resourceVersion": "7"},
        "results": [],
    }
    report = scan(cluster, default_plan, namespace="workloads")
    assert PolicyReports(cluster).write(report, default_plan, now=NOW) == Counter(created=1)
    assert writes(replay) == [
        ("POST", "/apis/wgpolicyk8s.io/v1alpha2/namespaces/workloads/policyreports"),
        ("PUT", "/apis/wgpolicyk8s.io/v1alpha2/namespaces/workloads/policyreports/initgate"),
    ]
    assert replay.state.reports[("workloads", "initgate")]["summary"]["fail"] == 8


def test_results_are_capped_failures_first(
    default_plan: Plan, replay: Replay, cluster: Cluster
) -> None:
    report = scan(cluster, default_plan, namespace="workloads")
    many = [report.objects[1]] * 400  # the StatefulSet: 2 failures and 5 passes each
    built = build("workloads", many, default_plan, now=NOW)
    assert built["summary"] == {"pass": 2000, "fail": 800, "warn": 0, "error": 0, "skip": 0}
    assert len(built["results"]) == 1000
    assert [r["result"] for r in built["results"]] == ["fail"] * 800 + ["pass"] * 200


def test_rules_are_policies_of_their_own_id(replay: Replay, cluster: Cluster) -> None:
    """The cookbook's rules, one of them exempt for Istio's images, and a rule that fails on
    containers without a runAsUser: each a policy of the report, with its results."""
    rules = yaml.safe_load((ROOT / "docs" / "rules" / "cookbook.yaml").read_text())["rules"]
    rules[0]["exemptions"] = {"images": [{"image": "docker.io/istio/*"}]}
    rules.append(
        {
            "id": "run-as",
            "description": "Init containers say which user they run as.",
            "roles": ["init"],
            "expression": "container.securityContext.runAsUser >= 0",
        }
    )
    plan = compile_plan(Config.model_validate({"rules": rules}))
    report = scan(cluster, plan, namespace="workloads")
    built = build("workloads", report.objects, plan, now=NOW)
    assert policy_report_errors(built) == []
    ids = {rule["id"] for rule in rules}
    found = {
        (r["resources"][0]["name"], r["policy"]): (r["result"], r.get("message"))
        for r in built["results"]
        if r["policy"] in ids and r["resources"][0]["name"] in ("standalone", "migrate")
    }
    wait_for_db = 'init "wait-for-db"'
    assert found == {
        ("migrate", "init-digest"): (
            "fail",
            f"{wait_for_db}: pin the image by digest (image@sha256:...)",
        ),
        ("migrate", "init-registry"): (
            "fail",
            f"{wait_for_db}: image busybox:1.36 is not from registry.example.com or ghcr.io/example",
        ),
        ("migrate", "init-termination-log"): (
            "fail",
            f"{wait_for_db}: set terminationMessagePolicy: FallbackToLogsOnError, so that kubectl "
            "describe shows why it failed",
        ),
        ("migrate", "run-as"): (
            "error",
            f'{wait_for_db} (spec.initContainers[0]): Key not found in map : "securityContext"',
        ),
        ("standalone", "init-registry"): ("skip", "exempt: rules[0].exemptions.images[0]"),
        ("standalone", "init-digest"): (
            "fail",
            'init "istio-init": pin the image by digest (image@sha256:...)',
        ),
        **{
            (name, "init-no-token"): (
                "fail",
                f"{container}: set automountServiceAccountToken: false on the pod, and mount a "
                "projected token only in the containers that call the API",
            )
            for name, container in (("migrate", wait_for_db), ("standalone", 'init "istio-init"'))
        },
        ("standalone", "init-termination-log"): (
            "fail",
            'init "istio-init": set terminationMessagePolicy: FallbackToLogsOnError, so that '
            "kubectl describe shows why it failed",
        ),
        **{
            (name, rule): ("pass", None)
            for name, passed in (
                ("migrate", ("init-fill-nonroot",)),
                ("standalone", ("init-fill-nonroot", "run-as")),
            )
            for rule in (
                *passed,
                "sidecar-probe",
                "init-pinned-tag",
                "ephemeral-no-caps",
                "pod-init-count",
                "init-memory-max",
            )
        },
    }
    (digest,) = [
        r
        for r in built["results"]
        if (r["resources"][0]["name"], r["policy"]) == ("migrate", "init-digest")
    ]
    assert (digest["rule"], digest["properties"]["container"]) == ("init-digest", "wait-for-db")
