"""A configuration compiled for the request path: modes resolved, globs turned into regexes.

A `Plan` is built once per configuration load and never changes; a reload swaps the whole plan, so a
request sees one configuration from start to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies import BY_ID, readonly_mounts
from policies.base import Finding, Mode
from policies.caching import LONGEST
from policies.policy import ImageExemption, Policy, PolicySettings
from webhook.core import rules as user_rules
from webhook.core.config import Config
from webhook.core.configerrors import path
from webhook.core.exemptions import ImageRule, Listed, Scope, Who, listed

# Image exemptions are matched once per image and plan, not once per finding: a cluster runs a
# bounded set of images, and the presets alone are ten globs tried on two spellings of each.
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

    def exempts(self, finding: Finding, scope: Scope) -> tuple[str, ...] | None:
        """The labels of the image exemptions that cover the finding (its container's image, or
        for a finding about the pod, the image of every container it concerns), or None."""
        if not self.images:
            return None
        if finding.container is not None:
            label = self._covers(finding.container.image, finding, scope)
            return None if label is None else (label,)
        labels: dict[str, None] = {}
        for container in finding.containers:
            label = self._covers(container.image, finding, scope)
            if label is None:
                return None
            labels[label] = None
        return tuple(labels) or None

    def _covers(self, image: str, finding: Finding, scope: Scope) -> str | None:
        matching = self._by_image.get(image)
        if matching is None:
            matching = tuple(r for r in self.images if r.matches_image(image))
            if len(image) <= LONGEST:  # a client's megabyte-long image is not kept
                if len(self._by_image) >= _IMAGE_CACHE_LIMIT:
                    self._by_image.clear()
                self._by_image[image] = matching
        if not matching:  # most images match no exemption: no generator for them
            return None
        return next((r.label for r in matching if r.applies(finding, scope)), None)


@dataclass(frozen=True, slots=True)
class Plan:
    config: Config
    who: Who
    validate: tuple[Rule, ...]
    mutate: tuple[Rule, ...]
    remedies: dict[str, str] = field(default_factory=dict, compare=False)
    """What a denial says to do, by policy or rule id."""
    exemptions: dict[str, Listed] = field(default_factory=dict, compare=False)
    """Every configured exemption by its label (`exemptions.images[0]`): what a decision's
    `exemptions` name, with their reasons and ends."""
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


def _images(
    config: Config, settings: PolicySettings, prefix: str
) -> list[tuple[ImageExemption, str]]:
    """Every image exemption of a policy, labelled with its place in the configuration."""
    own = settings.exemptions.images
    built_in = [e for e in settings.image_exemptions() if e not in own]
    return [
        *((e, f"exemptions.images[{i}]") for i, e in enumerate(config.exemptions.images)),
        *((e, f"{prefix}.exemptions.images[{i}]") for i, e in enumerate(own)),
        *((e, f"{prefix}.presets") for e in built_in),
    ]


def compile_plan(config: Config) -> Plan:
    """Resolve every policy's and user rule's mode and compile every exemption of `config`."""
    flow = config.policy("readonly-mounts")
    assert isinstance(flow, readonly_mounts.ReadonlyMountsSettings)  # noqa: S101 - by its id
    rule_set = user_rules.rule_set(config.rules, flow)
    rules: list[Rule] = []
    catalogue = {e.label: e for e in listed(config.exemptions, "exemptions")}
    for loc, settings in config.placed():
        policy = (
            user_rules.policy(settings, rule_set)
            if isinstance(settings, user_rules.RuleSettings)
            else BY_ID[str(loc[1])]
        )
        prefix = path(loc)
        images = _images(config, settings, prefix)
        for entry in listed(settings.exemptions, f"{prefix}.exemptions"):
            catalogue[entry.label] = entry
        for exemption, label in images:  # the presets share one label, and have no end
            catalogue.setdefault(label, Listed.of(exemption, label))
        rules.append(
            Rule(
                policy=policy,
                settings=settings,
                mode=settings.mode or config.mode,
                who=Who.of(settings.exemptions, f"{prefix}.exemptions"),
                images=tuple(
                    ImageRule.of(exemption, policy.renamed_keys, label=label)
                    for exemption, label in images
                ),
            )
        )
    return Plan(
        config=config,
        who=Who.of(config.exemptions),
        validate=tuple(r for r in rules if r.policy.kind == "validate"),
        mutate=tuple(r for r in rules if r.policy.kind == "mutate"),
        remedies={r.policy.id: r.policy.remedy for r in rules},
        exemptions=catalogue,
    )
