"""A minimal Kubernetes API server over plain HTTP, for `helm template --dry-run=server`: just the
discovery documents helm needs to map the chart's kinds, and GET of the Secrets it is given, so
that the chart's `lookup` of an existing certificate Secret can be exercised without a cluster."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# group/version -> (resource, kind, namespaced) of every kind the chart renders.
RESOURCES: dict[str, list[tuple[str, str, bool]]] = {
    "v1": [
        ("secrets", "Secret", True),
        ("configmaps", "ConfigMap", True),
        ("services", "Service", True),
        ("serviceaccounts", "ServiceAccount", True),
        ("pods", "Pod", True),
        ("namespaces", "Namespace", False),
    ],
    "apps/v1": [("deployments", "Deployment", True)],
    "policy/v1": [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    "admissionregistration.k8s.io/v1": [
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False),
        ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
    ],
}


def discovery(
    path: str,
    resources: dict[str, list[tuple[str, str, bool]]] = RESOURCES,
    version: str = "1.33.0",
) -> dict[str, Any] | None:
    """The discovery document at `path` of an API server of `version` serving `resources`."""
    if path == "/version":
        minor = version.split(".")[1]
        return {
            "major": "1",
            "minor": minor,
            "gitVersion": f"v{version}",
            "platform": "linux/amd64",
        }
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        groups = [
            {
                "name": gv.split("/")[0],
                "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
            }
            for gv in resources
            if "/" in gv
        ]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    group_version = path.removeprefix("/api/").removeprefix("/apis/")
    if group_version in resources and path in (f"/api/{group_version}", f"/apis/{group_version}"):
        return {
            "kind": "APIResourceList",
            "groupVersion": group_version,
            "resources": [
                {
                    "name": name,
                    "singularName": kind.lower(),
                    "namespaced": namespaced,
                    "kind": kind,
                    "verbs": ["get", "list", "create", "update", "patch", "delete"],
                }
                for name, kind, namespaced in resources[group_version]
            ],
        }
    return None


class FakeAPI:
    """Serves discovery, `secrets` (namespace, name) -> object, and `paths` -> body (e.g. a
    list); everything else is NotFound."""

    def __init__(
        self,
        secrets: dict[tuple[str, str], dict[str, Any]],
        paths: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.secrets = secrets
        self.paths = paths or {}
        self.requests: list[str] = []

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        self.requests.append(path)
        found = discovery(path) or self.paths.get(path)
        if found is not None:
            return 200, found
        parts = path.strip("/").split("/")
        if len(parts) == 6 and parts[:2] == ["api", "v1"] and parts[4] == "secrets":
            secret = self.secrets.get((parts[3], parts[5]))
            if secret is not None:
                return 200, secret
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
        return 404, {**status, "reason": "NotFound", "message": f"{path} not found"}


def kubeconfig(folder: Path, url: str) -> Path:
    """A kubeconfig in `folder` for the API server at `url`."""
    path = folder / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": url}}],
                "users": [{"name": "fake", "user": {"token": "fake"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                "current-context": "fake",
            }
        )
    )
    return path


Answer = Callable[[str, str, bytes, str], tuple[int, Any]]
"""(method, path with query, body, content type) -> (status, JSON body)."""


@contextmanager
def serve_answers(answer: Answer, folder: Path) -> Iterator[Path]:
    """Answer every request with `answer` on a free local port; yield the path of a kubeconfig
    that points at it."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type", "")
            status, found = answer(self.command, self.path, body, content_type)
            data = json.dumps(found).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read what the fake recorded instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield kubeconfig(folder, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def serve(api: FakeAPI, folder: Path) -> AbstractContextManager[Path]:
    """Run `api` (GET only) on a free local port; yield the path of a kubeconfig for it."""
    return serve_answers(
        lambda _method, path, _body, _type: api.answer(urlsplit(path).path), folder
    )
