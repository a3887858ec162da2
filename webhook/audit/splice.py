"""Patches written into the user's own text: what `initgate mutate` prints, diffs and writes.

Re-serialising a document loses its comments, key order, quoting and layout (and a round trip
through a YAML library re-indents what it does not change: kustomize's sequences are not helm's),
so a diff of the result could not be applied to the file. Instead, each change is inserted at its
place in the original text, found from the YAML node marks of the document: a new key at the end
of its block mapping, at that mapping's indentation; in a flow mapping (`emptyDir: {}`, JSON),
after its last entry, in flow (or JSON) syntax; a replaced value in place. Every other byte stays
as it was, and the result is parsed again and must be the mutated object, or the change is
refused (`SpliceError`), never written half right.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from policies.base import PatchOp
from webhook.core.patch import PatchError, apply

_MISSING = object()


class SpliceError(ValueError):
    """A change that cannot be written into the text as it is."""


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace `text[start:end]` with `new`."""

    start: int
    end: int
    new: str


def apply_edits(text: str, edits: Sequence[Edit], offset: int = 0) -> str:
    """`text` with the edits made (their positions shifted by `offset`)."""
    for edit in sorted(edits, key=lambda e: e.start, reverse=True):
        text = text[: edit.start + offset] + edit.new + text[edit.end + offset :]
    return text


def _parse(text: str, *, is_json: bool) -> Any:
    try:
        return json.loads(text) if is_json else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise SpliceError(f"the text does not parse: {error}") from error


def splice(text: str, *, ops: Sequence[PatchOp], is_json: bool) -> list[Edit]:
    """The edits that write the operations of a patch into `text` (one document); `SpliceError`
    when they cannot be written."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    before = _parse(text, is_json=is_json)
    if root is None or before is None:
        raise SpliceError("the document is empty")
    try:
        after = apply(before, list(ops))
    except PatchError as error:
        raise SpliceError(f"the patch does not apply to the text: {error}") from error
    targets = _targets(before, ops)
    edits: list[Edit] = []
    for parent, keys in targets.items():
        node = _node(root, parent)
        value = _at(after, parent)
        if keys is None:  # the value at `parent` itself is replaced
            edits.append(_replace(text, node, value, is_json=is_json))
        else:
            edits.append(_insert(text, node, {k: value[k] for k in keys}, is_json=is_json))
    if _parse(apply_edits(text, edits), is_json=is_json) != after:
        raise SpliceError("the changed text is not the mutated object")
    return edits


def parts(pointer: str) -> tuple[str, ...]:
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:])


def _at(data: Any, path: Sequence[str]) -> Any:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part, _MISSING)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _MISSING
        if data is _MISSING:
            return data
    return data


def _targets(before: Any, ops: Sequence[PatchOp]) -> dict[tuple[str, ...], list[str] | None]:
    """Per existing mapping, the new keys it gets (in patch order); or None for a value that is
    replaced whole. A key added under another new key travels with it."""
    found: dict[tuple[str, ...], list[str] | None] = {}
    for op in ops:
        if op["op"] != "add":
            raise SpliceError(f"only add operations are written into text, not {op['op']}")
        path = parts(op["path"])
        depth = next((i for i in range(len(path)) if _at(before, path[: i + 1]) is _MISSING), None)
        if depth is None:  # the path exists: the value there is replaced
            target, key = path, None
        else:
            target, key = path[:depth], path[depth]
            if not isinstance(_at(before, target), dict):
                raise SpliceError(f"{op['path']}: only keys of mappings are added into text")
        if any(target[:i] in found and found[target[:i]] is None for i in range(len(target) + 1)):
            continue  # inside a value that is replaced whole
        if key is None:
            for inside in [t for t in found if t[: len(target)] == target]:
                del found[inside]
            found[target] = None
            continue
        keys = found.setdefault(target, [])
        if keys is not None and key not in keys:
            keys.append(key)
    return found


def _node(root: yaml.Node, path: Sequence[str]) -> yaml.Node:
    node = root
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next(v for k, v in node.value if getattr(k, "value", None) == part)
        elif isinstance(node, yaml.SequenceNode):
            node = node.value[int(part)]
        else:
            raise SpliceError(f"no node at /{'/'.join(path)}")
    return node


def _flow(value: Any, *, is_json: bool) -> str:
    if is_json:
        return json.dumps(value, ensure_ascii=False)
    text: str = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, width=1 << 16, allow_unicode=True
    )
    return text.strip().removesuffix("...").strip()


def _block(value: dict[str, Any], indent: int) -> str:
    text: str = yaml.safe_dump(value, default_flow_style=False, sort_keys=False, width=1 << 16)
    return "".join(" " * indent + line for line in text.splitlines(keepends=True))


def _last_end(node: yaml.Node) -> int:
    """Where the text of a node ends: for a block collection, the end of its last scalar or flow
    item (its own end mark lies past the comments and blank lines that follow it)."""
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        last = node.value[-1]
        return _last_end(last[1] if isinstance(node, yaml.MappingNode) else last)
    end: int = node.end_mark.index
    return end


def _line_after(text: str, index: int) -> int:
    """The start of the line after the one `index` is on (or `index`, at a line start)."""
    if index == 0 or text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _insert(text: str, node: yaml.Node, entries: dict[str, Any], *, is_json: bool) -> Edit:
    if not isinstance(node, yaml.MappingNode):
        raise SpliceError("keys are only added to mappings")
    if node.flow_style or is_json or not node.value:
        pairs = ", ".join(
            f"{_flow(k, is_json=is_json)}: {_flow(v, is_json=is_json)}" for k, v in entries.items()
        )
        if not node.value:  # `{}`: replaced by the new entries
            return Edit(node.start_mark.index, node.end_mark.index, f"{{{pairs}}}")
        end = _last_end(node.value[-1][1])
        return Edit(end, end, f", {pairs}")
    at = _line_after(text, _last_end(node))
    lead = "" if at == 0 or text[at - 1] == "\n" else "\n"
    return Edit(at, at, lead + _block(entries, node.start_mark.column))


def _replace(text: str, node: yaml.Node, value: Any, *, is_json: bool) -> Edit:
    start, end = node.start_mark.index, node.end_mark.index
    block = isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style
    if block and isinstance(value, dict) and value:
        end = _line_after(text, _last_end(node))
        rendered = _block(value, node.start_mark.column)
        return Edit(start, end, rendered[node.start_mark.column :])
    if block:
        raise SpliceError("a block value is only replaced by a mapping")
    rendered = _flow(value, is_json=is_json)
    # `emptyDir:` with nothing after it: the empty value sits right after the colon.
    return Edit(start, end, f" {rendered}" if start == end else rendered)
