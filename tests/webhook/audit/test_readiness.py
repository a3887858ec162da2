"""`initgate audit --cluster --readiness` against the replay of a real API server: every routed
namespace judged as if enforced, its mode now, and the kubectl commands that move namespaces up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.webhook.audit.apiserver import Replay
from webhook.cli.main import main

pytestmark = pytest.mark.integration

LABELS = {
    "demo": {"initgate.io/mode": "warn"},
    "workloads": {"initgate.io/mode": "audit"},
    "patch-test": {"initgate.io/mode": "enforce"},
    "warn-test": {"initgate.io/mode": "off"},
}


def readiness(
    kubeconfig: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    argv = ["audit", "--cluster", "--kubeconfig", str(kubeconfig), "--readiness", *extra]
    status = main([*argv, "--default-mode", "audit"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_each_namespace_judged_as_if_enforced(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay.state.labels = LABELS
    status, out, err = readiness(kubeconfig, capsys, "-o", "json")
    assert (status, err) == (0, "")
    plan = {ns["name"]: ns for ns in json.loads(out)["namespaces"]}
    # In audit mode today: a plain audit reports these as "audited"; enforced, three are denied.
    assert plan["workloads"] == {
        "name": "workloads",
        "mode": "audit",
        "modeFrom": "label",
        "ifEnforced": {
            "objects": 5,
            "denied": ["StatefulSet db", "DaemonSet node-tuner", "Job migrate"],
            "patched": ["CronJob report", "DaemonSet node-tuner", "Job migrate", "Pod standalone"],
            "warned": [],
        },
        "next": "warn",
        "command": "kubectl label namespace workloads initgate.io/mode=warn --overwrite",
    }
    # Already warn, with denials: no move up until they are fixed.
    assert (plan["demo"]["mode"], plan["demo"]["next"], plan["demo"]["command"]) == (
        "warn",
        None,
        None,
    )
    assert len(plan["demo"]["ifEnforced"]["denied"]) == 5
    # Nothing would be denied: straight to enforce, from the default mode.
    assert plan["default"]["modeFrom"] == "default"
    assert plan["default"]["command"] == (
        "kubectl label namespace default initgate.io/mode=enforce --overwrite"
    )
    assert plan["patch-test"]["mode"] == "enforce"
    assert plan["patch-test"]["next"] is None
    assert "warn-test" not in plan
    assert {"name": "warn-test", "reason": "labelled initgate.io/mode=off"} in json.loads(out)[
        "skippedNamespaces"
    ]


def test_the_table_ends_with_the_commands(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay.state.labels = LABELS
    status, out, _ = readiness(kubeconfig, capsys, "--namespace", "workloads")
    assert status == 0
    assert out == (
        "NAMESPACE  MODE NOW           IF ENFORCED\n"
        "workloads  audit (label)      5 objects: 3 denied (StatefulSet db, DaemonSet "
        "node-tuner, Job migrate), 4 patched (CronJob report, DaemonSet node-tuner, Job migrate, "
        "Pod standalone)\n"
        "\n"
        "Can move up with nothing denied:\n"
        "  kubectl label namespace workloads initgate.io/mode=warn --overwrite\n"
        "workloads: enforce would deny 3 objects; fix them first "
        "(initgate audit --cluster --namespace workloads).\n"
    )


@pytest.mark.parametrize(
    "extra",
    [["--interval", "5m"], ["--webhook-configuration", "initgate"], ["-o", "sarif"]],
)
def test_what_readiness_does_not_combine_with(
    extra: list[str], kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        readiness(kubeconfig, capsys, *extra)
    assert exited.value.code == 2
    assert "--readiness" in capsys.readouterr().err
