"""The one evaluation path: the webhook, the offline CLI and the cluster audit all call `decide`.

Policies only report findings. Whether a finding denies, warns, is recorded for audit or patches the
object is decided here, in one place, from the policy's mode capped by the endpoint's.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from policies.base import Context, Finding, Mode, PatchOp, PodView
from webhook.core import messages
from webhook.core.exemptions import Scope
from webhook.core.objects import Request, Subject, subject_of
from webhook.core.plan import Plan, Rule
from webhook.core.rules import RuleError, RuleFailedError

RuleErrors = list[tuple[RuleError, Finding]]

Webhook = Literal["validate", "mutate"]
WEBHOOKS: tuple[Webhook, ...] = ("validate", "mutate")


@dataclass(slots=True)
class Verdict:
    """A finding, the policy that made it and the mode it was judged in."""

    policy: str
    mode: Mode
    finding: Finding


@dataclass(slots=True)
class PolicyError:
    """A policy that raised instead of answering (a bug, or an object no API server would send),
    or a rule that failed on a value (a missing field, its cost limit)."""

    policy: str
    error: str
    location: str = ""
    """The container (or `pod`) a rule failed on; empty for a policy's bug."""


Outcome = Literal["allowed", "denied", "patched", "exempt", "skipped"]


@dataclass(slots=True, kw_only=True)
class Decision:
    """What the engine concluded; the protocol layer turns it into an AdmissionReview response."""

    allowed: bool = True
    outcome: Outcome = "allowed"
    reason: str = ""
    """Why a request was skipped or exempt: `unhandled`, `unchanged`, `namespace`..."""
    message: str = ""
    patch: list[PatchOp] = field(default_factory=list)
    would_patch: list[PatchOp] = field(default_factory=list)
    """Operations that warn or audit mode kept back: what enforce mode would have applied."""
    warnings: list[str] = field(default_factory=list)
    audit_annotations: dict[str, str] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)
    errors: list[PolicyError] = field(default_factory=list)
    exempt_by: str = ""
    """Where the exemption that spared the whole request is written; empty when none did."""
    exempted: dict[str, list[str]] = field(default_factory=dict)
    """By policy (or rule): the exemptions that spared the request from it, or lifted some of
    its findings (the audit and `initgate test` tell a policy exempted from one with nothing to
    say). Empty when the whole request is exempt: `exempt_by` says by what."""

    @property
    def exemptions(self) -> list[str]:
        """Where the exemptions that applied are written (`exemptions.images[0]`), each once."""
        if self.exempt_by:
            return [self.exempt_by]
        return list(dict.fromkeys(label for found in self.exempted.values() for label in found))

    @property
    def policies(self) -> list[str]:
        """Policies with something to say, in evaluation order, each once."""
        verdicts = self.verdicts  # asked for every decision line: a list, not a generator
        return list(dict.fromkeys([v.policy for v in verdicts])) if verdicts else []


def decide(
    request: Request,
    plan: Plan,
    *,
    webhook: Webhook,
    cap: Mode = Mode.ENFORCE,
    now: float | None = None,
) -> Decision:
    """Evaluate every enabled policy of `webhook` on the request and decide from their modes.
    `now` (seconds since the epoch, default the clock) is when exemptions are looked at."""
    subject = subject_of(request)
    if isinstance(subject, str):
        return Decision(outcome="skipped", reason=subject)
    if webhook == "mutate" and not subject.mutable:
        return Decision(outcome="skipped", reason="not-mutated")
    when = time.time() if now is None else now
    exempt = plan.who.exempts(request, when)
    if exempt is not None:
        return Decision(outcome="exempt", reason=exempt[0], exempt_by=exempt[1])
    context = Context(
        operation=request.operation,
        namespace=request.effective_namespace,
        username=request.username,
        groups=request.groups,
        dry_run=request.dry_run,
        kind=(request.group, request.version, request.kind),
    )
    decision = Decision()
    verdicts = decision.verdicts
    scope = Scope(context.namespace, subject.pod.spec.get("hostNetwork") is True, when)
    for rule, mode in plan.active(webhook, cap):
        if not rule.who.empty:
            exempt = rule.who.exempts(request, when)
            if exempt is not None:
                _note(decision, rule.policy.id, (exempt[1],))
                continue
        try:
            findings = _findings(rule, subject, context, scope, decision)
        except Exception as error:  # noqa: BLE001 - one policy's bug must not stop admission
            decision.errors.append(PolicyError(rule.policy.id, f"{type(error).__name__}: {error}"))
            continue
        for finding in findings:
            verdicts.append(Verdict(rule.policy.id, mode, finding))
    _conclude(decision, request, subject, plan, webhook)
    return decision


def _findings(
    rule: Rule, subject: Subject, context: Context, scope: Scope, decision: Decision
) -> list[Finding]:
    """The rule's findings that no image exemption covers (each exemption that covers one
    noted), and on an update those the change brought; the same of a user rule's errors."""
    findings, errors = _evaluated(rule, subject.pod, context)
    if findings and rule.images:
        kept = []
        for finding in findings:
            labels = rule.exempts(finding, scope)
            if labels is None:
                kept.append(finding)
            else:
                _note(decision, rule.policy.id, labels)
        findings = kept
    if subject.old is not None and (findings or errors):
        # Drop what the object already had before this UPDATE: a pod admitted before initgate
        # (or while exempt) must stay labelable and deletable.
        found, failed = _evaluated(rule, subject.old, context)
        before = {_identity(f) for f in [*found, *(stand_in for _, stand_in in failed)]}
        findings = [f for f in findings if _identity(f) not in before]
        errors = [e for e in errors if _identity(e[1]) not in before]
    if errors:
        _failed(errors, rule, scope, decision)
    return findings


def _evaluated(rule: Rule, pod: PodView, context: Context) -> tuple[list[Finding], RuleErrors]:
    """The policy's findings on `pod`, and (a user rule's) the containers it could not judge,
    each with the finding it stands for."""
    try:
        return rule.policy.evaluate(pod, context, rule.settings), []
    except RuleFailedError as failed:
        return failed.findings, failed.errors


def _identity(finding: Finding) -> tuple[str, str]:
    return finding.key, finding.location


def _failed(errors: RuleErrors, rule: Rule, scope: Scope, decision: Decision) -> None:
    """A user rule that could not judge some containers: an error on a container its image
    exemptions cover is no error (the container is not judged); the first other one is the
    rule's policy error. Its findings on the other containers stand."""
    left = [error for error, stand_in in errors if rule.exempts(stand_in, scope) is None]
    if left:
        first = left[0]
        more = f" (and {len(left) - 1} more)" if len(left) > 1 else ""
        decision.errors.append(PolicyError(rule.policy.id, first.detail + more, first.location))


def _note(decision: Decision, policy: str, labels: Iterable[str]) -> None:
    found = decision.exempted.setdefault(policy, [])
    found.extend(label for label in labels if label not in found)


def _conclude(
    decision: Decision, request: Request, subject: Subject, plan: Plan, webhook: Webhook
) -> None:
    config = plan.config
    mutate = webhook == "mutate"
    enforced: list[Verdict] = []
    warned: list[Verdict] = []
    audited: list[Verdict] = []
    by_mode = {Mode.ENFORCE: enforced, Mode.WARN: warned, Mode.AUDIT: audited}
    for verdict in decision.verdicts:
        by_mode[verdict.mode].append(verdict)
    if warned:
        lines = (
            line
            for verdict in warned
            for line in messages.warning(verdict.policy, verdict.finding, mutate=mutate)
        )
        decision.warnings.extend(messages.capped_warnings(list(dict.fromkeys(lines))))
    if audited:
        decision.audit_annotations.update(
            messages.audit_annotations([(v.policy, v.finding) for v in audited], mutate=mutate)
        )
    if mutate:
        decision.patch = _merge(decision, (op for v in enforced for op in v.finding.patch))
        kept_back = (
            op for v in decision.verdicts if v.mode is not Mode.ENFORCE for op in v.finding.patch
        )
        decision.would_patch = _merge(decision, kept_back)
        if decision.would_patch and audited:
            decision.audit_annotations["would-patch"] = messages.patch_annotation(
                decision.would_patch
            )
    for error in decision.errors:
        decision.warnings.append(
            messages.error_warning(error.policy, config.on_policy_error, error.location)
        )
    denied = bool(enforced and not mutate) or bool(
        decision.errors and config.on_policy_error == "deny"
    )
    if denied:
        decision.allowed = False
        decision.outcome = "denied"
        decision.message = messages.denial(
            request,
            subject,
            [(v.policy, v.finding) for v in enforced] if not mutate else [],
            errors=[(e.policy, e.location) for e in decision.errors]
            if config.on_policy_error == "deny"
            else [],
            remedies=plan.remedies,
            footer=config.message_footer,
        )
    elif decision.patch:
        decision.outcome = "patched"


def _merge(decision: Decision, ops: Iterable[PatchOp]) -> list[PatchOp]:
    """Operations of all policies as one patch. Policies never touch the same path; if two ever do,
    the first one wins and the conflict is reported as an error of the engine (the same operation
    twice is merged silently)."""
    listed = list(ops)
    merge = _merge_few if len(listed) <= FEW_OPERATIONS else _merge_many
    return merge(decision, listed)


FEW_OPERATIONS = 16
"""Up to this many operations (a pod's usual handful), each is compared with those before it;
beyond, paths are looked up in sets, in time linear in the operations: a pod may have thousands
of containers. Both give the same patch and the same errors (test_engine.py holds them to it)."""


def _merge_few(decision: Decision, ops: list[PatchOp]) -> list[PatchOp]:
    merged: list[PatchOp] = []
    for op in ops:
        path = op["path"]
        clash = next(
            (
                m
                for m in merged
                if m["path"] == path or _nested(m["path"], path) or _nested(path, m["path"])
            ),
            None,
        )
        if clash is None:
            merged.append(op)
        elif clash["path"] != path or clash != op:
            decision.errors.append(PolicyError("engine", f"patch conflict at {path}"))
    return merged


def _nested(parent: str, child: str) -> bool:
    return child.startswith(parent) and child[len(parent) : len(parent) + 1] == "/"


def _merge_many(decision: Decision, ops: list[PatchOp]) -> list[PatchOp]:
    merged: list[PatchOp] = []
    taken: dict[str, PatchOp] = {}
    above: set[str] = set()
    """Every parent of a taken path: an operation there would replace what was added below."""
    for op in ops:
        path = op["path"]
        if path in taken:
            if taken[path] != op:
                decision.errors.append(PolicyError("engine", f"patch conflict at {path}"))
            continue
        parents = _parents(path)
        if path in above or any(parent in taken for parent in parents):
            decision.errors.append(PolicyError("engine", f"patch conflict at {path}"))
            continue
        merged.append(op)
        taken[path] = op
        above.update(parents)
    return merged


def _parents(path: str) -> list[str]:
    """The JSON pointers above `path`: `/a/b/c` is under `/a/b` and `/a`."""
    parents = []
    end = path.rfind("/")
    while end > 0:
        parents.append(path[:end])
        end = path.rfind("/", 0, end)
    return parents
