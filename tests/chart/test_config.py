"""The policy configuration ConfigMap: what the service reads is what the values say, and valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from policies.base import Mode
from tests.chart.render import CHART, CI_VALUES, RELEASE, merged, render, render_values
from webhook.core.config import Config, parse_config

pytestmark = pytest.mark.chart


def config_text(values: Path | None) -> str:
    rendered = render_values(values) if values else render()
    text: str = rendered.one("ConfigMap", f"{RELEASE}-config")["data"]["config.yaml"]
    return text


@pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
def test_rendered_config_is_the_values_config(values: Path) -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    override = yaml.safe_load(values.read_text()).get("config", {})
    parsed = parse_config(config_text(values), source=values.name)
    assert parsed == Config.model_validate(merged(defaults, override))


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
