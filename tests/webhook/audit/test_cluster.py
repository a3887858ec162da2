"""The cluster audit with the real `kubernetes` client against a replay of a real API server's
answers (tests/data/apiserver): pagination, each workload once, namespace routing, findings."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes.config import incluster_config

from policies.base import Mode
from tests.webhook.audit.apiserver import POD_PAGES, TOKEN, Replay, recorded
from webhook.audit import cluster as cluster_module
from webhook.audit.cluster import Cluster, ClusterError, connect, scan
from webhook.audit.evaluate import Audited
from webhook.audit.report import Report
from webhook.cli.main import main
from webhook.core.config import Config
from webhook.core.plan import Plan, compile_plan

pytestmark = pytest.mark.integration

Summary = list[tuple[str, str, str, list[tuple[str, str, str, str | None]]]]


def summarise(objects: list[Audited], namespace: str | None = None) -> Summary:
    return [
        (a.kind, a.name, a.outcome, [(i.policy, i.action, i.key, i.container) for i in a.items])
        for a in objects
        if namespace is None or a.namespace == namespace
    ]


def names(report: Report) -> list[tuple[str, str, str]]:
    return [(a.namespace, a.kind, a.name) for a in report.objects]


WORKLOADS: Summary = [
    (
        "CronJob",
        "report",
        "patched",
        [
            ("default-resources", "patch", "resources", "report"),
            ("emptydir-sizelimit", "patch", "sizeLimit", None),
            ("readonly-mounts", "patch", "volume:data", "report"),
        ],
    ),
    (
        "StatefulSet",
        "db",
        "denied",
        [
            ("init-unbounded", "deny", "limit:cpu", "fix-perms"),
            ("init-unbounded", "deny", "limit:memory", "fix-perms"),
        ],
    ),
    (
        "DaemonSet",
        "node-tuner",
        "denied",
        [
            ("init-privileged", "deny", "hostNamespaces:hostNetwork", None),  # about the pod
            ("init-privileged", "deny", "privileged", "sysctl"),
            ("init-unbounded", "deny", "limit:cpu", "sysctl"),
            ("init-unbounded", "deny", "limit:memory", "sysctl"),
            ("default-resources", "patch", "resources", "pause"),
        ],
    ),
    (
        "Job",
        "migrate",
        "denied",
        [
            ("init-unbounded", "deny", "limit:cpu", "wait-for-db"),
            ("init-unbounded", "deny", "limit:memory", "wait-for-db"),
            ("init-lint", "warn", "unbounded-wait", "wait-for-db"),
            ("default-resources", "patch", "resources", "migrate"),
        ],
    ),
    ("Pod", "standalone", "patched", [("default-resources", "patch", "resources", "web")]),
]


def test_pagination_is_followed_to_the_end(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    report = scan(cluster, default_plan, page_size=4)
    tokens = [recorded(page)["metadata"].get("continue") for page in POD_PAGES]
    assert replay.state.lists("pods") == [
        ("/api/v1/pods", {"limit": "4"}),
        ("/api/v1/pods", {"limit": "4", "continue": tokens[0]}),
        ("/api/v1/pods", {"limit": "4", "continue": tokens[1]}),
    ]
    assert tokens[2] is None
    # The 18 namespaces, which the replay pages itself: 4 + 4 + 4 + 4 + 2.
    assert len(replay.state.lists("namespaces")) == 5
    lists = [q for method, _, q in replay.state.requests if method == "GET"]
    assert all(q["limit"] == "4" for q in lists)
    # The last page's pod is there: pagination reached the end.
    assert ("workloads", "Pod", "standalone") in names(report)
    assert summarise(report.objects, "workloads") == WORKLOADS


def test_an_expired_continue_token_restarts_the_list_without_duplicates(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    token = recorded(POD_PAGES[0])["metadata"]["continue"]
    replay.state.expire_once.add(token)
    report = scan(cluster, default_plan, page_size=4)
    assert len(replay.state.lists("pods")) == 5  # page 1, 410, page 1 again, pages 2 and 3
    pods = [n for n in names(report) if n[1] == "Pod"]
    assert len(pods) == len(set(pods)) == 9  # every pod but kube-system's, once


def test_istio_init_is_allowed_by_the_preset_because_of_its_image(
    replay: Replay, cluster: Cluster
) -> None:
    pod = recorded("pods-workloads.json")["items"][0]
    assert pod["spec"]["initContainers"][0]["image"] == "docker.io/istio/proxyv2:1.24.0"
    without = compile_plan(
        Config.model_validate({"policies": {"init-privileged": {"presets": {"istio": False}}}})
    )
    report = scan(cluster, without, namespace="workloads", page_size=4)
    standalone = next(a for a in report.objects if a.name == "standalone")
    assert [(i.policy, i.key, i.container) for i in standalone.items if i.action == "deny"] == [
        ("init-privileged", "capability:NET_ADMIN", "istio-init"),
        ("init-privileged", "capability:NET_RAW", "istio-init"),
    ]


def _owned(obj: dict[str, Any], kind: str, owner: dict[str, Any], name: str) -> dict[str, Any]:
    made = copy.deepcopy(obj)
    made.pop("status", None)
    made["metadata"] = {
        "name": name,
        "namespace": owner["metadata"]["namespace"],
        "uid": f"uid-{name}",
        "ownerReferences": [
            {
                "apiVersion": "apps/v1",
                "kind": kind,
                "name": owner["metadata"]["name"],
                "uid": owner["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    return made


def test_each_workload_is_reported_once_through_its_controller(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    """What a controller-manager would have created (the recording has none): a ReplicaSet of the
    demo Deployment and its two pods, a Job of the CronJob and its pod. A pod whose controller is
    not a listed workload (a static pod's mirror, owned by its Node) is reported on its own."""
    deployment = recorded("deployments.json")["items"][0]
    cron = recorded("cronjobs.json")["items"][0]
    replicaset = _owned(deployment, "Deployment", deployment, "deploy-e-5d8f7")
    template_pod = {"spec": deployment["spec"]["template"]["spec"]}
    job = _owned({"spec": cron["spec"]["jobTemplate"]["spec"]}, "CronJob", cron, "report-2900")
    job_pod = {"spec": cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]}
    mirror = _owned(
        template_pod,
        "Node",
        {"metadata": {"name": "node-1", "uid": "node-uid", "namespace": "demo"}},
        "etcd-node-1",
    )
    replay.state.extra = {
        "replicasets": [replicaset],
        "jobs": [job],
        "pods": [
            _owned(template_pod, "ReplicaSet", replicaset, "deploy-e-5d8f7-abcde"),
            _owned(template_pod, "ReplicaSet", replicaset, "deploy-e-5d8f7-fghij"),
            _owned(job_pod, "Job", job, "report-2900-xyz12"),
            mirror,
        ],
    }
    report = scan(cluster, default_plan, page_size=3)
    reported = names(report)
    assert len(reported) == len(set(reported))
    assert [n for n in reported if n[0] in ("demo", "workloads") and n[1] != "Pod"] == [
        ("demo", "Deployment", "deploy-e"),
        ("workloads", "CronJob", "report"),
        ("workloads", "StatefulSet", "db"),
        ("workloads", "DaemonSet", "node-tuner"),
        ("workloads", "Job", "migrate"),
    ]
    assert ("demo", "Pod", "etcd-node-1") in reported
    for owned in (
        "deploy-e-5d8f7",
        "deploy-e-5d8f7-abcde",
        "deploy-e-5d8f7-fghij",
        "report-2900",
        "report-2900-xyz12",
    ):
        assert all(n[2] != owned for n in reported), owned


def test_namespace_labels_route_as_the_webhook_configurations_do(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    replay.state.labels = {
        "demo": {"initgate.io/mode": "warn"},
        "patch-test": {"initgate.io/ignore": ""},
        "warn-test": {"initgate.io/mode": "off"},
        "chain-test": {"initgate.io/mode": "Enforce"},
        "workloads": {"initgate.io/mode": "enforce"},
    }
    report = scan(cluster, default_plan, page_size=500, default_mode=Mode.AUDIT)
    assert report.namespaces == {
        "kube-node-lease": "excluded by the webhook configuration",
        "kube-system": "excluded by the webhook configuration",
        "patch-test": "labelled initgate.io/ignore",
        "warn-test": "labelled initgate.io/mode=off",
    }
    caps = {(a.namespace, a.name): (a.cap.value, a.outcome) for a in report.objects}
    assert caps == {
        ("demo", "deploy-e"): ("warn", "warned"),
        ("demo", "pod-a-two-init"): ("warn", "warned"),
        ("demo", "pod-b-native-sidecar"): ("warn", "warned"),
        ("demo", "pod-h-gen-7lx8v"): ("warn", "warned"),
        ("demo", "pod-j-by-sa"): ("warn", "warned"),
        ("demo", "verify-init"): ("warn", "warned"),
        # An unknown value goes to the default mode's webhook entry, as an unlabelled namespace.
        ("chain-test", "pod-step8"): ("audit", "audited"),
        ("workloads", "report"): ("enforce", "patched"),
        ("workloads", "db"): ("enforce", "denied"),
        ("workloads", "node-tuner"): ("enforce", "denied"),
        ("workloads", "migrate"): ("enforce", "denied"),
        ("workloads", "standalone"): ("enforce", "patched"),
    }


def test_one_namespace_is_read_through_namespaced_calls(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    report = scan(cluster, default_plan, namespace="workloads", page_size=2)
    assert summarise(report.objects) == WORKLOADS
    paths = {path for method, path, _ in replay.state.requests}
    assert paths == {
        "/api/v1/namespaces/workloads",
        "/api/v1/namespaces/workloads/pods",
        "/api/v1/namespaces/workloads/replicationcontrollers",
        *(
            f"/apis/apps/v1/namespaces/workloads/{r}"
            for r in ("deployments", "statefulsets", "daemonsets", "replicasets")
        ),
        *(f"/apis/batch/v1/namespaces/workloads/{r}" for r in ("jobs", "cronjobs")),
    }
    skipped = scan(cluster, default_plan, namespace="kube-system")
    assert (skipped.objects, skipped.namespaces) == (
        [],
        {"kube-system": "excluded by the webhook configuration"},
    )


def test_the_command_line(
    kubeconfig: Path, replay: Replay, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["audit", "--cluster", "--kubeconfig", str(kubeconfig), "--page-size", "4"]
    assert main([*argv, "-o", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["objects"] == 15
    assert {o["source"] for o in report["objects"]} == {None}
    assert all(o["uid"] for o in report["objects"])
    assert main([*argv, "--namespace", "kube-system"]) == 0
    assert main([*argv, "--namespace", "kube-system", "--policy-reports"]) == 0
    assert capsys.readouterr().err == (
        "initgate audit: no PolicyReport API in this cluster: reports not written "
        "(install the wgpolicyk8s.io CRDs)\n"
    )
    assert main([*argv, "--namespace", "nowhere"]) == 2
    assert (
        'get namespace nowhere: HTTP 404 Not Found: namespaces "nowhere" not found'
        in capsys.readouterr().err
    )
    replay.state.failing["deployments"] = 403
    assert main(argv) == 2
    assert "list deployments: HTTP 403" in capsys.readouterr().err


def test_wrong_credentials_and_a_missing_kubeconfig(tmp_path: Path, kubeconfig: Path) -> None:
    kubeconfig.write_text(kubeconfig.read_text().replace("replay-token", "stolen"))
    with pytest.raises(ClusterError, match="list namespaces: HTTP 401"):
        scan(connect(kubeconfig), compile_plan(Config()))
    with pytest.raises(ClusterError, match=r"kubeconfig .*nothing does not exist"):
        connect(tmp_path / "nothing")


def test_extra_excluded_namespaces(kubeconfig: Path, replay: Replay, default_plan: Plan) -> None:
    cluster = connect(kubeconfig, exclude=("demo",))
    try:
        report = scan(cluster, default_plan, default_mode=Mode.OFF)
    finally:
        cluster.close()
    assert report.namespaces["demo"] == "excluded with --exclude-namespace"
    assert report.namespaces["workloads"] == "initgate.io/mode not set; default mode off"
    assert report.objects == []
    replay.state.labels = {"workloads": {"initgate.io/mode": "bogus"}}
    cluster = connect(kubeconfig)
    try:
        report = scan(cluster, default_plan, default_mode=Mode.OFF, namespace="workloads")
    finally:
        cluster.close()
    assert report.namespaces == {"workloads": "initgate.io/mode is 'bogus'; default mode off"}


def test_in_cluster_with_the_pod_service_account(
    replay: Replay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default_plan: Plan
) -> None:
    """As the chart's audit Deployment runs: no kubeconfig, the service account's token, CA and
    namespace (the release namespace, which the webhook configurations exclude)."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    (account / "ca.crt").write_bytes(replay.material.ca.read_bytes())
    (account / "namespace").write_text("demo\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(account / "token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(account / "ca.crt"))
    monkeypatch.setattr(cluster_module, "SERVICE_ACCOUNT_NAMESPACE", account / "namespace")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", replay.url.rsplit(":", 1)[1])
    connected = connect()
    try:
        report = scan(connected, default_plan)
    finally:
        connected.close()
    assert report.namespaces["demo"] == "initgate runs here (excluded by the webhook configuration)"
    assert {a.namespace for a in report.objects} == {
        "chain-test",
        "patch-test",
        "warn-test",
        "workloads",
    }
