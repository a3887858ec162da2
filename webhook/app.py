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
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from policies.base import Mode
from webhook import logs
from webhook._version import __version__
from webhook.engine import WEBHOOKS, Decision
from webhook.handler import Handler
from webhook.logs import DECISIONS, LOG, event
from webhook.metrics import Metrics, bounded_kind, bounded_operation
from webhook.objects import Request
from webhook.protocol import BadRequest, Endpoint
from webhook.settings import ServerSettings
from webhook.store import ConfigStore

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

    def reloaded(result: str) -> None:
        metrics.config_reloads.labels(result).inc()
        if result == "success":
            metrics.config_last_success.set(time.time())

    store = ConfigStore(settings.config_path, observer=reloaded)
    return AppState(settings=settings, store=store, metrics=metrics)


class Instrumentation:
    """Metrics and the decision log around every handler (the `protocol.Observer`).

    Labelled children are looked up once and kept: prometheus_client's `labels()` validates and
    locks on every call, and this runs on every admission request.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def bad_request(self, handler: Handler, error: BadRequest) -> None:
        self._child(self.metrics.bad_requests, error.reason).inc()
        event(
            LOG,
            "bad request",
            logging.WARNING,
            webhook=handler.name,
            status=error.status,
            problem=error.message,
        )

    def failed(self, handler: Handler, request: Request, error: Exception) -> None:
        self._child(self.metrics.policy_errors, "engine").inc()
        LOG.error(
            "evaluation failed",
            exc_info=error,
            extra={"fields": {"uid": request.uid, "webhook": handler.name}},
        )

    def answered(
        self,
        handler: Handler,
        request: Request,
        decision: Decision | None,
        seconds: float,
    ) -> None:
        m = self.metrics
        name = handler.name
        outcome = decision.outcome if decision is not None else "error"
        dry_run = "true" if request.dry_run else "false"
        operation, kind = bounded_operation(request.operation), bounded_kind(request.kind)
        m.requests.inc((name, operation, kind, outcome, dry_run))
        m.duration.observe(name, seconds)
        if decision is not None:
            webhook = handler.webhook
            for verdict in decision.verdicts:
                # Modes and roles are string enums: their members are their own label values.
                m.findings.inc(
                    (verdict.policy, verdict.mode, verdict.finding.role or "pod", webhook)
                )
            for error in decision.errors:
                self._child(m.policy_errors, error.policy).inc()
        if not DECISIONS.isEnabledFor(logging.INFO):
            return
        metadata = request.object.get("metadata")
        generate_name = metadata.get("generateName", "") if isinstance(metadata, dict) else ""
        logs.decision(
            {
                "uid": request.uid,
                "webhook": name,
                "kind": request.kind,
                "namespace": request.namespace,
                "name": request.name,
                "generateName": generate_name,
                "operation": request.operation,
                "subResource": request.subresource,
                "user": request.username,
                "dryRun": request.dry_run,
                "decision": outcome,
                "reason": decision.reason if decision is not None else "evaluation failed",
                "policies": decision.policies if decision is not None else [],
                "findings": len(decision.verdicts) if decision is not None else 0,
                "errors": [f"{e.policy}: {e.error}" for e in decision.errors]
                if decision is not None and decision.errors
                else [],
                "durationMs": round(seconds * 1000, 3),
            }
        )


class InitgateApp(FastAPI):
    """The FastAPI app, with one shortcut: a POST to an admission path goes straight to its
    endpoint, past the middleware stack (error pages, telemetry, body limits, exit stacks: eight
    layers that measured a tenth of the server's time under load). The endpoint recovers its own
    failures, so the error middleware has nothing to add. Anything else, including another method
    on an admission path, goes through FastAPI as usual."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.admission: dict[str, Endpoint] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.admission.get(scope["path"])
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(settings: ServerSettings, *, state: AppState | None = None) -> InitgateApp:
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

    app = InitgateApp(
        title="initgate",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.initgate = state
    observer = Instrumentation(state.metrics)

    # Admission endpoints are plain ASGI apps on plain routes (see `protocol.Endpoint`).
    for webhook in WEBHOOKS:
        for cap in CAPS:
            handler = Handler(webhook=webhook, cap=cap, plan=lambda: state.store.plan)
            admit = Endpoint(
                handler,
                observer,
                limit=settings.max_body_bytes,
                closing=lambda: state.readiness.draining,
            )
            # /validate and /validate/enforce are the same endpoint: the chart routes by mode.
            paths = [f"/{webhook}/{cap.value}"] + ([f"/{webhook}"] if cap is Mode.ENFORCE else [])
            app.router.routes.extend(Route(path, admit, methods=["POST"]) for path in paths)
            app.admission.update(dict.fromkeys(paths, admit))

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
