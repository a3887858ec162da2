"""`initgate audit --cluster --readiness`: a path from audit to enforce, namespace by namespace.

Every namespace the webhook configurations route is judged as if it were labelled
`initgate.io/mode=enforce` (the same scan, the same engine), and reported with the mode it has now
(its label, or the default mode), what enforcing would deny and patch, and the highest mode it can
move to without a denial: `enforce` when nothing would be denied; else `warn`, which denies
nothing and tells whoever applies an object what enforce would deny, when the namespace is below
it. Each move comes with the `kubectl label` command that makes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, TextIO

from policies.base import Mode
from webhook.audit.report import Report, title
from webhook.audit.routing import MODE_LABEL

SCHEMA_VERSION = 1


@dataclass(slots=True)
class Namespace:
    """One namespace: its mode now, and what enforce mode would do to what runs in it."""

    name: str
    mode: Mode
    labelled: bool
    objects: int = 0
    denied: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    denied_by: dict[str, int] = field(default_factory=dict)
    """By policy or rule: how many objects it would deny (what to fix, or to lower, first)."""
    exemptions: dict[str, int] = field(default_factory=dict)
    """By exemption: how many objects it spared from a policy (what ends when it expires)."""

    @property
    def next(self) -> Mode | None:
        """The highest mode this namespace can move to without a denial, if above its own."""
        target = Mode.WARN if self.denied else Mode.ENFORCE
        return target if target.rank > self.mode.rank else None

    @property
    def command(self) -> str | None:
        target = self.next
        if target is None:
            return None
        return f"kubectl label namespace {self.name} {MODE_LABEL}={target.value} --overwrite"


def plan(report: Report) -> list[Namespace]:
    """The namespaces of a scan made with `judge_as=Mode.ENFORCE`, by name."""
    found = {
        name: Namespace(name, mode, labelled=name in report.labelled)
        for name, mode in report.modes.items()
    }
    for audited in report.objects:
        namespace = found.get(audited.namespace)
        if namespace is None or audited.outcome == "exempt":
            continue
        namespace.objects += 1
        name = title(audited).replace(f"{audited.namespace}/", "", 1)
        for label in dict.fromkeys(e.exemption for e in audited.exemptions):
            namespace.exemptions[label] = namespace.exemptions.get(label, 0) + 1
        if audited.outcome == "denied":
            namespace.denied.append(name)
            for policy in dict.fromkeys(i.policy for i in audited.items if i.action == "deny"):
                namespace.denied_by[policy] = namespace.denied_by.get(policy, 0) + 1
        elif audited.outcome == "warned":
            namespace.warned.append(name)
        if audited.patch:
            namespace.patched.append(name)
    return [found[name] for name in sorted(found)]


def to_json(namespaces: list[Namespace], report: Report) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "namespaces": [
            {
                "name": ns.name,
                "mode": ns.mode.value,
                "modeFrom": "label" if ns.labelled else "default",
                "ifEnforced": {
                    "objects": ns.objects,
                    "denied": ns.denied,
                    "patched": ns.patched,
                    "warned": ns.warned,
                    "deniedBy": ns.denied_by,
                    "exemptions": ns.exemptions,
                },
                "next": ns.next.value if ns.next else None,
                "command": ns.command,
            }
            for ns in namespaces
        ],
        "skippedNamespaces": [
            {"name": name, "reason": reason} for name, reason in sorted(report.namespaces.items())
        ],
    }


def _count(names: list[str], verb: str) -> str:
    return f"{len(names)} {verb}" + (f" ({', '.join(names)})" if names else "")


def write_table(namespaces: list[Namespace], report: Report, out: TextIO) -> None:
    """A line per namespace, then the commands that move namespaces up."""
    width = max((len(ns.name) for ns in namespaces), default=9)
    out.write(f"{'NAMESPACE':<{width}}  {'MODE NOW':<17}  IF ENFORCED\n")
    for ns in namespaces:
        mode = f"{ns.mode.value} ({'label' if ns.labelled else 'default'})"
        effect = f"{ns.objects} objects: {_count(ns.denied, 'denied')}, "
        effect += _count(ns.patched, "patched")
        if ns.warned:
            effect += f", {_count(ns.warned, 'warned')}"
        out.write(f"{ns.name:<{width}}  {mode:<17}  {effect}\n")
    if report.namespaces:
        skipped = ", ".join(f"{n} ({r})" for n, r in sorted(report.namespaces.items()))
        out.write(f"\nNamespaces not audited: {skipped}\n")
    moves = [ns for ns in namespaces if ns.command]
    blocked = [ns for ns in namespaces if ns.mode is not Mode.ENFORCE and ns.denied]
    out.write("\n")
    if moves:
        out.write("Can move up with nothing denied:\n")
        out.writelines(f"  {ns.command}\n" for ns in moves)
    else:
        out.write("No namespace can move up a mode now.\n")
    for ns in blocked:
        out.write(
            f"{ns.name}: enforce would deny {len(ns.denied)} objects{_by(ns.denied_by)}; fix "
            f"them first (initgate audit --cluster --namespace {ns.name}).\n"
        )
    for ns in namespaces:
        if ns.mode is Mode.ENFORCE and ns.denied:
            out.write(
                f"{ns.name}: enforced, yet {len(ns.denied)} objects running there would be denied "
                "if applied again (created before enforcement, or by an exempt user).\n"
            )
    for ns in namespaces:
        if ns.exemptions:
            out.write(f"{ns.name}: objects spared by exemptions{_by(ns.exemptions)}.\n")


def _by(counts: dict[str, int]) -> str:
    """` (init-unbounded: 3, no-latest: 1)`: the policies and rules that deny, most first."""
    if not counts:
        return ""
    ranked = sorted(counts.items(), key=lambda pair: -pair[1])
    return " (" + ", ".join(f"{name}: {count}" for name, count in ranked) + ")"


def write(report: Report, out: TextIO, *, output: str) -> None:
    """The plan as a table or as JSON (docs/audit.md)."""
    namespaces = plan(report)
    if output == "json":
        json.dump(to_json(namespaces, report), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        write_table(namespaces, report, out)
