"""`initgate test`: each object judged as `initgate review` judges it (the engine, through the
chain of the mutating then the validating webhook, as the API server calls them), each policy's
or rule's result compared with the one expected, and each unmet expectation said with the
findings, the exemption or the reason that broke it (docs/test.md).

The result of a policy or rule on an object, in this order:
- `skip`: not judged: the object is exempt (a namespace, user or group of `exemptions`), of a
  kind or operation initgate does not judge, an UPDATE that changes nothing judged, a workload
  for a mutating policy (the webhook patches the pods its controller creates), the policy is off
  (in the configuration), or an exemption of its own spared the object;
- `error`: it could not evaluate the object (a rule failing on a value), whatever else it found;
- `fail`: it found something in enforce mode: the validating webhook denies, or the mutating
  webhook applies its patch;
- `warn`: it found something in warn or audit mode;
- `skip` again when it found nothing because an image exemption lifted every finding;
- `pass`: judged, and nothing found.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.base import Finding, Mode
from webhook.audit.fieldpaths import dotted, lookup, same, shown
from webhook.audit.testcases import Case, Patched, Suite
from webhook.audit.testfile import Result
from webhook.core import review
from webhook.core.chain import Chained, chain
from webhook.core.engine import Decision, Verdict
from webhook.core.objects import subject_of
from webhook.core.patch import PatchError

_ACTIONS = {Mode.ENFORCE: "deny", Mode.WARN: "warn", Mode.AUDIT: "audit"}
_NOT_JUDGED = {
    "operation": "initgate judges CREATE and UPDATE only",
    "unchanged": "the update changes nothing initgate judges",
    "subresource": "initgate does not judge this subresource",
}


@dataclass(frozen=True, slots=True)
class Unmet:
    """An expectation the object did not meet: where it is written, what it expected and got,
    and what made it so (findings, an exemption, why the object was not judged)."""

    line: int | None
    what: str
    why: tuple[str, ...]


def check(suite: Suite) -> tuple[int, list[Unmet]]:
    """How many expectations the suite has, and those its objects do not meet."""
    count = 0
    unmet: list[Unmet] = []
    webhooks = {r.policy.id: r.policy.kind for r in (*suite.plan.validate, *suite.plan.mutate)}
    for case in suite.cases:
        count += len(case.results) + len(case.patched)
        subject = case.title + ("" if case.mode is Mode.ENFORCE else f" (mode {case.mode.value})")
        try:
            chained = chain(case.incoming, suite.plan, cap=case.mode)
        except PatchError as error:  # a policy's bug: nothing of this object can be checked
            why: tuple[str, ...] = (f"the mutating webhook's patch does not apply: {error}",)
            unmet.extend(Unmet(line, f"{subject}: {policy}: expected {result}, got none", why)
                         for policy, result, line in case.results)  # fmt: skip
            unmet.extend(Unmet(f.line, f"{subject}: patched {f.path}", why) for f in case.patched)
            continue
        judged = _Judged(case, chained, suite)
        for policy, expected, line in case.results:
            got, why = judged.result(policy, webhooks[policy])
            if got != expected:
                unmet.append(
                    Unmet(line, f"{subject}: {policy}: expected {expected}, got {got}", why)
                )
        for patched in case.patched:
            found = judged.patched(patched)
            if found is not None:
                unmet.append(
                    Unmet(patched.line, f"{subject}: patched {patched.path}: {found[0]}", found[1])
                )
    return count, unmet


@dataclass(slots=True)
class _Judged:
    case: Case
    chained: Chained
    suite: Suite

    def result(self, policy: str, webhook: str) -> tuple[Result, tuple[str, ...]]:
        """What `policy` (of `webhook`) made of the object, and the lines that say why."""
        decision = self.chained.validate_decision
        if webhook == "mutate":
            decision = self.chained.mutate_decision
        if decision.outcome in ("skipped", "exempt"):
            return "skip", (self._not_judged(decision),)
        errors = [e for e in decision.errors if e.policy == policy]
        if errors:
            return "error", tuple(
                f"could not evaluate: {e.location + ': ' if e.location else ''}{e.error}"
                for e in errors
            )
        verdicts = [v for v in decision.verdicts if v.policy == policy]
        if verdicts:
            enforced = any(v.mode is Mode.ENFORCE for v in verdicts)
            return ("fail" if enforced else "warn"), tuple(
                self._finding(v, webhook) for v in verdicts
            )
        active = {rule.policy.id for rule, _ in self.suite.plan.active(webhook, self.case.mode)}
        if policy not in active:
            return "skip", ("not judged: it is off in the configuration",)
        if policy in decision.exempted:
            return "skip", (f"not judged: exempt ({', '.join(decision.exempted[policy])})",)
        return "pass", ("nothing found",)

    def _not_judged(self, decision: Decision) -> str:
        kind = self.case.incoming.request.kind.kind
        if decision.outcome == "exempt":
            return f"not judged: the object is exempt ({', '.join(decision.exemptions)})"
        if decision.reason == "unhandled":
            return f"not judged: initgate judges Pods and workloads, not a {kind}"
        if decision.reason == "not-mutated":
            return (
                f"not judged: the mutating webhook patches the pods a {kind}'s controller "
                f"creates, not the {kind} itself (test the mutation on a Pod)"
            )
        return f"not judged: {_NOT_JUDGED.get(decision.reason, decision.reason)}"

    def _finding(self, verdict: Verdict, webhook: str) -> str:
        action = "patch" if webhook == "mutate" and verdict.mode is Mode.ENFORCE else None
        finding = verdict.finding
        where = f"{finding.location} ({self._field(finding)})"
        return f"{action or _ACTIONS[verdict.mode]} {verdict.policy}: {where}: {finding.message}"

    def _field(self, finding: Finding) -> str:
        """Where the finding stands, as kubectl spells fields: `spec.initContainers[1]`."""
        if finding.container is not None:
            return dotted(finding.container.path)
        subject = subject_of(review.engine_request(self.case.incoming.request))
        spec = "/spec" if isinstance(subject, str) else subject.pod.path
        if finding.volume is not None:
            return dotted(f"{spec}/volumes/{finding.volume.index}")
        return dotted(spec)

    def patched(self, expected: Patched) -> tuple[str, tuple[str, ...]] | None:
        """None when the mutation set the field to the value expected, else what it did."""
        mutated = self.chained.mutated or {}
        found, value = lookup(mutated, expected.segments)
        before = lookup(self.case.incoming.request.object or {}, expected.segments)
        applied = self.chained.mutate_decision.patch
        why = [f"{op['op']} {op['path']} {shown(op['value'])}" for op in applied]
        if not why:
            why = ["the mutating webhook applies no patch"]
            why += [
                f"kept back by warn or audit mode: {op['op']} {op['path']} {shown(op['value'])}"
                for op in self.chained.mutate_decision.would_patch
            ]
        wanted = shown(expected.value)
        if not found:
            return f"expected {wanted}, not set", tuple(why)
        if not same(value, expected.value):
            return f"expected {wanted}, got {shown(value)}", tuple(why)
        if before[0] and same(before[1], expected.value):
            return f"expected {wanted}: it is, but the object had it already", tuple(why)
        return None
