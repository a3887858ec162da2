"""init-privileged: the Pod Security Standards, applied to init containers and native sidecars.

An init container runs before anything else in the pod, usually as a short script, often from a
generic image (busybox, alpine) that nobody scans: a privileged one is a root shell on the node that
nobody watches. Platform teams already know one vocabulary for what "privileged" means, the Pod
Security Standards and their `baseline` and `restricted` levels; Pod Security admission enforces
them, but only on the whole pod and without exempting one container, which is why teams running
a service mesh switch it off. This policy applies a level to every field the judged containers set
or inherit from the pod, and to the volumes they mount, and keys each finding by its control
(`hostNamespaces:hostNetwork`, `capability:NET_ADMIN`, `seccompProfile`...), so that an
exemption can lift one control, or one capability, for one image.

The definitions are those of Pod Security admission at policy version v1.37 (the check sources in
`k8s.io/pod-security-admission/policy`, named beside each table below); docs/policies.md has the
conformance table, and tests/policies/test_pod_security.py the cases, each with the verdict PSA
gives.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator

from policies.base import (
    Container,
    Context,
    Finding,
    PodView,
    Role,
    Volume,
    inherited_by,
    items,
    mapping,
    text,
)
from policies.policy import ImageExemption, Policy, PolicySettings, merged_maps

Level = Literal["baseline", "restricted"]

# check_capabilities_baseline.go, capabilities_allowed_1_0: what baseline lets a container add.
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
# check_capabilities_restricted.go: restricted lets a container add this one, and drop "ALL".
RESTRICTED_CAPABILITIES = ("NET_BIND_SERVICE",)
# check_sysctls.go, sysctlsAllowedV1Dot37: the namespaced sysctls isolated from other pods.
SAFE_SYSCTLS = frozenset(
    (
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.ip_local_reserved_ports",  # v1.27
        "net.ipv4.tcp_keepalive_time",  # v1.29
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
        "net.ipv4.tcp_rmem",  # v1.32
        "net.ipv4.tcp_wmem",
        "net.ipv4.tcp_slow_start_after_idle",  # v1.37
        "net.ipv4.tcp_notsent_lowat",
    )
)
# check_seLinuxOptions.go, selinuxAllowedTypes1_31 ("" is an unset type).
SELINUX_TYPES = frozenset(
    ("", "container_t", "container_init_t", "container_kvm_t", "container_engine_t")
)
# check_seccompProfile_baseline.go validSeccomp, check_appArmorProfile.go allowedProfileType.
CONFINED = frozenset(("RuntimeDefault", "Localhost"))
# check_appArmorProfile.go: the deprecated annotation, judged beside the field.
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
# check_restrictedVolumes.go, restrictedVolumes_1_0: the volume sources restricted allows.
RESTRICTED_VOLUMES = frozenset(
    (
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    )
)
# check_hostNamespaces.go.
_NAMESPACES = ("hostNetwork", "hostPID", "hostIPC")
# check_hostProbesAndhostLifecycle.go: the probes and lifecycle hooks that may not name a host.
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS = ("postStart", "preStop")
_HANDLED = frozenset((*_PROBES, "lifecycle"))
_READ = frozenset((*_HANDLED, "ports"))
"""The container fields read beside its securityContext."""

ExtraCheck = Literal["allowPrivilegeEscalation", "procMount"]

# Service meshes redirect the pod's traffic with iptables from an init container that adds
# NET_ADMIN and NET_RAW and, for Istio, runs as root: nothing else. Never in a pod with
# hostNetwork: true, where those capabilities rewrite the node's own network. Only the projects'
# own registries are trusted: a glob such as `*/istio/proxyv2*` would match an image anybody can
# push anywhere. A tag or a digest follows the repository: one glob each, as only `*` and `?`
# mean the same to fnmatch and to the RE2 the generated admission policies match with.
_MESH_KEYS = ("capability:NET_ADMIN", "capability:NET_RAW", "runAsNonRoot", "runAsUser")


def _preset(*repositories: str) -> tuple[ImageExemption, ...]:
    return tuple(
        ImageExemption(
            image=f"{repository}{separator}*", allow=_MESH_KEYS, except_host_network=True
        )
        for repository in repositories
        for separator in (":", "@")
    )


PRESETS: dict[str, tuple[ImageExemption, ...]] = {
    "istio": _preset(
        "docker.io/istio/proxyv2", "gcr.io/istio-release/proxyv2", "gcr.io/istio-testing/proxyv2"
    ),
    "linkerd": _preset("cr.l5d.io/linkerd/proxy-init", "ghcr.io/linkerd/proxy-init"),
}


# `ALL` (any case, with or without CAP_) in the chart's schema, as `_no_all` refuses it.
_NOT_ALL: dict[str, Any] = {"type": "string", "not": {"pattern": "^([Cc][Aa][Pp]_)?[Aa][Ll][Ll]$"}}


def normalise_capability(name: str) -> str:
    """`cap_net_admin` and `NET_ADMIN` are the same capability to the container runtime."""
    return name.upper().removeprefix("CAP_")


class InitPrivilegedSettings(PolicySettings):
    roles: tuple[Role, ...] = (Role.INIT, Role.SIDECAR)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    level: Level = "baseline"
    """The Pod Security Standards level held to, for what the judged containers set or
    inherit from the pod and for the volumes they mount: `baseline` (no known privilege
    escalation) or `restricted` (baseline and current hardening: non-root, no privilege
    escalation, seccomp, `drop: [ALL]`, core volume types only)."""
    allowed_capabilities: tuple[str, ...] | None = Field(
        default=None, json_schema_extra={"items": _NOT_ALL}
    )
    """Capabilities a container may add; unset: the level's (baseline: AUDIT_WRITE, CHOWN,
    DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP,
    SETUID, SYS_CHROOT; restricted: NET_BIND_SERVICE). A list departs from the standard
    for every image: prefer an image exemption. `ALL` is never allowed."""
    extra_checks: tuple[ExtraCheck, ...] = ()
    """Checks beyond the level, each opt-in: `allowPrivilegeEscalation` denies
    `allowPrivilegeEscalation: true` at baseline (restricted requires false anyway);
    `procMount` denies `procMount: Unmasked` in a pod with `hostUsers: false` too, as
    restricted does (baseline allows it there)."""
    presets: dict[str, bool] = Field(
        default_factory=lambda: dict.fromkeys(PRESETS, True),
        json_schema_extra={
            "properties": {name: {"type": "boolean"} for name in PRESETS},
            "additionalProperties": False,
        },
    )
    """Shipped image exemptions for service-mesh init containers, which may add NET_ADMIN
    and NET_RAW and run as root, never in a pod with hostNetwork: true: `istio`
    (docker.io/istio/proxyv2, gcr.io/istio-release/proxyv2, gcr.io/istio-testing/proxyv2)
    and `linkerd` (cr.l5d.io/linkerd/proxy-init, ghcr.io/linkerd/proxy-init). Set one to
    false to switch it off."""
    _maps = merged_maps("presets")

    @field_validator("allowed_capabilities")
    @classmethod
    def _no_all(cls, capabilities: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if capabilities is None:
            return None
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
        return presets  # merged with the default (`PolicySettings`): a preset left out is on

    # Worked out once per configuration: asked on every request.
    @cached_property
    def allowed_set(self) -> frozenset[str]:
        """The capabilities a container may add, as written (Pod Security compares names as
        they are spelled)."""
        if self.allowed_capabilities is not None:
            return frozenset(self.allowed_capabilities)
        restricted = self.level == "restricted"
        return frozenset(RESTRICTED_CAPABILITIES if restricted else BASELINE_CAPABILITIES)

    @cached_property
    def restricted(self) -> bool:
        return self.level == "restricted"

    @cached_property
    def baseline_escalation(self) -> bool:
        """Whether `allowPrivilegeEscalation: true` is a finding at baseline too."""
        return "allowPrivilegeEscalation" in self.extra_checks

    @cached_property
    def strict_proc(self) -> bool:
        """Whether `procMount: Unmasked` is a finding in a user-namespace pod too."""
        return self.restricted or "procMount" in self.extra_checks

    def image_exemptions(self) -> tuple[ImageExemption, ...]:
        """Configured image exemptions, then those of the presets that are switched on."""
        presets = (e for name, on in self.presets.items() if on for e in PRESETS[name])
        return (*self.exemptions.images, *presets)


Record = Callable[[str, str, str], None]
"""Records one finding of a container: key, control, message."""


class _Pod:
    """What the checks of one request need to know about the pod, worked out once per pod."""

    __slots__ = ("apparmor", "linux", "security", "user_namespace", "volumes")

    def __init__(self, pod: PodView, *, restricted: bool) -> None:
        spec = pod.spec
        self.security = mapping(spec.get("securityContext"))
        # Pod Security skips the restricted checks of Linux-only fields for a Windows pod (the API
        # server refuses those fields there): `linux` is false only then. It relaxes some checks
        # in a user namespace (KEP-127), where root in the container is no user of the node.
        self.linux = not restricted or mapping(spec.get("os")).get("name") != "windows"
        self.user_namespace = spec.get("hostUsers") is False
        # Both are empty for nearly every pod: found so in one pass without building anything.
        self.apparmor = self.volumes = _NOTHING
        for key in pod.annotations:
            if key.startswith(APPARMOR_ANNOTATION):
                self.apparmor = _apparmor_annotations(pod.annotations)
                break
        for volume in pod.volumes.values():
            if "hostPath" in volume.raw or (
                restricted and RESTRICTED_VOLUMES.isdisjoint(volume.raw)
            ):
                self.volumes = _forbidden_volumes(pod.volumes, restricted=restricted)
                break


_NOTHING: dict[str, str] = {}


def _apparmor_annotations(annotations: dict[str, Any]) -> dict[str, str]:
    """The AppArmor annotations Pod Security forbids, by container name."""
    forbidden: dict[str, str] = {}
    for key, value in annotations.items():
        if key.startswith(APPARMOR_ANNOTATION) and not _allowed_annotation(value):
            forbidden[key[len(APPARMOR_ANNOTATION) :]] = text(value)
    return forbidden


def _allowed_annotation(value: Any) -> bool:
    return value in ("", "runtime/default") or text(value).startswith("localhost/")


def _forbidden_volumes(volumes: dict[str, Volume], *, restricted: bool) -> dict[str, str]:
    """The pod's volumes of a type the level forbids, with their type, by name."""
    forbidden: dict[str, str] = {}
    for name, volume in volumes.items():
        raw = volume.raw
        if "hostPath" in raw:
            forbidden[name] = "hostPath"
        elif restricted and RESTRICTED_VOLUMES.isdisjoint(raw):
            forbidden[name] = next((k for k in raw if k != "name"), "unknown")
    return forbidden


def _zero(value: Any) -> bool:
    """`runAsUser: 0` (and not `false`, which Python also compares equal to 0)."""
    return value == 0 and type(value) is not bool


def _selinux(options: Any) -> str:
    """What Pod Security forbids in seLinuxOptions (`type spc_t, user sysadm_u`), or ''."""
    options = mapping(options)
    if not options:
        return ""
    problems = []
    kind = options.get("type")
    if kind is not None and kind not in SELINUX_TYPES:
        problems.append(f"type {kind}")
    problems.extend(f"{field} {options[field]}" for field in ("user", "role") if options.get(field))
    return ", ".join(problems)


def evaluate(pod: PodView, _context: Context, settings: InitPrivilegedSettings) -> list[Finding]:
    """One finding per control that each judged container breaks; a pod-level field breaks it
    for every judged container that inherits it, in one finding about the pod."""
    judged = pod.select(settings.role_set)
    if not judged:
        return []
    facts = _Pod(pod, restricted=settings.restricted)
    found = _judge_pod(pod.spec, judged, facts, settings) if pod.spec else []
    for container in judged:
        _judge(container, facts, settings, found)
    return found


def _judge_pod(
    spec: dict[str, Any], judged: list[Container], facts: _Pod, settings: InitPrivilegedSettings
) -> list[Finding]:
    """The pod-level fields: check_hostNamespaces, check_sysctls, and the pod's securityContext
    as the container checks read it."""
    found = [
        _pod_finding(f"hostNamespaces:{field}", f"{field} is true", judged, judged)
        for field in _NAMESPACES
        if spec.get(field) is True
    ]
    security = facts.security
    if security:
        for sysctl in items(security.get("sysctls")):
            name = text(mapping(sysctl).get("name"))
            if name not in SAFE_SYSCTLS:
                what = f"securityContext.sysctls has {name}, not a safe one"
                found.append(_pod_finding(f"sysctls:{name}", what, judged, judged))
        _judge_pod_context(security, judged, facts, settings, found)
    return found


def _judge_pod_context(
    security: dict[str, Any],
    judged: list[Container],
    facts: _Pod,
    settings: InitPrivilegedSettings,
    found: list[Finding],
) -> None:
    """The pod's securityContext: its value is what every container that sets none inherits."""

    def heirs(field: str, within: str = "") -> list[Container]:
        """The judged containers that do not set `field` (of `within`) themselves."""
        inheriting = []
        for container in judged:
            context = mapping(container.raw.get("securityContext"))
            if within:
                context = mapping(context.get(within))
            if context.get(field) is None:
                inheriting.append(container)
        return inheriting

    def report(key: str, what: str, inheriting: list[Container], fix: str = "remove it") -> None:
        found.append(_pod_finding(key, what, inheriting, judged, fix))

    restricted = settings.restricted
    seccomp = security.get("seccompProfile")
    kind = mapping(seccomp).get("type")
    if seccomp is not None and kind not in CONFINED and facts.linux:
        what = f"securityContext.seccompProfile.type is {kind}"
        report("seccompProfile", what, heirs("seccompProfile"), "use RuntimeDefault")
    apparmor = security.get("appArmorProfile")
    if apparmor is not None and (kind := mapping(apparmor).get("type")) not in CONFINED:
        what = f"securityContext.appArmorProfile.type is {kind}"
        report("appArmorProfile", what, heirs("appArmorProfile"), "use RuntimeDefault")
    if selinux := _selinux(security.get("seLinuxOptions")):
        what = f"securityContext.seLinuxOptions has {selinux}"
        report("seLinuxOptions", what, heirs("seLinuxOptions"))
    if mapping(security.get("windowsOptions")).get("hostProcess") is True:
        what = "securityContext.windowsOptions.hostProcess is true"
        report("windowsHostProcess", what, heirs("hostProcess", "windowsOptions"))
    if restricted and not facts.user_namespace:
        if security.get("runAsNonRoot") is False:
            what = "securityContext.runAsNonRoot is false"
            report("runAsNonRoot", what, heirs("runAsNonRoot"), "set it to true")
        if _zero(security.get("runAsUser")):
            what = "securityContext.runAsUser is 0"
            report("runAsUser", what, heirs("runAsUser"), "run as a non-zero user")


def _pod_finding(
    key: str,
    what: str,
    heirs: list[Container],
    judged: list[Container],
    fix: str = "remove it",
) -> Finding:
    """A finding about a pod-level field, naming the judged containers that inherit it. Pod
    Security forbids the pod's value even where every container overrides it; an exemption then
    has to cover every judged container."""
    # The names come last: a warning line too long for them keeps what to do.
    message = f"{what}; {fix}{inherited_by(heirs)}" if heirs else f"{what}; {fix}"
    control = key.partition(":")[0]
    return Finding(key, message, None, control=control, containers=tuple(heirs or judged))


def _judge(
    container: Container, facts: _Pod, settings: InitPrivilegedSettings, found: list[Finding]
) -> None:
    """Every control one container breaks, in the order of its fields."""
    raw = container.raw
    context = mapping(raw.get("securityContext"))
    restricted = settings.restricted
    # Most containers set none of what the level reads: they are done with in a few lookups.
    if not (context or restricted or facts.apparmor or facts.volumes) and _READ.isdisjoint(raw):
        return
    keys: set[str] = set()
    role = container.role

    def record(key: str, control: str, message: str) -> None:
        # Once per key: `NET_ADMIN` and `CAP_NET_ADMIN`, or two mounts of one volume, are one
        # privilege to drop (a set: a container may list thousands of capabilities).
        if key not in keys:
            keys.add(key)
            found.append(Finding(key, message, role, container, control=control))

    if context or restricted:
        _judge_context(context, facts, settings, record)
    if ports := raw.get("ports"):
        _judge_ports(ports, record)
    if not _HANDLED.isdisjoint(raw):
        _judge_handlers(raw, record)
    if facts.apparmor and (profile := facts.apparmor.get(container.name)) is not None:
        record(
            "appArmorProfile",
            "appArmorProfile",
            f"apparmor annotation is {profile}; use runtime/default or remove it",
        )
    if facts.volumes:
        for _, mount in container.volume_mounts:
            name = text(mount.get("name"))
            kind = facts.volumes.get(name)
            if kind == "hostPath":
                message = f'mounts hostPath volume "{name}"; use another volume type'
                record(f"hostPathVolumes:{name}", "hostPathVolumes", message)
            elif kind is not None:
                message = f'mounts {kind} volume "{name}", which restricted forbids; use a PVC'
                record(f"restrictedVolumes:{name}", "restrictedVolumes", message)


def _judge_context(
    context: dict[str, Any], facts: _Pod, settings: InitPrivilegedSettings, record: Record
) -> None:
    """The container's securityContext, with what it inherits from the pod's."""
    _judge_privileges(context, facts, settings, record)
    _judge_profiles(context, facts, settings, record)
    if settings.restricted and not facts.user_namespace:
        _judge_user(context, facts, record)


def _judge_privileges(
    context: dict[str, Any], facts: _Pod, settings: InitPrivilegedSettings, record: Record
) -> None:
    """check_privileged, check_allowPrivilegeEscalation, check_capabilities_*,
    check_procMount_*."""
    restricted, linux = settings.restricted, facts.linux
    if context.get("privileged") is True:
        record("privileged", "privileged", "securityContext.privileged is true; remove it")
    escalation = context.get("allowPrivilegeEscalation")
    if (restricted and linux and escalation is not False) or (
        not restricted and settings.baseline_escalation and escalation is True
    ):
        state = "true" if escalation is True else "not set"
        message = f"securityContext.allowPrivilegeEscalation is {state}; set it to false"
        record("allowPrivilegeEscalation", "allowPrivilegeEscalation", message)
    capabilities = context.get("capabilities")
    if linux and (capabilities or restricted):
        _judge_capabilities(mapping(capabilities), settings, record)
    proc = context.get("procMount")
    if (
        proc is not None
        and proc != "Default"
        and (settings.strict_proc or not facts.user_namespace)
    ):
        record("procMount", "procMount", f"securityContext.procMount is {proc}; remove it")


def _judge_profiles(
    context: dict[str, Any], facts: _Pod, settings: InitPrivilegedSettings, record: Record
) -> None:
    """check_seccompProfile_*, check_appArmorProfile, check_seLinuxOptions,
    check_windowsHostProcess."""
    restricted, linux = settings.restricted, facts.linux
    seccomp = context.get("seccompProfile")
    if seccomp is not None:
        kind = mapping(seccomp).get("type")
        if kind not in CONFINED and linux:
            message = f"securityContext.seccompProfile.type is {kind}; use RuntimeDefault"
            record("seccompProfile", "seccompProfile", message)
    elif restricted and linux and facts.security.get("seccompProfile") is None:
        message = "securityContext.seccompProfile is not set, nor on the pod; set RuntimeDefault"
        record("seccompProfile", "seccompProfile", message)
    apparmor = context.get("appArmorProfile")
    if apparmor is not None and (kind := mapping(apparmor).get("type")) not in CONFINED:
        message = f"securityContext.appArmorProfile.type is {kind}; use RuntimeDefault"
        record("appArmorProfile", "appArmorProfile", message)
    if (selinux := context.get("seLinuxOptions")) and (problems := _selinux(selinux)):
        message = f"securityContext.seLinuxOptions has {problems}; remove it"
        record("seLinuxOptions", "seLinuxOptions", message)
    if (windows := context.get("windowsOptions")) and mapping(windows).get("hostProcess") is True:
        message = "securityContext.windowsOptions.hostProcess is true; remove it"
        record("windowsHostProcess", "windowsHostProcess", message)


def _judge_user(context: dict[str, Any], facts: _Pod, record: Record) -> None:
    """check_runAsNonRoot and check_runAsUser (restricted, outside a user namespace). A container
    that sets nothing inherits the pod's value; the pod's `false` or `0` is a finding of its own."""
    non_root = context.get("runAsNonRoot")
    if non_root is None:
        if facts.security.get("runAsNonRoot") is None:
            message = "securityContext.runAsNonRoot is not set, nor on the pod; set it to true"
            record("runAsNonRoot", "runAsNonRoot", message)
    elif non_root is not True:
        message = f"securityContext.runAsNonRoot is {_json(non_root)}; set it to true"
        record("runAsNonRoot", "runAsNonRoot", message)
    if _zero(context.get("runAsUser")):
        message = "securityContext.runAsUser is 0; run as a non-zero user"
        record("runAsUser", "runAsUser", message)


def _json(value: Any) -> str:
    return "false" if value is False else str(value)


def _judge_capabilities(
    capabilities: dict[str, Any], settings: InitPrivilegedSettings, record: Record
) -> None:
    """check_capabilities_baseline and _restricted. Pod Security compares names as written; the
    runtime reads `cap_sys_admin` as SYS_ADMIN, so keys use the runtime's name, and an allowed
    capability spelled otherwise is a finding that says how to write it."""
    allowed = settings.allowed_set
    if capabilities:
        for value in items(capabilities.get("add")):
            name = text(value)
            if name in allowed:
                continue
            normal = normalise_capability(name)
            if normal in allowed:
                message = f"capabilities.add has {name}; write it {normal}"
            else:
                message = f"capabilities.add has {normal}; drop it"
            record(f"capability:{normal}", "capabilities", message)
    if settings.restricted:
        dropped = items(capabilities.get("drop")) if capabilities else []
        if "ALL" not in dropped:
            spelled = next((d for d in dropped if normalise_capability(text(d)) == "ALL"), None)
            if spelled is not None:
                message = f"capabilities.drop has {spelled}; write it ALL"
            else:
                message = "capabilities.drop does not have ALL; add drop: [ALL]"
            record("capabilities", "capabilities", message)


def _judge_ports(ports: Any, record: Record) -> None:
    """check_hostPorts: any hostPort but 0."""
    bound = [
        (index, port["hostPort"])
        for index, port in enumerate(items(ports))
        if isinstance(port, dict) and port.get("hostPort")
    ]
    if bound:
        index, number = bound[0]
        more = f" (and {len(bound) - 1} more)" if len(bound) > 1 else ""
        message = f"ports[{index}].hostPort is {number}{more}; remove it"
        record("hostPorts", "hostPorts", message)


def _judge_handlers(raw: dict[str, Any], record: Record) -> None:
    """check_hostProbesAndhostLifecycle: no probe or lifecycle handler names a `host` (they
    exist on native sidecars: the API server refuses them on other init containers)."""
    hosts: list[tuple[str, str]] = []
    handlers = [(probe, mapping(raw.get(probe))) for probe in _PROBES]
    lifecycle = mapping(raw.get("lifecycle"))
    handlers.extend((f"lifecycle.{hook}", mapping(lifecycle.get(hook))) for hook in _HOOKS)
    for path, handler in handlers:
        for action in ("httpGet", "tcpSocket"):
            host = mapping(handler.get(action)).get("host") if handler else None
            if host:
                hosts.append((f"{path}.{action}.host", text(host)))
    if hosts:
        path, host = hosts[0]
        more = f" (and {len(hosts) - 1} more)" if len(hosts) > 1 else ""
        message = f"{path} is {host}{more}; remove it"
        record("hostProbesAndHostLifecycle", "hostProbesAndHostLifecycle", message)


POLICY: Policy[InitPrivilegedSettings] = Policy(
    id="init-privileged",
    kind="validate",
    summary="Init containers and native sidecars meet a Pod Security Standards level (baseline).",
    remedy="Drop the privileges, or ask the platform team for a scoped image exemption.",
    settings=InitPrivilegedSettings,
    evaluate=evaluate,
    renamed_keys=(
        ("hostPathWrite", "hostPathVolumes"),
        ("seccompUnconfined", "seccompProfile"),
        ("hostProcess", "windowsHostProcess"),
    ),
)
