"""init-privileged as a generated ValidatingAdmissionPolicy gives the webhook's verdicts on
configurations: extra checks, allowed capabilities, image exemptions scoped by control, by key
(renamed keys too) and by namespace, the mesh presets on and off with and without hostNetwork,
who-exemptions, every role; on the realistic pods and workloads, under each namespace cap, and
for Kubernetes before 1.33 too. The objects are valid Kubernetes objects."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from tests.policies import pods
from tests.support import kube, reviews
from tests.support.admission_policies import request_for
from tests.webhook.native.privileged_cases import ID, same, texts
from webhook.core.config import Config
from webhook.native.export import Options, generate


def _with(obj: dict[str, Any], **spec: Any) -> dict[str, Any]:
    obj = copy.deepcopy(obj)
    obj["spec"].update(spec)
    return obj


def _init(name: str, image: str = pods.BUSYBOX, **context: Any) -> dict[str, Any]:
    return {"name": name, "image": image, "securityContext": context}


HOST = {"name": "host", "hostPath": {"path": "/var/lib/node"}}
NFS = {"name": "share", "nfs": {"server": "nfs.example.com", "path": "/"}}
MOUNTS = [pods.mount("host", "/h"), pods.mount("share", "/s"), pods.mount("host", "/again")]
PODS: dict[str, dict[str, Any]] = {
    "every-role-privileged": pods.every_role(securityContext={"privileged": True}),
    "every-role-host-pid": _with(pods.every_role(), hostPID=True),
    "istio": pods.istio(),
    "istio-host-network": _with(pods.istio(), hostNetwork=True),
    "istio-root-pod": _with(pods.istio(), securityContext={"runAsUser": 0}),
    "istio-implicit-registry": pods.istio("istio/proxyv2:1.24.0"),
    "istio-by-digest": pods.istio("gcr.io/istio-release/proxyv2@sha256:" + "a" * 64),
    "istio-lookalike": pods.istio("evil.example.com/istio/proxyv2:1.24.0"),
    "linkerd": pods.linkerd(),
    "linkerd-host-network": _with(pods.linkerd(), hostNetwork=True),
    "sysctl": pods.privileged_sysctl(),
    "chown-as-root": pods.permissions(),
    "vault-agent": pods.vault_agent(),
    "two-images-host-pid": reviews.pod(
        init=[_init("setup"), _init("other", "alpine:3.20")], hostPID=True
    ),
    "mounts": reviews.pod(
        init=[{**_init("setup"), "volumeMounts": MOUNTS}], volumes=[HOST, NFS, pods.claim("c")]
    ),
    "seccomp-and-host-process": reviews.pod(
        init=[
            _init("setup", seccompProfile={"type": "Unconfined"}),
            _init("win", windowsOptions={"hostProcess": True}),
        ]
    ),
    "escalation-and-proc": reviews.pod(
        init=[_init("setup", allowPrivilegeEscalation=True, procMount="Unmasked")],
        hostUsers=False,
    ),
    "capabilities": reviews.pod(
        init=[
            _init("setup", capabilities={"add": ["cap_net_admin", "NET_ADMIN", "chown", "KILL"]}),
            _init("drop", capabilities={"add": ["NET_BIND_SERVICE"], "drop": ["all"]}),
        ]
    ),
    "pod-root-and-windows": _with(
        reviews.pod(init=[_init("setup", runAsNonRoot=True)]),
        securityContext={"runAsUser": 0, "runAsNonRoot": False},
        os={"name": "windows"},
    ),
    "probes-and-ports": reviews.pod(
        init=[
            {
                "name": "proxy",
                "image": "envoyproxy/envoy:v1.31",
                "restartPolicy": "Always",
                "ports": [{"containerPort": 53, "hostPort": 53}, {"containerPort": 80}],
                "startupProbe": {"tcpSocket": {"port": 80, "host": "10.0.0.1"}},
                "lifecycle": {"preStop": {"httpGet": {"port": 80, "host": "10.0.0.2"}}},
            }
        ],
        annotations={"container.apparmor.security.beta.kubernetes.io/proxy": "unconfined"},
    ),
    "deployment": reviews.workload("Deployment", pods.privileged_sysctl()["spec"]),
    "cronjob": reviews.workload("CronJob", _with(pods.istio(), hostNetwork=True)["spec"]),
}
EXEMPT_PRIVILEGED = {"image": "busybox:*", "allow": ["privileged"]}
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "restricted": {"level": "restricted"},
    "extra-checks": {"extraChecks": ["allowPrivilegeEscalation", "procMount"]},
    "allowed-capabilities": {"allowedCapabilities": ["cap_net_admin", "NET_RAW"]},
    "restricted-allowed-capabilities": {"level": "restricted", "allowedCapabilities": ["CHOWN"]},
    "every-role": {"roles": ["init", "sidecar", "app", "ephemeral"]},
    "app-only": {"roles": ["app"]},
    "no-roles": {"roles": []},
    "presets-off": {"presets": {"istio": False, "linkerd": False}},
    "by-control": {
        "exemptions": {"images": [{"image": "busybox:*", "allow": ["capabilities", "sysctls"]}]}
    },
    "by-key": {
        "presets": {"istio": False},
        "exemptions": {"images": [{"image": "*/proxyv2:*", "allow": ["capability:NET_RAW"]}]},
    },
    "pod-finding-by-image": {
        "exemptions": {
            "images": [
                {"image": "busybox:*", "allow": ["hostNamespaces:hostPID"]},
                {"image": "alpine:*", "allow": ["hostNamespaces:*"]},
            ]
        }
    },
    "in-namespace": {"exemptions": {"images": [{**EXEMPT_PRIVILEGED, "namespaces": ["de*"]}]}},
    "other-namespace": {"exemptions": {"images": [{**EXEMPT_PRIVILEGED, "namespaces": ["x"]}]}},
    "renamed-keys": {
        "exemptions": {
            "images": [
                {
                    "image": "busybox:*",
                    "allow": ["hostPathWrite:host", "seccompUnconfined", "hostProcess"],
                }
            ]
        }
    },
    "unscoped-on-node-network": {
        "presets": {"istio": False},
        "exemptions": {"images": [{"image": "docker.io/istio/*", "exceptHostNetwork": True}]},
    },
    "namespace-exempt": {"exemptions": {"namespaces": ["de*"]}},
    "user-exempt": {"exemptions": {"users": ["alice"]}},
    "group-exempt": {"exemptions": {"groups": ["ops"]}},
    "warn": {"mode": "warn"},
}


@pytest.mark.parametrize("settings", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("obj", PODS.values(), ids=PODS.keys())
def test_configurations(settings: dict[str, Any], obj: dict[str, Any]) -> None:
    """The verdicts, and for a Pod the words but for the names of who inherits a pod-level
    field (test_privileged_differences.py: `overridden`, `all-names`)."""
    config = Config.model_validate({"policies": {ID: settings}})
    same(config, request_for(obj, groups=["ops"]))
    if obj["kind"] == "Pod":
        lines, found = texts(config, obj)
        assert sorted(map(_unnamed, found)) == sorted(map(_unnamed, lines))


def _unnamed(text: str) -> str:
    return re.sub(r" \((inherited|overridden) by [^)]*\)$", "", text)


GLOBAL = {
    "global-image": {"exemptions": {"images": [{"image": "busybox:1.36"}]}},
    "global-namespace": {"exemptions": {"namespaces": ["demo"]}},
    "global-user": {"exemptions": {"users": ["system:serviceaccount:*"]}},
}


@pytest.mark.parametrize("settings", GLOBAL.values(), ids=GLOBAL.keys())
@pytest.mark.parametrize("username", ["alice", "system:serviceaccount:ci:deployer"])
def test_global_exemptions(settings: dict[str, Any], username: str) -> None:
    config = Config.model_validate(settings)
    for obj in (pods.privileged_sysctl(), pods.every_role(securityContext={"privileged": True})):
        same(config, request_for(obj, username=username))


@pytest.mark.parametrize("obj", PODS.values(), ids=PODS.keys())
def test_kubernetes_before_two_variable_comprehensions(obj: dict[str, Any]) -> None:
    """Below 1.33 containers are named by name, not index: the verdicts are the same."""
    for settings in ({}, {"level": "restricted", "roles": ["init", "sidecar", "app"]}):
        config = Config.model_validate({"policies": {ID: settings}})
        same(config, request_for(obj), Options(kubernetes=(1, 30)))


@pytest.mark.parametrize("settings", [{}, {"level": "restricted"}, CONFIGS["by-control"]])
def test_the_objects_are_valid_kubernetes_objects(settings: dict[str, Any]) -> None:
    config = Config.model_validate({"policies": {ID: settings}})
    for version, kubernetes in (("1.30", (1, 30)), ("1.36", (1, 36))):
        for obj in generate(config, Options(kubernetes=kubernetes)).objects:
            kube.validate(obj, version)
