"""JSON Patch applied as a MutatingAdmissionPolicy's patch is: `gopkg.in/evanphx/json-patch.v4`
(`Patch.Apply`, with its negative indices), on a copy of the object, in order (Kubernetes'
mutating/patch/json_patch.go). What the tests need of it, exactly:

- `add` needs an existing parent: `/metadata/labels/x` on a pod without labels fails
  (`doc is missing path`); on a list, `-` appends and an index up to its length inserts;
- `replace` and `remove` need an existing member;
- `test` compares with JSON's equality; a failing one is `TestFailedError`, which makes Kubernetes
  skip the whole mutation silently (any other failure is the mutation's error).
"""

from __future__ import annotations

import copy
from typing import Any


class PatchFailedError(ValueError):
    """An operation that does not apply: the mutation fails (failurePolicy decides)."""


class TestFailedError(PatchFailedError):
    """A `test` operation whose value differs: the mutation is skipped, without an error."""

    __test__ = False  # not a pytest test class


def apply(document: Any, ops: list[dict[str, Any]]) -> Any:
    """`document` patched (a copy; `document` itself is left as it was)."""
    patched = copy.deepcopy(document)
    for op in ops:
        patched = _one(patched, op)
    return patched


def _segments(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchFailedError(f"invalid path: {path!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(document: Any, path: str) -> tuple[Any, str]:
    """The container of the last segment of `path`, and that segment."""
    *parents, last = _segments(path)
    node = document
    for part in parents:
        node = _get(node, part, path)
    if not isinstance(node, dict | list):
        raise PatchFailedError(f"doc is missing path: {path}")
    return node, last


def _index(node: list[Any], key: str, path: str, *, size: int) -> int:
    """A list index as evanphx v4 reads it: negative ones count from the end of `size`."""
    try:
        index = int(key)
    except ValueError:
        raise PatchFailedError(f"value was not a proper array index: {key!r}") from None
    if index < 0:
        index += size
    if not 0 <= index < size:
        raise PatchFailedError(f"Unable to access invalid index: {key} ({path})")
    return index


def _get(node: Any, part: str, path: str) -> Any:
    if isinstance(node, dict) and part in node:
        return node[part]
    if isinstance(node, list):
        return node[_index(node, part, path, size=len(node))]
    raise PatchFailedError(f"doc is missing path: {path}")


def _one(document: Any, op: dict[str, Any]) -> Any:
    kind, path = op.get("op"), str(op.get("path", ""))
    if kind == "test":
        _test(document, path, op.get("value"))
        return document
    if path == "":
        if kind in ("add", "replace"):
            return copy.deepcopy(op.get("value"))
        raise PatchFailedError(f"{kind} operation does not apply to the whole document")
    node, key = _parent(document, path)
    if kind == "add":
        _add(node, key, copy.deepcopy(op.get("value")), path)
    elif kind in ("replace", "remove"):
        if isinstance(node, dict) and key not in node:
            raise PatchFailedError(f"{kind} operation does not apply: doc is missing key: {path}")
        at: Any = key if isinstance(node, dict) else _index(node, key, path, size=len(node))
        if kind == "replace":
            node[at] = copy.deepcopy(op.get("value"))
        else:
            del node[at]
    else:
        raise PatchFailedError(f"unsupported operation {kind!r} (the tests use none)")
    return document


def _add(node: dict[str, Any] | list[Any], key: str, value: Any, path: str) -> None:
    if isinstance(node, dict):
        node[key] = value
    elif key == "-":
        node.append(value)
    else:
        node.insert(_index(node, key, path, size=len(node) + 1), value)


def _test(document: Any, path: str, value: Any) -> None:
    if path == "":
        found = document
    else:
        node, key = _parent(document, path)
        if isinstance(node, dict) and key not in node:
            if value is None:
                return
            raise TestFailedError(f"testing value {path} failed")
        found = node[key] if isinstance(node, dict) else _get(node, key, path)
    if not _same(found, value):
        raise TestFailedError(f"testing value {path} failed")


def _same(one: Any, other: Any) -> bool:
    """JSON's equality: numbers by value, `true` never `1`, members whatever their order."""
    if isinstance(one, bool) or isinstance(other, bool):
        return type(one) is type(other) and one == other
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(map(_same, one, other))
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(_same(v, other[k]) for k, v in one.items())
    numbers = int | float
    if isinstance(one, numbers) and isinstance(other, numbers):
        return one == other
    return type(one) is type(other) and one == other
