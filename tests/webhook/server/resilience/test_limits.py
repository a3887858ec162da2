"""Clients that try to hold the server: bodies over the cap (declared or streamed), bodies never
finished, heads too large, heads sent a byte at a time, connections that say nothing. Bodies are
capped and timed (413, 408), heads are capped (uvicorn's h11) and timed (`test_connections.py`),
and none of them slows down the other clients."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import raw
from tests.webhook.server.resilience.load import JSON

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


def test_a_chunked_body_is_refused_at_the_cap_and_the_rest_is_not_kept(
    served: server.Served,
) -> None:
    """The 413 comes once the cap is passed (plus what socket buffers hold); whatever the client
    sends after it is read and dropped by the TLS close, never kept."""
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
        with contextlib.suppress(OSError):  # the server may end the connection meanwhile
            for _ in range(512):  # 8 MiB more
                connection.sendall(frame)
        assert max(_latencies(served, 5)) < 1.0
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


def test_a_head_sent_a_byte_at_a_time_blocks_no_one(served: server.Served) -> None:
    outcome: dict[str, object] = {}

    def trickle() -> None:
        with served.connect() as connection:
            request = raw.head(
                "/validate", content_type="application/json", content_length=str(len(REVIEW))
            )
            for byte in request:
                connection.sendall(bytes([byte]))
                time.sleep(0.01)
            connection.sendall(REVIEW)
            outcome["answer"] = raw.read_answer(connection)

    slow = threading.Thread(target=trickle)
    slow.start()
    latencies = _latencies(served, 30)
    slow.join(timeout=30)
    assert max(latencies) < 1.0
    answer = outcome["answer"]
    assert isinstance(answer, raw.Answer), answer
    assert answer.status == 200  # within the head deadline (10 s), a slow client is served


def test_a_body_never_finished_gets_408(served: server.Served) -> None:
    with served.connect() as connection:
        started = time.monotonic()
        connection.sendall(
            raw.head("/validate", content_type="application/json", content_length="1000")
            + REVIEW[:10]
        )
        answer = raw.read_answer(connection, timeout=READ_TIMEOUT + 2)
        # Not before the deadline (which starts after the head, a moment after `started`), and
        # answered by it, not by some later timer.
        assert READ_TIMEOUT - 0.1 <= time.monotonic() - started < READ_TIMEOUT + 5
        assert answer.status == 408
        assert answer.headers["connection"] == "close"
        assert raw.closed_by_server(connection)
    # The endpoint waiting for that body saw the client go, quietly: no crash, no 500.
    assert not [e for e in served.log_entries() if e["level"] == "error"]


def test_silent_connections_block_no_one(served: server.Served) -> None:
    """They are held until the head deadline (`test_connections.py`); meanwhile everyone else
    is served."""
    silent = [served.connect() for _ in range(50)]
    try:
        assert max(_latencies(served, 20)) < 1.0
    finally:
        for connection in silent:
            connection.close()


def test_a_head_of_15_kib_is_served(served: server.Served) -> None:
    """A client with a large bearer token and many headers is still well inside the head cap."""
    padding = {f"x_pad_{n}": "a" * 1000 for n in range(15)}
    with served.connect() as connection:
        connection.sendall(
            raw.head(
                "/validate",
                content_type="application/json",
                content_length=str(len(REVIEW)),
                **padding,
            )
            + REVIEW
        )
        assert raw.read_answer(connection).status == 200


def test_a_head_over_16_kib_gets_400_and_is_not_kept(served: server.Served) -> None:
    before = served.rss()
    with served.connect() as connection:
        padding = {f"x_pad_{n}": "a" * 1000 for n in range(1000)}  # a megabyte of headers
        # The server may close while we are still sending: the answer is already waiting.
        with contextlib.suppress(OSError):
            connection.sendall(raw.head("/validate", content_type="application/json", **padding))
        answer = raw.read_answer(connection)
        assert answer.status == 400
        assert raw.closed_by_server(connection)
    assert served.rss() - before < 8 * 1024 * 1024


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
