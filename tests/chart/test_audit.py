"""The optional continuous audit (read-only, one replica) and the NetworkPolicies."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.render import CHART, NAMESPACE, RELEASE, Rendered, render, render_values
from webhook.cli.main import parser
from webhook.core.objects import TEMPLATES

pytestmark = pytest.mark.chart

AUDIT = f"{RELEASE}-audit"
READ = ["get", "list", "watch"]


def full() -> Rendered:
    return render_values(CHART / "ci" / "full-values.yaml")


def test_off_by_default() -> None:
    rendered = render()
    names = [o["metadata"]["name"] for o in rendered.objects]
    assert AUDIT not in names
    assert not {"ClusterRole", "ClusterRoleBinding", "NetworkPolicy"} & rendered.kinds()


def test_audit_deployment_runs_the_continuous_audit() -> None:
    rendered = full()
    deployment = rendered.one("Deployment", AUDIT)
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = deployment["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == AUDIT
    assert spec["automountServiceAccountToken"] is True
    (container,) = spec["containers"]
    args = parser().parse_args(container["args"])
    assert (args.command, args.cluster, args.interval) == ("audit", True, 1800)
    assert (args.metrics_host, args.metrics_port) == ("0.0.0.0", 9090)  # noqa: S104 - scraped
    assert args.policy_reports is True
    # Objects are routed as initgate's live webhook configurations route them.
    assert args.webhook_configuration == RELEASE
    assert rendered.one("ValidatingWebhookConfiguration", RELEASE)
    assert (args.default_mode, args.exclude_namespace) == (None, None)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[str(args.config.parent)] == "config"
    config_volume = next(v for v in spec["volumes"] if v["name"] == "config")
    assert config_volume["configMap"]["name"] == f"{RELEASE}-config"
    # Each scan rereads a changed configuration: no pod restart on a ConfigMap change.
    assert "annotations" not in deployment["spec"]["template"]["metadata"]


def test_without_webhook_configurations_the_audit_routes_by_the_values() -> None:
    rendered = render(
        "-f",
        str(CHART / "ci" / "full-values.yaml"),
        "--set",
        "webhooks.validating.enabled=false",
        "--set",
        "webhooks.mutating.enabled=false",
    )
    (container,) = rendered.one("Deployment", AUDIT)["spec"]["template"]["spec"]["containers"]
    args = parser().parse_args(container["args"])
    assert args.webhook_configuration is None
    # Namespaces without the label are judged in the mode the webhooks would route them to, with
    # the same exclusions (full-values.yaml: monitoring, cert-manager).
    assert args.default_mode == "warn"
    assert args.exclude_namespace == ["monitoring", "cert-manager"]


def _rules(rendered: Rendered) -> dict[tuple[str, str], list[str]]:
    role = rendered.one("ClusterRole", AUDIT)
    return {
        (group, resource): rule["verbs"]
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


@pytest.mark.parametrize("reports", [True, False])
def test_audit_rbac_is_read_only(reports: bool) -> None:
    rendered = render(
        "-f", str(CHART / "ci" / "full-values.yaml"), "--set", f"audit.policyReports={reports}"
    )
    expected: dict[tuple[str, str], list[str]] = {("", "namespaces"): READ}
    for group, _, kind in TEMPLATES:
        expected[(group, f"{kind.lower()}s")] = READ
    for resource in ("validatingwebhookconfigurations", "mutatingwebhookconfigurations"):
        expected[("admissionregistration.k8s.io", resource)] = ["get"]
    if reports:
        writes = ["get", "list", "create", "update", "patch", "delete"]
        expected[("wgpolicyk8s.io", "policyreports")] = writes
    assert _rules(rendered) == expected
    # The webhook configurations: only initgate's own, by name.
    role = rendered.one("ClusterRole", AUDIT)
    (own,) = [r for r in role["rules"] if "resourceNames" in r]
    assert own["resourceNames"] == [RELEASE]
    assert own["apiGroups"] == ["admissionregistration.k8s.io"]
    binding = rendered.one("ClusterRoleBinding", AUDIT)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": AUDIT,
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": AUDIT, "namespace": NAMESPACE}
    ]


def _selects(policy: dict[str, Any], pod_labels: dict[str, str]) -> bool:
    selector: dict[str, str] = policy["spec"]["podSelector"]["matchLabels"]
    return selector.items() <= pod_labels.items()


def test_network_policies() -> None:
    rendered = full()
    webhook = rendered.one("NetworkPolicy", RELEASE)
    pod_labels = rendered.one("Deployment", RELEASE)["spec"]["template"]["metadata"]["labels"]
    audit_labels = rendered.one("Deployment", AUDIT)["spec"]["template"]["metadata"]["labels"]
    assert _selects(webhook, pod_labels)
    assert not _selects(webhook, audit_labels)
    # initgate opens no connection: Egress is listed and nothing is allowed.
    assert webhook["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert webhook["spec"]["egress"] == []
    https, metrics = webhook["spec"]["ingress"]
    assert https["ports"] == [{"port": "https", "protocol": "TCP"}]
    assert {"ipBlock": {"cidr": "10.0.0.0/16"}} in https["from"]
    test_pod = rendered.one("Pod")["metadata"]["labels"]
    assert any(
        peer.get("podSelector", {}).get("matchLabels", {}).items() <= test_pod.items()
        and "podSelector" in peer
        for peer in https["from"]
    )
    assert metrics["ports"] == [{"port": "metrics", "protocol": "TCP"}]
    audit = rendered.one("NetworkPolicy", AUDIT)
    assert _selects(audit, audit_labels)
    assert audit["spec"]["policyTypes"] == ["Ingress"]
    # Without peers, anyone may reach the ports (the API server's address is not selectable).
    open_policy = render("--set", "networkPolicy.enabled=true").one("NetworkPolicy", RELEASE)
    assert all("from" not in rule for rule in open_policy["spec"]["ingress"])
