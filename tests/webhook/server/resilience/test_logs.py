"""What reaches the logs: who asked for what and what was decided, never the object. Pod specs
hold environment variables, and environment variables hold secrets; annotations hold whatever
their owners put there."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support import reviews
from webhook.server import logs
from webhook.server.app import create_app
from webhook.server.logs import JSONFormatter
from webhook.server.settings import ServerSettings

SECRET = "s3cr3t-token-7f3a"  # noqa: S105 - a planted value the logs must not show
ANNOTATION = "annotation-payload-9c1e"
ARGUMENT = "--password=hunter2-b8d0"
ENDPOINTS = ["/mutate", "/validate", "/mutate/warn", "/validate/warn", "/mutate/audit"]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(ServerSettings()), base_url="https://testserver") as http:
        yield http


def secretive_review() -> dict[str, Any]:
    """A pod with a secret in an env var, data in annotations and a password in an argument,
    whose init container breaks policies (so that the decision has much to say)."""
    init = reviews.container(
        "setup",
        env=[{"name": "TOKEN", "value": SECRET}],
        args=[ARGUMENT],
        securityContext={"privileged": True},
    )
    app = reviews.container("app", env=[{"name": "API_TOKEN", "value": SECRET}])
    pod = reviews.pod(init=[init], app=[app], annotations={"team.example/notes": ANNOTATION})
    return reviews.review_of(pod, username="alice@example.com")


def test_no_secret_and_no_object_reaches_the_log(client: TestClient, lines: io.StringIO) -> None:
    sent = secretive_review()
    for path in ENDPOINTS:
        answer = client.post(f"{path}?timeout=10s", json=sent)
        assert answer.status_code == 200
    text = lines.getvalue()
    for value in (SECRET, ANNOTATION, ARGUMENT, "team.example/notes", '"spec"', '"env"'):
        assert value not in text
    entries = [json.loads(line) for line in text.splitlines()]
    decisions = [e for e in entries if e["msg"] == "decision"]
    assert len(decisions) == len(ENDPOINTS)
    request = sent["request"]
    for entry in decisions:
        assert entry["uid"] == request["uid"]
        assert entry["kind"] == "Pod"
        assert entry["namespace"] == "demo"
        assert entry["name"] == "web"
        assert entry["operation"] == "CREATE"
        assert entry["user"] == "alice@example.com"
        assert entry["decision"] in {"allowed", "denied", "patched"}
    assert {e["decision"] for e in decisions} >= {"denied", "patched"}


def test_a_bad_request_logs_the_problem_not_the_body(
    client: TestClient, lines: io.StringIO
) -> None:
    sent = secretive_review()
    sent["request"]["operation"] = "SMUGGLE"
    body = json.dumps(sent)
    for broken in (body, body[: body.index(SECRET) + len(SECRET)]):
        assert (
            client.post(
                "/validate", content=broken, headers={"content-type": "application/json"}
            ).status_code
            == 400
        )
    text = lines.getvalue()
    assert [json.loads(line)["msg"] for line in text.splitlines()] == ["bad request", "bad request"]
    assert SECRET not in text
    assert ANNOTATION not in text


def test_an_echoed_value_is_clipped(client: TestClient, lines: io.StringIO) -> None:
    """The apiVersion a client sent is named back to it (and logged), at most 80 characters of it."""
    sent = secretive_review()
    sent["apiVersion"] = "v" * 100_000
    answer = client.post("/validate", json=sent)
    assert answer.status_code == 400
    assert len(answer.json()["message"]) < 300
    assert max(len(line) for line in lines.getvalue().splitlines()) < 1000


def test_a_decision_line_stays_short_whatever_the_names(
    client: TestClient, lines: io.StringIO
) -> None:
    sent = reviews.captured("pod-create-generatename", "mutate")
    sent["request"]["object"]["metadata"]["generateName"] = "g" * 1_000_000
    assert client.post("/mutate", json=sent).status_code == 200
    assert max(len(line) for line in lines.getvalue().splitlines()) < 4096


class _Pipe(io.TextIOWrapper):
    """A stand-in for stderr: text on top of a byte buffer, over bytes that show what was flushed."""

    def __init__(self) -> None:
        self.raw_bytes = io.BytesIO()
        super().__init__(io.BufferedWriter(self.raw_bytes), line_buffering=True)

    def delivered(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.raw_bytes.getvalue().splitlines()]


@pytest.fixture
def pipe() -> Iterator[_Pipe]:
    """The direct decision path, as `logs.configure` sets it up, onto a recording stream."""
    saved = (logs._direct.formatter, logs._direct.stream)
    stream = _Pipe()
    logs._direct.formatter, logs._direct.stream = JSONFormatter(), stream
    decisions = logging.getLogger("initgate.decision")
    level = decisions.level
    decisions.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logs._direct.formatter, logs._direct.stream = saved
        decisions.setLevel(level)


def test_decision_lines_in_the_loop_wait_one_turn_at_most(pipe: _Pipe) -> None:
    async def answer_three() -> list[int]:
        seen = []
        for index in range(3):
            logs.decision({"uid": f"u{index}", "name": "x" * 600})
            seen.append(len(pipe.delivered()))
        await asyncio.sleep(0)  # one turn of the loop
        seen.append(len(pipe.delivered()))
        return seen

    # Written within one turn, the three lines reach the pipe together, at the end of the turn.
    assert asyncio.run(answer_three()) == [0, 0, 0, 3]
    entries = pipe.delivered()
    assert [e["uid"] for e in entries] == ["u0", "u1", "u2"]
    assert all(e["msg"] == "decision" and len(e["name"]) < 600 for e in entries)


def test_decision_lines_outside_a_loop_are_written_at_once(pipe: _Pipe) -> None:
    logs.decision({"uid": "cli"})
    assert [e["uid"] for e in pipe.delivered()] == ["cli"]


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param(
            {"uid": "a", "policies": ["p", "q"], "dryRun": False, "durationMs": 0.5}, id="usual"
        ),
        pytest.param({}, id="empty"),
        pytest.param({"name": "x" * 600, "errors": ["e" * 700]}, id="clipped"),
        pytest.param({"user": 'é\n"\\', "uid": None}, id="escaped"),
    ],
)
def test_a_decision_line_is_the_line_encode_makes(fields: dict[str, Any]) -> None:
    # `decision` writes the head once per millisecond and the fields behind it: the same bytes.
    formatter = JSONFormatter()
    for created in (1_700_000_000.0001, 1_700_000_000.0002, 1_700_000_001.5):
        expected = formatter.encode(
            created, "info", "initgate.decision", "decision", fields, newline=True
        )
        assert formatter.decision(created, fields) == expected
        assert json.loads(expected)["msg"] == "decision"
