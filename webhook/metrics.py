"""Every Prometheus metric initgate exports, in one place. Label values are bounded: policy ids,
modes, roles, webhooks, operations, handled kinds; never names of pods or free text."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

from webhook._version import __version__
from webhook.objects import KINDS

OPERATIONS = frozenset(("CREATE", "UPDATE", "DELETE", "CONNECT"))
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def bounded_kind(kind: str) -> str:
    return kind if kind in KINDS else "other"


def bounded_operation(operation: str) -> str:
    return operation if operation in OPERATIONS else "other"


class Metrics:
    """The webhook's metrics, on a registry of their own (tests run several apps in one process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        r = self.registry
        self.build_info = Gauge(
            "initgate_build_info", "Always 1; the version is a label.", ["version"], registry=r
        )
        self.build_info.labels(__version__).set(1)
        self.requests = Counter(
            "initgate_admission_requests",
            "Admission reviews answered, by webhook, operation, kind, decision and dry run.",
            ["webhook", "operation", "kind", "decision", "dry_run"],
            registry=r,
        )
        self.duration = Histogram(
            "initgate_admission_duration_seconds",
            "Time to answer an admission review, from the first byte read to the answer built.",
            ["webhook"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.findings = Counter(
            "initgate_findings",
            "Policy findings, by policy, effective mode, container role and webhook.",
            ["policy", "mode", "role", "webhook"],
            registry=r,
        )
        self.policy_errors = Counter(
            "initgate_policy_errors",
            "Policies (or the engine) that raised on a request instead of answering.",
            ["policy"],
            registry=r,
        )
        self.bad_requests = Counter(
            "initgate_bad_requests",
            "Requests refused before evaluation (malformed, too large, wrong content type).",
            ["reason"],
            registry=r,
        )
        self.config_reloads = Counter(
            "initgate_config_reloads",
            "Configuration loads and reloads, by result (success or failure).",
            ["result"],
            registry=r,
        )
        self.config_last_success = Gauge(
            "initgate_config_last_reload_success_timestamp_seconds",
            "When the active configuration was loaded.",
            registry=r,
        )
        self.certificate_expiry = Gauge(
            "initgate_certificate_expiry_timestamp_seconds",
            "When the serving certificate expires (Unix time).",
            registry=r,
        )
        self.certificate_reloads = Counter(
            "initgate_certificate_reloads",
            "Serving certificate loads and reloads, by result (success or failure).",
            ["result"],
            registry=r,
        )
