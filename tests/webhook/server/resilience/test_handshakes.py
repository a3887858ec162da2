"""A client that does not trust the serving certificate (a wrong caBundle) drops the connection in
the TLS handshake and never sends a request: the server counts it and says so in its log. A client
that never finishes its handshake is dropped at the handshake deadline."""

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
    time.sleep(0.5)
    assert served.metric(FAILURES) == before


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


# A deadline on the handshake itself ----------------------------------------------------------

HANDSHAKE_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("impatient"),
        args=("--tls-handshake-timeout", str(HANDSHAKE_TIMEOUT)),
    )


def client_hello(served: server.Served) -> bytes:
    """The bytes a TLS client sends first, from a client that trusts the test CA."""
    tls = served.context().wrap_bio(ssl.MemoryBIO(), (out := ssl.MemoryBIO()), server_hostname="x")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return out.read()


def dropped_within(connection: socket.socket, seconds: float) -> float | None:
    """Seconds until the server ends a connection (EOF or reset), reading what it sends; None when
    it is still open after `seconds`."""
    started = time.monotonic()
    deadline = started + seconds
    while (left := deadline - time.monotonic()) > 0:
        connection.settimeout(left)
        try:
            if not connection.recv(65536):
                return time.monotonic() - started
        except TimeoutError:
            return None
        except ConnectionError:
            return time.monotonic() - started
    return None


@pytest.mark.parametrize("sent", ["nothing", "half a ClientHello", "a ClientHello"])
def test_a_handshake_that_never_finishes_is_dropped_at_its_deadline(
    impatient: server.Served, sent: str
) -> None:
    hello = client_hello(impatient)
    data = {"nothing": b"", "half a ClientHello": hello[: len(hello) // 2], "a ClientHello": hello}
    before = impatient.metric(FAILURES)
    with socket.create_connection(("127.0.0.1", impatient.port)) as connection:
        connection.sendall(data[sent])
        waited = dropped_within(connection, 5)
    assert waited is not None, f"still open 5 s after sending {sent}"
    assert waited >= HANDSHAKE_TIMEOUT * 0.8
    # The server saw the ClientHello: a handshake begun and never completed is a failure.
    counted = before + 1 if sent == "a ClientHello" else before
    assert failures_reach(impatient, counted) == counted
    # Handshakes that finish are unaffected.
    with impatient.client() as client:
        assert client.get("/healthz").status_code == 200


def test_without_the_option_the_deadline_is_ten_seconds(served: server.Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port)) as connection:
        assert dropped_within(connection, HANDSHAKE_TIMEOUT * 3) is None
