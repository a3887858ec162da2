"""The API server's side of generated MutatingAdmissionPolicies, for the tests (the shared parts
of evaluation are in tests/support/admission_policies.py):

- a binding applies when its namespaceSelector selects the namespace, its policy's
  resourceRules match and every matchCondition is true (an error: failurePolicy decides);
- a policy's mutations run in order, each a JSON Patch (its `JSONPatch` values) applied as
  evanphx/json-patch v4 applies it (tests/support/json_patch.py): a failing `test` skips the
  mutation, any other failure is an error under failurePolicy Fail and nothing under Ignore;
- policies run in the order given: Kubernetes' order is unspecified (it walks a Go map), so
  tests try several; then the `IfNeeded` ones run once more when the round changed the object
  (the admission chain reinvokes once). Re-defaulting after each mutation is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support import json_patch
from tests.support.admission_policies import (
    FailedError,
    conditions,
    data_of,
    evaluate,
    matches,
    variables_of,
)
from webhook.audit.live import selects
from webhook.core.cel.jsonpatch_lib import operation


@dataclass(slots=True)
class Mutation:
    """What the mutating policies did to one request."""

    object: Any
    errors: list[str] = field(default_factory=list)
    """Mutations that failed under failurePolicy Fail: the API server refuses the request."""
    changed: list[str] = field(default_factory=list)
    """The policies whose invocation changed the object, in order, once per round."""


def mutate(
    objects: Sequence[Mapping[str, Any]],
    request: Mapping[str, Any],
    namespace_labels: Mapping[str, str],
    *,
    order: Sequence[str] = (),
    rounds: int = 2,
) -> Mutation:
    """What the API server's MutatingAdmissionPolicy plugin does with `request`: the bound
    policies in `order` (policy names; by default the objects' order), then a reinvocation of
    the `IfNeeded` ones while a round changed something, `rounds` rounds at most (Kubernetes
    reinvokes once)."""
    policies = {o["metadata"]["name"]: o for o in objects if o["kind"] == "MutatingAdmissionPolicy"}
    bound = [
        policies[b["spec"]["policyName"]]
        for b in objects
        if b["kind"] == "MutatingAdmissionPolicyBinding"
        and selects(b["spec"]["matchResources"]["namespaceSelector"], namespace_labels)
    ]
    ranked = {name: index for index, name in enumerate(order)}
    bound.sort(key=lambda p: ranked.get(p["metadata"]["name"], len(ranked)))
    outcome = Mutation(request["object"])
    invoked = bound
    for _ in range(rounds):
        before = outcome.object
        ran = [p for p in invoked if _invoke(p, request, outcome)]
        if outcome.object == before:
            break
        invoked = [p for p in ran if p["spec"].get("reinvocationPolicy") == "IfNeeded"]
    return outcome


def _invoke(policy: Mapping[str, Any], request: Mapping[str, Any], outcome: Mutation) -> bool:
    """Run one policy's mutations on `outcome.object`; whether it applied (matched)."""
    spec = policy["spec"]
    if not matches(spec["matchConstraints"]["resourceRules"], request):
        return False
    name = policy["metadata"]["name"]
    fail = spec.get("failurePolicy", "Fail") == "Fail"
    data = data_of(request, outcome.object)
    refused = conditions(spec, data, patches=True)
    if refused is not None:
        if fail and refused:
            outcome.errors.append(f"{name}: {refused}")
        return False
    data["variables"] = variables_of(spec, data, patches=True)
    before = outcome.object
    for index, mutation in enumerate(spec["mutations"]):
        where = f"{name}: mutations[{index}]"
        try:
            value = evaluate(mutation["jsonPatch"]["expression"], data, patches=True)
            ops = [operation(v) for v in value]
            patched = json_patch.apply(outcome.object, ops)
        except json_patch.TestFailedError:
            continue
        except (FailedError, json_patch.PatchFailedError) as error:
            if fail:
                outcome.errors.append(f"{where}: {error}")
            continue
        outcome.object = patched
        data = {**data, "object": patched}
    if outcome.object != before:
        outcome.changed.append(name)
    return True
