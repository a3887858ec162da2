"""Running the service: uvicorn over TLS, metrics on a plain-HTTP port, graceful shutdown.

On SIGTERM the readiness endpoint fails at once, requests keep being served for `shutdown_delay`
seconds (so that endpoints controllers and kube-proxy stop routing here), answers ask clients to
close their connections, and then uvicorn closes the listener and lets in-flight requests finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import signal
import socket
import ssl
import sys
import time
from types import FrameType
from typing import Any

import uvicorn
from prometheus_client import disable_created_metrics, start_http_server

from webhook.server import logs
from webhook.server.app import AppState, build_state, create_app
from webhook.server.connection import Guard, protocol
from webhook.server.handshakes import Handshakes
from webhook.server.logs import LOG, event
from webhook.server.metrics import Metrics
from webhook.server.settings import ServerSettings
from webhook.server.tls import CertificateError, ServingCertificate, development_certificate


class GracefulServer(uvicorn.Server):
    """A uvicorn server that drains before it stops, and exits 0 after a SIGTERM."""

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        state: AppState,
        drain: float,
        handshake_timeout: float = 60.0,
    ) -> None:
        super().__init__(config)
        self.state = state
        self.drain = drain
        self.handshake_timeout = handshake_timeout
        self._stop_at: float | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's start-up, with a deadline on TLS handshakes. uvicorn creates its listener
        without one, so asyncio's default applies: a connection that never finishes its handshake
        (a client that connects and sends nothing) holds a socket for 60 s, before the read
        deadline of `webhook.server.connection` can start. The listener is created with
        `ssl_handshake_timeout` instead, through the loop's own `create_server`."""
        loop = asyncio.get_running_loop()
        create_server = loop.create_server

        def with_deadline(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("ssl") is not None:
                kwargs.setdefault("ssl_handshake_timeout", self.handshake_timeout)
            return create_server(*args, **kwargs)

        try:
            loop.create_server = with_deadline  # type: ignore[method-assign]
        except AttributeError:  # a loop whose methods cannot be shadowed: asyncio's default
            event(LOG, "no TLS handshake deadline on this event loop", logging.WARNING)
            await super().startup(sockets)
            return
        try:
            await super().startup(sockets)
        finally:
            del loop.create_server  # the loop's own method again

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # noqa: ARG002
        # Not recorded in _captured_signals: uvicorn would re-raise it after shutdown, and a
        # drained, finished server should exit 0, not die of the signal.
        self.state.readiness.draining = True
        if sig == signal.SIGINT or self._stop_at is not None:
            self.force_exit = self.should_exit
            self.should_exit = True
            return
        self._stop_at = time.monotonic() + self.drain

    async def on_tick(self, counter: int) -> bool:
        if self._stop_at is not None and not self.should_exit and time.monotonic() >= self._stop_at:
            event(LOG, "drained; closing the listener", waited=self.drain)
            self.should_exit = True
        return await super().on_tick(counter)


def certificate_files(settings: ServerSettings) -> tuple[ServerSettings, str | None]:
    """Settings with a certificate: the given one, or a development one (and its CA's path)."""
    if settings.tls_cert is not None:
        return settings, None
    files = development_certificate(settings.state_dir)
    updated = settings.model_copy(update={"tls_cert": files.cert, "tls_key": files.key})
    return updated, str(files.ca)


def run(settings: ServerSettings) -> int:
    """Serve until stopped; raises `ConfigError` or `CertificateError` if start-up is impossible."""
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
    )
    state.readiness.certificate = True
    app = create_app(settings, state=state)

    def context(_: uvicorn.Config, __: object) -> ssl.SSLContext:
        return serving.context

    guard = Guard(
        read_timeout=settings.read_timeout,
        max_connections=settings.max_connections,
        refused=lambda reason: metrics.bad_requests.labels(reason).inc(),
        connected=handshakes.completed,
        admission=app.admission,
    )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=protocol(guard),
        ssl_context_factory=context,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=settings.graceful_timeout,
        # The API server keeps connections open between calls; an idle one costs almost nothing.
        timeout_keep_alive=30,
    )
    server = GracefulServer(
        config,
        state=state,
        drain=settings.shutdown_delay,
        handshake_timeout=settings.tls_handshake_timeout,
    )
    metrics_server = None
    if settings.metrics_port:
        metrics_server, _ = start_http_server(
            settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry
        )
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
            runner.run(_serve(server, serving, settings.reload_interval))
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
    return 0


async def _serve(server: GracefulServer, serving: ServingCertificate, interval: float) -> None:
    watcher = asyncio.create_task(serving.watch(interval))
    try:
        await server.serve()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    if not server.started:
        logging.getLogger("initgate").error("the server could not start (is the port in use?)")
        raise SystemExit(1)
