"""A probe chart holding the chart's native-policy helpers (templates/_native.tpl) and
files/native.json, in which the real helm renders template expressions: what the helpers
compute, for comparison with their Python counterparts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Protocol

import yaml

from tests.chart.render import CHART, merged, run_helm
from webhook.native.chart import DATA


class Probe(Protocol):
    def __call__(self, config: dict[str, Any], expressions: list[str], *args: str) -> list[Any]: ...


def probe_chart(chart: Path) -> Probe:
    """Render template expressions (`$config`, `$native` in scope) with the chart's values and
    `config` over its `config`; `args`: more for `helm template` (`--kube-version`)."""
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "templates").mkdir()
    shutil.copy(CHART / "templates" / "_native.tpl", chart / "templates")
    (chart / "files").mkdir()
    shutil.copy(CHART / DATA, chart / DATA)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    def call(config: dict[str, Any], expressions: list[str], *args: str) -> list[Any]:
        lines = [
            '{{- $config := include "initgate.nativeConfig" . | fromJson }}',
            '{{- $native := .Files.Get "files/native.json" | fromJson }}',
            "results:",
            *(f"  - {{{{ ({expression}) | toJson }}}}" for expression in expressions),
        ]
        (chart / "templates" / "probe.yaml").write_text("\n".join(lines) + "\n")
        values = chart / "values.json"
        values.write_text(
            json.dumps(
                {
                    "nativePolicies": {"mutating": False},
                    "config": merged(defaults["config"], config),
                },
                ensure_ascii=False,  # helm's YAML reads no surrogate pairs
            )
        )
        result = run_helm("template", "p", str(chart), "-f", str(values), *args)
        results: list[Any] = yaml.safe_load(result.stdout.split("---", 1)[1])["results"]
        return results

    return call
