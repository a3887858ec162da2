"""The admission policy objects, as plain dicts, one function per kind. Every object carries the
labels that find it again: `app.kubernetes.io/managed-by: initgate` and the policy it comes from,
so that whoever installed them (the chart, `kubectl apply --prune -l`) deletes every one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

API_VERSION = "admissionregistration.k8s.io/v1"
MANAGED_BY = {"app.kubernetes.io/managed-by": "initgate", "app.kubernetes.io/part-of": "initgate"}
POLICY_LABEL = "initgate.io/policy"

Expression = dict[str, str]
"""`{name, expression}` (a variable or a matchCondition) or a validation."""


def labels(policy: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**MANAGED_BY, POLICY_LABEL: policy, **(extra or {})}


def validating_policy(
    name: str,
    *,
    policy: str,
    failure_policy: str,
    resource_rules: Sequence[Mapping[str, Any]],
    match_conditions: Sequence[Expression],
    variables: Sequence[Expression],
    validations: Sequence[Mapping[str, str]],
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy."""
    spec: dict[str, Any] = {
        "failurePolicy": failure_policy,
        "matchConstraints": {"resourceRules": [dict(r) for r in resource_rules]},
    }
    if match_conditions:
        spec["matchConditions"] = [dict(c) for c in match_conditions]
    spec["variables"] = [dict(v) for v in variables]
    spec["validations"] = [dict(v) for v in validations]
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": labels(policy, extra_labels)},
        "spec": spec,
    }


def validating_binding(
    name: str,
    *,
    policy: str,
    policy_name: str,
    actions: Sequence[str],
    namespace_selector: Mapping[str, Any],
    object_selector: Mapping[str, Any] | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ValidatingAdmissionPolicyBinding: which namespaces (and objects), with which actions."""
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels(policy, extra_labels)},
        "spec": {
            "policyName": policy_name,
            "validationActions": list(actions),
            "matchResources": _match_resources(namespace_selector, object_selector),
        },
    }


def _match_resources(
    namespace_selector: Mapping[str, Any], object_selector: Mapping[str, Any] | None
) -> dict[str, Any]:
    found: dict[str, Any] = {"namespaceSelector": dict(namespace_selector)}
    if object_selector:
        found["objectSelector"] = dict(object_selector)
    return found


def mutating_policy(
    name: str,
    *,
    policy: str,
    failure_policy: str,
    resource_rules: Sequence[Mapping[str, Any]],
    match_conditions: Sequence[Expression],
    variables: Sequence[Expression],
    patches: Sequence[str],
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A MutatingAdmissionPolicy applying JSON Patches, reinvoked when others change the pod."""
    spec: dict[str, Any] = {
        "failurePolicy": failure_policy,
        "reinvocationPolicy": "IfNeeded",
        "matchConstraints": {"resourceRules": [dict(r) for r in resource_rules]},
    }
    if match_conditions:
        spec["matchConditions"] = [dict(c) for c in match_conditions]
    spec["variables"] = [dict(v) for v in variables]
    spec["mutations"] = [
        {"patchType": "JSONPatch", "jsonPatch": {"expression": patch}} for patch in patches
    ]
    return {
        "apiVersion": API_VERSION,
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": name, "labels": labels(policy, extra_labels)},
        "spec": spec,
    }


def mutating_binding(
    name: str,
    *,
    policy: str,
    policy_name: str,
    namespace_selector: Mapping[str, Any],
    object_selector: Mapping[str, Any] | None = None,
    extra_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A MutatingAdmissionPolicyBinding (it has no actions: a bound policy mutates)."""
    return {
        "apiVersion": API_VERSION,
        "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels(policy, extra_labels)},
        "spec": {
            "policyName": policy_name,
            "matchResources": _match_resources(namespace_selector, object_selector),
        },
    }
