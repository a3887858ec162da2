"""Hostile and broken input, generated (hypothesis), against a real server over TLS: random bytes,
truncated JSON, captured reviews with a wrong type in any field (of the review or of the object),
unicode in names and annotations, deep nesting, huge strings. Each gets a 4xx with a Status, or a
valid AdmissionReview (uid echoed, allowed a bool, a patch that applies to the object as sent);
never a 500, never a hang; and the server's memory stays bounded."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonpatch
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import reviews, server
from tests.webhook.server.resilience.load import JSON

pytestmark = pytest.mark.integration

CAPTURED = [
    reviews.captured(case, webhook) for case in reviews.CASES for webhook in ("mutate", "validate")
]
ENDPOINTS = ["/mutate", "/validate", "/mutate/warn", "/validate/audit"]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MEMORY_GROWTH = 24 * 1024 * 1024


@pytest.fixture(scope="module")
def client(default_server: server.Served) -> Iterator[httpx.Client]:
    # A hang is a failure: no answer within 5 s raises.
    with default_server.client(timeout=5) as http:
        yield http


@pytest.fixture(scope="module")
def baseline(default_server: server.Served, client: httpx.Client) -> int:
    """Resident memory once every code path (and a body near the cap) has been through."""
    for review in CAPTURED:
        for path in ENDPOINTS:
            client.post(path, json=review)
    client.post(
        "/validate",
        content=b" " * (6 * 1024 * 1024) + json.dumps(CAPTURED[0]).encode(),
        headers=JSON,
    )
    return default_server.rss()


def paths(node: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path in a JSON document (the root excluded)."""
    children: Any = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replace(document: Any, path: tuple[str | int, ...], value: Any) -> Any:
    changed = copy.deepcopy(document)
    parent = changed
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return changed


def nested(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
    # Nesting the client can still encode; deeper ones: test_deep_nesting_in_the_object.
    st.integers(min_value=1, max_value=400).map(nested),
    st.integers(min_value=1, max_value=2 * 1024 * 1024).map(lambda n: "x" * n),
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A captured review with one field (anywhere: envelope, request, object) of a wrong type."""
    review = draw(st.sampled_from(CAPTURED))
    path = draw(st.sampled_from(list(paths(review))))
    return json.dumps(replace(review, path, draw(WRONG))).encode()


NAMES = ("name", "generateName", "namespace")


@st.composite
def unicode_metadata(draw: st.DrawFn) -> bytes:
    """A captured review whose names, annotations and container names are any unicode text."""
    review = copy.deepcopy(draw(st.sampled_from(CAPTURED)))
    request = review["request"]
    obj = request["object"]
    metadata = obj.setdefault("metadata", {})
    for key in NAMES:
        if draw(st.booleans()):
            metadata[key] = draw(st.text())
    metadata["annotations"] = draw(st.dictionaries(st.text(), st.text(), max_size=4))
    request["name"] = draw(st.text())
    spec = obj.get("spec", {}).get("template", {}).get("spec") or obj.get("spec", {})
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        container["name"] = draw(st.text())
        container["image"] = draw(st.text())
    return json.dumps(review, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def truncated(draw: st.DrawFn) -> bytes:
    body = json.dumps(draw(st.sampled_from(CAPTURED))).encode()
    return body[: draw(st.integers(min_value=0, max_value=len(body) - 1))]


def check(answer: httpx.Response, body: bytes) -> None:
    """A 4xx with a Kubernetes Status, or a valid AdmissionReview for the review sent."""
    assert answer.status_code < 500, answer.text
    if answer.status_code != 200:
        assert 400 <= answer.status_code < 500
        status = answer.json()
        assert status["kind"] == "Status"
        assert status["code"] == answer.status_code
        return
    # Parsed as the server parses it (orjson: 1024 levels, past the json module's recursion limit).
    sent = orjson.loads(body)
    review = answer.json()
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert review["kind"] == "AdmissionReview"
    response = review["response"]
    assert response["uid"] == sent["request"]["uid"]
    assert isinstance(response["allowed"], bool)
    # Judged, not given up on: policies read what they can of any object and never raise (a raise
    # is answered per onPolicyError, with this warning).
    said = [*response.get("warnings", []), response.get("status", {}).get("message", "")]
    failures = [line for line in said if "could not evaluate" in line]
    assert not failures, failures
    if "patch" in response:
        assert response["patchType"] == "JSONPatch"
        ops = json.loads(base64.b64decode(response["patch"]))
        # Whatever the object, a patch we send must apply to it as the API server received it.
        jsonpatch.apply_patch(sent["request"]["object"], ops, in_place=True)
        assert all(op["op"] in ("add", "replace") for op in ops)


@FUZZ
@given(body=st.one_of(st.binary(max_size=4096), truncated()), path=st.sampled_from(ENDPOINTS))
def test_random_and_truncated_bodies(
    client: httpx.Client, baseline: int, body: bytes, path: str
) -> None:
    answer = client.post(f"{path}?timeout=10s", content=body, headers=JSON)
    # Never a review: random bytes are not JSON, or not an AdmissionReview; a cut one is broken.
    assert answer.status_code == 400
    assert answer.json()["code"] == 400


@settings(FUZZ, max_examples=1000)
@given(body=mutated(), path=st.sampled_from(ENDPOINTS))
def test_a_wrong_type_in_any_field(
    client: httpx.Client, baseline: int, body: bytes, path: str
) -> None:
    check(client.post(f"{path}?timeout=10s", content=body, headers=JSON), body)


@settings(FUZZ, max_examples=300)
@given(body=unicode_metadata(), path=st.sampled_from(ENDPOINTS))
def test_unicode_in_names_and_annotations(
    client: httpx.Client, baseline: int, body: bytes, path: str
) -> None:
    answer = client.post(f"{path}?timeout=10s", content=body, headers=JSON)
    assert answer.status_code == 200, answer.text
    check(answer, body)


@pytest.mark.parametrize("depth", [100, 990, 5000, 100_000])
def test_deep_nesting_in_the_object(client: httpx.Client, baseline: int, depth: int) -> None:
    review = reviews.captured("pod-create-two-init", "mutate")
    review["request"]["object"]["metadata"]["annotations"] = {"deep": "x"}
    review["request"]["object"]["spec"]["nested"] = "NESTED"
    body = json.dumps(review).encode().replace(b'"NESTED"', b"[" * depth + b"]" * depth)
    check(client.post("/mutate", content=body, headers=JSON), body)
    # The whole body nested, past any recursion limit.
    flat = b"[" * depth + b"]" * depth
    assert client.post("/validate", content=flat, headers=JSON).status_code == 400


def test_memory_stays_bounded(default_server: server.Served, baseline: int) -> None:
    """After every example above (and a few MiB of strings among them), resident memory is back
    within a small margin of where it stood once warmed up."""
    grown = default_server.rss() - baseline
    assert grown < MEMORY_GROWTH, f"resident memory grew by {grown / 2**20:.1f} MiB"
    assert default_server.process.poll() is None
    errors = [e for e in default_server.log_entries() if e["level"] == "error"]
    assert not errors, errors[:3]
