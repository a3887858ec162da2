"""Every Prometheus metric initgate exports, in one place. Label values are bounded: policy ids,
modes, roles, webhooks, operations, handled kinds; never names of pods or free text."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Mapping, Sequence

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from webhook._version import __version__
from webhook.core.objects import KINDS

OPERATIONS = frozenset(("CREATE", "UPDATE", "DELETE", "CONNECT"))
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def bounded_kind(kind: str) -> str:
    return kind if kind in KINDS else "other"


def bounded_operation(operation: str) -> str:
    return operation if operation in OPERATIONS else "other"


def _registry(registry: CollectorRegistry | None) -> CollectorRegistry:
    """`registry` (or a new one) with process and platform metrics and `initgate_build_info`."""
    registry = registry if registry is not None else CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    build_info = Gauge(
        "initgate_build_info",
        "Always 1; the version is a label.",
        ["version"],
        registry=registry,
    )
    build_info.labels(__version__).set(1)
    return registry


class Tally(Collector):
    """Counters for the admission path: plain integers in a dict, added to by the event loop and
    read by the scrape thread.

    prometheus_client's counters take a lock on every increment, and an admission request makes
    several: here an increment is one dict update. There is one writer (the event loop), and a
    scrape copies the dict in one step under the GIL, so no increment is lost or seen half-made.
    """

    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self.counts: dict[tuple[str, ...], int] = {}

    def inc(self, labels: tuple[str, ...]) -> None:
        counts = self.counts
        counts[labels] = counts.get(labels, 0) + 1

    def describe(self) -> Iterable[Metric]:
        yield CounterMetricFamily(self.name, self.documentation, labels=self.labels)

    def collect(self) -> Iterable[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, count in dict(self.counts).items():
            family.add_metric(labels, count)
        yield family


class Timings(Collector):
    """A histogram by one label, kept like `Tally`: one writer, bucket counts in plain lists."""

    def __init__(self, name: str, documentation: str, label: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.label = label
        self.bounds = tuple(buckets)
        self._le = [*(floatToGoString(b) for b in self.bounds), "+Inf"]  # type: ignore[no-untyped-call]
        self.series: dict[str, list[float]] = {}
        """Per label value: the count of each bucket (not cumulative), then +Inf, then the sum."""

    def observe(self, value: str, seconds: float) -> None:
        series = self.series.get(value)
        if series is None:
            series = self.series[value] = [0.0] * (len(self.bounds) + 2)
        series[bisect.bisect_left(self.bounds, seconds)] += 1
        series[-1] += seconds

    def describe(self) -> Iterable[Metric]:
        yield HistogramMetricFamily(self.name, self.documentation, labels=(self.label,))

    def collect(self) -> Iterable[Metric]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=(self.label,))
        for value, series in list(self.series.items()):
            counts = series[:]  # one copy: buckets and sum from the same moment
            cumulative = itertools.accumulate(counts[:-1])
            family.add_metric([value], list(zip(self._le, cumulative, strict=True)), counts[-1])
        yield family


class Exported:
    """A registry of initgate's metrics, with the label names of every series it exports (what
    dashboards and alerts may query: the chart's tests read `series`)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = _registry(registry)
        self.series: dict[str, tuple[str, ...]] = {"initgate_build_info": ("version",)}

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        self.series[f"{name}_total"] = tuple(labels)
        return Counter(name, documentation, labels, registry=self.registry)

    def gauge(self, name: str, documentation: str) -> Gauge:
        self.series[name] = ()
        return Gauge(name, documentation, registry=self.registry)

    def add(self, collector: Tally | Timings | Snapshot) -> None:
        if isinstance(collector, Timings):
            name, label = collector.name, collector.label
            self.series[f"{name}_bucket"] = (label, "le")
            self.series[f"{name}_sum"] = self.series[f"{name}_count"] = (label,)
        else:
            suffix = "_total" if isinstance(collector, Tally) else ""
            self.series[collector.name + suffix] = collector.labels
        self.registry.register(collector)


class Metrics(Exported):
    """The webhook's metrics, on a registry of their own (tests run several apps in one process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.requests = Tally(
            "initgate_admission_requests",
            "Admission reviews answered, by webhook, operation, kind, decision and dry run.",
            ["webhook", "operation", "kind", "decision", "dry_run"],
        )
        self.duration = Timings(
            "initgate_admission_duration_seconds",
            "Time to answer an admission review, from the first byte read to the answer built.",
            "webhook",
            LATENCY_BUCKETS,
        )
        self.findings = Tally(
            "initgate_findings",
            "Policy findings, by policy, effective mode, container role and webhook.",
            ["policy", "mode", "role", "webhook"],
        )
        for collector in (self.requests, self.duration, self.findings):
            self.add(collector)
        self.policy_errors = self.counter(
            "initgate_policy_errors",
            "Policies (or the engine) that raised on a request instead of answering.",
            ["policy"],
        )
        self.bad_requests = self.counter(
            "initgate_bad_requests",
            "Requests refused before evaluation (malformed, too large, wrong content type).",
            ["reason"],
        )
        self.config_reloads = self.counter(
            "initgate_config_reloads",
            "Configuration loads and reloads, by result (success or failure).",
            ["result"],
        )
        self.config_last_success = self.gauge(
            "initgate_config_last_reload_success_timestamp_seconds",
            "When the active configuration was loaded.",
        )
        self.certificate_expiry = self.gauge(
            "initgate_certificate_expiry_timestamp_seconds",
            "When the serving certificate expires (Unix time).",
        )
        self.tls_handshake_failures = self.counter(
            "initgate_tls_handshake_failures",
            "TLS handshakes begun and never completed (a client that does not trust the "
            "certificate drops them: check the webhook configurations' caBundle).",
        )
        self.certificate_reloads = self.counter(
            "initgate_certificate_reloads",
            "Serving certificate loads and reloads, by result (success or failure).",
            ["result"],
        )
        self.open_connections = self.gauge(
            "initgate_open_connections", "Client connections open (TLS handshake done)."
        )
        self.connections_closed = self.counter(
            "initgate_connections_closed",
            "Connections initgate closed: no whole request head in time (head-timeout), or the "
            "one waiting longest to make room (max-connections).",
            ["reason"],
        )
        self.exemption_expiry = Snapshot(
            "initgate_exemption_expiry_timestamp_seconds",
            "When each exemption of the active configuration that has `expires` ends (Unix "
            "time), by its place in the configuration (exemptions.images[0]).",
            ["exemption"],
        )
        self.add(self.exemption_expiry)


class Snapshot(Collector):
    """A gauge family replaced as a whole: series that the last scan did not see vanish, and a
    scrape never sees half of a scan (the new values are swapped in with one assignment)."""

    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = tuple(labels)
        self._values: dict[tuple[str, ...], float] = {}

    def replace(self, values: Mapping[tuple[str, ...], float]) -> None:
        self._values = dict(values)

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, self.documentation, labels=self.labels)

    def describe(self) -> Iterable[Metric]:
        yield self._family()

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for labels, value in self._values.items():
            family.add_metric(labels, value)
        yield family


class AuditMetrics(Exported):
    """The continuous audit's metrics (`initgate audit --cluster --interval`), on a registry of
    their own. Label values are bounded: policy ids, modes, roles, kinds, outcomes, and namespaces
    (as many as the cluster has)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        super().__init__(registry)
        self.findings = Snapshot(
            "initgate_audit_findings",
            "Findings of the last completed scan, by policy, effective mode, role and namespace.",
            ["policy", "mode", "role", "namespace"],
        )
        self.objects = Snapshot(
            "initgate_audit_objects",
            "Pods and workloads of the last completed scan, by namespace, kind and outcome.",
            ["namespace", "kind", "outcome"],
        )
        self.add(self.findings)
        self.add(self.objects)
        self.last_scan = self.gauge(
            "initgate_audit_last_scan_timestamp_seconds",
            "When the last completed scan finished (Unix time).",
        )
        self.scan_duration = self.gauge(
            "initgate_audit_scan_duration_seconds",
            "How long the last completed scan took.",
        )
        self.scans = self.counter("initgate_audit_scans", "Completed scans.")
        self.scan_errors = self.counter(
            "initgate_audit_scan_errors",
            "Scans that failed (stage scan) and PolicyReport writes that failed (policy-reports).",
            ["stage"],
        )
