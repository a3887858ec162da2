"""A cap on open connections (`--max-connections`, uvicorn's `limit_concurrency`): each one holds
memory (buffers, a TLS session), and a client that opens thousands must not take the webhook's
memory with them. A request that arrives while that many connections are open gets 503, and the
API server applies its failurePolicy to it."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import raw

pytestmark = pytest.mark.integration

CAP = 3
REVIEW = reviews.captured_bytes("pod-create-two-init", "validate")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("connections"), args=("--max-connections", str(CAP))
    )


def ask(connection: ssl.SSLSocket) -> raw.Answer:
    request = raw.head(
        "/validate", content_type="application/json", content_length=str(len(REVIEW))
    )
    connection.sendall(request + REVIEW)
    return raw.read_answer(connection)


def test_requests_while_the_cap_is_reached_get_503_and_are_served_again_after(
    served: server.Served,
) -> None:
    with contextlib.ExitStack() as stack:
        # Below the cap, every connection is served, request after request.
        below = [stack.enter_context(served.connect()) for _ in range(CAP - 1)]
        for connection in below:
            assert ask(connection).status == 200
            assert ask(connection).status == 200
        with served.connect() as extra:
            answer = ask(extra)
            assert answer.status == 503
            assert answer.headers["connection"] == "close"
            assert raw.closed_by_server(extra, timeout=3)
        # One of them goes: a new connection is served again, once the server has seen it go.
        below.pop().close()
        assert server.eventually(fresh_status(served), lambda status: status == 200) == 200


def fresh_status(served: server.Served) -> Callable[[], int]:
    def status() -> int:
        with served.connect() as connection:
            return ask(connection).status

    return status
