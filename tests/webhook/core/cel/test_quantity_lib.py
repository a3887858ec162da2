"""The quantity library against Kubernetes' own table: kubernetes/kubernetes
staging/src/k8s.io/apiserver/pkg/cel/library/quantity_test.go (TestQuantity, every case of the
merged revision; `mul`, `div` and `divInt` exist only on an unmerged branch), then the parsing
rules of apimachinery's `resource.ParseQuantity` (pkg/api/resource/quantity.go) that decide the
error texts, the rounding to a whole nano and the cap of binary quantities."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Opaque, Refused, check, table

Q = "kubernetes.Quantity"
FORMAT = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
SUFFIX = "unable to parse quantity's suffix"
WHOLE_VALUE = (
    "initgate holds a quantity as its exact value (one canonical text, so that equal quantities "
    "are equal); Kubernetes answers isInteger/asInteger from apimachinery's internal form, which "
    "is not an int64 for a negative scale (a fraction or a sub-unit suffix as written) or for "
    "its arbitrary-precision form (a binary suffix on a fraction, more than 18 digits)"
)

KUBERNETES = [
    Case('quantity("12Mi")', Opaque(Q, "12582912/1")),
    Case('quantity("10Mo")', Error(FORMAT)),
    Case('quantity("10Mm")', Error(SUFFIX)),
    Case('isQuantity("20")', True),
    Case('isQuantity("20M")', True),
    Case('isQuantity("20Mi")', True),
    Case('isQuantity("20Mo")', False),
    Case('isQuantity("10Mm")', False),
    Case(
        "isQuantity([1, 2, 3])", Refused("found no matching overload for 'isQuantity' applied to")
    ),
    Case('quantity("200M") == quantity("200M")', True),
    Case('quantity("200M") == quantity("0.2G") && quantity("0.2G") == quantity("200M")', True),
    Case(
        'quantity("2M") == quantity("0.002G") && quantity("2000k") == quantity("2M") '
        '&& quantity("0.002G") == quantity("2000k")',
        True,
    ),
    Case('quantity("200M") == quantity("0.3G")', False),
    Case('quantity("50M").isLessThan(quantity("50Mi"))', True),
    Case('quantity("50M").isLessThan(quantity("100M"))', True),
    Case('quantity("100M").isLessThan(quantity("50M"))', False),
    Case('quantity("50Mi").isGreaterThan(quantity("50M"))', True),
    Case('quantity("150Mi").isGreaterThan(quantity("100Mi"))', True),
    Case('quantity("50M").isGreaterThan(quantity("100M"))', False),
    Case('quantity("200M").compareTo(quantity("0.2G"))', 0),
    Case('quantity("50M").compareTo(quantity("50Mi"))', -1),
    Case('quantity("50Mi").compareTo(quantity("50M"))', 1),
    Case('quantity("50k").add(quantity("20")) == quantity("50.02k")', True),
    Case('quantity("50k").add(20).isLessThan(quantity("50020"))', False),
    Case('quantity("50k").sub(quantity("20")) == quantity("49.98k")', True),
    Case('quantity("50k").sub(20) == quantity("49980")', True),
    Case('quantity("50k").add(20).sub(quantity("100k")).asInteger()', -49980),
    Case('quantity("50k").add(20).sub(quantity("100k")).sub(-50000).asInteger()', 20),
    Case('quantity("50k").asInteger()', 50000),
    Case(
        'quantity("9999999999999999999999999999999999999G").asInteger()',
        Error("cannot convert value to integer"),
    ),
    Case('quantity("9999999999999999999999999999999999999G").isInteger()', False),
    Case('quantity("50").isInteger()', True),
    Case('quantity("50.703k").asApproximateFloat()', 50703.0),
]

PARSING = [
    # What ParseQuantity refuses, in its three words.
    Case('quantity("")', Error(FORMAT)),
    Case('quantity(" 1")', Error(FORMAT)),
    Case('quantity("1..2")', Error(FORMAT)),
    Case('quantity("1Gi ")', Error(FORMAT)),
    Case('quantity("200K")', Error(SUFFIX)),
    Case('quantity("1.5e")', Error(SUFFIX)),
    Case('quantity("1k-")', Error(SUFFIX)),
    Case('quantity("1Ki5")', Error(SUFFIX)),
    Case('quantity("1e9223372036854775808")', Error(SUFFIX)),
    Case('isQuantity("1.5x")', False),
    # What it accepts that a stricter reading would not.
    Case('quantity("5.") == quantity("5")', True),
    Case('quantity(".5") == quantity("500m")', True),
    Case('quantity("+1").asInteger()', 1),
    Case('quantity("-") == quantity("0")', True),
    Case('quantity(".") == quantity("0")', True),
    Case('quantity("1E3").asInteger()', 1000),
    Case('quantity("1e+3").asInteger()', 1000),
    Case('quantity("1e00000000000000000003").asInteger()', 1000),
    Case('quantity("5E") == quantity("5000000000000000000")', True),
    # Go keeps the low 32 bits of the exponent: 4294967297 is 1.
    Case('quantity("1e4294967297").asInteger()', 10),
    # Values round up (away from zero) to a whole nano; binary ones stop at int64's maximum.
    Case('quantity("1e-10") == quantity("1n")', True),
    Case('quantity("-1e-10") == quantity("-1n")', True),
    Case('quantity("0.0000000001").isGreaterThan(quantity("0"))', True),
    Case('quantity("99999999999999999999Ki") == quantity("9223372036854775807")', True),
    Case('quantity("99999999999999999999k") == quantity("9223372036854775807")', False),
]

FUNCTIONS = [
    Case('sign(quantity("-1"))', -1),
    Case('sign(quantity("0"))', 0),
    Case('sign(quantity("5m"))', 1),
    # `sign` is a global function, although Kubernetes' documentation shows it as a member.
    Case('quantity("1").sign()', Refused("sign")),
    Case('quantity("50k").add("20k")', Refused("found no matching overload for 'add'")),
    Case('quantity("1") < quantity("2")', Refused("found no matching overload for '_<_'")),
    Case("quantity(1)", Refused("found no matching overload for 'quantity' applied to '(int)'")),
    Case('quantity("1") == quantity("1000m")', True),
    Case('quantity("1Ki") == quantity("1024")', True),
    Case('quantity("1Gi").isGreaterThan(quantity("1G"))', True),
    Case('quantity("1k").add(quantity("1")).asApproximateFloat()', 1001.0),
    Case('quantity("100m").asApproximateFloat()', 0.1),
    Case('quantity("1").add(quantity("-1")).isInteger()', True),
    Case('quantity("9223372036854775807").add(1).isInteger()', False),
    Case('quantity("1m").isInteger()', False),
    Case('quantity("1.5").asInteger()', Error("cannot convert value to integer")),
    Case('type(quantity("1")) == kubernetes.Quantity', True),
]

DIFFERENCES = [
    Case('quantity("1000m").isInteger()', False, here=True, why=WHOLE_VALUE),
    Case(
        'quantity("1.0").asInteger()',
        Error("cannot convert value to integer"),
        here=1,
        why=WHOLE_VALUE,
    ),
    Case('quantity("0.5Gi").isInteger()', False, here=True, why=WHOLE_VALUE),
    Case(
        'quantity("99999999999999999999Ki").asInteger()',
        Error("cannot convert value to integer"),
        here=9223372036854775807,
        why=WHOLE_VALUE,
    ),
]


@pytest.mark.parametrize(
    "case",
    table(kubernetes=KUBERNETES, parsing=PARSING, functions=FUNCTIONS, differs=DIFFERENCES),
)
def test_quantity_library(case: Case) -> None:
    check(case)


def test_a_quantity_read_from_an_object_compares_by_value() -> None:
    check(
        Case("quantity(object.limit).compareTo(quantity('512Mi')) > 0", True),
        {"object": {"limit": "1Gi"}},
    )
