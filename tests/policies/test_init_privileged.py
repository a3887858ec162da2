"""init-privileged: one finding per privilege an init container (or native sidecar) asks for;
exemptions scoped by image and finding key; the service-mesh presets."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from policies import init_privileged
from policies.init_privileged import InitPrivilegedSettings
from tests.policies import pods
from tests.policies.harness import Row, evaluate, found, patch_of, plan, policy_config, rows, run
from tests.support.reviews import captured, pod
from webhook.core import review
from webhook.core.engine import decide
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
            _pod({"capabilities": {"add": ["cap_chown", "Kill"], "drop": ["ALL"]}}),
            [],
            id="allow-baseline-in-any-spelling",
        ),
        pytest.param(
            _pod({"seccompProfile": {"type": "RuntimeDefault"}, "procMount": "Default"}),
            [],
            id="allow-default-seccomp-and-proc",
        ),
        pytest.param(
            pod(
                init=[_init(volumeMounts=[pods.mount("host", "/host", read_only=True)])],
                volumes=[HOST],
            ),
            [],
            id="allow-read-only-host-path",
        ),
        pytest.param(
            _pod({"privileged": True}),
            [(SETUP, "privileged", "securityContext.privileged is true; remove it")],
            id="privileged",
        ),
        pytest.param(
            _pod({"allowPrivilegeEscalation": True}),
            [
                (
                    SETUP,
                    "allowPrivilegeEscalation",
                    "securityContext.allowPrivilegeEscalation is true; set it to false",
                )
            ],
            id="privilege-escalation",
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
            _pod({"seccompProfile": {"type": "Unconfined"}}),
            [
                (
                    SETUP,
                    "seccompUnconfined",
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
                    "hostProcess",
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
                    "hostPathWrite:host",
                    'writes hostPath volume "host"; mount it readOnly: true',
                )
            ],
            id="writable-host-path-once",
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
        "windowsOptions": {"hostProcess": True},
    }
    obj = pod(init=[_init(context, volumeMounts=[pods.mount("host", "/h")])], volumes=[HOST])
    assert [key for _, key, _ in rows(evaluate(POLICY, obj))] == [
        "privileged",
        "allowPrivilegeEscalation",
        "capability:SYS_PTRACE",
        "procMount",
        "seccompUnconfined",
        "hostProcess",
        "hostPathWrite:host",
    ]


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


def test_allowed_capabilities_are_configurable() -> None:
    obj = _pod({"capabilities": {"add": ["NET_ADMIN", "CHOWN"]}})
    assert rows(evaluate(POLICY, obj, allowedCapabilities=["cap_net_admin"])) == [
        (SETUP, "capability:CHOWN", "capabilities.add has CHOWN; drop it")
    ]


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        pytest.param(
            {"allowedCapabilities": ["CAP_ALL"]}, "ALL can never be", id="all-capabilities"
        ),
        pytest.param({"presets": {"consul": True}}, "unknown presets", id="unknown-preset"),
    ],
)
def test_settings_refused(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        InitPrivilegedSettings.model_validate(settings)


def test_switching_one_preset_off_keeps_the_other() -> None:
    settings = InitPrivilegedSettings.model_validate({"presets": {"istio": False}})
    assert settings.presets == {"istio": False, "linkerd": True}
    assert {e.image for e in settings.image_exemptions()} == {
        "cr.l5d.io/linkerd/proxy-init[:@]*",
        "ghcr.io/linkerd/proxy-init[:@]*",
    }


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
    ],
)
def test_exemptions_and_presets_through_the_engine(
    obj: dict[str, Any], config: dict[str, Any] | None, expected: list[Row]
) -> None:
    decision = run(obj, webhook="validate", config=config)
    assert found(decision, ID) == expected
    assert decision.allowed is (not expected)


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
