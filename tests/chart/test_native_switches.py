"""What the chart installs of the generated policies by switch: the mutating policies only with
`nativePolicies.mutating` (and only from 1.36)."""

from __future__ import annotations

import pytest

from policies import REGISTRY
from tests.chart.native import by_name, exported, native, unlabelled
from tests.chart.native_cases import CASES
from tests.chart.render import render_with
from webhook.native.builders import POLICY_LABEL

pytestmark = pytest.mark.chart

MUTATING = {policy.id for policy in REGISTRY if policy.kind == "mutate"}


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
