"""A cap on open connections: each one holds memory (buffers, a TLS session), and a client that
opens thousands must not take the webhook down for the API servers."""

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


def test_connections_beyond_the_cap_get_503_and_the_others_are_served(
    served: server.Served,
) -> None:
    refused = served.metric("initgate_bad_requests_total", reason="too-many-connections")
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(served.connect()) for _ in range(CAP)]
        time.sleep(0.2)  # the server has taken all of them
        with served.connect() as extra:
            answer = ask(extra)
            assert answer.status == 503
            assert answer.headers["connection"] == "close"
            assert answer.json()["reason"] == "too-many-connections"
            assert answer.json()["message"] == f"more than {CAP} connections are open; retry"
            assert raw.closed_by_server(extra, timeout=3)
        # The connections within the cap are served as usual, request after request.
        for connection in held:
            assert ask(connection).status == 200
            assert ask(connection).status == 200
    assert served.metric("initgate_bad_requests_total", reason="too-many-connections") == (
        refused + 1
    )
    # Once they are closed, new connections are served again.
    time.sleep(0.2)
    with served.connect() as again:
        assert ask(again).status == 200
