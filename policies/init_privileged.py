"""init-privileged: init containers and native sidecars may not run privileged.

An init container runs before anything else in the pod, usually as a short script, often from a
generic image (busybox, alpine) that nobody scans: a privileged one is a root shell on the node that
nobody watches. Each privilege is its own finding, keyed so that an image exemption can allow one
(say `capability:NET_ADMIN` for a service mesh's iptables set-up) without allowing the rest.
"""

from __future__ import annotations

from policies.base import Container, Context, Finding, PodView, items, mapping, text, writes
from policies.policy import Policy
from policies.settings import InitPrivilegedSettings, normalise_capability


def _judge(
    pod: PodView, container: Container, allowed: frozenset[str], *, host_paths: bool
) -> list[Finding]:
    found: list[Finding] = []
    keys: set[str] = set()
    role = container.role

    def finding(key: str, message: str) -> None:
        # Once per key: `NET_ADMIN` and `CAP_NET_ADMIN`, or two mounts of one volume, are one
        # privilege to drop (a set: a container may list thousands of capabilities).
        if key not in keys:
            keys.add(key)
            found.append(Finding(key=key, message=message, role=role, container=container))

    context = mapping(container.raw.get("securityContext"))
    if context:
        if context.get("privileged") is True:
            finding("privileged", "securityContext.privileged is true; remove it")
        if context.get("allowPrivilegeEscalation") is True:
            finding(
                "allowPrivilegeEscalation",
                "securityContext.allowPrivilegeEscalation is true; set it to false",
            )
        for raw in items(mapping(context.get("capabilities")).get("add")):
            name = normalise_capability(text(raw))
            if name and name not in allowed:
                finding(f"capability:{name}", f"capabilities.add has {name}; drop it")
        if context.get("procMount") == "Unmasked":
            finding("procMount", "securityContext.procMount is Unmasked; remove it")
        if mapping(context.get("seccompProfile")).get("type") == "Unconfined":
            finding(
                "seccompUnconfined",
                "securityContext.seccompProfile.type is Unconfined; use RuntimeDefault",
            )
        if mapping(context.get("windowsOptions")).get("hostProcess") is True:
            finding("hostProcess", "securityContext.windowsOptions.hostProcess is true; remove it")
    if not host_paths:
        return found
    for _, mount in container.volume_mounts:
        volume = pod.volumes.get(text(mount.get("name")))
        if volume is not None and "hostPath" in volume.raw and writes(mount):
            finding(
                f"hostPathWrite:{volume.name}",
                f'writes hostPath volume "{volume.name}"; mount it readOnly: true',
            )
    return found


def evaluate(pod: PodView, _context: Context, settings: InitPrivilegedSettings) -> list[Finding]:
    """One finding per privilege each judged init container (or sidecar) asks for."""
    allowed = settings.allowed_set
    host_paths = any("hostPath" in volume.raw for volume in pod.volumes.values())
    found: list[Finding] = []
    for container in pod.select(settings.role_set):
        found.extend(_judge(pod, container, allowed, host_paths=host_paths))
    return found


POLICY: Policy[InitPrivilegedSettings] = Policy(
    id="init-privileged",
    kind="validate",
    summary="Init containers and native sidecars may not be privileged or add capabilities.",
    remedy="Drop the privileges, or ask the platform team for a scoped image exemption.",
    settings=InitPrivilegedSettings,
    evaluate=evaluate,
)
