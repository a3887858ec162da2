"""Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`), parsed exactly for comparisons.

Follows `k8s.io/apimachinery/pkg/api/resource`: a signed decimal number, then an optional binary
suffix (Ki..Ei), decimal suffix (n, u, m, k, M..E) or decimal exponent (e3, E-2).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
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
PATTERN = (
    r"^\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|[numkMGTPE])?$"
)
"""A non-negative quantity as a JSON schema pattern (ECMA 262 and RE2 alike): what settings take."""
# Kubernetes accepts any exponent and any number of digits, but exact powers of ten that large
# would cost real time on the request path. Exponents beyond this bound are clamped to it: such a
# quantity still compares above (or below) every real one. Longer numbers are refused.
_MAX_EXPONENT = 1000
_MAX_DIGITS = 100


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


# typed: `True == 1` for an untyped cache, and a boolean is not a quantity.
@lru_cache(maxsize=1024, typed=True)
def parse(value: str | int | float) -> Fraction:
    """The exact value of a quantity; raises `QuantityError` when it is not one.

    Cached: pods repeat a handful of distinct quantities, and parsing sits on the request path.
    """
    if isinstance(value, bool):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, float) and not math.isfinite(value):
        raise QuantityError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        return Fraction(value)
    match = _QUANTITY.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise QuantityError(f"{value!r} is not a quantity (examples: 500m, 1.5, 256Mi, 2Gi)")
    if len(match["number"]) > _MAX_DIGITS:
        raise QuantityError(f"{value[:20]!r}... has too many digits to be a quantity")
    number = Fraction(Decimal(match["number"]))
    if match["binary"]:
        return number * _BINARY[match["binary"]]
    if match["exponent"] is not None:
        written = match["exponent"]
        sign = -1 if written.startswith("-") else 1
        exponent = int(written) if len(written) < 8 else sign * _MAX_EXPONENT
        exponent = max(-_MAX_EXPONENT, min(_MAX_EXPONENT, exponent))
        return number * Fraction(10) ** exponent
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


_BY_SIZE = sorted(_BINARY.items(), key=lambda item: -item[1])


def format_bytes(value: Fraction | int) -> str:
    """A byte count as Kubernetes would write it: whole bytes (rounded up), in the largest binary
    unit that divides it exactly (`1536Mi`, `3Gi`, `1000`)."""
    whole = math.ceil(value)
    for suffix, size in _BY_SIZE:
        if whole >= size and whole % size == 0:
            return f"{whole // size}{suffix}"
    return str(whole)
