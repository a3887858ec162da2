"""Only what an expression reads. The runtime converts every value it is given into its own
representation before evaluating, which costs far more than most evaluations: a whole pod takes
about 60 µs, its one field a rule reads well under one. So each evaluation is given the variables
cut down to the paths its expressions read (`cost.Read`, found while estimating their cost): what
it never reads cannot change its result.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from webhook.core.cel.cost import Read


@dataclass(slots=True)
class Shape:
    """What to keep of a value: all of it (`whole`), or the listed fields (`*`: every element of
    a list or value of a map) of a value whose entries are walked."""

    whole: bool = False
    fields: dict[str, Shape] = field(default_factory=dict)


def shapes(reads: Iterable[Read]) -> dict[str, Shape]:
    """Per variable, what its expressions read of it."""
    roots: dict[str, Shape] = {}
    for read in reads:
        name, *rest = read.path
        node = roots.setdefault(name, Shape())
        for part in rest:
            if node.whole or part == "@key":  # a walked map keeps all its keys
                break
            node = node.fields.setdefault(part, Shape())
        else:
            node.whole = node.whole or read.whole
    return roots


def pruned(value: Any, shape: Shape) -> Any:
    """`value` with only what `shape` keeps; anything else (a string where fields were expected)
    as it is, so that reading it fails or succeeds exactly as it would whole."""
    if shape.whole:
        return value
    if isinstance(value, list):
        return _list(value, shape.fields)
    if isinstance(value, dict):
        return _map(value, shape.fields)
    return value


def _list(value: list[Any], fields: dict[str, Shape]) -> list[Any]:
    each = fields.get("*")
    if not fields:  # walked, but no element read: only how many there are can matter
        return [None] * len(value)
    if each is None or len(fields) > 1:  # fields of a list: reading them fails as it would
        return value
    return [pruned(element, each) for element in value]


def _map(value: dict[str, Any], fields: dict[str, Shape]) -> dict[str, Any]:
    each = fields.get("*")
    if each is None:
        if not fields:  # its keys walked, no value read
            return dict.fromkeys(value)
        return {key: pruned(value[key], fields[key]) for key in fields if key in value}
    if len(fields) > 1:  # named fields and every value: kept whole
        return value
    return {key: pruned(item, each) for key, item in value.items()}


def prune(data: Mapping[str, Any], by_variable: Mapping[str, Shape]) -> dict[str, Any]:
    """The variables of `data` that `by_variable` names, each cut to its shape."""
    return {name: pruned(data[name], shape) for name, shape in by_variable.items() if name in data}
