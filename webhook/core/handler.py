"""Admission handlers: an admission request in, a response out. No HTTP here (see `protocol`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from policies.base import Mode
from webhook.core import review
from webhook.core.engine import Decision, Webhook, decide
from webhook.core.objects import Request
from webhook.core.plan import Plan


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
    name: str = field(init=False)
    """`validate`, `validate/warn`...: the label of the endpoint's metrics and log lines."""

    def __post_init__(self) -> None:
        name = self.webhook if self.cap is Mode.ENFORCE else f"{self.webhook}/{self.cap.value}"
        object.__setattr__(self, "name", name)  # frozen: set once, read on every request

    def handle(self, request: review.AdmissionRequest) -> tuple[review.Response, Decision]:
        """Answer a validated wire request (the offline review)."""
        return self.answer(review.engine_request(request))

    def answer(self, request: Request) -> tuple[review.Response, Decision]:
        """Answer the engine's view of a request (the webhook: see `protocol.plain_request`)."""
        decision = decide(request, self.plan(), webhook=self.webhook, cap=self.cap)
        return respond(decision), decision
