"""readonly-mounts: app containers read what init containers wrote; they do not rewrite it.

A volume is init-populated when an init container (not a native sidecar) mounts it writable: the
init container downloads a model, renders configuration, copies binaries. The app container that
mounts it afterwards gets `readOnly: true`, so that a compromised or buggy app cannot tamper with
what was prepared for it.

What stays writable, because making it read-only would break pods that work today:
- volumes written by sidecars (a log volume shared with a log shipper);
- volumes an init container only prepares for writing (`chown`, `chmod`, `mkdir`): the app is
  meant to write there;
- volumes that outlive the pod (a PersistentVolumeClaim, hostPath, NFS...): only `emptyDir` and
  generic `ephemeral` volumes, born empty with the pod, can be populated by an init container. A
  database whose init container restores or seeds its PVC writes it afterwards;
- the mounts of an app container running the same program (image repository and command) as an
  init container that fills the volume: it is that init container's long-running half (Vault's
  agent, Prometheus' config reloader), which keeps rewriting what its init step wrote first.

The opt-out is the pod annotation `initgate.io/writable-volumes: "cache,scratch"`: an explicit
`readOnly: false` cannot be honoured, because the API server drops false booleans before any webhook
sees the pod.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cached_property
from typing import ClassVar

from policies.base import (
    Container,
    Context,
    Finding,
    PodView,
    Role,
    add,
    command_line,
    text,
    writes,
)
from policies.caching import short_lru_cache
from policies.policy import Policy, PolicySettings, glob_matcher
from policies.shell import skeleton


class ReadonlyMountsSettings(PolicySettings):
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.APP, Role.SIDECAR, Role.EPHEMERAL)
    roles: tuple[Role, ...] = (Role.APP,)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    writable_volumes: tuple[str, ...] = ()
    """Volume names (globs) that always stay writable, in every pod."""

    @cached_property
    def keep_writable(self) -> Callable[[str], bool]:
        """`writable_volumes` compiled once."""
        return glob_matcher(self.writable_volumes)

    ignore_preparing_inits: bool = True
    """Init containers that write no file (only chown, chmod, chgrp, setfacl, mkdir,
    install -d, find -exec chown, with echo, ls, test or cd around them) do not make a
    volume init-populated: they prepare it for the app to write."""


ANNOTATION = "initgate.io/writable-volumes"

# Commands that change metadata or write nothing: an init container running only these prepares a
# volume for the app to write (or just looks at it); it does not fill it.
HARMLESS_COMMANDS = frozenset(
    (
        *("chown", "chmod", "chgrp", "setfacl", "mkdir", "umask", "cd"),
        *("set", "true", "exit", ":", "echo", "printf", "ls", "id", "whoami", "stat", "test", "["),
    )
)
# Shell words that only introduce the command after them, or close a compound command.
KEYWORDS = frozenset(("if", "then", "else", "elif", "while", "until", "do", "!", "{", "exec"))
CLOSERS = frozenset(("fi", "done", "esac", "}", "]"))
_STEPS = re.compile(r"&&|\|\||[;\n|&]")
# Linear in the script, as every pattern a client's script meets (see init_lint): a file
# descriptor's digits are read from the first one on (`(?<!\d)`), not from every digit again.
_DUPLICATES = re.compile(r"(?<!\d)\d*[<>]&(?:\d+|-)")  # 2>&1, >&2: no file written
_WRITES_TO = re.compile(r"(?<!\d)\d*>>?\|?\s*([^\s;&|<>()]+)")
HARMLESS_TARGETS = frozenset(("/dev/null", "/dev/stdout", "/dev/stderr"))
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _harmless(words: list[str]) -> bool:
    """Whether one simple command writes no file content."""
    program = words[0].rsplit("/", 1)[-1]
    if program == "install":
        return "-d" in words
    if program == "find":
        # `find /data -exec chown 1000 {} +`: only the commands it runs can write.
        run = [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-exec", "-execdir")]
        writes_itself = any(w == "-delete" or w.startswith(("-fprint", "-fls")) for w in words)
        return not writes_itself and all(_harmless([command]) for command in run)
    return program in HARMLESS_COMMANDS


def prepares_only(container: Container) -> bool:
    """Whether the init container writes no file: it only creates directories, changes ownership
    and modes, and prints or checks things on the way."""
    script = command_line(container)
    if not script:
        return False
    return _prepares_only(script)


# Every pod of a workload runs the same scripts: each is read once (a bounded cache).
@short_lru_cache(maxsize=1024)
def _prepares_only(script: str) -> bool:
    script = _DUPLICATES.sub(" ", skeleton(script))
    if any(target not in HARMLESS_TARGETS for target in _WRITES_TO.findall(script)):
        return False
    for step in _STEPS.split(_WRITES_TO.sub(" ", script)):
        words = step.split()
        first = 0
        while first < len(words) and (words[first] in KEYWORDS or _ASSIGNMENT.match(words[first])):
            first += 1
        words = words[first:]
        if not words or words[0] in CLOSERS or words[0] in ("for", "case"):
            continue
        if not _harmless(words):
            return False
    return True


def repository(image: str) -> str:
    """The image without tag, digest and Docker Hub's implicit prefixes: `hashicorp/vault`."""
    name = image.split("@", 1)[0]
    head, slash, last = name.rpartition("/")
    name = head + slash + last.split(":", 1)[0]
    for prefix in ("docker.io/", "index.docker.io/"):
        name = name.removeprefix(prefix)
    return name.removeprefix("library/")


def same_program(one: Container, other: Container) -> bool:
    """Whether two containers run the same program: same image repository, same command (both
    may run the image's entrypoint), whatever their tags and arguments."""
    same_command = one.raw.get("command") == other.raw.get("command")
    return same_command and repository(one.image) == repository(other.image)


def program(container: Container) -> tuple[str, str]:
    """What `same_program` compares, as a key: the image repository and the command (its `repr`:
    the same for equal lists of strings, and a key for any command, even a malformed one)."""
    return repository(container.image), repr(container.raw.get("command"))


def _runs_a_writer(
    container: Container,
    name: str,
    writers: list[Container],
    programs: dict[str, set[tuple[str, str]]],
) -> bool:
    """Whether the container runs the same program as a writer of the volume. A pod may have
    thousands of writers of one volume and as many readers: past a few, the writers' programs
    are looked up as keys, not compared one by one with every reader."""
    if len(writers) <= 4:
        return any(same_program(writer, container) for writer in writers)
    keys = programs.get(name)
    if keys is None:
        keys = programs[name] = {program(writer) for writer in writers}
    return program(container) in keys


def populated(pod: PodView, settings: ReadonlyMountsSettings) -> dict[str, list[Container]]:
    """Init-populated volumes, each with the init containers that write it, in pod order."""
    writers: dict[str, list[Container]] = {}
    init, volumes = Role.INIT, pod.volumes
    for container in pod.containers:
        if container.role is not init or not container.volume_mounts:
            continue
        if settings.ignore_preparing_inits and prepares_only(container):
            continue
        for _, mount in container.volume_mounts:
            volume = volumes.get(text(mount.get("name")))
            if volume is None or not writes(mount):
                continue
            raw = volume.raw
            # Only sources born with the pod, empty, can be populated by an init container.
            if "emptyDir" in raw or "ephemeral" in raw:
                found = writers.setdefault(volume.name, [])
                if not found or found[-1] is not container:  # one container mounting it twice
                    found.append(container)
    return writers


def evaluate(pod: PodView, _context: Context, settings: ReadonlyMountsSettings) -> list[Finding]:
    """One finding per writable mount, in a judged container, of an init-populated volume."""
    writers = populated(pod, settings)
    if not writers:
        return []
    opted_out = {v.strip() for v in text(pod.annotations.get(ANNOTATION)).split(",")}
    keep_writable = settings.keep_writable
    programs: dict[str, set[tuple[str, str]]] = {}
    found: list[Finding] = []
    for container in pod.select(settings.role_set):
        for index, mount in container.volume_mounts:
            name = text(mount.get("name"))
            filled_by = writers.get(name)
            if (
                not filled_by
                or not writes(mount)
                or name in opted_out
                or keep_writable(name)
                # Bidirectional propagation exists to write back to the host: leave it alone.
                or mount.get("mountPropagation") == "Bidirectional"
                or _runs_a_writer(container, name, filled_by, programs)
            ):
                continue
            found.append(
                Finding(
                    key=f"volume:{name}",
                    message=f'mount "{name}" readOnly ({filled_by[0].label} fills it)',
                    hint=f'to keep it writable, annotate the pod {ANNOTATION}: "{name}"',
                    verbatim=f'{ANNOTATION}: "{name}"',
                    role=container.role,
                    container=container,
                    patch=(add(f"{container.path}/volumeMounts/{index}/readOnly", value=True),),
                )
            )
    return found


POLICY: Policy[ReadonlyMountsSettings] = Policy(
    id="readonly-mounts",
    kind="mutate",
    summary="Mounts volumes that init containers populate read-only in app containers.",
    remedy=f"Mount them readOnly: true, or list writable ones in the annotation {ANNOTATION}.",
    settings=ReadonlyMountsSettings,
    evaluate=evaluate,
)
