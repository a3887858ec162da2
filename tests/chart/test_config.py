"""The policy configuration ConfigMap: what the service reads is what the values say, and valid."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from policies.base import Mode
from tests.chart.render import CHART, CI_VALUES, RELEASE, merged, render, render_values
from webhook.core.config import parse_config

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


def test_a_partial_map_reaches_the_server_merged(tmp_path: Path) -> None:
    """Helm passes a partial map and a null entry through to the ConfigMap (a null deletes only a
    key of the chart's own values, and `config.policies` has none), and the server merges what it
    reads with its defaults: the cpu limit is added, the memory limit kept, the cpu request gone."""
    values = tmp_path / "values.yaml"
    values.write_text(
        "config:\n  policies:\n    default-resources:\n"
        "      limits: {cpu: '1'}\n      requests: {cpu: null}\n"
    )
    settings = parse_config(config_text(values), source="configmap").policy("default-resources")
    assert settings.limits == {"memory": "256Mi", "cpu": "1"}  # type: ignore[attr-defined]
    assert settings.requests == {"memory": "128Mi"}  # type: ignore[attr-defined]
