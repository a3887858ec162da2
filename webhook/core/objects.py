"""Which objects initgate judges, where their pod spec lives, and what an UPDATE changes.

Pods are judged on CREATE, and on UPDATE of the `ephemeralcontainers` subresource (only the new
ephemeral containers). Workloads are judged through their pod template on CREATE and on every UPDATE
that changes the template: the controller will create pods from it, and a denial at `kubectl apply`
time beats a ReplicaSet that silently fails to create pods. Everything else passes untouched.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Any

from policies.base import Container, PodView, Role, mapping, pod_view, text

# (group, version, kind) -> JSON pointer of the pod template ("" for a Pod itself).
TEMPLATES: dict[tuple[str, str, str], str] = {
    ("", "v1", "Pod"): "",
    ("", "v1", "ReplicationController"): "/spec/template",
    ("apps", "v1", "Deployment"): "/spec/template",
    ("apps", "v1", "StatefulSet"): "/spec/template",
    ("apps", "v1", "DaemonSet"): "/spec/template",
    ("apps", "v1", "ReplicaSet"): "/spec/template",
    ("batch", "v1", "Job"): "/spec/template",
    ("batch", "v1", "CronJob"): "/spec/jobTemplate/spec/template",
}
KINDS = frozenset(kind for _, _, kind in TEMPLATES)


@dataclass(slots=True)
class Request:
    """What the engine needs of an admission request, whatever brought it (webhook, CLI, audit)."""

    object: dict[str, Any]
    _: KW_ONLY
    operation: str = "CREATE"
    group: str = ""
    version: str = "v1"
    kind: str = "Pod"
    old_object: dict[str, Any] | None = None
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    username: str = ""
    groups: tuple[str, ...] = ()
    dry_run: bool = False
    uid: str = ""

    @property
    def display_name(self) -> str:
        """The object's name, or its generateName (the API server has not generated one yet)."""
        metadata = mapping(self.object.get("metadata"))
        return self.name or text(metadata.get("name")) or text(metadata.get("generateName"))

    @property
    def effective_namespace(self) -> str:
        return self.namespace or text(mapping(self.object.get("metadata")).get("namespace"))


@dataclass(slots=True)
class Subject:
    """The pod spec of a request that is to be judged."""

    pod: PodView
    template: str
    """Where the pod spec is, for messages: "" for a Pod, `spec.template.spec` for a workload."""
    _: KW_ONLY
    mutable: bool
    """Whether patches may be returned: Pods only (mutating templates fights GitOps tools)."""
    old: PodView | None = None
    """For an UPDATE judged on what it changes: the same containers before the change."""


# The same pointers, split once.
_PARTS = {pointer: tuple(pointer.split("/")[1:]) for pointer in TEMPLATES.values()}


def _spec_at(obj: dict[str, Any], pointer: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod spec, pod metadata) of the template at `pointer` ("" for the object itself)."""
    node: Any = obj
    for part in _PARTS[pointer]:
        node = mapping(node).get(part)
    template = mapping(node)
    return mapping(template.get("spec")), mapping(template.get("metadata"))


def subject_of(request: Request) -> Subject | str:
    """The pod spec to judge, or why there is none (a reason for logs and metrics)."""
    pointer = TEMPLATES.get((request.group, request.version, request.kind))
    if pointer is None:
        return "unhandled"
    if request.operation not in ("CREATE", "UPDATE"):
        return "operation"
    spec, metadata = _spec_at(request.object, pointer)
    spec_path = f"{pointer}/spec"
    annotations = mapping(metadata.get("annotations"))
    template = spec_path[1:].replace("/", ".") if pointer else ""
    if request.operation == "CREATE" and not request.subresource:
        view = pod_view(spec, path=spec_path, annotations=annotations, metadata=metadata)
        return Subject(pod=view, template=template, mutable=not pointer)
    old_spec, _ = _spec_at(request.old_object or {}, pointer)
    if pointer:
        if old_spec == spec:
            return "unchanged"
        view = pod_view(spec, path=spec_path, annotations=annotations, metadata=metadata)
        return Subject(pod=view, template=template, mutable=False)
    return _pod_update(request, spec, old_spec, spec_path, metadata)


def _pod_update(
    request: Request,
    spec: dict[str, Any],
    old_spec: dict[str, Any],
    spec_path: str,
    metadata: dict[str, Any],
) -> Subject | str:
    annotations = mapping(metadata.get("annotations"))
    old_view = pod_view(old_spec, path=spec_path, annotations=annotations, metadata=metadata)
    before = {(c.list_name, c.name): c.raw for c in old_view.containers}
    if request.subresource == "ephemeralcontainers":

        def is_new(c: Container) -> bool:
            return c.role is Role.EPHEMERAL and (c.list_name, c.name) not in before

        view = pod_view(
            spec, path=spec_path, annotations=annotations, judge=is_new, metadata=metadata
        )
        return Subject(pod=view, template="", mutable=True) if view.judged else "unchanged"
    if request.subresource:
        return "subresource"

    def changed(c: Container) -> bool:
        return before.get((c.list_name, c.name)) != c.raw

    view = pod_view(spec, path=spec_path, annotations=annotations, judge=changed, metadata=metadata)
    if not view.judged:
        return "unchanged"
    return Subject(pod=view, template="", mutable=False, old=old_view)
