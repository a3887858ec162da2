"""A flood of connections that keep the server waiting, while the API server's reviews go on:
issue 21 held 1,100 idle TLS connections against `initgate serve` (cap 1000) and every review
on a fresh connection got 503 for as long as they were held. Here the same, scaled to a cap of
100 and a head deadline of 2 s so that it stays short: every review is answered 200 throughout,
and every flooding connection is closed by the server. Loopback only, bounded in count and time.
And what one waiting connection costs in memory, which the cap turns into a bound."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import load, raw

pytestmark = pytest.mark.integration

CAP = 100
HEAD_TIMEOUT = 2.0
SILENT = 150
TRICKLING = 50
HEAD = raw.head("/validate", content_type="application/json", content_length="4000")
REQUESTS = [
    (f"/{webhook}", reviews.captured_bytes("pod-create-two-init", webhook))
    for webhook in ("validate", "mutate")
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("flood"),
        args=("--max-connections", str(CAP), "--head-timeout", str(HEAD_TIMEOUT)),
    )


class Trickle:
    """Sends each connection the next byte of a request head every 0.1 s, until the server
    closes it; `closed` are those the server closed."""

    def __init__(self, connections: list[ssl.SSLSocket]) -> None:
        self.connections = connections
        self.closed: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        position = 0
        while not self._stop.is_set() and len(self.closed) < len(self.connections):
            for index, connection in enumerate(self.connections):
                if index in self.closed:
                    continue
                try:
                    connection.sendall(HEAD[position % len(HEAD) : position % len(HEAD) + 1])
                except OSError:
                    self.closed.add(index)
            position += 1
            self._stop.wait(0.1)

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def closed_by(served: server.Served) -> float:
    return sum(
        served.metric("initgate_connections_closed_total", reason=reason)
        for reason in ("head-timeout", "max-connections")
    )


def test_reviews_are_answered_throughout_a_flood(served: server.Served) -> None:
    before = closed_by(served)
    with contextlib.ExitStack() as stack:
        reviewing = stack.enter_context(load.running(served, REQUESTS, keep_alive=2, fresh=2))
        reviewing.wait_for(20)
        silent = [stack.enter_context(served.connect()) for _ in range(SILENT)]
        trickling = [stack.enter_context(served.connect()) for _ in range(TRICKLING)]
        flooded = time.monotonic()
        trickle = stack.enter_context(Trickle(trickling))
        reviewing.wait_for(50)  # reviews go on while the flood is held
        for connection in silent:
            assert raw.closed_by_server(connection, timeout=HEAD_TIMEOUT + 20)
        load.wait_until(
            lambda: len(trickle.closed) == TRICKLING, timeout=HEAD_TIMEOUT + 20, what="tricklers"
        )
        # Nothing is kept past the deadline, whoever held it.
        assert time.monotonic() - flooded < HEAD_TIMEOUT + 20
        reviewing.wait_for(20)
        outcomes = reviewing.stop()
    assert load.failures(outcomes) == []
    assert len(outcomes) >= 90
    # Every flooding connection was closed by initgate: made room for others, or past its deadline.
    assert (
        server.eventually(lambda: closed_by(served), lambda n: n >= before + SILENT + TRICKLING)
        == before + SILENT + TRICKLING
    )


def growth_per_connection(served: server.Served, count: int, head: bytes) -> float:
    """Resident memory the server takes for each of `count` connections that sent `head`."""
    with contextlib.ExitStack() as stack:
        for _ in range(count // 4):  # warm-up: the first connections grow pools that stay
            stack.enter_context(served.connect()).sendall(head)
    before = served.rss()
    with contextlib.ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(served.connect()).sendall(head)
        assert (
            server.eventually(
                lambda: served.metric("initgate_open_connections"), lambda n: n >= count
            )
            >= count
        )
        grown = served.rss() - before
    return grown / count


@pytest.mark.parametrize(
    ("head", "bound"),
    [(b"", 64 * 1024), (b"POST /validate HTTP/1.1\r\nx: " + b"a" * 16000, 128 * 1024)],
    ids=["silent", "16-kb-head"],
)
def test_memory_per_waiting_connection_is_bounded(tmp_path: Path, head: bytes, bound: int) -> None:
    """Measured: about 43 KiB for a connection that sent nothing after its handshake, about
    87 KiB for one that sent a head of 16,000 bytes (the cap is 16 KiB): the default cap of a
    thousand connections holds them in under 100 MiB. A server of its own for each, so that
    memory one measurement freed does not hide what the other takes."""
    args = ("--max-connections", "2000", "--head-timeout", "120")
    for served in server.serving(tmp_path, args=args):
        per_connection = growth_per_connection(served, 300, head)
        print(f"memory per waiting connection: {per_connection / 1024:.1f} KiB")
        assert per_connection < bound
