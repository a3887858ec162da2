"""The readiness plan's model (`initgate audit --cluster --readiness`): where the namespaces'
modes come from (`Routing`), and per namespace what enforce would do (`Namespace`, `plan`), as
JSON too. `webhook.audit.readiness` prints it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from policies.base import Mode
from webhook.audit.report import Report, title
from webhook.audit.routing import MODE_LABEL

SCHEMA_VERSION = 1
CHART_DEFAULT = Mode.AUDIT
"""The chart's `webhooks.defaultMode`: the mode of an unlabelled namespace once installed."""
EXEMPT = "exempt in the configuration (exemptions.namespaces)"


@dataclass(frozen=True, slots=True)
class Routing:
    """Where the modes of the namespaces come from: the live webhook configurations called
    `name` (`installed` False: there are none), or namespace labels (`name` None)."""

    name: str | None
    installed: bool = True
    default: Mode = Mode.ENFORCE


@dataclass(slots=True)
class Namespace:
    """One namespace: its mode now, and what enforce mode would do to what runs in it."""

    name: str
    mode: Mode
    labelled: bool
    installed: bool = True
    """False: `mode` is off, and `start` the mode the namespace gets once initgate is."""
    start: Mode = Mode.OFF
    objects: int = 0
    denied: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)
    """Objects with any finding: what audit mode records and warn mode shows as warnings."""
    workloads: list[str] = field(default_factory=list)
    """Denied objects that are workloads: any change to their pod template is denied."""
    denied_by: dict[str, int] = field(default_factory=dict)
    """By policy or rule: how many objects it would deny (what to fix, or to lower, first)."""
    exemptions: dict[str, int] = field(default_factory=dict)
    """By exemption: how many objects it spared from a policy (what ends when it expires)."""

    @property
    def next(self) -> Mode | None:
        """The highest mode this namespace can move to without a denial, if above its own (once
        initgate is installed, when it is not yet)."""
        target = Mode.WARN if self.denied else Mode.ENFORCE
        return target if target.rank > self.start.rank else None

    @property
    def command(self) -> str | None:
        target = self.next
        if target is None:
            return None
        return f"kubectl label namespace {self.name} {MODE_LABEL}={target.value} --overwrite"


def plan(report: Report, routing: Routing, exempt: Callable[[str], bool]) -> list[Namespace]:
    """The namespaces of a scan made with `judge_as=Mode.ENFORCE`, by name. Those the
    configuration exempts move to `report.namespaces`: no label changes anything there."""
    for name in [n for n in report.modes if exempt(n)]:
        del report.modes[name]
        report.namespaces[name] = EXEMPT
    found = {
        name: Namespace(
            name,
            mode if routing.installed else Mode.OFF,
            labelled=name in report.labelled,
            installed=routing.installed,
            start=mode if routing.installed or name in report.labelled else CHART_DEFAULT,
        )
        for name, mode in report.modes.items()
    }
    for audited in report.objects:
        namespace = found.get(audited.namespace)
        if namespace is None or audited.outcome == "exempt":
            continue
        namespace.objects += 1
        name = title(audited).replace(f"{audited.namespace}/", "", 1)
        if audited.items:
            namespace.reported.append(name)
        for label in dict.fromkeys(e.exemption for e in audited.exemptions):
            namespace.exemptions[label] = namespace.exemptions.get(label, 0) + 1
        if audited.outcome == "denied":
            namespace.denied.append(name)
            for policy in dict.fromkeys(i.policy for i in audited.items if i.action == "deny"):
                namespace.denied_by[policy] = namespace.denied_by.get(policy, 0) + 1
            if audited.kind != "Pod":
                namespace.workloads.append(name)
        elif audited.outcome == "warned":
            namespace.warned.append(name)
        if audited.patch:
            namespace.patched.append(name)
    return [found[name] for name in sorted(found)]


def to_json(namespaces: list[Namespace], report: Report, routing: Routing) -> dict[str, Any]:
    return {
        "schemaVersion": SCHEMA_VERSION,
        "installed": routing.installed,
        "webhookConfiguration": routing.name,
        "namespaces": [
            {
                "name": ns.name,
                "mode": ns.mode.value,
                "modeFrom": _mode_from(ns, routing),
                "ifEnforced": {
                    "objects": ns.objects,
                    "denied": ns.denied,
                    "patched": ns.patched,
                    "warned": ns.warned,
                    "deniedBy": ns.denied_by,
                    "exemptions": ns.exemptions,
                },
                "withFindings": ns.reported,
                "onceInstalled": None if ns.installed else ns.start.value,
                "next": ns.next.value if ns.next else None,
                "command": ns.command,
            }
            for ns in namespaces
        ],
        "skippedNamespaces": [
            {"name": name, "reason": reason} for name, reason in sorted(report.namespaces.items())
        ],
    }


def _mode_from(ns: Namespace, routing: Routing) -> str:
    if not routing.installed:
        return "not installed"
    return origin(ns)


def origin(ns: Namespace) -> str:
    """Where the mode a namespace has (or gets once installed) comes from."""
    return "label" if ns.labelled else "default"
