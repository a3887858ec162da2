"""`autoscaling.enabled`: a HorizontalPodAutoscaler (autoscaling/v2, CPU) owns the webhook's
replica count, never below what the PodDisruptionBudget needs to keep one replica answering."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.render import CHART, RELEASE, Rendered, render, run_helm
from tests.support.kube import VERSIONS, validate

pytestmark = pytest.mark.chart

ON = ("--set", "autoscaling.enabled=true")


def test_off_by_default_the_deployment_has_its_replica_count() -> None:
    rendered = render()
    assert rendered.of("HorizontalPodAutoscaler") == []
    assert rendered.one("Deployment", RELEASE)["spec"]["replicas"] == 2


def autoscaler(rendered: Rendered) -> dict[str, Any]:
    hpa = rendered.one("HorizontalPodAutoscaler")
    for version in VERSIONS:
        validate(hpa, version)
    return hpa


def test_the_autoscaler_owns_the_replica_count() -> None:
    rendered = render(*ON, "--set", "autoscaling.maxReplicas=8")
    hpa = autoscaler(rendered)
    assert hpa["apiVersion"] == "autoscaling/v2"
    deployment = rendered.one("Deployment", RELEASE)
    assert hpa["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": RELEASE},
        "minReplicas": 2,
        "maxReplicas": 8,
        "metrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 75},
                },
            }
        ],
    }
    # An upgrade must not reset what the autoscaler chose.
    assert "replicas" not in deployment["spec"]
    # The utilization is a share of the request, which must be there.
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["resources"]["requests"]["cpu"]
    budget = rendered.one("PodDisruptionBudget")
    assert budget["spec"]["maxUnavailable"] < hpa["spec"]["minReplicas"]
    assert budget["spec"]["selector"] == deployment["spec"]["selector"]


def test_without_a_budget_one_replica_may_be_the_floor() -> None:
    rendered = render(
        *ON, "--set", "autoscaling.minReplicas=1", "--set", "podDisruptionBudget.enabled=false"
    )
    assert autoscaler(rendered)["spec"]["minReplicas"] == 1
    assert rendered.of("PodDisruptionBudget") == []


def test_a_percentage_budget_needs_two() -> None:
    rendered = render(*ON, "--set", "podDisruptionBudget.maxUnavailable=50%")
    assert autoscaler(rendered)["spec"]["minReplicas"] == 2
    assert rendered.one("PodDisruptionBudget")["spec"]["maxUnavailable"] == "50%"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            ["autoscaling.minReplicas=1"],
            "autoscaling.minReplicas (1) must be at least 2 while podDisruptionBudget.enabled",
        ),
        (
            ["podDisruptionBudget.maxUnavailable=2"],
            "autoscaling.minReplicas (2) must be at least 3 while podDisruptionBudget.enabled",
        ),
        (
            ["autoscaling.minReplicas=4", "autoscaling.maxReplicas=3"],
            "autoscaling.maxReplicas (3) must be at least autoscaling.minReplicas (4)",
        ),
        (["resources.requests.cpu=null"], "autoscaling.enabled: set resources.requests.cpu"),
        (["autoscaling.targetCPUUtilizationPercentage=0"], "targetCPUUtilizationPercentage"),
        (["autoscaling.targetCPUUtilizationPercentage=150"], "targetCPUUtilizationPercentage"),
        (["autoscaling.minReplica=3"], "minReplica"),  # a typo
        (["autoscaling.maxReplicas=0"], "maxReplicas"),
    ],
)
def test_values_that_would_leave_admission_unguarded_are_refused(
    settings: list[str], message: str
) -> None:
    sets = [arg for setting in settings for arg in ("--set", setting)]
    result = run_helm("template", "t", str(CHART), *ON, *sets, check=False)
    assert result.returncode != 0
    assert message in result.stderr
