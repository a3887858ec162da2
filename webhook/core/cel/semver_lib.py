"""Kubernetes' semver library (k8s.io/apiserver/pkg/cel/library/semverlib.go, version 1):
semantic versions as github.com/blang/semver/v4 parses and orders them.

    semver('1.2.3').isLessThan(semver('1.10.0'))        true
    semver('1.0.0-rc.1').compareTo(semver('1.0.0'))     -1
    isSemver('v1.2')                                    false
    semver('v1.2', true).minor()                        2   (normalised: v dropped, .0 added)
"""

from __future__ import annotations

from dataclasses import dataclass

from webhook.core.cel.library import (
    Function,
    Library,
    LibraryError,
    Opaque,
    go_quote,
    method,
    overload,
)

SEMVER = "kubernetes.Semver"
_DIGITS = frozenset("0123456789")
_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-")
_UINT64 = 2**64 - 1


@dataclass(frozen=True, slots=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    def key(self) -> tuple[object, ...]:
        """The precedence order: a release ranks above its pre-releases; numeric identifiers
        rank below alphanumeric ones."""
        pre = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.pre)
        return (self.major, self.minor, self.patch, not self.pre, pre)


def parse(text: str, normalise: bool = False) -> Version:  # noqa: FBT001, FBT002 - CEL's signature
    """The version `text` writes; a CEL error, in blang/semver's words, otherwise."""
    try:
        return _parse(_normalised(text) if normalise else text)
    except ValueError as error:
        raise LibraryError(str(error)) from None


def _parse(text: str) -> Version:
    """blang/semver v4's `Parse`, check by check and message by message."""
    if not text:
        raise ValueError("Version string empty")
    parts = text.split(".", 2)
    if len(parts) != 3:
        raise ValueError("No Major.Minor.Patch elements found")
    major = _number(parts[0], "major", "Major")
    minor = _number(parts[1], "minor", "Minor")
    patch, _, build = parts[2].partition("+")
    patch, dash, pre = patch.partition("-")
    version = Version(major, minor, _number(patch, "patch", "Patch"))
    identifiers = tuple(_prerelease(part) for part in pre.split(".")) if dash else ()
    for part in build.split(".") if "+" in parts[2] else ():
        if not part:
            raise ValueError("Build meta data is empty")
        if not set(part) <= _ALPHANUMERIC:
            raise ValueError(f"Invalid character(s) found in build meta data {go_quote(part)}")
    return Version(version.major, version.minor, version.patch, identifiers)


def _number(part: str, name: str, title: str) -> int:
    if not set(part) <= _DIGITS:
        raise ValueError(f"Invalid character(s) found in {name} number {go_quote(part)}")
    if len(part) > 1 and part.startswith("0"):
        raise ValueError(f"{title} number must not contain leading zeroes {go_quote(part)}")
    return _uint(part)


def _uint(part: str) -> int:
    """Go's `strconv.ParseUint(part, 10, 64)`, with its errors."""
    if not part:
        raise ValueError('strconv.ParseUint: parsing "": invalid syntax')
    if len(part) > 20 or int(part) > _UINT64:
        raise ValueError(f"strconv.ParseUint: parsing {go_quote(part)}: value out of range")
    return int(part)


def _prerelease(part: str) -> int | str:
    if not part:
        raise ValueError("Prerelease is empty")
    if set(part) <= _DIGITS:
        if len(part) > 1 and part.startswith("0"):
            raise ValueError(
                f"Numeric PreRelease version must not contain leading zeroes {go_quote(part)}"
            )
        return _uint(part)
    if not set(part) <= _ALPHANUMERIC:
        raise ValueError(f"Invalid character(s) found in prerelease {go_quote(part)}")
    return part


def _normalised(text: str) -> str:
    """Kubernetes' `normalizeAndParse`: one leading `v` dropped, leading zeros dropped from
    each of the three parts, and missing minor and patch numbers written as 0."""
    parts = text.removeprefix("v").split(".", 2)
    for index, part in enumerate(parts):
        if len(part) > 1:
            trimmed = part.lstrip("0")
            parts[index] = (
                trimmed if trimmed[:1].isdigit() and trimmed[:1].isascii() else "0" + trimmed
            )
    if len(parts) < 3:
        if any(c in parts[-1] for c in "+-"):
            raise ValueError("short version cannot contain PreRelease/Build meta data")
        parts += ["0"] * (3 - len(parts))
    return ".".join(parts)


def is_semver(text: str, normalise: bool = False) -> bool:  # noqa: FBT001, FBT002
    try:
        parse(text, normalise)
    except LibraryError:
        return False
    return True


def _int64(value: int) -> int:
    """Go's `types.Int(uint64)`: a number above int64's range wraps around, as in Kubernetes."""
    return value - 2**64 if value >= 2**63 else value


def _encode(version: Version) -> str:
    """Build metadata is not part of a version's identity (blang's Equals ignores it)."""
    pre = ".".join(str(p) for p in version.pre)
    return f"{version.major}.{version.minor}.{version.patch}" + (f"-{pre}" if pre else "")


def _compare(one: Version, other: Version) -> int:
    a, b = one.key(), other.key()
    return (a > b) - (a < b)


LIBRARY = Library(
    name="semver",
    types=(Opaque(SEMVER, encode=_encode, decode=parse),),
    functions=(
        Function(
            "semver",
            (
                overload("string_to_semver", "string", SEMVER, parse),
                overload("string_bool_to_semver", "string, bool", SEMVER, parse),
            ),
        ),
        Function(
            "isSemver",
            (
                overload("is_semver_string", "string", "bool", is_semver),
                overload("is_semver_string_bool", "string, bool", "bool", is_semver),
            ),
        ),
        Function("major", (method("semver_major", SEMVER, "int", lambda v: _int64(v.major)),)),
        Function("minor", (method("semver_minor", SEMVER, "int", lambda v: _int64(v.minor)),)),
        Function("patch", (method("semver_patch", SEMVER, "int", lambda v: _int64(v.patch)),)),
        Function(
            "isGreaterThan",
            (
                method(
                    "semver_is_greater_than",
                    f"{SEMVER}, {SEMVER}",
                    "bool",
                    lambda a, b: _compare(a, b) > 0,
                ),
            ),
        ),
        Function(
            "isLessThan",
            (
                method(
                    "semver_is_less_than",
                    f"{SEMVER}, {SEMVER}",
                    "bool",
                    lambda a, b: _compare(a, b) < 0,
                ),
            ),
        ),
        Function(
            "compareTo",
            (method("semver_compare_to", f"{SEMVER}, {SEMVER}", "int", _compare),),
        ),
    ),
)
