"""Per-connection guards that uvicorn lacks: a deadline to receive each request whole, and a cap
on the size of a request head (and each answer written in one piece: see `webhook.transport`).

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
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from webhook import review
from webhook.logs import LOG, event
from webhook.settings import MAX_CONNECTIONS
from webhook.transport import CorkedTransport

MAX_HEAD_BYTES = 64 * 1024
LINGER = 1.0


@dataclass(frozen=True, slots=True)
class Guard:
    """The limits, and who hears about a connection refused by them (metrics)."""

    read_timeout: float
    max_head_bytes: int = MAX_HEAD_BYTES
    max_connections: int = MAX_CONNECTIONS
    refused: Callable[[str], None] = lambda _reason: None
    connected: Callable[[object], None] = lambda _tls: None
    """Called with the TLS object of each new connection (its handshake has completed)."""


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
        idle = self.cycle is None or self.cycle.response_complete
        if idle and self._deadline is None:
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
            super().on_headers_complete()
            if self._stopping:
                self.cycle.keep_alive = False

    def shutdown(self) -> None:
        """The server stops: uvicorn closes every connection without a request in progress,
        including one whose head is half received. That request was sent before the listener
        closed; it is answered, and then the connection closes."""
        if self._in_head:
            self._stopping = True
            return
        super().shutdown()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        if not self._refused:
            super().on_message_complete()

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
        if not self._in_head and (self.cycle is None or self.cycle.response_complete):
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

    def _refuse(self, status: http.HTTPStatus, reason: str, message: str) -> None:
        """Answer with a Kubernetes `Status` (unless an answer has begun) and close."""
        self._refused = True
        self._disarm()
        self.guard.refused(reason)
        event(LOG, "connection refused", logging.WARNING, status=int(status), problem=message)
        if self.cycle is None or not self.cycle.response_started:
            body = orjson.dumps(review.failure(int(status), reason, message))
            head = (
                f"HTTP/1.1 {int(status)} {status.phrase}\r\n"
                "content-type: application/json\r\n"
                f"content-length: {len(body)}\r\n"
                "connection: close\r\n\r\n"
            )
            self.transport.write(head.encode() + body)
        self.transport.close()
        self._linger()


def protocol(guard: Guard) -> type[GuardedProtocol]:
    """The protocol class to give uvicorn (`Config(http=...)`), with these limits."""
    return type("GuardedProtocol", (GuardedProtocol,), {"guard": guard})
