"""Admission handlers: an admission request in, a response out. No HTTP here (see `protocol`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from policies.base import Mode
from webhook import review
from webhook.engine import Decision, Webhook, decide
from webhook.objects import Request
from webhook.plan import Plan


def engine_request(request: review.AdmissionRequest) -> Request:
    """The engine's view of a wire request."""
    return Request(
        object=request.object or {},
        old_object=request.old_object,
        operation=request.operation,
        group=request.kind.group,
        version=request.kind.version,
        kind=request.kind.kind,
        subresource=request.sub_resource,
        namespace=request.namespace,
        name=request.name,
        username=request.user_info.username,
        groups=request.user_info.groups,
        dry_run=request.dry_run,
        uid=request.uid,
    )


def respond(decision: Decision) -> review.Response:
    """The wire response for an engine decision."""
    warnings, audit = decision.warnings, decision.audit_annotations
    if not decision.allowed:
        return review.denied(decision.message, warnings=warnings, audit=audit)
    if decision.patch:
        return review.patched(decision.patch, warnings=warnings, audit=audit)
    return review.allowed(warnings=warnings, audit=audit)


@dataclass(frozen=True, slots=True)
class Handler:
    """One webhook endpoint: which policies (`validate` or `mutate`) under which mode cap."""

    webhook: Webhook
    cap: Mode
    plan: Callable[[], Plan]
    """The active plan, read once per request (a reload swaps it between requests)."""

    @property
    def name(self) -> str:
        return self.webhook if self.cap is Mode.ENFORCE else f"{self.webhook}/{self.cap.value}"

    def handle(self, request: review.AdmissionRequest) -> tuple[review.Response, Decision]:
        decision = decide(engine_request(request), self.plan(), webhook=self.webhook, cap=self.cap)
        return respond(decision), decision
