"""An in-memory Kubernetes API server over plain HTTP, enough for the real `helm install`,
`helm upgrade` and `helm uninstall` of the chart: discovery of every kind the chart renders, and
create, get, list (by label), update, patch (apply, merge, JSON) and delete of any object. It
admits and stores what it is sent, as a cluster without admission control would: the tests read
the store to see which objects a release leaves behind."""

from __future__ import annotations

import copy
import json
import threading
import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonpatch
import yaml

from tests.chart import protobuf
from tests.chart.fakeapi import RESOURCES, discovery, serve_answers

KINDS: dict[str, list[tuple[str, str, bool]]] = {
    **RESOURCES,
    "admissionregistration.k8s.io/v1": [
        *RESOURCES["admissionregistration.k8s.io/v1"],
        ("validatingadmissionpolicies", "ValidatingAdmissionPolicy", False),
        ("validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", False),
        ("mutatingadmissionpolicies", "MutatingAdmissionPolicy", False),
        ("mutatingadmissionpolicybindings", "MutatingAdmissionPolicyBinding", False),
    ],
}
Key = tuple[str, str, str, str]
"""(group/version, resource, namespace or "", name)."""


def _key(path: str) -> tuple[Key, bool] | None:
    """(key, whether it names one object) of an object's or a collection's path."""
    parts = path.strip("/").split("/")
    if parts[:2] == ["api", "v1"]:
        gv, rest = "v1", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        gv, rest = f"{parts[1]}/{parts[2]}", parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if gv not in KINDS or len(rest) not in (1, 2) or rest[0] not in {r for r, _, _ in KINDS[gv]}:
        return None
    return (gv, rest[0], namespace, rest[1] if len(rest) == 2 else ""), len(rest) == 2


def _decoded(body: bytes, content_type: str) -> dict[str, Any]:
    """A created or updated object: JSON, or a Secret in protobuf (helm's releases)."""
    decoded: dict[str, Any] = (
        protobuf.secret(body) if "protobuf" in content_type else json.loads(body)
    )
    return decoded


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


@dataclass
class Cluster:
    """The objects, by key; and the Kubernetes version it reports."""

    version: str = "1.36.0"
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    revision: int = 0

    def kinds(self, *kinds: str) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(o) for o in self.objects.values() if o.get("kind") in kinds]

    def answer(self, method: str, url: str, body: bytes, content_type: str) -> tuple[int, Any]:
        split = urlsplit(url)
        found = discovery(split.path, KINDS, self.version)
        if found is not None and method == "GET":
            return 200, found
        located = _key(split.path)
        if located is None:
            return 404, _status(404, "NotFound", f"{split.path} not found")
        key, named = located
        with self.lock:
            if not named:
                if method == "GET":
                    selector = parse_qs(split.query).get("labelSelector", [""])[0]
                    return 200, self._list(key, selector)
                return self._store(key, _decoded(body, content_type), create=True)
            return self._one(method, key, body, content_type)

    def _one(self, method: str, key: Key, body: bytes, content_type: str) -> tuple[int, Any]:
        current = self.objects.get(key)
        if method == "PATCH":
            return self._patch(key, current, body, content_type)
        if method == "PUT":
            return self._store(key, _decoded(body, content_type), create=False)
        if current is None:
            return 404, _status(404, "NotFound", f"{key[3]} not found")
        if method == "DELETE":
            del self.objects[key]
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        return 200, current

    def _list(self, key: Key, selector: str) -> dict[str, Any]:
        wanted = dict(term.split("=", 1) for term in selector.split(",") if "=" in term)
        items = [
            o
            for (gv, resource, namespace, _), o in self.objects.items()
            if (gv, resource) == key[:2]
            and namespace == key[2]
            and all(o["metadata"].get("labels", {}).get(k) == v for k, v in wanted.items())
        ]
        (kind,) = [k for r, k, _ in KINDS[key[0]] if r == key[1]]
        return {
            "kind": f"{kind}List",
            "apiVersion": key[0],
            "metadata": {"resourceVersion": str(self.revision)},
            "items": items,
        }

    def _store(self, key: Key, obj: dict[str, Any], *, create: bool) -> tuple[int, Any]:
        name = (
            obj.get("metadata", {}).get("name")
            or obj.get("metadata", {}).get("generateName", "") + uuid.uuid4().hex[:5]
        )
        key = (*key[:3], key[3] or name)
        if create and key in self.objects:
            return 409, _status(409, "AlreadyExists", f"{key[3]} already exists")
        if not create and key not in self.objects:
            return 404, _status(404, "NotFound", key[3])
        self.revision += 1
        meta = obj.setdefault("metadata", {})
        previous = self.objects.get(key, {}).get("metadata", {})
        meta.update(
            name=key[3],
            uid=previous.get("uid", str(uuid.uuid4())),
            resourceVersion=str(self.revision),
            creationTimestamp=previous.get("creationTimestamp", "2026-01-01T00:00:00Z"),
        )
        if key[2]:
            meta["namespace"] = key[2]
        self.objects[key] = obj
        return (201 if create else 200), obj

    def _patch(
        self, key: Key, current: dict[str, Any] | None, body: bytes, content_type: str
    ) -> tuple[int, Any]:
        if "apply-patch" in content_type:  # server-side apply: the applied object wins
            return self._store(key, yaml.safe_load(body), create=current is None)
        if current is None:
            return 404, _status(404, "NotFound", key[3])
        if "json-patch" in content_type:
            patched = jsonpatch.apply_patch(current, json.loads(body))
        else:
            patched = _merge(copy.deepcopy(current), json.loads(body))
        return self._store(key, patched, create=False)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch (what a strategic merge patch is, for these objects)."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for name, value in patch.items():
        if value is None:
            target.pop(name, None)
        else:
            target[name] = _merge(target.get(name), value)
    return target


def serve(cluster: Cluster, folder: Path) -> AbstractContextManager[Path]:
    """Run `cluster` on a free local port; yield the path of a kubeconfig that points at it."""
    return serve_answers(cluster.answer, folder)
