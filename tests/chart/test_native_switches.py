"""What the chart installs of the generated policies by switch and by Kubernetes version: the
mutating policies only with `nativePolicies.mutating` (and only from 1.36), and a user rule that
no policy can stand for on the cluster either left to the validating webhook or refused when
nothing would judge it."""

from __future__ import annotations

import pytest

from policies import REGISTRY
from tests.chart.native import by_name, exported, native, unlabelled
from tests.chart.native_cases import CASES
from tests.chart.render import CHART, render_with, run_helm, values_file
from webhook.native.builders import POLICY_LABEL

pytestmark = pytest.mark.chart

MUTATING = {policy.id for policy in REGISTRY if policy.kind == "mutate"}
NAMING_VOLUMES = {
    "id": "fills-emptydir",
    "description": "What an init container fills is an emptyDir.",
    "roles": ["init"],
    "expression": "fills.all(v, has(volumes[v].emptyDir))",
}


def test_mutating_policies_have_their_own_switch() -> None:
    """Without `nativePolicies.mutating`, a 1.36 cluster gets export's objects but the mutating
    policies' (their MAPs, and the companion VAPs that warn or audit for them)."""
    config, webhooks = CASES["mutating-mixed"]
    values = {"nativePolicies": {"enabled": True}, "config": config, "webhooks": webhooks}
    rendered = native(render_with(values, "--kube-version", "1.36.0"))
    expected = [
        o
        for o in exported(config, webhooks, "1.36")
        if o["metadata"]["labels"][POLICY_LABEL] not in MUTATING
    ]
    assert len(expected) < len(exported(config, webhooks, "1.36"))
    assert unlabelled(by_name(rendered)) == unlabelled(by_name(expected))
    switched = {"nativePolicies": {"enabled": True, "mutating": True, "validating": False}}
    kinds = {o["kind"] for o in native(render_with(switched, "--kube-version", "1.36.0"))}
    assert kinds == {
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicy",  # the companions of the policies that warn or audit
        "ValidatingAdmissionPolicyBinding",
    }


@pytest.mark.parametrize("webhook", [True, False])
@pytest.mark.parametrize("kubernetes", ["1.32", "1.33"])
def test_a_rule_no_policy_stands_for_is_left_to_the_webhook(webhook: bool, kubernetes: str) -> None:
    """Below 1.33 a rule naming `volumes` has no policy (export notes it): the chart installs
    none for it, and refuses to install when the validating webhook is off too."""
    values = {
        "nativePolicies": {"enabled": True},
        "webhooks": {"validating": {"enabled": webhook}},
        "config": {"rules": [NAMING_VOLUMES]},
    }
    version = ("--kube-version", f"{kubernetes}.0")
    if kubernetes == "1.32" and not webhook:
        args = ("template", "t", str(CHART), "-f", str(values_file(values)), *version)
        result = run_helm(*args, check=False)
        assert result.returncode != 0
        assert (
            "nativePolicies: rules: fills-emptydir: not generated: it reads `volumes`"
            in result.stderr
        )
        assert "v1.32.0 and webhooks.validating.enabled is false" in result.stderr
        return
    policies = {
        o["metadata"]["labels"][POLICY_LABEL] for o in native(render_with(values, *version))
    }
    assert ("fills-emptydir" in policies) == (kubernetes == "1.33")
