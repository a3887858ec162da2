"""Connections that keep the server waiting (`webhook.server.connections`): a deadline on every
request head (`--head-timeout`), and a cap on open connections (`--max-connections`) that closes
the connection waiting longest instead of refusing anyone. The flood of idle and trickling
connections that used to take admission down (issue 21) is in `test_flood.py`."""

from __future__ import annotations

import contextlib
import ssl
import time
from collections.abc import Iterator

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import raw

pytestmark = pytest.mark.integration

CAP = 3
HEAD_TIMEOUT = 1.0
READ_TIMEOUT = 8.0
REVIEW = reviews.captured_bytes("pod-create-two-init", "validate")
HEAD = raw.head("/validate", content_type="application/json", content_length=str(len(REVIEW)))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("deadline"),
        args=("--head-timeout", str(HEAD_TIMEOUT), "--read-timeout", str(READ_TIMEOUT)),
    )


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    """A small cap, and a head deadline the test never meets."""
    yield from server.serving(
        tmp_path_factory.mktemp("capped"), args=("--max-connections", str(CAP))
    )


def ask(connection: ssl.SSLSocket) -> raw.Answer:
    connection.sendall(HEAD + REVIEW)
    return raw.read_answer(connection)


def closed(served: server.Served, reason: str) -> float:
    return served.metric("initgate_connections_closed_total", reason=reason)


def open_connections(served: server.Served) -> float:
    return served.metric("initgate_open_connections")


def until_open(served: server.Served, count: float) -> None:
    """Until the server counts `count` open connections (it sees a client come or go a moment
    after the client)."""
    assert server.eventually(lambda: open_connections(served), lambda n: n == count) == count


def test_no_whole_head_within_the_deadline_closes_the_connection(served: server.Served) -> None:
    before = closed(served, "head-timeout")
    with served.connect() as silent, served.connect() as halfway:
        opened = time.monotonic()
        halfway.sendall(HEAD[:20])
        assert raw.closed_by_server(silent, timeout=HEAD_TIMEOUT + 10)
        assert raw.closed_by_server(halfway, timeout=HEAD_TIMEOUT + 10)
        assert time.monotonic() - opened >= HEAD_TIMEOUT - 0.05
    assert (
        server.eventually(lambda: closed(served, "head-timeout"), lambda n: n >= before + 2)
        == before + 2
    )
    until_open(served, 0)


def test_a_head_sent_a_byte_at_a_time_is_closed_at_the_deadline(served: server.Served) -> None:
    """Trickling does not push the deadline back: it runs from the connection's first moment."""
    with served.connect() as trickling:
        opened = time.monotonic()
        with contextlib.suppress(OSError):  # the server closes while we are still sending
            for byte in HEAD:
                trickling.sendall(bytes([byte]))
                time.sleep(HEAD_TIMEOUT / 10)
        assert raw.closed_by_server(trickling, timeout=10)
        assert time.monotonic() - opened < len(HEAD) * HEAD_TIMEOUT / 10
    until_open(served, 0)


def test_between_requests_only_the_next_head_is_timed(served: server.Served) -> None:
    """A kept-alive connection may idle longer than the head deadline (uvicorn closes it after
    30 s idle); once it starts its next head, the deadline runs again."""
    with served.connect() as connection:
        assert ask(connection).status == 200
        assert not raw.closed_by_server(connection, timeout=HEAD_TIMEOUT * 2)
        assert ask(connection).status == 200
        connection.sendall(HEAD[:20])
        started = time.monotonic()
        assert raw.closed_by_server(connection, timeout=HEAD_TIMEOUT + 10)
        assert time.monotonic() - started >= HEAD_TIMEOUT - 0.05
    until_open(served, 0)


def test_a_body_slower_than_the_head_deadline_is_still_served(served: server.Served) -> None:
    """The head deadline ends with the head; the body has --read-timeout (408 past it)."""
    with served.connect() as connection:
        started = time.monotonic()
        connection.sendall(HEAD + REVIEW[:10])
        time.sleep(HEAD_TIMEOUT * 2)
        connection.sendall(REVIEW[10:])
        answer = raw.read_answer(connection)
        assert answer.status == 200
        assert time.monotonic() - started >= HEAD_TIMEOUT * 2
    until_open(served, 0)


def test_beyond_the_cap_the_connection_waiting_longest_is_closed(capped: server.Served) -> None:
    """Nobody is refused: a new connection closes one that keeps the server waiting, first one
    that never had an answer, else the one answered longest ago."""
    before = closed(capped, "max-connections")
    with contextlib.ExitStack() as stack:
        answered = stack.enter_context(capped.connect())
        assert ask(answered).status == 200
        silent = [stack.enter_context(capped.connect()) for _ in range(CAP - 1)]
        until_open(capped, CAP)
        with capped.connect() as newcomer:
            assert ask(newcomer).status == 200
            assert raw.closed_by_server(silent[0], timeout=5)
            assert raw.poll(silent[1]) is None  # still open
            assert raw.poll(answered) is None
            # Only the answered ones are left beside the silent one: the oldest answer goes.
            with capped.connect() as another:
                assert ask(another).status == 200
                assert raw.closed_by_server(silent[1], timeout=5)
                with capped.connect() as third:
                    assert ask(third).status == 200
                    assert raw.closed_by_server(answered, timeout=5)
                    assert ask(newcomer).status == 200
    assert closed(capped, "max-connections") == before + 3
    until_open(capped, 0)
