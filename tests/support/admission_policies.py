"""The API server's side of generated admission policies, for the tests: which policies and
bindings apply to a request, and what their CEL says, evaluated in initgate's one CEL environment
with Kubernetes' semantics (docs/native-policies.md and /k8s references there):

- a binding applies when its namespaceSelector selects the namespace, its policy's
  resourceRules match and every matchCondition is true (an error: failurePolicy decides);
- variables are evaluated in order, each once; one that fails makes what reads it fail;
- a validation that is not true fails with its messageExpression's text (one line, not empty,
  at most 5,120 bytes), else its message, else `failed expression: ...`; an evaluation error is
  a failure under failurePolicy Fail and nothing under Ignore;
- the binding's actions say what a failure does: Deny, Warn, Audit;
- the MutatingAdmissionPolicies' side is in tests/support/mutating_policies.py.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from webhook.audit.live import selects
from webhook.core.cel.environment import CompileError, EvaluationError
from webhook.core.cel.expression import Expression, compile_checked
from webhook.native.export import NO_LIMIT, POLICY_VARIABLES

_RESOURCES = {
    "Pod": ("", "pods"),
    "ReplicationController": ("", "replicationcontrollers"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "ReplicaSet": ("apps", "replicasets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
}


@dataclass(slots=True)
class Outcome:
    """What the validating policies did to one request."""

    denied: list[str] = field(default_factory=list)
    warned: list[str] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.denied


def request_for(
    obj: Mapping[str, Any],
    *,
    namespace: str = "demo",
    operation: str = "CREATE",
    old: Mapping[str, Any] | None = None,
    subresource: str = "",
    username: str = "alice",
    groups: Sequence[str] = (),
) -> dict[str, Any]:
    """An AdmissionRequest as the API server would write it for `obj`."""
    kind = str(obj["kind"])
    group, resource = _RESOURCES[kind]
    version = str(obj["apiVersion"]).rpartition("/")[2]
    metadata = obj.get("metadata") or {}
    return {
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": resource},
        "subResource": subresource,
        "requestKind": {"group": group, "version": version, "kind": kind},
        "requestResource": {"group": group, "version": version, "resource": resource},
        "requestSubResource": subresource,
        "name": metadata.get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": username, "groups": list(groups)},
        "object": dict(obj),
        "oldObject": dict(old) if old is not None else None,
        "dryRun": False,
        "options": {},
    }


def captured(request: Mapping[str, Any]) -> dict[str, Any]:
    """A captured AdmissionRequest as a policy reads it: what its JSON leaves out when empty
    (`subResource` of a plain create...) with its empty value."""
    return {"subResource": "", "requestSubResource": "", "dryRun": False, "options": {}, **request}


_OMITTED = {"subResource": "", "requestSubResource": "", "name": "", "namespace": ""}
"""Fields a review leaves out when empty (as the captured ones do), which the API server's CEL
`request` always has (admission/plugin/cel: CreateAdmissionRequest)."""


@functools.cache
def _compiled(text: str, *, patches: bool = False) -> Expression:
    return compile_checked(
        text, variables=POLICY_VARIABLES, results=None, budget=NO_LIMIT, patches=patches
    )


def matches(rules: Sequence[Mapping[str, Any]], request: Mapping[str, Any]) -> bool:
    """Whether a policy's resourceRules match the request (group, operation, resource)."""
    resource = request["resource"]["resource"]
    if request.get("subResource"):
        resource += "/" + request["subResource"]
    return any(
        request["kind"]["group"] in rule["apiGroups"]
        and request["operation"] in rule["operations"]
        and resource in rule["resources"]
        for rule in rules
    )


class FailedError(Exception):
    """An expression that compiled to an error or failed on the request."""


def evaluate(text: str, data: Mapping[str, Any], *, patches: bool = False) -> Any:
    """`text`'s value on `data`, compiled as a ValidatingAdmissionPolicy's expression (or a
    MutatingAdmissionPolicy's: `patches`); `FailedError` when it fails."""
    try:
        return _compiled(text, patches=patches).evaluate(data)
    except (EvaluationError, CompileError) as error:
        raise FailedError(str(error)) from None


def typed(value: Any) -> Any:
    """`value` as the API server holds a decoded object: without null members (an absent
    pointer, an empty `omitempty` field), which policies never see."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return value


def validate(
    objects: Sequence[Mapping[str, Any]],
    request: Mapping[str, Any],
    namespace_labels: Mapping[str, str],
    *,
    cached: bool = True,
) -> Outcome:
    """What the API server does with `request` under the generated validating policies (each
    policy's failures on a request `cached`, as the bindings of every cap share them; `make
    bench` times them uncached)."""
    outcome = Outcome()
    policies = {
        o["metadata"]["name"]: o for o in objects if o["kind"] == "ValidatingAdmissionPolicy"
    }
    for binding in objects:
        if binding["kind"] != "ValidatingAdmissionPolicyBinding":
            continue
        spec = binding["spec"]
        if not selects(spec["matchResources"]["namespaceSelector"], namespace_labels):
            continue
        policy = policies[spec["policyName"]]
        failures = _policy(policy, request) if cached else _evaluated(policy, request)
        for message in failures:
            for action in spec["validationActions"]:
                {"Deny": outcome.denied, "Warn": outcome.warned, "Audit": outcome.audited}[
                    action
                ].append(message)
    return outcome


def _policy(policy: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    """The messages of the validations that fail (errors count under failurePolicy Fail),
    worked out once per policy and request: the bindings of every namespace cap share them."""
    return list(_failures(json.dumps(policy, sort_keys=True), json.dumps(request, sort_keys=True)))


@functools.lru_cache(maxsize=32)
def _failures(policy_json: str, request_json: str) -> tuple[str, ...]:
    return tuple(_evaluated(json.loads(policy_json), json.loads(request_json)))


def _evaluated(policy: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    spec = policy["spec"]
    if not matches(spec["matchConstraints"]["resourceRules"], request):
        return []
    fail = spec.get("failurePolicy", "Fail") == "Fail"
    data = data_of(request, request["object"])
    refused = conditions(spec, data, patches=False)
    if refused is not None:
        return [refused] if fail and refused else []
    data["variables"] = variables_of(spec, data, patches=False)
    messages = []
    for validation in spec["validations"]:
        try:
            passed = evaluate(validation["expression"], data) is True
        except FailedError as error:
            if fail:
                messages.append(f"expression error: {error}")
            continue
        if not passed:
            messages.append(_message(validation, data))
    return messages


def data_of(request: Mapping[str, Any], obj: Any) -> dict[str, Any]:
    """What a policy's expressions read on `request`, whose object is now `obj`."""
    return {
        "object": obj,
        "oldObject": request["oldObject"],
        "request": {
            **_OMITTED,
            **{k: v for k, v in request.items() if k not in ("object", "oldObject")},
        },
        "params": None,
        "namespaceObject": None,
    }


def conditions(spec: Mapping[str, Any], data: Mapping[str, Any], *, patches: bool) -> str | None:
    """None when every matchCondition is true; else '' (one is not: the policy does not apply)
    or the error of the one that failed."""
    for condition in spec.get("matchConditions", []):
        try:
            if evaluate(condition["expression"], data, patches=patches) is not True:
                return ""
        except FailedError as error:
            return f"matchCondition {condition['name']}: {error}"
    return None


def variables_of(spec: Mapping[str, Any], data: Mapping[str, Any], *, patches: bool) -> Any:
    """The variables in order, each evaluated once; one that fails is left out (what reads it
    fails: it has no such key)."""
    variables: dict[str, Any] = {}
    for variable in spec.get("variables", []):
        try:
            variables[variable["name"]] = evaluate(
                variable["expression"], {**data, "variables": variables}, patches=patches
            )
        except FailedError:
            continue
    return variables


MESSAGE_LIMIT = 5 * 1024
"""Bytes of a messageExpression's result the API server shows (celconfig
MaxEvaluatedMessageExpressionSizeBytes); past it, the static message."""


def _usable(text: str) -> bool:
    return bool(text) and "\n" not in text and len(text.encode()) <= MESSAGE_LIMIT


def _message(validation: Mapping[str, str], data: Mapping[str, Any]) -> str:
    if "messageExpression" in validation:
        try:
            text = evaluate(validation["messageExpression"], data)
        except FailedError:
            text = None
        if isinstance(text, str) and _usable(text.strip()):
            return text.strip()
    return validation.get("message") or f"failed expression: {validation['expression']}"
