"""Each policy's settings: what the YAML configuration may say to it (`policies:` in the config).

Strict pydantic models (`policies.policy.Settings`), read once when a configuration is loaded. The
policies' checks, in their own modules, never import pydantic: they are compiled with mypyc for
the image (see `setup.py`), and pydantic models cannot be.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import ClassVar

from pydantic import Field, field_validator, model_validator

from policies import quantity
from policies.base import Mode, Role
from policies.policy import ImageExemption, PolicySettings, glob_matcher

# init-privileged

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


def normalise_capability(name: str) -> str:
    """`cap_net_admin` and `NET_ADMIN` are the same capability to the container runtime."""
    upper = name.upper()
    return upper.removeprefix("CAP_")


class InitPrivilegedSettings(PolicySettings):
    roles: tuple[Role, ...] = (Role.INIT, Role.SIDECAR)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    allowed_capabilities: tuple[str, ...] = BASELINE_CAPABILITIES
    """Capabilities an init container may add (default: the Pod Security Standards baseline set).
    `ALL` is never allowed."""
    presets: dict[str, bool] = Field(default_factory=lambda: dict.fromkeys(PRESETS, True))
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


# init-unbounded


class InitUnboundedSettings(PolicySettings):
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.INIT, Role.SIDECAR)
    roles: tuple[Role, ...] = (Role.INIT,)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    required: tuple[str, ...] = ("cpu", "memory")
    """Resources every init container must have a limit for."""
    maximum: dict[str, str] = Field(default_factory=dict)
    """Highest limit allowed per resource, e.g. `{memory: 4Gi}`; empty: no maximum."""
    suggested: dict[str, str] = Field(default_factory=lambda: {"cpu": "500m", "memory": "256Mi"})
    """Values the message suggests for a missing limit."""

    @field_validator("maximum", "suggested")
    @classmethod
    def _quantities(cls, values: dict[str, str]) -> dict[str, str]:
        for value in values.values():
            quantity.validate(value)
        return values


# init-lint

CHECKS = ("never-ends", "unbounded-wait", "unused-volume", "image-tag")


class InitLintSettings(PolicySettings):
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.INIT,)
    roles: tuple[Role, ...] = (Role.INIT,)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""
    mode: Mode | None = Mode.WARN
    """Lint findings are advice: they warn by default and never deny."""

    checks: tuple[str, ...] = CHECKS
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


# default-resources


class DefaultResourcesSettings(PolicySettings):
    # Ephemeral containers may not declare resources at all: the API server refuses them.
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.INIT, Role.SIDECAR, Role.APP)
    roles: tuple[Role, ...] = (Role.APP, Role.SIDECAR)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    requests: dict[str, str] = Field(default_factory=lambda: {"cpu": "100m", "memory": "128Mi"})
    """Requests added when missing."""
    limits: dict[str, str] = Field(default_factory=lambda: {"memory": "256Mi"})
    """Limits added when missing. A cpu limit throttles, so none is set unless listed here."""

    @model_validator(mode="after")
    def _consistent(self) -> DefaultResourcesSettings:
        for value in (*self.requests.values(), *self.limits.values()):
            quantity.validate(value)
        for resource, request in self.requests.items():
            limit = self.limits.get(resource)
            if limit is not None and quantity.parse(request) > quantity.parse(limit):
                raise ValueError(
                    f"requests.{resource} ({request}) is above limits.{resource} ({limit})"
                )
        return self


# emptydir-sizelimit


class EmptyDirSizeLimitSettings(PolicySettings):
    roles: tuple[Role, ...] = (Role.INIT, Role.SIDECAR, Role.APP)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    size_limit: str = "2Gi"
    """sizeLimit given to a disk-backed emptyDir (or the sum of the pod's ephemeral-storage
    limits, when larger)."""
    memory_size_limit: str = "256Mi"
    """sizeLimit given to an emptyDir with `medium: Memory`, which counts against memory (or
    the sum of the pod's memory limits, when larger)."""

    @field_validator("size_limit", "memory_size_limit")
    @classmethod
    def _quantity(cls, value: str) -> str:
        return quantity.validate(value)


# readonly-mounts


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
