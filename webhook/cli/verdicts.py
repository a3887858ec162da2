"""`initgate review` for a person: one readable verdict per object, from the same chain the API
server runs (mutate, apply the patch, validate).

```
Pod shop/myapp-pod: denied
  deny   init-unbounded     init "migrate" (spec.initContainers[1]): resources.limits.memory ...
  patch  default-resources  app "web" (spec.containers[0]): set requests cpu=100m memory=128Mi, ...
  to comply:
    init-unbounded: Add resources.limits to each init container listed.
    Policy documentation and exemptions: https://...
  changes (the mutating webhook's patch, as YAML paths):
    spec.containers[0].resources: {requests: {cpu: 100m, memory: 128Mi}}
  warnings (kubectl prints each as "Warning: ..."):
    initgate init-lint: init "wait": waits in a loop with no bound; add a retry limit ...
```

Every finding of both webhooks is a line: what admission does with it (`deny`, `warn`, `audit`,
`patch`), the policy, the container or volume with its field, and what to do. The changes are the
patch's operations as paths into the object with their values in YAML flow style, never base64.
"""

from __future__ import annotations

from typing import Any

import yaml

from policies.base import Finding, Mode, mapping, text
from webhook.core import review
from webhook.core.chain import Chained
from webhook.core.engine import Decision, Verdict
from webhook.core.objects import KINDS, subject_of
from webhook.core.plan import Plan

_ACTIONS = {
    ("validate", Mode.ENFORCE): "deny",
    ("mutate", Mode.ENFORCE): "patch",
    ("validate", Mode.WARN): "warn",
    ("mutate", Mode.WARN): "warn",
    ("validate", Mode.AUDIT): "audit",
    ("mutate", Mode.AUDIT): "audit",
}
# Why a request was not judged (`Decision.reason`), in words.
_SKIPPED = {
    "unhandled": "initgate judges Pods and the workloads that create them",
    "operation": "initgate judges CREATE and UPDATE only",
    "unchanged": "the update changes no container, and no pod template, initgate judges",
    "subresource": "initgate does not judge this subresource",
}
_EXEMPT = {
    "namespace": "its namespace is",
    "user": "its user is",
    "group": "a group of its user is",
}


def render(incoming: review.AdmissionReview, chained: Chained, plan: Plan) -> str:
    """The verdict on one object, as lines of text (see the module's docstring)."""
    request = incoming.request
    obj = request.object or {}
    metadata = mapping(obj.get("metadata"))
    name = request.name or text(metadata.get("name")) or text(metadata.get("generateName"))
    namespace = request.namespace or text(metadata.get("namespace"))
    title = f"{request.kind.kind} {namespace + '/' if namespace else ''}{name}"
    validated = chained.validate_decision
    lines = [f"{title}: {_verdict(validated)}"]
    # What is denied first: the API server validates last, but a person reads the verdict first.
    verdicts = [("validate", v) for v in validated.verdicts]
    verdicts += [("mutate", v) for v in chained.mutate_decision.verdicts]
    pod = subject_of(review.engine_request(request))
    spec = pod.pod.path if not isinstance(pod, str) else "/spec"
    width = max((len(v.policy) for _, v in verdicts), default=0)
    lines += [_finding(webhook, v, spec, width) for webhook, v in verdicts]
    for webhook, decision in (("validate", validated), ("mutate", chained.mutate_decision)):
        lines += [
            f"  error  {e.policy}: could not evaluate the object ({webhook}): "
            f"{e.location + ': ' if e.location else ''}{e.error}"
            for e in decision.errors
        ]
        lines += [
            f"  exempt {policy}: {', '.join(labels)} ({webhook})"
            for policy, labels in decision.exempted.items()
        ]
    if not validated.allowed:
        denying = dict.fromkeys(v.policy for v in validated.verdicts if v.mode is Mode.ENFORCE)
        lines.append("  to comply:")
        lines += [f"    {policy}: {plan.remedies[policy]}" for policy in denying]
        if plan.config.message_footer:
            lines.append(f"    {plan.config.message_footer}")
    lines += _changes(chained, obj, request.kind.kind)
    warnings = [
        *chained.mutate["response"].get("warnings", []),
        *chained.validate["response"].get("warnings", []),
    ]
    if warnings:
        lines.append('  warnings (kubectl prints each as "Warning: ..."):')
        lines += [f"    {warning}" for warning in warnings]
    return "\n".join(lines) + "\n"


def _verdict(decision: Decision) -> str:
    if not decision.allowed:
        return "denied"
    if decision.outcome == "exempt":
        who = _EXEMPT.get(decision.reason, decision.reason)
        return f"allowed, not judged: {who} exempt (exemptions in the configuration)"
    if decision.outcome == "skipped":
        return f"allowed, not judged: {_SKIPPED.get(decision.reason, decision.reason)}"
    return "allowed"


def _finding(webhook: str, verdict: Verdict, spec: str, width: int) -> str:
    finding = verdict.finding
    action = _ACTIONS[webhook, verdict.mode]
    message = finding.message
    if webhook == "mutate" and verdict.mode is not Mode.ENFORCE:
        message = f"would {message}"
    if finding.hint:
        message = f"{message}; {finding.hint}"
    where = f"{finding.location} ({_field(finding, spec)})"
    return f"  {action:<6} {verdict.policy:<{width}}  {where}: {message}"


def _field(finding: Finding, spec: str) -> str:
    """Where the finding stands, as kubectl spells fields: `spec.initContainers[1]`."""
    if finding.container is not None:
        return dotted(finding.container.path, None)
    if finding.volume is not None:
        return dotted(f"{spec}/volumes/{finding.volume.index}", None)
    return dotted(spec, None)


def _changes(chained: Chained, obj: dict[str, Any], kind: str) -> list[str]:
    ops = chained.mutate_decision.patch
    if ops:
        lines = ["  changes (the mutating webhook's patch, as YAML paths):"]
        return lines + [f"    {dotted(op['path'], obj)}: {flow(op['value'])}" for op in ops]
    if chained.mutate_decision.reason == "not-mutated" and kind in KINDS:
        return [
            f"  changes: none to the {kind} itself: the mutating webhook patches the pods it "
            "creates (`initgate mutate -f FILE` shows what they get)"
        ]
    return []


def dotted(pointer: str, obj: Any) -> str:
    """A JSON pointer as a YAML path: `/spec/containers/0/resources/limits/example.com~1gpu` is
    `spec.containers[0].resources.limits[example.com/gpu]`. A number is an index where `obj`
    (the object the pointer is into) has a list, or where no object is given."""
    path = ""
    node = obj
    for raw in pointer.split("/")[1:]:
        segment = raw.replace("~1", "/").replace("~0", "~")
        is_index = segment.isdigit() and (obj is None or isinstance(node, list))
        if is_index or "." in segment or "/" in segment or not segment:
            path += f"[{segment}]"  # an index, or a key a dot would split: `[example.com/gpu]`
        else:
            path += f".{segment}" if path else segment
        node = _child(node, segment)
    return path


def _child(node: Any, segment: str) -> Any:
    if isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
        return node[int(segment)]
    return node.get(segment) if isinstance(node, dict) else None


def flow(value: Any) -> str:
    """A value in YAML's flow style, on one line: `2Gi`, `true`, `{cpu: 100m}`."""
    dumped: str = yaml.safe_dump(value, default_flow_style=True, width=1 << 16, sort_keys=False)
    return dumped.strip().removesuffix("...").strip()
