"""init-lint: init container mistakes that admission can see, as one-line warnings.

Conservative heuristics, each chosen for a low false-positive rate:
- `never-ends`: `tail -f`, `sleep infinity` or `while true` without exit; the pod never leaves
  `Init:0/N`. What should run beside the app is a native sidecar (`restartPolicy: Always`).
- `unbounded-wait`: a wait loop (`until ...; do ...; done`, `while ! ...`, `while true` broken out
  of on success) with no attempt counter (shell arithmetic, `expr`, `let`, `seq`, a `for` loop,
  `$SECONDS`) and no `timeout` command, in a pod without `activeDeadlineSeconds`: if the awaited
  service never comes, the pod hangs in `Init` forever. What `echo` and `printf` print is ignored
  ("waiting for db" is no `for` loop, and "timeout" in a message bounds nothing), and so are
  quoted text, comments and here-documents (`policies.shell`).
- `unused-volume:NAME`: an init container writes an emptyDir that no later container mounts (nor a
  native sidecar anywhere: it runs beside every later step), so whatever it wrote is lost. Scratch
  mounts (/tmp, /run, /var/cache, home directories) are not counted.
- `image-tag`: an init image without a tag, or with `:latest`: what runs changes under you.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

from pydantic import Field, field_validator

from policies.base import (
    Container,
    Context,
    Finding,
    Mode,
    PodView,
    Role,
    command_line,
    text,
    writes,
)
from policies.caching import short_lru_cache
from policies.policy import Policy, PolicySettings
from policies.shell import skeleton

CHECKS = ("never-ends", "unbounded-wait", "unused-volume", "image-tag")


class InitLintSettings(PolicySettings):
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.INIT,)
    roles: tuple[Role, ...] = (Role.INIT,)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""
    mode: Mode | None = Mode.WARN
    """Lint findings are advice: they warn by default and never deny."""

    checks: tuple[str, ...] = Field(
        default=CHECKS, json_schema_extra={"items": {"enum": list(CHECKS), "type": "string"}}
    )
    """Which heuristics run."""

    @cached_property
    def check_set(self) -> frozenset[str]:
        return frozenset(self.checks)

    @field_validator("checks")
    @classmethod
    def _known_checks(cls, checks: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(checks) - set(CHECKS))
        if unknown:
            raise ValueError(f"unknown checks {unknown} (known: {list(CHECKS)})")
        return checks


# Every pattern here runs in time linear in the script: a client chooses the script, and one
# quadratic pattern on a few hundred KiB would hold the event loop for minutes
# (test_adversarial.py).
# `tail -f` is looked for command by command (`_SEGMENTS`), not with `tail[^;]*-f`, which rescans
# the rest of the command from every `tail`.
_SEGMENTS = re.compile(r"[^;&|\n]+")
_TAIL = re.compile(r"\btail\b")
_FOLLOW = re.compile(r"\s-[a-zA-Z0-9]*[fF]\b|\s--follow\b")
_SLEEPS_FOREVER = re.compile(r"\bsleep\s+(?:infinity|inf)\b")
_FOREVER = re.compile(
    r"\b(?:while\s+(?:true|:|\[\s*1\s*\]|\[\s*true\s*\])|until\s+false)\s*(?:;\s*)?do\b"
)
_EXITS = re.compile(r"\b(?:exit|break|return)\b")
_WAIT_LOOP = re.compile(r"\buntil\s|\bwhile\s+(?:!|\[\[?\s+!|test\s+!)")
_BOUNDED = re.compile(
    r"(?<![-\w])timeout\s"  # the timeout command (not curl's --connect-timeout)
    r"|\$\(\(|\(\(|\$\[|\bexpr\s|\blet\s|\bseq\b|\bSECONDS\b"  # a counter or a clock
    r"|(?:^|[;&|\n(]|\bdo|\bthen)[ \t]*for\s"  # a for loop, bounded by its list
)
# What a script prints is prose: "waiting for db" must not read as a for loop.
_PRINTS = re.compile(r"\b(?:echo|printf)\b[^;&|\n]*")
# A container's own scratch space (temporary, runtime, cache and home directories): what an init
# container keeps there is meant to be thrown away (Vault's agent keeps its config in /home/vault).
_SCRATCH = ("/tmp", "/var/tmp", "/run", "/var/run", "/var/cache", "/home", "/root")  # noqa: S108
_SCRATCH_SET = frozenset(_SCRATCH)
_UNDER_SCRATCH = tuple(f"{directory}/" for directory in _SCRATCH)


def _script_problem(
    container: Container, *, deadline: bool, checks: frozenset[str]
) -> tuple[str, str] | None:
    """(key, message) for what the container's script shows, if anything."""
    script = command_line(container)
    if not script:
        return None
    return _judge_script(script, deadline, checks)


# Every pod of a workload runs the same scripts: each is judged once (a bounded cache, keyed by
# positional arguments: keywords would make every lookup build a bigger key).
@short_lru_cache(maxsize=1024)
def _judge_script(
    script: str,
    deadline: bool,  # noqa: FBT001
    checks: frozenset[str],
) -> tuple[str, str] | None:
    script = _PRINTS.sub("echo", skeleton(script))
    if "never-ends" in checks:
        what = None
        if _follows(script):
            what = "tail -f"
        elif _SLEEPS_FOREVER.search(script):
            what = "sleep infinity"
        elif _FOREVER.search(script) and not _EXITS.search(script):
            what = "while true"
        if what is not None:
            return (
                "never-ends",
                f"never ends ({what}); make it a native sidecar: restartPolicy: Always",
            )
    if (
        "unbounded-wait" in checks
        and not deadline
        and (_WAIT_LOOP.search(script) or _FOREVER.search(script))
        and not _BOUNDED.search(script)
    ):
        return (
            "unbounded-wait",
            "waits in a loop with no bound; add a retry limit or wrap it in timeout",
        )
    return None


def _follows(script: str) -> bool:
    """Whether a command of the script is `tail` with `-f`, `-F` or `--follow` after it."""
    for command in _SEGMENTS.finditer(script):
        tail = _TAIL.search(command[0])
        if tail is not None and _FOLLOW.search(command[0], tail.end()):
            return True
    return False


@short_lru_cache(maxsize=1024)
def image_problem(image: str) -> str | None:
    """What is wrong with an image reference's tag, if anything."""
    if not image or "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f'image "{image}" has no tag; pin a version'
    if last.rsplit(":", 1)[1] == "latest":
        return f'image "{image}" uses :latest; pin a version'
    return None


@dataclass(slots=True)
class _Readers:
    """Who reads a volume after a container: the position of the last container (not ephemeral)
    that mounts it, and the volumes of native sidecars (they run beside every later step). Built
    in one pass, and asked in constant time: a pod may have thousands of containers."""

    last: dict[str, int]
    sidecars: frozenset[str]

    @classmethod
    def of(cls, pod: PodView) -> _Readers:
        last: dict[str, int] = {}
        sidecars: set[str] = set()
        for container in pod.containers:
            role = container.role
            if role is Role.EPHEMERAL:
                continue
            position = container.position
            for name in container.mount_names:
                last[name] = position
            if role is Role.SIDECAR:
                sidecars.update(container.mount_names)
        return cls(last, frozenset(sidecars))

    def after(self, container: Container, name: str) -> bool:
        """Whether a container that runs after `container` (or beside it) mounts `name`."""
        return self.last.get(name, -1) > container.position or name in self.sidecars


def _unused(pod: PodView, container: Container, readers: _Readers) -> list[str]:
    """emptyDirs the init container writes and nobody reads afterwards."""
    names: dict[str, None] = {}  # in mount order, each once
    for _, mount in container.volume_mounts:
        name = text(mount.get("name"))
        if readers.after(container, name) or name in names or not writes(mount):
            continue
        volume = pod.volumes.get(name)
        if volume is None or "emptyDir" not in volume.raw:
            continue
        path = text(mount.get("mountPath")).rstrip("/")
        if path in _SCRATCH_SET or path.startswith(_UNDER_SCRATCH):
            continue
        names[name] = None
    return list(names)


def evaluate(pod: PodView, _context: Context, settings: InitLintSettings) -> list[Finding]:
    """At most one finding per heuristic and container (per volume for unused volumes)."""
    checks = settings.check_set
    deadline = pod.spec.get("activeDeadlineSeconds") is not None
    unused_volumes = "unused-volume" in checks and pod.whole
    image_tags = "image-tag" in checks
    readers = _Readers.of(pod) if unused_volumes else None
    found: list[Finding] = []
    for container in pod.select(settings.role_set):
        role = container.role
        if problem := _script_problem(container, deadline=deadline, checks=checks):
            found.append(Finding(problem[0], problem[1], role, container))
        if readers is not None:
            for name in _unused(pod, container, readers):
                message = f'writes emptyDir "{name}" that no later container mounts; it is lost'
                found.append(Finding(f"unused-volume:{name}", message, role, container))
        if image_tags and (tag_problem := image_problem(container.image)):
            found.append(Finding("image-tag", tag_problem, role, container))
    return found


POLICY: Policy[InitLintSettings] = Policy(
    id="init-lint",
    kind="validate",
    summary="Warns about init containers that never end, wait forever, or use unpinned images.",
    remedy="See the warning for each init container.",
    settings=InitLintSettings,
    evaluate=evaluate,
)
