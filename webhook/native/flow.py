"""The data that init containers hand on, as CEL variables: readonly-mounts' analysis
(`policies.readonly_mounts.populated`) and the user rules' `fills` and `readsFrom`
(`webhook.core.rules`), for every generated policy that needs them.

An init container (not a native sidecar) *writes* a volume it mounts writable when the volume is
born empty with the pod (`emptyDir`, generic `ephemeral`), unless it only prepares it (its script
only creates directories and changes owners: `ignorePreparingInits`, approximated by
`shellcode.prepares_only`). It *fills* the volumes it writes that a later container mounts, in
the order it mounts them; a container other than an init container *reads from* the earlier
writers of a volume it mounts, in the order they run.

The variables, in order (each reads those before it, and `variables.spec`):
`names` (every container's name, in pod order: an index is a position), `everyone` (each
container's name, role, position and mounted volume names), `bornEmpty`, `writers` (`{c, name,
pos, writes}`), `filled` (`{name, fills}` of each writer). Names are unique in a pod (the API
server refuses duplicates), so a name finds a container.
"""

from __future__ import annotations

from webhook.native.binding import let
from webhook.native.builders import Expression
from webhook.native.shellcode import prepares_only

_LISTS = (("initContainers", None), ("containers", "app"), ("ephemeralContainers", "ephemeral"))
_SIDECAR_OR_INIT = "c.?restartPolicy.orValue('') == 'Always' ? 'sidecar' : 'init'"


def _each(body: str) -> str:
    """CEL: `body` (over `c`, with `ROLE` for the role's CEL) for every container of the pod, in
    pod order."""
    parts = []
    for listed, role in _LISTS:
        role_value = f"({_SIDECAR_OR_INIT})" if role is None else f"'{role}'"
        body_ = body.replace("ROLE", role_value)
        parts.append(f"variables.spec.?{listed}.orValue([]).map(c, {body_})")
    return " + ".join(parts)


NAMES: Expression = {"name": "names", "expression": _each("c.name")}
EVERYONE: Expression = {
    "name": "everyone",
    "expression": _each(
        "{'name': dyn(c.name), 'role': dyn(ROLE), 'pos': dyn(variables.names.indexOf(c.name)),"
        " 'mounts': dyn(c.?volumeMounts.orValue([]).map(m, m.name))}"
    ),
}
BORN_EMPTY: Expression = {
    "name": "bornEmpty",
    "expression": (
        "variables.spec.?volumes.orValue([])"
        ".filter(v, has(v.emptyDir) || has(v.ephemeral)).map(v, v.name)"
    ),
}
_WRITTEN = let(
    "ms",
    "c.?volumeMounts.orValue([])"
    ".filter(m, m.?readOnly.orValue(false) != true && m.name in variables.bornEmpty)",
    # Each volume once, where it is first mounted writable (a mount's path is unique in its
    # container, so a mount finds its own index).
    "ms.filter(m, ms.map(x, x.name).indexOf(m.name) == ms.indexOf(m)).map(m, m.name)",
)
WRITERS: Expression = {
    "name": "writers",
    # The script is read only of init containers that write something (it costs most), and of
    # `c` itself: the cost estimate knows where `c` comes from, not what a map built of it holds.
    "expression": (
        "variables.spec.?initContainers.orValue([])"
        f".filter(c, c.?restartPolicy.orValue('') != 'Always' && {_WRITTEN}.size() > 0"
        f" && !(variables.ignorePreparingInits && {prepares_only('c')}))"
        ".map(c, {'c': c, 'name': dyn(c.name), 'pos': dyn(variables.names.indexOf(c.name)),"
        f" 'writes': dyn({_WRITTEN})}})"
    ),
}
FILLED: Expression = {
    "name": "filled",
    "expression": (
        "variables.writers.map(w, {'name': w.name, 'fills': dyn(w.writes.filter(n,"
        " variables.everyone.exists(x, x.pos > w.pos && n in x.mounts)))})"
    ),
}
VARIABLES: list[Expression] = [NAMES, EVERYONE, BORN_EMPTY, WRITERS, FILLED]
"""After `pods.shared()` and a setting `ignorePreparingInits` (readonly-mounts' own)."""


def fills(entry: str) -> str:
    """CEL: the volumes the container `entry` (a `variables.containers` entry) fills."""
    mine = f"variables.filled.filter(f, f.name == {entry}.name)"
    return f"({mine}.size() > 0 ? {mine}[0].fills : [])"


def reads_from(entry: str) -> str:
    """CEL: the init containers whose output the container `entry` reads (none for an init
    container)."""
    mounts = f"{entry}.c.?volumeMounts.orValue([]).map(m, m.name)"
    return (
        f"({entry}.role == 'init' ? [] : variables.writers.filter(w,"
        f" w.pos < variables.names.indexOf({entry}.name) && sets.intersects(w.writes, {mounts}))"
        ".map(w, w.name))"
    )
