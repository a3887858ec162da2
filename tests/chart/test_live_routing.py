"""The chart's own webhook configurations, rendered by `helm template`, served by the replay API
server and read back by the audit's live routing (`webhook.audit.live`): it must route as the
labels and selectors say, and as its mirror of the chart (`webhook.audit.routing`) does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from policies.base import Mode
from tests.chart.render import render
from tests.webhook.audit.apiserver import Replay
from webhook.audit.cluster import Cluster, scan, webhook_routes
from webhook.audit.evaluate import NOT_SENT_REASON
from webhook.audit.report import Report
from webhook.cli.main import main
from webhook.core.plan import Plan

pytestmark = pytest.mark.chart


def serve_chart(replay: Replay, *args: str) -> None:
    """Serve the webhook configurations `helm template` renders with `args`."""
    rendered = render(*args)
    for kind, resource in (
        ("ValidatingWebhookConfiguration", "validatingwebhookconfigurations"),
        ("MutatingWebhookConfiguration", "mutatingwebhookconfigurations"),
    ):
        for configuration in rendered.of(kind):
            name = configuration["metadata"]["name"]
            replay.state.webhook_configurations[(resource, name)] = configuration


def outcomes(report: Report) -> dict[tuple[str, str, str], tuple[str, str]]:
    return {(a.namespace, a.kind, a.name): (a.cap.value, a.outcome) for a in report.objects}


LABELLED = {
    "demo": {"initgate.io/mode": "warn"},
    "patch-test": {"initgate.io/ignore": ""},
    "warn-test": {"initgate.io/mode": "off"},
    "chain-test": {"initgate.io/mode": "Enforce"},
    "workloads": {"initgate.io/mode": "audit"},
}


@pytest.mark.parametrize("default", [Mode.ENFORCE, Mode.AUDIT, Mode.OFF])
def test_the_charts_configurations_route_as_the_labels_say(
    replay: Replay, cluster: Cluster, default_plan: Plan, default: Mode
) -> None:
    """Two routings that must agree: the chart's selectors read from the live configurations,
    and the audit's mirror of them (`webhook.audit.routing`), for the same namespace labels."""
    serve_chart(replay, "--set", f"webhooks.defaultMode={default.value}")
    replay.state.labels = LABELLED
    live = scan(cluster, default_plan, webhooks=webhook_routes(cluster, "initgate"))
    mirrored = scan(cluster, default_plan, default_mode=default)
    assert outcomes(live) == outcomes(mirrored)
    assert live.namespaces.keys() == mirrored.namespaces.keys()
    assert set(live.namespaces.values()) == {"no webhook entry selects it (namespaceSelector)"}


def test_an_object_selector_leaves_out_what_it_does_not_select(
    replay: Replay, cluster: Cluster, default_plan: Plan
) -> None:
    selector = {
        "matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db", "demo-a"]}]
    }
    serve_chart(
        replay,
        "--set",
        "webhooks.defaultMode=enforce",
        "--set-json",
        f"webhooks.objectSelector={json.dumps(selector)}",
    )
    report = scan(cluster, default_plan, webhooks=webhook_routes(cluster, "initgate"))
    found = {(a.namespace, a.name): a for a in report.objects}
    # The pod labelled app=demo-a is never sent to initgate.
    unsent = found[("demo", "pod-a-two-init")]
    assert (unsent.outcome, unsent.reason, unsent.items) == ("exempt", NOT_SENT_REASON, [])
    # The StatefulSet has no labels: it is still validated (and denied). Its pods (app=db) are
    # not sent, so nothing is said about them: no patch, no finding that applies to the pods.
    db = found[("workloads", "db")]
    assert db.outcome == "denied"
    assert {i.applies_to for i in db.items} == {"object"}
    assert db.patch == []
    # Everything else is as without the selector.
    unselected = scan(cluster, default_plan)
    expected = outcomes(unselected)
    for key in (("demo", "Pod", "pod-a-two-init"), ("workloads", "StatefulSet", "db")):
        del expected[key]
    assert {k: v for k, v in outcomes(report).items() if k in expected} == expected


def test_the_command_line_reads_the_configurations(
    kubeconfig: Path, replay: Replay, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["audit", "--cluster", "--kubeconfig", str(kubeconfig)]
    assert main([*argv, "--webhook-configuration", "initgate"]) == 2
    assert capsys.readouterr().err == (
        "initgate audit: no ValidatingWebhookConfiguration or MutatingWebhookConfiguration "
        "initgate\n"
    )
    labelled_a = "has(object.metadata.labels) && has(object.metadata.labels.app)"
    conditions = [
        {
            "name": "not-a",
            "expression": f"!({labelled_a} && object.metadata.labels.app == 'demo-a')",
        },
        {"name": "not-ci", "expression": "request.userInfo.username != 'ci'"},
    ]
    serve_chart(
        replay,
        "--set",
        "webhooks.mutating.enabled=false",
        "--set",
        "webhooks.defaultMode=enforce",
        "--set-json",
        f"webhooks.matchConditions={json.dumps(conditions)}",
    )
    assert main([*argv, "--webhook-configuration", "initgate", "-o", "json"]) == 1
    captured = capsys.readouterr()
    notes = captured.err.splitlines()
    # Who creates an object is not known to the audit: that condition is taken as true, said once
    # for each mode's entry; the other one is evaluated.
    requester = "matchCondition not-ci: reads who creates the object, which an audit cannot know"
    assert [requester in note for note in notes] == [True, True, True, False]
    assert notes[3] == (
        "initgate audit: note: no MutatingWebhookConfiguration initgate: its webhook is never called"
    )
    report = json.loads(captured.out)
    found = {(o["namespace"], o["name"]): o for o in report["objects"]}
    assert found[("demo", "pod-a-two-init")]["outcome"] == "exempt"
    assert found[("demo", "pod-a-two-init")]["reason"] == NOT_SENT_REASON
    # No mutating webhook: nothing is patched.
    assert {o["outcome"] for o in report["objects"]} <= {"denied", "warned", "clean", "exempt"}
    assert "denied" in {o["outcome"] for o in report["objects"]}
    assert not any(o["patch"] for o in report["objects"])
