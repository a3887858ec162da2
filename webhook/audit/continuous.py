"""`initgate audit --cluster --interval DURATION`: the audit Deployment's loop.

Every DURATION (measured from the start of one scan to the start of the next) the configuration
file is re-read if it changed (a ConfigMap update; a broken file keeps the last good one), the
cluster is scanned, with `--policy-reports` the PolicyReports are written, and then the gauges are
replaced with the new scan's (so `initgate_audit_scans_total` counts finished rounds). A scan
that fails (the API server unreachable, RBAC missing) is logged and counted, and the gauges of the
last completed scan stay until the next one succeeds: their
`initgate_audit_last_scan_timestamp_seconds` says how old they are. SIGTERM stops the loop between
two list calls, and the process exits 0.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections import Counter
from types import FrameType

from prometheus_client import disable_created_metrics, start_http_server

from webhook.audit.cluster import Cluster, ClusterError, Stopped, connect, scan, webhook_routes
from webhook.audit.options import USAGE_ERROR, AuditOptions
from webhook.audit.policyreports import PolicyReports
from webhook.audit.report import Report
from webhook.core.config import ConfigError
from webhook.server import logs
from webhook.server.logs import event
from webhook.server.metrics import AuditMetrics
from webhook.server.store import ConfigStore

LOG = logging.getLogger("initgate.audit")


def publish(metrics: AuditMetrics, report: Report, *, duration: float, finished: float) -> None:
    """Replace every gauge with what `report` found."""
    findings: Counter[tuple[str, str, str, str]] = Counter()
    objects: Counter[tuple[str, str, str]] = Counter()
    for audited in report.objects:
        objects[(audited.namespace, audited.kind, audited.outcome)] += 1
        for item in audited.items:
            findings[(item.policy, item.mode.value, item.role or "pod", audited.namespace)] += 1
    metrics.findings.replace({k: float(v) for k, v in findings.items()})
    metrics.objects.replace({k: float(v) for k, v in objects.items()})
    metrics.scan_duration.set(duration)
    metrics.last_scan.set(finished)
    metrics.scans.inc()


class Loop:
    """One audit process: its connection, configuration, metrics and stop flag."""

    def __init__(self, options: AuditOptions, *, cluster: Cluster, store: ConfigStore) -> None:
        self.options = options
        self.cluster = cluster
        self.store = store
        self.metrics = AuditMetrics()
        self.stop = threading.Event()
        self.reports = (
            PolicyReports(cluster, page_size=options.page_size) if options.policy_reports else None
        )

    def once(self) -> None:
        """One scan, its gauges and its reports; failures are logged and counted."""
        self.store.reload()
        plan = self.store.plan
        started = time.monotonic()
        notes: list[str] = []
        try:
            webhooks = None
            if self.options.webhook_configuration is not None:
                # Read on every scan: `helm upgrade` changes the configurations.
                webhooks = webhook_routes(self.cluster, self.options.webhook_configuration)
                notes = webhooks.notes
            report = scan(
                self.cluster,
                plan,
                namespace=self.options.namespace,
                default_mode=self.options.default_mode,
                page_size=self.options.page_size,
                stop=self.stop.is_set,
                webhooks=webhooks,
            )
        except ClusterError as error:
            self.metrics.scan_errors.labels("scan").inc()
            event(LOG, "scan failed", logging.ERROR, error=str(error))
            return
        duration, finished = time.monotonic() - started, time.time()
        written = None
        if self.reports is not None:
            try:
                written = self.reports.write(report, plan)
            except ClusterError as error:
                self.metrics.scan_errors.labels("policy-reports").inc()
                event(LOG, "policy reports not written", logging.ERROR, error=str(error))
        publish(self.metrics, report, duration=duration, finished=finished)
        counts = report.counts()
        event(
            LOG,
            "scan complete",
            seconds=round(duration, 3),
            objects=len(report.objects),
            findings=sum(len(a.items) for a in report.objects),
            skipped_namespaces=len(report.namespaces),
            policy_reports=dict(written) if written is not None else None,
            notes=notes,
            **dict(sorted(counts.items())),
        )

    def run(self) -> None:
        interval = self.options.interval or 0.0
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.once()
            except Stopped:
                break
            except Exception:  # a bug must not end the audit: it is logged and counted
                self.metrics.scan_errors.labels("scan").inc()
                LOG.exception("scan crashed")
            self.stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def request_stop(self, signum: int, _: FrameType | None) -> None:
        event(LOG, "stopping", signal=signal.Signals(signum).name)
        self.stop.set()


def run(options: AuditOptions) -> int:
    """Audit until SIGTERM; 2 when it cannot start (configuration, kubeconfig, metrics port)."""
    logs.configure("info")
    disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        store = ConfigStore(options.config)
        cluster = connect(options.kubeconfig, options.context, exclude=options.exclude_namespaces)
    except (ConfigError, ClusterError) as error:
        print(f"initgate audit: cannot start: {error}", file=sys.stderr)  # noqa: T201
        return USAGE_ERROR
    loop = Loop(options, cluster=cluster, store=store)
    try:
        server, _ = start_http_server(
            options.metrics_port, addr=options.metrics_host, registry=loop.metrics.registry
        )
    except OSError as error:
        cluster.close()
        print(f"initgate audit: cannot serve metrics: {error}", file=sys.stderr)  # noqa: T201
        return USAGE_ERROR
    previous = {
        sig: signal.signal(sig, loop.request_stop) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    event(
        LOG,
        "auditing",
        interval=options.interval,
        metrics=f"http://{options.metrics_host}:{server.server_port}/metrics",
        config=store.current.source,
        policy_reports=options.policy_reports,
    )
    try:
        loop.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.shutdown()
        cluster.close()
    event(LOG, "stopped")
    return 0
