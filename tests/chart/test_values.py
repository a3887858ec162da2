"""The chart's interface: lint, the values schema (typos fail), comments, README, generated files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deploy.generate import config_schema, documented_keys, validating
from tests.chart.render import CHART, CI_VALUES, ROOT, run_helm
from webhook.core.config import Config

pytestmark = pytest.mark.chart

GENERATOR = ROOT / "deploy" / "generate.py"


@pytest.mark.parametrize("values", [None, *CI_VALUES], ids=lambda v: v.name if v else "defaults")
def test_lint_strict(values: Path | None) -> None:
    extra = ["--values", str(values)] if values else []
    result = run_helm("lint", "--strict", str(CHART), *extra)
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("replicaCont=3", "additional properties 'replicaCont' not allowed"),
        ("webhooks.timeoutSecond=3", "additional properties 'timeoutSecond' not allowed"),
        ("certs.mode=certmanager", "value must be one of"),
        ("webhooks.timeoutSeconds=31", "maximum"),
        ("webhooks.defaultMode=strict", "value must be one of"),
        # Inside the policy configuration: the service's own model, through the schema.
        ("config.policies.init-unbonded.mode=warn", "additional properties 'init-unbonded'"),
        ("config.policies.init-lint.mode=loud", "value must be one of"),
        ("config.onPolicyError=fail", "value must be one of"),
        ("config.policies.init-unbounded.maximum.memory=lots", "does not match pattern"),
        ("config.policies.init-lint.checks={image-tags}", "value must be one of"),
    ],
)
def test_schema_rejects_typos(setting: str, message: str) -> None:
    result = run_helm("template", "t", str(CHART), "--set", setting, check=False)
    assert result.returncode != 0
    assert "don't meet the specifications of the schema" in result.stderr
    assert message in result.stderr, result.stderr


def test_kube_version_floor() -> None:
    result = run_helm("template", "t", str(CHART), "--kube-version", "1.29.9", check=False)
    assert result.returncode != 0
    assert "requires kubeVersion: >=1.30.0-0" in result.stderr
    run_helm("template", "t", str(CHART), "--kube-version", "1.30.0")


def test_config_schema_is_the_models() -> None:
    """values.schema.json carries the pydantic model's schema of the configuration file, so the
    chart refuses what the service would refuse. Refs are rebased, nothing else changes."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    assert validating(schema["properties"]["config"]) == validating(config_schema())
    model = validating(Config.model_json_schema(by_alias=True))
    carried = json.dumps(schema["properties"]["config"]).replace(
        "#/properties/config/$defs/", "#/$defs/"
    )
    assert validating(json.loads(carried)) == model
    assert schema["properties"]["config"]["additionalProperties"] is False


def test_values_config_is_the_services_default() -> None:
    """The config block of values.yaml changes nothing: a team starts from the service's default."""
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert Config.model_validate(values["config"]) == Config()


def test_every_value_is_commented() -> None:
    text = (CHART / "values.yaml").read_text()
    rows = documented_keys(text)
    assert len(rows) > 80
    missing = [key for key, comment, _ in rows if not comment]
    assert missing == []


def test_every_value_is_in_the_readme_table() -> None:
    readme = (CHART / "README.md").read_text()
    keys = [key for key, _, _ in documented_keys((CHART / "values.yaml").read_text())]
    absent = [key for key in keys if f"| `{key}` |" not in readme]
    assert absent == []


def test_every_value_has_a_schema() -> None:
    """Chart-owned objects are closed: each key of values.yaml is declared in the schema."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(value: object, node: dict[str, object], path: str) -> list[str]:
        if not isinstance(value, dict) or "$ref" in node or "properties" not in node:
            return []
        properties = node["properties"]
        assert isinstance(properties, dict)
        undeclared = [f"{path}{key}" for key in value if key not in properties]
        for key, child in value.items():
            if key in properties:
                undeclared += walk(child, properties[key], f"{path}{key}.")
        return undeclared

    assert walk(values, schema, "") == []


def run_generator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATOR), "--check", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_generated_files_are_up_to_date() -> None:
    """values.schema.json (config), the README table and deploy/initgate.yaml."""
    result = run_generator()
    assert result.returncode == 0, result.stderr


def test_generator_check_catches_drift(tmp_path: Path) -> None:
    chart = tmp_path / "initgate"
    shutil.copytree(CHART, chart)
    manifest = tmp_path / "initgate.yaml"
    shutil.copy(ROOT / "deploy" / "initgate.yaml", manifest)
    schema_path = chart / "values.schema.json"
    schema = json.loads(schema_path.read_text())
    config = schema["properties"]["config"]
    config["description"] = "reworded: not a drift that matters"
    schema_path.write_text(json.dumps(schema))
    assert run_generator("--chart", str(chart), "--manifest", str(manifest)).returncode == 0

    config["$defs"]["Mode"]["enum"].remove("off")
    schema_path.write_text(json.dumps(schema))
    values = chart / "values.yaml"
    values.write_text(values.read_text().replace("replicaCount: 2", "replicaCount: 3"))
    result = run_generator("--chart", str(chart), "--manifest", str(manifest))
    assert result.returncode == 1
    stale = result.stderr.split("out of date:")[1]
    for name in ("values.schema.json", "README.md", str(manifest)):
        assert name in stale
