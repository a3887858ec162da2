"""The generated policies over a release's life, with the real helm against an in-memory API
server (tests/chart/fakecluster.py): installed with the release, changed or deleted by
`helm upgrade` as `config` changes, gone with everything else after `helm uninstall`. What the
store holds after each step is what `initgate export` generates for that step's configuration:
no stale policy outlives its configuration."""

from __future__ import annotations

from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest

from tests.chart.fakecluster import Cluster, serve
from tests.chart.native import NATIVE, exported
from tests.chart.render import CHART, NAMESPACE, RELEASE, run_helm, values_file
from webhook.native import sizelimit
from webhook.native.builders import POLICY_LABEL

pytestmark = pytest.mark.chart

ON = {"enabled": True, "mutating": True}
RULE = {
    "id": "init-digest",
    "description": "Init container images are pinned by digest.",
    "roles": ["init"],
    "expression": "container.image.matches('@sha256:[0-9a-f]{64}$')",
}
WARN = {"policies": {"init-unbounded": {"mode": "warn"}, "readonly-mounts": {"mode": "warn"}}}
RULES = {**WARN, "rules": [RULE]}
POD_RULE = {k: v for k, v in RULE.items() if k != "roles"}
CHANGED = {"rules": [{**POD_RULE, "scope": "pod", "expression": "true", "mode": "audit"}]}
OFF = {"mode": "off", "policies": {"init-lint": {"mode": "off"}}, "rules": [RULE]}
"""Everything off: the rule, which has no mode of its own, too."""
# (values, config and webhooks values the objects must be generated from; None: none at all)
STEPS: list[tuple[dict[str, Any], tuple[dict[str, Any], dict[str, Any]] | None]] = [
    ({"nativePolicies": ON}, ({}, {})),
    ({"nativePolicies": ON, "config": RULES}, (RULES, {})),
    (
        {"nativePolicies": ON, "config": RULES, "webhooks": {"defaultMode": "warn"}},
        (RULES, {"defaultMode": "warn"}),
    ),
    ({"nativePolicies": ON, "config": CHANGED}, (CHANGED, {})),
    ({"nativePolicies": ON, "config": OFF}, None),
    ({"nativePolicies": {"enabled": False}, "config": RULES}, None),
    ({"nativePolicies": ON}, ({}, {})),
]
"""A release installed, then upgraded: a rule and modes added, the default mode changed, the
rule changed (its scope, its mode), everything off, the native policies off, and back."""


def stored(cluster: Cluster) -> dict[tuple[str, str], Any]:
    """(kind, name) -> spec of every admission policy and binding in the cluster."""
    return {(o["kind"], o["metadata"]["name"]): o["spec"] for o in cluster.kinds(*NATIVE)}


def helm(command: str, values: dict[str, Any], kubeconfig: Path) -> CompletedProcess[str]:
    """`helm install` or `helm upgrade` of the release, with `values`, into the fake cluster."""
    return run_helm(
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


def test_install_upgrades_and_uninstall(tmp_path: Path) -> None:
    cluster = Cluster(version="1.36.0")
    with serve(cluster, tmp_path) as kubeconfig:
        command = "install"
        for values, generated in STEPS:
            helm(command, values, kubeconfig)
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


def installed(version: str, values: dict[str, Any], folder: Path) -> tuple[str, set[str]]:
    """NOTES.txt of an install of the release on a cluster of `version`, and the policies
    stored then."""
    cluster = Cluster(version=version)
    with serve(cluster, folder) as kubeconfig:
        result = helm("install", values, kubeconfig)
    stored = {o["metadata"]["labels"][POLICY_LABEL] for o in cluster.kinds(*NATIVE)}
    return result.stdout.partition("NOTES:")[2], stored


def test_notes_name_the_rules_left_to_the_webhook(tmp_path: Path) -> None:
    """A rule no policy can stand for on the cluster is named, with the webhook that judges it."""
    naming = {
        **RULE,
        "id": "fills-emptydir",
        "expression": "fills.all(v, has(volumes[v].emptyDir))",
    }
    values = {"nativePolicies": {"enabled": True}, "config": {"rules": [naming, RULE]}}
    notes, stored = installed("1.32.0", values, tmp_path)
    line = (
        "rules: fills-emptydir: not generated: it reads `volumes`, a map that CEL builds from the "
        "object only with two-variable comprehensions (Kubernetes 1.33 and later): the validating "
        "webhook judges it."
    )
    assert line in notes.splitlines()
    assert "init-digest" not in notes
    assert {"init-digest"} <= stored
    assert "fills-emptydir" not in stored


@pytest.mark.parametrize("sized", ["enforce", "warn"])
def test_notes_say_when_the_mutating_policies_may_run_in_either_order(
    tmp_path: Path, sized: str
) -> None:
    """As export's note: where default-resources' and emptydir-sizelimit's MAPs both enforce."""
    config = {"policies": {"emptydir-sizelimit": {"mode": sized}}}
    notes, stored = installed("1.36.0", {"nativePolicies": ON, "config": config}, tmp_path)
    assert "emptydir-sizelimit" in stored
    assert (f"{sizelimit.ORDER_NOTE}." in notes.splitlines()) == (sized == "enforce")
