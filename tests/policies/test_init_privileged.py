"""init-privileged: one finding per Pod Security control an init container (or native sidecar)
breaks, at baseline and restricted; exemptions scoped by image, namespace and control; the
service-mesh presets. tests/policies/test_pod_security.py holds it to the standard control by
control."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from policies import init_privileged
from policies.init_privileged import InitPrivilegedSettings
from tests.policies import pods
from tests.policies.harness import Row, evaluate, found, patch_of, plan, policy_config, rows, run
from tests.support.reviews import captured, pod
from webhook.core import review
from webhook.core.configdoc import render_default
from webhook.core.engine import decide
from webhook.core.objects import Request
from webhook.core.review import engine_request

POLICY = init_privileged.POLICY
ID = POLICY.id
SETUP = 'init "setup"'


def _init(context: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    container = pods.shell("setup", "echo ok", **fields)
    if context is not None:
        container["securityContext"] = context
    return container


def _pod(context: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return pod(init=[_init(context, **fields)], volumes=fields.pop("volumes", None))


HOST = {"name": "host", "hostPath": {"path": "/var/lib/node", "type": "Directory"}}
RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
"""What restricted asks of a container, beside what it may inherit from the pod."""


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(_pod(), [], id="allow-no-security-context"),
        pytest.param(
            _pod({"privileged": False, "allowPrivilegeEscalation": False}),
            [],
            id="allow-explicit-false",
        ),
        pytest.param(
            _pod({"runAsUser": 0, "capabilities": {"add": ["CHOWN", "FOWNER"]}}),
            [],
            id="allow-baseline-capabilities-as-root",
        ),
        pytest.param(
            _pod({"allowPrivilegeEscalation": True}),
            [],
            id="allow-privilege-escalation-at-baseline",
        ),
        pytest.param(
            _pod({"seccompProfile": {"type": "RuntimeDefault"}, "procMount": "Default"}),
            [],
            id="allow-default-seccomp-and-proc",
        ),
        pytest.param(
            _pod({"privileged": True}),
            [(SETUP, "privileged", "securityContext.privileged is true; remove it")],
            id="privileged",
        ),
        pytest.param(
            _pod({"capabilities": {"add": ["SYS_ADMIN", "CHOWN", "cap_net_admin", "NET_ADMIN"]}}),
            [
                (SETUP, "capability:SYS_ADMIN", "capabilities.add has SYS_ADMIN; drop it"),
                (SETUP, "capability:NET_ADMIN", "capabilities.add has NET_ADMIN; drop it"),
            ],
            id="capabilities-outside-baseline-once-each",
        ),
        pytest.param(
            _pod({"capabilities": {"add": ["cap_chown", "Kill"], "drop": ["ALL"]}}),
            [
                (SETUP, "capability:CHOWN", "capabilities.add has cap_chown; write it CHOWN"),
                (SETUP, "capability:KILL", "capabilities.add has Kill; write it KILL"),
            ],
            id="baseline-capabilities-spelled-otherwise",
        ),
        pytest.param(
            _pod({"capabilities": {"add": ["all"]}}),
            [(SETUP, "capability:ALL", "capabilities.add has ALL; drop it")],
            id="capability-all",
        ),
        pytest.param(
            _pod({"procMount": "Unmasked"}),
            [(SETUP, "procMount", "securityContext.procMount is Unmasked; remove it")],
            id="unmasked-proc",
        ),
        pytest.param(
            pod(init=[_init({"procMount": "Unmasked"})], hostUsers=False),
            [],
            id="allow-unmasked-proc-in-a-user-namespace",
        ),
        pytest.param(
            _pod({"seccompProfile": {"type": "Unconfined"}}),
            [
                (
                    SETUP,
                    "seccompProfile",
                    "securityContext.seccompProfile.type is Unconfined; use RuntimeDefault",
                )
            ],
            id="seccomp-unconfined",
        ),
        pytest.param(
            _pod({"windowsOptions": {"hostProcess": True}}),
            [
                (
                    SETUP,
                    "windowsHostProcess",
                    "securityContext.windowsOptions.hostProcess is true; remove it",
                )
            ],
            id="windows-host-process",
        ),
        pytest.param(
            pod(
                init=[
                    _init(volumeMounts=[pods.mount("host", "/host"), pods.mount("host", "/again")])
                ],
                volumes=[HOST],
            ),
            [
                (
                    SETUP,
                    "hostPathVolumes:host",
                    'mounts hostPath volume "host"; use another volume type',
                )
            ],
            id="host-path-once",
        ),
        pytest.param(
            pod(
                init=[_init(volumeMounts=[pods.mount("host", "/host", read_only=True)])],
                volumes=[HOST],
            ),
            [
                (
                    SETUP,
                    "hostPathVolumes:host",
                    'mounts hostPath volume "host"; use another volume type',
                )
            ],
            id="read-only-host-path",
        ),
        pytest.param(
            pod(
                init=[_init()],
                app=[pods.app(volumeMounts=[pods.mount("host", "/h")])],
                volumes=[HOST],
            ),
            [],
            id="allow-host-path-of-an-app-container",
        ),
        pytest.param(
            pod(init=[_init(), pods.shell("second", "true")], hostPID=True, hostIPC=True),
            [
                (
                    "pod",
                    "hostNamespaces:hostPID",
                    'hostPID is true; remove it (inherited by init "setup" and init "second")',
                ),
                (
                    "pod",
                    "hostNamespaces:hostIPC",
                    'hostIPC is true; remove it (inherited by init "setup" and init "second")',
                ),
            ],
            id="host-namespaces-name-the-init-containers",
        ),
        pytest.param(
            pod(
                init=[
                    _init({"seccompProfile": {"type": "RuntimeDefault"}}),
                    *[pods.shell(f"step-{n}", "true") for n in range(3)],
                ],
                securityContext={"seccompProfile": {"type": "Unconfined"}},
            ),
            [
                (
                    "pod",
                    "seccompProfile",
                    "securityContext.seccompProfile.type is Unconfined; use RuntimeDefault "
                    '(inherited by init "step-0", init "step-1" and 1 more)',
                ),
            ],
            id="pod-seccomp-names-who-inherits-it",
        ),
        pytest.param(
            pod(
                init=[_init({"seccompProfile": {"type": "RuntimeDefault"}})],
                securityContext={"seccompProfile": {"type": "Unconfined"}},
            ),
            [
                (
                    "pod",
                    "seccompProfile",
                    "securityContext.seccompProfile.type is Unconfined; use RuntimeDefault",
                ),
            ],
            id="pod-seccomp-even-when-overridden",
        ),
        pytest.param(
            pod(
                init=[
                    _init(
                        ports=[
                            {"containerPort": 53, "hostPort": 53},
                            {"containerPort": 80},
                            {"containerPort": 443, "hostPort": 443},
                        ]
                    )
                ]
            ),
            [(SETUP, "hostPorts", "ports[0].hostPort is 53 (and 1 more); remove it")],
            id="host-ports-once",
        ),
        pytest.param(
            pod(
                init=[_init()],
                annotations={
                    "container.apparmor.security.beta.kubernetes.io/setup": "unconfined",
                    "container.apparmor.security.beta.kubernetes.io/app": "unconfined",
                },
            ),
            [
                (
                    SETUP,
                    "appArmorProfile",
                    "apparmor annotation is unconfined; use runtime/default or remove it",
                )
            ],
            id="apparmor-annotation-of-the-init-container-only",
        ),
        pytest.param(
            _pod({"seLinuxOptions": {"type": "spc_t", "user": "system_u", "level": "s0"}}),
            [
                (
                    SETUP,
                    "seLinuxOptions",
                    "securityContext.seLinuxOptions has type spc_t, user system_u; remove it",
                )
            ],
            id="selinux",
        ),
        pytest.param(
            pods.privileged_sysctl(),
            [('init "sysctl"', "privileged", "securityContext.privileged is true; remove it")],
            id="realistic-sysctl",
        ),
        pytest.param(
            pods.istio(),
            [
                (
                    'init "istio-init"',
                    "capability:NET_ADMIN",
                    "capabilities.add has NET_ADMIN; drop it",
                ),
                (
                    'init "istio-init"',
                    "capability:NET_RAW",
                    "capabilities.add has NET_RAW; drop it",
                ),
            ],
            id="realistic-istio-without-exemptions",
        ),
        pytest.param(pods.permissions(), [], id="realistic-chown-as-root-with-baseline"),
        pytest.param(pods.vault_agent(), [], id="realistic-vault-agent"),
    ],
)
def test_findings(obj: dict[str, Any], expected: list[Row]) -> None:
    findings = evaluate(POLICY, obj)
    assert rows(findings) == expected
    assert patch_of(findings) == []  # a validating policy never patches


def test_every_privilege_of_one_container_in_field_order() -> None:
    context = {
        "privileged": True,
        "allowPrivilegeEscalation": True,
        "capabilities": {"add": ["SYS_PTRACE"]},
        "procMount": "Unmasked",
        "seccompProfile": {"type": "Unconfined"},
        "appArmorProfile": {"type": "Unconfined"},
        "seLinuxOptions": {"role": "system_r"},
        "windowsOptions": {"hostProcess": True},
        "runAsNonRoot": False,
        "runAsUser": 0,
    }
    probe = {"httpGet": {"port": 80, "host": "10.0.0.1"}}
    sidecar = _init(
        context,
        restartPolicy="Always",
        ports=[{"containerPort": 80, "hostPort": 80}],
        startupProbe=probe,
        volumeMounts=[pods.mount("host", "/h"), pods.mount("nfs", "/n")],
    )
    nfs = {"name": "nfs", "nfs": {"server": "nfs.example.com", "path": "/"}}
    obj = pod(init=[sidecar], volumes=[HOST, nfs])
    assert [key for _, key, _ in rows(evaluate(POLICY, obj, level="restricted"))] == [
        "privileged",
        "allowPrivilegeEscalation",
        "capability:SYS_PTRACE",
        "capabilities",
        "procMount",
        "seccompProfile",
        "appArmorProfile",
        "seLinuxOptions",
        "windowsHostProcess",
        "runAsNonRoot",
        "runAsUser",
        "hostPorts",
        "hostProbesAndHostLifecycle",
        "hostPathVolumes:host",
        "restrictedVolumes:nfs",
    ]
    assert [key for _, key, _ in rows(evaluate(POLICY, obj))] == [
        "privileged",
        "capability:SYS_PTRACE",
        "procMount",
        "seccompProfile",
        "appArmorProfile",
        "seLinuxOptions",
        "windowsHostProcess",
        "hostPorts",
        "hostProbesAndHostLifecycle",
        "hostPathVolumes:host",
    ]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            pod(
                init=[_init(RESTRICTED)],
                securityContext={
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            ),
            [],
            id="allow-what-the-pod-gives",
        ),
        pytest.param(
            _pod(),
            [
                (
                    SETUP,
                    "allowPrivilegeEscalation",
                    "securityContext.allowPrivilegeEscalation is not set; set it to false",
                ),
                (SETUP, "capabilities", "capabilities.drop does not have ALL; add drop: [ALL]"),
                (
                    SETUP,
                    "seccompProfile",
                    "securityContext.seccompProfile is not set, nor on the pod; set RuntimeDefault",
                ),
                (
                    SETUP,
                    "runAsNonRoot",
                    "securityContext.runAsNonRoot is not set, nor on the pod; set it to true",
                ),
            ],
            id="nothing-set",
        ),
        pytest.param(
            pod(
                init=[
                    _init(
                        {
                            **RESTRICTED,
                            "runAsNonRoot": False,
                            "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["all"]},
                        }
                    )
                ],
                securityContext={
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "Localhost", "localhostProfile": "p"},
                },
            ),
            [
                (SETUP, "capabilities", "capabilities.drop has all; write it ALL"),
                (SETUP, "runAsNonRoot", "securityContext.runAsNonRoot is false; set it to true"),
            ],
            id="a-container-false-overrides-the-pod-true",
        ),
        pytest.param(
            pod(
                init=[_init({**RESTRICTED, "runAsNonRoot": True, "runAsUser": 1000})],
                securityContext={
                    "runAsNonRoot": False,
                    "runAsUser": 0,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
            ),
            [
                ("pod", "runAsNonRoot", "securityContext.runAsNonRoot is false; set it to true"),
                ("pod", "runAsUser", "securityContext.runAsUser is 0; run as a non-zero user"),
            ],
            id="the-pod-false-and-root-even-when-overridden",
        ),
        pytest.param(
            pod(
                init=[_init(RESTRICTED)],
                hostUsers=False,
                securityContext={"runAsUser": 0, "seccompProfile": {"type": "RuntimeDefault"}},
            ),
            [],
            id="allow-root-in-a-user-namespace",
        ),
        pytest.param(
            pod(init=[_init({"runAsNonRoot": True})], os={"name": "windows"}),
            [],
            id="allow-windows-without-linux-fields",
        ),
        pytest.param(
            pod(
                init=[_init({**RESTRICTED, "procMount": "Unmasked"})],
                hostUsers=False,
                securityContext={"seccompProfile": {"type": "RuntimeDefault"}},
            ),
            [(SETUP, "procMount", "securityContext.procMount is Unmasked; remove it")],
            id="unmasked-proc-even-in-a-user-namespace",
        ),
    ],
)
def test_restricted(obj: dict[str, Any], expected: list[Row]) -> None:
    assert rows(evaluate(POLICY, obj, level="restricted")) == expected


@pytest.mark.parametrize(
    ("extra", "obj", "keys"),
    [
        pytest.param([], _pod({"allowPrivilegeEscalation": True}), [], id="escalation-off"),
        pytest.param(
            ["allowPrivilegeEscalation"],
            _pod({"allowPrivilegeEscalation": True}),
            ["allowPrivilegeEscalation"],
            id="escalation-on",
        ),
        pytest.param(["allowPrivilegeEscalation"], _pod(), [], id="escalation-unset-is-fine"),
        pytest.param(
            ["procMount"],
            pod(init=[_init({"procMount": "Unmasked"})], hostUsers=False),
            ["procMount"],
            id="proc-in-a-user-namespace",
        ),
    ],
)
def test_extra_checks_beyond_baseline(
    extra: list[str], obj: dict[str, Any], keys: list[str]
) -> None:
    assert [key for _, key, _ in rows(evaluate(POLICY, obj, extraChecks=extra))] == keys


@pytest.mark.parametrize(
    ("roles", "flagged"),
    [
        pytest.param(None, ['init "setup"', 'sidecar "logs"'], id="default-init-and-sidecar"),
        pytest.param(["init"], ['init "setup"'], id="init-only"),
        pytest.param(["sidecar"], ['sidecar "logs"'], id="sidecar-only"),
        pytest.param(["app"], ['app "web"'], id="app-when-configured"),
        pytest.param(["ephemeral"], ['ephemeral "debug"'], id="ephemeral-when-configured"),
        pytest.param([], [], id="no-roles"),
    ],
)
def test_roles(roles: list[str] | None, flagged: list[str]) -> None:
    privileged = pods.every_role(securityContext={"privileged": True})
    settings = {} if roles is None else {"roles": roles}
    assert [
        location for location, _, _ in rows(evaluate(POLICY, privileged, **settings))
    ] == flagged


def test_a_pod_level_finding_names_only_the_judged_roles() -> None:
    obj = pods.every_role()
    obj["spec"]["hostNetwork"] = True
    (finding,) = evaluate(POLICY, obj)
    assert (finding.location, finding.message) == (
        "pod",
        'hostNetwork is true; remove it (inherited by init "setup" and sidecar "logs")',
    )
    assert [c.name for c in finding.containers] == ["setup", "logs"]
    assert evaluate(POLICY, obj, roles=[]) == []


def test_allowed_capabilities_are_configurable() -> None:
    obj = _pod({"capabilities": {"add": ["NET_ADMIN", "CHOWN"]}})
    assert rows(evaluate(POLICY, obj, allowedCapabilities=["cap_net_admin"])) == [
        (SETUP, "capability:CHOWN", "capabilities.add has CHOWN; drop it")
    ]
    restricted = _pod({"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL"]}})
    found = rows(evaluate(POLICY, restricted, level="restricted"))
    assert [k for _, k, _ in found if k.startswith("capabilit")] == ["capability:CHOWN"]
    found = rows(evaluate(POLICY, restricted, level="restricted", allowedCapabilities=["CHOWN"]))
    assert [k for _, k, _ in found if k.startswith("capabilit")] == ["capability:NET_BIND_SERVICE"]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        pytest.param(
            {"allowedCapabilities": ["CAP_ALL"]}, "ALL can never be", id="all-capabilities"
        ),
        pytest.param({"presets": {"consul": True}}, "unknown presets", id="unknown-preset"),
        pytest.param({"level": "privileged"}, "'baseline' or 'restricted'", id="unknown-level"),
        pytest.param({"extraChecks": ["hostPath"]}, "allowPrivilegeEscalation", id="unknown-check"),
    ],
)
def test_settings_refused(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        InitPrivilegedSettings.model_validate(settings)


def test_switching_one_preset_off_keeps_the_other() -> None:
    settings = InitPrivilegedSettings.model_validate({"presets": {"istio": False}})
    assert settings.presets == {"istio": False, "linkerd": True}
    assert {e.image for e in settings.image_exemptions()} == {
        "cr.l5d.io/linkerd/proxy-init:*",
        "cr.l5d.io/linkerd/proxy-init@*",
        "ghcr.io/linkerd/proxy-init:*",
        "ghcr.io/linkerd/proxy-init@*",
    }
    assert all(e.except_host_network for e in settings.image_exemptions())


# Through the engine, with the default configuration otherwise.
MESH = [
    ('init "istio-init"', "capability:NET_ADMIN", "capabilities.add has NET_ADMIN; drop it"),
    ('init "istio-init"', "capability:NET_RAW", "capabilities.add has NET_RAW; drop it"),
]
LINKERD = [
    ('init "linkerd-init"', "capability:NET_ADMIN", "capabilities.add has NET_ADMIN; drop it"),
    ('init "linkerd-init"', "capability:NET_RAW", "capabilities.add has NET_RAW; drop it"),
]


def _istio_with(**context: Any) -> dict[str, Any]:
    obj = pods.istio()
    obj["spec"]["initContainers"][0]["securityContext"].update(context)
    return obj


def _image(obj: dict[str, Any], image: str) -> dict[str, Any]:
    obj["spec"]["initContainers"][0]["image"] = image
    return obj


def _network(obj: dict[str, Any]) -> dict[str, Any]:
    obj["spec"]["hostNetwork"] = True
    return obj


def _seccomp(obj: dict[str, Any]) -> dict[str, Any]:
    obj["spec"]["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}}
    return obj


def _exempt(*images: dict[str, Any]) -> dict[str, Any]:
    return policy_config(ID, exemptions={"images": list(images)})


ISTIO_HOST_NETWORK = (
    "pod",
    "hostNamespaces:hostNetwork",
    'hostNetwork is true; remove it (inherited by init "istio-init")',
)


@pytest.mark.parametrize(
    ("obj", "config", "expected"),
    [
        pytest.param(pods.istio(), None, [], id="istio-preset-on"),
        pytest.param(
            pods.istio(), policy_config(ID, presets={"istio": False}), MESH, id="istio-preset-off"
        ),
        pytest.param(
            _image(pods.istio(), "istio/proxyv2:1.24.0"), None, [], id="istio-implicit-registry"
        ),
        pytest.param(
            _image(pods.istio(), "gcr.io/istio-release/proxyv2@sha256:" + "a" * 64),
            None,
            [],
            id="istio-by-digest",
        ),
        pytest.param(
            _image(pods.istio(), "evil.example.com/istio/proxyv2:1.24.0"),
            None,
            MESH,
            id="istio-lookalike-registry",
        ),
        pytest.param(
            _image(pods.istio(), "docker.io/istio/proxyv2-debug:1.24.0"),
            None,
            MESH,
            id="istio-lookalike-repository",
        ),
        pytest.param(
            _istio_with(privileged=True),
            None,
            [('init "istio-init"', "privileged", "securityContext.privileged is true; remove it")],
            id="istio-preset-allows-only-network-capabilities",
        ),
        pytest.param(pods.linkerd(), None, [], id="linkerd-preset-on"),
        pytest.param(
            pods.linkerd(),
            policy_config(ID, presets={"linkerd": False}),
            LINKERD,
            id="linkerd-preset-off",
        ),
        pytest.param(
            pods.linkerd("ghcr.io/linkerd/proxy-init:v2.4.1"), None, [], id="linkerd-ghcr"
        ),
        pytest.param(
            pods.istio(),
            policy_config(
                ID,
                presets={"istio": False},
                exemptions={
                    "images": [{"image": "docker.io/istio/*", "allow": ["capability:NET_*"]}]
                },
            ),
            [],
            id="own-scoped-exemption-instead-of-preset",
        ),
        pytest.param(
            pods.istio(),
            {
                "exemptions": {
                    "images": [{"image": "*/proxyv2:*", "allow": ["capability:NET_RAW"]}]
                },
                "policies": {ID: {"presets": {"istio": False}}},
            },
            MESH[:1],
            id="global-image-exemption-scoped-to-one-key",
        ),
        pytest.param(
            pods.privileged_sysctl(),
            policy_config(ID, exemptions={"images": [{"image": "docker.io/library/busybox:*"}]}),
            [],
            id="unscoped-image-exemption-normalised-name",
        ),
        pytest.param(
            pods.privileged_sysctl(),
            policy_config(ID, exemptions={"images": [{"image": "busybox"}]}),
            [('init "sysctl"', "privileged", "securityContext.privileged is true; remove it")],
            id="image-glob-must-cover-the-tag",
        ),
        pytest.param(
            pods.privileged_sysctl(),
            policy_config(ID, exemptions={"images": [{"image": "busybox:1.36"}]}),
            [],
            id="unscoped-image-exemption-as-written",
        ),
        pytest.param(
            pods.privileged_sysctl(),
            policy_config(
                ID, exemptions={"images": [{"image": "busybox:1.36", "allow": ["capability:*"]}]}
            ),
            [('init "sysctl"', "privileged", "securityContext.privileged is true; remove it")],
            id="scoped-exemption-does-not-cover-other-keys",
        ),
        pytest.param(
            _network(pods.istio()),
            None,
            [ISTIO_HOST_NETWORK, *MESH],
            id="istio-preset-never-on-the-node-network",
        ),
        pytest.param(
            _network(pods.istio()),
            _exempt({"image": "docker.io/istio/proxyv2:*", "allow": ["hostNamespaces"]}),
            MESH,
            id="istio-preset-never-on-the-node-network-even-when-allowed",
        ),
        pytest.param(
            _network(pods.linkerd()),
            None,
            [
                (
                    "pod",
                    "hostNamespaces:hostNetwork",
                    'hostNetwork is true; remove it (inherited by init "linkerd-init")',
                ),
                *LINKERD,
            ],
            id="linkerd-preset-never-on-the-node-network",
        ),
        pytest.param(
            _network(pods.istio()),
            _exempt(
                {"image": "docker.io/istio/*", "allow": ["capability:NET_*", "hostNamespaces"]}
            ),
            [],
            id="own-exemption-may-cover-the-node-network",
        ),
        pytest.param(
            pods.istio(),
            policy_config(ID, level="restricted"),
            [
                (
                    'init "istio-init"',
                    "seccompProfile",
                    "securityContext.seccompProfile is not set, nor on the pod; set RuntimeDefault",
                )
            ],
            id="istio-restricted-takes-seccomp-from-the-pod",
        ),
        pytest.param(
            _seccomp(pods.istio()),
            policy_config(ID, level="restricted"),
            [],
            id="istio-restricted-preset-covers-root",
        ),
        pytest.param(
            _seccomp(pods.linkerd()),
            policy_config(ID, level="restricted"),
            [
                (
                    'init "linkerd-init"',
                    "capabilities",
                    "capabilities.drop does not have ALL; add drop: [ALL]",
                )
            ],
            id="linkerd-restricted-must-drop-all",
        ),
        pytest.param(
            pods.privileged_sysctl(),
            _exempt({"image": "busybox:*", "allow": ["privileged"], "namespaces": ["demo"]}),
            [],
            id="image-exemption-in-its-namespace",
        ),
        pytest.param(
            pods.privileged_sysctl(),
            _exempt({"image": "busybox:*", "allow": ["privileged"], "namespaces": ["other-*"]}),
            [('init "sysctl"', "privileged", "securityContext.privileged is true; remove it")],
            id="image-exemption-not-in-another-namespace",
        ),
        pytest.param(
            _pod({"capabilities": {"add": ["SYS_ADMIN", "NET_RAW"]}}),
            _exempt({"image": "busybox:*", "allow": ["capabilities"]}),
            [],
            id="exemption-naming-the-control",
        ),
        pytest.param(
            pod(init=[_init(), pods.shell("other", "true", image="alpine:3.20")], hostPID=True),
            _exempt({"image": "busybox:*", "allow": ["hostNamespaces"]}),
            [
                (
                    "pod",
                    "hostNamespaces:hostPID",
                    'hostPID is true; remove it (inherited by init "setup" and init "other")',
                )
            ],
            id="pod-finding-needs-every-image-exempt",
        ),
        pytest.param(
            pod(init=[_init(), pods.shell("other", "true", image="alpine:3.20")], hostPID=True),
            _exempt(
                {"image": "busybox:*", "allow": ["hostNamespaces:hostPID"]},
                {"image": "alpine:*", "allow": ["hostNamespaces:*"]},
            ),
            [],
            id="pod-finding-lifted-when-every-image-is",
        ),
        pytest.param(
            pod(init=[_init(volumeMounts=[pods.mount("host", "/h")])], volumes=[HOST]),
            _exempt({"image": "busybox:*", "allow": ["hostPathWrite:host"]}),
            [],
            id="renamed-key-host-path-write",
        ),
        pytest.param(
            _pod(
                {"seccompProfile": {"type": "Unconfined"}, "windowsOptions": {"hostProcess": True}}
            ),
            _exempt({"image": "busybox:*", "allow": ["seccompUnconfined", "hostProcess"]}),
            [],
            id="renamed-keys-seccomp-and-host-process",
        ),
    ],
)
def test_exemptions_and_presets_through_the_engine(
    obj: dict[str, Any], config: dict[str, Any] | None, expected: list[Row]
) -> None:
    decision = run(obj, webhook="validate", config=config)
    assert found(decision, ID) == expected
    assert decision.allowed is (not expected)


def test_a_pod_update_keeps_what_the_pod_had() -> None:
    """Updating an init container's image in a pod on the node's network: the pod-level finding
    was there before (a pod admitted before initgate stays updatable)."""
    old = _network(pod(init=[_init(), pods.shell("other", "true")]))
    new = copy.deepcopy(old)
    new["spec"]["initContainers"][1]["image"] = "busybox:1.37"
    decision = decide(Request(new, operation="UPDATE", old_object=old), plan(), webhook="validate")
    assert (decision.allowed, found(decision, ID)) == (True, [])


@pytest.mark.parametrize(
    ("config", "who", "reason"),
    [
        pytest.param(
            {"exemptions": {"namespaces": ["node-*"]}},
            {"namespace": "node-tuning"},
            "namespace",
            id="global-namespace",
        ),
        pytest.param(
            {"exemptions": {"users": ["system:serviceaccount:ci:*"]}},
            {"username": "system:serviceaccount:ci:deployer"},
            "user",
            id="global-user",
        ),
        pytest.param(
            {"exemptions": {"groups": ["platform-admins"]}},
            {"groups": ("platform-admins",)},
            "group",
            id="global-group",
        ),
        pytest.param(None, {"namespace": "kube-system"}, "namespace", id="default-kube-system"),
    ],
)
def test_who_exemptions_skip_every_policy(
    config: dict[str, Any] | None, who: dict[str, Any], reason: str
) -> None:
    decision = run(pods.privileged_sysctl(), webhook="validate", config=config, **who)
    assert (decision.allowed, decision.outcome, decision.reason) == (True, "exempt", reason)


@pytest.mark.parametrize(
    ("exemptions", "who"),
    [
        pytest.param({"namespaces": ["node-tuning"]}, {"namespace": "node-tuning"}, id="namespace"),
        pytest.param({"users": ["alice"]}, {}, id="user"),
        pytest.param({"groups": ["system:authenticated"]}, {}, id="group"),
    ],
)
def test_per_policy_exemptions_leave_other_policies(
    exemptions: dict[str, Any], who: dict[str, Any]
) -> None:
    obj = pods.privileged_sysctl()
    del obj["spec"]["initContainers"][0]["resources"]
    decision = run(obj, webhook="validate", config=policy_config(ID, exemptions=exemptions), **who)
    assert decision.policies == ["init-unbounded"]
    assert not decision.allowed


def test_denial_message_names_container_field_and_remedy() -> None:
    decision = run(pods.privileged_sysctl(), webhook="validate")
    assert decision.message.splitlines() == [
        'Pod "node-tuner" is denied by initgate (1 problem):',
        '- init-privileged: init "sysctl" (spec.initContainers[0]): securityContext.privileged is true; remove it',
        "init-privileged: Drop the privileges, or ask the platform team for a scoped image exemption.",
        "Policy documentation and exemptions: https://github.com/initgate/initgate/blob/main/docs/policies.md",
    ]


def test_off_mode_and_warn_mode() -> None:
    off = run(pods.privileged_sysctl(), webhook="validate", config=policy_config(ID, mode="off"))
    assert (off.allowed, off.verdicts) == (True, [])
    warned = run(
        pods.privileged_sysctl(), webhook="validate", config=policy_config(ID, mode="warn")
    )
    assert (warned.allowed, warned.warnings) == (
        True,
        ['initgate init-privileged: init "sysctl": securityContext.privileged is true; remove it'],
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(None, [], id="ephemeral-not-judged-by-default"),
        pytest.param(
            policy_config(ID, roles=["init", "sidecar", "ephemeral"]),
            [
                (
                    'ephemeral "debugger"',
                    "capability:SYS_PTRACE",
                    "capabilities.add has SYS_PTRACE; drop it",
                )
            ],
            id="only-the-new-ephemeral-container",
        ),
    ],
)
def test_captured_kubectl_debug(config: dict[str, Any] | None, expected: list[Row]) -> None:
    # The pod already has a privileged init container; the UPDATE only adds a debugger.
    incoming = review.AdmissionReview.model_validate(
        captured("pod-ephemeral-kubectl-debug", "validate")
    )
    decision = decide(engine_request(incoming.request), plan(config), webhook="validate")
    assert found(decision, ID) == expected


def test_every_preset_image_is_named_where_people_read_the_presets() -> None:
    """`initgate config default` listed Istio's images without gcr.io/istio-testing/proxyv2,
    which the preset exempts and docs/policies.md names (issue 22)."""
    printed = " ".join(render_default().split())  # the comment, its lines joined
    docs = (Path(__file__).resolve().parents[2] / "docs" / "policies.md").read_text()
    for name, exemptions in init_privileged.PRESETS.items():
        for exemption in exemptions:
            image = exemption.image.removesuffix(":*").removesuffix("@*")
            assert image in printed, (name, image)
            assert f"`{image}`" in docs, (name, image)
