"""A client that does not trust the serving certificate (a wrong caBundle) drops the connection in
the TLS handshake and never sends a request: the server counts it and says so in its log."""

from __future__ import annotations

import gc
import socket
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.support import server
from webhook.server.handshakes import Handshakes

pytestmark = pytest.mark.integration
FAILURES = "initgate_tls_handshake_failures_total"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(tmp_path_factory.mktemp("handshakes"))


def failures_reach(served: server.Served, wanted: float, timeout: float = 5) -> float:
    deadline = time.monotonic() + timeout
    while (value := served.metric(FAILURES)) < wanted and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_handshakes_dropped_by_an_untrusting_client_are_counted_and_logged(
    served: server.Served,
) -> None:
    before = served.metric(FAILURES)
    untrusting = ssl.create_default_context()  # the system's CAs, not the test CA
    for _ in range(3):
        with pytest.raises(ssl.SSLCertVerificationError):
            served.connect(untrusting)
    assert failures_reach(served, before + 3) == before + 3
    lines = [e for e in served.log_entries() if e["msg"].startswith("TLS handshakes not completed")]
    assert lines
    assert lines[0]["level"] == "warning"
    assert "caBundle" in lines[0]["msg"]


def test_completed_handshakes_are_not_counted(served: server.Served) -> None:
    before = served.metric(FAILURES)
    for _ in range(3):
        with served.client() as client:
            assert client.get("/healthz").status_code == 200
        with served.connect():
            pass  # a handshake, then a close without a request
    # One failed handshake after them, counted: the count is that one alone.
    with pytest.raises(ssl.SSLCertVerificationError):
        served.connect(ssl.create_default_context())
    assert failures_reach(served, before + 1) == before + 1


def test_a_client_stuck_in_its_handshake_blocks_no_one(served: server.Served) -> None:
    """uvicorn sets no deadline on a TLS handshake (asyncio's default, 60 s, applies: see
    docs/operations.md); meanwhile the server answers everyone else."""
    before = served.metric(FAILURES)
    hello = client_hello(served)
    with socket.create_connection(("127.0.0.1", served.port)) as stuck:
        stuck.sendall(hello)
        for _ in range(5):
            with served.client() as client:
                assert client.get("/healthz").status_code == 200
    # It began with a ClientHello and went away: a failed handshake.
    assert failures_reach(served, before + 1) == before + 1


def client_hello(served: server.Served) -> bytes:
    """The bytes a TLS client sends first, from a client that trusts the test CA."""
    tls = served.context().wrap_bio(ssl.MemoryBIO(), (out := ssl.MemoryBIO()), server_hostname="x")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return out.read()


class _TLS:
    """Stands in for an SSL object (what matters is that it can be freed)."""


def test_the_bookkeeping_forgets_every_connection() -> None:
    failed: list[int] = []
    handshakes = Handshakes(failed=lambda: failed.append(1))
    kept = [_TLS() for _ in range(100)]
    for tls in kept:
        handshakes.begun(tls)
        handshakes.begun(tls)  # a second ClientHello (HelloRetryRequest) is one handshake
        handshakes.completed(tls)
    dropped = [_TLS() for _ in range(5)]
    for tls in dropped:
        handshakes.begun(tls)
    assert handshakes.pending == 5
    del dropped, tls
    gc.collect()
    assert failed == [1] * 5
    assert handshakes.pending == 0
    del kept
    gc.collect()
    assert failed == [1] * 5  # completed ones never count, whenever they are freed
