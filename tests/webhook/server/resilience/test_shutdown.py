"""SIGTERM, as the kubelet sends it when a pod goes: readiness fails first, requests are still
answered (asking clients to close their connections) for the drain delay, requests in flight when
the listener closes are finished, and the process exits 0 well within the grace period. (A
connection that has not sent a whole request head when the listener closes is closed by uvicorn:
docs/operations.md.)"""

from __future__ import annotations

import gc
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import raw
from tests.webhook.server.resilience.load import JSON, failures, running

pytestmark = [
    pytest.mark.integration,
    # A client connecting while the listener closes can be reset before its TLS handshake. Python
    # before the fix of python/cpython#113280 (Python 3.11.7 here) then leaves that SSLSocket open
    # in `wrap_socket`, and its collection raises an unraisable ResourceWarning. The socket is the
    # test client's, made by the standard library, not the server's (a separate process).
    # Only a socket that never connected (no `raddr`): one the test forgot to close still fails.
    pytest.mark.filterwarnings(
        r"ignore:Exception ignored in. <ssl\.SSLSocket [^>]*laddr=\([^)]*\)>"
        ":pytest.PytestUnraisableExceptionWarning"
    ),
]

DRAIN = 3.0
GRACE = 10  # settings.graceful_timeout: what in-flight requests get once the listener is closed
REVIEW = reviews.captured_bytes("pod-create-two-init", "validate")
REQUESTS = [
    ("/validate", REVIEW),
    ("/mutate", reviews.captured_bytes("pod-create-two-init", "mutate")),
]


def fresh(served: server.Served, method: str, path: str) -> httpx.Response:
    """One request over a new connection."""
    with served.client(timeout=3) as client:
        if method == "GET":
            return client.get(path)
        return client.post(path, content=REVIEW, headers=JSON)


class InFlight(threading.Thread):
    """A request sent in two halves: `first` before SIGTERM, the rest at `rest_at` (monotonic),
    in small pieces, so that it is still arriving when the listener closes."""

    def __init__(self, served: server.Served, *, split: int, rest_at: float) -> None:
        super().__init__()
        self.connection = served.connect()
        self.request = (
            raw.head(
                "/validate?timeout=10s",
                content_type="application/json",
                content_length=str(len(REVIEW)),
            )
            + REVIEW
        )
        self.connection.sendall(self.request[:split])
        self.split, self.rest_at = split, rest_at
        self.answer: raw.Answer | Exception | None = None

    def run(self) -> None:
        try:
            time.sleep(max(0.0, self.rest_at - time.monotonic()))
            rest = self.request[self.split :]
            for start in range(0, len(rest), 512):
                self.connection.sendall(rest[start : start + 512])
                time.sleep(0.02)
            self.answer = raw.read_answer(self.connection, timeout=GRACE)
        except (OSError, ConnectionError) as error:
            self.answer = error
        finally:
            self.connection.close()


def test_sigterm_drains_finishes_in_flight_requests_and_exits_0(tmp_path: Path) -> None:
    served = server.start(tmp_path, args=("--shutdown-delay", str(DRAIN)))
    try:
        with running(served, REQUESTS, keep_alive=2, fresh=1) as load:
            load.wait_for(30)
            sent_at = time.monotonic()
            # In flight across the close of the listener (at SIGTERM + DRAIN): its head and half
            # its body are sent before.
            rest_at = sent_at + DRAIN + 0.3
            in_flight = [InFlight(served, split=len(REVIEW) // 2, rest_at=rest_at)]
            for request in in_flight:
                request.start()
            served.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()

            ready = fresh(served, "GET", "/readyz")
            assert ready.status_code == 503
            assert ready.json()["problems"] == ["shutting down"]
            assert ready.headers["connection"] == "close"
            during = fresh(served, "POST", "/validate")
            assert during.status_code == 200
            assert during.headers["connection"] == "close"
            assert time.monotonic() - signalled < DRAIN, "the drain checks came too late"

            refused_at = _first_refusal(served, deadline=signalled + DRAIN + 2)
            assert refused_at - signalled >= DRAIN - 0.1
            outcomes = load.stop()

        for request in in_flight:
            request.join(timeout=GRACE)
            answer = request.answer
            assert isinstance(answer, raw.Answer), answer
            assert answer.status == 200
            assert answer.headers["connection"] == "close"
            assert (
                answer.json()["response"]["uid"]
                == reviews.captured("pod-create-two-init", "validate")["request"]["uid"]
            )
        assert served.process.wait(timeout=GRACE) == 0
        exited = time.monotonic()
    finally:
        if served.process.poll() is None:
            served.stop(signal.SIGKILL)
        gc.collect()  # the sockets python/cpython#113280 leaks, while this test's filter applies

    assert exited - signalled < DRAIN + GRACE  # within Kubernetes' grace period (30 s)
    before = [o for o in outcomes if o.started < signalled]
    assert before, "no request before SIGTERM"
    assert failures(before) == [], "a request sent before SIGTERM was not answered"
    draining = [o for o in outcomes if signalled + 0.2 < o.started < signalled + DRAIN - 0.3]
    assert draining, "no request during the drain"
    assert failures(draining) == []
    assert all(o.headers.get("connection") == "close" for o in draining)
    _assert_clean_log(served.log_entries())


def _first_refusal(served: server.Served, *, deadline: float) -> float:
    """When a TCP connection is first refused: the listener is closed."""
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
        except ConnectionRefusedError:
            return time.monotonic()
        except OSError:
            pass  # reset or timed out while the listener closes: ask again
        time.sleep(0.05)
    raise AssertionError("the listener was never closed")


def _assert_clean_log(entries: list[dict[str, Any]]) -> None:
    messages = [e["msg"] for e in entries]
    assert "drained; closing the listener" in messages
    assert not [e for e in entries if e["level"] == "error"], "errors logged during shutdown"
