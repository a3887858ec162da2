"""Namespace routing, as the chart's webhook entries select namespaces."""

from __future__ import annotations

import pytest

from policies.base import Mode
from webhook.audit.routing import EXCLUDED, Skip, route

EXCLUDED_HERE = {**EXCLUDED, "initgate": "initgate runs here"}


@pytest.mark.parametrize(
    ("name", "labels", "default", "expected"),
    [
        ("shop", {}, Mode.AUDIT, Mode.AUDIT),
        ("shop", {}, Mode.ENFORCE, Mode.ENFORCE),
        ("shop", {"initgate.io/mode": "enforce"}, Mode.AUDIT, Mode.ENFORCE),
        ("shop", {"initgate.io/mode": "warn"}, Mode.ENFORCE, Mode.WARN),
        ("shop", {"initgate.io/mode": "audit"}, Mode.OFF, Mode.AUDIT),
        ("shop", {"initgate.io/mode": "off"}, Mode.ENFORCE, Skip("labelled initgate.io/mode=off")),
        ("shop", {"initgate.io/mode": "Enforce"}, Mode.WARN, Mode.WARN),
        (
            "shop",
            {"initgate.io/mode": "yes"},
            Mode.OFF,
            Skip("initgate.io/mode is 'yes'; default mode off"),
        ),
        ("shop", {}, Mode.OFF, Skip("initgate.io/mode not set; default mode off")),
        ("shop", {"initgate.io/ignore": ""}, Mode.ENFORCE, Skip("labelled initgate.io/ignore")),
        (
            "shop",
            {"initgate.io/ignore": "false", "initgate.io/mode": "enforce"},
            Mode.ENFORCE,
            Skip("labelled initgate.io/ignore"),
        ),
        (
            "kube-system",
            {"initgate.io/mode": "enforce"},
            Mode.ENFORCE,
            Skip("excluded by the webhook configuration"),
        ),
        ("kube-node-lease", {}, Mode.ENFORCE, Skip("excluded by the webhook configuration")),
        ("initgate", {}, Mode.ENFORCE, Skip("initgate runs here")),
        ("kube-public", {}, Mode.ENFORCE, Mode.ENFORCE),  # sent; exempt by the configuration
    ],
)
def test_route(name: str, labels: dict[str, str], default: Mode, expected: Mode | Skip) -> None:
    assert route(name, labels, default=default, excluded=EXCLUDED_HERE) == expected
