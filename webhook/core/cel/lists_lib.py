"""Kubernetes' lists library (k8s.io/apiserver/pkg/cel/library/lists.go): questions about lists
of comparable values.

    [1, 2, 3].isSorted()            true
    [1, 2, 3].sum()                 6
    ['b', 'a'].min()                'a'
    [].max()                        error: max called on empty list
    ['a', 'b', 'a'].lastIndexOf('a')  2
"""

from __future__ import annotations

import datetime
import itertools
from typing import Any

from webhook.core.cel.library import Function, Library, LibraryError, method

_INT64 = (-(2**63), 2**63 - 1)


def equal(one: Any, other: Any) -> bool:
    """CEL's equality: numbers compare by value across int, uint and double; a bool equals only
    a bool; lists and maps element by element."""
    if isinstance(one, bool) or isinstance(other, bool):
        return type(one) is type(other) and one == other
    if isinstance(one, int | float) and isinstance(other, int | float):
        return one == other
    if isinstance(one, list) and isinstance(other, list):
        return len(one) == len(other) and all(map(equal, one, other))
    if isinstance(one, dict) and isinstance(other, dict):
        return one.keys() == other.keys() and all(equal(v, other[k]) for k, v in one.items())
    return type(one) is type(other) and one == other


def _comparable(values: list[Any]) -> list[Any]:
    """`values` when CEL can order them (numbers, or all of one orderable type)."""
    kinds = {type(v) for v in values}
    numbers = kinds <= {int, float}
    orderable = (bool, str, bytes, datetime.timedelta, datetime.datetime)
    if not (numbers or (len(kinds) == 1 and next(iter(kinds)) in orderable)) and values:
        raise LibraryError(f"no such overload: values of {sorted(k.__name__ for k in kinds)}")
    return values


def is_sorted(values: list[Any]) -> bool:
    _comparable(values)
    return all(a <= b for a, b in itertools.pairwise(values))


def total(values: list[Any]) -> Any:
    if not values:
        return 0
    first = values[0]
    result = sum(values[1:], first) if isinstance(first, datetime.timedelta) else sum(values)
    if isinstance(result, int) and not _INT64[0] <= result <= _INT64[1]:
        raise LibraryError("integer overflow")
    return result


def smallest(values: list[Any]) -> Any:
    if not values:
        raise LibraryError("min called on empty list")
    return min(_comparable(values))


def largest(values: list[Any]) -> Any:
    if not values:
        raise LibraryError("max called on empty list")
    return max(_comparable(values))


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
