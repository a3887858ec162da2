"""init-unbounded: init containers must declare resource limits, within configured maxima.

An init container runs to completion: a download, a migration, a schema check. Without limits one
that misbehaves (a decompression bomb, a runaway retry) takes what the node has, and while it runs,
the pod's app containers have not started, so nothing else in the pod notices. Limits set on the pod
itself (`spec.resources`, pod-level resources) bound every container and satisfy this policy.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, field_validator

from policies import quantity
from policies.base import Context, Finding, PodView, Policy, PolicySettings, Role, mapping


class InitUnboundedSettings(PolicySettings):
    allowed_roles: ClassVar[tuple[Role, ...]] = (Role.INIT, Role.SIDECAR)
    roles: tuple[Role, ...] = (Role.INIT,)
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""

    required: tuple[str, ...] = ("cpu", "memory")
    """Resources every init container must have a limit for."""
    maximum: dict[str, str] = Field(default_factory=dict)
    """Highest limit allowed per resource, e.g. `{memory: 4Gi}`; empty: no maximum."""
    suggested: dict[str, str] = Field(default_factory=lambda: {"cpu": "500m", "memory": "256Mi"})
    """Values the message suggests for a missing limit."""

    @field_validator("maximum", "suggested")
    @classmethod
    def _quantities(cls, values: dict[str, str]) -> dict[str, str]:
        for value in values.values():
            quantity.validate(value)
        return values


def evaluate(pod: PodView, _context: Context, settings: InitUnboundedSettings) -> list[Finding]:
    """A finding for each required limit that is missing and each limit above its maximum."""
    pod_limits = mapping(mapping(pod.spec.get("resources")).get("limits"))
    found: list[Finding] = []
    for container in pod.select(settings.role_set):
        limits = mapping(mapping(container.raw.get("resources")).get("limits"))
        for resource in settings.required:
            if resource in limits or resource in pod_limits:
                continue
            example = settings.suggested.get(resource)
            advice = f"set one, e.g. {resource}: {example}" if example else "set one"
            found.append(
                Finding(
                    key=f"limit:{resource}",
                    message=f"resources.limits.{resource} is missing; {advice}",
                    role=container.role,
                    container=container,
                )
            )
        for resource, highest in settings.maximum.items():
            value = quantity.parse_or_none(limits.get(resource))
            if value is not None and value > quantity.parse(highest):
                found.append(
                    Finding(
                        key=f"max:{resource}",
                        message=(
                            f"resources.limits.{resource} is {limits[resource]}, above the "
                            f"maximum {highest}; lower it"
                        ),
                        role=container.role,
                        container=container,
                    )
                )
    return found


POLICY = Policy(
    id="init-unbounded",
    kind="validate",
    summary="Init containers must set resource limits (cpu and memory by default), within maxima.",
    remedy="Add resources.limits to each init container listed.",
    settings=InitUnboundedSettings,
    evaluate=evaluate,
)
