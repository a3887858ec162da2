"""A client that does not trust the serving certificate (a wrong caBundle) drops the connection in
the TLS handshake and never sends a request: the server counts it and says so in its log."""

from __future__ import annotations

import gc
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.support import server
from webhook.handshakes import Handshakes

pytestmark = pytest.mark.integration
FAILURES = "initgate_tls_handshake_failures_total"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    running = server.start(tmp_path_factory.mktemp("handshakes"))
    yield running
    assert running.stop() == 0, running.logs()


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
