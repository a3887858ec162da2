"""The FastAPI application: admission endpoints, health endpoints, and what wraps them once.

Endpoints: `POST /validate` and `POST /mutate` (every policy at its configured mode), and
`POST /validate/{mode}`, `POST /mutate/{mode}` for mode in enforce, warn, audit (policies capped
at that mode: the Helm chart routes namespaces to them by their `initgate.io/mode` label, so the
webhook never reads the API). `GET /healthz` (alive) and `GET /readyz` (configuration and
certificate loaded, not shutting down).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from policies.base import Mode
from webhook._version import __version__
from webhook.core.engine import WEBHOOKS
from webhook.core.handler import Handler
from webhook.core.plan import Plan
from webhook.server.endpoint import Endpoint
from webhook.server.instrumentation import Instrumentation
from webhook.server.logs import LOG, event
from webhook.server.metrics import Metrics
from webhook.server.settings import ServerSettings
from webhook.server.store import ConfigStore

CAPS = (Mode.ENFORCE, Mode.WARN, Mode.AUDIT)


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
    routes: list[BaseRoute] = [
        Route(path, endpoint, methods=["POST"])
        for path, endpoint in _admission(settings, state).items()
    ]
    app = FastAPI(
        title="initgate",
        routes=routes,
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.initgate = state

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


def _admission(settings: ServerSettings, state: AppState) -> dict[str, Endpoint]:
    """The admission endpoints by path: `/validate` and `/mutate` (every policy at its configured
    mode, the same endpoints as `/validate/enforce` and `/mutate/enforce`), and one per lower mode
    cap (the chart routes namespaces to them by their `initgate.io/mode` label)."""
    observer = Instrumentation(state.metrics)
    endpoints: dict[str, Endpoint] = {}
    for webhook in WEBHOOKS:
        for cap in CAPS:
            handler = Handler(webhook=webhook, cap=cap, plan=lambda: state.store.plan)
            endpoint = Endpoint(
                handler,
                observer,
                limit=settings.max_body_bytes,
                read_timeout=settings.read_timeout,
                closing=lambda: state.readiness.draining,
            )
            endpoints[f"/{webhook}/{cap.value}"] = endpoint
            if cap is Mode.ENFORCE:
                endpoints[f"/{webhook}"] = endpoint
    return endpoints
