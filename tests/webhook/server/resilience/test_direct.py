"""Admission requests answered without ASGI (`webhook.server.connection`): the same answers, byte for byte
in their bodies, as the ASGI path gives the requests it still takes; pipelined requests answered
in order; a stalled body still gets its 408 on a connection that served an ASGI request before."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from tests.support import reviews, server
from tests.webhook.server.resilience import raw
from webhook.server import connection
from webhook.server.app import create_app
from webhook.server.connection import Guard
from webhook.server.settings import ServerSettings

pytestmark = pytest.mark.integration

READ_TIMEOUT = 1.5
FIXTURES = ["pod-create-two-init", "pod-create-generatename", "pod-ephemeral-kubectl-debug"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("direct"), args=("--read-timeout", str(READ_TIMEOUT))
    )


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body)


@pytest.mark.parametrize("fixture", FIXTURES)
@pytest.mark.parametrize("webhook", ["validate", "mutate"])
def test_the_same_answer_with_and_without_asgi(
    served: server.Served, fixture: str, webhook: str
) -> None:
    body = reviews.captured_bytes(fixture, webhook)
    with served.connect() as connection:
        # Plain: Content-Length, kept alive. Answered by webhook.server.connection.
        connection.sendall(
            raw.head(f"/{webhook}?timeout=10s", content_type="application/json",
                     content_length=str(len(body))) + body
        )  # fmt: skip
        direct = raw.read_answer(connection)
        # Chunked: the ASGI endpoint reads it.
        connection.sendall(
            raw.head(f"/{webhook}?timeout=10s", content_type="application/json",
                     transfer_encoding="chunked") + chunked(body)
        )  # fmt: skip
        through_asgi = raw.read_answer(connection)
    assert direct.status == through_asgi.status == 200
    assert direct.body == through_asgi.body
    assert direct.headers.keys() == through_asgi.headers.keys()
    assert direct.headers["content-type"] == "application/json"
    assert "connection" not in direct.headers  # kept alive


def test_pipelined_requests_are_answered_in_order(served: server.Served) -> None:
    bodies = [reviews.captured_bytes(f, "validate") for f in FIXTURES]
    uids = [json.loads(b)["request"]["uid"] for b in bodies]
    requests = [
        raw.head("/validate", content_type="application/json", content_length=str(len(b))) + b
        for b in bodies
    ]
    with served.connect() as connection:
        connection.sendall(b"".join(requests))  # one write: three requests in one TLS record
        # Their answers may leave in one write too: split them by their Content-Length.
        connection.settimeout(5)
        data, answers = b"", list[Any]()
        while len(answers) < len(requests):
            head, separator, rest = data.partition(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n")
                 if line.lower().startswith(b"content-length:")),
                None,
            )  # fmt: skip
            if separator and length is not None and len(rest) >= length:
                answers.append(json.loads(rest[:length]))
                data = rest[length:]
                continue
            chunk = connection.recv(65536)
            assert chunk, f"closed after {len(answers)} answers"
            data += chunk
    assert [a["response"]["uid"] for a in answers] == uids


def test_a_stalled_body_after_an_asgi_request_still_gets_408(served: server.Served) -> None:
    body = reviews.captured_bytes("pod-create-two-init", "validate")
    with served.connect() as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        assert raw.read_answer(connection).status == 200
        started = time.monotonic()
        connection.sendall(
            raw.head("/validate", content_type="application/json", content_length=str(len(body)))
            + body[:10]
        )
        answer = raw.read_answer(connection, timeout=READ_TIMEOUT + 2)
        assert READ_TIMEOUT - 0.1 <= time.monotonic() - started < READ_TIMEOUT + 1
        assert answer.status == 408
        assert raw.closed_by_server(connection)


def test_decisions_are_counted_and_logged_on_both_paths(served: server.Served) -> None:
    body = reviews.captured_bytes("pod-create-two-init", "mutate")
    before = served.metric(
        "initgate_admission_requests_total",
        webhook="mutate", operation="CREATE", kind="Pod", decision="patched", dry_run="false",
    )  # fmt: skip
    uid = json.loads(body)["request"]["uid"]
    logged = sum(1 for e in served.log_entries() if e.get("uid") == uid)
    with served.connect() as connection:
        for extra in ({"content_length": str(len(body))}, {"transfer_encoding": "chunked"}):
            framed = body if "content_length" in extra else chunked(body)
            connection.sendall(
                raw.head("/mutate", content_type="application/json", **extra) + framed
            )
            assert raw.read_answer(connection).status == 200
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if sum(1 for e in served.log_entries() if e.get("uid") == uid) == logged + 2:
            break
        time.sleep(0.05)
    assert sum(1 for e in served.log_entries() if e.get("uid") == uid) == logged + 2
    after = served.metric(
        "initgate_admission_requests_total",
        webhook="mutate", operation="CREATE", kind="Pod", decision="patched", dry_run="false",
    )  # fmt: skip
    assert after == before + 2


class _Transport(asyncio.Transport):
    """What the protocol writes, on a connection that goes nowhere."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8443), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )


@pytest.mark.parametrize(
    ("extra", "direct"),
    [
        pytest.param({}, True, id="plain"),
        pytest.param({"expect": "100-continue"}, False, id="expect-continue"),
        pytest.param({"connection": "close"}, False, id="closing"),
        pytest.param({"content_type": "text/plain"}, False, id="refused-head"),
    ],
)
def test_which_requests_skip_asgi(extra: dict[str, str], direct: bool) -> None:
    """A plain request is answered by the protocol itself (no ASGI task); anything unusual goes
    to the ASGI endpoint, which answers it as it always has."""
    settings = ServerSettings()
    app = create_app(settings)
    guard = Guard(read_timeout=10, admission=app.admission)
    body = reviews.captured_bytes("pod-create-two-init", "validate")
    headers = {"content_type": "application/json", "content_length": str(len(body)), **extra}

    async def run() -> tuple[int, bytes]:
        config = uvicorn.Config(app, http=connection.protocol(guard), lifespan="off")
        config.load()
        state = ServerState()
        handler = connection.protocol(guard)(config, state, {})
        transport = _Transport()
        handler.connection_made(transport)
        handler.data_received(raw.head("/validate", **headers) + body)
        tasks = len(handler.tasks)
        for _ in range(20):
            await asyncio.sleep(0)
        handler.connection_lost(None)
        return tasks, transport.written

    tasks, written = asyncio.run(run())
    assert tasks == (0 if direct else 1)
    # The last answer's status (`Expect: 100-continue` gets `100 Continue` first).
    status = int(written.rsplit(b"HTTP/1.1 ", 1)[1].split(b" ", 1)[0])
    assert status == (415 if "content_type" in extra else 200)


def test_an_empty_body_gets_the_answer_it_always_got(served: server.Served) -> None:
    with served.connect() as connection:
        connection.sendall(
            raw.head("/validate", content_type="application/json", content_length="0")
        )
        plain = raw.read_answer(connection)
        connection.sendall(
            raw.head("/validate", content_type="application/json", transfer_encoding="chunked")
            + b"0\r\n\r\n"
        )
        chunked_answer = raw.read_answer(connection)
    assert plain.status == chunked_answer.status == 400
    assert plain.json() == chunked_answer.json()
    assert plain.json()["reason"] == "empty"


def _in_process(app: Any, data: bytes, guard: Guard) -> bytes:
    """What a connection writes for `data`, served in process until nothing is left to do."""

    async def run() -> bytes:
        config = uvicorn.Config(app, http=connection.protocol(guard), lifespan="off")
        config.load()
        handler = connection.protocol(guard)(config, ServerState(), {})
        transport = _Transport()
        handler.connection_made(transport)
        handler.data_received(data)
        for _ in range(50):
            await asyncio.sleep(0)
        handler.connection_lost(None)
        return transport.written

    return asyncio.run(run())


def test_a_pipeline_of_direct_and_asgi_requests_is_answered_in_order() -> None:
    """A direct answer never starts the ASGI request queued behind another one: a slow ASGI
    route between a direct request and a fast one still answers before the fast one."""
    app = create_app(ServerSettings())

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        for _ in range(5):
            await asyncio.sleep(0)
        return {"route": "slow"}

    body = reviews.captured_bytes("pod-create-two-init", "validate")
    data = (
        raw.head("/validate", content_type="application/json", content_length=str(len(body)))
        + body
        + b"GET /slow HTTP/1.1\r\nhost: x\r\n\r\n"
        + b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n"
    )
    written = _in_process(app, data, Guard(read_timeout=10, admission=app.admission))
    order = [written.find(marker) for marker in (b"AdmissionReview", b'"slow"', b'"ok"')]
    assert -1 not in order
    assert order == sorted(order)


class _BrokenObserver:
    """Bookkeeping with a bug: every call raises. (The endpoint itself cannot be patched: the image
    compiles it, see test_compiled.py.)"""

    def bad_request(self, *_: object) -> None:
        raise RuntimeError("a bug")

    failed = answered = bad_request


def test_a_failure_to_answer_is_a_500_not_silence(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(ServerSettings())
    for endpoint in app.admission.values():
        monkeypatch.setattr(endpoint, "observer", _BrokenObserver())
    # Refused (malformed), so that the endpoint's own answer calls the observer, which fails.
    body = b'{"kind": "AdmissionReview", '
    data = (
        raw.head("/validate", content_type="application/json", content_length=str(len(body))) + body
    )
    written = _in_process(app, data, Guard(read_timeout=10, admission=app.admission))
    assert written.startswith(b"HTTP/1.1 500 ")
    assert b"connection: close" in written
