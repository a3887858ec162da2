"""Issue 2's list of bad requests, over real TLS to a real `initgate serve` with its default limits
(tests/webhook/test_protocol.py covers the same in process, with a small cap): each gets the
documented 4xx with a Kubernetes Status naming the problem, none a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import raw
from tests.webhook.server.resilience.load import JSON
from webhook.server.endpoint import MAX_BODY_BYTES

pytestmark = pytest.mark.integration

ENDPOINTS = ["/validate", "/mutate", "/validate/warn", "/mutate/audit"]


def sent(**request: Any) -> bytes:
    """The captured review with `request` fields replaced (None: removed)."""
    review = reviews.captured("pod-create-two-init", "validate")
    for key, value in request.items():
        if value is None:
            del review["request"][key]
        else:
            review["request"][key] = value
    return json.dumps(review).encode()


def without(key: str) -> bytes:
    review = reviews.captured("pod-create-two-init", "validate")
    del review[key]
    return json.dumps(review).encode()


V1BETA1 = json.loads(sent())
V1BETA1["apiVersion"] = "admission.k8s.io/v1beta1"

CASES: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("malformed-json", b'{"kind": "AdmissionReview", "request": {', JSON, 400,
     "malformed JSON: unexpected end of data: line 1 column 41 (char 40)"),
    ("not-a-review", b'{"kind": "Pod", "apiVersion": "v1", "metadata": {}}', JSON, 400,
     "not an AdmissionReview: expected kind AdmissionReview"),
    ("no-request", without("request"), JSON, 400,
     "invalid AdmissionReview: request: Field required"),
    ("no-uid", sent(uid=None), JSON, 400,
     "invalid AdmissionReview: request.uid: Field required"),
    ("v1beta1", json.dumps(V1BETA1).encode(), JSON, 400,
     "unsupported apiVersion 'admission.k8s.io/v1beta1': initgate answers admission.k8s.io/v1 "
     "only (admissionReviewVersions: [v1])"),
    ("text-plain", sent(), {"content-type": "text/plain"}, 415,
     "content type must be application/json, not 'text/plain'"),
    ("form", sent(), {"content-type": "application/x-www-form-urlencoded"}, 415,
     "content type must be application/json, not 'application/x-www-form-urlencoded'"),
    ("over-the-cap", b" " * (MAX_BODY_BYTES + 1), JSON, 413,
     f"body of {MAX_BODY_BYTES + 1} bytes exceeds the {MAX_BODY_BYTES}-byte cap"),
]  # fmt: skip


@pytest.fixture(scope="module")
def client(default_server: server.Served) -> Iterator[httpx.Client]:
    with default_server.client() as http:
        yield http


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "headers", "status", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_input_gets_its_4xx(
    client: httpx.Client, path: str, body: bytes, headers: dict[str, str], status: int, message: str
) -> None:
    answer = client.post(f"{path}?timeout=10s", content=body, headers=headers)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()
    assert error["kind"] == "Status"
    assert error["code"] == status
    assert error["message"] == message


def test_a_body_over_the_default_cap_is_refused_before_it_is_read(
    default_server: server.Served,
) -> None:
    """7 MiB declared plus one byte, and only a few bytes sent: the 413 comes at once."""
    with default_server.connect() as connection:
        declared = str(MAX_BODY_BYTES + 1)
        connection.sendall(
            raw.head(
                "/validate?timeout=10s", content_type="application/json", content_length=declared
            )
            + b'{"kind": "AdmissionReview"'
        )
        answer = raw.read_answer(connection, timeout=2)
    assert answer.status == 413
    assert answer.json()["reason"] == "too-large"


@pytest.mark.parametrize("query", ["?timeout=10s", "?timeout=30s&extra=1", ""])
def test_the_api_servers_query_string_is_accepted(client: httpx.Client, query: str) -> None:
    body = reviews.captured_bytes("pod-create-two-init", "validate")
    answer = client.post(f"/validate{query}", content=body, headers=JSON)
    assert answer.status_code == 200
    response = answer.json()["response"]
    assert response["uid"] == json.loads(body)["request"]["uid"]
    assert response["allowed"] is False


def test_none_of_it_was_a_server_error(default_server: server.Served) -> None:
    entries = default_server.log_entries()
    assert not [e for e in entries if e["level"] == "error"]
    assert not default_server.metric("initgate_policy_errors_total", policy="engine")
