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

An entry's `matchConditions` (CEL) are evaluated too, with the CEL project's own runtime, the
strings extension and the optional values (`object.metadata.?labels.?app.orValue("")`) that
Kubernetes loads: `object` is the object, `oldObject` null, and `request` what the API server would
send for its CREATE (kind, resource, name, namespace, operation, dryRun, options). The object's
metadata is what the API server sends on its CREATE, as far as the stored object tells: a mutating
webhook is called before the object has a uid, a creationTimestamp, a generation, or the name it
generates from a `generateName` (which a validating webhook gets: for a pod made from a workload's
template, it is written `<generateName>xxxxx`). As in the API server, a false condition leaves the
entry out, and one that fails leaves it out under `failurePolicy: Ignore` (under `Fail` the API
server refuses the object, which is audited as sent). What an audit cannot know, who creates the
object (`request.userInfo`, `authorizer`), makes a condition undecidable, and so does one that
needs a CEL library not loaded here: such a condition is taken as true, so that the audit errs
towards reporting, and a note (`Routes.notes`, once per condition) says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from policies.base import Mode, items, mapping, text
from webhook.core.cel.environment import CompileError, EvaluationError
from webhook.core.cel.expression import compile_checked
from webhook.core.engine import Webhook
from webhook.core.objects import TEMPLATES

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
class Condition:
    """One `matchConditions` entry, compiled; `program` is None when the audit cannot evaluate
    it (it reads who asks, or does not compile here), and it is then taken as true."""

    name: str
    program: Any


# What a webhook's matchConditions read (the audit evaluates them in the one CEL environment).
_CONDITION_VARIABLES = frozenset(("object", "oldObject", "request"))
# What an audit cannot know: who will create the object, and what they may do.
_REQUESTER = re.compile(r"\brequest\s*\.\s*userInfo\b|\bauthorizer\b")


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
    conditions: tuple[Condition, ...] = ()
    ignore_errors: bool = False
    """`failurePolicy: Ignore`: a condition that fails leaves the entry out (with `Fail`, the
    default, the API server refuses the object)."""


@dataclass(slots=True)
class Routes:
    """The entries of the live configurations, and what the audit cannot evaluate in them."""

    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _noted: set[str] = field(default_factory=set, repr=False)

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
                conditions = routes._compile(
                    f"{where}: webhook {name}", items(raw.get("matchConditions"))
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
                        conditions=conditions,
                        ignore_errors=raw.get("failurePolicy") == "Ignore",
                    )
                )
        return routes

    def note(self, about: str, text: str) -> None:
        """Add a note about `about` (a condition, an entry), once: a condition is evaluated for
        every object of the cluster."""
        if about not in self._noted:
            self._noted.add(about)
            self.notes.append(f"{about}: {text}")

    def _compile(self, where: str, listed: list[Any]) -> tuple[Condition, ...]:
        conditions = []
        for raw in listed:
            condition = mapping(raw)
            name, expression = text(condition.get("name")), text(condition.get("expression"))
            about = f"{where}: matchCondition {name}"
            program = None
            if _REQUESTER.search(expression):
                self.note(
                    about, f"reads who creates the object, which an audit cannot know: {_TRUE}"
                )
            else:
                try:
                    program = compile_checked(
                        expression, variables=_CONDITION_VARIABLES, results=frozenset(("bool",))
                    )
                except CompileError as error:
                    self.note(about, f"cannot be evaluated here ({_first(error)}): {_TRUE}")
            conditions.append(Condition(name, program))
        return tuple(conditions)

    def _called(self, entry: Entry, obj: dict[str, Any], request: dict[str, Any]) -> bool:
        """Whether the API server would call the entry's webhook on a CREATE of `obj`: no
        condition false, and none failing under `failurePolicy: Ignore`. A condition that fails
        under `Fail` makes the API server refuse the object: it is audited as sent."""
        failed = False
        for condition in entry.conditions:
            if condition.program is None:
                continue
            about = f"{entry.configuration}: webhook {entry.name}: matchCondition {condition.name}"
            error, value = False, None
            try:
                value = condition.program.evaluate(
                    {"object": obj, "oldObject": None, "request": request}
                )
            except EvaluationError as raised:
                error, value = True, raised
            if not error and value is False:
                return False
            if error or value is not True:
                failed = True
                problem = _first(value) if error else f"gives {_first(value)}, not a boolean"
                outcome = (
                    "failurePolicy Ignore: not sent"
                    if entry.ignore_errors
                    else "failurePolicy Fail: the API server refuses them; audited as sent"
                )
                self.note(about, f"fails on some objects ({problem}); {outcome}")
        return not (failed and entry.ignore_errors)

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
        metadata = mapping(obj.get("metadata"))
        labels = mapping(metadata.get("labels"))
        selected = [
            e
            for e in self.entries
            if e.webhook == webhook
            and _covers(e.rules, group, version, resource)
            and selects(e.namespace_selector, namespace_labels)
            and selects(e.object_selector, labels)
        ]
        if any(e.conditions for e in selected):
            namespace = text(metadata.get("namespace")) or text(
                namespace_labels.get("kubernetes.io/metadata.name")
            )
            obj = _as_sent(obj, metadata, webhook)
            request = _request(obj, group, version, resource, namespace)
            selected = [e for e in selected if self._called(e, obj, request)]
        caps = [e.cap for e in selected]
        return max(caps, key=lambda mode: mode.rank) if caps else None


_TRUE = "taken as true (the audit reports what it might leave out)"

# What the API server appends to a `generateName` (k8s.io/apiserver's SimpleNameGenerator): five
# characters of an alphabet without vowels, after at most 58 characters of the prefix.
_GENERATED_SUFFIX = re.compile(r"[bcdfghjklmnpqrstvwxz2456789]{5}")
_GENERATED_PREFIX = 63 - 5
_PLACEHOLDER = "xxxxx"


# Metadata the API server sets when it stores a new object, after mutating admission and before
# validating admission (as the captured calls show), and what changes once it is stored.
_SET_AFTER_MUTATING = ("uid", "creationTimestamp", "generation")
_SET_ONCE_STORED = ("resourceVersion",)


def _as_sent(obj: dict[str, Any], metadata: Mapping[str, Any], webhook: Webhook) -> dict[str, Any]:
    """An object's metadata as the API server sends it to `webhook` on its CREATE: without a
    resourceVersion; to a mutating webhook also without uid, creationTimestamp and generation,
    and without a name generated from `generateName` (not made yet). To a validating webhook, an
    object with a `generateName` and no name (a pod the audit makes from a workload's template)
    has the name the API server would generate, its five random characters written `xxxxx`."""
    dropped: tuple[str, ...] = _SET_ONCE_STORED
    if webhook == "mutate":
        dropped += _SET_AFTER_MUTATING + (("name",) if _generated(metadata) else ())
    prefix = text(metadata.get("generateName"))
    unnamed = webhook == "validate" and bool(prefix) and not text(metadata.get("name"))
    if not unnamed and not any(key in metadata for key in dropped):
        return obj
    sent = {k: v for k, v in metadata.items() if k not in dropped}
    if unnamed:
        sent["name"] = prefix[:_GENERATED_PREFIX] + _PLACEHOLDER
    return {**obj, "metadata": sent}


def _generated(metadata: Mapping[str, Any]) -> bool:
    """Whether a stored object's name is one the API server generated from its `generateName`."""
    prefix, name = text(metadata.get("generateName")), text(metadata.get("name"))
    base = prefix[:_GENERATED_PREFIX]
    return (
        bool(prefix)
        and name.startswith(base)
        and bool(_GENERATED_SUFFIX.fullmatch(name[len(base) :]))
    )


def _first(value: object) -> str:
    """The first line of an error or a value, short enough for a note."""
    line = str(value).strip().splitlines()[0] if str(value).strip() else repr(value)
    return line if len(line) <= 160 else f"{line[:159]}…"


def _request(
    obj: dict[str, Any], group: str, version: str, resource: str, namespace: str
) -> dict[str, Any]:
    """The `request` variable of a CREATE of `obj`, less what an audit cannot know (who asks)."""
    kind = {"group": group, "version": version, "kind": text(obj.get("kind"))}
    plural = {"group": group, "version": version, "resource": resource}
    request: dict[str, Any] = {
        "kind": kind,
        "resource": plural,
        "requestKind": kind,
        "requestResource": plural,
        "namespace": namespace,
        "operation": "CREATE",
        "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    if name := text(mapping(obj.get("metadata")).get("name")):
        request["name"] = name  # absent when there is none yet, as the API server sends it
    return request
