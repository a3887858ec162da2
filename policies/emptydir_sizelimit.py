"""emptydir-sizelimit: every emptyDir volume gets a size limit.

An emptyDir without `sizeLimit` can fill the node's disk (or, with `medium: Memory`, its memory)
until the kubelet evicts other pods. Init containers fill emptyDirs all the time: model downloads,
unpacked archives, generated config. With a limit, the kubelet evicts the offending pod instead.
Volumes backed by huge pages (`medium: HugePages`) are left alone: the pod's hugepages limits bound
them.
"""

from __future__ import annotations

from pydantic import field_validator

from policies import quantity
from policies.base import Context, Finding, PodView, Policy, PolicySettings, Role, add, text


class EmptyDirSizeLimitSettings(PolicySettings):
    roles: tuple[Role, ...] = (Role.INIT, Role.SIDECAR, Role.APP)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    size_limit: str = "2Gi"
    """sizeLimit given to a disk-backed emptyDir."""
    memory_size_limit: str = "256Mi"
    """sizeLimit given to an emptyDir with `medium: Memory` (it counts against memory)."""

    @field_validator("size_limit", "memory_size_limit")
    @classmethod
    def _quantity(cls, value: str) -> str:
        return quantity.validate(value)


def evaluate(pod: PodView, _context: Context, settings: EmptyDirSizeLimitSettings) -> list[Finding]:
    """One finding per emptyDir without sizeLimit mounted by a container of the configured roles."""
    if not pod.whole:
        return []
    roles = settings.role_set
    mounted_by: dict[str, Role] = {}
    for container in pod.containers:
        if container.role in roles:
            for _, mount in container.mounts():
                name = mount.get("name")
                if isinstance(name, str):
                    mounted_by.setdefault(name, container.role)
    found: list[Finding] = []
    for name, volume in pod.volumes.items():
        if "emptyDir" not in volume.raw or name not in mounted_by:
            continue
        source = volume.raw["emptyDir"]
        if isinstance(source, dict) and source.get("sizeLimit") is not None:
            continue
        medium = text(source.get("medium")) if isinstance(source, dict) else ""
        if medium.startswith("HugePages"):
            # Huge pages are bounded by the pod's hugepages-* limits, which the API server already
            # requires; a disk-sized limit would only let the eviction manager misjudge them.
            continue
        memory = medium == "Memory"
        limit = settings.memory_size_limit if memory else settings.size_limit
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
                role=mounted_by[name],
                volume=volume,
                patch=(patch,),
            )
        )
    return found


POLICY = Policy(
    id="emptydir-sizelimit",
    kind="mutate",
    summary="Adds a sizeLimit to every emptyDir volume that lacks one.",
    remedy="Set emptyDir.sizeLimit on each emptyDir volume.",
    settings=EmptyDirSizeLimitSettings,
    evaluate=evaluate,
)
