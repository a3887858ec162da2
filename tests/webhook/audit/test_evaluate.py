"""One object through the engine as admission would take it: pods chained (mutate, patch,
validate), workloads validated as they are and their pods mutated, patches moved into templates."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from policies.base import Mode
from tests.support import kube, reviews
from webhook.audit.evaluate import Target, evaluate, would_be_pod
from webhook.core.config import Config
from webhook.core.plan import Plan, compile_plan

PRIVILEGED = reviews.container(
    "sysctl",
    command=["sh", "-c", "sysctl -w net.core.somaxconn=4096"],
    securityContext={"privileged": True},
    resources=reviews.LIMITED,
)
BARE_APP = reviews.container("app", "nginx:1.27")
FILLED = reviews.container(
    "fill",
    command=["sh", "-c", "cp -r /src/. /data/"],
    resources=reviews.LIMITED,
    volumeMounts=[{"name": "data", "mountPath": "/data"}],
)
READER = reviews.container(
    "app",
    "nginx:1.27",
    resources=reviews.LIMITED,
    volumeMounts=[{"name": "data", "mountPath": "/usr/share/nginx/html"}],
)
TEMPLATE_POINTERS = {
    "Deployment": "/spec/template",
    "StatefulSet": "/spec/template",
    "DaemonSet": "/spec/template",
    "ReplicaSet": "/spec/template",
    "ReplicationController": "/spec/template",
    "Job": "/spec/template",
    "CronJob": "/spec/jobTemplate/spec/template",
}


def plan_of(**config: Any) -> Plan:
    return compile_plan(Config.model_validate(config))


def summary(obj: dict[str, Any], plan: Plan, **target: Any) -> list[tuple[str, str, str, str]]:
    audited = evaluate(Target(obj=obj, namespace=target.pop("namespace", "demo"), **target), plan)
    return [(i.policy, i.action, i.key, i.pointer) for i in audited.items]


@pytest.mark.parametrize("kind", sorted(TEMPLATE_POINTERS))
def test_workload_mutations_are_reported_in_the_template_and_apply(
    kind: str, default_plan: Plan
) -> None:
    spec = {
        "initContainers": [FILLED],
        "containers": [READER],
        "volumes": [{"name": "data", "emptyDir": {}}],
    }
    workload = reviews.workload(kind, spec)
    audited = evaluate(Target(obj=workload, namespace="demo"), default_plan)
    spec_at = TEMPLATE_POINTERS[kind] + "/spec"
    assert audited.outcome == "patched"
    assert [(i.policy, i.action, i.pointer, i.applies_to) for i in audited.items] == [
        ("emptydir-sizelimit", "patch", f"{spec_at}/volumes/0", "pods"),
        ("readonly-mounts", "patch", f"{spec_at}/containers/0", "pods"),
    ]
    assert audited.patch == [
        {"op": "add", "path": f"{spec_at}/volumes/0/emptyDir/sizeLimit", "value": "2Gi"},
        {"op": "add", "path": f"{spec_at}/containers/0/volumeMounts/0/readOnly", "value": True},
    ]
    patched = kube.check_patched(workload, [dict(op) for op in audited.patch])
    again = evaluate(Target(obj=patched, namespace="demo"), default_plan)
    assert (again.outcome, again.patch) == ("clean", [])


def test_a_workload_is_denied_on_its_template(default_plan: Plan) -> None:
    workload = reviews.workload(
        "DaemonSet", {"initContainers": [PRIVILEGED], "containers": [READER]}
    )
    audited = evaluate(Target(obj=workload, namespace="demo"), default_plan)
    assert audited.outcome == "denied"
    assert [(i.policy, i.action, i.field, i.applies_to, i.role) for i in audited.items] == [
        ("init-privileged", "deny", "spec.template.spec.initContainers[0]", "object", "init")
    ]


def test_a_finding_only_its_pods_meet_is_reported_once_for_the_pods() -> None:
    """The person applying is exempt, the controller creating the pods is not: the Deployment is
    admitted and every one of its pods denied."""
    plan = plan_of(policies={"init-privileged": {"exemptions": {"users": ["initgate-offline"]}}})
    workload = reviews.workload(
        "Deployment", {"initContainers": [PRIVILEGED], "containers": [READER]}
    )
    audited = evaluate(Target(obj=workload, namespace="demo", username="initgate-offline"), plan)
    assert audited.outcome == "denied"
    assert [(i.policy, i.action, i.applies_to) for i in audited.items] == [
        ("init-privileged", "deny", "pods")
    ]
    controller = plan_of(
        policies={
            "init-privileged": {
                "exemptions": {"users": ["system:serviceaccount:kube-system:replicaset-controller"]}
            }
        }
    )
    both = evaluate(Target(obj=workload, namespace="demo"), controller)
    assert [(i.policy, i.applies_to) for i in both.items] == [("init-privileged", "object")]


def test_a_pod_is_validated_after_its_mutation() -> None:
    """With default-resources on init containers, the memory limit it adds satisfies
    init-unbounded's memory requirement: only the cpu limit is still missing, as in admission."""
    plan = plan_of(policies={"default-resources": {"roles": ["init", "app"]}})
    pod = reviews.pod(init=[reviews.container("setup", command=["true"])], app=[READER])
    assert summary(pod, plan) == [
        ("default-resources", "patch", "resources", "/spec/initContainers/0"),
        ("init-unbounded", "deny", "limit:cpu", "/spec/initContainers/0"),
    ]


@pytest.mark.parametrize(
    ("cap", "outcome", "actions"),
    [
        (Mode.ENFORCE, "denied", ["patch", "deny", "warn"]),
        (Mode.WARN, "warned", ["warn", "warn", "warn"]),
        (Mode.AUDIT, "audited", ["audit", "audit", "audit"]),
    ],
)
def test_the_namespace_mode_caps_every_policy(
    cap: Mode, outcome: str, actions: list[str], default_plan: Plan
) -> None:
    init = reviews.container(
        "wait",
        "busybox:latest",
        command=["sh", "-c", "sleep 1"],
        securityContext={"privileged": True},
        resources=reviews.LIMITED,
    )
    pod = reviews.pod(init=[init], app=[BARE_APP])
    audited = evaluate(Target(obj=pod, namespace="demo", cap=cap), default_plan)
    assert audited.outcome == outcome
    assert [i.action for i in audited.items] == actions
    # Admission's order: the mutating webhook, then the validating one (init-lint warns by default).
    assert [i.policy for i in audited.items] == [
        "default-resources",
        "init-privileged",
        "init-lint",
    ]
    assert (bool(audited.patch), bool(audited.would_patch)) == (
        cap is Mode.ENFORCE,
        cap is not Mode.ENFORCE,
    )


@pytest.mark.parametrize(
    ("obj", "namespace", "outcome", "reason"),
    [
        (reviews.pod(init=[PRIVILEGED]), "kube-system", "exempt", "namespace"),
        (
            reviews.workload("Job", {"initContainers": [PRIVILEGED], "containers": [READER]}),
            "kube-public",
            "exempt",
            "namespace",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}},
            "demo",
            "skipped",
            "unhandled",
        ),
        (
            {"apiVersion": "apps/v1beta1", "kind": "Deployment", "metadata": {"name": "d"}},
            "demo",
            "skipped",
            "unhandled",
        ),
    ],
)
def test_exempt_and_unhandled(
    obj: dict[str, Any], namespace: str, outcome: str, reason: str, default_plan: Plan
) -> None:
    audited = evaluate(Target(obj=obj, namespace=namespace), default_plan)
    assert (audited.outcome, audited.reason, audited.items) == (outcome, reason, [])


def test_the_pod_a_controller_creates() -> None:
    cron = reviews.workload("CronJob", {"containers": [READER]}, name="nightly")
    cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["annotations"] = {"a": "b"}
    before = copy.deepcopy(cron)
    pod = would_be_pod(cron, "/spec/jobTemplate/spec/template", "reports")
    assert pod["metadata"] == {
        "labels": {"app": "nightly"},
        "annotations": {"a": "b"},
        "namespace": "reports",
        "generateName": "nightly-",
    }
    assert pod["spec"] is cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    kube.validate(pod)
    assert cron == before


def _recorded_objects() -> list[dict[str, Any]]:
    """Every pod and workload the real API server listed (tests/data/apiserver), completed with
    the apiVersion and kind its lists leave out."""
    found: list[dict[str, Any]] = []
    for name in (
        "pods-page1",
        "pods-page2",
        "pods-page3",
        "deployments",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
    ):
        listed = json.loads((reviews.DATA / "apiserver" / f"{name}.json").read_text())
        kind = {"apiVersion": listed["apiVersion"], "kind": listed["kind"].removesuffix("List")}
        found.extend({**kind, **item} for item in listed["items"])
    return found


@pytest.mark.parametrize(
    "obj",
    _recorded_objects(),
    ids=lambda o: f"{o['kind']}-{o['metadata']['namespace']}-{o['metadata']['name']}",
)
def test_patches_of_real_objects_apply_and_validate(
    obj: dict[str, Any], default_plan: Plan
) -> None:
    namespace = obj["metadata"]["namespace"]
    audited = evaluate(Target(obj=obj, namespace=namespace), default_plan)
    patched = kube.check_patched(obj, [dict(op) for op in audited.patch])
    assert evaluate(Target(obj=patched, namespace=namespace), default_plan).patch == []


CONTROLLER = "system:serviceaccount:kube-system:replicaset-controller"
RULE = {
    "id": "no-busybox",
    "description": "No busybox in init containers.",
    "expression": "!container.image.startsWith('busybox')",
}


@pytest.mark.parametrize(
    ("config", "kind", "outcome", "exemptions"),
    [
        pytest.param(
            {"exemptions": {"namespaces": ["demo"]}},
            "Pod",
            "exempt",
            [("exemptions.namespaces[0]", None, "object")],
            id="global-namespace",
        ),
        pytest.param(
            {"exemptions": {"images": [{"image": "busybox:*", "allow": ["privileged"]}]}},
            "Pod",
            "clean",
            [("exemptions.images[0]", "init-privileged", "object")],
            id="global-image",
        ),
        pytest.param(
            {"policies": {"init-privileged": {"exemptions": {"users": ["alice"]}}}},
            "Pod",
            "clean",
            [("policies.init-privileged.exemptions.users[0]", "init-privileged", "object")],
            id="policy-user",
        ),
        pytest.param(
            {"exemptions": {"users": [CONTROLLER]}},
            "Deployment",
            "denied",
            [("exemptions.users[0]", None, "pods")],
            id="controller-for-the-pods",
        ),
        pytest.param(
            {"rules": [{**RULE, "exemptions": {"images": [{"image": "busybox:*"}]}}]},
            "Deployment",
            "denied",
            [("rules[0].exemptions.images[0]", "no-busybox", "object")],
            id="rule-image",
        ),
    ],
)
def test_the_audit_says_which_exemption_applied(
    config: dict[str, Any], kind: str, outcome: str, exemptions: list[tuple[str, Any, str]]
) -> None:
    """Each exemption once, with what it spared: a policy or rule, or everything (None), of the
    object itself or of the pods its controller creates."""
    spec = {"initContainers": [PRIVILEGED], "containers": [READER]}
    obj = reviews.pod(init=[PRIVILEGED], app=[READER])
    if kind != "Pod":
        obj = reviews.workload(kind, spec)
    audited = evaluate(Target(obj=obj, namespace="demo", username="alice"), plan_of(**config))
    assert audited.outcome == outcome
    assert [(e.exemption, e.policy, e.applies_to) for e in audited.exemptions] == exemptions


def test_a_rule_that_fails_names_the_container_it_failed_on() -> None:
    rule = {**RULE, "expression": "container.securityContext.runAsUser == 1000"}
    pod = reviews.pod(init=[{**PRIVILEGED, "securityContext": {}}], app=[READER])
    audited = evaluate(Target(obj=pod, namespace="demo"), plan_of(rules=[rule]))
    (error,) = audited.errors
    assert error.startswith('no-busybox: init "sysctl" (spec.initContainers[0]): ')
    assert "runAsUser" in error
