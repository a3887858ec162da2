"""The vocabulary of init-privileged's generated expressions: CEL fragments that read a
container's or the pod's securityContext, name containers, and make findings in the webhook's
words (policies/init_privileged.py stays the reference). A control's findings are a list of
texts, `<label>: <message>`, already cleared of what an image exemption lifts
(`literals.exempt`, key by key): its validation asks for an empty list, its message joins them.

Shape, for the API server's estimator: an expression iterates the pod's data once (the judged
containers, or a list derived from them); what a container lists itself (capabilities, ports,
volume mounts) is read through `positions`, a literal list of indexes, so that no comprehension
over the pod's data runs inside another. A list longer than `positions` is a finding of its own
(`too_many`): the webhook reads every entry, the generated policy refuses what it cannot read.
"""

from __future__ import annotations

from webhook.native import pods
from webhook.native.builders import Expression
from webhook.native.literals import exempt, literal

LIMIT = 256
"""Entries of one container's list (capabilities, ports, volume mounts) or of the pod's unsafe
sysctls that the generated policy reads: far beyond Linux's 41 capabilities and any real pod."""
POSITIONS: Expression = {"name": "positions", "expression": literal(list(range(LIMIT)))}
CONFINED = "['RuntimeDefault', 'Localhost']"
POD = "'pod (' + variables.template + '): '"


def context(entry: str, *fields: str) -> str:
    """CEL: an optional field of a container entry's securityContext."""
    return f"{entry}.c.?securityContext" + "".join(f".?{f}" for f in fields)


def pod_context(*fields: str) -> str:
    """CEL: an optional field of the pod's securityContext."""
    return "variables.security" + "".join(f".?{f}" for f in fields)


def each(listed: str, condition: str) -> str:
    """CEL: the indexes `k` of `listed` (at most `LIMIT`) where `condition` holds."""
    return (
        f"({listed}.size() == 0 ? [] : variables.positions.filter(k, k < {listed}.size()"
        f" && {condition}))"
    )


def normalised(name: str) -> str:
    """CEL: a capability as the runtime reads it (`cap_net_admin` is NET_ADMIN), as
    `policies.init_privileged.normalise_capability` (upper-casing ASCII letters only)."""
    upper = f"{name}.upperAscii()"
    return f"({upper}.startsWith('CAP_') ? {upper}.substring(4) : {upper})"


def names(listed: str) -> str:
    """CEL: the containers of `listed` as the webhook names them (`init "a" and sidecar "b"`),
    every one of them (the webhook shortens a list of three or more to `and 1 more`)."""
    labels = f"{listed}.map(e, e.role + ' \"' + e.name + '\"')"
    return f"({listed}.size() <= 2 ? {labels}.join(' and ') : {labels}.join(', '))"


def text(entry: str, message: str) -> str:
    """CEL: one finding's text, `init "setup" (spec.initContainers[0]): <message>`."""
    return f"{pods.label(entry)} + ': ' + {message}"


def too_many(field: str, count: str) -> str:
    """CEL: the message of a list longer than the generated policy reads."""
    return (
        f"'{field} has ' + string({count}) + ' entries, more than the {LIMIT} that initgate\\'s"
        " admission policy reads; shorten it'"
    )


def lifted(entry: str, key: str, control: str) -> str:
    """CEL: whether an image exemption lifts the finding `key` (a CEL string) of the control
    `control` about the container entry at `entry` (`literals.exempt`)."""
    return exempt(entry, f"({key})", control)


def judged(condition: str, *, key: str, control: str, message: str) -> str:
    """CEL: a control's findings about the judged containers, at most one each: `condition`
    and `message` read the entry `e`, `key` is the finding key (a CEL string)."""
    return (
        f"variables.judged.filter(e, {condition} && !{lifted('e', key, control)})"
        f".map(e, {text('e', message)})"
    )


def inherited(offends: str, own: str, *, control: str, what: str, fix: str) -> str:
    """CEL: the finding about a pod securityContext field (a list of at most one text), keyed by
    its control. The containers that do not set the field themselves (`own`, reading `e`)
    inherit it; an exemption lifts the finding when it covers every one of them, or every
    judged container when none inherits it (Pod Security forbids the pod's value even then)."""
    heirs = f"variables.judged.filter(e, !({own}))"
    concerned = f"({heirs}.size() > 0 ? {heirs} : variables.judged)"
    who = (
        f"({heirs}.size() > 0 ? ' (inherited by ' + {names(heirs)} + ')'"
        " : ' (overridden by ' + variables.judgedNames + ')')"
    )
    covered = lifted("e", f"'{control}'", control)
    return (
        f"{offends} && !{concerned}.all(e, {covered}) ? [{POD} + {what} + '; {fix}' + {who}] : []"
    )


def selinux(optional: str, present: str) -> str:
    """CEL: what Pod Security forbids in the seLinuxOptions of a securityContext (`type spc_t,
    user sysadm_u`), or '': `optional` reads the securityContext with `.?`, `present` where it
    is known to be set."""
    options = f"{optional}.?seLinuxOptions"
    kind = f"!({options}.?type.orValue('') in variables.seLinuxTypes)"
    user = f"{options}.?user.orValue('') != ''"
    role = f"{options}.?role.orValue('') != ''"
    value = f"{present}.seLinuxOptions"
    return (
        f"({kind} ? 'type ' + string({value}.type) : '')"
        f" + ({kind} && {user} ? ', ' : '') + ({user} ? 'user ' + string({value}.user) : '')"
        f" + (({kind} || {user}) && {role} ? ', ' : '')"
        f" + ({role} ? 'role ' + string({value}.role) : '')"
    )
