"""init-privileged as CEL: every Pod Security control the webhook checks (policies/
init_privileged.py) on the judged containers, the pod fields they inherit and the volumes they
mount, at the configured level and extra checks, with Windows pods and user namespaces relaxed
as the webhook relaxes them; each finding is lifted by the image exemptions (the presets
included) that cover its key or its control, a pod-level one only when they cover every
container it concerns.

One validation per control: its variable holds the control's finding texts, its message joins
them in the webhook's words. What cannot be the same is listed, and tested as such, in
tests/webhook/native/test_privileged.py (`KNOWN_DIFFERENCES`).
"""

from __future__ import annotations

from policies import init_privileged as reference
from policies.init_privileged import InitPrivilegedSettings
from webhook.native.builders import Expression
from webhook.native.container_findings import CONTAINERS, POD_FIELDS
from webhook.native.list_findings import DROPPED, LISTS
from webhook.native.literals import Setting, path
from webhook.native.pod_facts import FACTS

ID = reference.POLICY.id
RENAMED = reference.POLICY.renamed_keys
"""Finding keys of an earlier initgate: an image exemption's `allow` naming the old one covers
the new one. The `exemptions` variable (`literals.exemptions`; the chart's
`initgate.nativeImages` helper) then holds, for this policy: the global image exemptions, the
policy's own, and the images of each preset switched on (`reference.PRESETS`: each repository
followed by `:*` and by `@*`, allowing the mesh keys, except on the node's network), each
`allow` extended with these renamed keys."""
_AT = ("policies", ID)


def settings_of(settings: InitPrivilegedSettings) -> list[Setting]:
    """The policy's settings, as the literal variables its expressions read (the presets are
    among the image exemptions, `literals.exemptions`)."""
    allowed = settings.allowed_capabilities
    return [
        Setting("roles", [r.value for r in settings.roles], path(*_AT, "roles")),
        Setting("level", settings.level, path(*_AT, "level")),
        # Unset (null): the level's. As the webhook's settings hold them: normalised.
        Setting(
            "allowedCapabilities",
            list(allowed) if allowed is not None else None,
            f'include "initgate.nativeCapabilities" ({path(*_AT, "allowedCapabilities")})'
            " | fromJsonArray",
        ),
        Setting("extraChecks", list(settings.extra_checks), path(*_AT, "extraChecks")),
    ]


REMEDIES: dict[str, str] = {
    "hostNamespaces": "remove hostNetwork, hostPID and hostIPC from the pod",
    "privileged": "remove securityContext.privileged",
    "capabilities": "add only the capabilities the level allows (restricted: drop ALL)",
    "hostPathVolumes": "mount no hostPath volume",
    "hostPorts": "remove the hostPorts",
    "appArmorProfile": "use the RuntimeDefault AppArmor profile",
    "seLinuxOptions": "remove the SELinux type, user and role",
    "procMount": "remove securityContext.procMount",
    "seccompProfile": "set the RuntimeDefault seccomp profile",
    "sysctls": "set only safe sysctls",
    "windowsHostProcess": "remove windowsOptions.hostProcess",
    "hostProbesAndHostLifecycle": "remove the hosts of probes and lifecycle handlers",
    "restrictedVolumes": "mount only the volume types restricted allows",
    "allowPrivilegeEscalation": "set securityContext.allowPrivilegeEscalation to false",
    "runAsNonRoot": "set securityContext.runAsNonRoot to true",
    "runAsUser": "run as a non-zero user",
}
"""Each control (in the order of the Pod Security Standards), with what its static message says
to do: the one the API server shows when a messageExpression cannot be used (over 5120 bytes)."""


def _findings(control: str) -> str:
    parts = [f"({found[control]})" for found in (CONTAINERS, LISTS) if control in found]
    if control in POD_FIELDS:
        parts.insert(0, f"variables.{control}OfPod")
    return " + ".join(parts)


VARIABLES: list[Expression] = [
    *FACTS,
    *({"name": f"{control}OfPod", "expression": found} for control, found in POD_FIELDS.items()),
    {"name": "capabilitiesDropped", "expression": DROPPED},
    *({"name": control, "expression": _findings(control)} for control in REMEDIES),
]
VALIDATIONS: list[dict[str, str]] = [
    {
        "expression": f"variables.{control}.size() == 0",
        "messageExpression": f"'{ID}: ' + variables.{control}.join(' | ')",
        "message": f"{ID}: {control}: {remedy}.",
        "reason": "Forbidden",
    }
    for control, remedy in REMEDIES.items()
]
