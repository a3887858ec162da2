"""init-privileged: init containers and native sidecars may not run privileged.

An init container runs before anything else in the pod, usually as a short script, often from a
generic image (busybox, alpine) that nobody scans: a privileged one is a root shell on the node that
nobody watches. Each privilege is its own finding, keyed so that an image exemption can allow one
(say `capability:NET_ADMIN` for a service mesh's iptables set-up) without allowing the rest.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from pydantic import Field, field_validator

from policies.base import (
    Container,
    Context,
    Finding,
    PodView,
    Role,
    items,
    mapping,
    text,
    writes,
)
from policies.policy import ImageExemption, Policy, PolicySettings

# The Pod Security Standards "baseline" profile: capabilities a container may add without being
# privileged (https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline).
BASELINE_CAPABILITIES = (
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
)


_MESH_CAPABILITIES = ("capability:NET_ADMIN", "capability:NET_RAW")


# Service meshes redirect the pod's traffic with iptables from an init container: NET_ADMIN and
# NET_RAW, nothing else. Only the projects' own registries are trusted: a glob such as
# `*/istio/proxyv2*` would match an image anybody can push anywhere.
PRESETS: dict[str, tuple[ImageExemption, ...]] = {
    "istio": tuple(
        ImageExemption(image=image, allow=_MESH_CAPABILITIES)
        for image in (
            "docker.io/istio/proxyv2[:@]*",
            "gcr.io/istio-release/proxyv2[:@]*",
            "gcr.io/istio-testing/proxyv2[:@]*",
        )
    ),
    "linkerd": tuple(
        ImageExemption(image=image, allow=_MESH_CAPABILITIES)
        for image in ("cr.l5d.io/linkerd/proxy-init[:@]*", "ghcr.io/linkerd/proxy-init[:@]*")
    ),
}


# `ALL` (any case, with or without CAP_) in the chart's schema, as `_no_all` refuses it.
_NOT_ALL: dict[str, Any] = {"type": "string", "not": {"pattern": "^([Cc][Aa][Pp]_)?[Aa][Ll][Ll]$"}}


def normalise_capability(name: str) -> str:
    """`cap_net_admin` and `NET_ADMIN` are the same capability to the container runtime."""
    upper = name.upper()
    return upper.removeprefix("CAP_")


class InitPrivilegedSettings(PolicySettings):
    roles: tuple[Role, ...] = (Role.INIT, Role.SIDECAR)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    allowed_capabilities: tuple[str, ...] = Field(
        default=BASELINE_CAPABILITIES, json_schema_extra={"items": _NOT_ALL}
    )
    """Capabilities an init container may add (default: the Pod Security Standards baseline set).
    `ALL` is never allowed."""
    presets: dict[str, bool] = Field(
        default_factory=lambda: dict.fromkeys(PRESETS, True),
        json_schema_extra={
            "properties": {name: {"type": "boolean"} for name in PRESETS},
            "additionalProperties": False,
        },
    )
    """Shipped image exemptions for service-mesh init containers, NET_ADMIN and NET_RAW only:
    `istio` (docker.io/istio/proxyv2, gcr.io/istio-release/proxyv2) and `linkerd`
    (cr.l5d.io/linkerd/proxy-init, ghcr.io/linkerd/proxy-init). Set one to false to
    switch it off."""

    @field_validator("allowed_capabilities")
    @classmethod
    def _no_all(cls, capabilities: tuple[str, ...]) -> tuple[str, ...]:
        normalised = tuple(normalise_capability(c) for c in capabilities)
        if "ALL" in normalised:
            raise ValueError("ALL can never be an allowed capability: list the ones needed")
        return normalised

    @field_validator("presets")
    @classmethod
    def _known_presets(cls, presets: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(presets) - set(PRESETS))
        if unknown:
            raise ValueError(f"unknown presets {unknown} (known: {sorted(PRESETS)})")
        return {name: presets.get(name, True) for name in PRESETS}

    @cached_property
    def allowed_set(self) -> frozenset[str]:
        """The allowed capabilities as a set (computed once: asked on every request)."""
        return frozenset(self.allowed_capabilities)

    def image_exemptions(self) -> tuple[ImageExemption, ...]:
        """Configured image exemptions, then those of the presets that are switched on."""
        presets = (e for name, on in self.presets.items() if on for e in PRESETS[name])
        return (*self.exemptions.images, *presets)


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
