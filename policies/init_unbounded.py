"""init-unbounded: init containers must declare resource limits, within configured maxima.

An init container runs to completion: a download, a migration, a schema check. Without limits one
that misbehaves (a decompression bomb, a runaway retry) takes what the node has, and while it runs,
the pod's app containers have not started, so nothing else in the pod notices. Limits set on the pod
itself (`spec.resources`, pod-level resources) bound every container and satisfy this policy.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from policies import quantity
from policies.base import Context, Finding, PodView, Role, mapping
from policies.policy import Policy, PolicySettings, Quantity, merged_maps


class InitUnboundedSettings(PolicySettings):
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.INIT, Role.SIDECAR)
    roles: tuple[Role, ...] = (Role.INIT,)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    required: tuple[str, ...] = ("cpu", "memory")
    """Resources every init container must have a limit for."""
    maximum: dict[str, Quantity] = Field(default_factory=dict)
    """Highest limit allowed per resource, e.g. `{memory: 4Gi}`; empty: no maximum."""
    suggested: dict[str, Quantity] = Field(
        default_factory=lambda: {"cpu": "500m", "memory": "256Mi"}
    )
    """Values the message suggests for a missing limit."""
    _maps = merged_maps("maximum", "suggested")


def _suggestion(resource: str, requests: dict[str, Any], settings: InitUnboundedSettings) -> str:
    """The value to suggest for a missing limit: the configured one, raised to the container's own
    request (a limit below it would be refused by the API server)."""
    suggested = settings.suggested.get(resource)
    request = requests.get(resource)
    wanted = quantity.parse_or_none(request)
    if wanted is not None and (suggested is None or wanted > quantity.parse(suggested)):
        return str(request)
    return suggested or ""


def _above(resource: str, value: Any, highest: str) -> str | None:
    """What is wrong with a limit above its maximum, or with one that is no quantity at all."""
    parsed = quantity.parse_or_none(value)
    if parsed is None:
        # Fail closed: an API server never sends an unparseable quantity, and one that initgate
        # cannot read must not slip past a configured maximum.
        shown = repr(value)[:24]
        return f"resources.limits.{resource} is {shown}, not a quantity; use e.g. {highest}"
    if parsed > quantity.parse(highest):
        return f"resources.limits.{resource} is {value}, above the maximum {highest}; lower it"
    return None


_NON_ZERO = frozenset("123456789")


def _bounds(value: Any) -> bool:
    """Whether a limit bounds anything: the kubelet reads a limit of 0 (`0`, `"0m"`, `"0Mi"`) as
    none at all. An unreadable limit counts as one: no API server sends it, and `maximum` judges
    it."""
    if value is None:
        return False
    if isinstance(value, str) and value[:1] in _NON_ZERO:
        return True  # `100m`, `2Gi`: what nearly every limit looks like, known without parsing
    return quantity.parse_or_none(value) != 0


def evaluate(pod: PodView, _context: Context, settings: InitUnboundedSettings) -> list[Finding]:
    """A finding for each required limit that is missing (or 0) and each limit above its
    maximum."""
    pod_limits = mapping(mapping(pod.spec.get("resources")).get("limits"))
    found: list[Finding] = []
    for container in pod.select(settings.role_set):
        resources = mapping(container.raw.get("resources"))
        limits, requests = mapping(resources.get("limits")), mapping(resources.get("requests"))
        for resource in settings.required:
            limit = limits.get(resource)
            if (limit is not None and _bounds(limit)) or (
                pod_limits and _bounds(pod_limits.get(resource))
            ):
                continue
            example = _suggestion(resource, requests, settings)
            advice = f"set one, e.g. {resource}: {example}" if example else "set one"
            state = "missing" if limit is None else f"{limit}, which the kubelet reads as no limit"
            found.append(
                Finding(
                    key=f"limit:{resource}",
                    message=f"resources.limits.{resource} is {state}; {advice}",
                    role=container.role,
                    container=container,
                )
            )
        for resource, highest in settings.maximum.items():
            if limits.get(resource) is None:
                continue
            if (problem := _above(resource, limits[resource], highest)) is not None:
                found.append(
                    Finding(
                        key=f"max:{resource}",
                        message=problem,
                        role=container.role,
                        container=container,
                    )
                )
    return found


POLICY: Policy[InitUnboundedSettings] = Policy(
    id="init-unbounded",
    kind="validate",
    summary="Init containers must set resource limits (cpu and memory by default), within maxima.",
    remedy="Add resources.limits to each init container listed.",
    settings=InitUnboundedSettings,
    evaluate=evaluate,
)
