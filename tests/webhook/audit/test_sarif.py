"""`initgate audit -o sarif` read against the published SARIF 2.1.0 schema, for audits with
findings, with broken documents and with nothing found; and each result's region opens the line
of the container or volume it is about, as a viewer (GitHub code scanning) shows it."""

from __future__ import annotations

import copy
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.schemas import sarif_errors
from webhook.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
MANIFESTS = "tests/data/manifests"
LISTS = ("containers", "initContainers", "ephemeralContainers", "volumes")


@pytest.fixture(autouse=True)
def _in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the log's paths are as given: relative to the project


def sarif(capsys: pytest.CaptureFixture[str], *paths: str, stdin: str = "") -> dict[str, Any]:
    sys.stdin = io.StringIO(stdin)
    try:
        main(["audit", *(a for p in paths for a in ("-f", p)), "-o", "sarif"])
    finally:
        sys.stdin = sys.__stdin__
    log: dict[str, Any] = json.loads(capsys.readouterr().out)
    return log


def named_lines(path: Path) -> dict[str, set[int]]:
    """For each name of a container or volume in the file: the lines its entries start on."""
    found: dict[str, set[int]] = {}

    def walk(node: yaml.Node, key: str = "") -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, k.value if isinstance(k, yaml.ScalarNode) else "")
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                if key in LISTS and isinstance(item, yaml.MappingNode):
                    names = [v.value for k, v in item.value if k.value == "name"]
                    for name in names:
                        found.setdefault(name, set()).add(item.start_mark.line + 1)
                walk(item)

    for document in yaml.compose_all(path.read_text(), Loader=yaml.SafeLoader):
        if document is not None:
            walk(document)
    return found


CASES = {
    "helm chart, rendered": (f"{MANIFESTS}/helm",),
    "kustomize build": (f"{MANIFESTS}/kustomize",),
    "a List": (f"{MANIFESTS}/list.yaml",),
    "a tree of YAML and JSON": (f"{MANIFESTS}/tree",),
}


@pytest.mark.parametrize("paths", CASES.values(), ids=CASES.keys())
def test_findings_are_valid_sarif_at_the_right_lines(
    capsys: pytest.CaptureFixture[str], paths: tuple[str, ...]
) -> None:
    log = sarif(capsys, *paths)
    assert sarif_errors(log) == []
    (run,) = log["runs"]
    assert run["results"], "these manifests have findings"
    assert run["invocations"][0]["executionSuccessful"] is True
    for result in run["results"]:
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        file = ROOT / physical["artifactLocation"]["uri"]
        name = location["logicalLocations"][0]["name"]
        assert physical["region"]["startLine"] in named_lines(file)[name], (
            f"{result['ruleId']}: {name} is not at {file.name}:{physical['region']['startLine']}"
        )


def test_broken_documents_are_notifications_in_valid_sarif(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = sarif(capsys, f"{MANIFESTS}/broken")
    assert sarif_errors(log) == []
    (run,) = log["runs"]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    lines = [
        n["locations"][0]["physicalLocation"]["region"]["startLine"]
        for n in invocation["toolExecutionNotifications"]
    ]
    assert lines == [26, 29, 33]  # where each broken document is (see test_commands.py)
    assert [r["ruleId"] for r in run["results"]] == ["init-privileged"]  # the good document


def test_nothing_found_is_valid_sarif(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    clean = tmp_path / "clean.yaml"
    clean.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: demo}\n"
        "data: {level: info}\n"
    )
    log = sarif(capsys, str(clean))
    assert sarif_errors(log) == []
    (run,) = log["runs"]
    assert run["results"] == []
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    assert len(run["tool"]["driver"]["rules"]) == 6


def test_from_standard_input_there_is_no_file_to_point_at(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = sarif(capsys, "-", stdin=(ROOT / MANIFESTS / "list.yaml").read_text())
    assert sarif_errors(log) == []
    for result in log["runs"][0]["results"]:
        assert "physicalLocation" not in result["locations"][0]


BREAKAGES = {
    "an unknown level": lambda log: log["runs"][0]["results"][0].update(level="fatal"),
    "a line 0": lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
        "region"
    ].update(startLine=0),
    "a result without a message": lambda log: log["runs"][0]["results"][0].pop("message"),
    "a field SARIF does not have": lambda log: log["runs"][0].update(findings=[]),
    "another version": lambda log: log.update(version="2.2.0"),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_the_schema_check_fails_on_invalid_sarif(
    capsys: pytest.CaptureFixture[str], breakage: Any
) -> None:
    log = sarif(capsys, f"{MANIFESTS}/helm")
    broken = copy.deepcopy(log)
    breakage(broken)
    assert sarif_errors(log) == []
    assert sarif_errors(broken)


COOKBOOK = "docs/rules/cookbook.yaml"


def test_the_configurations_rules_are_sarif_rules_with_their_description(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each rule of `rules:` after the built-in policies, its description as its text and its
    expression as its help; results of rules point at them; exemptions are in the run's bag."""
    sys.stdin = io.StringIO()
    main(["audit", "-f", f"{MANIFESTS}/tree/base/pod.yml", "--config", COOKBOOK, "-o", "sarif"])
    log: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert sarif_errors(log) == []
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    cookbook = yaml.safe_load((ROOT / COOKBOOK).read_text())["rules"]
    assert [r["id"] for r in rules[6:]] == [r["id"] for r in cookbook]
    registry = rules[6]
    assert registry == {
        "id": "init-registry",
        "name": "InitRegistry",
        "shortDescription": {"text": cookbook[0]["description"]},
        "fullDescription": {"text": cookbook[0]["description"]},
        "help": {
            "text": f"{cookbook[0]['description']}\n\nCEL: {cookbook[0]['expression']}",
            "markdown": f"{cookbook[0]['description']}\n\n```cel\n{cookbook[0]['expression']}\n```",
        },
        "defaultConfiguration": {"level": "error"},
        "properties": {
            "kind": "validate",
            "tags": ["kubernetes", "init-containers", "rule"],
            "roles": ["init", "sidecar"],
        },
    }
    assert rules[14]["properties"]["roles"] == ["pod"]  # pod-init-count: scope pod
    found = {(r["ruleId"], r["level"]) for r in run["results"]}
    assert ("init-registry", "error") in found
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert run["properties"] == {"exemptions": []}


def test_exemptions_that_applied_are_in_the_runs_property_bag(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pod = tmp_path / "mesh.yaml"
    pod.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: mesh, namespace: shop}\nspec:\n"
        "  initContainers:\n  - name: istio-init\n    image: docker.io/istio/proxyv2:1.24.0\n"
        "    resources: {limits: {cpu: 100m, memory: 64Mi}}\n"
        "    securityContext: {capabilities: {add: [NET_ADMIN, NET_RAW], drop: [ALL]}}\n"
        "  containers:\n  - {name: app, image: nginx:1.27}\n"
    )
    log = sarif(capsys, str(pod))
    assert sarif_errors(log) == []
    assert log["runs"][0]["properties"] == {
        "exemptions": [
            {
                "object": "shop/Pod/mesh",
                "policy": "init-privileged",
                "exemption": "policies.init-privileged.presets",
                "appliesTo": "object",
            }
        ]
    }


def test_a_rule_that_could_not_evaluate_is_a_notification(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "rules:\n  - id: run-as\n    description: Init containers say their user.\n"
        "    roles: [init]\n    expression: container.securityContext.runAsUser >= 0\n"
    )
    sys.stdin = io.StringIO()
    main(["audit", "-f", f"{MANIFESTS}/tree/base/pod.yml", "--config", str(config), "-o", "sarif"])
    log: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert sarif_errors(log) == []
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation == {
        "executionSuccessful": True,
        "toolExecutionNotifications": [
            {
                "level": "warning",
                "message": {
                    "text": 'Pod default/model-server: run-as: init "download-model" '
                    '(spec.initContainers[0]): Key not found in map : "securityContext"'
                },
                "locations": [
                    {
                        "logicalLocations": [{"fullyQualifiedName": "default/Pod/model-server"}],
                        "physicalLocation": {
                            "artifactLocation": {"uri": f"{MANIFESTS}/tree/base/pod.yml"},
                            "region": {"startLine": 1},
                        },
                    }
                ],
                "associatedRule": {"id": "run-as"},
            }
        ],
    }
