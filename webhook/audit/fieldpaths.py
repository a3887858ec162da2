"""Fields of an object as people write them: `spec.containers[0].resources.requests.cpu`, a key
with dots or slashes in brackets (`limits[example.com/gpu]`), and a list entry by its name
(`containers[app]`); and values as YAML shows them on one line."""

from __future__ import annotations

import re
from typing import Any

import yaml

Segment = str | int

_STEP = re.compile(r"([^.\[\]]+)|\[([^\[\]]+)\]")


def parse_path(path: str) -> tuple[Segment, ...] | None:
    """`spec.containers[0].resources.limits[example.com/gpu]` as segments: keys, list indexes
    (int), and a `[name]` that is a key in a mapping or the entry of that name in a list."""
    segments: list[Segment] = []
    position = 0
    while position < len(path):
        if segments and path[position] == ".":
            position += 1
        match = _STEP.match(path, position)
        if match is None:
            return None
        key, bracketed = match.groups()
        segments.append(int(bracketed) if bracketed and bracketed.isdigit() else key or bracketed)
        position = match.end()
    return tuple(segments) if segments and not path.endswith(".") else None


def lookup(obj: Any, segments: tuple[Segment, ...]) -> tuple[bool, Any]:
    """(found, value) at `segments`: a key, a list index, or a name that picks the entry of a
    list with that `name` (`containers[app]`)."""
    node = obj
    for segment in segments:
        if isinstance(node, dict) and str(segment) in node:
            node = node[str(segment)]
        elif isinstance(node, list) and isinstance(segment, int) and segment < len(node):
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, str):
            named = [e for e in node if isinstance(e, dict) and e.get("name") == segment]
            if not named:
                return False, None
            node = named[0]
        else:
            return False, None
    return True, node


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values: `true` is not `1`, `1` is not `"1"`."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):  # Python's True == 1
        return a is b
    return bool(a == b)


def shown(value: Any) -> str:
    """A value in YAML's flow style, on one line: `100m`, `true`, `{cpu: 100m}`."""
    dumped: str = yaml.safe_dump(value, default_flow_style=True, width=1 << 16, sort_keys=False)
    return dumped.strip().removesuffix("...").strip()


def dotted(pointer: str) -> str:
    """`/spec/initContainers/0` as `spec.initContainers[0]`."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts).lstrip(".")
