"""Kubernetes' quantity library (k8s.io/apiserver/pkg/cel/library/quantity.go): resource
quantities such as `500m` and `1Gi`, compared and added exactly.

    quantity('1.5Gi').isGreaterThan(quantity('1Gi'))    true
    quantity('1') == quantity('1000m')                  true
    isQuantity('1.5x')                                  false
    quantity('1.5x')                                    error
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from policies import quantity as quantities
from webhook.core.cel.library import Function, Library, LibraryError, Opaque, method, overload

QUANTITY = "kubernetes.Quantity"
_INT64 = (-(2**63), 2**63 - 1)
# What Kubernetes' ParseQuantity accepts, before it reads the number: no space, no empty text.
_SHAPE = re.compile(r"[+-]?[0-9.]+[eEinumkKMGTP]*[-+]?[0-9]*")


def parse(text: str) -> Fraction:
    """The exact value of `text`; a CEL error when it is no quantity."""
    if not _SHAPE.fullmatch(text):
        raise LibraryError(
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        )
    try:
        return quantities.parse(text)
    except quantities.QuantityError as error:
        raise LibraryError(f"unable to parse quantity: {error}") from None


def is_quantity(text: str) -> bool:
    try:
        parse(text)
    except LibraryError:
        return False
    return True


def _sign(value: Fraction) -> int:
    return (value > 0) - (value < 0)


def _compare(value: Fraction, other: Fraction) -> int:
    return _sign(value - other)


def _integer(value: Fraction) -> int | None:
    if value.denominator != 1 or not _INT64[0] <= value.numerator <= _INT64[1]:
        return None
    return value.numerator


def _as_integer(value: Fraction) -> int:
    whole = _integer(value)
    if whole is None:
        raise LibraryError("cannot convert value to integer")
    return whole


def _as_float(value: Fraction) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _encode(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _plus(value: Fraction, number: int) -> Fraction:
    return value + number


def _minus(value: Fraction, number: int) -> Fraction:
    return value - number


LIBRARY = Library(
    name="quantity",
    types=(Opaque(QUANTITY, encode=_encode, decode=Fraction),),
    functions=(
        Function("quantity", (overload("string_to_quantity", "string", QUANTITY, parse),)),
        Function("isQuantity", (overload("is_quantity_string", "string", "bool", is_quantity),)),
        # A global function in Kubernetes, though its documentation shows it as a member.
        Function("sign", (overload("quantity_sign", QUANTITY, "int", _sign),)),
        Function(
            "isGreaterThan",
            (
                method(
                    "quantity_is_greater_than",
                    f"{QUANTITY}, {QUANTITY}",
                    "bool",
                    lambda a, b: a > b,
                ),
            ),
        ),
        Function(
            "isLessThan",
            (
                method(
                    "quantity_is_less_than", f"{QUANTITY}, {QUANTITY}", "bool", lambda a, b: a < b
                ),
            ),
        ),
        Function(
            "compareTo",
            (method("quantity_compare_to", f"{QUANTITY}, {QUANTITY}", "int", _compare),),
        ),
        Function(
            "add",
            (
                method("quantity_add", f"{QUANTITY}, {QUANTITY}", QUANTITY, Fraction.__add__),
                method("quantity_add_int", f"{QUANTITY}, int", QUANTITY, _plus),
            ),
        ),
        Function(
            "sub",
            (
                method("quantity_sub", f"{QUANTITY}, {QUANTITY}", QUANTITY, Fraction.__sub__),
                method("quantity_sub_int", f"{QUANTITY}, int", QUANTITY, _minus),
            ),
        ),
        Function(
            "isInteger",
            (method("quantity_is_integer", QUANTITY, "bool", lambda q: _integer(q) is not None),),
        ),
        Function(
            "asInteger",
            (method("quantity_get_int", QUANTITY, "int", _as_integer),),
        ),
        Function(
            "asApproximateFloat",
            (method("quantity_get_float", QUANTITY, "double", _as_float),),
        ),
    ),
)
