"""PolicyReports as a real `initgate audit --cluster --interval 1s --policy-reports` writes them
through the replay API server, read against the wgpolicyk8s.io/v1alpha2 CRD's schema: when they
are created, when findings change (updated), and when a namespace is no longer audited (deleted);
each report's summary counts its results."""

from __future__ import annotations

import copy
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.schemas import policy_report_errors
from tests.support.server import free_port
from tests.webhook.audit.apiserver import Replay

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
Reports = dict[tuple[str, str], dict[str, Any]]


def stored(replay: Replay) -> Reports:
    with replay.lock:
        return copy.deepcopy(replay.state.reports)


def until(replay: Replay, done: Callable[[Reports], bool], timeout: float = 20) -> Reports:
    deadline = time.monotonic() + timeout
    while not done(reports := stored(replay)):
        assert time.monotonic() < deadline, f"the reports did not get there: {sorted(reports)}"
        time.sleep(0.05)
    return reports


def check(reports: Reports) -> None:
    for (namespace, _), report in reports.items():
        assert policy_report_errors(report) == [], namespace
        counted = Counter(result["result"] for result in report["results"])
        assert report["summary"] == {k: counted[k] for k in report["summary"]}, namespace
        assert set(counted) <= set(report["summary"]), namespace


def test_reports_through_their_life_are_valid(
    replay: Replay, kubeconfig: Path, tmp_path: Path
) -> None:
    replay.state.policy_reports = True
    config = tmp_path / "config.yaml"
    config.write_text("")
    argv = ["audit", "--cluster", "--interval", "1s", "--metrics-host", "127.0.0.1"]
    argv += ["--metrics-port", str(free_port()), "--config", str(config), "--policy-reports"]
    argv += ["--kubeconfig", str(kubeconfig)]
    process = subprocess.Popen(
        [sys.executable, "-m", "webhook.cli", *argv], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        created = until(replay, lambda r: len(r) == 5)
        check(created)
        assert all(r["results"] for r in created.values())

        # Findings change: demo to warn mode, and workloads is no longer audited (mode off).
        replay.state.labels = {
            "demo": {"initgate.io/mode": "warn"},
            "workloads": {"initgate.io/mode": "off"},
        }
        before = created[("demo", "initgate")]["metadata"]["resourceVersion"]
        changed = until(
            replay,
            lambda r: (
                ("workloads", "initgate") not in r
                and r[("demo", "initgate")]["metadata"]["resourceVersion"] != before
            ),
        )
        check(changed)
        modes = {
            version: {
                r["properties"]["mode"]
                for r in reports[("demo", "initgate")]["results"]
                if r["result"] != "pass"
            }
            for version, reports in (("before", created), ("after", changed))
        }
        assert modes == {"before": {"enforce"}, "after": {"warn"}}
        assert sorted(changed) == sorted(k for k in created if k[0] != "workloads")
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0, err


BREAKAGES = {
    "an unknown result": lambda r: r["results"][0].update(result="failed"),
    "an unknown severity": lambda r: r["results"][0].update(severity="urgent"),
    "a property that is not text": lambda r: r["results"][0]["properties"].update(line=7),
    "a field the CRD prunes": lambda r: r["results"][0].update(rules=["privileged"]),
    "a timestamp without nanos": lambda r: r["results"][0]["timestamp"].pop("nanos"),
    "a count that is not a number": lambda r: r["summary"].update(fail="7"),
    "a result without its policy": lambda r: r["results"][0].pop("policy"),
    "another kind": lambda r: r.update(kind="ClusterPolicyReport"),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_the_schema_check_fails_on_an_invalid_report(
    breakage: Callable[[dict[str, Any]], None],
) -> None:
    report = {
        "apiVersion": "wgpolicyk8s.io/v1alpha2",
        "kind": "PolicyReport",
        "metadata": {"name": "initgate", "namespace": "demo"},
        "summary": {"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 0},
        "results": [
            {
                "source": "initgate",
                "policy": "init-privileged",
                "rule": "privileged",
                "result": "fail",
                "scored": True,
                "severity": "high",
                "timestamp": {"seconds": 1_790_000_000, "nanos": 0},
                "resources": [
                    {"apiVersion": "v1", "kind": "Pod", "name": "p", "namespace": "demo"}
                ],
                "properties": {"mode": "enforce"},
            }
        ],
    }
    assert policy_report_errors(report) == []
    breakage(report)
    assert policy_report_errors(report)
