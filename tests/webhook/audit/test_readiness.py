"""`initgate audit --cluster --readiness` against the replay of a real API server: every routed
namespace judged as if enforced, its mode now (from the live webhook configurations by default,
or from labels and --default-mode), and the kubectl commands that move namespaces up; without
initgate installed, what each mode would do once it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.webhook.audit.apiserver import Replay
from webhook.audit.readinessplan import EXEMPT
from webhook.cli.main import main

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]

LABELS = {
    "demo": {"initgate.io/mode": "warn"},
    "workloads": {"initgate.io/mode": "audit"},
    "patch-test": {"initgate.io/mode": "enforce"},
    "warn-test": {"initgate.io/mode": "off"},
}
NOT_INSTALLED = (
    "initgate is not installed: there is no ValidatingWebhookConfiguration or\n"
    "MutatingWebhookConfiguration initgate (if its release has another name, give "
    "--webhook-configuration\n"
    "NAME). What each mode would do once it is: audit records the findings and admits everything; "
    "warn\n"
    "admits everything and shows whoever applies an object its findings; enforce denies and "
    "patches.\n"
)
WORKLOADS_DENIED = "3 denied (StatefulSet db, DaemonSet node-tuner, Job migrate)"
WORKLOADS_PATCHED = "4 patched (CronJob report, DaemonSet node-tuner, Job migrate, Pod standalone)"
TEMPLATES = (
    "  Until then, any change to the pod template of StatefulSet db, DaemonSet node-tuner, Job "
    "migrate is denied in enforce, even `kubectl set image` of a container that is fine: a "
    "template change is judged whole.\n"
)


def readiness(
    kubeconfig: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    argv = ["audit", "--cluster", "--kubeconfig", str(kubeconfig), "--readiness", *extra]
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def by_name(out: str) -> dict[str, Any]:
    return {ns["name"]: ns for ns in json.loads(out)["namespaces"]}


def test_each_namespace_judged_as_if_enforced(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay.state.labels = LABELS
    status, out, err = readiness(kubeconfig, capsys, "--default-mode", "audit", "-o", "json")
    assert (status, err) == (0, "")
    assert (json.loads(out)["installed"], json.loads(out)["webhookConfiguration"]) == (True, None)
    plan = by_name(out)
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
        "withFindings": [
            "CronJob report",
            "StatefulSet db",
            "DaemonSet node-tuner",
            "Job migrate",
            "Pod standalone",
        ],
        "onceInstalled": None,
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
    skipped = json.loads(out)["skippedNamespaces"]
    assert "warn-test" not in plan
    assert {"name": "warn-test", "reason": "labelled initgate.io/mode=off"} in skipped
    # kube-public is exempt in the configuration: no label would change anything there.
    assert "kube-public" not in plan
    assert {"name": "kube-public", "reason": EXEMPT} in skipped


def test_the_table_ends_with_the_commands(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay.state.labels = LABELS
    argv = ("--default-mode", "audit", "--namespace", "workloads")
    status, out, _ = readiness(kubeconfig, capsys, *argv)
    assert status == 0
    assert out == (
        "Routed by namespace labels, unlabelled namespaces in audit (--default-mode); each "
        "namespace judged\nas if enforced.\n"
        "\n"
        "NAMESPACE  MODE NOW           IF ENFORCED\n"
        f"workloads  audit (label)      5 objects: {WORKLOADS_DENIED}, {WORKLOADS_PATCHED}\n"
        "\n"
        "Can move up with nothing denied:\n"
        "  kubectl label namespace workloads initgate.io/mode=warn --overwrite\n"
        "workloads: enforce would deny 3 objects (init-unbounded: 3, init-privileged: 1); fix "
        "them first "
        "(initgate audit --cluster --namespace workloads).\n"
        f"{TEMPLATES}"
        "workloads: objects spared by exemptions (policies.init-privileged.presets: 1).\n"
    )


def test_without_initgate_installed_it_plans_from_nothing(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before `helm install`, this said every namespace was `enforce (default)` and "enforced,
    yet 1 objects running there would be denied" (issue 21)."""
    replay.state.labels = LABELS
    status, out, err = readiness(kubeconfig, capsys, "--namespace", "workloads")
    assert (status, err) == (0, "")
    assert out == (
        f"{NOT_INSTALLED}"
        "\n"
        "NAMESPACE  ONCE INSTALLED     IF AUDIT OR WARN             IF ENFORCED\n"
        f"workloads  audit (label)      5 objects, 5 with findings   {WORKLOADS_DENIED}, "
        f"{WORKLOADS_PATCHED}\n"
        "\n"
        "Install it (unlabelled namespaces start in audit, the chart's webhooks.defaultMode):\n"
        "  helm install initgate charts/initgate --namespace initgate --create-namespace\n"
        "With denials, warn first:\n"
        "  kubectl label namespace workloads initgate.io/mode=warn --overwrite\n"
        "workloads: enforce would deny 3 objects (init-unbounded: 3, init-privileged: 1); fix "
        "them first "
        "(initgate audit --cluster --namespace workloads).\n"
        f"{TEMPLATES}"
        "workloads: objects spared by exemptions (policies.init-privileged.presets: 1).\n"
    )
    status, out, err = readiness(kubeconfig, capsys, "-o", "json")
    assert (status, err) == (0, "")
    assert (json.loads(out)["installed"], json.loads(out)["webhookConfiguration"]) == (
        False,
        "initgate",
    )
    plan = by_name(out)
    assert {ns["mode"] for ns in plan.values()} == {"off"}
    assert {ns["modeFrom"] for ns in plan.values()} == {"not installed"}
    assert plan["default"]["onceInstalled"] == "audit"
    assert plan["default"]["command"] == (
        "kubectl label namespace default initgate.io/mode=enforce --overwrite"
    )
    # Labelled enforce, with a denial: enforced as soon as initgate is installed.
    assert (plan["patch-test"]["onceInstalled"], plan["patch-test"]["next"]) == ("enforce", None)
    assert "kube-public" not in plan


def test_the_table_counts_in_words(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replay.state.labels = LABELS
    _, out, _ = readiness(kubeconfig, capsys)
    lines = out.splitlines()
    assert next(line for line in lines if line.startswith("chain-test ")).split()[3:7] == [
        "1",
        "object,",
        "1",
        "with",
    ]
    assert (
        "chain-test: enforce would deny 1 object (init-privileged: 1); fix them first "
        "(initgate audit --cluster --namespace chain-test)."
    ) in lines
    assert (
        "patch-test: labelled enforce, so enforced once installed, yet 1 object running there "
        "would be denied if applied again (created before enforcement, or by an exempt user)."
    ) in lines
    # What a label would enforce with denials is lowered before the install.
    lower = lines.index("Before that, label warn what its label would enforce with denials:")
    assert (
        lines[lower + 1] == "  kubectl label namespace patch-test initgate.io/mode=warn --overwrite"
    )
    assert not any("kube-public initgate.io/mode" in line for line in lines)


def test_hundreds_of_skipped_namespaces_are_counted_not_listed(
    replay: Replay, kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"team-{n:03}" for n in range(241)]
    replay.state.extra["namespaces"] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}} for name in names
    ]
    replay.state.labels = {name: {"initgate.io/ignore": "true"} for name in names}
    _, out, _ = readiness(kubeconfig, capsys)
    [line] = [line for line in out.splitlines() if "initgate.io/ignore" in line]
    assert line == (
        "  labelled initgate.io/ignore: team-000, team-001, team-002, team-003, team-004, "
        "team-005, team-006, team-007 and 233 more (241 in all; -o json lists them)"
    )
    _, out, _ = readiness(kubeconfig, capsys, "-o", "json")
    skipped = json.loads(out)["skippedNamespaces"]
    assert len([s for s in skipped if s["reason"] == "labelled initgate.io/ignore"]) == 241


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


@pytest.mark.parametrize("extra", [["--interval", "5m"], ["-o", "sarif"]])
def test_what_readiness_does_not_combine_with(
    extra: list[str], kubeconfig: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        readiness(kubeconfig, capsys, *extra)
    assert exited.value.code == 2
    assert "--readiness" in capsys.readouterr().err
