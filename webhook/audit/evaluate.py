"""One object through the engine, as admission would take it.

A Pod is chained as the API server chains the webhooks: mutate, apply the patch, validate the
result. A workload is validated as it is (that is what `kubectl apply` meets); its template is
never patched (the mutating webhook only sees pods), so the mutating policies run on the Pod its
controller would create, whose patch is reported with paths into the template, and that mutated Pod
is validated too: a finding only the pods would meet (a user exemption that covers the controller
but not the person applying, or a problem a mutation brings) is reported as applying to the pods.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from policies.base import Finding, Mode, PatchOp, mapping, text
from webhook.audit.manifests import Locate, Source
from webhook.core.engine import Decision, Verdict, Webhook, decide
from webhook.core.objects import TEMPLATES, Request
from webhook.core.patch import PatchError, apply
from webhook.core.plan import Plan

Outcome = Literal["denied", "warned", "patched", "audited", "clean", "exempt", "skipped"]
AppliesTo = Literal["object", "pods"]

# Who creates a workload's pods (kube-controller-manager with --use-service-account-credentials, as
# kubeadm and managed clusters run it): user and group exemptions see this user.
CONTROLLERS = {
    "Deployment": "replicaset-controller",
    "ReplicaSet": "replicaset-controller",
    "StatefulSet": "statefulset-controller",
    "DaemonSet": "daemon-set-controller",
    "ReplicationController": "replication-controller",
    "Job": "job-controller",
    "CronJob": "job-controller",
}
CONTROLLER_GROUPS = ("system:serviceaccounts", "system:serviceaccounts:kube-system")

Route = Callable[[Webhook, dict[str, Any]], Mode | None]
NOT_SENT = "not-sent"
NOT_SENT_REASON = "not sent: no webhook entry selects it (objectSelector or rules)"


@dataclass(frozen=True, slots=True)
class Item:
    """One finding as the audit reports it; `pointer` and `patch` are relative to the audited
    object (for a workload, into its pod template)."""

    policy: str
    webhook: Webhook
    mode: Mode
    key: str
    role: str | None
    container: str | None
    volume: str | None
    location: str
    pointer: str
    message: str
    hint: str
    patch: tuple[PatchOp, ...]
    applies_to: AppliesTo
    line: int | None = None

    @property
    def field(self) -> str:
        """The pointer as kubectl spells a field: `spec.template.spec.initContainers[0]`."""
        parts = [p.replace("~1", "/").replace("~0", "~") for p in self.pointer.split("/")[1:]]
        return "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in parts).lstrip(".")

    @property
    def action(self) -> str:
        """What admission does with it: deny, warn, audit or patch."""
        if self.mode is Mode.ENFORCE:
            return "patch" if self.webhook == "mutate" else "deny"
        return self.mode.value


@dataclass(frozen=True, slots=True)
class Exempted:
    """An exemption that applied: where it is written in the configuration, and the policy or
    rule it spared the object from (None: every one, as a namespace, user or group exemption
    of `exemptions` does)."""

    exemption: str
    policy: str | None
    applies_to: AppliesTo


@dataclass(frozen=True, slots=True)
class Target:
    """An object to audit and how admission would receive it."""

    obj: dict[str, Any]
    namespace: str
    cap: Mode = Mode.ENFORCE
    """The endpoint's mode, as the namespace's `initgate.io/mode` label would choose it."""
    username: str = ""
    source: Source | None = None
    locate: Locate | None = None
    route: Route | None = None
    """From the live webhook configurations (`webhook.audit.live`): the cap under which a webhook
    judges an object (the workload, or the pod its controller creates), None when it is not sent.
    Without it, both webhooks judge everything under `cap`."""


@dataclass(slots=True)
class Audited:
    """What admission would make of one object."""

    api_version: str
    kind: str
    namespace: str
    name: str
    cap: Mode
    outcome: Outcome = "clean"
    reason: str = ""
    """Why the object was exempt or skipped."""
    uid: str = ""
    items: list[Item] = field(default_factory=list)
    patch: list[PatchOp] = field(default_factory=list)
    """What the mutating webhook applies (enforce mode): to the Pod itself, or to every pod the
    workload's controller creates, with paths into the template."""
    would_patch: list[PatchOp] = field(default_factory=list)
    """What warn and audit modes kept back."""
    errors: list[str] = field(default_factory=list)
    exemptions: list[Exempted] = field(default_factory=list)
    """The exemptions that spared the object (or its pods) from a policy, or from all of them."""
    source: Source | None = None

    @property
    def denied(self) -> bool:
        return self.outcome == "denied"


def evaluate(target: Target, plan: Plan) -> Audited:
    """Everything admission would say about `target.obj`, through `webhook.core.engine.decide`."""
    obj = target.obj
    metadata = mapping(obj.get("metadata"))
    group, _, version = text(obj.get("apiVersion")).rpartition("/")
    kind = text(obj.get("kind"))
    audited = Audited(
        api_version=text(obj.get("apiVersion")),
        kind=kind,
        namespace=target.namespace,
        name=text(metadata.get("name")) or text(metadata.get("generateName")),
        cap=target.cap,
        uid=text(metadata.get("uid")),
        source=target.source,
    )
    pointer = TEMPLATES.get((group, version, kind))
    if pointer is None:
        audited.outcome, audited.reason = "skipped", "unhandled"
        return audited
    request = Request(
        object=obj,
        group=group,
        version=version,
        kind=kind,
        namespace=target.namespace,
        name=text(metadata.get("name")),
        username=target.username,
    )
    run = _Run(audited, plan, target)
    if pointer:
        run.workload(request, pointer)
    else:
        run.pod(request)
    return audited


@dataclass(slots=True)
class _Run:
    audited: Audited
    plan: Plan
    target: Target
    decisions: list[Decision] = field(default_factory=list)
    broken: bool = False
    routed: Mode | None = None

    def decide(self, request: Request, webhook: Webhook) -> Decision:
        cap: Mode | None = self.target.cap
        if self.target.route is not None:
            cap = self.target.route(webhook, request.object)
            # The mode reported for the object: the highest it is judged in (the namespace's
            # can be higher, when an objectSelector sends the object to a lower entry).
            if cap is not None and (self.routed is None or cap.rank > self.routed.rank):
                self.routed = self.audited.cap = cap
        if cap is None:
            decision = Decision(outcome="skipped", reason=NOT_SENT)
        else:
            decision = decide(request, self.plan, webhook=webhook, cap=cap)
        self.decisions.append(decision)
        return decision

    def pod(self, request: Request) -> None:
        mutation = self.decide(request, "mutate")
        if mutation.outcome == "exempt":
            self.exempt(mutation, "object")
            return
        self.add(mutation, "mutate", "/spec")
        mutated = self.patched(request.object, mutation)
        if mutated is not None:
            validation = self.decide(dataclasses.replace(request, object=mutated), "validate")
            self.add(validation, "validate", "/spec")
        self.conclude(mutation)

    def patched(self, obj: dict[str, Any], mutation: Decision) -> dict[str, Any] | None:
        """`obj` as the mutating webhook's patch leaves it; None when the patch does not apply
        (the API server then fails the request: a bug of a policy, reported as a denial)."""
        try:
            return apply(obj, mutation.patch)
        except PatchError as error:
            self.audited.errors.append(f"engine: the patch does not apply: {error}")
            self.broken = True
            return None

    def workload(self, request: Request, pointer: str) -> None:
        validation = self.decide(request, "validate")
        if validation.outcome == "exempt":
            self.exempt(validation, "object")
            return
        self.add(validation, "validate", f"{pointer}/spec")
        pod = would_be_pod(request.object, pointer, self.target.namespace)
        controller = CONTROLLERS[request.kind]
        pod_request = Request(
            object=pod,
            namespace=self.target.namespace,
            username=f"system:serviceaccount:kube-system:{controller}",
            groups=CONTROLLER_GROUPS,
        )
        mutation = self.decide(pod_request, "mutate")
        if mutation.outcome == "exempt":
            self.note(mutation, "pods")
        else:
            mutated = apply(pod, mutation.patch)
            pod_validation = self.decide(
                dataclasses.replace(pod_request, object=mutated), "validate"
            )
            self.add(mutation, "mutate", "/spec", pointer)
            self.add(pod_validation, "validate", "/spec", pointer)
        self.conclude(mutation, prefix=pointer)

    def exempt(self, decision: Decision, applies_to: AppliesTo) -> None:
        self.audited.outcome, self.audited.reason = "exempt", decision.reason
        self.note(decision, applies_to)

    def note(self, decision: Decision, applies_to: AppliesTo) -> None:
        """The exemptions that applied to `decision`, each once per policy (the workload's
        are not repeated for its pods)."""
        noted = self.audited.exemptions
        seen = {(e.policy, e.exemption) for e in noted}
        found: list[tuple[str | None, str]] = [(None, label) for label in decision.exemptions]
        if decision.outcome != "exempt":
            found = [(p, label) for p, labels in decision.exempted.items() for label in labels]
        for policy, label in found:
            if (policy, label) not in seen:
                seen.add((policy, label))
                noted.append(Exempted(label, policy, applies_to))

    def add(self, decision: Decision, webhook: Webhook, spec: str, prefix: str = "") -> None:
        """The decision's verdicts as items. `spec` is where the evaluated pod spec is, `prefix`
        where the evaluated Pod sits in the audited object (its template), if elsewhere. A pod's
        finding already found on its workload (same policy, key and place) is not repeated."""
        applies_to: AppliesTo = "pods" if prefix else "object"
        seen = {(i.policy, i.key, i.pointer) for i in self.audited.items}
        for verdict in decision.verdicts:
            item = _item(
                verdict,
                webhook=webhook,
                spec=spec,
                prefix=prefix,
                applies_to=applies_to,
                locate=self.target.locate,
            )
            if (item.policy, item.key, item.pointer) not in seen:
                self.audited.items.append(item)
        self.note(decision, applies_to)
        for error in decision.errors:
            # A rule says the container it failed on (`init "setup" (spec.initContainers[0])`).
            where = f"{error.location}: " if error.location else ""
            line = f"{error.policy}: {where}{error.error}"
            if line not in self.audited.errors:
                self.audited.errors.append(line)

    def conclude(self, mutation: Decision, *, prefix: str = "") -> None:
        audited = self.audited
        if all(d.reason == NOT_SENT for d in self.decisions):
            audited.outcome, audited.reason = "exempt", NOT_SENT_REASON
            return
        if not self.broken:  # a patch that does not apply is not applied: the request fails
            audited.patch = list(_moved(mutation.patch, prefix))
        audited.would_patch = list(_moved(mutation.would_patch, prefix))
        if self.broken or any(not d.allowed for d in self.decisions):
            audited.outcome = "denied"
        elif any(d.warnings for d in self.decisions):
            audited.outcome = "warned"
        elif audited.patch:
            audited.outcome = "patched"
        elif audited.items or audited.errors:
            audited.outcome = "audited"


def _item(
    verdict: Verdict,
    *,
    webhook: Webhook,
    spec: str,
    prefix: str,
    applies_to: AppliesTo,
    locate: Locate | None,
) -> Item:
    finding = verdict.finding
    pointer = prefix + _pointer(finding, spec)
    return Item(
        policy=verdict.policy,
        webhook=webhook,
        mode=verdict.mode,
        key=finding.key,
        role=finding.role.value if finding.role is not None else None,
        container=finding.container.name if finding.container is not None else None,
        volume=finding.volume.name if finding.volume is not None else None,
        location=finding.location,
        pointer=pointer,
        message=finding.message,
        hint=finding.hint,
        patch=tuple(_moved(finding.patch, prefix)),
        applies_to=applies_to,
        line=locate(pointer) if locate is not None else None,
    )


def _pointer(finding: Finding, spec: str) -> str:
    if finding.container is not None:
        return finding.container.path
    if finding.volume is not None:
        return f"{spec}/volumes/{finding.volume.index}"
    return spec


def _moved(ops: Iterable[PatchOp], prefix: str) -> Iterable[PatchOp]:
    """Operations on a Pod, moved to the template at `prefix` of a workload."""
    if not prefix:
        return ops
    return ({"op": op["op"], "path": prefix + op["path"], "value": op["value"]} for op in ops)


def would_be_pod(workload: dict[str, Any], pointer: str, namespace: str) -> dict[str, Any]:
    """The Pod a controller creates from the template at `pointer`: the template's metadata and
    spec, in the workload's namespace. Shares the template's dicts (nothing here modifies them)."""
    node: Any = workload
    for part in pointer.split("/")[1:]:
        node = mapping(node).get(part)
    template = mapping(node)
    name = text(mapping(workload.get("metadata")).get("name"))
    metadata = {**mapping(template.get("metadata")), "namespace": namespace}
    if name:
        metadata.setdefault("generateName", f"{name}-")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": template.get("spec")}
