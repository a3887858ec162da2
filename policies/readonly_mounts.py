"""readonly-mounts: app containers read what init containers wrote; they do not rewrite it.

A volume is init-populated when an init container (not a native sidecar) mounts it writable: the
init container downloads a model, renders configuration, copies binaries. The app container that
mounts it afterwards gets `readOnly: true`, so that a compromised or buggy app cannot tamper with
what was prepared for it. Volumes written by sidecars stay writable (a log volume shared with a log
shipper), and so do volumes that an init container only prepares for writing (`chown`, `chmod`,
`mkdir`): the app is meant to write there.

The opt-out is the pod annotation `initgate.io/writable-volumes: "cache,scratch"`: an explicit
`readOnly: false` cannot be honoured, because the API server drops false booleans before any webhook
sees the pod.
"""

from __future__ import annotations

import re
from typing import ClassVar

from policies.base import (
    Container,
    Context,
    Finding,
    PodView,
    Policy,
    PolicySettings,
    Role,
    add,
    command_line,
    glob_matcher,
    text,
    writes,
)

ANNOTATION = "initgate.io/writable-volumes"

_PREPARES = frozenset(("chown", "chmod", "chgrp", "setfacl", "mkdir", "set", "true", "exit"))
_STEPS = re.compile(r"&&|\|\||[;\n|&]")


def prepares_only(container: Container) -> bool:
    """Whether the init container only creates directories or changes ownership and modes."""
    script = command_line(container)
    if not script:
        return False
    for step in _STEPS.split(script):
        words = step.split()
        if words and words[0] == "exec":
            words = words[1:]
        if words and words[0].rsplit("/", 1)[-1] not in _PREPARES:
            return False
    return True


class ReadonlyMountsSettings(PolicySettings):
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.APP, Role.SIDECAR, Role.EPHEMERAL)
    roles: tuple[Role, ...] = (Role.APP,)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    writable_volumes: tuple[str, ...] = ()
    """Volume names (globs) that always stay writable, in every pod."""
    ignore_preparing_inits: bool = True
    """Init containers that only run chown, chmod, chgrp, setfacl or mkdir do not make a volume
    init-populated: they prepare it for the app to write."""


def populated(pod: PodView, settings: ReadonlyMountsSettings) -> dict[str, Container]:
    """Init-populated volumes, each with the first init container that writes it."""
    writers: dict[str, Container] = {}
    for container in pod.containers:
        if container.role is not Role.INIT:
            continue
        if settings.ignore_preparing_inits and prepares_only(container):
            continue
        for _, mount in container.mounts():
            volume = pod.volumes.get(text(mount.get("name")))
            if volume is not None and volume.writable and writes(mount):
                writers.setdefault(volume.name, container)
    return writers


def evaluate(pod: PodView, _context: Context, settings: ReadonlyMountsSettings) -> list[Finding]:
    """One finding per writable mount, in a judged container, of an init-populated volume."""
    writers = populated(pod, settings)
    if not writers:
        return []
    opted_out = {v.strip() for v in text(pod.annotations.get(ANNOTATION)).split(",")}
    keep_writable = glob_matcher(settings.writable_volumes)
    found: list[Finding] = []
    for container in pod.select(settings.role_set):
        for index, mount in container.mounts():
            name = text(mount.get("name"))
            writer = writers.get(name)
            if (
                writer is None
                or not writes(mount)
                or name in opted_out
                or keep_writable(name)
                # Bidirectional propagation exists to write back to the host: leave it alone.
                or mount.get("mountPropagation") == "Bidirectional"
            ):
                continue
            found.append(
                Finding(
                    key=f"volume:{name}",
                    message=f'mount "{name}" readOnly ({writer.label} fills it)',
                    hint=f'to keep it writable, annotate the pod {ANNOTATION}: "{name}"',
                    role=container.role,
                    container=container,
                    patch=(add(f"{container.path}/volumeMounts/{index}/readOnly", value=True),),
                )
            )
    return found


POLICY = Policy(
    id="readonly-mounts",
    kind="mutate",
    summary="Mounts volumes that init containers populate read-only in app containers.",
    remedy=f"Mount them readOnly: true, or list writable ones in the annotation {ANNOTATION}.",
    settings=ReadonlyMountsSettings,
    evaluate=evaluate,
)
