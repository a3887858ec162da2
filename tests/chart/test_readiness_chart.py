"""`audit --cluster --readiness` reading the webhook configurations a real `helm install` of the
chart makes (helm renders them; the replay API server serves them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.chart.test_live_routing import serve_chart
from tests.webhook.audit.apiserver import Replay
from tests.webhook.audit.test_readiness import LABELS, by_name, readiness

pytestmark = pytest.mark.chart


def test_the_live_configurations_give_each_namespace_its_mode(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chart's configurations, as `helm install` makes them, read by default; another
    release name is given with --webhook-configuration."""
    serve_chart(replay, "--set", "webhooks.defaultMode=audit")
    replay.state.labels = LABELS
    status, out, err = readiness(kubeconfig, capsys, "-o", "json")
    assert (status, err) == (0, "")
    assert (json.loads(out)["installed"], json.loads(out)["webhookConfiguration"]) == (
        True,
        "initgate",
    )
    plan = by_name(out)
    modes = {name: (ns["mode"], ns["modeFrom"]) for name, ns in plan.items()}
    assert modes["demo"] == ("warn", "label")
    assert modes["workloads"] == ("audit", "label")
    assert modes["patch-test"] == ("enforce", "label")
    assert modes["default"] == ("audit", "default")
    assert plan["workloads"]["ifEnforced"]["denied"] == [
        "StatefulSet db",
        "DaemonSet node-tuner",
        "Job migrate",
    ]
    assert "warn-test" not in plan
    status, out, _ = readiness(kubeconfig, capsys, "--webhook-configuration", "shop-guard-initgate")
    assert status == 0
    assert out.startswith(
        "initgate is not installed: there is no ValidatingWebhookConfiguration or\n"
        "MutatingWebhookConfiguration shop-guard-initgate"
    )
