"""The policy configuration ConfigMap: what the service reads is what the values say, and valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.base import Mode
from tests.chart.render import CHART, CI_VALUES, RELEASE, render, render_values
from webhook.core.config import parse_config

pytestmark = pytest.mark.chart


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Values as helm merges them: maps key by key, everything else replaced."""
    result = dict(base)
    for key, value in override.items():
        current = result.get(key)
        both_maps = isinstance(current, dict) and isinstance(value, dict)
        result[key] = merged(current, value) if both_maps else value  # type: ignore[arg-type]
    return result


def config_text(values: Path | None) -> str:
    rendered = render_values(values) if values else render()
    text: str = rendered.one("ConfigMap", f"{RELEASE}-config")["data"]["config.yaml"]
    return text


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_rendered_config_is_the_values_config(values: Path) -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    override = yaml.safe_load(values.read_text()).get("config", {})
    parsed = parse_config(config_text(values), source=values.name)
    # Read as the service reads a file (an unquoted date is text, as helm renders it).
    assert parsed == parse_config(yaml.safe_dump(merged(defaults, override)), source="values")


def test_full_values_reach_the_policies() -> None:
    config = parse_config(config_text(CHART / "ci" / "full-values.yaml"), source="full")
    assert config.on_policy_error == "deny"
    assert config.policy("init-lint").mode == Mode.AUDIT
    assert "istio-system" in config.exemptions.namespaces


def test_initgate_config_validate_accepts_the_configmap(tmp_path: Path) -> None:
    """The command an operator runs on a changed ConfigMap."""
    path = tmp_path / "config.yaml"
    path.write_text(config_text(CHART / "ci" / "full-values.yaml"))
    result = subprocess.run(
        [sys.executable, "-m", "webhook.cli", "config", "validate", str(path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: valid"
