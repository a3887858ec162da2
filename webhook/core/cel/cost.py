"""What an expression may cost, worked out before it ever runs, and what that estimate assumed.

Kubernetes meters every CEL evaluation (1,000,000 units per expression) and stops one that runs
over. The CEL runtime initgate uses cannot meter: it only stops after 10,000 comprehension
iterations in one evaluation, and it builds `map` and `filter` results by copying (their cost
grows with the square of the list). So initgate bounds cost before running, in the spirit of
Kubernetes' estimator (cel-go's `checker/cost.go` and Kubernetes' `library/cost.go`, whose unit
costs this follows): an expression is refused at load when its worst case exceeds the budget,
where the worst case assumes that every list or map it reads from a variable has at most
`Bounds.items` entries and every string at most `Bounds.chars` characters. Those assumptions are
not trusted: each becomes a `Guard`, a path that `exceeded` checks on the values before the
expression runs, so an object that breaks one is not evaluated, however it was built.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from webhook.core.cel import tree

BUDGET = 1_000_000
"""Units one evaluation may cost: Kubernetes' per-expression limit (PerCallLimit)."""
UNBOUNDED = 2**63
# Lists of names that initgate's own variables hold.
_NAMES = frozenset((("fills", "*"), ("readsFrom", "*")))
_SIZED = frozenset(("string", "bytes", "dyn"))


def _scalar(kind: str) -> bool:
    """A value without a size to bound: a number, a time, a type, or a library's value such as
    a Quantity (which Kubernetes' estimator also costs 1 to compare)."""
    return kind not in _SIZED and not kind.startswith(("list(", "map("))


@dataclass(frozen=True, slots=True)
class Bounds:
    """The sizes an estimate assumes of what an expression reads, and the runtime's cap on
    comprehension iterations in one evaluation."""

    items: int = 1000
    chars: int = 65536
    names: int = 317
    """Characters of a name or a key: a path ending in `name` or reading a map's keys, the names
    in `fills` and `readsFrom`, what `request` says of the user. The longest Kubernetes allows
    is a qualified name (a 253-character prefix, a slash and 63 characters)."""
    iterations: int = 10_000
    total: int = 3 * 1024 * 1024
    """Characters all the strings of one object hold together, at most: the API server's limit
    on a request. What joins or formats strings read from the object is no longer than that."""


@dataclass(frozen=True, slots=True)
class Guard:
    """A value the estimate assumed small: `path` from a variable (`*` for every element of a
    list or value of a map), and the most entries or characters it may have."""

    path: tuple[str, ...]
    limit: int

    def __str__(self) -> str:
        return _shown(self.path)


@dataclass(frozen=True, slots=True)
class Estimate:
    cost: int
    guards: tuple[Guard, ...]
    costliest: str = ""
    """What costs most (`a comprehension over up to 1,000 entries`), for a refusal's message."""
    reads: tuple[Read, ...] = ()
    """Every value the expression reads from its variables: all an evaluation needs of them."""


@dataclass(frozen=True, slots=True)
class Read:
    """A path the expression reads (`*`: every element of a list, or value of a map). `whole`:
    the value itself is used; otherwise only its entries are walked (a comprehension's range)."""

    path: tuple[str, ...]
    whole: bool = True


@dataclass(frozen=True, slots=True)
class _Value:
    """What the estimator knows of one expression's value."""

    cost: int
    kind: str = "dyn"
    """Its type as the checker inferred it."""
    size: int | None = None
    """The most characters, entries or bytes it can have, when known."""
    items: _Value | None = None
    """What is known of each element (a list) or value (a map)."""
    path: tuple[str, ...] | None = None
    """Where it is read from, when it is read from a variable: its size is then a guard's."""
    literal: object = None
    """Its value, when it is a literal."""


@dataclass
class _Walk:
    bounds: Bounds
    variables: frozenset[str]
    types: Mapping[int, str]
    guards: dict[tuple[str, ...], Guard] = field(default_factory=dict)
    costliest: tuple[int, str] = (0, "")
    reads: dict[tuple[str, ...], bool] = field(default_factory=dict)

    def used(self, *values: _Value | None, whole: bool = True) -> None:
        """Note that the expression uses these values (those read from a variable)."""
        for value in values:
            if value is not None and value.path is not None:
                self.reads[value.path] = self.reads.get(value.path, False) or whole

    def sized(self, value: _Value, limit: int) -> int:
        """The most `value` can hold: its known size, the bound its path is guarded to, 1 for a
        scalar, and `UNBOUNDED` when nothing bounds it."""
        if value.size is not None:
            return value.size
        if value.path is not None:
            self.guards.setdefault(value.path, Guard(value.path, limit))
            return limit
        return 1 if _scalar(value.kind) else UNBOUNDED

    def items(self, value: _Value) -> int:
        return self.sized(value, self.bounds.items)

    def chars(self, value: _Value) -> int:
        path = value.path
        named = path is not None and (
            path[-1] in ("name", "@key") or path[0] == "request" or path in _NAMES
        )
        return self.sized(value, self.bounds.names if named else self.bounds.chars)

    def note(self, cost: int, what: str) -> None:
        if cost > self.costliest[0]:
            self.costliest = (cost, what)


def estimate(
    checked: tree.Checked, *, variables: frozenset[str], bounds: Bounds | None = None
) -> Estimate:
    """The worst-case cost of one evaluation of `checked`, which reads `variables`."""
    walk = _Walk(bounds or Bounds(), variables, checked.types)
    value = _estimate(walk, checked.root, {})
    walk.used(value)
    return Estimate(
        min(value.cost, UNBOUNDED),
        tuple(walk.guards.values()),
        walk.costliest[1],
        tuple(Read(path, whole) for path, whole in walk.reads.items()),
    )


def _estimate(  # noqa: PLR0911 - one return per kind of expression
    walk: _Walk, node: tree.Node, scope: Mapping[str, _Value]
) -> _Value:
    kind = walk.types.get(node.id, "dyn")
    if isinstance(node, tree.Const):
        sized = isinstance(node.value, str | bytes)
        size = len(node.value) if sized else None  # type: ignore[arg-type]
        return _Value(0, kind, size, literal=node.value)
    if isinstance(node, tree.Ident):
        if node.name in scope:
            known = scope[node.name]
            return _Value(1, kind, known.size, known.items, known.path)
        return _Value(1, kind, path=(node.name,) if node.name in walk.variables else None)
    if isinstance(node, tree.Select):
        operand = _estimate(walk, node.operand, scope)
        path = (*operand.path, node.field) if operand.path is not None else None
        if node.test_only:  # has(): free in Kubernetes (PresenceTestHasCost false)
            walk.used(_Value(0, path=path))
            return _Value(operand.cost, "bool")
        return _Value(operand.cost + 1, kind, path=path)
    if isinstance(node, tree.CreateList | tree.CreateStruct):
        return _literal(walk, node, kind, scope)
    if isinstance(node, tree.Comprehension):
        return _comprehension(walk, node, scope)
    if isinstance(node, tree.Call):
        return _call(walk, node, kind, scope)
    return _Value(1, kind)


def _literal(
    walk: _Walk, node: tree.CreateList | tree.CreateStruct, kind: str, scope: Mapping[str, _Value]
) -> _Value:
    if isinstance(node, tree.CreateList):
        base, values, keys = 10, [_estimate(walk, e, scope) for e in node.elements], []
    else:
        base = 40 if node.message else 30
        values = [_estimate(walk, e.value, scope) for e in node.entries]
        keys = [_estimate(walk, e.key, scope) for e in node.entries if isinstance(e.key, tree.Node)]
    walk.used(*values, *keys)
    cost = base + sum(v.cost for v in (*values, *keys))
    sizes = [1 if _scalar(v.kind) else walk.chars(v) for v in values]
    if len(values) == 1:
        # `[e.name]`, a map step's, or `[value].map(name, ...)`, how Kubernetes' CEL (without
        # cel.bind) names a value: its one element is that value, read from where it was read.
        only = values[0]
        size = only.size if only.path is None else None
        return _Value(cost, kind, 1, _Value(0, only.kind, size, only.items, only.path))
    widest = _Value(0, "dyn", max(sizes)) if sizes else None
    return _Value(cost, kind, len(values), widest)


def _element(value: _Value) -> _Value:
    """What each element (or map value) of `value` is."""
    if value.items is not None:
        return value.items
    if value.path is not None:
        return _Value(0, path=(*value.path, "*"))
    return _Value(0)


def _comprehension(walk: _Walk, node: tree.Comprehension, scope: Mapping[str, _Value]) -> _Value:
    iter_range = _estimate(walk, node.iter_range, scope)
    walk.used(iter_range, whole=False)
    count = min(walk.items(iter_range), walk.bounds.iterations)
    element = _element(iter_range)
    inner = dict(scope)
    # One variable: a list's element, a map's key. Two: the index or key, then the element or
    # value. Over a dyn range, either may be true: the element's path covers both.
    keys = (*iter_range.path, "@key") if iter_range.path is not None else None
    key = _Value(0, "int") if iter_range.kind.startswith("list") else _Value(0, "string", path=keys)
    if node.iter_var2:
        inner[node.iter_var] = key if iter_range.kind != "dyn" else element
        inner[node.iter_var2] = element
    else:
        inner[node.iter_var] = key if iter_range.kind.startswith("map") else element
    init = _estimate(walk, node.accu_init, inner)
    appended = _appended(node)
    accumulated = None
    if appended is not None:
        added = _estimate(walk, appended, {**inner, node.accu_var: _Value(0, "list(dyn)", 0)})
        accumulated = _Value(0, "list(dyn)", count, added.items)
    inner[node.accu_var] = accumulated or init
    condition = _estimate(walk, node.loop_condition, inner)
    step = _estimate(walk, node.loop_step, inner)
    result = _estimate(walk, node.result, inner)
    cost = iter_range.cost + init.cost + result.cost + count * (condition.cost + step.cost)
    if accumulated is not None:
        # The runtime copies the accumulated list at every step: n²/2 element copies.
        cost += count * (count + 1) // 2
    walk.note(cost, f"a comprehension over up to {count:,} entries")
    if accumulated is not None:
        return _Value(cost, accumulated.kind, count, accumulated.items)
    return _Value(cost, result.kind, result.size, result.items)


def _appended(node: tree.Comprehension) -> tree.Node | None:
    """The list a `map` or `filter` step appends (`accu + [x]`), or None for other loops. Every
    macro names its accumulator alike (`@result`): a comprehension inside the step appends to
    its own, not to this one's."""
    stack: list[tree.Node] = [node.loop_step]
    while stack:
        candidate = stack.pop()
        if (
            isinstance(candidate, tree.Call)
            and candidate.function == "_+_"
            and len(candidate.args) == 2
            and isinstance(candidate.args[0], tree.Ident)
            and candidate.args[0].name == node.accu_var
        ):
            return candidate.args[1]
        if not isinstance(candidate, tree.Comprehension):
            stack.extend(reversed(tree.children(candidate)))
    return None


# Functions whose result is their first operand's value, or a part of it.
_PASSING = frozenset(("dyn", "value", "orValue", "or", "optional.of", "optional.ofNonZeroValue"))
_INDEXING = frozenset(("_[_]", "_[?_]"))


def _call(walk: _Walk, node: tree.Call, kind: str, scope: Mapping[str, _Value]) -> _Value:
    target = _estimate(walk, node.target, scope) if node.target is not None else None
    args = [_estimate(walk, a, scope) for a in node.args]
    operands = ([target] if target is not None else []) + args
    spent = sum(o.cost for o in operands)
    function = node.function
    if function in ("_&&_", "_||_"):
        walk.used(*operands)
        return _Value(spent, "bool")
    if function == "_?_:_":
        one, other = args[1], args[2]
        walk.used(*args)
        size = None if one.size is None or other.size is None else max(one.size, other.size)
        chosen = one if one.path is not None or one.items is not None else other
        cost = args[0].cost + max(one.cost, other.cost)
        return _Value(cost, kind, size, chosen.items, chosen.path if size is None else None)
    first = operands[0] if operands else _Value(0)
    if function in _PASSING:
        walk.used(*operands[1:])
        return _Value(spent + 1, kind, first.size, first.items, first.path)
    if function in _INDEXING or function == "_?._":
        walk.used(*operands[1:])
        step = "*" if function in _INDEXING else _field(node)
        items = first.items if function in _INDEXING else None
        path = (*first.path, step) if first.path is not None else None
        if items is None:
            return _Value(spent + 1, kind, None, None, path)
        # An element of a list built from the object is still read from it.
        return _Value(spent + 1, kind, items.size, items.items, path or items.path)
    walk.used(*operands)
    own, size, items = _function(walk, function, kind, operands)
    if own > 1:
        walk.note(own, f"{function.strip('_@')}()")
    return _Value(spent + own, kind, size, items)


def _field(node: tree.Call) -> str:
    last = node.args[-1] if node.args else None
    return str(last.value) if isinstance(last, tree.Const) else "*"


def _tenth(value: int, factor: float = 0.1) -> int:
    return min(math.ceil(value * factor), UNBOUNDED)


_LINEAR_STRING = frozenset(("lowerAscii", "upperAscii", "substring", "trim"))
_PARSERS = frozenset(
    (
        "url",
        "isURL",
        "quantity",
        "isQuantity",
        "semver",
        "isSemver",
        "ip",
        "isIP",
        "cidr",
        "isCIDR",
        "ip.isCanonical",
        "int",
        "uint",
        "double",
        "bool",
        "duration",
        "timestamp",
    )
)
_COPIES = frozenset(("string", "bytes", "strings.quote"))
_LIST_QUESTIONS = frozenset(("isSorted", "sum", "min", "max"))
_COMPARISONS = frozenset(("_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_"))
_Result = tuple[int, int | None, _Value | None]


def _function(walk: _Walk, function: str, kind: str, operands: list[_Value]) -> _Result:
    """The function's own cost, and its result's size and elements."""
    for table in (_strings, _lists):
        found = table(walk, function, kind, operands)
        if found is not None:
            return found
    return 1, None, None


def _strings(  # noqa: PLR0911, PLR0912 - one case per function, as Kubernetes lists them
    walk: _Walk, function: str, kind: str, operands: list[_Value]
) -> _Result | None:
    first = operands[0] if operands else _Value(0)
    if function in _LINEAR_STRING or (
        function in ("indexOf", "lastIndexOf", "charAt")
        and kind == "int"
        and first.kind == "string"
    ):
        return _tenth(walk.chars(first)), walk.chars(first), None
    if function == "jsonpatch.escapeKey":  # each character escaped may take two
        return _tenth(walk.chars(first)), 2 * walk.chars(first), None
    if function in ("startsWith", "endsWith"):
        return _tenth(walk.chars(operands[1])), None, None
    if function == "contains":  # linear in the runtime, not the product cel-go estimates
        return _tenth(walk.chars(first)) + _tenth(walk.chars(operands[1])), None, None
    if function in ("matches", "find", "findAll"):
        text = walk.chars(first)
        cost = _tenth(text + 1) * _tenth(walk.chars(operands[1]), 0.25)
        if function == "findAll":
            return cost, text, _Value(0, "string", text)
        return cost, (text if function == "find" else None), None
    if function in _PARSERS:
        return max(1, _tenth(walk.chars(first))), None, None
    if function in _COPIES:
        size = 32 if _scalar(first.kind) else walk.chars(first)
        return max(1, _tenth(size)), size + 2, None
    if function == "split":
        text = walk.chars(first)
        return _tenth(text, 0.2) + text + 1, text + 1, _Value(0, "string", text)
    if function == "replace":
        text = walk.chars(first)
        size = text * max(1, walk.chars(operands[2]))
        return _tenth(text, 0.2) + _tenth(size), size, None
    if function == "join":
        count, element = walk.items(first), _element(first)
        separator = walk.chars(operands[1]) if len(operands) > 1 else 0
        size = _joined(walk, count, element) + count * separator
        return _tenth(size), size, None
    if function == "format":
        count, element = walk.items(operands[1]), _element(operands[1])
        size = walk.chars(first) + _joined(walk, count, element)
        return _tenth(size), size, None
    if function == "_+_" and kind in ("string", "bytes"):
        size = walk.chars(first) + walk.chars(operands[1])
        return _tenth(size), size, None
    if function in _COMPARISONS:
        if any(_scalar(o.kind) for o in operands):
            return 1, None, None
        known = [o.size for o in operands if o.size is not None]  # a literal bounds the work
        smallest = min(known) if known else min(walk.chars(o) for o in operands)
        return max(1, _tenth(smallest)), None, None
    return None


def _joined(walk: _Walk, count: int, element: _Value) -> int:
    """Characters of `count` strings like `element` put together: no more than the object holds
    when they are read from it."""
    size = count * walk.chars(element)
    return min(size, walk.bounds.total) if element.path is not None else size


def _lists(  # noqa: PLR0911 - one case per function, as Kubernetes lists them
    walk: _Walk, function: str, kind: str, operands: list[_Value]
) -> _Result | None:
    first = operands[0] if operands else _Value(0)
    if function in _LIST_QUESTIONS or function in ("indexOf", "lastIndexOf"):
        element = _element(first)
        per = 1 + (_tenth(walk.chars(element)) if element.kind == "string" else 0)
        return walk.items(first) * per, None, None
    if function == "@in":
        return walk.items(operands[1]), None, None
    if function in ("sets.contains", "sets.intersects", "sets.equivalent"):
        factor = 2 if function == "sets.equivalent" else 1
        return walk.items(first) * walk.items(operands[1]) * factor + 1, None, None
    if function in ("sort", "distinct", "@sortByAssociatedKeys"):
        count = walk.items(first)
        return 2 * count * count + 11, count, _element(first)
    if function in ("reverse", "slice"):
        count = walk.items(first)
        return count + 11, count, _element(first)
    if function == "flatten":
        count = walk.items(first) * walk.items(_element(first))
        return count + 11, count, None
    if function == "lists.range":
        # It makes every element at once, however few a comprehension may then walk.
        written = _literal_int(operands[0]) if operands else None
        count = UNBOUNDED if written is None else max(written, 0)
        return count + 11, count, _Value(0, "int")
    if function == "_+_" and kind.startswith("list"):
        return 1, walk.items(first) + walk.items(operands[1]), _element(first)
    if function == "getQuery":
        return 1, walk.chars(first), _Value(0, "list(string)", walk.chars(first))
    return None


def _literal_int(value: _Value) -> int | None:
    return value.literal if isinstance(value.literal, int) else None


def exceeded(guards: tuple[Guard, ...], data: Mapping[str, Any]) -> str | None:
    """The first guard `data` breaks, as a sentence (`container.env has 5,000 entries, more than
    the 1,000 a rule may read`), or None when every guarded value is within its bound."""
    for guard in guards:
        for problem, value in _values(data, guard.path, guard.limit):
            if problem:
                return problem
            if isinstance(value, str | bytes | list | dict) and len(value) > guard.limit:
                unit = "characters" if isinstance(value, str | bytes) else "entries"
                return _too_large(str(guard), len(value), unit, guard.limit)
    return None


def _values(data: Any, path: tuple[str, ...], limit: int) -> Iterator[tuple[str, Any]]:
    """The values at `path` (several through `*`), each with an empty problem; or a problem when
    a list or map that `*` walks through has more than `limit` entries."""
    nodes: list[Any] = [data]
    for depth, part in enumerate(path):
        following: list[Any] = []
        for node in nodes:
            if part == "@key":
                following.extend(node if isinstance(node, dict) else ())
                continue
            if part != "*":
                if isinstance(node, dict) and part in node:
                    following.append(node[part])
                continue
            if not isinstance(node, list | dict):
                continue
            if len(node) > limit:
                where = _shown(path[:depth])
                yield (
                    f"{where} has {len(node):,} entries, more than the {limit:,} a rule may read",
                    None,
                )
                return
            following.extend(node.values() if isinstance(node, dict) else node)
        nodes = following
    for node in nodes:
        yield "", node


def _too_large(where: str, size: int, unit: str, limit: int) -> str:
    return f"{where} has {size:,} {unit}, more than the {limit:,} an expression may read"


def _shown(path: tuple[str, ...]) -> str:
    return ".".join(path).replace(".*", "[*]")
