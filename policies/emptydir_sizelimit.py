"""emptydir-sizelimit: every emptyDir volume gets a size limit.

An emptyDir without `sizeLimit` can fill the node's disk (or, with `medium: Memory`, its memory)
until the kubelet evicts other pods. Init containers fill emptyDirs all the time: model downloads,
unpacked archives, generated config. With a limit, the kubelet evicts the offending pod instead.

The default never tightens a bound the pod already chose: the kubelet already holds a pod to the
sum of its containers' `ephemeral-storage` limits (emptyDirs on disk included), and a memory-backed
emptyDir to the pod's memory limits. A pod that declares more than the default (a 40Gi model
download under a 50Gi ephemeral-storage limit) gets its own total as the sizeLimit instead of being
evicted at the default. Volumes backed by huge pages (`medium: HugePages`) are left alone: the
pod's hugepages limits bound them.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from policies import quantity
from policies.base import Context, Finding, PodView, Role, Volume, add, mapping, text
from policies.policy import Policy, PolicySettings, Quantity


class EmptyDirSizeLimitSettings(PolicySettings):
    roles: tuple[Role, ...] = (Role.INIT, Role.SIDECAR, Role.APP)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    size_limit: Quantity = "2Gi"
    """sizeLimit given to a disk-backed emptyDir (or the sum of the pod's ephemeral-storage
    limits, when larger)."""
    memory_size_limit: Quantity = "256Mi"
    """sizeLimit given to an emptyDir with `medium: Memory`, which counts against memory (or
    the sum of the pod's memory limits, when larger)."""


_NOT_EMPTY_DIR = object()


def _limit(raw: dict[str, Any], resource: str) -> int:
    """A limit of a container (or of the pod) in whole bytes, 0 when there is none. Whole bytes
    rounded up: exact enough to compare with a default, and integer sums are cheap."""
    value = mapping(mapping(raw.get("resources")).get("limits")).get(resource)
    return _whole(value) if isinstance(value, str | int | float) else 0


# Pods repeat a handful of quantities: each is rounded once (fractions are slow to compare).
@lru_cache(maxsize=1024, typed=True)
def _whole(value: str | float) -> int:
    parsed = quantity.parse_or_none(value)
    return math.ceil(parsed) if parsed is not None and parsed > 0 else 0


def _declared(pod: PodView, resource: str) -> int:
    """The pod's own budget of `resource`, as the kubelet sizes the pod: its pod-level limit, else
    the sum of its running containers (app and sidecars), or its largest init container beside
    the sidecars, whichever is more (an over-estimate at worst, which only loosens the default)."""
    if own := _limit(pod.spec, resource):
        return own
    sidecars = running = largest_init = 0
    sidecar, app, init = Role.SIDECAR, Role.APP, Role.INIT  # looked up once, not per container
    for container in pod.containers:
        limit = _limit(container.raw, resource)
        role = container.role
        if role is sidecar:
            sidecars += limit
        elif role is app:
            running += limit
        elif role is init:
            largest_init = max(largest_init, limit)
    return max(sidecars + running, largest_init + sidecars)


def _size(default: str, declared: int) -> str:
    if declared and declared > quantity.parse(default):
        return quantity.format_bytes(declared)
    return default


def _unbounded(pod: PodView) -> list[tuple[Volume, Any, str]]:
    """The emptyDirs without sizeLimit, each with its source and medium."""
    found = []
    for volume in pod.volumes.values():
        source = volume.raw.get("emptyDir", _NOT_EMPTY_DIR)
        if source is _NOT_EMPTY_DIR:
            continue
        if isinstance(source, dict) and source.get("sizeLimit") is not None:
            continue
        medium = text(source.get("medium")) if isinstance(source, dict) else ""
        if medium.startswith("HugePages"):
            # Huge pages are bounded by the pod's hugepages-* limits, which the API server already
            # requires; a disk-sized limit would only let the eviction manager misjudge them.
            continue
        found.append((volume, source, medium))
    return found


def evaluate(pod: PodView, _context: Context, settings: EmptyDirSizeLimitSettings) -> list[Finding]:
    """One finding per emptyDir without sizeLimit mounted by a container of the configured roles."""
    unbounded = _unbounded(pod) if pod.whole else []
    if not unbounded:
        return []
    # Which role each volume is for: that of the first container of the configured roles to
    # mount it (a volume no such container mounts is left alone).
    roles, wanted = settings.role_set, {volume.name for volume, _, _ in unbounded}
    mounted_by: dict[str, Role] = {}
    for container in pod.containers:
        if container.role in roles:
            for _, mount in container.volume_mounts:
                name = mount.get("name")
                if isinstance(name, str) and name in wanted and name not in mounted_by:
                    mounted_by[name] = container.role
    found: list[Finding] = []
    declared: dict[str, int] = {}  # the pod's budget per resource, worked out once (not per volume)
    for volume, source, medium in unbounded:
        if volume.name not in mounted_by:
            continue
        resource, default = (
            ("memory", settings.memory_size_limit)
            if medium == "Memory"
            else ("ephemeral-storage", settings.size_limit)
        )
        if resource not in declared:
            declared[resource] = _declared(pod, resource)
        limit = _size(default, declared[resource])
        path = f"{pod.path}/volumes/{volume.index}/emptyDir"
        patch = (
            add(f"{path}/sizeLimit", limit)
            if isinstance(source, dict)
            else add(path, {"sizeLimit": limit})
        )
        found.append(
            Finding(
                key="sizeLimit",
                message=f"set emptyDir.sizeLimit={limit}",
                role=mounted_by[volume.name],
                volume=volume,
                patch=(patch,),
            )
        )
    return found


POLICY: Policy[EmptyDirSizeLimitSettings] = Policy(
    id="emptydir-sizelimit",
    kind="mutate",
    summary="Adds a sizeLimit to every emptyDir volume that lacks one.",
    remedy="Set emptyDir.sizeLimit on each emptyDir volume.",
    settings=EmptyDirSizeLimitSettings,
    evaluate=evaluate,
)
