"""The static cost estimate (webhook/core/cel/cost.py): exact figures where the unit costs of
cel-go's estimator and Kubernetes' `library/cost.go` fix them, orderings and the budget where
they do not, the guards each estimate records and `exceeded()` on values within and beyond."""

from __future__ import annotations

from webhook.core.cel import cost
from webhook.core.cel.environment import compile_expression

VARIABLES = frozenset(("object", "container", "volumes", "fills", "path"))


def estimate(text: str, bounds: cost.Bounds | None = None) -> cost.Estimate:
    return cost.estimate(compile_expression(text).checked, variables=VARIABLES, bounds=bounds)


def test_comparing_library_values_costs_one_as_in_kubernetes() -> None:
    # A Quantity, an IP or a Semver has no size to bound: `==` on two of them costs 1 (plus
    # the two parses), not the unbounded cost of comparing two strings of unknown length.
    assert estimate("quantity('1') == quantity('1000m')").cost == 3
    assert estimate("ip('::1') == cidr('::1/128').ip()").cost == 4
    assert estimate("semver('1.0.0') != semver('1.0.1')").cost == 3
