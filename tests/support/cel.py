"""The library tables' harness: each case is a CEL expression run as initgate runs a rule
(compiled by `compile_checked`, so Kubernetes' write-time refusals apply, then evaluated in the
one environment), with Kubernetes' answer beside it. Where initgate cannot give that answer,
the case says what it gives instead and why, so the difference stays written down and tested."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from google.protobuf.message import Message

from webhook.core.cel.environment import (
    VARIABLES,
    CompileError,
    EvaluationError,
    compile_expression,
)
from webhook.core.cel.expression import compile_checked
from webhook.core.cel.jsonpatch_lib import JSON_PATCH, operation


@dataclass(frozen=True)
class Opaque:
    """A value of a library's type (`net.IP`), by its canonical text."""

    type: str
    text: str


@dataclass(frozen=True)
class Error:
    """An evaluation error, by its whole message."""

    message: str


@dataclass(frozen=True)
class Refused:
    """Refused when written; the compile error contains `message`."""

    message: str


SAME: Any = object()


@dataclass(frozen=True)
class Case:
    """`expr` gives `kubernetes` in Kubernetes; in initgate too, unless `here` says otherwise
    (and then `why` says why)."""

    expr: str
    kubernetes: object
    here: object = SAME
    why: str = ""

    def __post_init__(self) -> None:
        assert (self.here is SAME) == (not self.why), f"{self.expr}: a difference needs a reason"

    @property
    def expected(self) -> object:
        return self.kubernetes if self.here is SAME else self.here


def outcome(expr: str, data: Mapping[str, Any] | None = None, *, patches: bool = False) -> object:
    """What initgate makes of `expr`: a plain value, an `Opaque`, an `Error` or a `Refused`.
    `patches`: compiled as a MutatingAdmissionPolicy's expression."""
    try:
        result = compile_expression(expr).result
        expression = compile_checked(
            expr, variables=frozenset(VARIABLES), results=frozenset({result}), patches=patches
        )
    except CompileError as error:
        return Refused(error.message)
    try:
        return plain(expression.evaluate(data or {}))
    except EvaluationError as error:
        return Error(str(error))


def plain(value: object) -> object:
    """`value` with library values as `Opaque`, a `JSONPatch` as the operation Kubernetes reads
    from it, and bytes as bytes, for comparison."""
    if isinstance(value, Message) and value.DESCRIPTOR.full_name == JSON_PATCH.name:
        return operation(value)
    if isinstance(value, Message):
        return Opaque(value.DESCRIPTOR.full_name, getattr(value, "value", str(value)))
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def check(case: Case, data: Mapping[str, Any] | None = None, *, patches: bool = False) -> None:
    """`case.expr` gives what the case expects, down to the type of each value (`1 != true`)."""
    got, want = outcome(case.expr, data, patches=patches), case.expected
    if isinstance(want, Refused):
        assert isinstance(got, Refused), f"{case.expr}: {got!r}"
        assert want.message in got.message, f"{case.expr}: {got.message}"
        return
    assert _typed(got) == _typed(want), f"{case.expr}: {got!r}"


def _typed(value: object) -> object:
    """`value` with each scalar paired with its type: Python's `True == 1` must not pass."""
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    return (type(value).__name__, value)


def table(**tables: list[Case]) -> list[Any]:
    """The cases of named tables as pytest parameters, each named `table: expression`."""
    return [
        pytest.param(c, id=f"{name}: {c.expr}") for name, cases in tables.items() for c in cases
    ]
