"""The Pod Security Standards as cases: for every control of both levels, failing and passing
variants on a regular init container, a native sidecar, an app container and the pod, each with the
verdict Pod Security admission (PSA) gives on the pod with its app containers made neutral.

The verdicts are read off PSA's check sources (`k8s.io/pod-security-admission/policy`, the newest
release, policy version v1.37; each control cites its check function): PSA cannot run here, so this
table is the oracle, and tests/policies/test_pod_security.py holds init-privileged to it.

Every case starts from `neutral()`, a pod both levels admit, and changes one thing. The init
container and the sidecar take runAsNonRoot and seccomp from the pod; the app container sets its
own, so that a case that takes them away from the pod leaves the app neutral. A change applied to
the app container is a violation of the app's alone: PSA denies the pod for it, initgate leaves it
to the app's owners (with the app made neutral, PSA admits the pod too).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from tests.support.reviews import LIMITED

Level = Literal["baseline", "restricted"]
LEVELS: tuple[Level, ...] = ("baseline", "restricted")
Where = Literal["init", "sidecar", "app", "pod"]
TARGETS: dict[Where, str] = {"init": "setup", "sidecar": "logs", "app": "web"}
"""The container each container-level case changes, by role."""

Change = Callable[[dict[str, Any], str], None]
"""Changes a pod (a fresh copy of the neutral one), given the name of the target container."""

APPARMOR = "container.apparmor.security.beta.kubernetes.io/"
HARDENED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def neutral() -> dict[str, Any]:
    """A pod both levels admit."""
    init = {
        "name": "setup",
        "image": "busybox:1.36",
        "command": ["sh", "-c", "true"],
        "resources": copy.deepcopy(LIMITED),
        "securityContext": copy.deepcopy(HARDENED),
    }
    sidecar = {
        "name": "logs",
        "image": "fluent/fluent-bit:3.1",
        "restartPolicy": "Always",
        "resources": copy.deepcopy(LIMITED),
        "securityContext": copy.deepcopy(HARDENED),
    }
    app = {
        "name": "web",
        "image": "nginx:1.27",
        "resources": copy.deepcopy(LIMITED),
        "securityContext": {
            **copy.deepcopy(HARDENED),
            "runAsNonRoot": True,
            "runAsUser": 101,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {
            "initContainers": [init, sidecar],
            "containers": [app],
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        },
    }


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod["spec"]
    return [*spec["initContainers"], *spec["containers"]]


def _target(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in _containers(pod) if c["name"] == name)


def context(**fields: Any) -> Change:
    """Set fields of the target container's securityContext."""

    def change(pod: dict[str, Any], name: str) -> None:
        _target(pod, name).setdefault("securityContext", {}).update(copy.deepcopy(fields))

    return change


def without(*fields: str) -> Change:
    """Remove fields from the target container's securityContext."""

    def change(pod: dict[str, Any], name: str) -> None:
        for field in fields:
            _target(pod, name)["securityContext"].pop(field, None)

    return change


def container(**fields: Any) -> Change:
    """Set fields of the target container."""

    def change(pod: dict[str, Any], name: str) -> None:
        _target(pod, name).update(copy.deepcopy(fields))

    return change


def annotation(value: str) -> Change:
    """The deprecated AppArmor annotation, for the target container."""

    def change(pod: dict[str, Any], name: str) -> None:
        pod["metadata"].setdefault("annotations", {})[APPARMOR + name] = value

    return change


def volume(source: dict[str, Any], *, read_only: bool = False) -> Change:
    """A volume "v" of `source` type, mounted by the target container."""

    def change(pod: dict[str, Any], name: str) -> None:
        pod["spec"].setdefault("volumes", []).append({"name": "v", **copy.deepcopy(source)})
        mount = {"name": "v", "mountPath": "/v", **({"readOnly": True} if read_only else {})}
        _target(pod, name).setdefault("volumeMounts", []).append(mount)

    return change


def pod_context(**fields: Any) -> Change:
    """Set fields of the pod's securityContext (None removes one)."""

    def change(pod: dict[str, Any], _: str) -> None:
        security = pod["spec"]["securityContext"]
        for field, value in fields.items():
            if value is None:
                security.pop(field, None)
            else:
                security[field] = copy.deepcopy(value)

    return change


def spec(**fields: Any) -> Change:
    """Set fields of the pod spec."""

    def change(pod: dict[str, Any], _: str) -> None:
        pod["spec"].update(copy.deepcopy(fields))

    return change


def everywhere(**fields: Any) -> Change:
    """Set fields of every container's securityContext."""

    def change(pod: dict[str, Any], _: str) -> None:
        for each in _containers(pod):
            each.setdefault("securityContext", {}).update(copy.deepcopy(fields))

    return change


def both(*changes: Change) -> Change:
    def change(pod: dict[str, Any], name: str) -> None:
        for each in changes:
            each(pod, name)

    return change


def windows() -> Change:
    """A Windows pod, without the Linux-only fields the API server refuses there."""

    def change(pod: dict[str, Any], _: str) -> None:
        pod["spec"]["os"] = {"name": "windows"}
        pod["spec"]["securityContext"].pop("seccompProfile")
        for each in _containers(pod):
            each["securityContext"] = {"runAsNonRoot": True}

    return change


@dataclass(frozen=True)
class Variant:
    """One change to the neutral pod, with PSA's verdicts."""

    control: str
    scope: Literal["container", "pod"]
    """`container`: applied to the init container, the sidecar and the app container in turn."""
    field: str
    """The field it sets, relative to the container or the pod spec (as docs/policies.md
    writes it)."""
    name: str
    change: Change
    admits: tuple[bool, bool]
    """PSA's verdict at baseline and at restricted."""
    key: str = ""
    """initgate's finding key where PSA denies."""


@dataclass(frozen=True)
class Control:
    name: str
    level: Level
    """The level that first holds a pod to it."""
    check: str
    """PSA's check: file and function (policy version)."""


CONTROLS = (
    Control("hostNamespaces", "baseline", "check_hostNamespaces.go hostNamespaces_1_0"),
    Control("privileged", "baseline", "check_privileged.go privileged_1_0"),
    Control(
        "capabilities",
        "baseline",
        "check_capabilities_baseline.go capabilitiesBaseline_1_0, "
        "check_capabilities_restricted.go capabilitiesRestricted_1_25",
    ),
    Control("hostPathVolumes", "baseline", "check_hostPathVolumes.go hostPathVolumes_1_0"),
    Control("hostPorts", "baseline", "check_hostPorts.go hostPorts_1_0"),
    Control("appArmorProfile", "baseline", "check_appArmorProfile.go appArmorProfile_1_0"),
    Control(
        "seLinuxOptions", "baseline", "check_seLinuxOptions.go seLinuxOptions_1_0 (1.31 types)"
    ),
    Control(
        "procMount",
        "baseline",
        "check_procMount_baseline.go procMount_1_35_baseline, "
        "check_procMount_restricted.go procMount_1_35_restricted",
    ),
    Control(
        "seccompProfile",
        "baseline",
        "check_seccompProfile_baseline.go seccompProfileBaseline_1_19, "
        "check_seccompProfile_restricted.go seccompProfileRestrictedV1Dot25",
    ),
    Control("sysctls", "baseline", "check_sysctls.go (1.37 safe set)"),
    Control("windowsHostProcess", "baseline", "check_windowsHostProcess.go windowsHostProcess_1_0"),
    Control(
        "hostProbesAndHostLifecycle",
        "baseline",
        "check_hostProbesAndhostLifecycle.go hostProbesAndHostLifecycleV1Dot34",
    ),
    Control("restrictedVolumes", "restricted", "check_restrictedVolumes.go restrictedVolumes_1_0"),
    Control(
        "allowPrivilegeEscalation",
        "restricted",
        "check_allowPrivilegeEscalation.go allowPrivilegeEscalation_1_25",
    ),
    Control("runAsNonRoot", "restricted", "check_runAsNonRoot.go runAsNonRoot (1.35)"),
    Control("runAsUser", "restricted", "check_runAsUser.go runAsUser (1.35)"),
)

DENY, RESTRICTED_ONLY, ADMIT = (False, False), (True, False), (True, True)
SC = "securityContext"
NFS = {"nfs": {"server": "nfs.example.com", "path": "/exports"}}
PROBE = {"httpGet": {"path": "/", "port": 8080}}

VARIANTS = (
    # check_hostNamespaces.go hostNamespaces_1_0: spec.hostNetwork, hostPID, hostIPC not true.
    Variant("hostNamespaces", "pod", "hostNetwork", "host-network", spec(hostNetwork=True),
            DENY, "hostNamespaces:hostNetwork"),
    Variant("hostNamespaces", "pod", "hostPID", "host-pid", spec(hostPID=True),
            DENY, "hostNamespaces:hostPID"),
    Variant("hostNamespaces", "pod", "hostIPC", "host-ipc", spec(hostIPC=True),
            DENY, "hostNamespaces:hostIPC"),
    Variant("hostNamespaces", "pod", "hostNetwork", "host-network-false",
            spec(hostNetwork=False), ADMIT),
    # check_privileged.go privileged_1_0: every container; undefined or false.
    Variant("privileged", "container", f"{SC}.privileged", "privileged",
            context(privileged=True), DENY, "privileged"),
    Variant("privileged", "container", f"{SC}.privileged", "privileged-false",
            context(privileged=False), ADMIT),
    # capabilitiesBaseline_1_0: add only from the 13 of capabilities_allowed_1_0, as written.
    # capabilitiesRestricted_1_25: drop must include "ALL", add only "NET_BIND_SERVICE".
    Variant("capabilities", "container", f"{SC}.capabilities.add", "add-sys-admin",
            context(capabilities={"add": ["SYS_ADMIN"], "drop": ["ALL"]}),
            DENY, "capability:SYS_ADMIN"),
    Variant("capabilities", "container", f"{SC}.capabilities.add", "add-net-raw",
            context(capabilities={"add": ["NET_RAW"], "drop": ["ALL"]}),
            DENY, "capability:NET_RAW"),
    Variant("capabilities", "container", f"{SC}.capabilities.add", "add-chown",
            context(capabilities={"add": ["CHOWN"], "drop": ["ALL"]}),
            RESTRICTED_ONLY, "capability:CHOWN"),
    Variant("capabilities", "container", f"{SC}.capabilities.add", "add-net-bind-service",
            context(capabilities={"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}), ADMIT),
    Variant("capabilities", "container", f"{SC}.capabilities.drop", "no-capabilities",
            without("capabilities"), RESTRICTED_ONLY, "capabilities"),
    Variant("capabilities", "container", f"{SC}.capabilities.drop", "drop-net-raw-only",
            context(capabilities={"drop": ["NET_RAW"]}), RESTRICTED_ONLY, "capabilities"),
    # Spellings: the runtime reads `cap_sys_admin` and `sys_admin` as SYS_ADMIN; PSA compares the
    # names as written, so an allowed capability spelled otherwise is denied too.
    Variant("capabilities", "container", f"{SC}.capabilities.add", "spelled-cap-sys-admin",
            context(capabilities={"add": ["cap_sys_admin"], "drop": ["ALL"]}),
            DENY, "capability:SYS_ADMIN"),
    Variant("capabilities", "container", f"{SC}.capabilities.add", "spelled-sys-admin",
            context(capabilities={"add": ["sys_admin"], "drop": ["ALL"]}),
            DENY, "capability:SYS_ADMIN"),
    Variant("capabilities", "container", f"{SC}.capabilities.add", "spelled-chown",
            context(capabilities={"add": ["chown"], "drop": ["ALL"]}), DENY, "capability:CHOWN"),
    Variant("capabilities", "container", f"{SC}.capabilities.add", "spelled-cap-chown",
            context(capabilities={"add": ["CAP_CHOWN"], "drop": ["ALL"]}),
            DENY, "capability:CHOWN"),
    Variant("capabilities", "container", f"{SC}.capabilities.add", "spelled-net-bind-service",
            context(capabilities={"add": ["net_bind_service"], "drop": ["ALL"]}),
            DENY, "capability:NET_BIND_SERVICE"),
    Variant("capabilities", "container", f"{SC}.capabilities.drop", "spelled-drop-all",
            context(capabilities={"drop": ["all"]}), RESTRICTED_ONLY, "capabilities"),
    # capabilitiesRestricted_1_25: a Windows pod is not held to it (nor to the two below).
    Variant("capabilities", "pod", "os.name", "windows", windows(), ADMIT),
    # check_hostPathVolumes.go hostPathVolumes_1_0 (restricted: restrictedVolumes_1_0), read-only
    # or not. initgate judges the volumes a judged container mounts.
    Variant("hostPathVolumes", "container", "volumes[].hostPath", "host-path",
            volume({"hostPath": {"path": "/var/log"}}), DENY, "hostPathVolumes:v"),
    Variant("hostPathVolumes", "container", "volumes[].hostPath", "host-path-read-only",
            volume({"hostPath": {"path": "/var/log"}}, read_only=True), DENY, "hostPathVolumes:v"),
    Variant("hostPathVolumes", "container", "volumes[].hostPath", "empty-dir",
            volume({"emptyDir": {}}), ADMIT),
    # check_hostPorts.go hostPorts_1_0: every container; undefined or 0.
    Variant("hostPorts", "container", "ports[].hostPort", "host-port",
            container(ports=[{"containerPort": 8080, "hostPort": 8080}]), DENY, "hostPorts"),
    Variant("hostPorts", "container", "ports[].hostPort", "container-port-only",
            container(ports=[{"containerPort": 8080}]), ADMIT),
    Variant("hostPorts", "container", "ports[].hostPort", "host-port-zero",
            container(ports=[{"containerPort": 8080, "hostPort": 0}]), ADMIT),
    # check_appArmorProfile.go appArmorProfile_1_0: fields RuntimeDefault or Localhost; the
    # annotation empty, runtime/default or localhost/*.
    Variant("appArmorProfile", "container", f"{SC}.appArmorProfile.type", "unconfined",
            context(appArmorProfile={"type": "Unconfined"}), DENY, "appArmorProfile"),
    Variant("appArmorProfile", "container", f"{SC}.appArmorProfile.type", "runtime-default",
            context(appArmorProfile={"type": "RuntimeDefault"}), ADMIT),
    Variant("appArmorProfile", "container", f"{SC}.appArmorProfile.type", "localhost",
            context(appArmorProfile={"type": "Localhost", "localhostProfile": "k8s-init"}), ADMIT),
    Variant("appArmorProfile", "container", f"annotations[{APPARMOR}NAME]", "annotation-unconfined",
            annotation("unconfined"), DENY, "appArmorProfile"),
    Variant("appArmorProfile", "container", f"annotations[{APPARMOR}NAME]", "annotation-default",
            annotation("runtime/default"), ADMIT),
    Variant("appArmorProfile", "container", f"annotations[{APPARMOR}NAME]",
            "annotation-localhost", annotation("localhost/k8s-init"), ADMIT),
    Variant("appArmorProfile", "pod", f"{SC}.appArmorProfile.type", "pod-unconfined",
            pod_context(appArmorProfile={"type": "Unconfined"}), DENY, "appArmorProfile"),
    Variant("appArmorProfile", "pod", f"{SC}.appArmorProfile.type",
            "pod-unconfined-every-container-overrides",
            both(pod_context(appArmorProfile={"type": "Unconfined"}),
                 everywhere(appArmorProfile={"type": "RuntimeDefault"})),
            DENY, "appArmorProfile"),
    Variant("appArmorProfile", "pod", f"{SC}.appArmorProfile.type", "pod-runtime-default",
            pod_context(appArmorProfile={"type": "RuntimeDefault"}), ADMIT),
    # check_seLinuxOptions.go seLinuxOptions_1_0 with selinuxAllowedTypes1_31: type "",
    # container_t, container_init_t, container_kvm_t, container_engine_t; no user, no role.
    Variant("seLinuxOptions", "container", f"{SC}.seLinuxOptions", "type-spc",
            context(seLinuxOptions={"type": "spc_t"}), DENY, "seLinuxOptions"),
    Variant("seLinuxOptions", "container", f"{SC}.seLinuxOptions", "user",
            context(seLinuxOptions={"user": "system_u"}), DENY, "seLinuxOptions"),
    Variant("seLinuxOptions", "container", f"{SC}.seLinuxOptions", "role",
            context(seLinuxOptions={"role": "system_r"}), DENY, "seLinuxOptions"),
    Variant("seLinuxOptions", "container", f"{SC}.seLinuxOptions", "type-engine",
            context(seLinuxOptions={"type": "container_engine_t"}), ADMIT),
    Variant("seLinuxOptions", "container", f"{SC}.seLinuxOptions", "type-init-and-level",
            context(seLinuxOptions={"type": "container_init_t", "level": "s0:c123,c456"}), ADMIT),
    Variant("seLinuxOptions", "pod", f"{SC}.seLinuxOptions", "pod-type-spc",
            pod_context(seLinuxOptions={"type": "spc_t"}), DENY, "seLinuxOptions"),
    Variant("seLinuxOptions", "pod", f"{SC}.seLinuxOptions", "pod-level-only",
            pod_context(seLinuxOptions={"level": "s0:c123,c456"}), ADMIT),
    # procMount_1_35_baseline: Default or undefined, anything in a pod with hostUsers: false;
    # procMount_1_35_restricted: Default or undefined, always.
    Variant("procMount", "container", f"{SC}.procMount", "unmasked",
            context(procMount="Unmasked"), DENY, "procMount"),
    Variant("procMount", "container", f"{SC}.procMount", "unmasked-user-namespace",
            both(context(procMount="Unmasked"), spec(hostUsers=False)),
            RESTRICTED_ONLY, "procMount"),
    Variant("procMount", "container", f"{SC}.procMount", "default",
            context(procMount="Default"), ADMIT),
    Variant("procMount", "pod", "hostUsers", "user-namespace", spec(hostUsers=False), ADMIT),
    # seccompProfileBaseline_1_19: RuntimeDefault, Localhost or undefined, pod and containers
    # (the pod's value even where containers override it). seccompProfileRestrictedV1Dot25: set
    # on the pod or on every container; a Windows pod is not held to it.
    Variant("seccompProfile", "container", f"{SC}.seccompProfile.type", "unconfined",
            context(seccompProfile={"type": "Unconfined"}), DENY, "seccompProfile"),
    Variant("seccompProfile", "container", f"{SC}.seccompProfile.type", "runtime-default",
            context(seccompProfile={"type": "RuntimeDefault"}), ADMIT),
    Variant("seccompProfile", "container", f"{SC}.seccompProfile.type", "localhost",
            context(seccompProfile={"type": "Localhost", "localhostProfile": "init.json"}), ADMIT),
    Variant("seccompProfile", "pod", f"{SC}.seccompProfile.type", "pod-unconfined",
            pod_context(seccompProfile={"type": "Unconfined"}), DENY, "seccompProfile"),
    Variant("seccompProfile", "pod", f"{SC}.seccompProfile.type",
            "pod-unconfined-every-container-overrides",
            both(pod_context(seccompProfile={"type": "Unconfined"}),
                 everywhere(seccompProfile={"type": "RuntimeDefault"})),
            DENY, "seccompProfile"),
    Variant("seccompProfile", "pod", f"{SC}.seccompProfile.type", "pod-unset",
            pod_context(seccompProfile=None), RESTRICTED_ONLY, "seccompProfile"),
    Variant("seccompProfile", "pod", f"{SC}.seccompProfile.type",
            "pod-unset-every-container-sets-it",
            both(pod_context(seccompProfile=None),
                 everywhere(seccompProfile={"type": "RuntimeDefault"})), ADMIT),
    Variant("seccompProfile", "pod", "os.name", "windows", windows(), ADMIT),
    # check_sysctls.go, sysctlsAllowedV1Dot37.
    Variant("sysctls", "pod", f"{SC}.sysctls[].name", "kernel-msgmax",
            pod_context(sysctls=[{"name": "kernel.msgmax", "value": "65536"}]),
            DENY, "sysctls:kernel.msgmax"),
    Variant("sysctls", "pod", f"{SC}.sysctls[].name", "net-core-somaxconn",
            pod_context(sysctls=[{"name": "net.core.somaxconn", "value": "1024"}]),
            DENY, "sysctls:net.core.somaxconn"),
    Variant("sysctls", "pod", f"{SC}.sysctls[].name", "safe-unprivileged-port-start",
            pod_context(sysctls=[{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]),
            ADMIT),
    Variant("sysctls", "pod", f"{SC}.sysctls[].name", "safe-tcp-rmem",
            pod_context(sysctls=[{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"}]),
            ADMIT),
    Variant("sysctls", "pod", f"{SC}.sysctls[].name", "safe-tcp-notsent-lowat",
            pod_context(sysctls=[{"name": "net.ipv4.tcp_notsent_lowat", "value": "131072"}]),
            ADMIT),
    # check_windowsHostProcess.go windowsHostProcess_1_0: pod and containers, undefined or false.
    Variant("windowsHostProcess", "container", f"{SC}.windowsOptions.hostProcess",
            "host-process", context(windowsOptions={"hostProcess": True}),
            DENY, "windowsHostProcess"),
    Variant("windowsHostProcess", "container", f"{SC}.windowsOptions.hostProcess",
            "host-process-false", context(windowsOptions={"hostProcess": False}), ADMIT),
    Variant("windowsHostProcess", "pod", f"{SC}.windowsOptions.hostProcess", "pod-host-process",
            pod_context(windowsOptions={"hostProcess": True}), DENY, "windowsHostProcess"),
    Variant("windowsHostProcess", "pod", f"{SC}.windowsOptions.hostProcess",
            "pod-host-process-false", pod_context(windowsOptions={"hostProcess": False}), ADMIT),
    # hostProbesAndHostLifecycleV1Dot34: every container, no host in the probes' and lifecycle
    # handlers' httpGet and tcpSocket. The API server refuses probes and lifecycle hooks on
    # a regular init container before any admission: there the cases only show that initgate
    # and PSA would agree.
    Variant("hostProbesAndHostLifecycle", "container", "livenessProbe.ACTION.host",
            "liveness-http-host",
            container(livenessProbe={"httpGet": {"path": "/", "port": 8080, "host": "10.0.0.1"}}),
            DENY, "hostProbesAndHostLifecycle"),
    Variant("hostProbesAndHostLifecycle", "container", "readinessProbe.ACTION.host",
            "readiness-tcp-host",
            container(readinessProbe={"tcpSocket": {"port": 8080, "host": "db.example.com"}}),
            DENY, "hostProbesAndHostLifecycle"),
    Variant("hostProbesAndHostLifecycle", "container", "startupProbe.ACTION.host",
            "startup-http-host",
            container(startupProbe={"httpGet": {"port": 80, "host": "169.254.169.254"}}),
            DENY, "hostProbesAndHostLifecycle"),
    Variant("hostProbesAndHostLifecycle", "container", "lifecycle.postStart.ACTION.host",
            "post-start-tcp-host",
            container(lifecycle={"postStart": {"tcpSocket": {"port": 22, "host": "10.0.0.1"}}}),
            DENY, "hostProbesAndHostLifecycle"),
    Variant("hostProbesAndHostLifecycle", "container", "lifecycle.preStop.ACTION.host",
            "pre-stop-http-host",
            container(lifecycle={"preStop": {"httpGet": {"path": "/q", "port": 80, "host": "a"}}}),
            DENY, "hostProbesAndHostLifecycle"),
    Variant("hostProbesAndHostLifecycle", "container", "livenessProbe.ACTION.host",
            "liveness-without-host", container(livenessProbe=PROBE), ADMIT),
    # check_restrictedVolumes.go restrictedVolumes_1_0: configMap, csi, downwardAPI, emptyDir,
    # ephemeral, image, persistentVolumeClaim, projected and secret only.
    Variant("restrictedVolumes", "container", "volumes[].TYPE", "nfs", volume(NFS),
            RESTRICTED_ONLY, "restrictedVolumes:v"),
    Variant("restrictedVolumes", "container", "volumes[].TYPE", "git-repo",
            volume({"gitRepo": {"repository": "https://example.com/r.git"}}),
            RESTRICTED_ONLY, "restrictedVolumes:v"),
    Variant("restrictedVolumes", "container", "volumes[].TYPE", "iscsi",
            volume({"iscsi": {"targetPortal": "10.0.0.1:3260", "iqn": "iqn.2001-04.com.e:s",
                              "lun": 0}}),
            RESTRICTED_ONLY, "restrictedVolumes:v"),
    *(
        Variant("restrictedVolumes", "container", "volumes[].TYPE", kind, volume(source), ADMIT)
        for kind, source in (
            ("config-map", {"configMap": {"name": "c"}}),
            ("csi", {"csi": {"driver": "secrets-store.csi.k8s.io"}}),
            ("downward-api", {"downwardAPI": {"items": [
                {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}),
            ("empty-dir", {"emptyDir": {"sizeLimit": "1Gi"}}),
            ("ephemeral", {"ephemeral": {"volumeClaimTemplate": {"spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}}}}}}),
            ("image", {"image": {"reference": "quay.io/example/models:v1"}}),
            ("persistent-volume-claim", {"persistentVolumeClaim": {"claimName": "data"}}),
            ("projected", {"projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}),
            ("secret", {"secret": {"secretName": "s"}}),
        )
    ),
    # check_allowPrivilegeEscalation.go allowPrivilegeEscalation_1_25: false on every container
    # (undefined is not false); a Windows pod is not held to it.
    Variant("allowPrivilegeEscalation", "container", f"{SC}.allowPrivilegeEscalation", "true",
            context(allowPrivilegeEscalation=True), RESTRICTED_ONLY, "allowPrivilegeEscalation"),
    Variant("allowPrivilegeEscalation", "container", f"{SC}.allowPrivilegeEscalation", "unset",
            without("allowPrivilegeEscalation"), RESTRICTED_ONLY, "allowPrivilegeEscalation"),
    Variant("allowPrivilegeEscalation", "container", f"{SC}.allowPrivilegeEscalation", "false",
            context(allowPrivilegeEscalation=False), ADMIT),
    Variant("allowPrivilegeEscalation", "pod", "os.name", "windows", windows(), ADMIT),
    # runAsNonRoot (1.35): true on the pod or the container, a container's false overriding the
    # pod's true; the pod's false is denied even where every container sets true; not checked
    # in a pod with hostUsers: false.
    Variant("runAsNonRoot", "container", f"{SC}.runAsNonRoot", "false",
            context(runAsNonRoot=False), RESTRICTED_ONLY, "runAsNonRoot"),
    Variant("runAsNonRoot", "container", f"{SC}.runAsNonRoot", "true",
            context(runAsNonRoot=True), ADMIT),
    Variant("runAsNonRoot", "container", f"{SC}.runAsNonRoot", "false-user-namespace",
            both(context(runAsNonRoot=False), spec(hostUsers=False)), ADMIT),
    Variant("runAsNonRoot", "pod", f"{SC}.runAsNonRoot", "pod-false",
            pod_context(runAsNonRoot=False), RESTRICTED_ONLY, "runAsNonRoot"),
    Variant("runAsNonRoot", "pod", f"{SC}.runAsNonRoot", "pod-false-every-container-true",
            both(pod_context(runAsNonRoot=False), everywhere(runAsNonRoot=True)),
            RESTRICTED_ONLY, "runAsNonRoot"),
    Variant("runAsNonRoot", "pod", f"{SC}.runAsNonRoot", "pod-unset",
            pod_context(runAsNonRoot=None), RESTRICTED_ONLY, "runAsNonRoot"),
    Variant("runAsNonRoot", "pod", f"{SC}.runAsNonRoot", "pod-unset-every-container-true",
            both(pod_context(runAsNonRoot=None), everywhere(runAsNonRoot=True)), ADMIT),
    Variant("runAsNonRoot", "pod", "hostUsers", "pod-false-user-namespace",
            both(pod_context(runAsNonRoot=False), spec(hostUsers=False)), ADMIT),
    # runAsUser (1.35): never 0, on the pod (even where containers override it) or a container;
    # not checked in a pod with hostUsers: false.
    Variant("runAsUser", "container", f"{SC}.runAsUser", "root",
            context(runAsUser=0), RESTRICTED_ONLY, "runAsUser"),
    Variant("runAsUser", "container", f"{SC}.runAsUser", "non-root",
            context(runAsUser=1000), ADMIT),
    Variant("runAsUser", "container", f"{SC}.runAsUser", "root-user-namespace",
            both(context(runAsUser=0), spec(hostUsers=False)), ADMIT),
    Variant("runAsUser", "pod", f"{SC}.runAsUser", "pod-root",
            pod_context(runAsUser=0), RESTRICTED_ONLY, "runAsUser"),
    Variant("runAsUser", "pod", f"{SC}.runAsUser", "pod-root-every-container-overrides",
            both(pod_context(runAsUser=0), everywhere(runAsUser=1000)),
            RESTRICTED_ONLY, "runAsUser"),
    Variant("runAsUser", "pod", "hostUsers", "pod-root-user-namespace",
            both(pod_context(runAsUser=0), spec(hostUsers=False)), ADMIT),
)  # fmt: skip


@dataclass(frozen=True)
class Case:
    """A variant applied at one place: to one container, or to the pod."""

    variant: Variant
    where: Where

    @property
    def id(self) -> str:
        return f"{self.variant.control}-{self.variant.name}-{self.where}"

    def pod(self) -> dict[str, Any]:
        pod = neutral()
        self.variant.change(pod, TARGETS.get(self.where, ""))
        return pod

    def admits(self, level: Level) -> bool:
        """PSA's verdict on the pod with its app containers made neutral: a change to the app
        container alone leaves the neutral pod."""
        return self.where == "app" or self.variant.admits[LEVELS.index(level)]

    def keys(self, level: Level) -> set[str]:
        """initgate's finding keys at `level`."""
        return set() if self.admits(level) else {self.variant.key}


CASES = tuple(
    Case(variant, where)
    for variant in VARIANTS
    for where in (("init", "sidecar", "app") if variant.scope == "container" else ("pod",))
)
