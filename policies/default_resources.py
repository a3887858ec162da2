"""default-resources: give containers the requests and memory limit they did not declare.

The scheduler places a pod by its requests, and the kernel kills by memory limits: a container
without either is placed blindly and can starve its neighbours. Values already set are never
changed, and the result is always a valid container: a default request is capped at an existing
limit, and a default limit is raised to at least an existing request (the API server rejects a
request above its limit). Pods with pod-level resources (`spec.resources`) are left alone: their
containers share the pod's budget, and per-container defaults could exceed it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, model_validator

from policies import quantity
from policies.base import (
    Container,
    Context,
    Finding,
    PatchOp,
    PodView,
    Role,
    add,
    escape,
    mapping,
)
from policies.policy import Policy, PolicySettings, Quantity, merged_maps


class DefaultResourcesSettings(PolicySettings):
    # Ephemeral containers may not declare resources at all: the API server refuses them.
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.INIT, Role.SIDECAR, Role.APP)
    roles: tuple[Role, ...] = (Role.APP, Role.SIDECAR)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    requests: dict[str, Quantity] = Field(
        default_factory=lambda: {"cpu": "100m", "memory": "128Mi"}
    )
    """Requests added when missing."""
    limits: dict[str, Quantity] = Field(default_factory=lambda: {"memory": "256Mi"})
    """Limits added when missing. A cpu limit throttles, so none is set unless listed here."""
    _maps = merged_maps("requests", "limits")

    @model_validator(mode="after")
    def _consistent(self) -> DefaultResourcesSettings:
        for resource, request in self.requests.items():
            limit = self.limits.get(resource)
            if limit is not None and quantity.parse(request) > quantity.parse(limit):
                raise ValueError(
                    f"requests.{resource} ({request}) is above limits.{resource} ({limit})"
                )
        return self


def _missing(
    present: dict[str, Any], defaults: dict[str, str], bound: dict[str, Any], *, ceiling: bool
) -> dict[str, Any]:
    """Defaults for the keys absent from `present`, kept on the valid side of `bound`.

    With `ceiling`, `bound` holds limits and a default above one is lowered to it; otherwise
    `bound` holds requests and a default below one is raised to it.
    """
    added: dict[str, Any] = {}
    for resource, default in defaults.items():
        if present.get(resource) is not None:
            continue
        value: Any = default
        other = quantity.parse_or_none(bound.get(resource))
        if other is not None:
            wanted = quantity.parse(default)
            if (other < wanted) if ceiling else (other > wanted):
                value = bound[resource]
        added[resource] = value
    return added


def _patch(container: Container, requests: dict[str, Any], limits: dict[str, Any]) -> list[PatchOp]:
    """The smallest operations that add the values, creating only the maps that are missing."""
    base = f"{container.path}/resources"
    resources = container.raw.get("resources")
    if not isinstance(resources, dict):
        value = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
        return [add(base, value)]
    ops: list[PatchOp] = []
    for key, values in (("requests", requests), ("limits", limits)):
        if not values:
            continue
        if not isinstance(resources.get(key), dict):
            ops.append(add(f"{base}/{key}", values))
            continue
        ops.extend(add(f"{base}/{key}/{escape(name)}", v) for name, v in values.items())
    return ops


def evaluate(pod: PodView, _context: Context, settings: DefaultResourcesSettings) -> list[Finding]:
    """One finding per container that lacks a default, carrying the operations that add it."""
    if pod.spec.get("resources"):
        return []
    found: list[Finding] = []
    for container in pod.select(settings.role_set):
        resources = mapping(container.raw.get("resources"))
        requests = mapping(resources.get("requests"))
        limits = mapping(resources.get("limits"))
        new_requests = _missing(requests, settings.requests, limits, ceiling=True)
        new_limits = _missing(limits, settings.limits, requests, ceiling=False)
        if not new_requests and not new_limits:
            continue
        # `set requests cpu=100m memory=128Mi, limits memory=256Mi`: short enough that a warning
        # line ("would set ...") keeps every value after the container's label.
        described = ", ".join(
            f"{key} " + " ".join(f"{name}={value}" for name, value in values.items())
            for key, values in (("requests", new_requests), ("limits", new_limits))
            if values
        )
        found.append(
            Finding(
                key="resources",
                message=f"set {described}",
                role=container.role,
                container=container,
                patch=tuple(_patch(container, new_requests, new_limits)),
            )
        )
    return found


POLICY: Policy[DefaultResourcesSettings] = Policy(
    id="default-resources",
    kind="mutate",
    summary="Adds missing cpu/memory requests and a memory limit to containers, from defaults.",
    remedy="Declare resources.requests and resources.limits on each container.",
    settings=DefaultResourcesSettings,
    evaluate=evaluate,
)
