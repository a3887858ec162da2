"""Kubernetes' lists library (k8s.io/apiserver/pkg/cel/library/lists.go): questions about lists
of comparable values.

    [1, 2, 3].isSorted()            true
    [1, 2, 3].sum()                 6
    ['b', 'a'].min()                'a'
    [].max()                        error: max called on empty list
    ['a', 'b', 'a'].lastIndexOf('a')  2

Kubernetes declares one overload per element type and so refuses `['a'].sum()` or `[[1]].min()`
when the expression is written; initgate declares `list(dyn)` (library.py says why) and refuses
them when they run, with cel-go's runtime words (`no such overload`). Within a list, values are
compared as cel-go compares them, pair by pair: a pair cel-go cannot order (`1` and `'a'`) is
skipped, as Kubernetes' code skips it.
"""

from __future__ import annotations

import datetime
import itertools
import math
from typing import Any

from google.protobuf import duration_pb2, timestamp_pb2

from webhook.core.cel.library import Function, Library, LibraryError, method

_INT64 = (-(2**63), 2**63 - 1)
_NO_OVERLOAD = "no such overload"
_BYTES = (bytes, bytearray)


def equal(one: Any, other: Any) -> bool:
    """CEL's equality: numbers compare by value across int, uint and double; a bool equals only
    a bool; lists and maps element by element."""
    if isinstance(one, bool) or isinstance(other, bool):
        return type(one) is type(other) and one == other
    if isinstance(one, int | float) and isinstance(other, int | float):
        return one == other
    if isinstance(one, _BYTES) and isinstance(other, _BYTES):
        return bytes(one) == bytes(other)
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(map(equal, one, other))
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(equal(v, other[k]) for k, v in one.items())
    return type(one) is type(other) and one == other


def _kind(value: Any) -> type:
    """The kind cel-go orders `value` as; `no such overload` for a value it cannot order."""
    if isinstance(value, bool):
        return bool
    if isinstance(value, int | float):
        return float
    for kind in (str, datetime.timedelta, datetime.datetime):
        if isinstance(value, kind):
            return kind
    if isinstance(value, _BYTES):
        return bytes
    raise LibraryError(_NO_OVERLOAD)


def _order(one: Any, other: Any) -> int | None:
    """cel-go's `Compare`: -1, 0 or 1; None where it gives an error (values of two kinds, NaN)."""
    if _kind(one) is not _kind(other):
        return None
    if any(isinstance(v, float) and math.isnan(v) for v in (one, other)):
        return None
    return int(one > other) - int(one < other)


def _cel(value: Any) -> Any:
    """A duration or a timestamp as the runtime takes it from a function declared to return
    `dyn`: as its protobuf message (it refuses Python's datetime types there)."""
    if isinstance(value, datetime.timedelta):
        duration = duration_pb2.Duration()
        duration.FromTimedelta(value)
        return duration
    if isinstance(value, datetime.datetime):
        timestamp = timestamp_pb2.Timestamp()
        timestamp.FromDatetime(value)
        return timestamp
    return value


def is_sorted(values: list[Any]) -> bool:
    for value in values:
        _kind(value)
    return all(_order(a, b) != 1 for a, b in itertools.pairwise(values))


def total(values: list[Any]) -> Any:
    """The sum, from the zero value of the first element's type (as cel-go picks the overload
    of a dynamic list by its first element): mixed types are `no such overload`."""
    if not values:
        return 0
    first = values[0]
    kinds = {type(v) for v in values}
    if len(kinds) > 1 or not isinstance(first, int | float | datetime.timedelta):
        raise LibraryError(_NO_OVERLOAD)
    if isinstance(first, bool):
        raise LibraryError(_NO_OVERLOAD)
    result = sum(values[1:], first)
    if isinstance(result, int) and not _INT64[0] <= result <= _INT64[1]:
        raise LibraryError("integer overflow")
    return _cel(result)


def _extreme(values: list[Any], name: str, preferred: int) -> Any:
    """cel-go's `min`/`max`: the first value, replaced by each later one that compares to it as
    `preferred` (so the first of equal values is kept)."""
    if not values:
        raise LibraryError(f"{name} called on empty list")
    result = values[0]
    _kind(result)
    for value in values[1:]:
        _kind(value)
        if _order(result, value) == preferred:
            result = value
    return _cel(result)


def smallest(values: list[Any]) -> Any:
    return _extreme(values, "min", 1)


def largest(values: list[Any]) -> Any:
    return _extreme(values, "max", -1)


def index_of(values: list[Any], wanted: Any) -> int:
    return next((i for i, v in enumerate(values) if equal(v, wanted)), -1)


def last_index_of(values: list[Any], wanted: Any) -> int:
    found = [i for i, v in enumerate(values) if equal(v, wanted)]
    return found[-1] if found else -1


LIBRARY = Library(
    name="lists",
    functions=(
        Function("isSorted", (method("list_is_sorted", "list(dyn)", "bool", is_sorted),)),
        Function("sum", (method("list_sum", "list(dyn)", "dyn", total),)),
        Function("min", (method("list_min", "list(dyn)", "dyn", smallest),)),
        Function("max", (method("list_max", "list(dyn)", "dyn", largest),)),
        Function("indexOf", (method("list_index_of", "list(dyn), dyn", "int", index_of),)),
        Function(
            "lastIndexOf",
            (method("list_last_index_of", "list(dyn), dyn", "int", last_index_of),),
        ),
    ),
)
