"""A configuration compiled for the request path: modes resolved, globs turned into regexes.

A `Plan` is built once per configuration load and never changes; a reload swaps the whole plan, so a
request sees one configuration from start to end.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from policies import REGISTRY
from policies.base import Finding, Mode
from policies.caching import LONGEST, short_lru_cache
from policies.policy import Exemptions, ImageExemption, Policy, PolicySettings, glob_matcher
from webhook.core.config import Config
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


@dataclass(frozen=True, slots=True)
class ImageRule:
    """A compiled image exemption."""

    matches: Callable[[str], bool]
    allows: Callable[[str], bool] | None
    """Which finding keys (or controls) it exempts; None: all of them."""
    namespaces: Callable[[str], bool] | None = None
    """The namespaces it is limited to; None: every namespace."""
    except_host_network: bool = False

    @classmethod
    def of(cls, exemption: ImageExemption, renamed: tuple[tuple[str, str], ...] = ()) -> ImageRule:
        allows = None
        if exemption.allow is not None:
            allows = glob_matcher((*exemption.allow, *_renamed(exemption.allow, renamed)))
        namespaces = glob_matcher(exemption.namespaces) if exemption.namespaces else None
        return cls(
            glob_matcher((exemption.image,)), allows, namespaces, exemption.except_host_network
        )

    def matches_image(self, image: str) -> bool:
        return self.matches(image) or self.matches(normalise_image(image))

    def applies(self, finding: Finding, scope: Scope) -> bool:
        """Whether it lifts `finding` (its image already matched) in the request's `scope`."""
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


@dataclass(slots=True)  # built per request: not frozen (see DEVELOPERS.md)
class Scope:
    """What an image exemption may be limited to, besides the image: the request's namespace,
    and whether the pod shares the node's network."""

    namespace: str
    host_network: bool


@dataclass(frozen=True, slots=True)
class Who:
    """Compiled namespace, user and group exemptions."""

    namespace: Callable[[str], bool] | None
    user: Callable[[str], bool] | None
    group: Callable[[str], bool] | None
    """Each None when nothing is listed: the default exempts namespaces only, and every request
    asks."""
    empty: bool
    """No exemption at all: most policies, so the common case costs one attribute read."""

    @classmethod
    def of(cls, exemptions: Exemptions) -> Who:
        def matcher(patterns: tuple[str, ...]) -> Callable[[str], bool] | None:
            return glob_matcher(patterns) if patterns else None

        return cls(
            matcher(exemptions.namespaces),
            matcher(exemptions.users),
            matcher(exemptions.groups),
            empty=not (exemptions.namespaces or exemptions.users or exemptions.groups),
        )

    def exempts(self, request: Request) -> str | None:
        """Why the request is exempt (for the decision log), or None."""
        if self.namespace is not None and self.namespace(request.effective_namespace):
            return "namespace"
        if self.user is not None and self.user(request.username):
            return "user"
        group = self.group
        if group is not None and any(group(g) for g in request.groups):
            return "group"
        return None


# Image exemptions are matched once per image and plan, not once per finding: a cluster runs a
# bounded set of images, and the presets alone are five globs tried on two spellings of each.
_IMAGE_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class Rule:
    """One policy as configured: its settings, its mode, its exemptions."""

    policy: Policy[Any]
    settings: PolicySettings
    mode: Mode
    who: Who
    images: tuple[ImageRule, ...]
    _by_image: dict[str, tuple[ImageRule, ...]] = field(default_factory=dict, compare=False)

    def exempts(self, finding: Finding, scope: Scope) -> bool:
        """Whether an image exemption covers the finding: its container's image, or for a finding
        about the pod, the image of every container it concerns."""
        if not self.images:
            return False
        if finding.container is not None:
            return self._covers(finding.container.image, finding, scope)
        concerned = finding.containers
        return bool(concerned) and all(self._covers(c.image, finding, scope) for c in concerned)

    def _covers(self, image: str, finding: Finding, scope: Scope) -> bool:
        matching = self._by_image.get(image)
        if matching is None:
            matching = tuple(r for r in self.images if r.matches_image(image))
            if len(image) <= LONGEST:  # a client's megabyte-long image is not kept
                if len(self._by_image) >= _IMAGE_CACHE_LIMIT:
                    self._by_image.clear()
                self._by_image[image] = matching
        if not matching:  # most images match no exemption: no generator for them
            return False
        return any(r.applies(finding, scope) for r in matching)


@dataclass(frozen=True, slots=True)
class Plan:
    config: Config
    who: Who
    validate: tuple[Rule, ...]
    mutate: tuple[Rule, ...]
    _active: dict[tuple[str, Mode], tuple[tuple[Rule, Mode], ...]] = field(
        default_factory=dict, compare=False
    )

    def rules(self, webhook: str) -> tuple[Rule, ...]:
        return self.mutate if webhook == "mutate" else self.validate

    def active(self, webhook: str, cap: Mode) -> tuple[tuple[Rule, Mode], ...]:
        """The rules of `webhook` that are not off under `cap`, each with its capped mode (worked
        out once per plan, endpoint and cap, not on every request)."""
        found = self._active.get((webhook, cap))
        if found is None:
            capped = ((rule, rule.mode.cap(cap)) for rule in self.rules(webhook))
            found = tuple((rule, mode) for rule, mode in capped if mode is not Mode.OFF)
            self._active[(webhook, cap)] = found
        return found


def compile_plan(config: Config) -> Plan:
    """Resolve every policy's mode and compile every exemption of `config`."""
    rules: list[Rule] = []
    for policy in REGISTRY:
        settings = config.policy(policy.id)
        exemptions = (*config.exemptions.images, *settings.image_exemptions())
        rules.append(
            Rule(
                policy=policy,
                settings=settings,
                mode=settings.mode or config.mode,
                who=Who.of(settings.exemptions),
                images=tuple(ImageRule.of(e, policy.renamed_keys) for e in exemptions),
            )
        )
    return Plan(
        config=config,
        who=Who.of(config.exemptions),
        validate=tuple(r for r in rules if r.policy.kind == "validate"),
        mutate=tuple(r for r in rules if r.policy.kind == "mutate"),
    )
