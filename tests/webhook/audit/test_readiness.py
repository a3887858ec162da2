"""`initgate audit --cluster --readiness` against the replay of a real API server: every routed
namespace judged as if enforced, its mode now, and the kubectl commands that move namespaces up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.webhook.audit.apiserver import Replay
from webhook.cli.main import main

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]

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
            "deniedBy": {"init-unbounded": 3, "init-privileged": 1},
            "exemptions": {"policies.init-privileged.presets": 1},
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
        "workloads: enforce would deny 3 objects (init-unbounded: 3, init-privileged: 1); "
        "fix them first (initgate audit --cluster --namespace workloads).\n"
        "workloads: objects spared by exemptions (policies.init-privileged.presets: 1).\n"
    )


def test_the_rules_that_would_deny_are_named_with_the_policies(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A configuration's rules block a namespace's move to enforce as its policies do: each is
    counted by its id, and a rule's exemption is counted with the rest."""
    rules = yaml.safe_load((ROOT / "docs" / "rules" / "cookbook.yaml").read_text())["rules"]
    rules[1]["exemptions"] = {"images": [{"image": "busybox:*", "reason": "until the mirror"}]}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"rules": rules}))
    replay.state.labels = LABELS
    argv = ["--namespace", "workloads", "--config", str(config), "-o", "json"]
    status, out, _ = readiness(kubeconfig, capsys, *argv)
    assert status == 0
    (workloads,) = json.loads(out)["namespaces"]
    assert workloads["ifEnforced"]["denied"] == [
        "CronJob report",
        "StatefulSet db",
        "DaemonSet node-tuner",
        "Job migrate",
        "Pod standalone",
    ]
    assert workloads["ifEnforced"]["deniedBy"] == {
        "init-registry": 5,
        "init-digest": 2,
        "init-fill-nonroot": 1,
        "init-termination-log": 5,
        "init-unbounded": 3,
        "init-privileged": 1,
        "init-no-token": 5,
    }
    assert workloads["ifEnforced"]["exemptions"] == {
        "rules[1].exemptions.images[0]": 3,
        "policies.init-privileged.presets": 1,
    }


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
