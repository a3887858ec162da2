"""The HTTP side of a webhook call, in process: every kind of bad request gets a clear 4xx with a
Kubernetes Status body, a failing evaluation gets an answer, and nothing returns a 500."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Route

from policies.base import Context, Finding, Mode, PodView
from tests.support import reviews
from webhook.core.config import Config
from webhook.core.handler import Handler
from webhook.core.plan import Plan, compile_plan
from webhook.server.app import create_app
from webhook.server.endpoint import Endpoint
from webhook.server.instrumentation import Instrumentation
from webhook.server.metrics import Metrics
from webhook.server.settings import ServerSettings

JSON = {"content-type": "application/json"}
CAP = 64 * 1024


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(ServerSettings(max_body_bytes=CAP))
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as http:
        yield http


def status_of(answer: Any) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["code"] == answer.status_code
    return body


def review_with(**request: Any) -> dict[str, Any]:
    sent = reviews.captured("pod-create-two-init", "validate")
    sent["request"].update(request)
    return sent


@pytest.mark.parametrize(
    ("body", "headers", "status", "reason", "says"),
    [
        (b'{"kind": "AdmissionReview", ', JSON, 400, "malformed-json", "malformed JSON: "),
        (b"\xff\xfe\x00", JSON, 400, "malformed-json", "malformed JSON"),
        (b"[]", JSON, 400, "not-a-review", "not an AdmissionReview"),
        (b'{"kind": "Pod", "apiVersion": "v1"}', JSON, 400, "not-a-review", "kind AdmissionReview"),
        (
            b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1beta1", "request": {}}',
            JSON,
            400,
            "api-version",
            "initgate answers admission.k8s.io/v1 only",
        ),
        (
            b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}',
            JSON,
            400,
            "invalid-review",
            "invalid AdmissionReview: request: Field required",
        ),
        (b"", JSON, 400, "empty", "empty body"),
        (b"{}", {"content-type": "text/plain"}, 415, "content-type", "must be application/json"),
        (b"{}", {}, 415, "content-type", "must be application/json"),
        (b"{" + b" " * CAP + b"}", JSON, 413, "too-large", f"exceeds the {CAP}-byte cap"),
        ("[" * 30_000 + "]" * 30_000, JSON, 400, "malformed-json", "malformed JSON"),
    ],
    ids=[
        "truncated",
        "not-utf8",
        "array",
        "other-kind",
        "v1beta1",
        "no-request",
        "empty",
        "text-plain",
        "no-content-type",
        "too-large",
        "deeply-nested",
    ],
)
def test_bad_requests_get_a_clear_4xx(
    client: TestClient,
    body: bytes | str,
    headers: dict[str, str],
    status: int,
    reason: str,
    says: str,
) -> None:
    answer = client.post("/validate?timeout=10s", content=body, headers=headers)
    assert answer.status_code == status
    error = status_of(answer)
    assert error["reason"] == reason
    assert says in error["message"]


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("uid", "", "request.uid: String should have at least 1 character"),
        ("uid", None, "request.uid: Input should be a valid string"),
        ("operation", "PATCH", "request.operation: Input should be 'CREATE', 'UPDATE'"),
        ("object", "a pod", "request.object: Input should be a valid dictionary"),
        ("kind", {"kind": "Pod"}, "request.kind.version: Field required"),
        ("dryRun", "maybe", "request.dryRun: Input should be a valid boolean"),
    ],
)
def test_a_review_with_a_wrong_field_is_named(
    client: TestClient, field: str, value: Any, says: str
) -> None:
    answer = client.post("/validate", json=review_with(**{field: value}))
    assert answer.status_code == 400
    assert says in status_of(answer)["message"]


def test_missing_uid_is_a_bad_request(client: TestClient) -> None:
    sent = reviews.captured("pod-create-two-init", "validate")
    del sent["request"]["uid"]
    answer = client.post("/validate", json=sent)
    assert answer.status_code == 400
    assert "request.uid: Field required" in status_of(answer)["message"]


def test_declared_length_above_the_cap_is_refused_before_reading(client: TestClient) -> None:
    headers = {**JSON, "content-length": str(CAP + 1)}
    answer = client.post("/validate", content=b"{}", headers=headers)
    assert answer.status_code == 413
    assert f"body of {CAP + 1} bytes exceeds" in status_of(answer)["message"]


def test_unknown_fields_from_newer_api_servers_are_ignored(client: TestClient) -> None:
    sent = review_with(futureField={"x": 1})
    sent["futureTopLevel"] = True
    answer = client.post("/validate", json=sent)
    assert answer.status_code == 200
    assert answer.json()["response"]["uid"] == sent["request"]["uid"]


def test_an_answer_is_exact_json(client: TestClient) -> None:
    sent = reviews.captured("pod-create-kube-system", "validate")
    answer = client.post("/validate?timeout=10s", content=json.dumps(sent), headers=JSON)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.content == (
        b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":'
        b'{"uid":"' + sent["request"]["uid"].encode() + b'","allowed":true}}'
    )


@pytest.mark.parametrize("path", ["/validate/off", "/validate/strict", "/admit", "/"])
def test_unknown_paths_are_404(client: TestClient, path: str) -> None:
    assert client.post(path, json=review_with()).status_code == 404


def test_get_on_an_admission_endpoint_is_405(client: TestClient) -> None:
    assert client.get("/validate").status_code == 405


def _crashing(plan: Plan) -> Plan:
    def boom(_pod: PodView, _context: Context, _settings: Any) -> list[Finding]:
        raise KeyError("a bug")

    first = plan.validate[0]
    broken = dataclasses.replace(first, policy=dataclasses.replace(first.policy, evaluate=boom))
    return dataclasses.replace(plan, validate=(broken, *plan.validate[1:]))


def _post_to(handler: Handler, metrics: Metrics, sent: dict[str, Any]) -> Any:
    """POST `sent` to an app serving `handler` alone, instrumented with `metrics`."""
    endpoint = Endpoint(handler, Instrumentation(metrics))
    app = Starlette(routes=[Route("/validate", endpoint, methods=["POST"])])
    with TestClient(app, base_url="https://testserver") as http:
        return http.post("/validate", json=sent)


@pytest.mark.parametrize(("choice", "allowed"), [("allow", True), ("deny", False)])
def test_a_crashing_policy_is_answered_per_configuration(choice: str, allowed: bool) -> None:
    plan = _crashing(compile_plan(Config.model_validate({"onPolicyError": choice})))
    metrics = Metrics()
    handler = Handler(webhook="validate", cap=Mode.ENFORCE, plan=lambda: plan)
    sent = reviews.captured("pod-create-native-sidecar", "validate")
    answer = _post_to(handler, metrics, sent)
    assert answer.status_code == 200
    response = answer.json()["response"]
    assert response["allowed"] is allowed
    outcome = "allowed anyway" if allowed else "denied"
    assert response["warnings"] == [
        f"initgate init-privileged: could not evaluate this object; {outcome} (onPolicyError)"
    ]
    if not allowed:
        assert "init-privileged: could not evaluate this object" in response["status"]["message"]
    assert (
        metrics.registry.get_sample_value(
            "initgate_policy_errors_total", {"policy": "init-privileged"}
        )
        == 1
    )


def _failing_first(plan: Plan) -> Callable[[], Plan]:
    """A plan lookup that fails on the request path, and works for the recovery that follows."""
    reads = itertools.count()

    def read() -> Plan:
        if next(reads) == 0:
            raise RuntimeError("the engine itself failed")
        return plan

    return read


@pytest.mark.parametrize(("choice", "allowed"), [("allow", True), ("deny", False)])
def test_a_crash_outside_the_policies_is_recovered(choice: str, allowed: bool) -> None:
    plan = compile_plan(Config.model_validate({"onPolicyError": choice}))
    metrics = Metrics()
    handler = Handler(webhook="validate", cap=Mode.ENFORCE, plan=_failing_first(plan))
    sent = reviews.captured("pod-create-two-init", "validate")
    answer = _post_to(handler, metrics, sent)
    assert answer.status_code == 200
    response = answer.json()["response"]
    assert response["uid"] == sent["request"]["uid"]
    assert response["allowed"] is allowed
    if not allowed:
        assert response["status"]["code"] == 500
    labels = {
        "webhook": "validate",
        "operation": "CREATE",
        "kind": "Pod",
        "decision": "error",
        "dry_run": "false",
    }
    assert metrics.registry.get_sample_value("initgate_admission_requests_total", labels) == 1
    assert (
        metrics.registry.get_sample_value("initgate_policy_errors_total", {"policy": "engine"}) == 1
    )


def test_bad_requests_are_counted_by_reason(client: TestClient) -> None:
    client.post("/validate", content=b"nope", headers=JSON)
    metrics: Metrics = client.app.state.initgate.metrics  # type: ignore[attr-defined]
    count = metrics.registry.get_sample_value(
        "initgate_bad_requests_total", {"reason": "malformed-json"}
    )
    assert count is not None
    assert count >= 1


def bad_requests(client: TestClient, reason: str) -> float:
    metrics: Metrics = client.app.state.initgate.metrics  # type: ignore[attr-defined]
    return metrics.registry.get_sample_value("initgate_bad_requests_total", {"reason": reason}) or 0


@pytest.mark.parametrize(
    ("method", "path", "status", "reason", "counted"),
    [
        ("POST", "/validate/off", 404, "not-found", True),
        ("POST", "/mutate/enforce/x", 404, "not-found", True),
        ("POST", "/validate/", 404, "not-found", True),  # not a redirect
        ("GET", "/validate", 405, "method-not-allowed", True),
        ("PUT", "/mutate/warn", 405, "method-not-allowed", True),
        ("GET", "/favicon.ico", 404, "not-found", False),
        ("POST", "/readyz", 405, "method-not-allowed", False),
    ],
)
def test_paths_and_methods_not_served_get_a_status(
    client: TestClient, method: str, path: str, status: int, reason: str, counted: bool
) -> None:
    """A Status like every other refusal; under /validate and /mutate, where only the API server
    should call, also counted as a bad request (the InitgateAdmissionErrors alert reads it)."""
    before = bad_requests(client, reason)
    answer = client.request(method, path, content=b"{}", headers=JSON)
    assert answer.status_code == status
    error = status_of(answer)
    assert error["reason"] == reason
    assert repr(path) in error["message"]
    if status == 405:
        assert answer.headers["allow"] in error["message"]
    else:
        assert "POST /validate and /mutate" in error["message"]
    assert bad_requests(client, reason) == before + counted


def test_while_draining_every_answer_closes_its_connection() -> None:
    app = create_app(ServerSettings())
    with TestClient(app, base_url="https://testserver") as http:
        assert "connection" not in http.get("/readyz").headers
        app.state.initgate.readiness.draining = True
        answers = [
            http.get("/readyz"),
            http.get("/healthz"),
            http.post("/validate", json=reviews.captured("pod-create-two-init", "validate")),
            http.post("/mutate", content=b"nope", headers=JSON),
            http.get("/validate"),
        ]
    assert [a.status_code for a in answers] == [503, 200, 200, 400, 405]
    assert [a.headers.get_list("connection") for a in answers] == [["close"]] * 5


def test_an_answer_that_starts_during_the_drain_closes_its_connection() -> None:
    """Whether to close is decided when the answer starts: a request whose body was still on its
    way at SIGTERM is answered during the drain, and must close too."""
    app = create_app(ServerSettings())
    readiness = app.state.initgate.readiness
    body = reviews.captured_bytes("pod-create-two-init", "validate")

    def chunks() -> Iterator[bytes]:
        yield body[:100]
        readiness.draining = True  # SIGTERM arrives while the body is on its way
        yield body[100:]

    with TestClient(app, base_url="https://testserver") as http:
        answer = http.post("/validate", content=chunks(), headers=JSON)
    assert answer.status_code == 200
    assert answer.headers.get_list("connection") == ["close"]
