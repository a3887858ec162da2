"""`initgate audit --cluster --readiness`: a path from audit to enforce, namespace by namespace.

Every namespace that would be routed to initgate is judged as if it were labelled
`initgate.io/mode=enforce` (the same scan, the same engine), and reported with the mode it has now,
what enforcing would deny and patch, and the highest mode it can move to without a denial:
`enforce` when nothing would be denied; else `warn`, which denies nothing and tells whoever applies
an object what enforce would deny, when the namespace is below it. Each move comes with the
`kubectl label` command that makes it.

The mode a namespace has now comes from the live webhook configurations (the chart's, by name),
or from namespace labels and a default mode when those are given instead. When initgate is not
installed, every namespace is `off`, and the plan says what each mode would do once it is.
"""

from __future__ import annotations

import json
import textwrap
from collections import defaultdict
from collections.abc import Callable
from typing import TextIO

from policies.base import Mode
from webhook.audit.readinessplan import (
    CHART_DEFAULT,
    Namespace,
    Routing,
    origin,
    plan,
    to_json,
)
from webhook.audit.report import Report
from webhook.audit.routing import MODE_LABEL

LISTED = 8
"""Namespaces named per reason they are not planned: a cluster may have hundreds."""
INSTALL = "helm install initgate charts/initgate --namespace initgate --create-namespace"


def objects(count: int) -> str:
    return f"{count} object{'' if count == 1 else 's'}"


def _count(names: list[str], verb: str) -> str:
    return f"{len(names)} {verb}" + (f" ({', '.join(names)})" if names else "")


def _header(routing: Routing) -> str:
    return textwrap.fill(_about(routing), width=100, break_on_hyphens=False) + "\n"


def _about(routing: Routing) -> str:
    if routing.name is None:
        return (
            f"Routed by namespace labels, unlabelled namespaces in {routing.default.value} "
            "(--default-mode); each namespace judged as if enforced."
        )
    if routing.installed:
        return (
            f"Routed as the webhook configurations {routing.name} route it; each namespace "
            "judged as if enforced."
        )
    return (
        "initgate is not installed: there is no ValidatingWebhookConfiguration or "
        f"MutatingWebhookConfiguration {routing.name} (if its release has another name, give "
        "--webhook-configuration NAME). What each mode would do once it is: audit records the "
        "findings and admits everything; warn admits everything and shows whoever applies an "
        "object its findings; enforce denies and patches."
    )


def write_table(namespaces: list[Namespace], report: Report, routing: Routing, out: TextIO) -> None:
    """A line per namespace, what is not planned and why, then the commands that move
    namespaces up."""
    out.write(_header(routing) + "\n")
    width = max([len("NAMESPACE"), *(len(ns.name) for ns in namespaces)])
    if routing.installed:
        out.write(f"{'NAMESPACE':<{width}}  {'MODE NOW':<17}  IF ENFORCED\n")
    else:
        columns = f"{'ONCE INSTALLED':<17}  {'IF AUDIT OR WARN':<27}"
        out.write(f"{'NAMESPACE':<{width}}  {columns}  IF ENFORCED\n")
    for ns in namespaces:
        mode = f"{ns.start.value} ({origin(ns)})"
        if routing.installed:
            line = f"{ns.name:<{width}}  {mode:<17}  {objects(ns.objects)}: "
        else:
            found = f"{objects(ns.objects)}, {len(ns.reported)} with findings"
            line = f"{ns.name:<{width}}  {mode:<17}  {found:<27}  "
        line += f"{_count(ns.denied, 'denied')}, {_count(ns.patched, 'patched')}"
        if ns.warned:
            line += f", {_count(ns.warned, 'warned')}"
        out.write(line + "\n")
    _skipped(report, out)
    out.write("\n")
    if routing.installed:
        _moves(namespaces, out)
    else:
        _first_moves(namespaces, out)
    for ns in namespaces:
        _denials(ns, out)
    for ns in namespaces:
        if ns.exemptions:
            out.write(f"{ns.name}: objects spared by exemptions{_by(ns.exemptions)}.\n")


def _by(counts: dict[str, int]) -> str:
    """` (init-unbounded: 3, no-latest: 1)`: the policies, rules or exemptions, most first."""
    if not counts:
        return ""
    ranked = sorted(counts.items(), key=lambda pair: -pair[1])
    return " (" + ", ".join(f"{name}: {count}" for name, count in ranked) + ")"


def _denials(ns: Namespace, out: TextIO) -> None:
    """What a namespace with denials has to do, and what it means for its workloads."""
    if not ns.denied:
        return
    count = objects(len(ns.denied))
    if ns.start is not Mode.ENFORCE:
        out.write(
            f"{ns.name}: enforce would deny {count}{_by(ns.denied_by)}; fix them first "
            f"(initgate audit --cluster --namespace {ns.name}).\n"
        )
    else:
        when = "enforced" if ns.installed else "labelled enforce, so enforced once installed"
        out.write(
            f"{ns.name}: {when}, yet {count} running there would be denied if applied again "
            "(created before enforcement, or by an exempt user).\n"
        )
    if ns.workloads:
        out.write(
            f"  Until then, any change to the pod template of {', '.join(ns.workloads)} is "
            "denied in enforce, even `kubectl set image` of a container that is fine: a "
            "template change is judged whole.\n"
        )


def _skipped(report: Report, out: TextIO) -> None:
    """The namespaces not planned, one line per reason, each naming at most `LISTED`."""
    by_reason: dict[str, list[str]] = defaultdict(list)
    for name, reason in sorted(report.namespaces.items()):
        by_reason[reason].append(name)
    if not by_reason:
        return
    out.write("\nNot planned (nothing in them is sent to initgate, or judged):\n")
    for reason, names in sorted(by_reason.items()):
        shown = ", ".join(names[:LISTED])
        if len(names) > LISTED:
            shown += f" and {len(names) - LISTED} more ({len(names)} in all; -o json lists them)"
        out.write(f"  {reason}: {shown}\n")


def _moves(namespaces: list[Namespace], out: TextIO) -> None:
    moves = [ns for ns in namespaces if ns.command]
    if moves:
        out.write("Can move up with nothing denied:\n")
        out.writelines(f"  {ns.command}\n" for ns in moves)
    else:
        out.write("No namespace can move up a mode now.\n")


def _first_moves(namespaces: list[Namespace], out: TextIO) -> None:
    """Install, lower what a label would enforce with denials, then move up."""
    out.write(
        f"Install it (unlabelled namespaces start in {CHART_DEFAULT.value}, the chart's "
        f"webhooks.defaultMode):\n  {INSTALL}\n"
    )
    lower = [ns for ns in namespaces if ns.denied and ns.start is Mode.ENFORCE]
    if lower:
        out.write("Before that, label warn what its label would enforce with denials:\n")
        out.writelines(
            f"  kubectl label namespace {ns.name} {MODE_LABEL}=warn --overwrite\n" for ns in lower
        )
    ready = [ns for ns in namespaces if ns.next is Mode.ENFORCE]
    first = [ns for ns in namespaces if ns.next is Mode.WARN]
    if ready:
        out.write("Then, with nothing denied, straight to enforce:\n")
        out.writelines(f"  {ns.command}\n" for ns in ready)
    if first:
        out.write("With denials, warn first:\n")
        out.writelines(f"  {ns.command}\n" for ns in first)


def write(
    report: Report,
    out: TextIO,
    *,
    output: str,
    routing: Routing,
    exempt: Callable[[str], bool],
) -> None:
    """The plan as a table or as JSON (docs/audit.md)."""
    namespaces = plan(report, routing, exempt)
    if output == "json":
        json.dump(to_json(namespaces, report, routing), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        write_table(namespaces, report, routing, out)
