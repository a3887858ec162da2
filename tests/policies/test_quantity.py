"""Kubernetes quantities: exact values, every suffix form, and refusals that never escape as
anything but `QuantityError` (policies must not raise on a malformed pod)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from policies import quantity
from policies.quantity import QuantityError, parse, parse_or_none


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("1", Fraction(1), id="integer"),
        pytest.param("0", Fraction(0), id="zero"),
        pytest.param("100m", Fraction(1, 10), id="milli"),
        pytest.param("1.5", Fraction(3, 2), id="decimal"),
        pytest.param(".5", Fraction(1, 2), id="leading-dot"),
        pytest.param("1.", Fraction(1), id="trailing-dot"),
        pytest.param("+2", Fraction(2), id="plus-sign"),
        pytest.param("-1", Fraction(-1), id="negative"),
        pytest.param("250n", Fraction(250, 10**9), id="nano"),
        pytest.param("3u", Fraction(3, 10**6), id="micro"),
        pytest.param("2k", Fraction(2000), id="kilo"),
        pytest.param("128M", Fraction(128 * 10**6), id="mega"),
        pytest.param("1G", Fraction(10**9), id="giga"),
        pytest.param("1T", Fraction(10**12), id="tera"),
        pytest.param("1P", Fraction(10**15), id="peta"),
        pytest.param("1E", Fraction(10**18), id="exa-suffix"),
        pytest.param("64Ki", Fraction(64 * 2**10), id="kibi"),
        pytest.param("128Mi", Fraction(128 * 2**20), id="mebi"),
        pytest.param("1.5Gi", Fraction(3 * 2**29), id="fractional-gibi"),
        pytest.param("1Ti", Fraction(2**40), id="tebi"),
        pytest.param("1Pi", Fraction(2**50), id="pebi"),
        pytest.param("1Ei", Fraction(2**60), id="exbi"),
        pytest.param("2e3", Fraction(2000), id="exponent"),
        pytest.param("1E3", Fraction(1000), id="capital-exponent"),
        pytest.param("5e-1", Fraction(1, 2), id="negative-exponent"),
        pytest.param("1e+2", Fraction(100), id="signed-exponent"),
        pytest.param(2, Fraction(2), id="json-integer"),
        pytest.param(0.25, Fraction(1, 4), id="json-float"),
    ],
)
def test_parse_is_exact(text: str | int | float, value: Fraction) -> None:
    assert parse(text) == value
    assert parse_or_none(text) == value


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("", id="empty"),
        pytest.param("Mi", id="suffix-only"),
        pytest.param("1mi", id="lowercase-binary"),
        pytest.param("1KB", id="unknown-suffix"),
        pytest.param("1e", id="bare-e"),
        pytest.param("1 Gi", id="inner-space"),
        pytest.param("0x10", id="hex"),
        pytest.param("1" * 101, id="too-many-digits"),
        pytest.param(True, id="boolean"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="infinity"),
    ],
)
def test_not_a_quantity(value: str | float) -> None:
    with pytest.raises(QuantityError):
        parse(value)
    assert parse_or_none(value) is None


def test_booleans_are_refused_even_after_one_was_cached() -> None:
    # An untyped cache would answer parse(True) with the cached parse(1), since True == 1.
    assert parse(1) == 1
    with pytest.raises(QuantityError):
        parse(True)


@pytest.mark.parametrize(
    "value",
    [pytest.param(None, id="null"), pytest.param([], id="list"), pytest.param({}, id="map")],
)
def test_parse_or_none_takes_anything(value: object) -> None:
    assert parse_or_none(value) is None


def test_huge_exponents_are_clamped_not_computed() -> None:
    # Exact powers of ten this large would take minutes; clamped, they still compare correctly.
    assert parse("1e999999999") > parse("8Ei")
    assert 0 < parse("1e-999999999") < parse("1n")
    assert parse("1e" + "9" * 5000) > parse("1Ei")


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param("-1", "is negative", id="negative"),
        pytest.param("lots", "not a quantity", id="garbage"),
    ],
)
def test_validate_refuses_for_settings(value: str, error: str) -> None:
    with pytest.raises(QuantityError, match=error):
        quantity.validate(value)


def test_validate_returns_the_text_unchanged() -> None:
    assert quantity.validate("1.5Gi") == "1.5Gi"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(Fraction(3 * 2**30), "3Gi", id="gibi"),
        pytest.param(Fraction(1536 * 2**20), "1536Mi", id="largest-exact-unit"),
        pytest.param(Fraction(2 * 10**9), "1953125Ki", id="decimal-giga"),
        pytest.param(Fraction(1000), "1000", id="no-binary-unit"),
        pytest.param(Fraction(3, 2), "2", id="rounded-up-to-a-byte"),
        pytest.param(Fraction(2**60), "1Ei", id="exbi"),
    ],
)
def test_format_bytes(value: Fraction, text: str) -> None:
    assert quantity.format_bytes(value) == text
    assert parse(text) >= value
