"""A local HTTPS API server replaying what a real kube-apiserver v1.36.2 sent (tests/data/apiserver),
for the real `kubernetes` client: it cannot tell the difference.

The pods of all namespaces were recorded with `limit=4` in three pages: asked with that limit, the
replay serves exactly those pages, checking each `continue` token it receives, and answers an
unknown token with 410 Expired as the API server does. Other lists were recorded whole; the replay
paginates them itself with opaque tokens of its own, honouring `limit`. Every request is recorded.

Tests may change what is served, on top of the recorded data: namespace labels, extra objects (a
ReplicaSet and the pods it owns, which a cluster without a controller-manager never had), failing
resources, and whether the PolicyReport API exists (then reports are stored in memory).
"""

from __future__ import annotations

import base64
import copy
import json
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.support.server import Material

DATA = Path(__file__).resolve().parents[2] / "data" / "apiserver"
TOKEN = "replay-token"  # noqa: S105 - the bearer token the kubeconfig gives the client
RECORDED = {
    ("", "namespaces"): "namespaces.json",
    ("apps", "deployments"): "deployments.json",
    ("apps", "statefulsets"): "statefulsets.json",
    ("apps", "daemonsets"): "daemonsets.json",
    ("apps", "replicasets"): "replicasets.json",
    ("batch", "jobs"): "jobs.json",
    ("batch", "cronjobs"): "cronjobs.json",
}
POD_PAGES = ("pods-page1.json", "pods-page2.json", "pods-page3.json")
_KINDS = {
    "namespaces": "Namespace",
    "pods": "Pod",
    "deployments": "Deployment",
    "statefulsets": "StatefulSet",
    "daemonsets": "DaemonSet",
    "replicasets": "ReplicaSet",
    "replicationcontrollers": "ReplicationController",
    "jobs": "Job",
    "cronjobs": "CronJob",
}
REPORTS = "/apis/wgpolicyk8s.io/v1alpha2"
ADMISSION = "admissionregistration.k8s.io"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


@dataclass
class State:
    """What the replay serves beyond the recording, and what it was asked."""

    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    extra: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    failing: dict[str, int] = field(default_factory=dict)
    expire_once: set[str] = field(default_factory=set)
    """Continue tokens answered once with 410 Expired, as after etcd compaction."""
    policy_reports: bool = False
    reports: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    webhook_configurations: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    """(resource, name): a Validating/MutatingWebhookConfiguration served by GET."""
    version: int = 1000
    recorded: bool = True
    """False: serve only `extra` (a cluster of a test's own, as the docs' examples use)."""

    def lists(self, resource: str) -> list[tuple[str, dict[str, str]]]:
        """(path, query) of every GET of a list of `resource`."""
        return [
            (path, query)
            for method, path, query in self.requests
            if method == "GET" and path.rsplit("/", 1)[-1] == resource
        ]


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class Replay:
    """The server, on 127.0.0.1 with a CA of its own; `kubeconfig()` points a client at it."""

    def __init__(self, folder: Path) -> None:
        self.material = Material.create(folder, name="apiserver")
        self.state = State()
        self.lock = threading.Lock()
        replay = self

        class Handler(_Handler):
            owner = replay

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.material.cert, self.material.key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def kubeconfig(self, path: Path) -> Path:
        ca = base64.b64encode(self.material.ca.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "replay",
                    "cluster": {"server": self.url, "certificate-authority-data": ca},
                }
            ],
            "users": [{"name": "auditor", "user": {"token": TOKEN}}],
            "contexts": [{"name": "replay", "context": {"cluster": "replay", "user": "auditor"}}],
            "current-context": "replay",
        }
        path.write_text(yaml.safe_dump(config))
        return path

    # What is served -----------------------------------------------------------------------

    def items(self, group: str, resource: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(list envelope, items) of a resource in all namespaces."""
        found: list[dict[str, Any]]
        if not self.state.recorded:
            version = f"{group}/v1" if group else "v1"
            envelope: dict[str, Any] = {"kind": f"{_KINDS[resource]}List", "apiVersion": version}
            found = []
        elif resource == "pods":
            pages = [recorded(name) for name in POD_PAGES]
            envelope, found = pages[-1], [item for page in pages for item in page["items"]]
        elif (group, resource) in RECORDED:
            envelope = recorded(RECORDED[(group, resource)])
            found = envelope["items"]
        elif resource == "replicationcontrollers":  # none were recorded: an empty list
            envelope = {"kind": "ReplicationControllerList", "apiVersion": "v1", "items": []}
            found = []
        else:
            raise KeyError(resource)
        found = [*copy.deepcopy(found), *copy.deepcopy(self.state.extra.get(resource, []))]
        if resource == "namespaces":
            for namespace in found:
                extra = self.state.labels.get(namespace["metadata"]["name"], {})
                namespace["metadata"].setdefault("labels", {}).update(extra)
        return envelope, found

    def page(
        self, group: str, resource: str, namespace: str | None, query: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        limit = int(query.get("limit", "0"))
        token = query.get("continue", "")
        if (
            self.state.recorded
            and resource == "pods"
            and namespace is None
            and limit == 4
            and not self.state.extra.get("pods")
        ):
            return self._recorded_pod_page(token)
        envelope, found = self.items(group, resource)
        if namespace is not None:
            found = [i for i in found if i["metadata"].get("namespace") == namespace]
            recorded_pods = self.state.recorded and not self.state.extra.get("pods")
            if (namespace, resource) == ("workloads", "pods") and recorded_pods:
                found = recorded("pods-workloads.json")["items"]
        start = 0
        if token:
            try:
                kind, offset = base64.urlsafe_b64decode(token).decode().split(":")
                start = int(offset)
                assert kind == f"{namespace}/{resource}"
            except (ValueError, AssertionError):
                return 400, _status(400, "BadRequest", "continue key is not valid")
        end = start + limit if limit else len(found)
        body = {
            "kind": envelope["kind"],
            "apiVersion": envelope["apiVersion"],
            "metadata": {"resourceVersion": "359"},
            "items": found[start:end],
        }
        if end < len(found):
            body["metadata"]["continue"] = base64.urlsafe_b64encode(
                f"{namespace}/{resource}:{end}".encode()
            ).decode()
            body["metadata"]["remainingItemCount"] = len(found) - end
        return 200, body

    def _recorded_pod_page(self, token: str) -> tuple[int, dict[str, Any]]:
        pages = [recorded(name) for name in POD_PAGES]
        expected = [""] + [page["metadata"]["continue"] for page in pages[:-1]]
        if token in self.state.expire_once:
            self.state.expire_once.discard(token)
            return 410, _status(410, "Expired", "The provided continue parameter is too old")
        if token not in expected:
            message = "The provided continue parameter is too old to display a consistent list"
            return 410, _status(410, "Expired", message)
        return 200, pages[expected.index(token)]

    def discovery(self) -> dict[str, Any]:
        groups = [
            {
                "name": name,
                "versions": [{"groupVersion": f"{name}/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": f"{name}/v1", "version": "v1"},
            }
            for name in ("apps", "batch")
        ]
        if self.state.policy_reports:
            version = {"groupVersion": "wgpolicyk8s.io/v1alpha2", "version": "v1alpha2"}
            groups.append(
                {"name": "wgpolicyk8s.io", "versions": [version], "preferredVersion": version}
            )
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


class _Handler(BaseHTTPRequestHandler):
    owner: Replay
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests assert on the recorded requests instead."""

    def _answer(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length", "0"))
        data: dict[str, Any] = json.loads(self.rfile.read(length)) if length else {}
        return data

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        body = self._body() if method in ("POST", "PUT") else {}
        with self.owner.lock:
            self.owner.state.requests.append((method, url.path, query))
            # As the API server's bearer token authenticator: the scheme in any case (the
            # client's in-cluster configuration sends "bearer").
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token != TOKEN:
                self._answer(401, _status(401, "Unauthorized", "Unauthorized"))
                return
            try:
                code, answer = _dispatch(self.owner, method, url.path.rstrip("/"), query, body)
            except (KeyError, IndexError) as error:  # a path the replay does not know
                code, answer = 404, _status(404, "NotFound", f"replay: {error!r}")
        self._answer(code, answer)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")


def _dispatch(
    replay: Replay, method: str, path: str, query: dict[str, str], body: dict[str, Any]
) -> tuple[int, Any]:
    if path in FIXED:
        return 200, FIXED[path](replay)
    if path.startswith(REPORTS):
        return _reports(replay.state, method, path.strip("/").split("/")[3:], query, body)
    parts = path.strip("/").split("/")
    group, rest = ("", parts[2:]) if parts[0] == "api" else (parts[1], parts[3:])
    if group == ADMISSION:
        return _webhook_configuration(replay.state, rest)
    if len(rest) == 2 and rest[0] == "namespaces" and group == "":
        return _namespace(replay, rest[1])
    namespace = None
    if len(rest) == 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    if resource in replay.state.failing:
        code = replay.state.failing[resource]
        return code, _status(code, "InternalError", f"replay: {resource} fails")
    return replay.page(group, resource, namespace, query)


def _webhook_configuration(state: State, rest: list[str]) -> tuple[int, Any]:
    resource, name = rest
    if resource in state.failing:
        code = state.failing[resource]
        return code, _status(code, "Forbidden", f"replay: {resource} fails")
    found = state.webhook_configurations.get((resource, name))
    if found is None:
        return 404, _status(404, "NotFound", f'{resource}.{ADMISSION} "{name}" not found')
    return 200, copy.deepcopy(found)


def _version(_: Replay) -> dict[str, Any]:
    return recorded("version.json")


FIXED: dict[str, Callable[[Replay], dict[str, Any]]] = {
    "/version": _version,
    "/apis": Replay.discovery,
}


def _namespace(replay: Replay, name: str) -> tuple[int, Any]:
    _, found = replay.items("", "namespaces")
    match = [n for n in found if n["metadata"]["name"] == name]
    if not match:
        return 404, _status(404, "NotFound", f'namespaces "{name}" not found')
    return 200, {"kind": "Namespace", "apiVersion": "v1", **match[0]}


def _reports(
    state: State, method: str, rest: list[str], query: dict[str, str], body: dict[str, Any]
) -> tuple[int, Any]:
    if not state.policy_reports:
        return 404, _status(404, "NotFound", "the server could not find the requested resource")
    if not rest:
        resources = [{"name": "policyreports", "namespaced": True, "kind": "PolicyReport"}]
        return 200, {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "wgpolicyk8s.io/v1alpha2",
            "resources": resources,
        }
    if rest == ["policyreports"]:
        label, _, value = query.get("labelSelector", "").partition("=")
        found = [
            r for r in state.reports.values() if r["metadata"].get("labels", {}).get(label) == value
        ]
        return 200, {
            "kind": "PolicyReportList",
            "apiVersion": "wgpolicyk8s.io/v1alpha2",
            "metadata": {"resourceVersion": str(state.version)},
            "items": copy.deepcopy(found),
        }
    if method == "POST":
        key = (rest[1], body["metadata"]["name"])
        if key in state.reports:
            return 409, _status(409, "AlreadyExists", "policyreports already exists")
        return 201, _store(state, key, body)
    return _report(state, method, (rest[1], rest[3]), body)


def _report(
    state: State, method: str, key: tuple[str, str], body: dict[str, Any]
) -> tuple[int, Any]:
    if key not in state.reports:
        return 404, _status(404, "NotFound", f'policyreports "{key[1]}" not found')
    if method == "GET":
        return 200, state.reports[key]
    if method == "DELETE":
        del state.reports[key]
        return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}
    if body["metadata"].get("resourceVersion") != state.reports[key]["metadata"]["resourceVersion"]:
        return 409, _status(409, "Conflict", "the object has been modified")
    return 200, _store(state, key, body)


def _store(state: State, key: tuple[str, str], body: dict[str, Any]) -> dict[str, Any]:
    state.version += 1
    stored = copy.deepcopy(body)
    stored["metadata"]["namespace"] = key[0]
    stored["metadata"]["resourceVersion"] = str(state.version)
    state.reports[key] = stored
    return copy.deepcopy(stored)
