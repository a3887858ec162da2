"""`initgate export admission-policies`: the objects on standard output (a YAML stream that
validates), the notes on standard error, the chart's routing flags, and one-line errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import kube
from webhook.cli import exporting
from webhook.cli.main import main
from webhook.native import export

ROOT = Path(__file__).resolve().parents[3]
COOKBOOK = ROOT / "docs/rules/cookbook.yaml"


def exported(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[list[Any], list[str]]:
    assert main(["export", "admission-policies", *argv]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("# initgate ")
    return list(yaml.safe_load_all(out)), err.splitlines()


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["export", "admission-policies", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1, err
    return err.strip()


def test_the_cookbook(capsys: pytest.CaptureFixture[str]) -> None:
    objects, notes = exported(["--config", str(COOKBOOK)], capsys)
    kinds = [o["kind"] for o in objects]
    policies = kinds.count("ValidatingAdmissionPolicy")
    mutating = kinds.count("MutatingAdmissionPolicy")
    # init-privileged, init-unbounded, init-lint and the ten rules; each mutating policy as a
    # MAP where it enforces, as a companion VAP where it warns or audits (both, under caps)
    assert policies - 3 == 3 + 10
    assert mutating == 3
    assert kinds.count("ValidatingAdmissionPolicyBinding") >= policies
    for obj in objects:
        kube.validate(obj)
    assert not [n for n in notes if "not generated" in n]  # every built-in policy is


def test_the_chart_s_routing(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--default-mode", "enforce", "--namespace", "gate", "--exclude-namespace", "legacy"]
    objects, _ = exported([*argv, "--exclude-namespace", "ci"], capsys)
    enforce = next(o for o in objects if o["metadata"]["name"] == "initgate-init-unbounded-enforce")
    mode, ignore, names = enforce["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"]
    assert mode == {
        "key": "initgate.io/mode",
        "operator": "NotIn",
        "values": ["warn", "audit", "off"],  # the chart's order (initgate.namespaceSelector)
    }
    assert ignore == {"key": "initgate.io/ignore", "operator": "DoesNotExist"}
    assert names["values"] == ["gate", "kube-system", "kube-node-lease", "legacy", "ci"]


def written(folder: Path, text: str) -> Path:
    config = folder / "config.yaml"
    config.write_text(text)
    return config


def test_more_namespace_selector_expressions(capsys: pytest.CaptureFixture[str]) -> None:
    native = "{key: initgate.io/native, operator: In, values: ['true']}"
    tier = '{"key": "tier", "operator": "DoesNotExist"}'
    argv = ["--namespace-selector-expression", native, "--namespace-selector-expression", tier]
    objects, _ = exported(argv, capsys)
    for binding in objects[1:]:
        if binding["kind"] == "ValidatingAdmissionPolicyBinding":
            assert binding["spec"]["matchResources"]["namespaceSelector"]["matchExpressions"][
                -2:
            ] == [
                {"key": "initgate.io/native", "operator": "In", "values": ["true"]},
                {"key": "tier", "operator": "DoesNotExist"},
            ]


def test_older_kubernetes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = written(
        tmp_path,
        "rules:\n"
        "  - id: emptydir-only\n"
        "    description: Only emptyDirs.\n"
        "    expression: volumes.all(n, has(volumes[n].emptyDir))\n"
        "  - id: named\n"
        "    description: Named.\n"
        "    expression: container.name != ''\n",
    )
    objects, notes = exported(["--config", str(config), "--kubernetes-version", "1.32"], capsys)
    names = {o["metadata"]["name"] for o in objects}
    assert "initgate-named" in names
    assert "initgate-emptydir-only" not in names
    assert any(
        n.startswith("note: rules: emptydir-only: not generated: it reads `volumes`") for n in notes
    )
    assert (
        "note: readonly-mounts: not generated: MutatingAdmissionPolicy is GA from Kubernetes 1.36; keep the mutating webhook"
        in notes
    )
    assert "transformList" not in str(objects)
    for obj in objects:
        kube.validate(obj, "1.30")


def test_exemptions_that_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = written(
        tmp_path,
        "exemptions:\n"
        "  namespaces: [{namespace: legacy, expires: 2020-01-01}, {namespace: old, expires: 2999-01-01}]\n"
        "  images: [{image: 'ghcr.io/x/[ab]:*', allow: [init-lint]}]\n",
    )
    objects, notes = exported(["--config", str(config)], capsys)
    assert notes[-3:] == [
        "note: exemptions.namespaces[0] (legacy): ended 2020-01-01, left out; remove it",
        "note: exemptions.namespaces[1] (old): ends 2999-01-01; the generated policies keep it "
        "until they are generated again (CEL has no clock): export again by then",
        "note: exemptions.images[0] (ghcr.io/x/[ab]:*): `[` is matched literally, not as a class "
        "of characters",
    ]
    conditions = objects[0]["spec"]["matchConditions"]
    assert {
        "name": "exempt-namespaces",
        "expression": '!request.namespace.matches("^(?:old)$")',
    } in conditions


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--kubernetes-version", "1.29"],
            "initgate export: --kubernetes-version 1.29: expected 1.30 to 1.36 "
            "(ValidatingAdmissionPolicy is GA from 1.30; newer versions are not known yet)",
        ),
        (
            ["--kubernetes-version", "latest"],
            "initgate export: --kubernetes-version latest: expected",
        ),
        (
            ["--config", "/nonexistent.yaml"],
            "initgate export: /nonexistent.yaml: cannot read: No such",
        ),
    ],
)
def test_errors_are_one_line(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert fails(argv, capsys).startswith(line)


def test_a_broken_configuration_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = written(tmp_path, "mode: sometimes\nrules:\n  - id: X\n")
    line = fails(["--config", str(config)], capsys)
    assert line.startswith(f"initgate export: {config}:1: mode: ")
    assert f"; {config}:3: rules[0]" in line


def test_the_versions_it_names_are_the_generator_s() -> None:
    assert (exporting.OLDEST, exporting.NEWEST) == (export.OLDEST, export.NEWEST)
