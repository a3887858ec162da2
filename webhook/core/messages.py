"""What people read: denial messages, warning lines and audit annotations.

They are read under pressure, in a failing deploy: each names the container, the field and what to
do. Warnings are single lines of at most 120 characters (kubectl prints one `Warning:` line each,
and the API server may truncate longer ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from policies.base import Finding, inherited_by
from webhook.core.objects import Request, Subject

WARNING_LIMIT = 120
LISTED = 20
"""Findings listed one by one in a denial, in warnings and in each audit annotation. A pod can
carry thousands (hundreds of containers, each with a dozen capabilities); nobody reads past the
first screen, the API server truncates long warning lists, and the rest is one line that says how
many more there are and where to see them all."""
SEE_ALL = "initgate audit -f on the manifest lists them all"
LINE_LIMIT = 300
"""Characters of one finding in a denial or an audit annotation. A message may quote what the
object holds (an image reference, a capability), which the API server does not bound."""


def clipped(text: str, limit: int = LINE_LIMIT) -> str:
    """`text`, cut to `limit` characters with an ellipsis. Not `one_line`: a denial's lines only
    need a bound, and flattening whitespace on every one cost 1.8 µs a denied request."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int = WARNING_LIMIT) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def warning(policy: str, finding: Finding, *, mutate: bool) -> list[str]:
    """The warning line of a finding in warn mode: `initgate POLICY: CONTAINER: MESSAGE`; its hint
    is appended, or given a line of its own when both would not fit in one."""
    message = f"would {finding.message}" if mutate else finding.message
    prefix = f"initgate {policy}: "
    if finding.container is None and finding.volume is None and finding.containers:
        line = _about_the_pod(prefix, finding, message)
    else:
        line = _fit(prefix, finding.location, message)
    if not finding.hint:
        return [line]
    if len(line) + 2 + len(finding.hint) <= WARNING_LIMIT:
        return [one_line(f"{line}; {finding.hint}")]
    return [line, _hint_line(prefix, finding)]


def _fit(prefix: str, location: str, message: str) -> str:
    """`PREFIX LOCATION: MESSAGE` within the limit. Names are what grow (up to 63 characters): the
    container or volume label is shortened first (`app "a-very-long-na…"`), so that what to do,
    the message, survives whole whenever it can."""
    line = f"{prefix}{location}: {message}"
    room = WARNING_LIMIT - len(prefix) - len(message) - 2
    if len(line) <= WARNING_LIMIT or room < 12 or not location.endswith('"'):
        return one_line(line)
    return one_line(f'{prefix}{location[: room - 2]}…": {message}')


def _about_the_pod(prefix: str, finding: Finding, message: str) -> str:
    """A finding about the pod ends with the containers that inherit the field, up to 63
    characters a name: where the line is too long, fewer are named and the rest counted
    (`and 2 more`, `inherited by 3 containers`), so that no name is cut in half."""
    line = " ".join(f"{prefix}pod: {message}".split())
    named = inherited_by(finding.containers)
    if len(line) <= WARNING_LIMIT or not line.endswith(named):
        return one_line(line)
    stem = line.removesuffix(named)
    shorter = (stem + inherited_by(finding.containers, shown=shown) for shown in (1, 0))
    return next((s for s in shorter if len(s) <= WARNING_LIMIT), one_line(stem))


def _hint_line(prefix: str, finding: Finding) -> str:
    """The hint on a line of its own. What the reader types (`finding.verbatim`, the hint's end:
    an annotation and its value) is never cut: the clauses before it go first, then the policy's
    name (a 63-character volume name leaves room for little else)."""
    hint, verbatim = " ".join(finding.hint.split()), finding.verbatim
    if not verbatim or not hint.endswith(verbatim):
        return one_line(f"{prefix}{hint}")
    words = hint.removesuffix(verbatim).split()
    clauses = [cut for cut in range(1, len(words)) if words[cut - 1][-1] in ",;:"]
    candidates = [f"{prefix}{hint}"]
    candidates += [f"{prefix}…{' '.join(words[cut:])} {verbatim}" for cut in clauses]
    candidates += [f"{prefix}{verbatim}", f"initgate: {verbatim}"]
    return next((c for c in candidates if len(c) <= WARNING_LIMIT), one_line(candidates[-1]))


def capped_warnings(lines: Sequence[str]) -> list[str]:
    """At most `LISTED` warning lines: the first ones, then one that counts the rest."""
    if len(lines) <= LISTED:
        return list(lines)
    more = len(lines) - (LISTED - 1)
    return [*lines[: LISTED - 1], one_line(f"initgate: {more} more warnings; {SEE_ALL}")]


def error_warning(policy: str, choice: str, where: str = "") -> str:
    """The warning line of a policy (or rule) that could not be evaluated, and where."""
    outcome = "allowed anyway" if choice == "allow" else "denied"
    if not where:
        return one_line(
            f"initgate {policy}: could not evaluate this object; {outcome} (onPolicyError)"
        )
    return _fit(f"initgate {policy}: ", where, f"could not evaluate; {outcome} (onPolicyError)")


def audit_annotations(found: Sequence[tuple[str, Finding]], *, mutate: bool) -> dict[str, str]:
    """One audit annotation per policy, its findings joined. The API server prefixes each key with
    the webhook's name in the audit log (`validate.initgate.io/init-privileged`)."""
    lines: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for policy, finding in found:
        counts[policy] = counts.get(policy, 0) + 1
        listed = lines.setdefault(policy, [])
        if len(listed) < LISTED:
            message = f"would {finding.message}" if mutate else finding.message
            listed.append(clipped(f"{finding.location}: {message}"))
    return {
        policy: "; ".join(listed)
        + (f"; and {counts[policy] - len(listed)} more" if counts[policy] > len(listed) else "")
        for policy, listed in lines.items()
    }


def compact_json(value: Any) -> str:
    return orjson.dumps(value).decode()


PATCH_ANNOTATION_LIMIT = 8 * 1024
"""Characters of the `would-patch` audit annotation: a few dozen operations. A pod of thousands of
containers would otherwise put a megabyte into every audit event of its request."""


def patch_annotation(ops: Sequence[Any]) -> str:
    """The patch audit mode kept back, as JSON; when too long, how many operations it has."""
    text = compact_json(ops)
    if len(text) <= PATCH_ANNOTATION_LIMIT:
        return text
    return f"{len(ops)} operations ({len(text)} characters); initgate mutate -f --patch shows them"


def _field(prefix: str, finding: Finding) -> str:
    """Where the finding stands in the object: `spec.initContainers[1]`, after `prefix`, the
    pod spec's own place (`spec`, `spec.template.spec`)."""
    if finding.container is not None:
        return f"{prefix}.{finding.container.field}"
    if finding.volume is not None:
        return f"{prefix}.volumes[{finding.volume.index}]"
    return prefix


def denial(
    request: Request,
    subject: Subject,
    found: Sequence[tuple[str, Finding]],
    *,
    errors: Sequence[tuple[str, str]],
    remedies: Mapping[str, str],
    footer: str,
) -> str:
    """The status message of a denied request: every finding, then how to comply.

    `Deployment "web" is denied by initgate (2 problems in its pod template spec.template.spec):`
    `- init-unbounded: init "migrate" (spec.template.spec.initContainers[0]): resources.limits...`
    """
    problems = len(found) + len(errors)
    noun = "problem" if problems == 1 else "problems"
    where = f" in its pod template {subject.template}" if subject.template else ""
    lines = [
        f'{request.kind} "{request.display_name}" is denied by initgate ({problems} {noun}{where}):'
    ]
    prefix = subject.pod.path[1:].replace("/", ".")
    listed = found[:LISTED]
    for policy, finding in listed:
        line = f"- {policy}: {finding.location} ({_field(prefix, finding)}): {finding.message}"
        lines.append(clipped(f"{line}; {finding.hint}" if finding.hint else line))
    # Guidance for the policies listed only: a line on how to fix what the reader cannot see
    # would send them looking for it. The rest is counted, with the policies not listed.
    policies = dict.fromkeys([p for p, _ in listed])
    if len(found) > LISTED:
        others = [p for p in dict.fromkeys([p for p, _ in found[LISTED:]]) if p not in policies]
        also = f", also of {' and '.join(others)}" if others else ""
        lines.append(f"- ... and {len(found) - LISTED} more{also} ({SEE_ALL})")
    # Lists, not generators, inside `extend`: this runs on every denied request.
    lines.extend(
        [
            clipped(f"- {p}: {where}: could not evaluate (onPolicyError: deny)")
            if where
            else f"- {p}: could not evaluate this object (onPolicyError: deny)"
            for p, where in errors
        ]
    )
    lines.extend([f"{p}: {remedies[p]}" for p in policies if p in remedies])
    if footer:
        lines.append(footer)
    return "\n".join(lines)
