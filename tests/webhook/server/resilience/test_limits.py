"""Clients that try to hold the server: bodies over the cap (declared or streamed), heads sent a
byte at a time, bodies never finished, connections that say nothing, heads too large. Each is cut
off, counted, and none of them slows down the other clients."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import raw
from tests.webhook.server.resilience.load import JSON
from webhook.server.connection import LINGER

pytestmark = pytest.mark.integration

CAP = 64 * 1024
READ_TIMEOUT = 1.5
REVIEW = reviews.captured_bytes("pod-create-two-init", "validate")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("limits"),
        args=("--max-body-bytes", str(CAP), "--read-timeout", str(READ_TIMEOUT)),
    )


def refused(served: server.Served, reason: str) -> float:
    return served.metric("initgate_bad_requests_total", reason=reason)


def padded(size: int) -> bytes:
    """The captured review, padded with whitespace to exactly `size` bytes (still valid JSON)."""
    return REVIEW + b" " * (size - len(REVIEW))


def test_a_body_at_the_cap_is_served_and_one_byte_more_is_413(served: server.Served) -> None:
    with served.client() as client:
        assert client.post("/validate", content=padded(CAP), headers=JSON).status_code == 200
        over = client.post("/validate", content=padded(CAP + 1), headers=JSON)
    assert over.status_code == 413
    assert over.json()["message"] == f"body of {CAP + 1} bytes exceeds the {CAP}-byte cap"


def test_a_huge_declared_length_is_refused_without_waiting_for_the_body(
    served: server.Served,
) -> None:
    with served.connect() as connection:
        started = time.monotonic()
        connection.sendall(
            raw.head("/validate", content_type="application/json", content_length=str(10**12))
            + REVIEW[:100]
        )
        answer = raw.read_answer(connection)
        assert time.monotonic() - started < 1
        assert answer.status == 413
        assert answer.headers["connection"] == "close"
        # The server does not read on through the terabyte it was promised.
        assert raw.closed_by_server(connection, timeout=2)


def test_a_chunked_body_is_cut_off_at_the_cap(served: server.Served) -> None:
    """The 413 comes once the cap is passed (plus what socket buffers hold), and the connection is
    cut soon after, however much more the client tries to send."""
    before = served.rss()
    chunk = b" " * 16384
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with served.connect() as connection:
        connection.sendall(
            raw.head("/validate", content_type="application/json", transfer_encoding="chunked")
        )
        sent, received = 0, None
        while not received:
            connection.sendall(frame)
            sent += len(chunk)
            assert sent < 16 * 1024 * 1024, "no answer: the server kept reading past its cap"
            received = raw.poll(connection)
        answer = raw.read_answer(connection, received=received)
        assert answer.status == 413
        assert answer.headers["connection"] == "close"
        refused_at = time.monotonic()
        cut = False
        while not cut and time.monotonic() - refused_at < 10:
            try:
                connection.sendall(frame)
            except OSError:
                cut = True
        assert cut
        assert time.monotonic() - refused_at < LINGER + 2
    assert served.rss() - before < 16 * 1024 * 1024


def test_a_chunked_body_over_the_cap_gets_413(served: server.Served) -> None:
    with served.connect() as connection:
        connection.sendall(
            raw.head("/validate", content_type="application/json", transfer_encoding="chunked")
        )
        body = padded(CAP + 1)
        connection.sendall(f"{len(body):x}\r\n".encode() + body + b"\r\n")
        answer = raw.read_answer(connection)
    assert answer.status == 413
    assert answer.json()["message"] == f"body exceeds the {CAP}-byte cap"


def _latencies(served: server.Served, count: int) -> list[float]:
    times = []
    with served.client() as client:
        for _ in range(count):
            started = time.monotonic()
            assert client.post("/validate", content=REVIEW, headers=JSON).status_code == 200
            times.append(time.monotonic() - started)
    return times


def test_a_head_sent_a_byte_at_a_time_is_cut_off_and_blocks_no_one(
    served: server.Served,
) -> None:
    timeouts = refused(served, "read-timeout")
    outcome: dict[str, object] = {}

    def slowloris() -> None:
        with served.connect() as connection:
            started = time.monotonic()
            received = None
            try:
                for byte in raw.head("/validate", content_type="application/json") * 100:
                    received = raw.poll(connection)
                    if received is not None:
                        break
                    connection.sendall(bytes([byte]))
                    time.sleep(0.05)
            except OSError:
                pass  # the server hung up mid-head, as it should
            try:
                outcome["answer"] = raw.read_answer(
                    connection, timeout=READ_TIMEOUT + 2, received=received or b""
                )
            except (ConnectionError, TimeoutError) as error:
                outcome["answer"] = error
            outcome["seconds"] = time.monotonic() - started

    slow = threading.Thread(target=slowloris)
    slow.start()
    latencies = _latencies(served, 30)
    slow.join(timeout=10)
    assert max(latencies) < 1.0  # a blocked server would answer after the cut, at 1.5 s
    answer = outcome["answer"]
    assert isinstance(answer, raw.Answer), answer
    assert answer.status == 408
    assert answer.json()["reason"] == "read-timeout"
    # The deadline runs from the server's end of the handshake, a moment before the client's.
    assert READ_TIMEOUT - 0.1 <= float(outcome["seconds"]) < READ_TIMEOUT + 1  # type: ignore[arg-type]
    assert refused(served, "read-timeout") == timeouts + 1


def test_a_body_never_finished_gets_408(served: server.Served) -> None:
    with served.connect() as connection:
        started = time.monotonic()
        connection.sendall(
            raw.head("/validate", content_type="application/json", content_length="1000")
            + REVIEW[:10]
        )
        answer = raw.read_answer(connection, timeout=READ_TIMEOUT + 2)
        assert READ_TIMEOUT - 0.1 <= time.monotonic() - started < READ_TIMEOUT + 1
        assert answer.status == 408
        assert answer.headers["connection"] == "close"
        assert raw.closed_by_server(connection)
    # The endpoint waiting for that body saw the client go, quietly: no crash, no 500.
    assert not [e for e in served.log_entries() if e["level"] == "error"]


def test_silent_connections_are_closed_and_block_no_one(served: server.Served) -> None:
    silent = [served.connect() for _ in range(50)]
    try:
        assert max(_latencies(served, 20)) < 1.0
        deadline = time.monotonic() + READ_TIMEOUT + 2
        assert all(raw.closed_by_server(c, timeout=deadline - time.monotonic()) for c in silent)
    finally:
        for connection in silent:
            connection.close()


def test_a_head_over_64_kib_gets_431(served: server.Served) -> None:
    with served.connect() as connection:
        padding = {f"x_pad_{n}": "a" * 1000 for n in range(80)}
        # The server may close while we are still sending: the answer is already waiting.
        with contextlib.suppress(OSError):
            connection.sendall(raw.head("/validate", content_type="application/json", **padding))
        answer = raw.read_answer(connection)
    assert answer.status == 431
    assert json.loads(answer.body)["reason"] == "head-too-large"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        # No Content-Length and not chunked: HTTP/1.1 says there is no body.
        ({"content_type": "application/json"}, b"", 400),
        ({"content_type": "application/json", "content_length": "abc"}, REVIEW, 400),
        ({"content_type": "application/json", "content_length": "-5"}, REVIEW, 400),
        (
            {
                "content_type": "application/json",
                "content_length": str(len(REVIEW)),
                "transfer_encoding": "chunked",
            },
            REVIEW,
            400,
        ),
        ({"content_type": "application/json", "content_length": "0"}, b"", 400),
        ({"content_type": "application/json", "content_length": "9" * 5000}, REVIEW, 400),
        ({"content_type": "application/json", "content_length": "\u00b2"}, REVIEW, 400),
    ],
    ids=[
        "no-length",
        "length-not-a-number",
        "negative-length",
        "length-and-chunked",
        "empty",
        "5000-digits",
        "superscript-two",
    ],
)
def test_missing_or_invalid_content_length_is_400(
    served: server.Served, headers: dict[str, str], body: bytes, status: int
) -> None:
    with served.connect() as connection:
        connection.sendall(raw.head("/validate", **headers) + body)
        answer = raw.read_answer(connection)
    assert answer.status == status
