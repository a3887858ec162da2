"""Which namespaces a generated policy applies to, and how: exactly as the chart's webhook
configurations route them. A namespace's `initgate.io/mode` label (or the default mode, for a
namespace without one) caps each policy's own mode; the capped mode decides the binding's
actions. Namespaces labelled `initgate.io/ignore`, initgate's own and the excluded ones are
never bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.base import Mode

CAPS: tuple[Mode, ...] = (Mode.ENFORCE, Mode.WARN, Mode.AUDIT)
ACTIONS: dict[Mode, list[str]] = {
    Mode.ENFORCE: ["Deny", "Audit"],
    Mode.WARN: ["Warn"],
    Mode.AUDIT: ["Audit"],
}
"""A ValidatingAdmissionPolicyBinding's actions for each capped mode (Deny with Audit: the
denial is in the audit log too, as the webhook's audit annotations put it)."""
ALWAYS_EXCLUDED = ("kube-system", "kube-node-lease")


@dataclass(frozen=True, slots=True)
class Routing:
    """What the chart's `webhooks` values say about routing."""

    default_mode: Mode = Mode.AUDIT
    namespace: str = "initgate"
    """initgate's own namespace, never judged."""
    excluded: tuple[str, ...] = ()
    extra_expressions: tuple[dict[str, Any], ...] = field(default=())
    """More namespaceSelector expressions (the chart's `webhooks.namespaceSelectorExpressions`)."""
    object_selector: dict[str, Any] = field(default_factory=dict)
    """The bindings' objectSelector (the chart's `webhooks.objectSelector`); empty: none."""
    match_conditions: tuple[dict[str, str], ...] = ()
    """matchConditions every policy starts with (the chart's `webhooks.matchConditions`)."""

    def selector(self, cap: Mode) -> dict[str, Any]:
        """The namespaces whose cap is `cap`: labelled so, or unlabelled when it is the default
        (a label selector cannot say "In [m] or absent": the default excludes the others). As
        the chart's `initgate.namespaceSelector` writes it, in the same order."""
        if cap is self.default_mode:
            others = [m.value for m in (*CAPS, Mode.OFF) if m is not cap]
            mode = {"key": "initgate.io/mode", "operator": "NotIn", "values": others}
        else:
            mode = {"key": "initgate.io/mode", "operator": "In", "values": [cap.value]}
        excluded = list(dict.fromkeys((self.namespace, *ALWAYS_EXCLUDED, *self.excluded)))
        return {
            "matchExpressions": [
                mode,
                {"key": "initgate.io/ignore", "operator": "DoesNotExist"},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded},
                *self.extra_expressions,
            ]
        }


def caps(mode: Mode) -> list[tuple[Mode, Mode]]:
    """Each namespace cap under which a policy of `mode` acts, with the mode it acts in."""
    return [(cap, mode.cap(cap)) for cap in CAPS if mode.cap(cap) is not Mode.OFF]


def actions(mode: Mode) -> Sequence[str]:
    return ACTIONS[mode]
