"""Exemptions compiled for the request path: who is left alone (namespaces, users, groups) and
which images, each with the place it is written in the configuration (its label, reported where
it applies) and the instant it ends.

An exemption with `expires` is compared with the request's time on every request: it stops
applying at that instant, without a reload.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from policies.base import Finding
from policies.caching import short_lru_cache
from policies.policy import (
    Exemptions,
    GroupExemption,
    ImageExemption,
    NamespaceExemption,
    UserExemption,
    expiry_time,
    glob_matcher,
)
from webhook.core.objects import Request


@short_lru_cache(maxsize=4096)
def normalise_image(image: str) -> str:
    """The image with its implicit registry and namespace (`nginx` is docker.io/library/nginx)."""
    first, slash, rest = image.partition("/")
    if not slash:
        return f"docker.io/library/{image}"
    if first == "index.docker.io":
        return f"docker.io/{rest}" if "/" in rest else f"docker.io/library/{rest}"
    if "." not in first and ":" not in first and first != "localhost":
        return f"docker.io/{image}"
    return image


@dataclass(slots=True)  # built per request: not frozen (see DEVELOPERS.md)
class Scope:
    """What an image exemption may be limited to, besides the image: the request's namespace,
    whether the pod shares the node's network, and the time (an exemption may have ended)."""

    namespace: str
    host_network: bool
    now: float


@dataclass(frozen=True, slots=True)
class ImageRule:
    """A compiled image exemption."""

    matches: Callable[[str], bool]
    allows: Callable[[str], bool] | None
    """Which finding keys (or controls) it exempts; None: all of them."""
    namespaces: Callable[[str], bool] | None = None
    """The namespaces it is limited to; None: every namespace."""
    except_host_network: bool = False
    label: str = ""
    """Where it is written: `exemptions.images[0]`, `policies.init-privileged.presets`."""
    expires: float | None = None

    @classmethod
    def of(
        cls,
        exemption: ImageExemption,
        renamed: tuple[tuple[str, str], ...] = (),
        *,
        label: str = "",
    ) -> ImageRule:
        allows = None
        if exemption.allow is not None:
            allows = glob_matcher((*exemption.allow, *_renamed(exemption.allow, renamed)))
        namespaces = glob_matcher(exemption.namespaces) if exemption.namespaces else None
        return cls(
            glob_matcher((exemption.image,)),
            allows,
            namespaces,
            exemption.except_host_network,
            label,
            expiry_time(exemption.expires) if exemption.expires else None,
        )

    def matches_image(self, image: str) -> bool:
        return self.matches(image) or self.matches(normalise_image(image))

    def applies(self, finding: Finding, scope: Scope) -> bool:
        """Whether it lifts `finding` (its image already matched) in the request's `scope`."""
        if self.expires is not None and scope.now >= self.expires:
            return False
        if self.except_host_network and scope.host_network:
            return False
        if self.namespaces is not None and not self.namespaces(scope.namespace):
            return False
        allows = self.allows
        return (
            allows is None
            or allows(finding.key)
            or (bool(finding.control) and allows(finding.control))
        )


def _renamed(patterns: tuple[str, ...], renamed: tuple[tuple[str, str], ...]) -> list[str]:
    """The patterns written with a key's old name (`hostPathWrite:*`), under its new one."""
    return [
        new + pattern[len(old) :]
        for pattern in patterns
        for old, new in renamed
        if pattern == old or pattern.startswith(f"{old}:")
    ]


Entry = str | NamespaceExemption | UserExemption | GroupExemption


@dataclass(frozen=True, slots=True)
class Globs:
    """The namespace, user or group exemptions of one list: the lasting ones as one regular
    expression (the common case costs one match), the ending ones each with its end."""

    lasting: Callable[[str], int | None] | None
    """The index (into `labels`) of the lasting glob a value matches."""
    labels: tuple[str, ...]
    ending: tuple[tuple[Callable[[str], bool], float, str], ...]

    @classmethod
    def of(cls, entries: Sequence[Entry], prefix: str) -> Globs | None:
        if not entries:
            return None
        lasting: list[tuple[str, str]] = []
        ending = []
        for index, entry in enumerate(entries):
            label = f"{prefix}[{index}]"
            if isinstance(entry, str):
                lasting.append((entry, label))
                continue
            glob = _glob(entry)
            if entry.expires is None:
                lasting.append((glob, label))
            else:
                ending.append((glob_matcher((glob,)), expiry_time(entry.expires), label))
        return cls(
            _indexed([glob for glob, _ in lasting]) if lasting else None,
            tuple(label for _, label in lasting),
            tuple(ending),
        )

    def which(self, value: str, now: float) -> str | None:
        """The label of the exemption that `value` matches, or None."""
        if self.lasting is not None:
            index = self.lasting(value)
            if index is not None:
                return self.labels[index]
        for matches, expires, label in self.ending:
            if now < expires and matches(value):
                return label
        return None


def _glob(entry: NamespaceExemption | UserExemption | GroupExemption) -> str:
    if isinstance(entry, NamespaceExemption):
        return entry.namespace
    return entry.user if isinstance(entry, UserExemption) else entry.group


def _indexed(globs: list[str]) -> Callable[[str], int | None]:
    """One regular expression for the globs, telling which one matched (fnmatch's translations
    hold no capturing group, so each glob's group number is its index plus one)."""
    regex = re.compile("|".join(f"({fnmatch.translate(glob)})" for glob in globs))

    def which(value: str) -> int | None:
        match = regex.match(value)
        return None if match is None or match.lastindex is None else match.lastindex - 1

    return which


@dataclass(frozen=True, slots=True)
class Listed:
    """A configured exemption under the label decisions report it by: when it ends (seconds
    since the epoch; None: never) and why it was granted (for the decision line and the expiry
    gauge, which name it)."""

    label: str
    expires: float | None
    reason: str

    @classmethod
    def of(cls, entry: Entry | ImageExemption, label: str) -> Listed:
        if isinstance(entry, str):
            return cls(label, None, "")
        return cls(label, expiry_time(entry.expires) if entry.expires else None, entry.reason)


def listed(exemptions: Exemptions, prefix: str) -> list[Listed]:
    """The namespace, user and group exemptions of one level, labelled as `Who.of` labels them."""
    return [
        Listed.of(entry, f"{prefix}.{kind}[{index}]")
        for kind, entries in (
            ("namespaces", exemptions.namespaces),
            ("users", exemptions.users),
            ("groups", exemptions.groups),
        )
        for index, entry in enumerate(entries)
    ]


@dataclass(frozen=True, slots=True)
class Who:
    """Compiled namespace, user and group exemptions."""

    namespace: Globs | None
    user: Globs | None
    group: Globs | None
    """Each None when nothing is listed: the default exempts namespaces only, and every request
    asks."""
    empty: bool
    """No exemption at all: most policies, so the common case costs one attribute read."""

    @classmethod
    def of(cls, exemptions: Exemptions, prefix: str = "exemptions") -> Who:
        return cls(
            Globs.of(exemptions.namespaces, f"{prefix}.namespaces"),
            Globs.of(exemptions.users, f"{prefix}.users"),
            Globs.of(exemptions.groups, f"{prefix}.groups"),
            empty=not (exemptions.namespaces or exemptions.users or exemptions.groups),
        )

    def exempts(self, request: Request, now: float) -> tuple[str, str] | None:
        """Why the request is exempt: its kind (`namespace`, `user`, `group`, for metrics) and
        the exemption's label (for the decision line); None when it is not."""
        if self.namespace is not None:
            label = self.namespace.which(request.effective_namespace, now)
            if label is not None:
                return "namespace", label
        if self.user is not None:
            label = self.user.which(request.username, now)
            if label is not None:
                return "user", label
        if self.group is not None:
            for group in request.groups:
                label = self.group.which(group, now)
                if label is not None:
                    return "group", label
        return None
