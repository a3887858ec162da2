"""What several of init-privileged's controls read, worked out once per request as variables:
the constants of the Pod Security Standards, the judged containers, the level's relaxations,
the pod's unsafe sysctls and forbidden volumes, and per container what it lists (capabilities,
ports, volume mounts, probe hosts) read through `positions`."""

from __future__ import annotations

from policies import init_privileged as reference
from webhook.native.builders import Expression
from webhook.native.controls import POSITIONS, context, each, names, normalised, pod_context
from webhook.native.literals import literal

VOLUME_SOURCES = (
    *("awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "configMap", "csi"),
    *("downwardAPI", "emptyDir", "ephemeral", "fc", "flexVolume", "flocker"),
    *("gcePersistentDisk", "gitRepo", "glusterfs", "hostPath", "image", "iscsi", "nfs"),
    *("persistentVolumeClaim", "photonPersistentDisk", "portworxVolume", "projected"),
    *("quobyte", "rbd", "scaleIO", "secret", "storageos", "vsphereVolume"),
)
"""The sources a Kubernetes volume may have (core/v1 Volume): the type a message names."""


def _constant(name: str, value: object) -> Expression:
    return {"name": name, "expression": literal(value)}


_VOLUMES = "variables.spec.?volumes.orValue([])"
_KIND = (
    "(has(v.hostPath) ? 'hostPath' : variables.volumeSources.exists(t, t in v)"
    " ? variables.volumeSources.filter(t, t in v)[0] : 'unknown')"
)
_ADD = context("e", "capabilities", "add") + ".orValue([])"
_PORTS = "e.c.?ports.orValue([])"
_MOUNTS = "e.c.?volumeMounts.orValue([])"
_HANDLERS = (
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle.postStart",
    "lifecycle.preStop",
)
_HOSTS = " + ".join(
    f"(e.c.?{handler.replace('.', '.?')}.?{action}.?host.orValue('') != ''"
    f" ? ['{handler}.{action}.host is ' + string(e.c.{handler}.{action}.host)] : [])"
    for handler in _HANDLERS
    for action in ("httpGet", "tcpSocket")
)
FACTS: list[Expression] = [
    POSITIONS,
    _constant("safeSysctls", sorted(reference.SAFE_SYSCTLS)),
    _constant("seLinuxTypes", sorted(reference.SELINUX_TYPES)),
    _constant("restrictedVolumeTypes", sorted(reference.RESTRICTED_VOLUMES)),
    _constant("volumeSources", list(VOLUME_SOURCES)),
    {"name": "judged", "expression": "variables.containers.filter(e, e.role in variables.roles)"},
    {"name": "judgedNames", "expression": names("variables.judged")},
    {"name": "restricted", "expression": "variables.level == 'restricted'"},
    # Pod Security skips the restricted checks of Linux-only fields in a Windows pod.
    {
        "name": "linux",
        "expression": "!variables.restricted || variables.spec.?os.?name.orValue('') != 'windows'",
    },
    {"name": "userNamespace", "expression": "variables.spec.?hostUsers.orValue(true) == false"},
    {"name": "security", "expression": "variables.spec.?securityContext.orValue({})"},
    {
        "name": "allowed",
        "expression": (
            "variables.allowedCapabilities != null"
            f" ? variables.allowedCapabilities.map(c, {normalised('c')})"
            f" : variables.restricted ? {literal(list(reference.RESTRICTED_CAPABILITIES))}"
            f" : {literal(list(reference.BASELINE_CAPABILITIES))}"
        ),
    },
    {
        "name": "annotations",
        "expression": (
            "(object.kind == 'Pod' ? object.?metadata : object.kind == 'CronJob'"
            " ? object.spec.jobTemplate.spec.template.?metadata : object.spec.template.?metadata)"
            ".?annotations.orValue({})"
        ),
    },
    {
        "name": "unsafeSysctls",
        "expression": (
            f"{pod_context('sysctls')}.orValue([]).map(s, string(s.?name.orValue('')))"
            ".filter(n, !(n in variables.safeSysctls))"
        ),
    },
    # The pod's volumes of a type the level forbids; the containers that mount some, with the
    # names they mount.
    {
        "name": "forbidden",
        "expression": (
            f"{_VOLUMES}.filter(v, has(v.hostPath) || variables.restricted"
            " && !variables.restrictedVolumeTypes.exists(t, t in v))"
            f".map(v, {{'name': dyn(v.name), 'kind': dyn({_KIND})}})"
        ),
    },
    {"name": "forbiddenNames", "expression": "variables.forbidden.map(v, v.name)"},
    {"name": "forbiddenKinds", "expression": "variables.forbidden.map(v, v.kind)"},
    {
        "name": "mounting",
        "expression": (
            f"variables.forbidden.size() == 0 ? [] : variables.judged.filter(e, {_MOUNTS}"
            ".size() > 0).map(e, {'e': e, 'count': dyn(e.c.volumeMounts.size()), 'names': dyn("
            + each(_MOUNTS, "true")
            + ".map(k, string(e.c.volumeMounts[k].?name.orValue(''))))})"
        ),
    },
    # The judged containers that add a capability not allowed as written, with the finding key
    # of each entry ('' where it is allowed).
    {
        "name": "added",
        "expression": (
            "variables.linux ? variables.judged.filter(e, !sets.contains(variables.allowed, "
            f"{_ADD})).map(e, {{'e': e, 'add': {_ADD}, 'keys': dyn("
            + each(_ADD, "true")
            + f".map(k, {_ADD}[k] in variables.allowed ? '' : {normalised(f'{_ADD}[k]')}))}})"
            " : []"
        ),
    },
    {
        "name": "ported",
        "expression": (
            f"variables.judged.filter(e, {_PORTS}.size() > 0).map(e, {{'e': e,"
            " 'count': dyn(e.c.ports.size()), 'bound': dyn("
            + each("e.c.ports", "e.c.ports[k].?hostPort.orValue(0) != 0")
            + ")})"
        ),
    },
    {
        "name": "probed",
        "expression": (
            f"variables.judged.map(e, {{'e': e, 'hosts': dyn({_HOSTS})}})"
            ".filter(p, p.hosts.size() > 0)"
        ),
    },
]
"""What several controls read, worked out once per request."""
