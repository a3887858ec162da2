"""What an audit found, as a table for people, as JSON for programs, and as an exit status.

The JSON structure is documented in docs/audit.md and versioned by `schemaVersion`: fields are only
ever added to it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from policies.base import Mode
from webhook.audit.evaluate import Audited, Exempted, Item
from webhook.audit.manifests import Problem, Source
from webhook.core.messages import compact_json

SCHEMA_VERSION = 1
FailOn = Literal["deny", "warn"]
OUTCOMES = ("denied", "warned", "patched", "audited", "clean", "exempt")


@dataclass(slots=True)
class Report:
    """Every audited object, what was not audited, and what could not be read."""

    objects: list[Audited] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    """Objects that are neither pods nor workloads, by kind."""
    problems: list[Problem] = field(default_factory=list)
    namespaces: dict[str, str] = field(default_factory=dict)
    """Namespaces a cluster audit left out, with the reason (the webhook would not see them)."""
    modes: dict[str, Mode] = field(default_factory=dict)
    """The mode of each namespace a cluster audit judged, as its routing gives it."""
    labelled: set[str] = field(default_factory=set)
    """The namespaces whose mode is their `initgate.io/mode` label's (the others': the default)."""

    def add(self, audited: Audited) -> None:
        if audited.outcome == "skipped":
            self.skipped[audited.kind] += 1
        else:
            self.objects.append(audited)

    def status(self, fail_on: FailOn = "deny") -> int:
        """2 when something could not be read (the audit is incomplete), else 1 when admission
        would deny something (or warn, with `fail_on="warn"`), else 0."""
        if self.problems:
            return 2
        failing = {"denied", "warned"} if fail_on == "warn" else {"denied"}
        return 1 if any(o.outcome in failing for o in self.objects) else 0

    def counts(self) -> Counter[str]:
        return Counter(o.outcome for o in self.objects)


def to_json(report: Report, *, fail_on: FailOn = "deny") -> dict[str, Any]:
    """The documented JSON structure (docs/audit.md)."""
    counts = report.counts()
    return {
        "schemaVersion": SCHEMA_VERSION,
        "summary": {
            "objects": len(report.objects),
            **{outcome: counts[outcome] for outcome in OUTCOMES},
            "findings": sum(len(o.items) for o in report.objects),
            "skipped": sum(report.skipped.values()),
            "skippedKinds": dict(sorted(report.skipped.items())),
            "problems": len(report.problems),
            "status": report.status(fail_on),
        },
        "objects": [_object(o) for o in report.objects],
        "problems": [
            {"file": p.file, "document": p.document, "line": p.line, "message": p.message}
            for p in report.problems
        ],
        "skippedNamespaces": [
            {"name": name, "reason": reason} for name, reason in sorted(report.namespaces.items())
        ],
    }


def _object(audited: Audited) -> dict[str, Any]:
    return {
        "apiVersion": audited.api_version,
        "kind": audited.kind,
        "namespace": audited.namespace,
        "name": audited.name,
        "uid": audited.uid or None,
        "mode": audited.cap.value,
        "outcome": audited.outcome,
        "reason": audited.reason or None,
        "source": _source(audited.source),
        "findings": [_finding(i) for i in audited.items],
        "patch": list(audited.patch),
        "wouldPatch": list(audited.would_patch),
        "errors": list(audited.errors),
        "exemptions": [_exempted(e) for e in audited.exemptions],
    }


def _exempted(exempted: Exempted) -> dict[str, Any]:
    return {
        "exemption": exempted.exemption,
        "policy": exempted.policy,
        "appliesTo": exempted.applies_to,
    }


def _source(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {
        "file": source.file,
        "document": source.document,
        "line": source.line,
        "item": source.item,
    }


def _finding(item: Item) -> dict[str, Any]:
    return {
        "policy": item.policy,
        "webhook": item.webhook,
        "mode": item.mode.value,
        "action": item.action,
        "key": item.key,
        "role": item.role,
        "container": item.container,
        "volume": item.volume,
        "field": item.field,
        "line": item.line,
        "appliesTo": item.applies_to,
        "message": item.message,
        "hint": item.hint or None,
        "patch": list(item.patch),
    }


def write_json(report: Report, out: TextIO, *, fail_on: FailOn = "deny") -> None:
    json.dump(to_json(report, fail_on=fail_on), out, indent=2, ensure_ascii=False)
    out.write("\n")


def title(audited: Audited) -> str:
    """`Deployment demo/web`."""
    where = f"{audited.namespace}/" if audited.namespace else ""
    return f"{audited.kind} {where}{audited.name or '(no name)'}"


def describe(item: Item) -> str:
    """The finding's message, saying when it is only what warn or audit mode would do, and when
    it is about the pods a workload's controller creates rather than the workload itself."""
    message = item.message
    if item.webhook == "mutate" and item.action != "patch":
        message = f"would {message}"
    if item.applies_to == "pods":
        message = f"{message} (in its pods)"
    return message


def _where(item: Item) -> str:
    return item.location + (f" (line {item.line})" if item.line is not None else "")


def write_table(report: Report, out: TextIO) -> None:
    """Objects with something to say, grouped, one line per finding, then a summary."""
    shown = [
        o
        for o in report.objects
        if o.items or o.errors or o.outcome == "denied" or (o.exemptions and o.outcome != "exempt")
    ]
    policy_width = max(
        (len(p) for o in shown for p in [*(i.policy for i in o.items), *_exempt_from(o)]),
        default=0,
    )
    where_width = max((len(_where(i)) for o in shown for i in o.items), default=0)
    for audited in shown:
        origin = f" ({audited.source.display})" if audited.source is not None else ""
        cap = "" if audited.cap.value == "enforce" else f", namespace mode {audited.cap.value}"
        out.write(f"{title(audited)}{origin}: {audited.outcome.upper()}{cap}\n")
        for item in audited.items:
            out.write(
                f"  {item.action:<6} {item.policy:<{policy_width}}  "
                f"{_where(item):<{where_width}}  {describe(item)}\n"
            )
            for op in item.patch:
                out.write(f"{'':9}{op['op']} {op['path']} {compact_json(op['value'])}\n")
        for exempted in audited.exemptions:
            pods = " (in its pods)" if exempted.applies_to == "pods" else ""
            policy = exempted.policy or "*"
            out.write(f"  exempt {policy:<{policy_width}}  {exempted.exemption}{pods}\n")
        for error in audited.errors:
            out.write(f"  error  {error}\n")
        out.write("\n")
    if report.namespaces:
        skipped = ", ".join(f"{n} ({r})" for n, r in sorted(report.namespaces.items()))
        out.write(f"Namespaces not audited: {skipped}\n")
    out.write(summary(report) + "\n")


def _exempt_from(audited: Audited) -> list[str]:
    return [e.policy or "*" for e in audited.exemptions]


def summary(report: Report) -> str:
    """One line: how many objects, and what admission would do with them."""
    counts = report.counts()
    audited = len(report.objects) - counts["exempt"]
    parts = [f"{counts[o]} {o}" for o in OUTCOMES[:-1] if counts[o]]
    noun = "pod or workload" if audited == 1 else "pods and workloads"
    line = f"{audited} {noun} audited" + (f": {', '.join(parts)}" if parts else "")
    extra = []
    if counts["exempt"]:
        # Which exemptions: a line long at most, as the configuration has a bounded number.
        labels = dict.fromkeys(
            e.exemption for o in report.objects if o.outcome == "exempt" for e in o.exemptions
        )
        by = f" (by {', '.join(labels)})" if labels else ""
        extra.append(f"{counts['exempt']} exempt{by}")
    if report.skipped:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.skipped.items()))
        extra.append(f"{sum(report.skipped.values())} other objects not audited ({kinds})")
    if report.namespaces:
        extra.append(f"{len(report.namespaces)} namespaces skipped")
    if report.problems:
        extra.append(f"{len(report.problems)} input problems")
    return "; ".join([line, *extra]) + "."


def write_problems(problems: Iterable[Problem], out: TextIO) -> None:
    for problem in problems:
        out.write(f"initgate audit: {problem.display}\n")
