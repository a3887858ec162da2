"""The dashboard and the alerts against a real Prometheus: it scrapes a real `initgate serve` and
a real continuous `initgate audit --cluster --interval 1s` (against the replay API server),
labelled as the chart's ServiceMonitors label them. Traffic produces every decision, a refused
request, a policy error, a dropped TLS handshake, a configuration reload (good, with exemptions
that end, then refused), a certificate rotation and failing audit scans, twice, so that every
counter grows between scrapes.
Then every query of the Grafana dashboard and every alert expression of the PrometheusRule is
evaluated through the HTTP API: each returns the series it is meant to show, labelled as its
legend expects. A metric or a label that a query names and initgate does not export fails."""

from __future__ import annotations

import json
import re
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from tests.chart.render import CHART, NAMESPACE, ROOT, render
from tests.chart.test_monitoring import queried
from tests.support import reviews, server
from tests.support.prometheus import Prometheus, Series, running, tool, until
from tests.webhook.audit.apiserver import Replay
from webhook._version import __version__

pytestmark = pytest.mark.chart

DASHBOARD = json.loads((CHART / "dashboards" / "initgate.json").read_text())
RATE_INTERVAL = "2m"
"""Grafana's $__rate_interval (at least four scrape intervals): the whole test fits in it."""
LEGEND = re.compile(r"\{\{\s*(\w+)\s*\}\}")
JSON = {"content-type": "application/json"}
# Values that make every alert fire on this traffic, except the audit's staleness (the audit
# keeps scanning): the expressions are what is tested here, their thresholds in test_alerts.py.
HAIR_TRIGGER = (
    "--set", "metrics.prometheusRule.enabled=true",
    "--set-json", "metrics.prometheusRule.errorRatio=0.001",
    "--set-json", "metrics.prometheusRule.latencyP99Seconds=0.000001",
    "--set", "audit.enabled=true",
    "--set", "audit.interval=10s",
)  # fmt: skip


def policy_error_review() -> dict[str, Any]:
    """A pod that makes emptydir-sizelimit raise in a server started with Python's limit on
    int-to-text conversion at its minimum (PYTHONINTMAXSTRDIGITS=640): its memory limit of 1e700
    bytes sizes the Memory emptyDir, and a sizeLimit of 682 digits cannot be written."""
    container = {
        "name": "app",
        "image": "registry.example.com/app:1",
        "resources": {
            "requests": {"cpu": "1", "memory": "1"},
            "limits": {"cpu": "1", "memory": "1e700"},
        },
        "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "huge-limit", "namespace": "demo"},
        "spec": {
            "containers": [container],
            "volumes": [{"name": "scratch", "emptyDir": {"medium": "Memory"}}],
        },
    }
    return reviews.review_of(pod)


@dataclass
class Scene:
    prometheus: Prometheus
    served: server.Served
    replay: Replay
    sent: int = 0
    refused: int = 0
    dropped: int = 0

    def total(self, expression: str) -> float:
        result = self.prometheus.query(expression)
        return float(result[0]["value"][1]) if result else 0.0

    def reaches(self, what: str, expression: str, wanted: float) -> float:
        """Until Prometheus has scraped `expression` at `wanted` or more; its value then."""
        return until(what, lambda: self.total(expression), lambda value: value >= wanted)

    def traffic(self) -> None:
        """One round: every captured review to both webhooks, a review a policy fails on, a
        body that is not JSON, and a handshake the client drops; then until it is all scraped."""
        with self.served.client() as client:
            for case in reviews.CASES:
                for webhook in ("mutate", "validate"):
                    answer = client.post(f"/{webhook}", json=reviews.captured(case, webhook))
                    assert answer.status_code == 200, answer.text
                    self.sent += 1
            answer = client.post("/mutate", json=policy_error_review())
            warnings = answer.json()["response"]["warnings"]
            assert "emptydir-sizelimit: could not evaluate this object" in warnings[0]
            self.sent += 1
            assert client.post("/validate", content=b"{not json", headers=JSON).status_code == 400
            self.refused += 1
        with pytest.raises(ssl.SSLCertVerificationError):
            self.served.connect(ssl.create_default_context())  # not the test CA: dropped
        self.dropped += 1
        for what, expression, count in (
            ("the answers", "sum(initgate_admission_requests_total)", self.sent),
            ("the refusals", "sum(initgate_bad_requests_total)", self.refused),
            ("the handshakes", "sum(initgate_tls_handshake_failures_total)", self.dropped),
        ):
            assert self.reaches(what, expression, count) == count, what


def scrape_config(job: str, port: int, *, honor_labels: bool = False) -> dict[str, Any]:
    """As the Prometheus Operator scrapes a ServiceMonitor's endpoint: job is the Service's name,
    and the target carries its namespace, service, pod, container and endpoint (port name)."""
    labels = {
        "namespace": NAMESPACE,
        "service": job,
        "pod": f"{job}-7d9c5b6f4-x2x4q",
        "container": "initgate",
        "endpoint": "metrics",
    }
    return {
        "job_name": job,
        "honor_labels": honor_labels,
        "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": labels}],
    }


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    tool("prometheus")  # skips here, before anything is started, when it is not installed
    folder = tmp_path_factory.mktemp("prometheus")
    with ExitStack() as cleanup:
        replay = Replay(folder / "apiserver")
        cleanup.callback(replay.stop)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("PYTHONINTMAXSTRDIGITS", "640")
            served = server.start(folder / "webhook")
        cleanup.callback(lambda: _stopped(served.stop(), served.logs))
        audit_port = server.free_port()
        argv = ["audit", "--cluster", "--interval", "1s", "--metrics-host", "127.0.0.1"]
        argv += ["--metrics-port", str(audit_port), "--config", str(served.config)]
        argv += ["--kubeconfig", str(replay.kubeconfig(folder / "kubeconfig"))]
        audit_log = folder / "audit.log"
        with audit_log.open("wb") as log:
            command = [sys.executable, "-m", "webhook.cli", *argv]
            audit = subprocess.Popen(command, cwd=ROOT, stderr=log)
        cleanup.callback(lambda: _stopped(_terminate(audit), audit_log.read_text))
        metrics_port = int(served.metrics.rsplit(":", 1)[1].split("/")[0])
        targets = [
            scrape_config("initgate", metrics_port),
            # honorLabels, as the chart's audit ServiceMonitor: findings keep the audited namespace.
            scrape_config("initgate-audit", audit_port, honor_labels=True),
        ]
        prometheus = cleanup.enter_context(running(folder / "prometheus", targets))
        scene = Scene(prometheus, served, replay)
        play(scene)
        yield scene


def _terminate(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=20)


def _stopped(status: int, log: Callable[[], str]) -> None:
    assert status == 0, log()


def play(scene: Scene) -> None:
    prometheus, served, replay = scene.prometheus, scene.served, scene.replay
    until(
        "both targets up",
        prometheus.targets,
        lambda targets: len(targets) == 2 and all(t["health"] == "up" for t in targets),
    )
    scene.traffic()
    # A configuration reload (with an exemption that ends in three days and one that has
    # ended), then a configuration refused (the last good one stays).
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * DAY))
    served.config.write_text(
        'messageFooter: "Ask the platform team."\n'
        "exemptions:\n"
        f'  users: [{{user: ci, expires: "{soon}", reason: INC-1}}, {{user: old, expires: "2020-01-01"}}]\n'
    )
    scene.reaches("a reload", 'initgate_config_reloads_total{result="success"}', 2)
    served.config.write_text("mode: sometimes\n")
    scene.reaches("a refusal", 'initgate_config_reloads_total{result="failure"}', 1)
    # A certificate rotation, to one that expires within the alert's 14 days.
    served.tls.reissue(days=7)
    scene.reaches("a rotation", 'initgate_certificate_reloads_total{result="success"}', 2)
    # Audit scans that fail, then succeed again.
    scene.reaches("a scan", "initgate_audit_scans_total", 1)
    replay.state.failing["deployments"] = 500
    until(
        "failing scans",
        lambda: prometheus.query("increase(initgate_audit_scan_errors_total[1m]) > 0"),
        bool,
    )
    del replay.state.failing["deployments"]
    scene.reaches(
        "a scan again", "initgate_audit_scans_total", scene.total("initgate_audit_scans_total") + 2
    )
    scene.traffic()


# The dashboard ---------------------------------------------------------------------------------


def namespaces(scene: Scene) -> list[str]:
    """The `namespace` variable: `label_values(initgate_build_info, namespace)`."""
    (variable,) = [v for v in DASHBOARD["templating"]["list"] if v["name"] == "namespace"]
    match = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["definition"])
    assert match, variable["definition"]
    metric, label = match.groups()
    values = scene.prometheus.api("label/" + label + "/values", **{"match[]": metric})
    return sorted(values)


def resolved(expression: str, scene: Scene) -> str:
    """The query as Grafana sends it: every namespace selected (a multi-value variable in a
    regular expression matcher is joined with `|`)."""
    return expression.replace("$namespace", "|".join(namespaces(scene))).replace(
        "$__rate_interval", RATE_INTERVAL
    )


def legend(fmt: str, series: Series) -> str:
    labels = series["metric"]

    def label(match: re.Match[str]) -> str:
        assert match[1] in labels, f"legend {fmt!r}: no label {match[1]} in {labels}"
        return str(labels[match[1]])

    return LEGEND.sub(label, fmt)


def value(series: Series) -> float:
    return float(series["value"][1])


Check = Callable[[float], bool]


def positive(value: float) -> bool:
    return value > 0


# The default configuration finds the same in the captured reviews and in the recorded cluster.
FINDINGS = {
    "init-privileged (enforce)",
    "init-unbounded (enforce)",
    "init-lint (warn)",
    "default-resources (enforce)",
    "emptydir-sizelimit (enforce)",
    "readonly-mounts (enforce)",
}
AUDITED = {"demo", "workloads", "warn-test", "patch-test", "chain-test"}
"""The namespaces of the recorded cluster with findings (kube-public is exempt)."""
DAY = 86400

EXPECTED: dict[tuple[str, str], tuple[set[str], Check]] = {
    # panel title, refId: the legends of the series it shows, and what each value must be.
    ("Admission requests by decision", "A"): (
        {"allowed", "denied", "patched", "exempt", "skipped"},
        positive,
    ),
    ("Answer time p50 / p99 by webhook", "A"): ({"p99 mutate", "p99 validate"}, positive),
    ("Answer time p50 / p99 by webhook", "B"): ({"p50 mutate", "p50 validate"}, positive),
    ("Findings by policy and mode", "A"): (FINDINGS, positive),
    ("Findings by container role", "A"): ({"app", "init"}, positive),
    ("Errors and refused requests", "A"): ({"policy error emptydir-sizelimit"}, positive),
    ("Errors and refused requests", "B"): ({"refused: malformed-json"}, positive),
    # The refusal was the first: its series appeared at 1, and the panel still shows it.
    ("Configuration and certificate reloads", "A"): (
        {"config success", "config failure"},
        positive,
    ),
    ("Configuration and certificate reloads", "B"): ({"certificate success"}, positive),
    ("Certificate expires in", "A"): ({"expires in"}, lambda v: 6 * DAY < v <= 7 * DAY),
    ("Replicas reporting", "A"): ({"replicas"}, lambda v: v == 1),
    ("Versions", "A"): ({__version__}, positive),
    # exemptions.users[0] ends in three days, [1] ended in 2020.
    ("Exemptions end in", "A"): (
        {"exemptions.users[0]", "exemptions.users[1]"},
        lambda v: v < 0 or 2 * DAY < v <= 3 * DAY,
    ),
    ("Audit findings by policy and mode", "A"): (FINDINGS, positive),
    ("Namespaces with the most findings", "A"): (AUDITED, positive),
    ("Last completed scan", "A"): ({"ago"}, lambda v: 0 <= v < 30),
    ("Scan duration", "A"): ({"duration"}, positive),
    ("Scan errors", "A"): ({"scan"}, positive),
}
QUERIES = [(panel, target) for panel in DASHBOARD["panels"] for target in panel.get("targets", [])]


def test_every_query_of_the_dashboard_has_an_expectation() -> None:
    assert {(panel["title"], target["refId"]) for panel, target in QUERIES} == set(EXPECTED)


def test_the_namespace_variable_lists_the_release(scene: Scene) -> None:
    assert namespaces(scene) == [NAMESPACE]


@pytest.mark.parametrize(
    ("panel", "target"), QUERIES, ids=[f"{p['title']}-{t['refId']}" for p, t in QUERIES]
)
def test_dashboard_query(scene: Scene, panel: dict[str, Any], target: dict[str, Any]) -> None:
    legends, check = EXPECTED[(panel["title"], target["refId"])]
    found = scene.prometheus.query(resolved(target["expr"], scene))
    shown = [legend(target["legendFormat"], s) for s in found]
    assert len(shown) == len(set(shown)), f"two series with one legend: {found}"
    assert set(shown) == legends, f"{target['expr']}: {found}"
    for series in found:
        assert check(value(series)), f"{target['expr']}: {series}"


def every_query() -> list[str]:
    dashboard = [t["expr"] for p in DASHBOARD["panels"] for t in p.get("targets", [])]
    rule = render(*HAIR_TRIGGER).one("PrometheusRule")
    return dashboard + [r["expr"] for r in rule["spec"]["groups"][0]["rules"]]


def test_every_metric_and_label_the_queries_name_is_scraped(scene: Scene) -> None:
    for expression in every_query():
        for metric, labels in queried(expression):
            assert scene.prometheus.query(f"count({metric})"), f"{metric} is not exported"
            for label in sorted(labels):
                found = scene.prometheus.query(f'count({metric}{{{label}!=""}})')
                assert found, f"{metric} has no label {label} ({expression})"


ALERTS: dict[str, list[dict[str, str]]] = {
    # Each alert's expression, rendered with HAIR_TRIGGER: the label sets of what it returns.
    "InitgateAdmissionErrors": [{}],
    "InitgatePolicyErrors": [{"policy": "emptydir-sizelimit"}],
    "InitgateSlowAnswers": [{"webhook": "mutate"}, {"webhook": "validate"}],
    "InitgateCertificateExpiresSoon": [{}],
    "InitgateTLSHandshakeFailures": [{}],
    # The refused configuration was the first: its series appeared at 1.
    "InitgateConfigRefused": [{}],
    "InitgateExemptionExpiresSoon": [{"exemption": "exemptions.users[0]"}],
    "InitgateExemptionExpired": [{"exemption": "exemptions.users[1]"}],
    # The audit scans every second: not stale, and its metric exists (else absent() fires).
    "InitgateAuditStale": [],
}


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_alert_expression(scene: Scene, alert: str) -> None:
    rules = render(*HAIR_TRIGGER).one("PrometheusRule")["spec"]["groups"][0]["rules"]
    assert {r["alert"] for r in rules} == set(ALERTS)
    (rule,) = [r for r in rules if r["alert"] == alert]
    found = scene.prometheus.query(rule["expr"])
    labels = sorted((s["metric"] for s in found), key=lambda m: sorted(m.items()))
    assert labels == ALERTS[alert], f"{rule['expr']}: {found}"
