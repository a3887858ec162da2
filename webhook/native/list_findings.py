"""init-privileged's findings that read a list: the pod's host namespaces and unsafe sysctls
(each a finding about every judged container), and what a container lists itself: capabilities,
ports, probe and lifecycle hosts, volume mounts. The derived lists they iterate (`added`,
`ported`, `probed`, `mounting`) are variables of `pod_facts`, one row per judged container that
lists something: `row.e` is its container entry."""

from __future__ import annotations

from webhook.native.controls import (
    LIMIT,
    POD,
    context,
    each,
    judged,
    lifted,
    normalised,
    text,
    too_many,
)

_INHERITED = " + ' (inherited by ' + variables.judgedNames + ')'"


def _more(listed: str) -> str:
    """CEL: ` (and 2 more)` after the first of `listed`, as the webhook counts the rest."""
    return f"({listed}.size() > 1 ? ' (and ' + string({listed}.size() - 1) + ' more)' : '')"


def _each_row(
    over: str, listed: str, condition: str, *, key: str, control: str, message: str
) -> str:
    """CEL: for each row of `over`, a finding for each index `k` of `listed` where `condition`
    holds and no exemption lifts `key` (a CEL string), as one text per row."""
    found = each(listed, f"{condition} && !{lifted('row.e', key, control)}")
    return (
        f"{over}.map(row, {found}.map(k, {text('row.e', message)}).join(' | ')).filter(t, t != '')"
    )


def _unread(over: str, count: str, *, condition: str, control: str, field: str) -> str:
    """CEL: the rows of `over` whose list (`count` entries) is longer than the policy reads."""
    covered = lifted("row.e", f"'{control}'", control)
    return (
        f"{over}.filter(row, {count} > {LIMIT} && {condition} && !{covered})"
        f".map(row, {text('row.e', too_many(field, count))})"
    )


_MOUNT = "row.names[k]"
_VOLUME = f"variables.forbidden[variables.forbiddenNames.indexOf({_MOUNT})]"


def _volumes(control: str, kind: str, message: str, *, present: str) -> str:
    """CEL: each volume of a forbidden `kind` (a condition on `_VOLUME`) a container mounts,
    once however often it mounts it; `present`: whether the pod has such a volume at all."""
    mounted = _each_row(
        "variables.mounting",
        "row.names",
        f"row.names.indexOf({_MOUNT}) == k && variables.forbiddenNames.indexOf({_MOUNT}) >= 0"
        f" && {kind}",
        key=f"'{control}:' + {_MOUNT}",
        control=control,
        message=message,
    )
    unread = _unread(
        "variables.mounting", "row.count", condition=present, control=control, field="volumeMounts"
    )
    return f"{mounted} + {unread}"


# A capability is judged by its normalised name (`row.keys`, '' where allowed as written), once
# per key, with the webhook's message: the name as written when only its spelling is wrong.
_ADDED = _each_row(
    "variables.added",
    "row.add",
    "row.keys[k] != '' && row.keys.indexOf(row.keys[k]) == k",
    key="'capability:' + row.keys[k]",
    control="capabilities",
    message=(
        "'capabilities.add has ' + (row.keys[k] in variables.allowed"
        " ? row.add[k] + '; write it ' + row.keys[k] : row.keys[k] + '; drop it')"
    ),
)
_UNREAD_ADDED = _unread(
    "variables.added",
    "row.add.size()",
    condition="true",
    control="capabilities",
    field=("capabilities.add"),
)
_DROP = f"{context('e', 'capabilities', 'drop')}.orValue([])"
_SPELLED = each(_DROP, f"{normalised(f'{_DROP}[k]')} == 'ALL'")
DROPPED = (
    "variables.restricted && variables.linux ? "
    + judged(
        f"!('ALL' in {_DROP})",
        key="'capabilities'",
        control="capabilities",
        message=(
            f"({_SPELLED}.size() > 0 ? 'capabilities.drop has ' + string({_DROP}[{_SPELLED}[0]])"
            " + '; write it ALL' : 'capabilities.drop does not have ALL; add drop: [ALL]')"
        ),
    )
    + " : []"
)
"""restricted's `drop: [ALL]`, a variable of its own (with the added capabilities, one
expression would outgrow the 5,120 characters initgate compiles)."""

_PORT = "row.bound[0]"
_HOST_PORT = (
    f"(row.bound.size() > 0 ? 'ports[' + string({_PORT}) + '].hostPort is '"
    f" + string(row.e.c.ports[{_PORT}].hostPort) + {_more('row.bound')} + '; remove it'"
    f" : {too_many('ports', 'row.count')})"
)
_NAMESPACE = lifted("e", "'hostNamespaces:' + f", "hostNamespaces")
_SYSCTLS = "variables.unsafeSysctls"
_SYSCTL = lifted("e", f"'sysctls:' + {_SYSCTLS}[k]", "sysctls")
_SYSCTLS_LIFTED = lifted("e", "'sysctls'", "sysctls")
_PORTS_LIFTED = lifted("row.e", "'hostPorts'", "hostPorts")
_PROBES_LIFTED = lifted("row.e", "'hostProbesAndHostLifecycle'", "hostProbesAndHostLifecycle")

LISTS: dict[str, str] = {
    "hostNamespaces": (
        "['hostNetwork', 'hostPID', 'hostIPC'].filter(f, variables.spec[?f].orValue(false)"
        f" == true && !variables.judged.all(e, {_NAMESPACE}))"
        f".map(f, {POD} + f + ' is true; remove it'{_INHERITED})"
    ),
    "capabilities": f"{_ADDED} + {_UNREAD_ADDED} + variables.capabilitiesDropped",
    "hostPathVolumes": _volumes(
        "hostPathVolumes",
        f"{_VOLUME}.kind == 'hostPath'",
        f"'mounts hostPath volume \"' + {_MOUNT} + '\"; use another volume type'",
        present="'hostPath' in variables.forbiddenKinds",
    ),
    "hostPorts": (
        f"variables.ported.filter(row, (row.bound.size() > 0 || row.count > {LIMIT})"
        f" && !{_PORTS_LIFTED}).map(row, {text('row.e', _HOST_PORT)})"
    ),
    "sysctls": (
        each(_SYSCTLS, f"!variables.judged.all(e, {_SYSCTL})")
        + f".map(k, {POD} + 'securityContext.sysctls has ' + {_SYSCTLS}[k]"
        f" + ', not a safe one; remove it'{_INHERITED})"
        f" + ({_SYSCTLS}.size() > {LIMIT} && !variables.judged.all(e, {_SYSCTLS_LIFTED})"
        f" ? [{POD} + {too_many('securityContext.sysctls', f'{_SYSCTLS}.size()')}{_INHERITED}]"
        " : [])"
    ),
    "hostProbesAndHostLifecycle": (
        f"variables.probed.filter(row, !{_PROBES_LIFTED}).map(row, "
        + text("row.e", f"row.hosts[0] + {_more('row.hosts')} + '; remove it'")
        + ")"
    ),
    "restrictedVolumes": _volumes(
        "restrictedVolumes",
        f"{_VOLUME}.kind != 'hostPath'",
        f"'mounts ' + {_VOLUME}.kind + ' volume \"' + {_MOUNT}"
        " + '\", which restricted forbids; use a PVC'",
        present="!sets.contains(['hostPath'], variables.forbiddenKinds)",
    ),
}
"""The controls whose findings read a list, by name: their texts."""
