"""init-lint as CEL, and as warnings only: init containers that never end, wait without a bound,
write an emptyDir nobody reads, or run an unpinned image.

Its script heuristics read the shell script through an approximation of initgate's lexer
(`shellcode.code`), so the generated policy never denies: a namespace whose cap is `enforce`
gets its findings as warnings (docs/native-policies.md lists what the approximation reads
differently). The patterns are init-lint's own, in RE2 (Python's lookbehind written out).
"""

from __future__ import annotations

from policies.base import Mode
from policies.init_lint import InitLintSettings
from webhook.native import flow, pods
from webhook.native.binding import let
from webhook.native.builders import Expression
from webhook.native.generated import Validating
from webhook.native.literals import Setting, exempt, exempting, lifts, literal, path
from webhook.native.shellcode import code

ID = "init-lint"
_AT = ("policies", ID)

_FOLLOWS = r"\btail\b[^;&|\n]*?(?:\s-[a-zA-Z0-9]*[fF]\b|\s--follow\b)"
_SLEEPS_FOREVER = r"\bsleep\s+(?:infinity|inf)\b"
_FOREVER = r"\b(?:while\s+(?:true|:|\[\s*1\s*\]|\[\s*true\s*\])|until\s+false)\s*(?:;\s*)?do\b"
_EXITS = r"\b(?:exit|break|return)\b"
_WAIT_LOOP = r"\buntil\s|\bwhile\s+(?:!|\[\[?\s+!|test\s+!)"
_BOUNDED = (
    r"(?:^|[^-\w])timeout\s|\$\(\(|\(\(|\$\[|\bexpr\s|\blet\s|\bseq\b|\bSECONDS\b"
    r"|(?:^|[;&|\n(]|\bdo|\bthen)[ \t]*for\s"
)
_SCRATCH = r"^(?:/tmp|/var/tmp|/run|/var/run|/var/cache|/home|/root)(?:/[\s\S]*)?$"
NEVER = "never ends ({}); make it a native sidecar: restartPolicy: Always"
_NEVER_BEFORE, _NEVER_AFTER = NEVER.split("{}")
UNBOUNDED = "waits in a loop with no bound; add a retry limit or wrap it in timeout"


def _matches(pattern: str) -> str:
    return f"code.matches({literal(pattern)})"


_WHAT = (
    f"{_matches(_FOLLOWS)} ? 'tail -f' : {_matches(_SLEEPS_FOREVER)} ? 'sleep infinity'"
    f" : {_matches(_FOREVER)} && !{_matches(_EXITS)} ? 'while true' : ''"
)
_NEVER = "'never-ends' in variables.checks && what != ''"
_UNBOUNDED = (
    "'unbounded-wait' in variables.checks && !has(variables.spec.activeDeadlineSeconds)"
    f" && ({_matches(_WAIT_LOOP)} || {_matches(_FOREVER)}) && !{_matches(_BOUNDED)}"
)
_PROBLEM = let(
    "code",
    code("e.c"),
    let(
        "what",
        _WHAT,
        f"{_NEVER} ? {{'key': 'never-ends', 'message': "
        f"{literal(_NEVER_BEFORE)} + what + {literal(_NEVER_AFTER)}}}"
        f" : {_UNBOUNDED} ? {{'key': 'unbounded-wait', 'message': {literal(UNBOUNDED)}}}"
        " : {'key': '', 'message': ''}",
    ),
)
"""CEL over `e`: the script's problem, `{key, message}` (key '' for none): at most one, as
init-lint reports (a script that never ends is not also an unbounded wait)."""

_IMAGE_PROBLEM = let(
    "i",
    "e.c.?image.orValue('')",
    "i == '' || i.contains('@') ? '' : "
    + let(
        "l",
        "i.find('[^/]*$')",
        "!l.contains(':') ? 'image \"' + i + '\" has no tag; pin a version'"
        " : l.find('[^:]*$') == 'latest' ? 'image \"' + i + '\" uses :latest; pin a version' : ''",
    ),
)


def _read_after(name: str) -> str:
    """CEL: whether a container after `e` (not an ephemeral one), or a native sidecar anywhere
    (it runs beside every later step), mounts the volume `name`."""
    return (
        f"variables.everyone.exists(x, x.role != 'ephemeral' && {name} in x.mounts"
        " && (x.role == 'sidecar' || x.pos > variables.names.indexOf(e.name)))"
    )


_UNUSED = let(
    "ms",
    "e.c.?volumeMounts.orValue([]).filter(m, m.?readOnly.orValue(false) != true"
    f" && m.name in variables.emptyDirs && !m.mountPath.matches({literal(_SCRATCH)})"
    f" && !{_read_after('m.name')})",
    "ms.filter(m, ms.map(x, x.name).indexOf(m.name) == ms.indexOf(m)).map(m, m.name)",
)
"""CEL over `e`: the emptyDirs the init container writes (outside its scratch directories) that
no later container mounts, nor any native sidecar: whatever it writes there is lost."""

_UNUSED_KEY = "('unused-volume:' + n)"
VARIABLES: list[Expression] = [
    flow.NAMES,
    flow.EVERYONE,
    {"name": "judged", "expression": "variables.containers.filter(e, e.role in variables.roles)"},
    {
        "name": "emptyDirs",
        "expression": "variables.spec.?volumes.orValue([]).filter(v, has(v.emptyDir))"
        ".map(v, v.name)",
    },
    {
        "name": "scripts",
        "expression": "variables.judged.map(e, {'e': e, 'problem': dyn(" + _PROBLEM + ")})",
    },
    {
        "name": "unused",
        "expression": (
            "'unused-volume' in variables.checks"
            " && request.subResource != 'ephemeralcontainers'"
            " ? variables.judged.map(e, {'e': e, 'names': dyn("
            + let("xs", exempting("e"), _UNUSED + ".filter(n, !" + lifts("xs", _UNUSED_KEY) + ")")
            + ")}).filter(u, u.names.size() > 0) : []"
        ),
    },
]
_SCRIPT_FOUND = "f.problem.key != '' && !" + exempt("f.e", "f.problem.key")
_IMAGE_FOUND = "'image-tag' in variables.checks && p != '' && !" + exempt("e", "'image-tag'")
VALIDATIONS = [
    {
        "expression": f"!variables.scripts.exists(f, {_SCRIPT_FOUND})",
        "messageExpression": (
            f"'{ID}: ' + variables.scripts.filter(f, {_SCRIPT_FOUND})"
            f".map(f, {pods.label('f.e')} + ': ' + f.problem.message).join(' | ')"
        ),
        "message": f"{ID}: An init container never ends or waits without a bound.",
        "reason": "Forbidden",
    },
    {
        "expression": "variables.unused.size() == 0",
        "messageExpression": (
            f"'{ID}: ' + variables.unused.map(u, u.names.map(n, {pods.label('u.e')}"
            " + ': writes emptyDir \"' + n + '\" that no later container mounts; it is lost')"
            ".join(' | ')).join(' | ')"
        ),
        "message": f"{ID}: An init container writes an emptyDir that no later container mounts.",
        "reason": "Forbidden",
    },
    {
        "expression": "!variables.judged.exists(e, " + let("p", _IMAGE_PROBLEM, _IMAGE_FOUND) + ")",
        "messageExpression": (
            f"'{ID}: ' + variables.judged.map(e, "
            + let("p", _IMAGE_PROBLEM, f"{_IMAGE_FOUND} ? {pods.label('e')} + ': ' + p : ''")
            + ").filter(m, m != '').join(' | ')"
        ),
        "message": f"{ID}: An init container's image has no tag or uses :latest.",
        "reason": "Forbidden",
    },
]


def generate(settings: InitLintSettings) -> Validating:
    """init-lint's policy: its settings as literals, its variables and validations, warning at
    the most."""
    return Validating(
        settings=[
            Setting("roles", [r.value for r in settings.roles], path(*_AT, "roles")),
            Setting("checks", list(settings.checks), path(*_AT, "checks")),
        ],
        variables=VARIABLES,
        validations=VALIDATIONS,
        most=Mode.WARN,
    )
