"""The generated policies over a release's life, with the real helm against an in-memory API
server (tests/chart/fakecluster.py): installed with the release, changed or deleted by
`helm upgrade` as `config` changes, gone with everything else after `helm uninstall`. What the
store holds after each step is what `initgate export` generates for that step's configuration:
no stale policy outlives its configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chart.fakecluster import Cluster, serve
from tests.chart.native import NATIVE, exported
from tests.chart.render import CHART, NAMESPACE, RELEASE, run_helm, values_file

pytestmark = pytest.mark.chart

WARN = {"policies": {"init-unbounded": {"mode": "warn"}}}
OFF = {"policies": {"init-unbounded": {"mode": "off"}}}
# (values, config and webhooks values the objects must be generated from; None: none at all)
STEPS: list[tuple[dict[str, Any], tuple[dict[str, Any], dict[str, Any]] | None]] = [
    ({"nativePolicies": {"enabled": True}}, ({}, {})),
    ({"nativePolicies": {"enabled": True}, "config": WARN}, (WARN, {})),
    (
        {"nativePolicies": {"enabled": True}, "config": WARN, "webhooks": {"defaultMode": "warn"}},
        (WARN, {"defaultMode": "warn"}),
    ),
    ({"nativePolicies": {"enabled": True}, "config": OFF}, None),
    ({"nativePolicies": {"enabled": False}}, None),
    ({"nativePolicies": {"enabled": True}}, ({}, {})),
]


def stored(cluster: Cluster) -> dict[tuple[str, str], Any]:
    """(kind, name) -> spec of every admission policy and binding in the cluster."""
    return {(o["kind"], o["metadata"]["name"]): o["spec"] for o in cluster.kinds(*NATIVE)}


def test_install_upgrades_and_uninstall(tmp_path: Path) -> None:
    cluster = Cluster(version="1.36.0")
    with serve(cluster, tmp_path) as kubeconfig:
        command = "install"
        for values, generated in STEPS:
            run_helm(
                command,
                RELEASE,
                str(CHART),
                "--namespace",
                NAMESPACE,
                "--values",
                str(values_file(values)),
                "--kubeconfig",
                str(kubeconfig),
                "--disable-openapi-validation",  # the fake serves no OpenAPI documents
            )
            command = "upgrade"
            expected = exported(*generated, "1.36") if generated else []
            assert stored(cluster) == {
                (o["kind"], o["metadata"]["name"]): o["spec"] for o in expected
            }
            for obj in cluster.kinds(*NATIVE):
                assert obj["metadata"]["annotations"]["meta.helm.sh/release-name"] == RELEASE
        assert stored(cluster)
        run_helm("uninstall", RELEASE, "--namespace", NAMESPACE, "--kubeconfig", str(kubeconfig))
    assert cluster.objects == {}  # the policies, the webhook, and the release's own Secrets
