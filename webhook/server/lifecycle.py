"""Running the service: uvicorn over TLS, metrics on a plain-HTTP port, graceful shutdown.

Everything here goes through uvicorn's public configuration (`uvicorn.Config`): the serving
certificate through `ssl_context_factory` (one SSLContext, reloaded in place), h11 with a cap on
the request head (`h11_max_incomplete_event_size`), wrapped by `connections` (a deadline on each
request head, and a cap on open connections that idle clients cannot fill: through `http`, which
takes a protocol class, and the ASGI app), `timeout_keep_alive` and `timeout_graceful_shutdown`.
What uvicorn does not guard is listed in docs/operations.md, with what covers it instead.

On SIGTERM the readiness endpoint fails at once, requests keep being served for `shutdown_delay`
seconds (so that endpoints controllers and kube-proxy stop routing here), answers ask clients to
close their connections, and then uvicorn closes the listener and lets in-flight requests finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import signal
import socket
import ssl
import sys
import time
from types import FrameType

import uvicorn
from prometheus_client import disable_created_metrics, start_http_server

from webhook.server import logs
from webhook.server.app import AppState, Readiness, build_state, create_app
from webhook.server.connections import Connections
from webhook.server.handshakes import Handshakes
from webhook.server.logs import LOG, event
from webhook.server.metrics import Metrics
from webhook.server.settings import MAX_HEAD_BYTES, ServerSettings
from webhook.server.tls import CertificateError, ServingCertificate, development_certificate

KEEP_ALIVE = 30
"""Seconds an idle connection stays open: the API server keeps its connections between calls."""


class StartError(RuntimeError):
    """The server cannot start (a port in use, a certificate that cannot be read); the message
    says why and what to do."""


class GracefulServer(uvicorn.Server):
    """uvicorn's server, whose first SIGTERM drains before it stops, and which then exits 0.

    `handle_exit` is the method uvicorn calls on SIGINT and SIGTERM. The first SIGTERM only starts
    the drain (readiness fails, `drained` sets `should_exit` once `drain` seconds have passed); a
    second signal, or SIGINT, stops at once. The signal is not handed to uvicorn's own
    `handle_exit`, which would raise it again once the server has stopped: a drained, finished
    server exits 0 instead of dying of its signal.
    """

    def __init__(self, config: uvicorn.Config, *, readiness: Readiness, drain: float) -> None:
        super().__init__(config)
        self.readiness = readiness
        self.drain = drain
        self.stop_at: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # noqa: ARG002
        self.readiness.draining = True
        if sig == signal.SIGTERM and self.stop_at is None:
            self.stop_at = time.monotonic() + self.drain
            return
        self.force_exit = self.should_exit  # a second stop signal: stop waiting for connections
        self.should_exit = True

    async def drained(self, tick: float = 0.1) -> None:
        """Set `should_exit` once the drain that a SIGTERM started is over (runs beside `serve`)."""
        while not self.should_exit:
            if self.stop_at is not None and time.monotonic() >= self.stop_at:
                event(LOG, "drained; closing the listener", waited=self.drain)
                self.should_exit = True
                return
            await asyncio.sleep(tick)


def certificate_files(settings: ServerSettings) -> tuple[ServerSettings, str | None]:
    """Settings with a certificate: the given one, or a development one (and its CA's path)."""
    if settings.tls_cert is not None:
        return settings, None
    try:
        files = development_certificate(settings.state_dir)
    except OSError as error:
        raise StartError(
            f"cannot write a development certificate into {settings.state_dir}: "
            f"{error.strerror}; choose a writable --state-dir, or give --tls-cert and --tls-key"
        ) from error
    updated = settings.model_copy(update={"tls_cert": files.cert, "tls_key": files.key})
    return updated, str(files.ca)


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here rather than by uvicorn (`Server.serve(sockets=...)`) so
    that a port in use is one clear error before anything starts."""
    try:
        return socket.create_server((host, port))
    except OSError as error:
        cause = os.strerror(error.errno) if error.errno else str(error)
        raise StartError(
            f"cannot listen on {host}:{port}: {cause}; choose another --port or --host"
        ) from error


def h11_protocol() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol class, as uvicorn itself resolves `http="h11"` (`Config.load`).
    h11 caps the request head it buffers; httptools, uvicorn's faster parser, does not (a client
    could fill the memory with one endless header): see docs/performance.md."""
    probe = uvicorn.Config(_no_app, http="h11", log_config=None, lifespan="off")
    probe.load()
    return probe.http_protocol_class


async def _no_app(scope: object, receive: object, send: object) -> None:
    """The app of the configuration `h11_protocol` reads: it never serves."""


def uvicorn_config(
    app: object,
    settings: ServerSettings,
    context: ssl.SSLContext,
    http: type[asyncio.Protocol] | str = "h11",
) -> uvicorn.Config:
    """How uvicorn serves `app`: over TLS with `context`, with the guards of `settings`, by the
    protocol `http` (h11's, or `Connections.protocol` around it)."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=settings.host,
        port=settings.port,
        http=http,
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        ssl_context_factory=lambda _config, _default: context,
        # Nobody proxies the API server's calls; the scope's client must be the peer, which
        # `Connections.track` finds connections by.
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE,
        timeout_graceful_shutdown=settings.graceful_timeout,
        log_config=None,
        access_log=False,
        server_header=False,
    )


def run(settings: ServerSettings) -> int:
    """Serve until stopped. Raises `ConfigError`, `CertificateError` or `StartError` when the
    server cannot start."""
    logs.configure(settings.log_level)
    disable_created_metrics()  # type: ignore[no-untyped-call]
    settings, development_ca = certificate_files(settings)
    if development_ca is not None:
        print(  # noqa: T201 - for the person at the terminal, not for the log pipeline
            f"initgate: development certificate for localhost; trust it with "
            f"--cacert {development_ca} (caBundle: base64 of that file)",
            file=sys.stderr,
        )
    metrics = Metrics()
    state = build_state(settings, metrics=metrics)

    def certificate_loaded(result: str, expires: datetime.datetime | None) -> None:
        metrics.certificate_reloads.labels(result).inc()
        if expires is not None:
            metrics.certificate_expiry.set(expires.timestamp())

    if settings.tls_cert is None or settings.tls_key is None:
        raise CertificateError("no certificate")  # certificate_files always provides one
    handshakes = Handshakes(failed=metrics.tls_handshake_failures.inc)
    serving = ServingCertificate(
        settings.tls_cert,
        settings.tls_key,
        client_ca=settings.client_ca,
        observer=certificate_loaded,
        on_hello=handshakes.begun,
        on_handshake=handshakes.completed,
    )
    state.readiness.certificate = True
    connections = Connections(
        head_timeout=settings.head_timeout,
        limit=settings.max_connections,
        closed_by=lambda reason: metrics.connections_closed.labels(reason).inc(),
    )
    metrics.open_connections.set_function(lambda: len(connections))
    config = uvicorn_config(
        connections.track(create_app(settings, state=state)),
        settings,
        serving.context,
        http=connections.protocol(h11_protocol()),
    )
    server = GracefulServer(config, readiness=state.readiness, drain=settings.shutdown_delay)
    sock = listen(settings.host, settings.port)
    metrics_server = None
    if settings.metrics_port:
        try:
            metrics_server, _ = start_http_server(
                settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry
            )
        except OSError as error:
            sock.close()
            raise StartError(
                f"cannot serve metrics on {settings.metrics_host}:{settings.metrics_port}: "
                f"{error.strerror}; choose another --metrics-port (0 turns metrics off)"
            ) from error
    event(
        LOG,
        "serving",
        url=f"https://{settings.host}:{settings.port}",
        metrics=f"http://{settings.metrics_host}:{settings.metrics_port}/metrics"
        if metrics_server
        else "",
        config=state.store.current.source,
    )
    try:
        # uvloop when installed (uvicorn's "auto" loop), as `uvicorn.run` would choose.
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(_serve(server, sock, state, serving, settings.reload_interval))
    finally:
        sock.close()
        if metrics_server is not None:
            metrics_server.shutdown()
    return 0


async def _serve(
    server: GracefulServer,
    sock: socket.socket,
    state: AppState,
    serving: ServingCertificate,
    interval: float,
) -> None:
    watchers = [
        asyncio.create_task(serving.watch(interval)),
        asyncio.create_task(server.drained()),
    ]
    try:
        await server.serve(sockets=[sock])
    finally:
        state.readiness.draining = True
        for watcher in watchers:
            watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*watchers)
