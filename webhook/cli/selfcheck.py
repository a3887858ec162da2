"""`initgate selfcheck`: one real AdmissionReview round trip over verified TLS (the `helm test`)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from webhook.audit import network
from webhook.core import review

PROBE_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "initgate-selfcheck", "namespace": "initgate-selfcheck"},
    "spec": {
        "initContainers": [
            {"name": "probe", "image": "busybox:1.36", "securityContext": {"privileged": True}}
        ],
        "containers": [{"name": "app", "image": "busybox:1.36"}],
    },
}


class SelfCheckError(RuntimeError):
    """The webhook did not answer as an admission webhook must (`status` 1), or could not be asked
    at all: a file that cannot be read, a URL that cannot be reached (`status` 2)."""

    def __init__(self, message: str, *, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def _context(ca: Path | None, client_cert: Path | None, client_key: Path | None) -> ssl.SSLContext:
    """The TLS context, or a `SelfCheckError` naming the file that cannot be used."""
    try:
        context = ssl.create_default_context(cafile=str(ca) if ca else None)
    except (OSError, ssl.SSLError) as error:
        raise _unusable("--ca", ca, error) from error
    if client_cert is not None:
        try:
            context.load_cert_chain(client_cert, client_key)
        except (OSError, ssl.SSLError) as error:
            raise _unusable("--client-cert/--client-key", client_cert, error) from error
    return context


def _unusable(option: str, path: Path | None, error: Exception) -> SelfCheckError:
    if isinstance(error, FileNotFoundError):
        why = "no such file"
    elif isinstance(error, ssl.SSLError):
        why = f"not a PEM certificate (and key) that TLS can use ({error.reason or error})"
    else:
        why = getattr(error, "strerror", None) or str(error)
    return SelfCheckError(f"{option} {path}: cannot use it: {why}", status=2)


def _failure(url: str, error: Exception) -> SelfCheckError:
    """One line for a request that got no answer: the cause, and what to do."""
    if isinstance(error, urllib.error.HTTPError):
        hint = ": is the path /validate?" if error.code == 404 else ""
        return SelfCheckError(f"{url}: HTTP {error.code} {error.reason}{hint}", status=2)
    if isinstance(error, ValueError):
        return SelfCheckError(f"{url}: the answer is not JSON ({error}): is this initgate?")
    host = urllib.parse.urlsplit(url).netloc or url
    cause = network.describe(
        error, host=host, trust="pass --ca with the CA that signed the server's certificate"
    )
    return SelfCheckError(f"{url}: {cause}", status=2)


def check(
    url: str,
    *,
    ca: Path | None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    timeout: float = 5.0,
) -> str:
    """POST a review of a pod with a privileged init container to `url` (a /validate endpoint);
    return a one-line summary, or raise `SelfCheckError`."""
    if urllib.parse.urlsplit(url).scheme not in ("https", "http"):
        raise SelfCheckError(f"{url}: not an https URL: give https://HOST:PORT/validate", status=2)
    context = _context(ca, client_cert, client_key)
    uid = str(uuid.uuid4())
    body = {
        "apiVersion": review.API_VERSION,
        "kind": review.KIND,
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "initgate-selfcheck",
            "operation": "CREATE",
            "userInfo": {"username": "initgate-selfcheck"},
            "object": PROBE_POD,
        },
    }
    try:
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own service
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:  # noqa: S310
            reply = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise _failure(url, error) from error
    response = reply.get("response") if isinstance(reply, dict) else None
    if not isinstance(response, dict) or response.get("uid") != uid:
        raise SelfCheckError(f"{url}: the answer is not an AdmissionReview for this request")
    if reply.get("apiVersion") != review.API_VERSION or not isinstance(
        response.get("allowed"), bool
    ):
        raise SelfCheckError(f"{url}: the answer lacks apiVersion or allowed")
    verdict = "denied" if not response["allowed"] else "allowed"
    detail = response.get("status", {}).get("message", "") or "; ".join(
        response.get("warnings", [])
    )
    first_line = detail.splitlines()[0] if detail else ""
    summary = f"{url}: answered over verified TLS: privileged init container {verdict}."
    return f"{summary} {first_line}".strip()
