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

from policies.caching import short_lru_cache
from webhook.core.cel.library import Function, Library, LibraryError, Opaque, method, overload

QUANTITY = "kubernetes.Quantity"
_INT64 = (-(2**63), 2**63 - 1)
_FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_NUMBER = re.compile(r"([+-]?)0*([0-9]*)(?:\.([0-9]*))?")
_SUFFIX = re.compile(r"[eEinumkKMGTP]*[-+]?[0-9]*")
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_NANO = 10**9
# Go keeps any exponent and any number of digits; Python's int refuses to read more than 4,300
# digits, and a power of ten that large would cost real time. Beyond these bounds initgate refuses
# the number, or clamps the exponent: such a quantity still compares above (or below) real ones.
_MAX_DIGITS = 4000
_MAX_EXPONENT = 1000


@short_lru_cache(maxsize=1024)  # pods repeat a handful of quantities; rules read them often
def parse(text: str) -> Fraction:
    """The exact value of `text` as apimachinery's `ParseQuantity` reads it: its grammar, its
    three errors, values rounded up to a whole nano and binary ones capped at int64's maximum."""
    number = _NUMBER.match(text)
    assert number is not None  # noqa: S101 - every part of the pattern may be empty
    suffix = text[number.end() :]
    if not text or not _SUFFIX.fullmatch(suffix):
        raise LibraryError(_FORMAT)
    sign, whole, fraction = number[1], number[2], number[3] or ""
    if suffix in _DECIMAL:
        exponent, binary = _DECIMAL[suffix], False
    elif suffix in _BINARY:
        exponent, binary = _BINARY[suffix], True
    elif len(suffix) > 1 and suffix[0] in "eE" and (power := _exponent(suffix[1:])) is not None:
        exponent, binary = power, False
    else:
        raise LibraryError("unable to parse quantity's suffix")
    if len(whole) + len(fraction) > _MAX_DIGITS:
        raise LibraryError("unable to parse numeric part of quantity")
    value = Fraction(int(whole + fraction or "0"), 10 ** len(fraction))
    if binary:
        value *= 2**exponent
    else:
        value *= Fraction(10) ** max(-_MAX_EXPONENT, min(_MAX_EXPONENT, exponent))
    value = Fraction(math.ceil(value * _NANO), _NANO)
    if binary:
        value = min(value, Fraction(_INT64[1]))
    return -value if sign == "-" else value


def _exponent(text: str) -> int | None:
    """Go's `strconv.ParseInt(text, 10, 64)`, then its low 32 bits (as apimachinery keeps them);
    None when Go refuses it."""
    digits = re.fullmatch(r"([+-]?)0*([0-9]*)", text)
    if digits is None or not text.lstrip("+-") or len(digits[2]) > 19:
        return None
    value = int(digits[1] + (digits[2] or "0"))
    if not _INT64[0] <= value <= _INT64[1]:
        return None
    return (value + 2**31) % 2**32 - 2**31


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
