"""Which namespaces the webhook configurations send to initgate, and in which mode.

As the chart's selectors do: `initgate.io/ignore` (any value) leaves a namespace out,
`initgate.io/mode` (enforce, warn, audit) caps its mode and `off` leaves it out, a namespace
without the label or with another value gets the default mode (`off` leaves it out), and
kube-system, kube-node-lease, the namespaces given with `--exclude-namespace` and (in the cluster)
the namespace initgate runs in are never sent to the webhook.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from policies.base import Mode

IGNORE_LABEL = "initgate.io/ignore"
MODE_LABEL = "initgate.io/mode"
EXCLUDED = {
    "kube-system": "excluded by the webhook configuration",
    "kube-node-lease": "excluded by the webhook configuration",
}


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a namespace is not audited: the webhook configurations do not send it to initgate."""

    reason: str


def route(
    name: str, labels: Mapping[str, Any], *, default: Mode, excluded: Mapping[str, str]
) -> Mode | Skip:
    """The mode the webhook configurations give a namespace, or why they do not send it."""
    if name in excluded:
        return Skip(excluded[name])
    if IGNORE_LABEL in labels:
        return Skip(f"labelled {IGNORE_LABEL}")
    value = labels.get(MODE_LABEL)
    if value in (Mode.ENFORCE.value, Mode.WARN.value, Mode.AUDIT.value):
        return Mode(value)
    if value == Mode.OFF.value:
        return Skip(f"labelled {MODE_LABEL}=off")
    # The default mode's webhook entry takes every namespace whose label is not another mode:
    # unlabelled ones, and those with a value it does not know (`Enforce`, `yes`).
    if default is Mode.OFF:
        return Skip(f"{MODE_LABEL} {'is ' + repr(value) if value else 'not set'}; default mode off")
    return default
