"""Objects written as YAML with Go template actions: the exact lines, and (through the real
helm) the objects they render to, static text unchanged whatever it holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.render import run_helm
from webhook.native.gotemplate import Marks, document, scalar


def test_scalars() -> None:
    assert [scalar(v) for v in ("v1", "a/b.c_d-e", "", "on", "No", "1a", "a b")] == [
        "v1",
        "a/b.c_d-e",
        '""',
        '"on"',
        '"No"',
        '"1a"',
        '"a b"',
    ]
    others: tuple[Any, ...] = (True, 3, None, {}, [])
    assert [scalar(v) for v in others] == ["true", "3", "null", "{}", "[]"]
    assert scalar("{{x}} }}") == '"{{ "{{" }}x}} }}"'


def test_marks_in_mappings_and_lists() -> None:
    marks = Marks()
    obj = {
        "metadata": {"name": marks.scalar("$name | toJson"), "labels": {marks.block("$l"): ""}},
        "items": [
            "plain",
            marks.block("toYaml .", guard="$more"),
            {"name": "a", "expression": marks.scalar("toJson .", guard="$regex")},
            {"name": "b", "value": marks.scalar("$b")},
        ],
        "selector": marks.block("$selector"),
        "optional": marks.block("toYaml .", guard="$maybe"),
    }
    assert marks.scalar("$name | toJson") == marks.scalar("$name | toJson")
    assert document(obj, marks, condition="$on") == [
        "{{- if $on }}",
        "---",
        "metadata:",
        "  name: {{ $name | toJson }}",
        "  labels:",
        "    {{- $l | nindent 4 }}",
        "items:",
        "  - plain",
        "  {{- with $more }}",
        "  {{- toYaml . | nindent 2 }}",
        "  {{- end }}",
        "  {{- with $regex }}",
        "  - name: a",
        "    expression: {{ toJson . }}",
        "  {{- end }}",
        "  - name: b",
        "    value: {{ $b }}",
        "selector:",
        "  {{- $selector | nindent 2 }}",
        "{{- with $maybe }}",
        "optional:",
        "  {{- toYaml . | nindent 2 }}",
        "{{- end }}",
        "{{- end }}",
    ]


def test_a_list_item_takes_one_guard() -> None:
    marks = Marks()
    item = {"a": marks.scalar("x", guard="$one"), "b": marks.scalar("y", guard="$two")}
    with pytest.raises(ValueError, match="two guards"):
        document({"items": [item]}, marks, condition="true")


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
