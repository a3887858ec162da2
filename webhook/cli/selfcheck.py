"""`initgate selfcheck`: one real AdmissionReview round trip over verified TLS (the `helm test`)."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

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
    """The webhook did not answer as an admission webhook must."""


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
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    if client_cert is not None:
        context.load_cert_chain(client_cert, client_key)
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
    request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own service
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:  # noqa: S310
            reply = json.load(answer)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise SelfCheckError(f"{url}: no valid answer: {error}") from error
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
