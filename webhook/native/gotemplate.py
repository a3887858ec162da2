"""Objects as YAML with Go template actions, for the chart's generated templates.

The objects are the plain dicts the builders make. Where the chart computes a value when it is
rendered, the dict holds a token standing for a `Mark` (a string, so that the builders' types
hold): the emitter writes the mark's template action there instead of a value. Everything else
is written as static YAML: mappings and lists in block style, every scalar as a JSON string, which
YAML reads unchanged, with `{{` kept away from the template engine.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_./-]*$")
_YAML_WORDS = frozenset(("y", "n", "yes", "no", "on", "off", "true", "false", "null"))
"""Words YAML 1.1 (Helm's parser) would read as something other than a string."""


@dataclass(frozen=True, slots=True)
class Mark:
    """What the chart computes in place of a value: `template`, a Go template pipeline."""

    template: str
    block: bool = False
    """The pipeline gives YAML lines (a mapping, or list items), indented where it stands;
    otherwise one scalar, written after its key."""
    guard: str = ""
    """A pipeline: the mark, and the key or list item holding it, are written only when it is
    not empty, with `.` set to its value (`with`)."""


class Marks:
    """The marks of one generated file, each stood for by a token."""

    def __init__(self) -> None:
        self._by_token: dict[str, Mark] = {}
        self._tokens: dict[Mark, str] = {}

    def token(self, mark: Mark) -> str:
        """The token of `mark`: the same mark, the same token."""
        if mark not in self._tokens:
            token = f"\x00mark:{len(self._tokens)}\x00"
            self._tokens[mark] = token
            self._by_token[token] = mark
        return self._tokens[mark]

    def scalar(self, template: str, guard: str = "") -> str:
        return self.token(Mark(template, guard=guard))

    def block(self, template: str, guard: str = "") -> str:
        return self.token(Mark(template, block=True, guard=guard))

    def get(self, value: Any) -> Mark | None:
        return self._by_token.get(value) if isinstance(value, str) else None


def document(obj: dict[str, Any], marks: Marks, *, condition: str) -> list[str]:
    """The lines of one YAML document, rendered only when `condition` (a pipeline) holds."""
    return [f"{{{{- if {condition} }}}}", "---", *_lines(obj, 0, marks), "{{- end }}"]


def scalar(value: Any) -> str:
    """A static scalar: a word as it is, anything else as JSON (valid YAML), with `{{` written by
    an action of its own."""
    if isinstance(value, str) and _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value, ensure_ascii=False).replace("{{", '{{ "{{" }}')


def _guarded(guard: str, lines: list[str], pad: str) -> list[str]:
    return [f"{pad}{{{{- with {guard} }}}}", *lines, f"{pad}{{{{- end }}}}"] if guard else lines


def _lines(node: Any, indent: int, marks: Marks, *, lifted: bool = False) -> list[str]:
    """`node` (a mapping or a list) in block style at `indent`; `lifted`: the guards of this
    mapping's values are the enclosing list item's."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(node, list):
        for item in node:
            lines.extend(_item(item, indent, marks))
        return lines
    for key, value in node.items():
        splice = marks.get(key)
        mark = marks.get(value)
        if splice is not None:
            action = f"{pad}{{{{- {splice.template} | nindent {indent} }}}}"
            lines.extend(_guarded(splice.guard, [action], pad))
        elif mark is not None and mark.block:
            action = f"{pad}  {{{{- {mark.template} | nindent {indent + 2} }}}}"
            lines.extend(_guarded(mark.guard, [f"{pad}{scalar(key)}:", action], pad))
        elif mark is not None:
            line = f"{pad}{scalar(key)}: {{{{ {mark.template} }}}}"
            lines.extend(_guarded("" if lifted else mark.guard, [line], pad))
        elif isinstance(value, dict | list) and value:
            body = [f"{pad}{scalar(key)}:", *_lines(value, indent + 2, marks)]
            guards = _guards(value, marks) if isinstance(value, list) else [""]
            if all(guards):  # every item may be left out: so is the key, as the builders do
                either = " ".join(f"({guard})" for guard in guards)
                body = [f"{pad}{{{{- if or {either} }}}}", *body, f"{pad}{{{{- end }}}}"]
            lines.extend(body)
        else:
            lines.append(f"{pad}{scalar(key)}: {scalar(value)}")
    return lines


def _guards(items: list[Any], marks: Marks) -> list[str]:
    """The guard of each list item ('' for an item always written)."""
    found = []
    for item in items:
        mark = marks.get(item)
        if mark is not None:
            found.append(mark.guard)
        elif isinstance(item, dict):
            guards = {m.guard for v in item.values() if (m := marks.get(v)) is not None and m.guard}
            found.append(guards.pop() if guards else "")
        else:
            found.append("")
    return found


def _item(item: Any, indent: int, marks: Marks) -> list[str]:
    """One list item: a mark, a mapping (guarded by the guard of a value, if one has one) or a
    scalar."""
    pad = " " * indent
    mark = marks.get(item)
    if mark is not None:
        if mark.block:
            action = f"{pad}{{{{- {mark.template} | nindent {indent} }}}}"
            return _guarded(mark.guard, [action], pad)
        return _guarded(mark.guard, [f"{pad}- {{{{ {mark.template} }}}}"], pad)
    if isinstance(item, dict) and item:
        guards = {m.guard for v in item.values() if (m := marks.get(v)) is not None and m.guard}
        if len(guards) > 1:
            raise ValueError(f"a list item with two guards: {sorted(guards)}")
        lines = _lines(item, indent + 2, marks, lifted=True)
        if not lines[0].startswith(pad + "  ") or lines[0][indent + 2] in " {":
            raise ValueError(f"a list item that does not start with a key: {lines[0]!r}")
        lines[0] = f"{pad}- {lines[0][indent + 2 :]}"
        return _guarded(guards.pop() if guards else "", lines, pad)
    if isinstance(item, list) and item:
        raise TypeError("a list in a list: not written by the builders")
    return [f"{pad}- {scalar(item)}"]
