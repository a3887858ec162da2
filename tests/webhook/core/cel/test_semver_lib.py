"""The semver library against Kubernetes' own table: kubernetes/kubernetes
staging/src/k8s.io/apiserver/pkg/cel/library/semver_test.go (TestSemver, every case; the
environment loads version 1, so the normalising overloads are there), then blang/semver v4's
Parse errors, which semverlib.go passes on unwrapped, and its precedence rules."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Opaque, Refused, check, table

S = "kubernetes.Semver"

KUBERNETES = [
    Case('semver("1.2.3")', Opaque(S, "1.2.3")),
    Case('semver("v1.0")', Error("No Major.Minor.Patch elements found")),
    Case('isSemver("1.2.3-beta.1+build.1")', True),
    Case('isSemver("")', False),
    Case('isSemver("v1.0.0")', False),
    Case('isSemver(" 1.0.0")', False),
    Case('isSemver("1. 0.0")', False),
    Case('isSemver("1.0.0 ")', False),
    Case('isSemver("01.01.01")', False),
    Case('isSemver("1")', False),
    Case('isSemver("1.1")', False),
    Case('isSemver("", true)', False),
    Case('isSemver(" 1.0.0", true)', False),
    Case('isSemver("1. 0.0", true)', False),
    Case('isSemver("1.0.0 ", true)', False),
    Case('isSemver("v1.0.0", true)', True),
    Case('isSemver("01.01.01", true)', True),
    Case('isSemver("1", true)', True),
    Case('isSemver("1.1", true)', True),
    Case("isSemver([1, 2, 3])", Refused("found no matching overload for 'isSemver' applied to")),
    Case('semver("v01.01", true) == semver("1.1.0")', True),
    Case('semver("1.2.3") == semver("1.2.3")', True),
    Case('semver("1.2.3") == semver("1.0.0")', False),
    Case('semver("1.0.0").isLessThan(semver("1.2.3"))', True),
    Case('semver("1.0.0").isLessThan(semver("1.0.0"))', False),
    Case('semver("1.2.3").isGreaterThan(semver("1.0.0"))', True),
    Case('semver("1.0.0").isGreaterThan(semver("1.0.0"))', False),
    Case('semver("1.2.3").compareTo(semver("1.2.3"))', 0),
    Case('semver("1.0.0").compareTo(semver("1.2.3"))', -1),
    Case('semver("1.2.3").compareTo(semver("1.0.0"))', 1),
    Case('semver("1.2.3").major()', 1),
    Case('semver("1.2.3").minor()', 2),
    Case('semver("1.2.3").patch()', 3),
]

PARSING = [
    Case('semver("")', Error("Version string empty")),
    Case('semver("1.2.3.4")', Error('Invalid character(s) found in patch number "3.4"')),
    Case('semver("a.2.3")', Error('Invalid character(s) found in major number "a"')),
    Case('semver("1.b.3")', Error('Invalid character(s) found in minor number "b"')),
    Case('semver("01.2.3")', Error('Major number must not contain leading zeroes "01"')),
    Case('semver("1.02.3")', Error('Minor number must not contain leading zeroes "02"')),
    Case('semver("1.2.03")', Error('Patch number must not contain leading zeroes "03"')),
    Case('semver("1..3")', Error('strconv.ParseUint: parsing "": invalid syntax')),
    Case(
        'semver("99999999999999999999.0.0")',
        Error('strconv.ParseUint: parsing "99999999999999999999": value out of range'),
    ),
    Case('semver("1.2.3-")', Error("Prerelease is empty")),
    Case(
        'semver("1.2.3-01")',
        Error('Numeric PreRelease version must not contain leading zeroes "01"'),
    ),
    Case('semver("1.2.3-a_b")', Error('Invalid character(s) found in prerelease "a_b"')),
    Case('semver("1.2.3+")', Error("Build meta data is empty")),
    Case('semver("1.2.3+a..b")', Error("Build meta data is empty")),
    Case('semver("1.2.3+a_b")', Error('Invalid character(s) found in build meta data "a_b"')),
    Case('semver("1.2.3-rc.1+build.5").patch()', 3),
    # Normalising: one `v` dropped, leading zeros dropped per part (a part that then starts
    # with no digit gets a 0 in front, as in Go), missing parts added.
    Case(
        'semver("v1.2-rc", true)', Error("short version cannot contain PreRelease/Build meta data")
    ),
    Case('semver("1-rc.1", true)', Error('Invalid character(s) found in major number "1-rc"')),
    Case('semver("v1.2.3-00a", true)', Opaque(S, "1.2.3-00a")),
    Case('semver("v1.02.0003", true)', Opaque(S, "1.2.3")),
    Case('semver("vv1.0.0", true)', Error('Invalid character(s) found in major number "0v1"')),
]

FUNCTIONS = [
    # Precedence (semver.org §11): a release ranks above its pre-releases; numeric identifiers
    # compare as numbers and below alphanumeric ones; a longer set of identifiers ranks higher.
    Case('semver("1.0.0-rc.1").isLessThan(semver("1.0.0"))', True),
    Case('semver("1.0.0-alpha").isLessThan(semver("1.0.0-alpha.1"))', True),
    Case('semver("1.0.0-alpha.1").isLessThan(semver("1.0.0-alpha.beta"))', True),
    Case('semver("1.0.0-2").isLessThan(semver("1.0.0-10"))', True),
    Case('semver("1.0.0-beta.11").isLessThan(semver("1.0.0-rc.1"))', True),
    Case('semver("1.2.10").isGreaterThan(semver("1.2.9"))', True),
    # Build metadata takes no part in precedence, nor in equality.
    Case('semver("1.0.0+a").compareTo(semver("1.0.0+b"))', 0),
    Case('semver("1.0.0+a") == semver("1.0.0")', True),
    # A major version above int64 wraps around, as Go's types.Int(uint64) does.
    Case('semver("18446744073709551615.0.0").major()', -1),
    Case('semver("1.2.3").isLessThan(quantity("1"))', Refused("found no matching overload")),
]


@pytest.mark.parametrize("case", table(kubernetes=KUBERNETES, parsing=PARSING, functions=FUNCTIONS))
def test_semver_library(case: Case) -> None:
    check(case)
