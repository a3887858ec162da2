"""init-privileged's findings that are one per container, or one about the pod: the controls
that read a container's securityContext, and those that read the pod's securityContext too, whose
finding names the judged containers that inherit the pod's value."""

from __future__ import annotations

from webhook.native.controls import (
    CONFINED,
    context,
    inherited,
    judged,
    pod_context,
    selinux,
)

_ESCALATION = context("e", "allowPrivilegeEscalation")
_PROC = context("e", "procMount")
_SELINUX = selinux("e.c.?securityContext", "e.c.securityContext")
_ANNOTATION = "variables.annotations[?('container.apparmor.security.beta.kubernetes.io/' + e.name)]"
_APPARMOR = context("e", "appArmorProfile")
_APPARMOR_SET = (
    f"({_APPARMOR}.orValue(null) != null && !({_APPARMOR}.value().?type.orValue('') in {CONFINED}))"
)
_SECCOMP = context("e", "seccompProfile")
_NON_ROOT = context("e", "runAsNonRoot")

CONTAINERS: dict[str, str] = {
    "privileged": judged(
        f"{context('e', 'privileged')}.orValue(false) == true",
        key="'privileged'",
        control="privileged",
        message="'securityContext.privileged is true; remove it'",
    ),
    "allowPrivilegeEscalation": judged(
        f"(variables.restricted && variables.linux && {_ESCALATION}.orValue(true) != false"
        " || !variables.restricted && 'allowPrivilegeEscalation' in variables.extraChecks"
        f" && {_ESCALATION}.orValue(false) == true)",
        key="'allowPrivilegeEscalation'",
        control="allowPrivilegeEscalation",
        message=(
            "'securityContext.allowPrivilegeEscalation is '"
            f" + ({_ESCALATION}.orValue(false) == true ? 'true' : 'not set') + '; set it to false'"
        ),
    ),
    "procMount": "variables.restricted || 'procMount' in variables.extraChecks"
    " || !variables.userNamespace ? "
    + judged(
        f"{_PROC}.orValue('Default') != 'Default'",
        key="'procMount'",
        control="procMount",
        message=f"'securityContext.procMount is ' + string({_PROC}.value()) + '; remove it'",
    )
    + " : []",
    "seccompProfile": "variables.linux ? "
    + judged(
        f"({_SECCOMP}.orValue(null) != null"
        f" ? !({_SECCOMP}.value().?type.orValue('') in {CONFINED})"
        f" : variables.restricted && {pod_context('seccompProfile')}.orValue(null) == null)",
        key="'seccompProfile'",
        control="seccompProfile",
        message=(
            f"({_SECCOMP}.orValue(null) != null ? 'securityContext.seccompProfile.type is '"
            f" + string({_SECCOMP}.value().?type.orValue('None')) + '; use RuntimeDefault'"
            " : 'securityContext.seccompProfile is not set, nor on the pod; set RuntimeDefault')"
        ),
    )
    + " : []",
    "appArmorProfile": judged(
        f"({_APPARMOR_SET} || {_ANNOTATION}.hasValue()"
        f" && !({_ANNOTATION}.value() in ['', 'runtime/default']"
        f" || string({_ANNOTATION}.value()).startsWith('localhost/')))",
        key="'appArmorProfile'",
        control="appArmorProfile",
        message=(
            f"({_APPARMOR_SET} ? 'securityContext.appArmorProfile.type is '"
            f" + string({_APPARMOR}.value().?type.orValue('None')) + '; use RuntimeDefault'"
            f" : 'apparmor annotation is ' + string({_ANNOTATION}.value())"
            " + '; use runtime/default or remove it')"
        ),
    ),
    "seLinuxOptions": judged(
        f"{_SELINUX} != ''",
        key="'seLinuxOptions'",
        control="seLinuxOptions",
        message=f"'securityContext.seLinuxOptions has ' + {_SELINUX} + '; remove it'",
    ),
    "windowsHostProcess": judged(
        f"{context('e', 'windowsOptions', 'hostProcess')}.orValue(false) == true",
        key="'windowsHostProcess'",
        control="windowsHostProcess",
        message="'securityContext.windowsOptions.hostProcess is true; remove it'",
    ),
    "runAsNonRoot": "variables.restricted && !variables.userNamespace ? "
    + judged(
        f"({_NON_ROOT}.orValue(null) == null"
        f" ? {pod_context('runAsNonRoot')}.orValue(null) == null : {_NON_ROOT}.value() != true)",
        key="'runAsNonRoot'",
        control="runAsNonRoot",
        message=(
            f"({_NON_ROOT}.orValue(null) == null"
            " ? 'securityContext.runAsNonRoot is not set, nor on the pod; set it to true'"
            " : 'securityContext.runAsNonRoot is false; set it to true')"
        ),
    )
    + " : []",
    "runAsUser": "variables.restricted && !variables.userNamespace ? "
    + judged(
        f"{context('e', 'runAsUser')}.orValue(1) == 0",
        key="'runAsUser'",
        control="runAsUser",
        message="'securityContext.runAsUser is 0; run as a non-zero user'",
    )
    + " : []",
}
"""The controls with at most one finding per container, by name: their texts."""


def _in_pod(control: str, field: tuple[str, ...], offends: str, *, what: str, fix: str) -> str:
    """A pod securityContext `field`'s finding, when `offends`: the containers that set the
    field themselves do not inherit it."""
    own = f"{context('e', *field)}.orValue(null) != null"
    return f"({inherited(offends, own, control=control, what=what, fix=fix)})"


def _set(value: str, allowed: str) -> str:
    """CEL: an optional profile (`value`) is set to a type outside `allowed`."""
    return f"{value}.orValue(null) != null && !({value}.?type.orValue('') in {allowed})"


def _type(value: str) -> str:
    return f"string({value}.?type.orValue('None'))"


_POD_SECCOMP = pod_context("seccompProfile")
_POD_APPARMOR = pod_context("appArmorProfile")
_POD_SELINUX = selinux("variables.security", "variables.security")
_POD_USER = "variables.restricted && !variables.userNamespace && "
POD_FIELDS: dict[str, str] = {
    "appArmorProfile": _in_pod(
        "appArmorProfile",
        ("appArmorProfile",),
        _set(_POD_APPARMOR, CONFINED),
        what=f"'securityContext.appArmorProfile.type is ' + {_type(_POD_APPARMOR)}",
        fix="use RuntimeDefault",
    ),
    "seLinuxOptions": _in_pod(
        "seLinuxOptions",
        ("seLinuxOptions",),
        f"{_POD_SELINUX} != ''",
        what=f"'securityContext.seLinuxOptions has ' + {_POD_SELINUX}",
        fix="remove it",
    ),
    "seccompProfile": _in_pod(
        "seccompProfile",
        ("seccompProfile",),
        f"variables.linux && {_set(_POD_SECCOMP, CONFINED)}",
        what=f"'securityContext.seccompProfile.type is ' + {_type(_POD_SECCOMP)}",
        fix="use RuntimeDefault",
    ),
    "windowsHostProcess": _in_pod(
        "windowsHostProcess",
        ("windowsOptions", "hostProcess"),
        f"{pod_context('windowsOptions', 'hostProcess')}.orValue(false) == true",
        what="'securityContext.windowsOptions.hostProcess is true'",
        fix="remove it",
    ),
    "runAsNonRoot": _in_pod(
        "runAsNonRoot",
        ("runAsNonRoot",),
        f"{_POD_USER}{pod_context('runAsNonRoot')}.orValue(true) == false",
        what="'securityContext.runAsNonRoot is false'",
        fix="set it to true",
    ),
    "runAsUser": _in_pod(
        "runAsUser",
        ("runAsUser",),
        f"{_POD_USER}{pod_context('runAsUser')}.orValue(1) == 0",
        what="'securityContext.runAsUser is 0'",
        fix="run as a non-zero user",
    ),
}
"""The controls that also read the pod's securityContext: the finding about the pod's value."""
