"""Routing by the live webhook configurations: label selectors, rules, endpoints. The chart's own
configurations, rendered by helm, are read back in tests/chart/test_live_routing.py."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from policies.base import Mode
from tests.support import reviews
from tests.webhook.audit.apiserver import Replay
from webhook.audit import live
from webhook.audit.cluster import Cluster, ClusterError, webhook_routes
from webhook.audit.evaluate import Target, evaluate
from webhook.audit.live import Routes, endpoint, selects
from webhook.cli.main import main
from webhook.core.config import Config
from webhook.core.engine import Webhook
from webhook.core.plan import compile_plan

LABELS = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("selector", "selected"),
    [
        (None, True),
        ({}, True),
        ({"matchLabels": {"app": "web"}}, True),
        ({"matchLabels": {"app": "db"}}, False),
        ({"matchLabels": {"app": "web", "zone": "a"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["db", "web"]}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, False),
        # NotIn holds for a label that is absent.
        ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}, False),
        # Every requirement must hold.
        (
            {
                "matchLabels": {"app": "web"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["back"]}],
            },
            False,
        ),
    ],
)
def test_label_selectors(selector: Any, selected: bool) -> None:
    assert selects(selector, LABELS) is selected


@pytest.mark.parametrize(
    ("client_config", "expected"),
    [
        ({"service": {"name": "initgate", "path": "/validate"}}, ("validate", Mode.ENFORCE)),
        ({"service": {"name": "initgate", "path": "/mutate/warn"}}, ("mutate", Mode.WARN)),
        ({"service": {"name": "initgate", "path": "/validate/audit"}}, ("validate", Mode.AUDIT)),
        ({"url": "https://initgate.example:8443/mutate/enforce"}, ("mutate", Mode.ENFORCE)),
        ({"service": {"name": "initgate", "path": "/validate/off"}}, None),
        ({"service": {"name": "kyverno", "path": "/validate/fail"}}, None),
        ({"service": {"name": "initgate"}}, None),
    ],
)
def test_endpoints(client_config: dict[str, Any], expected: object) -> None:
    assert endpoint(client_config) == expected


def entry(path: str, **fields: Any) -> dict[str, Any]:
    rules = [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "operations": ["CREATE"],
            "resources": ["pods"],
        }
    ]
    return {"name": path, "clientConfig": {"service": {"path": path}}, "rules": rules, **fields}


def pod(labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": labels}}


def test_the_highest_cap_of_the_entries_that_select_an_object() -> None:
    configuration = {
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "initgate"},
        "webhooks": [
            entry("/validate/warn"),
            entry("/validate", objectSelector={"matchLabels": {"app": "web"}}),
            entry("/mutate/audit", namespaceSelector={"matchLabels": {"team": "a"}}),
        ],
    }
    routes = Routes.of([configuration])
    assert routes.cap("validate", pod({"app": "web"}), {}) is Mode.ENFORCE
    assert routes.cap("validate", pod({"app": "db"}), {}) is Mode.WARN
    assert routes.cap("mutate", pod({}), {"team": "a"}) is Mode.AUDIT
    assert routes.cap("mutate", pod({}), {"team": "b"}) is None
    # Rules: the entries above cover pods, not deployments.
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}}
    assert routes.cap("validate", deployment, {}) is None
    assert routes.namespace({"team": "b"}) is Mode.ENFORCE  # the highest an object can meet


def test_wildcard_rules_and_what_cannot_be_evaluated() -> None:
    wildcard = [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["*"], "resources": ["*"]}]
    configuration = {
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "initgate"},
        "webhooks": [
            # Kubernetes refuses `1` when the configuration is written: a dyn value may still
            # turn out not to be a boolean.
            entry(
                "/validate",
                rules=wildcard,
                matchConditions=[{"name": "x", "expression": "object.kind"}],
            ),
            entry("/healthz"),
            entry("/validate/warn", rules=[{**wildcard[0], "operations": ["UPDATE"]}]),
        ],
    }
    routes = Routes.of([configuration])
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}}
    assert routes.cap("validate", deployment, {}) is Mode.ENFORCE
    assert routes.cap("validate", deployment, {}) is Mode.ENFORCE
    assert routes.cap("validate", {"apiVersion": "v1", "kind": "Secret"}, {}) is None
    assert routes.notes == [
        "ValidatingWebhookConfiguration initgate: webhook /healthz calls no initgate endpoint",
        # Said once, however many objects meet it. No failurePolicy: Fail, the default.
        "ValidatingWebhookConfiguration initgate: webhook /validate: matchCondition x: fails on "
        "some objects (gives Deployment, not a boolean); failurePolicy Fail: the API server "
        "refuses them; "
        "audited as sent",
    ]


def test_match_conditions_are_evaluated_as_the_api_server_does() -> None:
    """A false condition leaves its entry out; a failing one too under failurePolicy Ignore (under
    Fail the API server refuses the object, which is audited as sent). One that reads who creates
    the object, or does not compile here, counts as true. Each is noted once."""
    team = {"name": "team-a", "expression": "object.metadata.labels.team == 'a'"}
    configuration = {
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "initgate"},
        "webhooks": [
            entry(
                "/validate",
                matchConditions=[
                    {"name": "not-ci", "expression": "!('ci' in object.metadata.labels)"}
                ],
            ),
            entry(
                "/validate/warn",
                matchConditions=[
                    # Kubernetes' strings extension, and the request as the API server sends it.
                    {
                        "name": "canary",
                        "expression": "object.metadata.name.lowerAscii() == 'canary'",
                    },
                    {"name": "create", "expression": "request.operation == 'CREATE'"},
                ],
            ),
            entry(
                "/validate/audit",
                matchConditions=[
                    {"name": "not-ci-user", "expression": "has(request.userInfo) && false"},
                    {"name": "demo", "expression": "request.namespace == 'demo'"},
                    {"name": "broken", "expression": "object.metadata.name =="},
                ],
            ),
            entry("/mutate", failurePolicy="Ignore", matchConditions=[team]),
            entry("/mutate/warn", failurePolicy="Fail", matchConditions=[team]),
        ],
    }
    routes = Routes.of([configuration])
    demo = {"kubernetes.io/metadata.name": "demo"}
    other = {"kubernetes.io/metadata.name": "other"}

    def named(name: str, labels: dict[str, str]) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}}

    assert routes.cap("validate", named("web", {}), demo) is Mode.ENFORCE
    assert routes.cap("validate", named("Canary", {"ci": "yes"}), demo) is Mode.WARN
    # The requester's condition would leave the entry out; the audit cannot know, and reports.
    assert routes.cap("validate", named("web", {"ci": "yes"}), demo) is Mode.AUDIT
    assert routes.cap("validate", named("web", {"ci": "yes"}), other) is None
    assert routes.cap("mutate", named("web", {"team": "a"}), demo) is Mode.ENFORCE
    assert routes.cap("mutate", named("web", {"team": "b"}), demo) is None
    # No team label: the condition fails. Ignore leaves the entry out; Fail refuses the object.
    assert routes.cap("mutate", named("web", {}), demo) is Mode.WARN
    assert routes.cap("mutate", named("db", {}), other) is Mode.WARN
    where = "ValidatingWebhookConfiguration initgate: webhook"
    assert [note.split(" (")[0] for note in routes.notes] == [
        f"{where} /validate/audit: matchCondition not-ci-user: reads who creates the object, "
        "which an audit cannot know: taken as true",
        f"{where} /validate/audit: matchCondition broken: cannot be evaluated here",
        f"{where} /mutate: matchCondition team-a: fails on some objects",
        f"{where} /mutate/warn: matchCondition team-a: fails on some objects",
    ]
    assert routes.notes[2].endswith("; failurePolicy Ignore: not sent")
    assert routes.notes[3].endswith(
        "; failurePolicy Fail: the API server refuses them; audited as sent"
    )
    assert 'Key not found in map : "team"' in routes.notes[2]


def test_optional_values_as_kubernetes_loads_them() -> None:
    """`.?` and `orValue`, in Kubernetes' CEL since 1.28, compile and evaluate."""
    labelled = {
        "name": "labelled",
        "expression": 'object.metadata.?labels.?app.orValue("none") == "web"',
    }
    configuration = {
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "initgate"},
        "webhooks": [entry("/validate", matchConditions=[labelled])],
    }
    routes = Routes.of([configuration])
    namespace = {"kubernetes.io/metadata.name": "demo"}
    assert routes.cap("validate", pod({"app": "web"}), namespace) is Mode.ENFORCE
    assert routes.cap("validate", pod({"app": "db"}), namespace) is None
    unlabelled = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"}}
    assert routes.cap("validate", unlabelled, namespace) is None
    assert routes.notes == []


def test_a_generated_name_does_not_exist_yet_for_a_mutating_webhook() -> None:
    """As the captured calls show: a pod created with `generateName` has no name in the mutating
    call (neither `request.name` nor `object.metadata.name`), and its generated name in the
    validating one. The audit reads the stored pod, which has both."""
    mutating = reviews.captured("pod-create-generatename", "mutate")["request"]
    validating = reviews.captured("pod-create-generatename", "validate")["request"]
    assert "name" not in mutating
    assert "name" not in mutating["object"]["metadata"]
    stored = validating["object"]
    assert stored["metadata"]["name"] == validating["name"]
    unnamed = {"name": "unnamed", "expression": "!has(request.name) && !has(object.metadata.name)"}
    configurations = [
        {
            "kind": kind,
            "metadata": {"name": "initgate"},
            "webhooks": [entry(path, matchConditions=[unnamed])],
        }
        for kind, path in (
            ("MutatingWebhookConfiguration", "/mutate"),
            ("ValidatingWebhookConfiguration", "/validate"),
        )
    ]
    routes = Routes.of(configurations)
    namespace = {"kubernetes.io/metadata.name": validating["namespace"]}
    assert routes.cap("mutate", stored, namespace) is Mode.ENFORCE
    assert routes.cap("validate", stored, namespace) is None
    # A name given in full is there for both.
    named = {**stored, "metadata": {**stored["metadata"], "generateName": ""}}
    assert routes.cap("mutate", named, namespace) is None


@pytest.mark.parametrize(
    "fixture", ["pod-create-two-init", "pod-create-generatename", "deployment-create"]
)
def test_a_stored_objects_metadata_as_each_webhook_is_sent_it(fixture: str) -> None:
    """The captured calls are the ground truth: the mutating call comes before the API server
    sets uid, creationTimestamp, generation (and a generated name); neither has the
    resourceVersion a stored object has."""
    validating = reviews.captured(fixture, "validate")["request"]["object"]
    mutating = reviews.captured(fixture, "mutate")["request"]["object"]
    stored = {**validating, "metadata": {**validating["metadata"], "resourceVersion": "4242"}}
    for webhook, sent in (("mutate", mutating), ("validate", validating)):
        view = live._as_sent(stored, stored["metadata"], webhook)  # type: ignore[arg-type]
        assert sorted(view["metadata"]) == sorted(sent["metadata"]), webhook
        assert view["spec"] is stored["spec"]
    assert stored["metadata"]["resourceVersion"] == "4242"  # the stored object is left as it is


def test_a_pod_made_from_a_template_has_the_name_the_api_server_would_generate() -> None:
    """The audit judges a workload through a pod made from its template, with a `generateName`
    and no name: the validating webhook gets the name the API server generates (its random
    characters written `xxxxx`), the mutating one gets none."""
    unnamed = {"name": "unnamed", "expression": "!has(request.name) && !has(object.metadata.name)"}
    named = {
        "name": "generated",
        "expression": "request.name == 'web-xxxxx' && object.metadata.name == request.name",
    }
    configurations = [
        {
            "kind": kind,
            "metadata": {"name": "initgate"},
            "webhooks": [entry(path, failurePolicy="Ignore", matchConditions=[condition])],
        }
        for kind, path, condition in (
            ("MutatingWebhookConfiguration", "/mutate", unnamed),
            ("ValidatingWebhookConfiguration", "/validate", named),
        )
    ]
    routes = Routes.of(configurations)
    made = {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-"}}
    namespace = {"kubernetes.io/metadata.name": "shop"}
    assert routes.cap("mutate", made, namespace) is Mode.ENFORCE
    assert routes.cap("validate", made, namespace) is Mode.ENFORCE
    assert routes.notes == []
    assert made == {"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "web-"}}


@pytest.mark.parametrize(
    ("generate_name", "name", "generated"),
    [
        ("web-", "web-7lx8v", True),
        ("web-", "web-2b4d6", True),
        ("web-", "web-abcde", False),  # vowels: the API server's alphabet has none
        ("web-", "web-7lx8", False),
        ("web-", "web-7lx8vv", False),
        ("web-", "db-7lx8v", False),
        ("", "web-7lx8v", False),
        # The prefix is cut to 58 characters before the five are appended.
        ("p" * 70, "p" * 58 + "7lx8v", True),
    ],
)
def test_which_names_the_api_server_generated(
    generate_name: str, name: str, generated: bool
) -> None:
    metadata = {"generateName": generate_name, "name": name}
    assert live._generated(metadata) is generated


def test_an_object_is_reported_in_the_mode_it_is_routed_to() -> None:
    """Two entries told apart by objectSelector: the namespace could meet enforce, but a pod
    labelled tier=canary is only sent to the warn entry, and is reported (and judged) in warn."""
    canary = {"matchLabels": {"tier": "canary"}}
    not_canary = {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["canary"]}]}
    configuration = {
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "initgate"},
        "webhooks": [
            entry("/validate/warn", objectSelector=canary),
            entry("/validate", objectSelector=not_canary),
        ],
    }
    routes = Routes.of([configuration])
    privileged = {
        "name": "setup",
        "image": "busybox:1.36",
        "securityContext": {"privileged": True},
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
    }
    for tier, cap, outcome in (("canary", Mode.WARN, "warned"), ("stable", Mode.ENFORCE, "denied")):
        obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": tier, "labels": {"tier": tier}},
            "spec": {"initContainers": [privileged], "containers": [{"name": "a", "image": "a:1"}]},
        }

        def routed(webhook: Webhook, judged: dict[str, Any]) -> Mode | None:
            return routes.cap(webhook, judged, {})

        target = Target(obj=obj, namespace="shop", cap=routes.namespace({}) or Mode.OFF)
        audited = evaluate(dataclasses.replace(target, route=routed), compile_plan(Config()))
        assert (audited.cap, audited.outcome) == (cap, outcome)


# The chart's configurations, read back from the replay ---------------------------------------


@pytest.mark.integration
def test_flags_that_do_not_apply_to_live_routing(kubeconfig: Path) -> None:
    argv = ["audit", "--cluster", "--kubeconfig", str(kubeconfig), "--webhook-configuration", "x"]
    for extra in (["--default-mode", "warn"], ["--exclude-namespace", "ci"]):
        with pytest.raises(SystemExit) as exited:
            main([*argv, *extra])
        assert exited.value.code == 2
    with pytest.raises(SystemExit):
        main(["audit", "-f", "x.yaml", "--webhook-configuration", "initgate"])


@pytest.mark.integration
def test_a_failing_read_is_an_error(replay: Replay, cluster: Cluster) -> None:
    replay.state.webhook_configurations[("validatingwebhookconfigurations", "initgate")] = {}
    assert webhook_routes(cluster, "initgate").entries == []
    # Only "not found" means "not installed": a refusal (RBAC) is an error, not an empty route.
    replay.state.failing["mutatingwebhookconfigurations"] = 403
    with pytest.raises(ClusterError, match="get MutatingWebhookConfiguration initgate: HTTP 403"):
        webhook_routes(cluster, "initgate")
