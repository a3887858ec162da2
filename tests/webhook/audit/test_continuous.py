"""`initgate audit --cluster --interval`: a real process scanning the replay server, its gauges
scraped from the metrics endpoint, its PolicyReports stored by the replay, and SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import free_port
from tests.webhook.audit.apiserver import Replay
from webhook.audit.duration import parse_duration

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def wait_for(port: int, done: Callable[[Samples], bool], timeout: float = 20.0) -> Samples:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            samples = scrape(port)
        except httpx.HTTPError:
            samples = {}
        if samples and done(samples):
            return samples
        time.sleep(0.1)
    raise AssertionError("the audit did not get there in time")


def scans(samples: Samples) -> float:
    return samples.get(("initgate_audit_scans_total", ()), 0.0)


def findings(samples: Samples, namespace: str) -> dict[tuple[str, str, str], float]:
    return {
        (labels["policy"], labels["mode"], labels["role"]): value
        for (name, pairs), value in samples.items()
        for labels in [dict(pairs)]
        if name == "initgate_audit_findings" and labels["namespace"] == namespace
    }


def test_two_scans_then_sigterm(replay: Replay, kubeconfig: Path, tmp_path: Path) -> None:
    replay.state.policy_reports = True
    config = tmp_path / "config.yaml"
    config.write_text("policies:\n  init-lint:\n    mode: audit\n")
    port = free_port()
    # Exactly the flags of the chart's audit Deployment, plus where the cluster is.
    argv = ["audit", "--cluster", "--interval", "1s", "--metrics-host", "127.0.0.1"]
    argv += ["--metrics-port", str(port), "--config", str(config), "--policy-reports"]
    process = subprocess.Popen(
        [sys.executable, "-m", "webhook.cli", *argv, "--kubeconfig", str(kubeconfig)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = wait_for(port, lambda s: scans(s) >= 1)
        assert findings(first, "workloads") == {
            ("init-privileged", "enforce", "init"): 1.0,
            ("init-privileged", "enforce", "pod"): 1.0,  # the node tuner's hostNetwork
            ("init-unbounded", "enforce", "init"): 6.0,
            ("init-lint", "audit", "init"): 1.0,
            ("default-resources", "enforce", "app"): 4.0,
            ("emptydir-sizelimit", "enforce", "init"): 1.0,
            ("readonly-mounts", "enforce", "app"): 1.0,
        }
        objects = {
            (dict(pairs)["kind"], dict(pairs)["outcome"]): value
            for (name, pairs), value in first.items()
            if name == "initgate_audit_objects" and dict(pairs)["namespace"] == "workloads"
        }
        assert objects == {
            ("CronJob", "patched"): 1.0,
            ("DaemonSet", "denied"): 1.0,
            ("Job", "denied"): 1.0,
            ("Pod", "patched"): 1.0,
            ("StatefulSet", "denied"): 1.0,
        }
        assert first[("initgate_audit_last_scan_timestamp_seconds", ())] > time.time() - 30
        assert first[("initgate_audit_scan_duration_seconds", ())] > 0
        assert ("workloads", "initgate") in replay.state.reports

        # The namespace is then left out: its series and its report go with the next full scan.
        replay.state.labels = {"workloads": {"initgate.io/ignore": ""}}
        after = scans(first) + 2
        second = wait_for(port, lambda s: scans(s) >= after)
        assert findings(second, "workloads") == {}
        assert findings(second, "demo") == findings(first, "demo") != {}
        assert ("workloads", "initgate") not in replay.state.reports
        assert ("demo", "initgate") in replay.state.reports

        # A failing scan is counted and keeps the last completed scan's gauges.
        replay.state.failing["deployments"] = 500
        failed = wait_for(
            port,
            lambda s: s.get(("initgate_audit_scan_errors_total", (("stage", "scan"),)), 0) >= 1,
        )
        assert findings(failed, "demo") == findings(first, "demo")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]
    messages = [line["msg"] for line in lines]
    assert messages[0] == "auditing"
    assert "scan complete" in messages
    assert "scan failed" in messages
    assert messages[-2:] == ["stopping", "stopped"]
    complete = next(line for line in lines if line["msg"] == "scan complete")
    assert complete["policy_reports"] == {"created": 5}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("1h30m", 5400.0), ("500ms", 0.5)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "5x", "0s", "m5", "1h 5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)
