"""Objects written as YAML with Go template actions, through the real helm: static text
renders unchanged whatever it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.render import run_helm
from webhook.native.gotemplate import Marks, document

TRICKY: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "tricky"},
    "data": {
        "braces": "{{'a': {'b': 1}}} }} {{- x -}}",
        "quotes": "'single' \"double\" \\backslash\\ \\n",
        "words": "on",
        "unicode": "jürgen ✓",
        "colon": "a: b # not a comment",
        "empty": "",
    },
}


@pytest.mark.chart
def test_helm_renders_the_static_text_unchanged(tmp_path: Path) -> None:
    marks = Marks()
    obj = {**TRICKY, "metadata": {"name": "tricky", "labels": {marks.block("$labels"): ""}}}
    lines = document(obj, marks, condition="true")
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: t\nversion: 0.1.0\n")
    (tmp_path / "templates").mkdir()
    text = ['{{- $labels := dict "a" "b" | toYaml }}', *lines]
    (tmp_path / "templates" / "cm.yaml").write_text("\n".join(text) + "\n")
    rendered = run_helm("template", "t", str(tmp_path)).stdout
    (got,) = [o for o in yaml.safe_load_all(rendered) if o]
    assert got == {**TRICKY, "metadata": {"name": "tricky", "labels": {"a": "b"}}}
