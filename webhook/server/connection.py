"""Per-connection guards that uvicorn lacks: a deadline to receive each request whole, a cap on
the size of a request head, and each answer written in one piece (`transport`).

uvicorn closes idle keep-alive connections, and nothing else: a client that connects and sends
nothing, sends its headers a byte at a time, or declares a body it never sends holds its connection
(and, while it sends headers, ever more memory) for as long as it likes. The API server sends each
review whole and at once, and gives up after its webhook timeout (at most 30 s), so a request still
incomplete after `read_timeout` seconds only comes from a broken or hostile client: it gets 408 and
the connection is closed. A head above `max_head_bytes` gets 431 (the API server sends well under
1 KiB of headers). A connection opened while `max_connections` are open gets 503 for its request.

A connection closed after an answer that did not read the whole request (413, 408, 431) gets
`LINGER` seconds to take the answer, then it is cut: a TLS close otherwise reads (and discards) what
the client still sends, for as long as it sends it.

An admission request as the API server sends it (POST to an admission path, HTTP/1.1 kept alive,
JSON with a Content-Length within the cap) is answered here, without ASGI: its body is collected
as it is parsed, and once whole it is answered by the same `protocol.Endpoint.answer` as the ASGI
path, its head and body in one write, once the loop has read what else arrived with it: sent at
once when it is the last answer due, else at the end of the turn with the others. An ASGI request
cycle (a task, a scope, receive and send calls, the response's messages) costs a saturated server
a tenth of its answers: in alternating rounds, /validate went from 0.48 to 0.54 of the floor, and
/mutate from 0.48 to 0.52. Anything else (another method or path, a head the endpoint refuses,
chunked or empty bodies, `Expect: 100-continue`, HTTP/1.0, a request that arrives while another
on its connection is being answered, or while the client does not read its answers) goes through
uvicorn and the ASGI app, as before: uvicorn queues it, and stops reading, as it always has.
"""

from __future__ import annotations

import asyncio
import http
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from webhook.core import review
from webhook.server.endpoint import BadRequest, check_head
from webhook.server.logs import LOG, event
from webhook.server.settings import MAX_CONNECTIONS
from webhook.server.transport import CorkedTransport

if TYPE_CHECKING:
    from webhook.server.endpoint import Answer, Endpoint

MAX_HEAD_BYTES = 64 * 1024
LINGER = 1.0


@dataclass(slots=True)
class Waiting:
    """Direct answers due in the loop's next turn, on all of a server's connections."""

    count: int = 0


@dataclass(frozen=True, slots=True)
class Guard:
    """The limits, and who hears about a connection refused by them (metrics)."""

    read_timeout: float
    max_head_bytes: int = MAX_HEAD_BYTES
    max_connections: int = MAX_CONNECTIONS
    refused: Callable[[str], None] = lambda _reason: None
    connected: Callable[[object], None] = lambda _tls: None
    """Called with the TLS object of each new connection (its handshake has completed)."""
    admission: Mapping[str, Endpoint] = field(default_factory=dict)
    """The admission endpoints by path, answered without ASGI when the request allows it."""
    waiting: Waiting = field(default_factory=Waiting)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the guards of `Guard`."""

    guard = Guard(read_timeout=10)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._deadline: asyncio.TimerHandle | None = None
        self._cut: asyncio.TimerHandle | None = None
        self._in_head = False
        self._refused = False
        self._stopping = False
        self._head_bytes = 0  # exact, from the parser
        self._head_read = 0  # bytes received while the head was incomplete
        self._over_cap = False
        self._direct: Endpoint | None = None  # the endpoint answering this request without ASGI
        self._body: list[bytes] = []
        self._started = 0.0
        self._pending = 0  # direct answers due in the loop's next turn

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._corked = CorkedTransport(transport, self.loop)
        super().connection_made(self._corked)
        tls = transport.get_extra_info("ssl_object")
        if tls is not None:
            self.guard.connected(tls)
        # Beyond the cap, the connection's first request gets 503 (the API server's client then
        # opens another connection, or fails the call after its timeout, as its failurePolicy
        # says); meanwhile the read deadline stops it from holding its place for long.
        self._over_cap = len(self.connections) > self.guard.max_connections
        self._arm()  # the first request must arrive, like every other, within the deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._cut is not None:
            self._cut.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._idle and self._deadline is None:
            self._arm()  # bytes after a keep-alive pause: the next request has begun
        super().data_received(data)
        if self._in_head and not self._refused:
            # The parser reports a header only once it is whole: a single endless header is
            # caught here, by the bytes received while the head is incomplete.
            self._head_read += len(data)
            self._check_head(self._head_read)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes, self._head_read = True, 0, 0
        if self._deadline is None:
            self._arm()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._head_bytes += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._refused:
            super().on_header(name, value)
            self._head_bytes += len(name) + len(value) + 4
            self._check_head(self._head_bytes)

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._over_cap and not self._refused:
            self._refuse(
                http.HTTPStatus.SERVICE_UNAVAILABLE,
                "too-many-connections",
                f"more than {self.guard.max_connections} connections are open; retry",
            )
        if not self._refused:
            self._direct = self._plain_admission()
            if self._direct is not None:
                self._body, self._started = [], time.perf_counter()
                return
            super().on_headers_complete()
            if self._stopping:
                self.cycle.keep_alive = False

    def shutdown(self) -> None:
        """The server stops: uvicorn closes every connection without a request in progress,
        including one whose head is half received. That request was sent before the listener
        closed; it is answered, and then the connection closes."""
        if self._in_head or self._direct is not None or self._pending:
            self._stopping = True
            return
        super().shutdown()

    def on_body(self, body: bytes) -> None:
        if self._direct is not None:
            self._body.append(body)  # no more than its Content-Length, which the cap bounds
        elif not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        if self._direct is not None:
            endpoint, body = self._direct, b"".join(self._body)
            self._direct, self._body = None, []
            # Answered once the loop has read what else arrived in this turn: under load, the
            # evaluations run back to back, then the writes leave together (measured: more
            # answers per second than answering each at once, inside the read).
            self._pending += 1
            self.guard.waiting.count += 1
            self.loop.call_soon(self._later, endpoint, body, self._started)
        elif not self._refused:
            super().on_message_complete()

    @property
    def _idle(self) -> bool:
        """No request being received whole (direct) or answered (ASGI) on this connection."""
        return self._direct is None and (self.cycle is None or self.cycle.response_complete)

    def _plain_admission(self) -> Endpoint | None:
        """The endpoint that answers this request without ASGI, or None when the request is not
        the plain kind the API server sends (see the module's documentation)."""
        admission = self.guard.admission
        parser = self.parser
        if (
            not admission
            or self._stopping
            or self.root_path
            or self.expect_100_continue
            # One direct answer at a time per connection, and none while the client does not
            # read: what else it sends waits in uvicorn's queue, which stops reading.
            or self._pending
            or self.flow.write_paused
            or not self._idle
            or parser.get_method() != b"POST"
            or parser.get_http_version() != "1.1"
            or not parser.should_keep_alive()
            or parser.should_upgrade()
        ):
            return None
        path = httptools.parse_url(self.url).path
        endpoint = admission.get(path.decode("latin-1")) if b"%" not in path else None
        if endpoint is None:
            return None
        try:
            declared = check_head(self.headers, endpoint.limit)
        except BadRequest:
            return None  # the ASGI endpoint refuses it, as it always has
        return endpoint if declared else None  # chunked, or empty: the ASGI endpoint's

    def _later(self, endpoint: Endpoint, body: bytes, started: float) -> None:
        self._pending -= 1
        waiting = self.guard.waiting
        waiting.count -= 1
        if self.transport.is_closing():
            return  # the client left: nobody to answer
        try:
            answer = self._answer(endpoint, body, started)
        except Exception:  # noqa: BLE001 - a bug of ours: the client gets a 500, not silence
            LOG.exception("could not answer an admission request")
            self._refuse(
                http.HTTPStatus.INTERNAL_SERVER_ERROR,
                "internal-error",
                "initgate could not answer this request",
            )
            return
        if not waiting.count and not self.tasks:
            self._corked.flush()  # the last answer due: nothing to wait for
        endpoint.record(answer)

    def _answer(self, endpoint: Endpoint, body: bytes, started: float) -> Answer:
        answer = endpoint.answer(body, started)
        close = answer.close or self._stopping or endpoint.closing()
        self._write(http.HTTPStatus(answer.status), answer.body, close=close)
        if close:
            self.transport.close()
            self._linger()
        self._answered()
        return answer

    def _answered(self) -> None:
        """What uvicorn does once an answer is complete, for a direct one: count it, and arm the
        keep-alive timer when the connection is now idle. Never start a request queued in
        uvicorn's pipeline: the ASGI request before it does, once it is answered."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        if self._idle and not self._pending and not self._in_head:
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

    def on_response_complete(self) -> None:
        # The head and the body of the answer leave in one write: now, when this was the only
        # request in flight (no one else to wait for), else at the end of the loop's turn, with
        # the answers to the other requests of this turn (their work is done back to back, and
        # then the writes: measured, a quarter more answers per second under load).
        if len(self.tasks) <= 1:
            self._corked.flush()
        if self.transport.is_closing():
            self._linger()  # answered with `connection: close`, perhaps before the whole body
        super().on_response_complete()

    def _check_head(self, size: int) -> None:
        if size > self.guard.max_head_bytes:
            self._refuse(
                http.HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                "head-too-large",
                f"request head exceeds {self.guard.max_head_bytes} bytes",
            )

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.guard.read_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not self._in_head and self._idle:
            self.transport.abort()  # connected (or kept alive) and said nothing: just cut
            return
        self._refuse(
            http.HTTPStatus.REQUEST_TIMEOUT,
            "read-timeout",
            f"request not received whole within {self.guard.read_timeout:g} seconds",
        )

    def _linger(self) -> None:
        if self._cut is None:
            self._cut = self.loop.call_later(LINGER, self.transport.abort)

    def _write(self, status: http.HTTPStatus, body: bytes, *, close: bool) -> None:
        """A JSON answer written here, not by uvicorn: uvicorn's default headers (the date), then
        the body's; head and body in one write."""
        head = [b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode())]
        head.extend(b"%s: %s\r\n" % header for header in self.server_state.default_headers)
        head.append(b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body))
        if close:
            head.append(b"connection: close\r\n")
        head.append(b"\r\n")
        self.transport.write(b"".join(head) + body)

    def _refuse(self, status: http.HTTPStatus, reason: str, message: str) -> None:
        """Answer with a Kubernetes `Status` (unless an answer has begun) and close."""
        self._refused = True
        self._disarm()
        self.guard.refused(reason)
        event(LOG, "connection refused", logging.WARNING, status=int(status), problem=message)
        cycle = self.cycle  # the last ASGI request's: done, unless an answer is being written
        if cycle is None or not cycle.response_started or cycle.response_complete:
            body = orjson.dumps(review.failure(int(status), reason, message))
            self._write(status, body, close=True)
        self.transport.close()
        self._linger()


def protocol(guard: Guard) -> type[GuardedProtocol]:
    """The protocol class to give uvicorn (`Config(http=...)`), with these limits."""
    return type("GuardedProtocol", (GuardedProtocol,), {"guard": guard})
