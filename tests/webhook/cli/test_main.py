"""The `initgate` command line, run in process."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import kube, reviews
from webhook._version import __version__
from webhook.cli.main import main
from webhook.server import logs


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """`initgate serve` configures process-wide logging (onto this test's captured stderr, which
    closes after it): put everything back for the tests that follow."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    direct = (logs._direct.formatter, logs._direct.stream)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._direct.formatter, logs._direct.stream = direct


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out == f"initgate {__version__}\n"


def test_config_default_then_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "default"]) == 0
    path = tmp_path / "config.yaml"
    path.write_text(capsys.readouterr().out)
    assert main(["config", "validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid\n"


def test_config_validate_names_the_error_location(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("policies:\n  init-unbounded:\n    required: [cpu]\n    maximum: {cpu: lots}\n")
    assert main(["config", "validate", str(path)]) == 1
    assert capsys.readouterr().err == (
        f"{path}:4: policies.init-unbounded.maximum.cpu: expected a quantity such as 512Mi, "
        "not 'lots'\n"
    )
    assert main(["config", "validate", str(tmp_path / "missing.yaml")]) == 2


def test_config_validate_warns_about_an_image_exemption_without_a_tag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("exemptions:\n  images:\n    - image: busybox\n")
    assert main(["config", "validate", str(path)]) == 0  # valid: the server takes it
    captured = capsys.readouterr()
    assert captured.out == f"{path}: valid, 1 warning\n"
    assert captured.err.startswith(
        f"{path}:3: warning: exemptions.images[0].image: 'busybox' has no tag or digest"
    )


def test_review_chains_mutate_then_validate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "review.json"
    path.write_bytes(reviews.captured_bytes("pod-create-two-init", "mutate"))
    assert main(["review", str(path)]) == 1  # denied
    answers = json.loads(capsys.readouterr().out)
    uid = reviews.captured("pod-create-two-init", "mutate")["request"]["uid"]
    assert answers["mutate"]["response"]["uid"] == answers["validate"]["response"]["uid"] == uid
    assert len(kube.decode_patch(answers["mutate"]["response"])) == 2
    assert answers["validate"]["response"]["allowed"] is False


def test_review_wraps_a_plain_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pod = reviews.pod(
        init=[
            reviews.container(
                "fetch",
                resources=reviews.LIMITED,
                volumeMounts=[{"name": "models", "mountPath": "/m"}],
            )
        ],
        app=[
            reviews.container(
                "app", "nginx:1.27", volumeMounts=[{"name": "models", "mountPath": "/srv"}]
            )
        ],
        volumes=[{"name": "models", "emptyDir": {}}],
    )
    path = tmp_path / "pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    assert main(["review", "-o", "json", str(path)]) == 0
    answers = json.loads(capsys.readouterr().out)
    ops = kube.decode_patch(answers["mutate"]["response"])
    patched = kube.check_patched(pod, ops)
    assert patched["spec"]["containers"][0]["volumeMounts"][0]["readOnly"] is True
    assert answers["validate"]["response"] == {
        "uid": answers["mutate"]["response"]["uid"],
        "allowed": True,
    }


def test_review_in_warn_mode_admits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "review.json"
    path.write_bytes(reviews.captured_bytes("pod-create-two-init", "validate"))
    assert main(["review", "--mode", "warn", str(path)]) == 0
    answers = json.loads(capsys.readouterr().out)
    assert len(answers["validate"]["response"]["warnings"]) == 3


@pytest.mark.parametrize("content", ["[1, 2]", "key: [unclosed", ""])
def test_review_refuses_what_is_not_one_object(
    tmp_path: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert main(["review", str(path)]) == 2
    assert capsys.readouterr().err.startswith("initgate review: ")


def test_serve_refuses_an_invalid_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("mode: loud\n")
    status = main(
        [
            "serve",
            "--config",
            str(path),
            "--state-dir",
            str(tmp_path),
            "--port",
            "1",
            "--metrics-port",
            "0",
        ]
    )
    assert status == 2
    assert "cannot start" in capsys.readouterr().err


def test_serve_refuses_half_a_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--tls-cert", str(tmp_path / "tls.crt")]) == 2
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err


DAEMONSET = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "node-tuner", "namespace": "ops"},
    "spec": {
        "selector": {"matchLabels": {"app": "tuner"}},
        "template": {
            "metadata": {"labels": {"app": "tuner"}},
            "spec": {
                "initContainers": [
                    {
                        "name": "sysctl",
                        "image": "busybox:1.36",
                        "securityContext": {"privileged": True},
                        "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                    }
                ],
                "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10"}],
            },
        },
    },
}


def test_review_judges_the_object_of_a_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A List holding a DaemonSet with a privileged init container: this printed allowed: true."""
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [DAEMONSET]}))
    assert main(["review", "-o", "json", str(path)]) == 1
    answers = json.loads(capsys.readouterr().out)
    assert answers["validate"]["response"]["allowed"] is False
    assert (
        "securityContext.privileged is true" in answers["validate"]["response"]["status"]["message"]
    )


@pytest.mark.parametrize(
    ("content", "count"),
    [
        ({"apiVersion": "v1", "kind": "List", "items": [DAEMONSET, DAEMONSET]}, 2),
        ([DAEMONSET, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}], 2),
    ],
    ids=["list", "documents"],
)
def test_review_judges_several_objects_as_text_only(
    tmp_path: Path, content: object, count: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """A multi-document file printed a raw PyYAML error; then it was refused. The readable
    verdict covers each object; the AdmissionReview answers are one object's."""
    path = tmp_path / "many.yaml"
    documents = content if isinstance(content, list) else [content]
    path.write_text(yaml.safe_dump_all(documents))
    assert main(["review", str(path)]) == 1
    titles = [line for line in capsys.readouterr().out.splitlines() if line[:1].isupper()]
    assert len(titles) == count
    assert titles[0] == "DaemonSet ops/node-tuner: denied"
    assert main(["review", "-o", "json", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"initgate review: {path} holds {count} objects; the AdmissionReview answers (-o json) "
        f"are one object's: use -o text, or `initgate audit -f {path} -o json`, to judge them "
        "all\n"
    )


def test_review_says_what_it_does_not_judge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "configmap.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n")
    assert main(["review", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("initgate review: ConfigMap is not judged by initgate")


RUN_AS = """\
exemptions:
  namespaces: [kube-system]
  images: [{image: "docker.io/istio/*", allow: [capability:NET_ADMIN, capability:NET_RAW]}]
rules:
  - id: run-as
    description: Init containers say which user they run as.
    roles: [init]
    expression: container.securityContext.runAsUser >= 0
"""


@pytest.mark.parametrize(
    ("namespace", "security", "notes"),
    [
        pytest.param(
            "shop",
            {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}},
            [
                "validate: init-privileged exempt: exemptions.images[0]",
                'validate: run-as could not evaluate: init "istio-init" (spec.initContainers[0]): '
                'Key not found in map : "runAsUser"',
            ],
            id="an-image-exemption-and-a-rule-that-fails",
        ),
        pytest.param(
            "kube-system",
            {},
            [
                "mutate: exempt (namespace: exemptions.namespaces[0])",
                "validate: exempt (namespace: exemptions.namespaces[0])",
            ],
            id="an-exempt-namespace",
        ),
    ],
)
def test_review_says_which_exemption_applied_and_why_a_rule_failed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    namespace: str,
    security: dict[str, object],
    notes: list[str],
) -> None:
    """The answers say that a rule could not evaluate, not why; nor which exemption applied."""
    (tmp_path / "config.yaml").write_text(RUN_AS)
    init = reviews.container(
        "istio-init",
        "docker.io/istio/proxyv2:1.24.0",
        resources=reviews.LIMITED,
        securityContext=security,
    )
    pod = reviews.pod(init=[init], app=[reviews.container("app", resources=reviews.LIMITED)])
    pod["metadata"]["namespace"] = namespace
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod))
    config = str(tmp_path / "config.yaml")
    # As AdmissionReview answers (-o json), the notes say what the answers cannot.
    assert main(["review", str(tmp_path / "pod.yaml"), "--config", config, "-o", "json"]) == 0
    err = capsys.readouterr().err
    assert err.splitlines() == [f"initgate review: note: {note}" for note in notes]
