"""What wraps every admission handler once (the `endpoint.Observer`): its metrics and its
decision log line. It runs on every admission request."""

from __future__ import annotations

import logging

from prometheus_client import Counter

from webhook.core.engine import Decision, PolicyError
from webhook.core.handler import Handler
from webhook.core.objects import Request
from webhook.core.plan import Plan
from webhook.server import logs
from webhook.server.endpoint import BadRequest
from webhook.server.logs import DECISIONS, LOG, event
from webhook.server.metrics import Metrics, bounded_kind, bounded_operation


class Instrumentation:
    """Metrics and the decision log around every handler (the `endpoint.Observer`).

    Labelled children are looked up once and kept: prometheus_client's `labels()` validates and
    locks on every call, and this runs on every admission request.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._bad_requests: dict[str, Counter] = {}
        self._policy_errors: dict[str, Counter] = {}

    @staticmethod
    def _child(children: dict[str, Counter], metric: Counter, label: str) -> Counter:
        child = children.get(label)
        if child is None:
            child = children[label] = metric.labels(label)
        return child

    def bad_request(self, handler: Handler, error: BadRequest) -> None:
        self.refused(handler.name, error)

    def refused(self, webhook: str, error: BadRequest) -> None:
        """A request to `webhook` refused before any evaluation: counted and logged."""
        self._child(self._bad_requests, self.metrics.bad_requests, error.reason).inc()
        event(
            LOG,
            "bad request",
            logging.WARNING,
            webhook=webhook,
            status=error.status,
            problem=error.message,
        )

    def failed(self, handler: Handler, request: Request, error: Exception) -> None:
        self._child(self._policy_errors, self.metrics.policy_errors, "engine").inc()
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
        *,
        plan: Plan | None,
    ) -> None:
        """Count the answer and log its decision line; `plan` is the one the decision was made
        with (None when evaluation failed)."""
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
                self._child(self._policy_errors, m.policy_errors, error.policy).inc()
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
                "exemptions": _exemptions(decision.exemptions, plan)
                if decision is not None and decision.exemptions and plan is not None
                else [],
                "errors": [_error(e) for e in decision.errors]
                if decision is not None and decision.errors
                else [],
                "durationMs": round(seconds * 1000, 3),
            }
        )


def _exemptions(labels: list[str], plan: Plan) -> list[str]:
    """The exemptions that applied, by their place in the configuration, each with the reason
    it was granted for when one is written: `exemptions.images[0]: INC-4711 until the mesh`."""
    shown = []
    for label in labels:
        listed = plan.exemptions.get(label)
        shown.append(f"{label}: {listed.reason}" if listed is not None and listed.reason else label)
    return shown


def _error(error: PolicyError) -> str:
    """`policy: error`, or for a rule that failed on one container (or the pod), `rule:
    container: error`."""
    if error.location:
        return f"{error.policy}: {error.location}: {error.error}"
    return f"{error.policy}: {error.error}"
