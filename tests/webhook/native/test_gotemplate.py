"""Objects written as YAML with Go template actions: the exact lines, and (through the real
helm) the objects they render to, static text unchanged whatever it holds."""

from __future__ import annotations

from typing import Any

import pytest

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


def test_a_list_whose_every_item_is_guarded_is_left_out_with_them() -> None:
    """As the builders leave out an empty list of matchConditions: no `key:` with nothing."""
    marks = Marks()
    obj = {
        "conditions": [
            marks.block("toYaml .", guard="$a"),
            {"name": "b", "expression": marks.scalar("x", guard="$b")},
        ],
        "kept": ["plain", marks.block("y", guard="$c")],
    }
    assert document(obj, marks, condition="true") == [
        "{{- if true }}",
        "---",
        "{{- if or ($a) ($b) }}",
        "conditions:",
        "  {{- with $a }}",
        "  {{- toYaml . | nindent 2 }}",
        "  {{- end }}",
        "  {{- with $b }}",
        "  - name: b",
        "    expression: {{ x }}",
        "  {{- end }}",
        "{{- end }}",
        "kept:",
        "  - plain",
        "  {{- with $c }}",
        "  {{- y | nindent 2 }}",
        "  {{- end }}",
        "{{- end }}",
    ]
