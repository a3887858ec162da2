"""Connections that keep the server waiting: a deadline on every request head, and a cap on open
connections that idle clients cannot fill.

uvicorn sets no deadline before a connection's first request nor on a request head, and its
connection cap (`limit_concurrency`) refuses new requests with 503 once enough connections are
open, idle or not: a client that opens a thousand connections and sends nothing takes admission
down for as long as it holds them. Go's HTTP server, which Kyverno and Gatekeeper serve on, has
`ReadHeaderTimeout` and no cap that idle clients can fill. This module gives initgate the same,
through the extension points uvicorn offers: its `http` setting takes a protocol class (here
`Connection`, which wraps uvicorn's own h11 protocol through asyncio's Protocol API and sees every
byte a connection receives), and the ASGI app it serves (here `Connections.track`, which sees
each request begin and its answer start).

- A connection that has not sent a whole request head `head_timeout` seconds after it opened, or
  after the first byte of its next request, is aborted. Between requests uvicorn's keep-alive
  timeout still closes a connection idle after an answer.
- When a new connection would make more than `limit` open, the connection that has kept the
  server waiting longest is aborted to make room: first one that has never had an answer, else
  the one answered longest ago. A connection whose answer is being computed is never closed; a
  new connection is never refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webhook.server.logs import event

LOG = logging.getLogger("initgate.connections")
LOG_EVERY = 60.0
"""Seconds between two log lines about closed connections (each says how many since the last)."""
HEAD_TIMEOUT = 10.0
"""Seconds a connection has to send a whole request head. The API server sends each review at
once, head and body, right after its TLS handshake or on a connection it keeps alive."""

Peer = tuple[str, int]


class Connection(asyncio.Protocol):
    """One client connection: uvicorn's protocol (`inner`) sees everything as if it were alone,
    this wrapper tells `connections` what happens and enforces the head deadline."""

    def __init__(self, inner: asyncio.Protocol, connections: Connections) -> None:
        self.inner = inner
        self.connections = connections
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.in_request = False
        self.answering = False
        """A whole request is in, its answer not yet begun: the server is working on it."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        # As uvicorn writes the ASGI scope's `client`: (host, port), whatever the address family.
        self.peer = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        self.connections.opened(self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.deadline is None and not self.in_request and self.peer is not None:
            self.deadline = self.connections.head_deadline(self)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_deadline()
        self.connections.closed(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def cancel_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def abort(self) -> None:
        """Close at once, without the TLS goodbye a client that holds connections would not
        answer (asyncio waits 30 s for it)."""
        self.cancel_deadline()
        if self.transport is not None:
            self.transport.abort()


class Connections:
    """The open connections, in the order they began to wait for their client; the guards.

    `closed_by(reason)` counts each connection aborted ("head-timeout", "max-connections").
    """

    def __init__(
        self,
        *,
        head_timeout: float = HEAD_TIMEOUT,
        limit: int,
        closed_by: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.head_timeout = head_timeout
        self.limit = limit
        self.closed_by = closed_by
        self.peers: dict[Peer, Connection] = {}
        # Dicts keep insertion order: the first entry has waited longest.
        self.unanswered: dict[Connection, None] = {}
        self.idle: dict[Connection, None] = {}
        self._unlogged: dict[str, int] = {}
        self._logged_at = -LOG_EVERY

    def __len__(self) -> int:
        return len(self.peers)

    def protocol(self, inner: Callable[..., asyncio.Protocol]) -> type[asyncio.Protocol]:
        """A protocol class for `uvicorn.Config(http=...)`: each connection is a `Connection`
        around the protocol `inner` builds from uvicorn's arguments."""
        connections = self

        class Guarded(Connection):
            def __init__(self, **uvicorn_arguments: Any) -> None:
                super().__init__(inner(**uvicorn_arguments), connections)

        return Guarded

    def track(self, app: ASGIApp) -> ASGIApp:
        """`app`, telling each request's connection when its head is in, when the whole request
        is, and when the answer begins."""

        async def tracked(scope: Scope, receive: Receive, send: Send) -> None:
            client = scope.get("client") if scope["type"] == "http" else None
            connection = self.peers.get(tuple(client)) if client else None
            if connection is None:
                await app(scope, receive, send)
                return
            connection.cancel_deadline()
            connection.in_request = True

            async def received() -> Message:
                message = await receive()
                if message["type"] == "http.request" and not message.get("more_body", False):
                    connection.answering = True
                return message

            async def sending(message: Message) -> None:
                connection.answering = False
                await send(message)

            try:
                await app(scope, received, sending)
            finally:
                connection.in_request = connection.answering = False
                self.answered(connection)

        return tracked

    def opened(self, connection: Connection) -> None:
        if connection.peer is None:
            return  # nothing to find its requests by: left to uvicorn alone
        while len(self.peers) >= self.limit and self._make_room():
            pass
        self.peers[connection.peer] = connection
        self.unanswered[connection] = None
        connection.deadline = self.head_deadline(connection)

    def head_deadline(self, connection: Connection) -> asyncio.TimerHandle:
        loop = asyncio.get_running_loop()
        return loop.call_later(self.head_timeout, self._expire, connection)

    def answered(self, connection: Connection) -> None:
        """`connection` has had an answer: it waits for its client again, from now on."""
        self.unanswered.pop(connection, None)
        self.idle.pop(connection, None)
        if connection.peer is not None and self.peers.get(connection.peer) is connection:
            self.idle[connection] = None

    def closed(self, connection: Connection) -> None:
        self.unanswered.pop(connection, None)
        self.idle.pop(connection, None)
        if connection.peer is not None and self.peers.get(connection.peer) is connection:
            del self.peers[connection.peer]

    def _make_room(self) -> bool:
        for queue in (self.unanswered, self.idle):
            for candidate in queue:
                if not candidate.answering:
                    self._close(candidate, "max-connections")
                    return True
        return False

    def _expire(self, connection: Connection) -> None:
        connection.deadline = None
        self._close(connection, "head-timeout")

    def _close(self, connection: Connection, reason: str) -> None:
        self.closed(connection)
        connection.abort()
        self.closed_by(reason)
        self._unlogged[reason] = self._unlogged.get(reason, 0) + 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            event(
                LOG,
                "connections closed by initgate: no whole request head within the deadline, or "
                "the oldest waiting one to make room under --max-connections (is something other "
                "than the API server connecting?)",
                logging.WARNING,
                headTimeout=self._unlogged.get("head-timeout", 0),  # since the previous line
                maxConnections=self._unlogged.get("max-connections", 0),
            )
            self._unlogged, self._logged_at = {}, now
