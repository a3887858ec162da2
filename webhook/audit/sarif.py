"""SARIF 2.1.0, so that CI systems (GitHub code scanning, GitLab...) show findings inline.

One rule per policy, in registry order, then one per rule of the configuration (`rules:`), in its
order (so `ruleIndex` is stable for a configuration); one result per finding, at the file and line
of the container or volume it is about. The exemptions that applied are in the run's property bag
(code scanning tools show every result as an alert, and not all of them honour `suppressions`).
Documents that could not be read become tool execution notifications (errors: the invocation is
then not successful), and so does each policy or rule that could not evaluate an object (a
warning: the object was judged without it).
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from policies.base import Mode
from policies.policy import Policy
from webhook._version import __version__
from webhook.audit.evaluate import Audited, Item
from webhook.audit.manifests import STDIN, Problem, Source
from webhook.audit.report import Report, describe, title
from webhook.core.config import DOCS_URL
from webhook.core.plan import Plan, Rule
from webhook.core.rules import RuleSettings

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/initgate/initgate"
_LEVELS = {Mode.ENFORCE: "error", Mode.WARN: "warning", Mode.AUDIT: "note", Mode.OFF: "none"}


def level(item: Item) -> str:
    """error for what would be denied, warning for warnings, note for audit findings and for
    patches (the webhook fixes those itself)."""
    if item.webhook == "mutate":
        return "warning" if item.mode is Mode.WARN else "note"
    return _LEVELS[item.mode]


def _rules(plan: Plan) -> list[dict[str, Any]]:
    # Built-in policies first, in registry order, then the configuration's rules in theirs.
    configured = sorted(
        (*plan.validate, *plan.mutate), key=lambda r: isinstance(r.settings, RuleSettings)
    )
    return [_rule(rule) for rule in configured]


def _rule(rule: Rule) -> dict[str, Any]:
    policy, mode = rule.policy, rule.mode
    default = "note" if policy.kind == "mutate" and mode is not Mode.OFF else _LEVELS[mode]
    found: dict[str, Any] = {
        "id": policy.id,
        "name": "".join(word.title() for word in policy.id.split("-")),
        "shortDescription": {"text": policy.summary},
        "fullDescription": {"text": f"{policy.summary} {policy.remedy}"},
        "help": _help(policy),
        "helpUri": f"{DOCS_URL}#{policy.id}",
        "defaultConfiguration": {"level": default},
        "properties": {"kind": policy.kind, "tags": ["kubernetes", "init-containers"]},
    }
    if isinstance(rule.settings, RuleSettings):
        # A platform team's own rule: its description is all it has to say, and its expression
        # is what a reviewer wants to read; it has no page in initgate's documentation.
        settings = rule.settings
        found["fullDescription"] = {"text": settings.description}
        found["help"] = {
            "text": f"{settings.description}\n\nCEL: {settings.expression}",
            "markdown": f"{settings.description}\n\n```cel\n{settings.expression}\n```",
        }
        del found["helpUri"]
        roles = ["pod"] if settings.scope == "pod" else [str(r) for r in settings.roles]
        found["properties"] = {
            "kind": policy.kind,
            "tags": ["kubernetes", "init-containers", "rule"],
            "roles": roles,
        }
    return found


def _help(policy: Policy[Any]) -> dict[str, str]:
    return {
        "text": policy.remedy,
        "markdown": f"{policy.remedy}\n\nSee [{policy.id}]({DOCS_URL}#{policy.id}).",
    }


def _uri(file: str) -> str:
    return quote(file.replace("\\", "/"), safe="/:")


def _physical(source: Source | None, line: int | None) -> dict[str, Any] | None:
    if source is None or source.file == STDIN:
        return None
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(source.file)}}
    start = line if line is not None else source.line
    if start is not None:
        physical["region"] = {"startLine": start}
    return physical


def _result(audited: Audited, item: Item, index: dict[str, int]) -> dict[str, Any]:
    where = f"{audited.namespace}/{audited.kind}/{audited.name}/{item.field}"
    location: dict[str, Any] = {
        "logicalLocations": [
            {"name": item.container or item.volume or "pod", "fullyQualifiedName": where}
        ]
    }
    physical = _physical(audited.source, item.line)
    if physical is not None:
        location["physicalLocation"] = physical
    fingerprint = hashlib.sha256(f"{where}|{item.policy}|{item.key}".encode()).hexdigest()
    return {
        "ruleId": item.policy,
        "ruleIndex": index[item.policy],
        "level": level(item),
        "message": {"text": f"{title(audited)}: {item.location}: {describe(item)}"},
        "locations": [location],
        "partialFingerprints": {"initgateFinding/v1": fingerprint},
        "properties": {
            "mode": item.mode.value,
            "action": item.action,
            "webhook": item.webhook,
            "key": item.key,
            "role": item.role,
            "appliesTo": item.applies_to,
            "patch": list(item.patch),
        },
    }


def _failed(audited: Audited, error: str) -> dict[str, Any]:
    """A policy or rule that could not evaluate an object (`rule: init "x" (...): what`): the
    object was judged without it, which a reader of the results must know."""
    policy = error.partition(": ")[0]
    notification: dict[str, Any] = {
        "level": "warning",
        "message": {"text": f"{title(audited)}: {error}"},
        "locations": [
            {
                "logicalLocations": [
                    {"fullyQualifiedName": f"{audited.namespace}/{audited.kind}/{audited.name}"}
                ]
            }
        ],
    }
    physical = _physical(audited.source, None)
    if physical is not None:
        notification["locations"][0]["physicalLocation"] = physical
    if policy:
        notification["associatedRule"] = {"id": policy}
    return notification


def _notification(problem: Problem) -> dict[str, Any]:
    notification: dict[str, Any] = {"level": "error", "message": {"text": problem.display}}
    source = Source(problem.file, problem.document or 1, problem.line)
    physical = _physical(source, problem.line)
    if physical is not None:
        notification["locations"] = [{"physicalLocation": physical}]
    return notification


def _exemptions(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "object": f"{audited.namespace}/{audited.kind}/{audited.name}",
            "policy": exempted.policy,
            "exemption": exempted.exemption,
            "appliesTo": exempted.applies_to,
        }
        for audited in report.objects
        for exempted in audited.exemptions
    ]


def to_sarif(report: Report, plan: Plan) -> dict[str, Any]:
    """The report as a SARIF 2.1.0 log with one run."""
    rules = _rules(plan)
    index = {rule["id"]: position for position, rule in enumerate(rules)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "initgate",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not report.problems,
                        "toolExecutionNotifications": [
                            *(_notification(p) for p in report.problems),
                            *(_failed(a, e) for a in report.objects for e in a.errors),
                        ],
                    }
                ],
                "columnKind": "unicodeCodePoints",
                "results": [
                    _result(audited, item, index)
                    for audited in report.objects
                    for item in audited.items
                ],
                "properties": {"exemptions": _exemptions(report)},
            }
        ],
    }
