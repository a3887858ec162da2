"""Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`), parsed exactly for comparisons.

Follows `k8s.io/apimachinery/pkg/api/resource`: a signed decimal number, then an optional binary
suffix (Ki..Ei), decimal suffix (n, u, m, k, M..E) or decimal exponent (e3, E-2).
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import lru_cache

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 10**3),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exponent>[+-]?\d+)|(?P<decimal>[numkMGTPE]?))"
)


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


@lru_cache(maxsize=1024)
def parse(value: str | int | float) -> Fraction:
    """The exact value of a quantity; raises `QuantityError` when it is not one.

    Cached: pods repeat a handful of distinct quantities, and parsing sits on the request path.
    """
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        return Fraction(value)
    match = _QUANTITY.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise QuantityError(f"{value!r} is not a quantity (examples: 500m, 1.5, 256Mi, 2Gi)")
    number = Fraction(match["number"])
    if match["binary"]:
        return number * _BINARY[match["binary"]]
    if match["exponent"] is not None:
        return number * Fraction(10) ** int(match["exponent"])
    return number * _DECIMAL[match["decimal"] or ""]


def parse_or_none(value: object) -> Fraction | None:
    """The exact value of a quantity, or None when it is not one (never raises)."""
    if not isinstance(value, str | int | float):
        return None
    try:
        return parse(value)
    except QuantityError:
        return None


def validate(value: str) -> str:
    """`value` unchanged when it is a valid non-negative quantity (for settings validators)."""
    if parse(value) < 0:
        raise QuantityError(f"{value!r} is negative")
    return value
