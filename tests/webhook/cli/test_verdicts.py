"""`initgate review` for a person (issue 21): a readable verdict per object, each finding with its
action, policy, container, field and what to do, the changes as YAML paths with their values,
and the warnings kubectl prints. The output is pinned whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import reviews
from webhook.cli.main import main
from webhook.cli.verdicts import dotted, flow

UNBOUNDED = """\
apiVersion: v1
kind: Pod
metadata: {name: myapp-pod, namespace: shop}
spec:
  initContainers:
  - name: init-myservice
    image: busybox:1.28
    command: ['sh', '-c', "until nslookup myservice; do echo waiting; sleep 2; done"]
  - name: migrate
    image: example.com/api:3.2
    command: ["app", "migrate"]
    resources: {requests: {memory: 1Gi}, limits: {cpu: "1"}}
  containers:
  - name: app
    image: busybox:1.28
    volumeMounts: [{name: scratch, mountPath: /scratch}]
  volumes:
  - {name: scratch, emptyDir: {medium: Memory}}
"""
FOOTER = "Policy documentation and exemptions: https://github.com/initgate/initgate/blob/main/docs/policies.md"


def review(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, *argv: str
) -> tuple[int, str]:
    path = tmp_path / "manifest.yaml"
    path.write_text(text)
    status = main(["review", str(path), *argv])
    captured = capsys.readouterr()
    assert captured.err == ""
    return status, captured.out


def test_a_denied_pod(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert review(tmp_path, capsys, UNBOUNDED) == (
        1,
        "Pod shop/myapp-pod: denied\n"
        '  deny   init-unbounded      init "init-myservice" (spec.initContainers[0]): '
        "resources.limits.cpu is missing; set one, e.g. cpu: 500m\n"
        '  deny   init-unbounded      init "init-myservice" (spec.initContainers[0]): '
        "resources.limits.memory is missing; set one, e.g. memory: 256Mi\n"
        '  deny   init-unbounded      init "migrate" (spec.initContainers[1]): '
        "resources.limits.memory is missing; set one, e.g. memory: 1Gi\n"
        '  warn   init-lint           init "init-myservice" (spec.initContainers[0]): '
        "waits in a loop with no bound; add a retry limit or wrap it in timeout\n"
        '  patch  default-resources   app "app" (spec.containers[0]): '
        "set requests cpu=100m memory=128Mi, limits memory=256Mi\n"
        '  patch  emptydir-sizelimit  volume "scratch" (spec.volumes[0]): '
        "set emptyDir.sizeLimit=256Mi\n"
        "  to comply:\n"
        "    init-unbounded: Add resources.limits to each init container listed.\n"
        f"    {FOOTER}\n"
        "  changes (the mutating webhook's patch, as YAML paths):\n"
        "    spec.containers[0].resources: {requests: {cpu: 100m, memory: 128Mi}, limits: "
        "{memory: 256Mi}}\n"
        "    spec.volumes[0].emptyDir.sizeLimit: 256Mi\n"
        '  warnings (kubectl prints each as "Warning: ..."):\n'
        '    initgate init-lint: init "init-myservice": waits in a loop with no bound; add a '
        "retry limit or wrap it in timeout\n",
    )


def test_warn_mode_says_what_enforce_would_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = review(tmp_path, capsys, UNBOUNDED, "--mode", "warn")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "Pod shop/myapp-pod: allowed"
    assert lines[5] == (
        '  warn   default-resources   app "app" (spec.containers[0]): would set requests '
        "cpu=100m memory=128Mi, limits memory=256Mi"
    )
    assert "changes" not in out  # warn mode changes nothing
    assert "to comply" not in out
    assert lines[7] == '  warnings (kubectl prints each as "Warning: ..."):'
    assert len(lines) == 1 + 6 + 1 + 6  # a warning per finding


GPU = """\
apiVersion: v1
kind: Pod
metadata: {name: trainer, namespace: ml}
spec:
  initContainers:
  - name: fetch
    image: curlimages/curl:8.10.1
    command: ["sh", "-c", "curl -o /models/m https://example.com/m"]
    resources: {limits: {cpu: 500m, memory: 256Mi}}
    volumeMounts: [{name: models, mountPath: /models}]
  containers:
  - name: train
    image: example.com/trainer:4.1
    resources: {requests: {cpu: "2"}}
    volumeMounts: [{name: models, mountPath: /models}]
  volumes:
  - {name: models, emptyDir: {sizeLimit: 10Gi}}
"""


def test_changes_are_yaml_paths_with_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('policies:\n  default-resources:\n    requests: {example.com/gpu: "1"}\n')
    assert review(tmp_path, capsys, GPU, "--config", str(config)) == (
        0,
        "Pod ml/trainer: allowed\n"
        '  patch  default-resources  app "train" (spec.containers[0]): set requests '
        "memory=128Mi example.com/gpu=1, limits memory=256Mi\n"
        '  patch  readonly-mounts    app "train" (spec.containers[0]): mount "models" readOnly '
        '(init "fetch" fills it); to keep it writable, annotate the pod '
        'initgate.io/writable-volumes: "models"\n'
        "  changes (the mutating webhook's patch, as YAML paths):\n"
        "    spec.containers[0].resources.requests.memory: 128Mi\n"
        "    spec.containers[0].resources.requests[example.com/gpu]: '1'\n"
        "    spec.containers[0].resources.limits: {memory: 256Mi}\n"
        "    spec.containers[0].volumeMounts[0].readOnly: true\n",
    )


OTHERS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: web, image: nginx:1.27}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
---
apiVersion: v1
kind: Pod
metadata: {name: proxy, namespace: kube-system}
spec:
  containers: [{name: proxy, image: registry.k8s.io/kube-proxy:v1.36.0}]
"""


def test_what_is_not_judged_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert review(tmp_path, capsys, OTHERS) == (
        0,
        "Deployment shop/web: allowed\n"
        "  changes: none to the Deployment itself: the mutating webhook patches the pods it "
        "creates (`initgate mutate -f FILE` shows what they get)\n"
        "\n"
        "ConfigMap default/settings: allowed, not judged: initgate judges Pods and the "
        "workloads that create them\n"
        "\n"
        "Pod kube-system/proxy: allowed, not judged: its namespace is exempt (exemptions in the "
        "configuration)\n",
    )


def test_an_admission_review_is_answered_as_json_unless_text_is_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = reviews.captured_bytes("pod-create-two-init", "validate").decode()
    status, out = review(tmp_path, capsys, text)
    assert status == 1
    assert out.startswith('{\n  "mutate": {\n')
    status, out = review(tmp_path, capsys, text, "-o", "text")
    assert status == 1
    assert out.splitlines()[:2] == [
        "Pod demo/pod-a-two-init: denied",
        '  deny   init-privileged     init "setup" (spec.initContainers[0]): '
        "securityContext.privileged is true; remove it",
    ]


@pytest.mark.parametrize(
    ("pointer", "path"),
    [
        ("/spec/containers/0/resources", "spec.containers[0].resources"),
        (
            "/spec/template/spec/containers/10/resources/limits/example.com~1gpu",
            "spec.template.spec.containers[10].resources.limits[example.com/gpu]",
        ),
        ("/metadata/annotations/a~0b", "metadata.annotations.a~b"),
    ],
)
def test_pointers_read_as_kubectl_spells_fields(pointer: str, path: str) -> None:
    assert dotted(pointer, None) == path


def test_a_number_is_an_index_only_in_a_list() -> None:
    obj = {"metadata": {"labels": {"0": "x"}}, "spec": {"volumes": [{}]}}
    assert dotted("/metadata/labels/0", obj) == "metadata.labels.0"
    assert dotted("/spec/volumes/0/emptyDir", obj) == "spec.volumes[0].emptyDir"


def test_values_are_yaml_flow() -> None:
    assert [flow(v) for v in ("2Gi", "1", True, {"cpu": "100m"}, ["a"])] == [
        "2Gi",
        "'1'",
        "true",
        "{cpu: 100m}",
        "[a]",
    ]
