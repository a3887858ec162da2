"""The generated admission policies as the chart installs them: for each configuration, the
objects `helm template` renders are the objects `initgate export` generates (webhook.native.export
.generate) for the same configuration and routing, names and labels aside. That is the proof that
the chart follows its `config`; valid for Kubernetes 1.30 and 1.36; and removed with the release."""

from __future__ import annotations

from typing import Any

import pytest

from policies import REGISTRY
from tests.chart.native import by_name, chart_native, exported, key, native, unlabelled
from tests.chart.native_cases import CASES, RULES, VERSIONED
from tests.chart.render import CHART, RELEASE, render_with, run_helm
from tests.support.kube import VERSIONS, validate
from webhook.native.builders import POLICY_LABEL

pytestmark = pytest.mark.chart
MUTATING = {policy.id for policy in REGISTRY if policy.kind == "mutate"}


@pytest.mark.parametrize(("case", "kubernetes"), VERSIONED)
def test_the_chart_installs_what_export_generates(case: str, kubernetes: str) -> None:
    config, webhooks = CASES[case]
    # One template file per kind: the chart writes every policy, then every binding.
    rendered = by_name(native(chart_native(config, webhooks, kubernetes)))
    expected = by_name(exported(config, webhooks, kubernetes))
    assert [key(o) for o in rendered] == [key(o) for o in expected]
    assert unlabelled(rendered) == unlabelled(expected)


def test_cases_cover_what_they_claim() -> None:
    """The cases differ where they should: a policy off renders nothing, a mode caps bindings."""
    assert native(chart_native(*CASES["defaults"], "1.36"))
    off = native(chart_native(*CASES["policy-off"], "1.36"))
    assert not [o for o in off if o["metadata"]["labels"]["initgate.io/policy"] == "init-unbounded"]
    assert not native(chart_native(*CASES["all-off"], "1.36"))
    (unbounded,) = [
        o
        for o in native(chart_native(*CASES["exemptions"], "1.36"))
        if o["metadata"]["name"].endswith("-init-unbounded")
    ]
    conditions = {c["name"]: c["expression"] for c in unbounded["spec"]["matchConditions"]}
    assert "gone" not in conditions["exempt-namespaces"]
    assert "legacy-." in conditions["exempt-namespaces"]
    assert "init-unbounded-exempt-namespaces" not in conditions  # its only entry has ended
    audit = [
        b
        for b in chart_native(*CASES["policy-audit"], "1.36").of("ValidatingAdmissionPolicyBinding")
        if b["metadata"]["labels"]["initgate.io/policy"] == "init-unbounded"
    ]
    assert [b["spec"]["validationActions"] for b in audit] == [["Audit"]] * 3
    assert (
        conditions["init-unbounded-exempt-users"]
        == '!request.userInfo.username.matches("^(?:deployer)$")'
    )


def policies(case: str, kubernetes: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, policy id) -> object, of the policies the case renders."""
    return {
        (o["kind"], o["metadata"]["labels"][POLICY_LABEL]): o
        for o in native(chart_native(*CASES[case], kubernetes))
        if not o["kind"].endswith("Binding")
    }


def test_rule_and_mutating_cases_cover_what_they_claim() -> None:
    """Rules naming `volumes` from Kubernetes 1.33 only (with the map worked out), a rule off
    left out; a mutating policy's MAP where it enforces, its companion VAP where it warns or
    audits, nothing when off, and nothing before 1.36."""
    vap, map_ = "ValidatingAdmissionPolicy", "MutatingAdmissionPolicy"
    naming = {"init-fills-emptydir", "debug-mounts-nothing"}
    older, newest = policies("own-rules", "1.30"), policies("own-rules", "1.36")
    rules = {rule["id"] for rule in RULES} - {"rule-off"}
    assert {p for k, p in older if k == vap} & (rules | {"rule-off"}) == rules - naming
    assert {p for k, p in newest if k == vap} & (rules | {"rule-off"}) == rules
    for rule in naming:
        (entries,) = [v for v in newest[vap, rule]["spec"]["variables"] if v["name"] == "entries"]
        assert "transformMapEntry" in entries["expression"]
    modes = {(k, p) for k, p in policies("mutating-modes", "1.36") if p in MUTATING}
    assert modes == {(vap, "default-resources"), (vap, "emptydir-sizelimit")}
    mixed = {(k, p) for k, p in policies("mutating-mixed", "1.36") if p in MUTATING}
    assert mixed == {(vap, p) for p in MUTATING} | {(map_, "readonly-mounts")}
    assert not [k for k, _ in policies("mutating-modes", "1.33") if k == map_]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(
    "case", ["defaults", "exemptions", "routing", "own-rules", "mutating-settings", "privileged"]
)
def test_objects_are_valid(case: str, version: str) -> None:
    for obj in native(chart_native(*CASES[case], version)):
        validate(obj, version)


@pytest.mark.parametrize("case", ["defaults", "routing", "own-rules"])
def test_labels_are_the_charts(case: str) -> None:
    """The chart's labels (its release, so that helm owns and deletes them) and the policy's."""
    rendered = chart_native(*CASES[case], "1.36")
    configmap = rendered.one("ConfigMap", f"{RELEASE}-config")["metadata"]["labels"]
    chart = {**configmap, "app.kubernetes.io/component": "native-policies"}
    for obj in native(rendered):
        policy = obj["metadata"]["labels"][POLICY_LABEL]
        assert obj["metadata"]["labels"] == {**chart, POLICY_LABEL: policy}
        assert "namespace" not in obj["metadata"]
        assert not obj["metadata"].get("annotations")  # no hooks, no resource-policy: keep


def test_bindings_route_as_the_webhook_entries() -> None:
    """One helper writes both namespaceSelectors."""
    rendered = chart_native(*CASES["routing"], "1.36")
    entries = {
        entry["name"].split(".")[0]: entry
        for entry in rendered.one("MutatingWebhookConfiguration")["webhooks"]
    }
    for binding in rendered.of("ValidatingAdmissionPolicyBinding"):
        cap = binding["metadata"]["name"].rsplit("-", 1)[1]
        resources = binding["spec"]["matchResources"]
        assert resources["namespaceSelector"] == entries[cap]["namespaceSelector"]
        assert resources["objectSelector"] == entries[cap]["objectSelector"]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, set()),
        ({"nativePolicies": {"enabled": True}}, {"ValidatingAdmissionPolicy"}),
        ({"nativePolicies": {"enabled": True, "validating": False}}, set()),
        ({"nativePolicies": {"validating": True}}, set()),
    ],
)
def test_switches(values: dict[str, Any], expected: set[str]) -> None:
    rendered = render_with(values)
    assert {o["kind"] for o in native(rendered)} - {"ValidatingAdmissionPolicyBinding"} == expected
    assert rendered.of("ValidatingWebhookConfiguration")


def test_native_validation_and_webhook_mutation() -> None:
    """Below Kubernetes 1.36: the API server validates, the webhook only mutates."""
    rendered = render_with(
        {"nativePolicies": {"enabled": True}, "webhooks": {"validating": {"enabled": False}}},
        "--kube-version",
        "1.30.0",
    )
    assert rendered.of("ValidatingAdmissionPolicy")
    assert not rendered.of("ValidatingWebhookConfiguration")
    assert rendered.of("MutatingWebhookConfiguration")


def test_mutating_policies_need_kubernetes_1_36() -> None:
    switches = ("--set", "nativePolicies.enabled=true", "--set", "nativePolicies.mutating=true")
    result = run_helm(
        "template", "t", str(CHART), *switches, "--kube-version", "1.35.9", check=False
    )
    assert result.returncode != 0
    assert (
        "nativePolicies.mutating: MutatingAdmissionPolicies need Kubernetes 1.36" in result.stderr
    )
    run_helm("template", "t", str(CHART), *switches, "--kube-version", "1.36.0")


def test_an_upgrade_leaves_no_stale_policy() -> None:
    """Each configuration's release holds exactly its objects: what the previous one had and this
    one has not is not rendered, so helm deletes it on upgrade (as it deletes every object of the
    release on uninstall)."""
    steps = [
        ({}, {}),
        ({"policies": {"init-unbounded": {"mode": "warn"}}}, {}),
        ({"policies": {"init-unbounded": {"mode": "warn"}}}, {"defaultMode": "enforce"}),
        ({"policies": {"init-unbounded": {"mode": "off"}}}, {}),
        ({}, {}),
    ]
    before: list[dict[str, Any]] = []
    for config, webhooks in steps:
        now = by_name(native(chart_native(config, webhooks, "1.36")))
        assert unlabelled(now) == unlabelled(by_name(exported(config, webhooks, "1.36")))
        assert now != before
        before = now
    assert before == by_name(native(chart_native({}, {}, "1.36")))


def test_nothing_is_created_at_run_time() -> None:
    """No CRD, no hook, and no permission for initgate's own pods to write admission policies:
    every policy is an object of the release."""
    assert not (CHART / "crds").exists()
    rendered = render_with({"nativePolicies": {"enabled": True}, "audit": {"enabled": True}})
    for role in rendered.of("ClusterRole") + rendered.of("Role"):
        for rule in role["rules"]:
            if "admissionregistration.k8s.io" in rule["apiGroups"]:
                assert rule["verbs"] == ["get"]
