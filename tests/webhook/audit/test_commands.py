"""`initgate audit -f` and `initgate mutate`, run in process: outputs, exit statuses, stdin."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import kube
from webhook.audit.evaluate import Target, evaluate
from webhook.audit.manifests import load
from webhook.cli.main import main
from webhook.core.plan import Plan

DATA = Path(__file__).resolve().parents[2] / "data" / "manifests"
ROOT = DATA.parents[2]
POD = "tests/data/manifests/tree/base/pod.yml"
GOOD = ("helm", "kustomize", "list.yaml", "tree")


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # paths in outputs are as given: relative to the project


def run(capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    sys.stdin = io.StringIO(stdin)
    try:
        status = main(list(argv))
    finally:
        sys.stdin = sys.__stdin__
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_output_is_the_documented_structure(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "audit", "-f", POD, "-o", "json")
    assert (status, err) == (0, "")
    requests = {"cpu": "100m", "memory": "128Mi"}
    resources_op = {
        "op": "add",
        "path": "/spec/initContainers/1/resources/requests",
        "value": requests,
    }
    readonly_op = {"op": "add", "path": "/spec/containers/0/volumeMounts/0/readOnly", "value": True}
    assert json.loads(out) == {
        "schemaVersion": 1,
        "summary": {
            "objects": 1,
            "denied": 0,
            "warned": 0,
            "patched": 1,
            "audited": 0,
            "clean": 0,
            "exempt": 0,
            "findings": 2,
            "skipped": 0,
            "skippedKinds": {},
            "problems": 0,
            "status": 0,
        },
        "objects": [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "namespace": "default",
                "name": "model-server",
                "uid": None,
                "mode": "enforce",
                "outcome": "patched",
                "reason": None,
                "source": {"file": POD, "document": 1, "line": 1, "item": None},
                "findings": [
                    {
                        "policy": "default-resources",
                        "webhook": "mutate",
                        "mode": "enforce",
                        "action": "patch",
                        "key": "resources",
                        "role": "sidecar",
                        "container": "proxy",
                        "volume": None,
                        "field": "spec.initContainers[1]",
                        "line": 19,
                        "appliesTo": "object",
                        "message": "set requests cpu=100m memory=128Mi",
                        "hint": None,
                        "patch": [resources_op],
                    },
                    {
                        "policy": "readonly-mounts",
                        "webhook": "mutate",
                        "mode": "enforce",
                        "action": "patch",
                        "key": "volume:models",
                        "role": "app",
                        "container": "server",
                        "volume": None,
                        "field": "spec.containers[0]",
                        "line": 26,
                        "appliesTo": "object",
                        "message": 'mount "models" readOnly (init "download-model" fills it)',
                        "hint": 'to keep it writable, annotate the pod initgate.io/writable-volumes: "models"',
                        "patch": [readonly_op],
                    },
                ],
                "patch": [resources_op, readonly_op],
                "wouldPatch": [],
                "errors": [],
                "exemptions": [],
            }
        ],
        "problems": [],
        "skippedNamespaces": [],
    }


def test_table_groups_findings_by_workload(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "audit", "-f", "tests/data/manifests/kustomize")
    assert status == 1
    file = "tests/data/manifests/kustomize/build.yaml"
    assert out == (
        f"DaemonSet data/log-agent ({file}:11, document 2): DENIED\n"
        '  deny   init-privileged  init "prepare" (line 43)      capabilities.add has SYS_ADMIN; drop it\n'
        '  deny   init-privileged  init "prepare" (line 43)      mounts hostPath volume "varlog"; use another volume type\n'
        '  warn   init-lint        init "prepare" (line 43)      image "busybox:latest" uses :latest; pin a version\n'
        "\n"
        f"Job data/ingest-seed ({file}:65, document 3): WARNED\n"
        '  warn   init-lint        init "wait-for-db" (line 95)  waits in a loop with no bound; add a retry limit or wrap it in timeout\n'
        "\n"
        "2 pods and workloads audited: 1 denied, 1 warned; 1 other objects not audited (1 ConfigMap).\n"
    )


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["-f", "tests/data/manifests/list.yaml"], 0),  # patched and clean: nothing denied
        (["-f", "tests/data/manifests/kustomize"], 1),  # a DaemonSet would be denied
        (["-f", "tests/data/manifests/kustomize", "--mode", "warn"], 0),
        (["-f", "tests/data/manifests/kustomize", "--mode", "warn", "--fail-on", "warn"], 1),
        (["-f", "tests/data/manifests/tree", "--fail-on", "warn"], 0),
        (["-f", "tests/data/manifests/broken"], 2),  # unreadable documents: incomplete audit
        (["-f", "tests/data/manifests/nothing-here.yaml"], 2),
        (["-f", "tests/data/manifests/list.yaml", "--config", "tests/data/manifests/list.yaml"], 2),
    ],
)
def test_exit_status(argv: list[str], status: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "audit", *argv)[0] == status


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["-f", POD, "--cluster"],
        ["-f", POD, "--interval", "5m"],
        ["-f", POD, "--exclude-namespace", "demo"],
        ["--cluster", "--interval", "5x"],
        ["--cluster", "--interval", "1m", "-o", "json"],
        ["--cluster", "--page-size", "0"],
        ["-f", POD, "-o", "xml"],
    ],
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", *argv])
    assert exited.value.code == 2
    assert "usage: initgate audit" in capsys.readouterr().err


def test_broken_documents_are_reported_and_the_rest_audited(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(capsys, "audit", "-f", "tests/data/manifests/broken", "-o", "json")
    assert status == 2
    report = json.loads(out)
    file = "tests/data/manifests/broken/mixed.yaml"
    assert [(o["name"], o["outcome"]) for o in report["objects"]] == [
        ("first", "denied"),
        ("last", "clean"),
    ]
    assert report["problems"] == [
        {
            "file": file,
            "document": 2,
            "line": 26,
            "message": "not valid YAML: did not find expected key",
        },
        {"file": file, "document": 3, "line": 29, "message": "is a list, not a Kubernetes object"},
        {"file": file, "document": 4, "line": 33, "message": "has no kind"},
    ]
    assert err.splitlines() == [
        f"initgate audit: {file}: document 2 (line 26): not valid YAML: did not find expected key",
        f"initgate audit: {file}: document 3 (line 29): is a list, not a Kubernetes object",
        f"initgate audit: {file}: document 4 (line 33): has no kind",
    ]


def test_standard_input(capsys: pytest.CaptureFixture[str]) -> None:
    text = (DATA / "kustomize" / "build.yaml").read_text()
    status, out, _ = run(capsys, "audit", "-f", "-", "-o", "json", stdin=text)
    report = json.loads(out)
    assert status == 1
    assert [(o["kind"], o["source"]["file"], o["source"]["line"]) for o in report["objects"]] == [
        ("DaemonSet", "-", 11),
        ("Job", "-", 65),
    ]


def test_sarif_has_the_required_structure(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "audit",
        "-f",
        "tests/data/manifests/helm",
        "-f",
        "tests/data/manifests/broken",
        "-o",
        "sarif",
    )
    assert status == 2
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "initgate"
    rules = driver["rules"]
    assert [r["id"] for r in rules] == [
        "init-privileged",
        "init-unbounded",
        "init-lint",
        "default-resources",
        "emptydir-sizelimit",
        "readonly-mounts",
    ]
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert rule["help"]["text"]
        assert rule["helpUri"]
    levels = {(r["ruleId"], r["level"]) for r in run_["results"]}
    assert levels == {
        ("init-unbounded", "error"),
        ("init-privileged", "error"),
        ("default-resources", "note"),
        ("emptydir-sizelimit", "note"),
        ("readonly-mounts", "note"),
    }
    for result in run_["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"].startswith("tests/data/manifests/")
        assert physical["region"]["startLine"] >= 1
    privileged = next(r for r in run_["results"] if r["ruleId"] == "init-privileged")
    assert privileged["message"]["text"] == (
        'StatefulSet default/shop-cache: init "sysctl": securityContext.privileged is true; remove it'
    )
    assert privileged["locations"][0]["physicalLocation"]["region"] == {"startLine": 118}
    (invocation,) = run_["invocations"]
    assert invocation["executionSuccessful"] is False
    assert [
        n["locations"][0]["physicalLocation"]["region"]["startLine"]
        for n in invocation["toolExecutionNotifications"]
    ] == [26, 29, 33]
    assert all(
        n["level"] == "error" and n["message"]["text"]
        for n in invocation["toolExecutionNotifications"]
    )


def _every_manifest() -> list[tuple[str, dict[str, Any], str]]:
    loaded = load([str(DATA / name) for name in GOOD], stdin=io.StringIO())
    assert loaded.problems == []
    return [
        (m.source.display, m.obj, m.obj["metadata"].get("namespace", "default"))
        for m in loaded.manifests
    ]


@pytest.mark.parametrize(
    ("where", "obj", "namespace"),
    _every_manifest(),
    ids=lambda v: v if isinstance(v, str) and ":" in v else "",
)
def test_every_would_be_patch_applies_and_validates(
    where: str, obj: dict[str, Any], namespace: str, default_plan: Plan
) -> None:
    """The test manifests are valid objects; the patch of each applies to it (into the template
    for a workload), the result validates for Kubernetes 1.30 and 1.36, and is left alone when
    audited again."""
    if obj["kind"] in ("Service", "ServiceAccount", "ConfigMap"):
        kube.validate(obj)
        return
    kube.validate(obj)
    audited = evaluate(Target(obj=obj, namespace=namespace), default_plan)
    patched = kube.check_patched(obj, [dict(op) for op in audited.patch])
    again = evaluate(Target(obj=patched, namespace=namespace), default_plan)
    assert again.patch == []


def test_mutate_without_templates_leaves_workloads_as_the_webhook_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["mutate", "-f", "tests/data/manifests/helm", "-f", POD, "--no-templates"]
    status, out, err = run(capsys, *argv)
    assert status == 0
    documents = list(yaml.safe_load_all(out))
    originals = [m.obj for m in load(["tests/data/manifests/helm"], stdin=io.StringIO()).manifests]
    assert documents[:-1] == originals  # workloads as the webhook leaves them: unchanged
    pod = documents[-1]
    assert pod["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] is True
    assert pod["spec"]["initContainers"][1]["resources"]["requests"] == {
        "cpu": "100m",
        "memory": "128Mi",
    }
    assert "1 workloads left as they are whose pods would be patched" in err
    # the files' own text: comments and block scalars as they were
    assert "# Source: shop/templates/deployment.yaml\n" in out
    assert '- |\n              cp /config/app.conf /work/app.conf\n              sed -i "s/' in out


def test_mutate_templates_diff_and_patch(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["mutate", "-f", "tests/data/manifests/tree/overlays/prod/cronjob.json"]
    status, out, _ = run(capsys, *argv)
    cron = yaml.safe_load(out)
    spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["volumes"][0]["emptyDir"] == {"sizeLimit": "2Gi"}
    kube.validate(cron)
    status, out, _ = run(capsys, *argv, "--diff")
    label = "tests/data/manifests/tree/overlays/prod/cronjob.json"
    assert status == 0
    assert out.startswith(f"--- a/{label}\n+++ b/{label}\n@@ ")
    added = [
        line[1:].strip()
        for line in out.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    assert added == [
        '"volumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": true}], '
        '"resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}',
        '"volumes": [{"name": "data", "emptyDir": {"sizeLimit": "2Gi"}}]',
    ]
    status, out, _ = run(capsys, *argv, "--patch")
    (entry,) = json.loads(out)
    assert (entry["kind"], entry["name"], entry["document"]) == ("CronJob", "nightly-report", 1)
    assert [op["path"] for op in entry["patch"]] == [
        "/spec/jobTemplate/spec/template/spec/containers/0/resources",
        "/spec/jobTemplate/spec/template/spec/volumes/0/emptyDir/sizeLimit",
        "/spec/jobTemplate/spec/template/spec/containers/0/volumeMounts/0/readOnly",
    ]
    status, out, _ = run(capsys, *argv, "--patch", "--no-templates")
    assert json.loads(out) == []  # as the webhook does: it leaves workloads alone


def test_mutate_keeps_unreadable_documents_in_place(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "mutate", "-f", "tests/data/manifests/broken/mixed.yaml")
    assert status == 2
    assert "document 2 (line 26): not valid YAML" in err
    chunks = out.split("---\n")
    assert len(chunks) == 5
    assert chunks[1] == (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad-indentation\n spec:\n  containers: []\n"
    )
    assert yaml.safe_load(chunks[0])["spec"]["containers"][0]["name"] == "app"


def test_offline_audit_never_imports_the_kubernetes_client() -> None:
    code = (
        "import sys\nfrom webhook.cli.main import main\n"
        f"status = main(['audit', '-f', {POD!r}, '-o', 'sarif'])\n"
        "assert 'kubernetes' not in sys.modules, 'kubernetes imported'\nsys.exit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("stdin", ["", "# helm template failed before writing anything\n"])
def test_empty_input_is_not_a_clean_audit(stdin: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`helm template ... | initgate audit -f -` after helm failed: this said "0 pods and
    workloads audited" and exited 0, a green CI step that judged nothing."""
    status, _, err = run(capsys, "audit", "-f", "-", stdin=stdin)
    assert status == 2
    assert err == (
        "initgate audit: <stdin>: holds no Kubernetes object (empty, or comments only)\n"
    )


MESH_AND_SYSTEM = """\
apiVersion: v1
kind: Pod
metadata: {name: mesh, namespace: shop}
spec:
  initContainers:
  - name: istio-init
    image: docker.io/istio/proxyv2:1.24.0
    resources: {limits: {cpu: 100m, memory: 64Mi}}
    securityContext:
      capabilities: {add: [NET_ADMIN, NET_RAW], drop: [ALL]}
      runAsUser: 0
  containers:
  - name: app
    image: nginx:1.27
    resources: {requests: {cpu: 10m, memory: 10Mi}, limits: {memory: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: kube-system}
spec:
  containers:
  - {name: app, image: nginx:1.27}
"""


def test_the_table_says_which_exemption_applied(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A pod that is clean only because of an exemption says so, and the summary names the
    exemptions of the objects left alone."""
    (tmp_path / "pods.yaml").write_text(MESH_AND_SYSTEM)
    status, out, err = run(capsys, "audit", "-f", str(tmp_path / "pods.yaml"))
    assert (status, err) == (0, "")
    assert out == (
        f"Pod shop/mesh ({tmp_path}/pods.yaml:1, document 1): CLEAN\n"
        "  exempt init-privileged  policies.init-privileged.presets\n"
        "\n"
        "1 pod or workload audited: 1 clean; 1 exempt (by exemptions.namespaces[0]).\n"
    )
