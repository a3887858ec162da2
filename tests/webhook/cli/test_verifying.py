"""`initgate test PATH...`, run in process: its exact output and exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.cli.main import main

CONFIG = """\
rules:
  - id: no-latest
    description: Init containers name a version.
    roles: [init]
    expression: "!container.image.endsWith(':latest')"
    messageExpression: "'image ' + container.image + ' uses :latest'"
"""
PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: pinned}
spec:
  initContainers:
    - {name: setup, image: "busybox:1.36", resources: {limits: {cpu: 100m, memory: 64Mi}}}
  containers:
    - {name: app, image: "nginx:1.27"}
---
apiVersion: v1
kind: Pod
metadata: {name: latest}
spec:
  initContainers:
    - {name: setup, image: "busybox:latest", resources: {limits: {cpu: 100m, memory: 64Mi}}}
  containers:
    - {name: app, image: "nginx:1.27"}
"""
MET = """\
config: ../config.yaml
manifests: [../pods.yaml]
expect:
  - object: Pod/pinned
    results: {no-latest: pass, init-unbounded: pass}
    patched:
      spec.containers[app].resources.requests.cpu: 100m
  - object: Pod/latest
    results: {no-latest: fail}
  - object: Pod/latest
    mode: warn
    results: {no-latest: warn}
"""
UNMET = """\
config: ../config.yaml
manifests: [../pods.yaml]
expect:
  - object: Pod/latest
    results:
      no-latest: pass
      init-lint: pass
  - object: Pod/pinned
    patched:
      spec.containers[app].resources.limits.memory: 1Gi
"""
BROKEN = """\
manifests: [../pods.yaml]
expect:
  - object: Pod/latest
    results: {no-latest: pass}
"""


@pytest.fixture
def tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the output's paths are as given: relative
    (tmp_path / "config.yaml").write_text(CONFIG)
    (tmp_path / "pods.yaml").write_text(PODS)
    for folder, content in (("met", MET), ("unmet", UNMET), ("broken", BROKEN)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "rules.initgate-test.yaml").write_text(content)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, str, str]:
    status = main(["test", *paths])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_every_expectation_met(tests: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "met") == (
        0,
        "met/rules.initgate-test.yaml: 5 met\n"
        "initgate test: 1 test file; 5 expectations: 5 met, 0 unmet\n",
        "",
    )


def test_unmet_expectations_say_what_broke_them(
    tests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "unmet", "met/rules.initgate-test.yaml")
    assert (status, err) == (1, "")
    assert out == (
        "unmet/rules.initgate-test.yaml:6: Pod default/latest: no-latest: expected pass, got fail\n"
        '    deny no-latest: init "setup" (spec.initContainers[0]): image busybox:latest uses '
        ":latest\n"
        "unmet/rules.initgate-test.yaml:7: Pod default/latest: init-lint: expected pass, got warn\n"
        '    warn init-lint: init "setup" (spec.initContainers[0]): image "busybox:latest" uses '
        ":latest; pin a version\n"
        "unmet/rules.initgate-test.yaml:10: Pod default/pinned: patched "
        "spec.containers[app].resources.limits.memory: expected 1Gi, got 256Mi\n"
        "    add /spec/containers/0/resources {requests: {cpu: 100m, memory: 128Mi}, limits: "
        "{memory: 256Mi}}\n"
        "unmet/rules.initgate-test.yaml: 3 of 3 unmet\n"
        "met/rules.initgate-test.yaml: 5 met\n"
        "initgate test: 2 test files; 8 expectations: 5 met, 3 unmet\n"
    )


def test_a_broken_file_is_not_run_and_the_others_are(
    tests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, ".")
    assert status == 2
    assert err == (
        "initgate test: broken/rules.initgate-test.yaml:4: expect[0].results: 'no-latest' is "
        "neither a policy nor a rule of the configuration (known: init-privileged, "
        "init-unbounded, init-lint, default-resources, emptydir-sizelimit, readonly-mounts)\n"
    )
    assert out.startswith("met/rules.initgate-test.yaml: 5 met\n")
    assert out.splitlines()[-2:] == [
        "unmet/rules.initgate-test.yaml: 3 of 3 unmet",
        "initgate test: 3 test files (1 broken, not run); 8 expectations: 5 met, 3 unmet",
    ]


@pytest.mark.parametrize(
    ("paths", "status", "err"),
    [
        (["met", "missing"], 2, "initgate test: missing: no such file or directory\n"),
        (["met", "unmet"], 1, ""),
        (["met", "met/rules.initgate-test.yaml"], 0, ""),  # a file found twice is run once
    ],
)
def test_exit_status(
    tests: Path,
    capsys: pytest.CaptureFixture[str],
    paths: list[str],
    status: int,
    err: str,
) -> None:
    got, _, said = run(capsys, *paths)
    assert (got, said) == (status, err)


def test_an_empty_directory_is_not_a_passing_one(
    tests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tests / "empty").mkdir()
    assert run(capsys, "empty") == (
        2,
        "initgate test: 0 test files; 0 expectations: 0 met, 0 unmet\n",
        "initgate test: empty: no test file in this directory (initgate-test.yaml, "
        "initgate-test.yml)\n",
    )


def test_no_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["test"])
    assert exited.value.code == 2
    assert "usage: initgate test" in capsys.readouterr().err
