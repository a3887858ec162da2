"""ServiceMonitor, PrometheusRule and dashboard: they scrape the right port and only query
metrics (and labels) that initgate exports."""

from __future__ import annotations

import json
import re
from functools import cache

import pytest
import yaml

from tests.chart.render import CHART, NAMESPACE, RELEASE, Rendered, render, render_values
from webhook.server.metrics import AuditMetrics, Metrics

pytestmark = pytest.mark.chart

# Labels Prometheus adds to every scraped series, and the histogram bucket label.
TARGET_LABELS = frozenset(("namespace", "pod", "service", "job", "instance", "endpoint", "le"))
SERIES = re.compile(r"\b(initgate_[a-z_]+)(\{[^}]*\})?")
GROUPING = re.compile(r"\bby \(([^)]*)\)")


@cache
def exported() -> dict[str, frozenset[str]]:
    """Every series name the webhook and the continuous audit export, with its label names."""
    series = {**Metrics().series, **AuditMetrics().series}
    return {name: frozenset(labels) for name, labels in series.items()}


def queried(expression: str) -> list[tuple[str, set[str]]]:
    """(series, labels it is filtered or grouped by) of every initgate series in `expression`."""
    grouped = {
        label.strip() for match in GROUPING.findall(expression) for label in match.split(",")
    }
    found = []
    for name, matchers in SERIES.findall(expression):
        labels = set(re.findall(r"([a-z_]+)\s*=~?", matchers))
        found.append((name, labels | grouped))
    return found


def check_expression(expression: str) -> None:
    assert expression.count("(") == expression.count(")"), expression
    uses = queried(expression)
    assert uses, expression
    for name, labels in uses:
        assert name in exported(), f"{name} is not exported by webhook.server.metrics"
        unknown = labels - exported()[name] - TARGET_LABELS
        assert not unknown, f"{name} has no label {unknown}"


def full() -> Rendered:
    return render_values(CHART / "ci" / "full-values.yaml")


def test_alerts() -> None:
    rule = full().one("PrometheusRule")
    rules = {r["alert"]: r for r in rule["spec"]["groups"][0]["rules"]}
    assert set(rules) == {
        "InitgateAdmissionErrors",
        "InitgatePolicyErrors",
        "InitgateSlowAnswers",
        "InitgateCertificateExpiresSoon",
        "InitgateConfigRefused",
        "InitgateTLSHandshakeFailures",
        "InitgateExemptionExpiresSoon",
        "InitgateExemptionExpired",
        "InitgateAuditStale",
    }
    for alert in rules.values():
        check_expression(alert["expr"])
        assert f'namespace="{NAMESPACE}"' in alert["expr"]
    # Thresholds from values (full-values.yaml: 5 %, 1 s, 21 days, 3 days).
    assert rules["InitgateAdmissionErrors"]["expr"].rstrip().endswith("> 0.05")
    assert rules["InitgateSlowAnswers"]["expr"].rstrip().endswith("> 1")
    assert rules["InitgateCertificateExpiresSoon"]["expr"].endswith(f"< {21 * 86400}")
    assert rules["InitgateExemptionExpiresSoon"]["expr"].endswith(f"< {3 * 86400} > 0")
    assert "histogram_quantile(0.99" in rules["InitgateSlowAnswers"]["expr"]
    assert 'result="failure"' in rules["InitgateConfigRefused"]["expr"]
    # Three audit intervals (full-values.yaml: 30m) without a completed scan.
    assert "[90m]" in rules["InitgateAuditStale"]["expr"]
    helm_mode = render_values(CHART / "ci" / "helm-values.yaml")
    assert not helm_mode.of("PrometheusRule")
    alone = render("--set", "metrics.prometheusRule.enabled=true").one("PrometheusRule")
    assert "InitgateAuditStale" not in str(alone)


def test_dashboard() -> None:
    configmap = full().one("ConfigMap", f"{RELEASE}-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Security"}
    text = (CHART / "dashboards" / "initgate.json").read_text()
    assert configmap["data"]["initgate.json"].strip() == text.strip()
    dashboard = json.loads(text)
    assert dashboard["uid"] == "initgate-webhook"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        if panel["type"] == "row":
            continue
        assert panel["targets"]
        for target in panel["targets"]:
            check_expression(target["expr"].replace("$__rate_interval", "5m"))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "namespace"}


@pytest.mark.parametrize("component", ["", "-audit"])
def test_service_monitors_scrape_the_metrics_port(component: str) -> None:
    rendered = full()
    name = f"{RELEASE}{component}"
    monitor = rendered.one("ServiceMonitor", name)
    service = rendered.one("Service", name)
    deployment = rendered.one("Deployment", name)
    assert monitor["metadata"]["labels"]["release"] == "prometheus"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    # Only this component's Service: the webhook's and the audit's metrics stay apart.
    others = [s for s in rendered.of("Service") if s is not service]
    for other in others:
        assert (
            not monitor["spec"]["selector"]["matchLabels"].items()
            <= other["metadata"]["labels"].items()
        )
    port = next(p for p in service["spec"]["ports"] if p["name"] == "metrics")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "metrics", "containerPort": 9090, "protocol": "TCP"} in container["ports"]
    assert port["targetPort"] == "metrics"
    assert monitor["spec"]["endpoints"][0]["interval"] == "15s"
    # The audit's findings are labelled with the audited namespace: Prometheus must keep it.
    assert monitor["spec"]["endpoints"][0].get("honorLabels", False) is (component == "-audit")


def test_monitoring_is_off_by_default() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    metrics = defaults["metrics"]
    assert not any(
        metrics[part]["enabled"] for part in ("serviceMonitor", "prometheusRule", "dashboard")
    )
    rendered = render_values(CHART / "ci" / "helm-values.yaml")
    assert not {"ServiceMonitor", "PrometheusRule"} & rendered.kinds()
