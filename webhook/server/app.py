"""The FastAPI application: admission endpoints, health endpoints, and what wraps them once.

Endpoints: `POST /validate` and `POST /mutate` (every policy at its configured mode), and
`POST /validate/{mode}`, `POST /mutate/{mode}` for mode in enforce, warn, audit (policies capped
at that mode: the Helm chart routes namespaces to them by their `initgate.io/mode` label, so the
webhook never reads the API). `GET /healthz` (alive) and `GET /readyz` (configuration and
certificate loaded, not shutting down).

Every path and method the routes do not serve gets a Kubernetes `Status` (404, 405); under
`/validate` and `/mutate` it is also a bad request, counted and logged like a malformed review.
While the server drains, every answer asks its client to close the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from policies.base import Mode
from webhook._version import __version__
from webhook.core.engine import WEBHOOKS
from webhook.core.handler import Handler
from webhook.core.plan import Plan
from webhook.server.endpoint import BadRequest, Endpoint, problem, quoted
from webhook.server.instrumentation import Instrumentation
from webhook.server.logs import LOG, event
from webhook.server.metrics import Metrics
from webhook.server.settings import ServerSettings
from webhook.server.store import ConfigStore

CAPS = (Mode.ENFORCE, Mode.WARN, Mode.AUDIT)
CLOSE = (b"connection", b"close")


@dataclass(slots=True)
class Readiness:
    """What `/readyz` reports. The server sets `certificate` and `draining`."""

    config: bool = False
    certificate: bool = False
    draining: bool = False

    def problems(self) -> list[str]:
        return [
            problem
            for problem, bad in (
                ("configuration not loaded", not self.config),
                ("certificate not loaded", not self.certificate),
                ("shutting down", self.draining),
            )
            if bad
        ]


@dataclass(slots=True)
class AppState:
    """The long-lived resources of one server, created at start-up."""

    settings: ServerSettings
    store: ConfigStore
    metrics: Metrics
    readiness: Readiness = field(default_factory=Readiness)


def build_state(settings: ServerSettings, *, metrics: Metrics | None = None) -> AppState:
    """Load the configuration (raises `ConfigError` if the file is invalid) and set up metrics."""
    metrics = metrics if metrics is not None else Metrics()

    def reloaded(result: str, plan: Plan | None) -> None:
        if plan is not None:
            metrics.config_last_success.set(time.time())
            # Exemptions without an end are not exported: nothing to alert on, and no series
            # whose absence would have to be told from a missing scrape.
            ends: dict[tuple[str, ...], float] = {
                (e.label,): e.expires for e in plan.exemptions.values() if e.expires is not None
            }
            metrics.exemption_expiry.replace(ends)
        # Counted last: a scrape (another thread) that sees the count sees what it brought.
        metrics.config_reloads.labels(result).inc()

    store = ConfigStore(settings.config_path, observer=reloaded)
    return AppState(settings=settings, store=store, metrics=metrics)


def create_app(settings: ServerSettings, *, state: AppState | None = None) -> FastAPI:
    """The application. `state` is built from `settings` unless given (tests share one)."""
    state = state if state is not None else build_state(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        watcher = None
        if settings.config_path is not None:
            watcher = asyncio.create_task(state.store.watch(settings.reload_interval))
        state.readiness.config = True
        event(LOG, "configuration active", source=state.store.current.source)
        try:
            yield
        finally:
            state.readiness.config = False
            if watcher is not None:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher

    # The admission routes come first: the router tries routes in order, and these carry the load.
    observer = Instrumentation(state.metrics)
    routes: list[BaseRoute] = [
        Route(path, endpoint, methods=["POST"])
        for path, endpoint in _admission(settings, state, observer).items()
    ]
    app = FastAPI(
        title="initgate",
        routes=routes,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # `/validate/` is a path the API server was configured with by mistake: a 404 that says
        # so, not a redirect.
        redirect_slashes=False,
    )
    app.state.initgate = state
    app.add_middleware(CloseWhileDraining, readiness=state.readiness)

    @app.exception_handler(HTTPException)
    async def not_served(request: Request, error: HTTPException) -> Response:
        refused = _not_served(request, error)
        webhook = request.url.path.split("/")[1]
        if webhook in WEBHOOKS:
            observer.refused(webhook, refused)
        return Response(
            problem(refused),
            status_code=refused.status,
            headers=error.headers,
            media_type="application/json",
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        problems = state.readiness.problems()
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready", "config": state.store.current.source})

    return app


def _admission(
    settings: ServerSettings, state: AppState, observer: Instrumentation
) -> dict[str, Endpoint]:
    """The admission endpoints by path: `/validate` and `/mutate` (every policy at its configured
    mode, the same endpoints as `/validate/enforce` and `/mutate/enforce`), and one per lower mode
    cap (the chart routes namespaces to them by their `initgate.io/mode` label)."""
    endpoints: dict[str, Endpoint] = {}
    for webhook in WEBHOOKS:
        for cap in CAPS:
            handler = Handler(webhook=webhook, cap=cap, plan=lambda: state.store.plan)
            endpoint = Endpoint(
                handler,
                observer,
                limit=settings.max_body_bytes,
                read_timeout=settings.read_timeout,
            )
            endpoints[f"/{webhook}/{cap.value}"] = endpoint
            if cap is Mode.ENFORCE:
                endpoints[f"/{webhook}"] = endpoint
    return endpoints


def _not_served(request: Request, error: HTTPException) -> BadRequest:
    """What a request no route serves is told (the path and method are the client's: clipped)."""
    path = quoted(request.url.path)
    if error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        return BadRequest(
            405,
            "method-not-allowed",
            f"{request.method} {path}: this endpoint answers {allowed} only",
        )
    if error.status_code == 404:
        modes = ", ".join(cap.value for cap in CAPS)
        return BadRequest(
            404,
            "not-found",
            f"no endpoint {path}: initgate answers POST /validate and /mutate, each also as "
            f"/validate/<mode> and /mutate/<mode> for mode {modes}; GET /healthz and /readyz",
        )
    return BadRequest(error.status_code, "http", quoted(error.detail))


class CloseWhileDraining:
    """While the server drains (SIGTERM), every answer carries `connection: close`, so that each
    client opens its next connection to a replica that stays: admission answers, refusals,
    `/readyz`'s 503 and `/healthz` alike. Decided when the answer starts, not when the request
    did: a request whose body was still arriving at SIGTERM is answered during the drain."""

    def __init__(self, app: ASGIApp, readiness: Readiness) -> None:
        self.app = app
        self.readiness = readiness

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        readiness = self.readiness

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start" and readiness.draining:
                headers = list(message.get("headers", ()))
                if CLOSE not in headers:
                    message = {**message, "headers": [*headers, CLOSE]}
            await send(message)

        await self.app(scope, receive, closing)
