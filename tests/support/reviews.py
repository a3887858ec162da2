"""AdmissionReviews: the captured ones (tests/data/admission-reviews, sent by a real
kube-apiserver v1.36.2) and ones built around hand-written objects."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data"
REVIEWS = DATA / "admission-reviews"
CASES = sorted({p.name.split(".")[0] for p in REVIEWS.glob("*.json")})
"""Every captured case; each has a `.mutate.json` and a `.validate.json` request."""


def captured(case: str, webhook: str) -> dict[str, Any]:
    """The review the API server sent to the `webhook` ("mutate" or "validate") in `case`."""
    data: dict[str, Any] = json.loads((REVIEWS / f"{case}.{webhook}.json").read_text())
    return data


def captured_bytes(case: str, webhook: str) -> bytes:
    return (REVIEWS / f"{case}.{webhook}.json").read_bytes()


_GROUPS = {
    "Pod": ("", "v1", "pods"),
    "ReplicationController": ("", "v1", "replicationcontrollers"),
    "Deployment": ("apps", "v1", "deployments"),
    "StatefulSet": ("apps", "v1", "statefulsets"),
    "DaemonSet": ("apps", "v1", "daemonsets"),
    "ReplicaSet": ("apps", "v1", "replicasets"),
    "Job": ("batch", "v1", "jobs"),
    "CronJob": ("batch", "v1", "cronjobs"),
}


def review_of(
    obj: dict[str, Any],
    *,
    operation: str = "CREATE",
    old: dict[str, Any] | None = None,
    namespace: str = "demo",
    username: str = "alice",
    groups: tuple[str, ...] = ("system:authenticated",),
    sub_resource: str = "",
    dry_run: bool = False,
) -> dict[str, Any]:
    """A review shaped like the captured ones, around `obj`."""
    group, version, resource = _GROUPS.get(obj["kind"], ("example.com", "v1", "things"))
    gvk = {"group": group, "version": version, "kind": obj["kind"]}
    gvr = {"group": group, "version": version, "resource": resource}
    request: dict[str, Any] = {
        "uid": str(uuid.uuid4()),
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": username, "groups": list(groups)},
        "object": obj,
        "oldObject": old,
        "dryRun": dry_run,
    }
    if name := obj.get("metadata", {}).get("name"):
        request["name"] = name
    if sub_resource:
        request["subResource"] = request["requestSubResource"] = sub_resource
    return {"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request}


def container(name: str, image: str = "busybox:1.36", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": image, **fields}


LIMITED = {
    "limits": {"cpu": "200m", "memory": "128Mi"},
    "requests": {"cpu": "100m", "memory": "64Mi"},
}


def pod(
    *,
    init: list[dict[str, Any]] | None = None,
    app: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    annotations: dict[str, str] | None = None,
    name: str = "web",
    **spec: Any,
) -> dict[str, Any]:
    """A Pod as the API server would pass it to a webhook (defaults filled where it matters)."""
    metadata: dict[str, Any] = {"name": name, "namespace": "demo"}
    if annotations:
        metadata["annotations"] = annotations
    body: dict[str, Any] = {
        "containers": copy.deepcopy(app)
        if app is not None
        else [container("app", "nginx:1.27", resources=copy.deepcopy(LIMITED))],
        **spec,
    }
    if init:
        body["initContainers"] = copy.deepcopy(init)
    if volumes:
        body["volumes"] = copy.deepcopy(volumes)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": body}


def init_review(
    image: str, *, namespace: str = "demo", username: str = "alice", **fields: Any
) -> dict[str, Any]:
    """A review of a pod whose one init container `setup` runs `image` (within limits), with
    `fields` added to that container."""
    init = container("setup", image, resources=copy.deepcopy(LIMITED), **fields)
    return review_of(pod(init=[init]), namespace=namespace, username=username)


def workload(kind: str, template_spec: dict[str, Any], *, name: str = "web") -> dict[str, Any]:
    """A workload whose pod template has `template_spec`."""
    group, version, _ = _GROUPS[kind]
    api_version = f"{group}/{version}" if group else version
    template = {"metadata": {"labels": {"app": name}}, "spec": copy.deepcopy(template_spec)}
    selector = {"matchLabels": {"app": name}}
    specs: dict[str, dict[str, Any]] = {
        "Deployment": {"selector": selector, "template": template},
        "StatefulSet": {"selector": selector, "serviceName": name, "template": template},
        "DaemonSet": {"selector": selector, "template": template},
        "ReplicaSet": {"selector": selector, "template": template},
        "ReplicationController": {"selector": {"app": name}, "template": template},
        "Job": {"template": {**template, "spec": {**template["spec"], "restartPolicy": "Never"}}},
        "CronJob": {
            "schedule": "*/5 * * * *",
            "jobTemplate": {
                "spec": {
                    "template": {**template, "spec": {**template["spec"], "restartPolicy": "Never"}}
                }
            },
        },
    }
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": "demo"},
        "spec": specs[kind],
    }
