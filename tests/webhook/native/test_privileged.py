"""init-privileged as a generated ValidatingAdmissionPolicy gives the webhook's verdicts (per
action, the policies that act and the containers they name) and words: on every case of the Pod
Security conformance suite at both levels and on every captured review, under each namespace
cap. Configurations are in test_privileged_configurations.py, what cannot be the same in
test_privileged_differences.py, the shape of each expression in test_privileged_shape.py.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies.base import Mode
from tests.policies import pods
from tests.policies.pod_security import CASES, LEVELS, Case, Level, neutral
from tests.support import admission_policies, reviews
from tests.support.admission_policies import request_for
from tests.support.verdicts import generated, native
from tests.webhook.native.privileged_cases import ID, level_config, only, same, texts
from webhook.core.config import Config

OVERRIDDEN = {
    "pod-unconfined-every-container-overrides",
    "pod-false-every-container-true",
    "pod-root-every-container-overrides",
}


PSS = [pytest.param(case, level, id=f"{level}-{case.id}") for case in CASES for level in LEVELS]


@pytest.mark.parametrize(("case", "level"), PSS)
def test_the_pod_security_cases(case: Case, level: Level) -> None:
    """The verdicts, and the messages in the webhook's words."""
    same(level_config(level), request_for(case.pod()))
    lines, found = texts(level_config(level), case.pod())
    if case.variant.name in OVERRIDDEN and found:  # KNOWN_DIFFERENCES["overridden"]
        (line,), (text,) = lines, found
        assert text == f'{line} (overridden by init "setup" and sidecar "logs")'
    else:
        assert found == lines


CAPTURED = [
    pytest.param(case, roles, level, id=f"{case}-{level}-{'+'.join(roles)}")
    for case in reviews.CASES
    for level in LEVELS
    for roles in (["init", "sidecar"], ["init", "sidecar", "app", "ephemeral"])
]


@pytest.mark.parametrize(("case", "roles", "level"), CAPTURED)
def test_the_captured_reviews(case: str, roles: list[str], level: Level) -> None:
    same(level_config(level, roles=roles), reviews.captured(case, "validate")["request"])


def test_kubectl_debug_judges_only_the_new_ephemeral_container() -> None:
    request = reviews.captured("pod-ephemeral-kubectl-debug", "validate")["request"]
    config = level_config("baseline", roles=["init", "sidecar", "ephemeral"])
    assert only(native(config, request, Mode.ENFORCE).actions)["deny"] == {
        ID: frozenset({'ephemeral "debugger"'})
    }
    same(config, request)


@pytest.mark.parametrize(
    "settings",
    [
        {"roles": ["init", "sidecar", "ephemeral"]},
        {"roles": ["ephemeral"], "level": "restricted"},
        {
            "roles": ["ephemeral"],
            "exemptions": {"images": [{"image": "busybox:*", "allow": ["hostNamespaces"]}]},
        },
    ],
)
def test_a_new_ephemeral_container_inherits_the_pods_fields(settings: dict[str, Any]) -> None:
    """On `kubectl debug`, the pod-level findings are about the new container alone."""
    old = reviews.pod(
        init=[{"name": "setup", "image": pods.BUSYBOX, "securityContext": {"privileged": True}}],
        hostPID=True,
        securityContext={"sysctls": [{"name": "kernel.msgmax", "value": "65536"}]},
    )
    new = copy.deepcopy(old)
    debugger = {"name": "debugger", "image": pods.BUSYBOX, "targetContainerName": "app"}
    new["spec"]["ephemeralContainers"] = [debugger]
    review = request_for(new, operation="UPDATE", old=old, subresource="ephemeralcontainers")
    config = Config.model_validate({"policies": {ID: settings}})
    named = only(native(config, review, Mode.ENFORCE).actions)["deny"][ID]
    assert "pod" in named
    assert named <= {"pod", 'ephemeral "debugger"'}
    same(config, review)
    labels = {"kubernetes.io/metadata.name": review["namespace"], "initgate.io/mode": "enforce"}
    denied = admission_policies.validate(generated(config), review, labels).denied
    pod_level = [m for m in denied if m.startswith(f"{ID}: pod ")]
    assert pod_level
    assert all('(inherited by ephemeral "debugger")' in m for m in pod_level)


def _replicas(workload: dict[str, Any]) -> dict[str, Any]:
    scaled = copy.deepcopy(workload)
    scaled["spec"]["replicas"] = 3
    return scaled


def test_a_workload_update_is_judged_only_when_its_template_changes() -> None:
    old = reviews.workload("Deployment", pods.privileged_sysctl()["spec"])
    relabelled = copy.deepcopy(old)
    relabelled["metadata"]["labels"] = {"team": "a"}
    for new in (relabelled, _replicas(old)):
        review = request_for(new, operation="UPDATE", old=old)
        same(Config(), review)
        assert only(native(Config(), review, Mode.ENFORCE).actions)["deny"] == {}


def test_the_neutral_pod_passes() -> None:
    for level in LEVELS:
        same(level_config(level), request_for(neutral()))
