"""Routing from the live webhook configurations: which of initgate's webhooks the API server would
call for an object, and under which mode cap, read from the configurations themselves.

`webhook.audit.routing` mirrors the chart's selectors from flags (`--default-mode`,
`--exclude-namespace`); a configuration edited by hand, or installed with the chart's
`webhooks.objectSelector` or `namespaceSelectorExpressions`, sends other objects than the flags
say. With `--webhook-configuration NAME`, the audit reads the ValidatingWebhookConfiguration and
the MutatingWebhookConfiguration called NAME and asks each of their webhook entries, as the API
server does on a CREATE: do its `rules` cover the resource, does its `namespaceSelector` select the
namespace's labels, does its `objectSelector` select the object's labels. The entry's path names
the endpoint and so the mode cap (`/validate/warn`); when several entries select an object, the
highest cap counts (the API server calls each, and the strictest answer stands).

Not evaluated: `matchConditions` (CEL). Entries with conditions are taken as if they matched, and
the audit says so (`Routes.notes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from policies.base import Mode, items, mapping, text
from webhook.engine import Webhook
from webhook.objects import TEMPLATES

CONFIGURATION_KINDS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")

# The resources initgate judges, by (group, kind): the plural of each kind is its resource.
RESOURCES = {(group, kind): f"{kind.lower()}s" for group, _, kind in TEMPLATES}


def selects(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a `metav1.LabelSelector` selects `labels`: every `matchLabels` pair and every
    `matchExpressions` requirement holds. An empty or absent selector selects everything (the API
    server defaults a webhook's selectors to `{}`); an unknown operator selects nothing."""
    selector = mapping(selector)
    for key, value in mapping(selector.get("matchLabels")).items():
        if labels.get(key) != value:
            return False
    for listed in items(selector.get("matchExpressions")):
        requirement = mapping(listed)
        key, operator = text(requirement.get("key")), requirement.get("operator")
        values = items(requirement.get("values"))
        if operator == "In":
            held = key in labels and labels[key] in values
        elif operator == "NotIn":
            held = key not in labels or labels[key] not in values
        elif operator == "Exists":
            held = key in labels
        elif operator == "DoesNotExist":
            held = key not in labels
        else:
            held = False
        if not held:
            return False
    return True


def _covers(rules: Any, group: str, version: str, resource: str) -> bool:
    """Whether a webhook entry's rules cover a CREATE of `resource` (no subresource)."""

    def listed(value: Any, wanted: str) -> bool:
        found = items(value)
        return "*" in found or wanted in found

    for listed_rule in items(rules):
        rule = mapping(listed_rule)
        resources = items(rule.get("resources"))
        if (
            listed(rule.get("operations"), "CREATE")
            and listed(rule.get("apiGroups"), group)
            and listed(rule.get("apiVersions"), version)
            and ("*" in resources or "*/*" in resources or resource in resources)
        ):
            return True
    return False


def endpoint(client_config: Any) -> tuple[Webhook, Mode] | None:
    """(webhook, mode cap) of the endpoint an entry calls, or None for a path that is not one of
    initgate's (`/validate`, `/mutate/warn`...)."""
    client_config = mapping(client_config)
    path = text(mapping(client_config.get("service")).get("path"))
    if not path and text(client_config.get("url")):
        path = urlsplit(text(client_config.get("url"))).path
    webhook, _, cap = path.strip("/").partition("/")
    if webhook not in ("validate", "mutate"):
        return None
    if not cap:
        return ("validate" if webhook == "validate" else "mutate"), Mode.ENFORCE
    if cap not in (Mode.ENFORCE.value, Mode.WARN.value, Mode.AUDIT.value):
        return None
    return ("validate" if webhook == "validate" else "mutate"), Mode(cap)


@dataclass(frozen=True, slots=True)
class Entry:
    """One webhook entry of a configuration, reduced to what routing needs."""

    name: str
    configuration: str
    """`ValidatingWebhookConfiguration initgate`: where the entry is, for notes and reasons."""
    webhook: Webhook
    cap: Mode
    namespace_selector: dict[str, Any]
    object_selector: dict[str, Any]
    rules: list[Any]


@dataclass(slots=True)
class Routes:
    """The entries of the live configurations, and what the audit cannot evaluate in them."""

    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, configurations: list[dict[str, Any]]) -> Routes:
        """Routes from Validating/MutatingWebhookConfiguration objects as the API server serves
        them; entries that call no initgate endpoint are left out, with a note."""
        routes = cls()
        for configuration in configurations:
            where = (
                f"{text(configuration.get('kind'))} "
                f"{text(mapping(configuration.get('metadata')).get('name'))}"
            )
            for listed in items(configuration.get("webhooks")):
                raw = mapping(listed)
                name = text(raw.get("name"))
                called = endpoint(raw.get("clientConfig"))
                if called is None:
                    routes.notes.append(f"{where}: webhook {name} calls no initgate endpoint")
                    continue
                if items(raw.get("matchConditions")):
                    routes.notes.append(
                        f"{where}: webhook {name} has matchConditions, which the audit does not "
                        "evaluate: objects they leave out are audited as if sent"
                    )
                routes.entries.append(
                    Entry(
                        name=name,
                        configuration=where,
                        webhook=called[0],
                        cap=called[1],
                        namespace_selector=mapping(raw.get("namespaceSelector")),
                        object_selector=mapping(raw.get("objectSelector")),
                        rules=items(raw.get("rules")),
                    )
                )
        return routes

    def namespace(self, labels: Mapping[str, Any]) -> Mode | None:
        """The highest cap of the entries whose namespaceSelector selects the namespace, or None
        when none does (nothing in it is sent to initgate)."""
        caps = [e.cap for e in self.entries if selects(e.namespace_selector, labels)]
        return max(caps, key=lambda mode: mode.rank) if caps else None

    def cap(
        self,
        webhook: Webhook,
        obj: dict[str, Any],
        namespace_labels: Mapping[str, Any],
    ) -> Mode | None:
        """The cap under which `webhook` would judge a CREATE of `obj`, or None when no entry of
        that webhook would be called."""
        group, _, version = text(obj.get("apiVersion")).rpartition("/")
        resource = RESOURCES.get((group, text(obj.get("kind"))))
        if resource is None:
            return None
        labels = mapping(mapping(obj.get("metadata")).get("labels"))
        caps = [
            e.cap
            for e in self.entries
            if e.webhook == webhook
            and _covers(e.rules, group, version, resource)
            and selects(e.namespace_selector, namespace_labels)
            and selects(e.object_selector, labels)
        ]
        return max(caps, key=lambda mode: mode.rank) if caps else None
