"""`initgate mutate` writes its changes into the user's own text: `--diff` applies with the real
`patch -p1` and `git apply`, `--in-place` writes the same, the default output keeps comments, and
what the files say afterwards is the mutated objects (helm template and kustomize output,
commented hand-written manifests, multi-document files, JSON, a file without a final newline)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from webhook.audit.evaluate import Target, evaluate
from webhook.audit.manifests import load, namespace_of
from webhook.cli.main import main
from webhook.core.config import Config
from webhook.core.patch import apply
from webhook.core.plan import compile_plan

DATA = Path(__file__).resolve().parents[2] / "data" / "manifests"
SOURCES = ("helm", "kustomize", "handwritten", "list.yaml", "tree")
PLAN = compile_plan(Config())


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the test manifests, the current directory (paths in diffs are relative)."""
    for name in SOURCES:
        source = DATA / name
        target = tmp_path / "manifests" / name
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def mutate(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    sys.stdin = io.StringIO("")
    try:
        status = main(["mutate", *argv])
    finally:
        sys.stdin = sys.__stdin__
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def files() -> list[str]:
    return [f"manifests/{name}" for name in SOURCES]


def expected(paths: list[str]) -> list[dict[str, Any]]:
    """Every object of the files with what admission gives its pods (into workload templates)."""
    found = []
    for manifest in load(paths, stdin=io.StringIO()).manifests:
        obj = manifest.obj
        audited = evaluate(Target(obj=obj, namespace=namespace_of(obj, "default")), PLAN)
        found.append(apply(obj, audited.patch))
    return found


def objects(paths: list[str]) -> list[dict[str, Any]]:
    loaded = load(paths, stdin=io.StringIO())
    assert loaded.problems == []
    return [m.obj for m in loaded.manifests]


@pytest.mark.parametrize("tool", ["patch", "git"])
def test_the_diff_applies_to_the_files(
    tool: str, tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wanted = expected(files())
    status, diff, err = mutate(capsys, *(f for name in files() for f in ("-f", name)), "--diff")
    assert status == 0, err
    assert diff.count("\n+++ b/manifests/") + diff.startswith("+++") >= 5
    (tree / "changes.diff").write_text(diff)
    command = ["patch", "-p1", "-i", "changes.diff"] if tool == "patch" else ["git", "apply"]
    if tool == "git":
        command = ["git", "apply", "changes.diff"]
    done = subprocess.run(command, cwd=tree, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert objects(files()) == wanted
    # Applied: nothing is left to change.
    assert mutate(capsys, *(f for name in files() for f in ("-f", name)), "--diff")[1] == ""


def test_in_place_writes_what_the_diff_says(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [f for name in files() for f in ("-f", name)]
    _, diff, _ = mutate(capsys, *argv, "--diff")
    (tree / "changes.diff").write_text(diff)
    copy = tree / "copy"
    shutil.copytree(tree / "manifests", copy / "manifests")
    subprocess.run(["patch", "-s", "-p1", "-i", "../changes.diff"], cwd=copy, check=True)
    status, out, err = mutate(capsys, *argv, "--in-place")
    assert (status, out) == (0, "")
    assert "initgate mutate: wrote manifests/handwritten/web.yaml\n" in err
    for path in (p for p in (tree / "manifests").rglob("*") if p.is_file()):
        assert path.read_text() == (copy / path.relative_to(tree)).read_text(), path


def test_only_what_the_patch_adds_changes(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Comments, key order, quoting and flow style of a hand-written file stay as they were:
    lines are only added, except a flow mapping that gets a key, which stays flow."""
    path = "manifests/handwritten/web.yaml"
    before = (tree / path).read_text()
    _, diff, _ = mutate(capsys, "-f", path, "--diff")
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and line[1:3] != "--"]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and line[1:3] != "++"]
    assert removed == [
        "          emptyDir: {}",
        '{apiVersion: v1, kind: Pod, metadata: {name: debug, namespace: shop}, spec: {containers: [{name: sh, image: "busybox:1.36", command: [sleep, "3600"]}]}}',
    ]
    assert added == [
        "              readOnly: true",
        "          resources:",
        "            requests:",
        "              cpu: 100m",
        "              memory: 128Mi",
        "            limits:",
        "              memory: 256Mi",
        "          emptyDir: {sizeLimit: 2Gi}",
        "            sizeLimit: 256Mi",
        '{apiVersion: v1, kind: Pod, metadata: {name: debug, namespace: shop}, spec: {containers: [{name: sh, image: "busybox:1.36", command: [sleep, "3600"], resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}}]}}',
    ]
    status, out, _ = mutate(capsys, "-f", path)
    assert status == 0
    for line in before.splitlines()[2:]:  # all but the comment before the first `---`
        if line not in removed and line != "---":
            assert line in out.splitlines(), line


def test_a_workload_shows_what_its_pods_get_by_default(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """This printed the Deployment unchanged and exited 0, while audit said its pods would be
    patched."""
    path = "manifests/handwritten/web.yaml"
    status, out, err = mutate(capsys, "-f", path)
    assert status == 0
    deployment = next(yaml.safe_load_all(out))
    mounts = deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert mounts[0]["readOnly"] is True
    assert err == (
        "initgate mutate: 2 of 3 objects changed; not judged (initgate judges pods and "
        "workloads): 1 ConfigMap\n"
    )
    status, out, err = mutate(capsys, "-f", path, "--no-templates")
    assert next(yaml.safe_load_all(out)) == objects([path])[0]
    assert "1 workloads left as they are whose pods would be patched (--no-templates" in err


def test_json_and_a_missing_final_newline(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = ["manifests/tree/overlays/prod/cronjob.json", "manifests/handwritten/no-newline.yaml"]
    _, diff, _ = mutate(capsys, *(f for p in paths for f in ("-f", p)), "--diff")
    assert "\\ No newline at end of file" in diff
    (tree / "changes.diff").write_text(diff)
    subprocess.run(["patch", "-s", "-p1", "-i", "changes.diff"], cwd=tree, check=True)
    assert json.loads((tree / paths[0]).read_text()) == expected([paths[0]])[0]
    assert objects([paths[1]]) == expected([paths[1]])


def test_standard_input_cannot_be_written_in_place(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = mutate(capsys, "-f", "-", "--in-place")
    assert status == 2
    assert err == "initgate mutate: --in-place writes files: standard input has none\n"
