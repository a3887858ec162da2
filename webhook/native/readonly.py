"""readonly-mounts as a MutatingAdmissionPolicy: what init containers fill, the judged containers
mount read-only, with the data-flow analysis of `policies.readonly_mounts`:

- a volume is init-populated when an init container (not a native sidecar) mounts it writable
  and it is born empty with the pod (`emptyDir`, generic `ephemeral`); with
  `ignorePreparingInits`, an init container that only prepares it does not count
  (`webhook.native.scripts`: as far as a regular expression reads its script);
- a judged container's writable mount of such a volume gets `readOnly: true`, unless the pod's
  annotation `initgate.io/writable-volumes` or the `writableVolumes` globs name the volume, the
  mount propagates Bidirectional, the container runs the same program (image repository and
  command) as one of the volume's writers, or an image exemption allows `volume:<name>`.

Every expression walks one list: the flat volume mounts (`mutating.MOUNTS`), the init
containers, or the volumes.
"""

from __future__ import annotations

from policies.readonly_mounts import ANNOTATION, ReadonlyMountsSettings
from webhook.native import pods, scripts
from webhook.native.builders import Expression
from webhook.native.literals import Setting, exempt, glob_regex, path
from webhook.native.mutating import Mutating

ID = "readonly-mounts"
_AT = ("policies", ID)
_UNIT = "'\\u001f'"
"""Joins a command's words into one string: the ASCII unit separator, which no command of a pod
holds (a NUL would do, but initgate's runtime reads strings as C strings)."""
_IMAGE = "{entry}.c.?image.orValue('')"


def program(entry: str) -> str:
    """CEL: what `readonly_mounts.same_program` compares of the container entry `entry`: its
    image repository (`readonly_mounts.repository`: no tag, digest, nor Docker Hub's implicit
    prefixes) and its command, as one string (a volume's name and a repository hold no blank:
    a blank joins them unambiguously)."""
    image = _IMAGE.format(entry=entry)
    named = f"{image}.find('^(?:[^@]*/)?[^@/:]*')"
    implicit = f"{image}.find('^(?:docker\\\\.io/)?(?:index\\\\.docker\\\\.io/)?(?:library/)?')"
    command = (
        f"(has({entry}.c.command) ? 'command ' + {entry}.c.command.join({_UNIT}) : 'entrypoint')"
    )
    return f"{named}.substring(size({implicit})) + ' ' + {command}"


def settings_of(settings: ReadonlyMountsSettings) -> list[Setting]:
    """The policy's settings, as the literal variables its expressions read. The chart
    computes `writableVolumes` as `initgate.nativeGlobs` does for exemptions: one anchored RE2
    expression, '' for none."""
    return [
        Setting("roles", [r.value for r in settings.roles], path(*_AT, "roles")),
        Setting(
            "writableVolumes",
            glob_regex(settings.writable_volumes),
            f'include "initgate.nativeGlobs" ({path(*_AT, "writableVolumes")})',
        ),
        Setting(
            "ignorePreparingInits",
            settings.ignore_preparing_inits,
            path(*_AT, "ignorePreparingInits"),
        ),
    ]


_WRITES = "p.m.?readOnly.orValue(false) != true"
_EXEMPT = exempt("p.e", "('volume:' + p.m.name)")
_KEPT = (
    "p.m.name in variables.optedOut"
    " || (variables.writableVolumes != '' && p.m.name.matches(variables.writableVolumes))"
    " || p.m.?mountPropagation.orValue('') == 'Bidirectional'"
    f" || (p.m.name + ' ' + {program('p.e')}) in variables.programs"
    f" || {_EXEMPT}"
)
VARIABLES: list[Expression] = [
    {
        "name": "commands",
        "expression": (
            "variables.every.filter(e, e.role == 'init')"
            f".map(e, {{'path': dyn(e.path), 'words': dyn({scripts.words('e')})}})"
            ".map(c, {'path': c.path, 'words': c.words,"
            f" 'script': dyn(size(c.words) > 0 ? {scripts.script('c.words')} : '')}})"
        ),
    },
    {
        "name": "writers",
        "expression": (
            "variables.commands.filter(c, !variables.ignorePreparingInits"
            f" || !{scripts.prepares('c')}).map(c, c.path)"
        ),
    },
    {
        "name": "bornEmpty",
        "expression": (
            "variables.spec.?volumes.orValue([])"
            ".filter(v, has(v.emptyDir) || has(v.ephemeral)).map(v, v.name)"
        ),
    },
    {
        "name": "filled",
        "expression": (
            "variables.mounts.filter(p, p.e.path in variables.writers"
            f" && p.m.name in variables.bornEmpty && {_WRITES})"
        ),
    },
    {"name": "filledNames", "expression": "variables.filled.map(p, p.m.name)"},
    {
        "name": "programs",
        "expression": f"variables.filled.map(p, p.m.name + ' ' + {program('p.e')})",
    },
    {
        "name": "optedOut",
        "expression": (
            f"object.metadata.?annotations[?'{ANNOTATION}'].orValue('').split(',').map(n, n.trim())"
        ),
    },
    {
        "name": "judged",
        "expression": "variables.containers.filter(e, e.role in variables.roles).map(e, e.path)",
    },
    {
        "name": "readOnly",
        "expression": (
            "variables.mounts.filter(p, p.e.path in variables.judged"
            f" && p.m.name in variables.filledNames && {_WRITES} && !({_KEPT}))"
        ),
    },
    {
        "name": "operations",
        "expression": (
            "variables.readOnly.map(p, {'at': dyn(p.e.path + '/volumeMounts/' + string(p.i)),"
            " 'key': dyn('readOnly'), 'value': dyn(true)})"
        ),
    },
]
"""The init containers' commands, those that write, the volumes born empty, the writable
mounts of those by writers (and their names, and their writers' programs), the volumes the
pod's annotation keeps writable, the judged containers, and the mounts to make read-only."""

_WRITER = "variables.filled[variables.filledNames.indexOf(p.m.name)].e"
"""The volume's first writer: the message names it `init container "fill"` (not `init "fill"`,
which reads as the container the finding is about)."""
MESSAGE = (
    f"'{ID}: ' + variables.readOnly.map(p, {pods.label('p.e')} + ': would mount \"'"
    f" + p.m.name + '\" readOnly (' + {_WRITER}.role + ' container \"' + {_WRITER}.name"
    " + '\" fills it);"
    f" to keep it writable, annotate the pod {ANNOTATION}: \"' + p.m.name + '\"').join(' | ')"
)


def generate(settings: ReadonlyMountsSettings) -> Mutating:
    """readonly-mounts as CEL."""
    notes: list[str] = []
    if settings.ignore_preparing_inits:
        notes.append(
            f"{ID}: ignorePreparingInits reads an init container's script with regular "
            "expressions: one with command substitutions, subshells, here-documents or "
            "backslashes counts as writing only when its first command writes, and `find` or "
            "`install` as preparing; such a volume stays writable where the webhook makes it "
            "read-only"
        )
    if any("[" in glob for glob in settings.writable_volumes):
        notes.append(
            f"{ID}: writableVolumes: a glob's [...] is matched literally by the generated "
            "policy (only * and ? are special there)"
        )
    return Mutating(
        settings=settings_of(settings),
        variables=VARIABLES,
        message=MESSAGE,
        fallback=f"{ID}: would mount volumes that init containers fill read-only.",
        mounts=True,
        notes=notes,
    )
