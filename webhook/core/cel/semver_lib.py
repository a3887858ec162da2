"""Kubernetes' semver library (k8s.io/apiserver/pkg/cel/library/semverlib.go, version 1):
semantic versions as github.com/blang/semver/v4 parses and orders them.

    semver('1.2.3').isLessThan(semver('1.10.0'))        true
    semver('1.0.0-rc.1').compareTo(semver('1.0.0'))     -1
    isSemver('v1.2')                                    false
    semver('v1.2', true).minor()                        2   (normalised: v dropped, .0 added)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from webhook.core.cel.library import Function, Library, LibraryError, Opaque, method, overload

SEMVER = "kubernetes.Semver"
_NUMBER = re.compile(r"0|[1-9][0-9]*")
_IDENTIFIER = re.compile(r"[0-9A-Za-z-]+")
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
    """The version `text` writes; a CEL error otherwise."""
    if normalise:
        text = _normalised(text)
    core, _, build = text.partition("+")
    if build and not all(_IDENTIFIER.fullmatch(part) for part in build.split(".")):
        raise LibraryError(f"semver parse error: invalid build metadata in {text!r}")
    core, dash, pre_text = core.partition("-")
    parts = core.split(".")
    if len(parts) != 3:
        raise LibraryError(f"semver parse error: No Major.Minor.Patch elements found in {text!r}")
    numbers = []
    for name, part in zip(("major", "minor", "patch"), parts, strict=True):
        if not _NUMBER.fullmatch(part) or int(part) > _UINT64:
            raise LibraryError(f"semver parse error: invalid {name} number {part!r}")
        numbers.append(int(part))
    pre: list[int | str] = []
    if dash:
        for part in pre_text.split("."):
            if not _IDENTIFIER.fullmatch(part):
                raise LibraryError(f"semver parse error: invalid prerelease {pre_text!r}")
            if part.isdigit():
                if not _NUMBER.fullmatch(part):
                    raise LibraryError(f"semver parse error: leading zeroes in {part!r}")
                pre.append(int(part))
            else:
                pre.append(part)
    return Version(numbers[0], numbers[1], numbers[2], tuple(pre))


def _normalised(text: str) -> str:
    text = text.removeprefix("v")
    core, separator, rest = _split(text)
    parts = core.split(".")
    if len(parts) < 3 and separator:
        raise LibraryError(
            "semver parse error: short version cannot contain PreRelease/Build meta data"
        )
    parts = [p.lstrip("0") or "0" if p.isdigit() else p for p in parts]
    parts += ["0"] * (3 - len(parts))
    return ".".join(parts) + separator + rest


def _split(text: str) -> tuple[str, str, str]:
    match = re.search(r"[-+]", text)
    if match is None:
        return text, "", ""
    return text[: match.start()], match[0], text[match.end() :]


def is_semver(text: str, normalise: bool = False) -> bool:  # noqa: FBT001, FBT002
    try:
        parse(text, normalise)
    except LibraryError:
        return False
    return True


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
        Function("major", (method("semver_major", SEMVER, "int", lambda v: v.major),)),
        Function("minor", (method("semver_minor", SEMVER, "int", lambda v: v.minor),)),
        Function("patch", (method("semver_patch", SEMVER, "int", lambda v: v.patch),)),
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
