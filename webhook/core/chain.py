"""Offline evaluation: a manifest or a captured AdmissionReview, judged exactly as the API server
would chain the webhooks: mutate first, apply the patch, then validate the mutated object."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from policies.base import Mode, mapping
from webhook.core import review
from webhook.core.engine import Decision
from webhook.core.handler import Handler
from webhook.core.patch import apply
from webhook.core.plan import Plan

OFFLINE_USER = "initgate-offline"


def wrap(manifest: dict[str, Any], *, namespace: str = "default") -> review.AdmissionReview:
    """An AdmissionReview for creating `manifest`, as the API server would send it."""
    api_version = str(manifest.get("apiVersion", "v1"))
    group, _, version = api_version.rpartition("/")
    kind = str(manifest.get("kind", ""))
    metadata = mapping(manifest.get("metadata"))
    resource = kind.lower() + "s" if kind else ""
    return review.AdmissionReview.model_validate(
        {
            "apiVersion": review.API_VERSION,
            "kind": review.KIND,
            "request": {
                "uid": str(uuid.uuid4()),
                "kind": {"group": group, "version": version, "kind": kind},
                "resource": {"group": group, "version": version, "resource": resource},
                "name": metadata.get("name", ""),
                "namespace": metadata.get("namespace") or namespace,
                "operation": "CREATE",
                "userInfo": {"username": OFFLINE_USER},
                "object": manifest,
            },
        }
    )


def as_review(document: dict[str, Any], *, namespace: str = "default") -> review.AdmissionReview:
    """`document` itself when it is an AdmissionReview, else a review creating it."""
    if document.get("kind") == review.KIND:
        return review.AdmissionReview.model_validate(document)
    return wrap(document, namespace=namespace)


@dataclass(frozen=True, slots=True)
class Chained:
    """Both answers, and the object as the validating webhook saw it."""

    mutate: review.ReviewOut
    mutate_decision: Decision
    validate: review.ReviewOut
    validate_decision: Decision
    mutated: dict[str, Any] | None


def apply_patch(obj: dict[str, Any], response: review.Response) -> dict[str, Any]:
    """`obj` with the response's JSON Patch applied (`obj` itself is left as it was)."""
    if "patch" not in response:
        return obj
    return apply(obj, orjson.loads(base64.b64decode(response["patch"])))


def chain(incoming: review.AdmissionReview, plan: Plan, *, cap: Mode = Mode.ENFORCE) -> Chained:
    """Mutate, apply the patch, validate the result: the API server's order. `cap` plays the
    endpoint a namespace is routed to (its `initgate.io/mode` label)."""
    request = incoming.request
    mutator = Handler(webhook="mutate", cap=cap, plan=lambda: plan)
    mutated_response, mutate_decision = mutator.handle(request)
    mutated = apply_patch(request.object, mutated_response) if request.object is not None else None
    validating = request.model_copy(update={"object": mutated})
    validator = Handler(webhook="validate", cap=cap, plan=lambda: plan)
    validated_response, validate_decision = validator.handle(validating)
    return Chained(
        mutate=review.complete(request.uid, mutated_response),
        mutate_decision=mutate_decision,
        validate=review.complete(request.uid, validated_response),
        validate_decision=validate_decision,
        mutated=mutated,
    )
