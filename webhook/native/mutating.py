"""What every generated MutatingAdmissionPolicy shares (Kubernetes 1.36 and later, where MAP is
GA), and the objects one mutating policy becomes (webhook/native/mutating_objects.py builds them):

- a MutatingAdmissionPolicy (JSONPatch, reinvocationPolicy IfNeeded) bound, by a
  MutatingAdmissionPolicyBinding per namespace cap, only where the policy acts in enforce mode:
  a binding of a MAP has no actions, a bound policy mutates;
- where it acts in warn or audit mode, a companion ValidatingAdmissionPolicy of the same name
  and variables, whose one validation fails when the policy would change the pod and says what
  (`default-resources: app "web" (spec.containers[0]): would set requests cpu=100m`), bound with
  Warn or Audit: the webhook's would-patch warnings and audit lines, natively. The operations
  themselves (the webhook's `would-patch` audit annotation) are not carried.

Each policy works out the changes it would make as variables (plain data both policies read);
the MAP's one mutation turns them into `JSONPatch` values. The mutating webhook is called for
Pods only (CREATE, and `kubectl debug`'s ephemeral containers), and so are these policies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webhook.native import pods
from webhook.native.builders import Expression
from webhook.native.literals import Setting

MINIMUM = (1, 36)
"""MutatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from Kubernetes 1.36."""

EVERY: Expression = {"name": "every", "expression": pods.every_container()}
"""Every container of the pod, with its JSON pointer (`path`)."""
JUDGED: Expression = {
    "name": "containers",
    "expression": (
        "request.subResource == 'ephemeralcontainers'"
        " ? variables.every.filter(e, e.role == 'ephemeral' && !(e.name in variables.oldEphemeral))"
        " : variables.every"
    ),
}
"""The containers this request is about: all of them, or on `kubectl debug` only the new
ephemeral ones (as `pods.containers`, with pointers)."""

MOUNTS: list[Expression] = [
    {
        "name": "mounting",
        "expression": "variables.every.filter(e, size(e.c.?volumeMounts.orValue([])) > 0)",
    },
    {
        "name": "mountIndexes",
        "expression": ("variables.mounting.map(e, lists.range(size(e.c.volumeMounts))).flatten()"),
    },
    {
        "name": "mountStarts",
        "expression": "variables.mountIndexes.transformList(k, i, i == 0, k)",
    },
    {
        "name": "mounts",
        "expression": (
            "variables.mounting.map(e, e.c.volumeMounts).flatten().transformList(k, m,"
            " {'e': variables.mounting[variables.mountStarts.indexOf("
            "k - variables.mountIndexes[k])],"
            " 'm': m, 'i': dyn(variables.mountIndexes[k])})"
        ),
    },
]
"""Every volume mount of every container, flat, as `{e, m, i}`: the container's entry, the
mount and its index in the container's `volumeMounts`. Flat, so that no expression nests a
comprehension over the mounts inside one over the containers: the mounts of the containers
that have some, flattened, are numbered within their container by `mountIndexes`; a mount
numbered 0 starts a container (`mountStarts`), so the container of mount `k` is the one whose
first mount is `k - mountIndexes[k]` (an `indexOf`: a walk of the containers per mount)."""


def shared(*, mounts: bool = False) -> list[Expression]:
    """The variables every generated mutating policy starts with (`mounts`: and the flat
    volume mounts)."""
    return [
        pods.SPEC,
        pods.TEMPLATE,
        pods.OLD_EPHEMERAL,
        EVERY,
        JUDGED,
        *(MOUNTS if mounts else []),
    ]


PREVIEW_NOTE = (
    "mutating policies in warn or audit mode: a ValidatingAdmissionPolicy of the same name warns "
    "or records what they would set; the operations themselves (the webhook's would-patch "
    "audit annotation) are not carried"
)
"""The export's note wherever a mutating policy warns or audits."""

PATCH = (
    "variables.operations.map(o,"
    " JSONPatch{op: 'add', path: o.at + '/' + jsonpatch.escapeKey(o.key), value: o.value})"
)
"""The mutation of every mutating policy: each of its `operations` adds the member `key` (not
yet escaped) to the object at the JSON pointer `at`, with `value`. The operations are plain data
in a variable, which the companion ValidatingAdmissionPolicy reads too (it has neither
`JSONPatch` nor `jsonpatch.escapeKey`); the mutation builds the patch."""


@dataclass(frozen=True, slots=True)
class Mutating:
    """One mutating policy as CEL: its settings (literals), its variables, the last of which,
    `operations`, lists what it would add, and the companion validation's message."""

    settings: list[Setting]
    variables: list[Expression]
    message: str
    """The companion validation's messageExpression: what would change, in the webhook's
    words."""
    fallback: str
    """Its static message, when the messageExpression cannot be used (too long)."""
    mounts: bool = False
    """Whether it reads the flat volume mounts (`shared(mounts=True)`)."""
    notes: list[str] = field(default_factory=list)
