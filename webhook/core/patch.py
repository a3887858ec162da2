"""Applying a webhook's JSON Patch to an object, as the API server does, without copying it whole.

The offline review and the audit apply one patch per object to objects they never modify
otherwise, so an `add` copies only the maps and lists on its path and shares the rest with the
original: a fraction of the cost of a deep copy (jsonpatch's), for the same result. Anything but
`add` goes through jsonpatch. A patch that does not apply raises `PatchError`: the API server
fails such a request.
"""

from __future__ import annotations

from typing import Any

import jsonpatch
import jsonpointer

from policies.base import PatchOp


class PatchError(ValueError):
    """A patch the API server would refuse to apply (a path that does not exist)."""


def _segment(raw: str) -> str:
    return raw.replace("~1", "/").replace("~0", "~")


def apply(obj: dict[str, Any], ops: list[PatchOp]) -> dict[str, Any]:
    """`obj` with `ops` applied; `obj` itself is left as it was."""
    if not ops:
        return obj
    if any(op["op"] != "add" or not op["path"] for op in ops):
        try:
            patched: dict[str, Any] = jsonpatch.apply_patch(obj, ops, in_place=False)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
            raise PatchError(str(error)) from error
        return patched
    root = dict(obj)
    copied = {id(root)}
    for op in ops:
        *parents, last = (_segment(part) for part in op["path"].split("/")[1:])
        node: Any = root
        for part in parents:
            child = _child(node, part, op["path"])
            if id(child) not in copied:
                child = dict(child) if isinstance(child, dict) else list(child)
                copied.add(id(child))
                node[int(part) if isinstance(node, list) else part] = child
            node = child
        _add(node, last, op)
    return root


def _child(node: Any, part: str, path: str) -> Any:
    if isinstance(node, dict) and part in node:
        child = node[part]
    elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
        child = node[int(part)]
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: {path}")
    if not isinstance(child, dict | list):
        raise PatchError(f"add operation does not apply: {path} goes through a scalar")
    return child


def _add(node: Any, last: str, op: PatchOp) -> None:
    if isinstance(node, dict):
        node[last] = op["value"]
    elif isinstance(node, list) and last == "-":
        node.append(op["value"])
    elif isinstance(node, list) and last.isdigit() and int(last) <= len(node):
        node.insert(int(last), op["value"])
    else:
        raise PatchError(f"add operation does not apply: doc is missing path: {op['path']}")
