"""default-resources: missing requests and memory limits are added, never changed, and never so
that a request ends above its limit."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from policies import default_resources
from policies.default_resources import DefaultResourcesSettings
from tests.policies import pods
from tests.policies.harness import (
    apply_findings,
    evaluate,
    found,
    patch_of,
    policy_config,
    rows,
    run,
    settle,
)
from tests.support.reviews import pod

POLICY = default_resources.POLICY
ID = POLICY.id
BASE = "/spec/containers/0/resources"
DEFAULTS = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}}
ALL_DEFAULTS = "set requests cpu=100m memory=128Mi, limits memory=256Mi"


def _add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


def _web(
    resources: Any = "absent", *, pod_resources: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A pod whose app container "web" has `resources` ("absent": no such key)."""
    container: dict[str, Any] = {"name": "web", "image": "nginx:1.27"}
    if resources != "absent":
        container["resources"] = resources
    obj = pod(app=[container])
    if pod_resources is not None:
        obj["spec"]["resources"] = pod_resources
    return obj


@pytest.mark.parametrize(
    ("obj", "settings", "message", "patch"),
    [
        pytest.param(_web(pods.limited()), {}, None, [], id="allow-complete"),
        pytest.param(
            _web(), {}, ALL_DEFAULTS, [_add(BASE, DEFAULTS)], id="no-resources-key-one-add"
        ),
        pytest.param(
            _web(None), {}, ALL_DEFAULTS, [_add(BASE, DEFAULTS)], id="null-resources-replaced"
        ),
        pytest.param(
            _web({}),
            {},
            ALL_DEFAULTS,
            [
                _add(f"{BASE}/requests", DEFAULTS["requests"]),
                _add(f"{BASE}/limits", DEFAULTS["limits"]),
            ],
            id="empty-resources-two-maps",
        ),
        pytest.param(
            _web({"requests": {"cpu": "250m"}}),
            {},
            "set requests memory=128Mi, limits memory=256Mi",
            [_add(f"{BASE}/requests/memory", "128Mi"), _add(f"{BASE}/limits", {"memory": "256Mi"})],
            id="existing-request-kept-others-added",
        ),
        pytest.param(
            _web({"requests": {"cpu": None}, "limits": {}}),
            {},
            ALL_DEFAULTS,
            [
                _add(f"{BASE}/requests/cpu", "100m"),
                _add(f"{BASE}/requests/memory", "128Mi"),
                _add(f"{BASE}/limits/memory", "256Mi"),
            ],
            id="null-values-count-as-missing",
        ),
        pytest.param(
            _web({"limits": {"memory": "64Mi"}}),
            {},
            "set requests cpu=100m memory=64Mi",
            [_add(f"{BASE}/requests", {"cpu": "100m", "memory": "64Mi"})],
            id="only-a-limit-caps-the-default-request",
        ),
        pytest.param(
            _web({"limits": {"cpu": "50m", "memory": "1Gi"}, "requests": {"cpu": "50m"}}),
            {},
            "set requests memory=128Mi",
            [_add(f"{BASE}/requests/memory", "128Mi")],
            id="limit-above-default-request-untouched",
        ),
        pytest.param(
            _web({"limits": {"cpu": "50m"}}),
            {},
            "set requests cpu=50m memory=128Mi, limits memory=256Mi",
            [
                _add(f"{BASE}/requests", {"cpu": "50m", "memory": "128Mi"}),
                _add(f"{BASE}/limits/memory", "256Mi"),
            ],
            id="cpu-limit-caps-cpu-request",
        ),
        pytest.param(
            _web({"requests": {"cpu": "100m", "memory": "1Gi"}}),
            {},
            "set limits memory=1Gi",
            [_add(f"{BASE}/limits", {"memory": "1Gi"})],
            id="request-above-default-limit-raises-it",
        ),
        pytest.param(
            _web({"requests": {"cpu": "100m", "memory": "200Mi"}}),
            {},
            "set limits memory=256Mi",
            [_add(f"{BASE}/limits", {"memory": "256Mi"})],
            id="request-below-default-limit",
        ),
        pytest.param(
            _web({"requests": {"cpu": "2", "memory": "128Mi"}, "limits": {"memory": "1Gi"}}),
            {"limits": {"cpu": "1", "memory": "256Mi"}},
            "set limits cpu=2",
            [_add(f"{BASE}/limits/cpu", "2")],
            id="configured-cpu-limit-raised-to-request",
        ),
        pytest.param(
            _web({"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}),
            {"requests": {"example.com/dev~0": "1"}, "limits": {"example.com/dev~0": "1"}},
            "set requests example.com/dev~0=1, limits example.com/dev~0=1",
            [
                _add(f"{BASE}/requests/example.com~1dev~00", "1"),
                _add(f"{BASE}/limits/example.com~1dev~00", "1"),
            ],
            id="resource-names-escaped",
        ),
        pytest.param(
            _web({}, pod_resources={"limits": {"cpu": "1", "memory": "1Gi"}}),
            {},
            None,
            [],
            id="pod-level-resources-left-alone",
        ),
        pytest.param(
            _web({}),
            # Maps merge with the defaults: an empty one changes nothing, null removes an entry.
            {"requests": {"cpu": None, "memory": None}, "limits": {"memory": None}},
            None,
            [],
            id="no-defaults-configured",
        ),
    ],
)
def test_patches(
    obj: dict[str, Any], settings: dict[str, Any], message: str | None, patch: list[dict[str, Any]]
) -> None:
    findings = evaluate(POLICY, obj, **settings)
    assert rows(findings) == ([('app "web"', "resources", message)] if message else [])
    assert patch_of(findings) == patch
    if "resources" in obj["spec"]:
        return  # pod-level resources: a 1.32+ field the 1.30 schema does not know
    patched = apply_findings(obj, findings)
    assert evaluate(POLICY, patched, **settings) == []


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            pods.log_sidecar(),
            [
                _add("/spec/containers/0/resources/requests", DEFAULTS["requests"]),
                _add("/spec/containers/0/resources/limits", DEFAULTS["limits"]),
            ],
            id="log-sidecar-has-its-own",
        ),
        pytest.param(
            pods.metrics_sidecar(),
            [
                _add("/spec/initContainers/0/resources", DEFAULTS),
                _add("/spec/containers/0/resources/requests", DEFAULTS["requests"]),
                _add("/spec/containers/0/resources/limits", DEFAULTS["limits"]),
            ],
            id="metrics-sidecar-without-resources",
        ),
        pytest.param(
            pods.prometheus(),
            [
                _add("/spec/containers/0/resources/requests/cpu", "100m"),
                _add("/spec/containers/0/resources/limits", {"memory": "400Mi"}),
            ],
            id="prometheus-request-above-default-limit",
        ),
        pytest.param(pods.istio(), [], id="istio-all-declared"),
        pytest.param(
            pods.linkerd(),
            [
                _add("/spec/containers/0/resources/requests", DEFAULTS["requests"]),
                _add("/spec/containers/0/resources/limits", DEFAULTS["limits"]),
            ],
            id="linkerd-proxy-empty-resources",
        ),
    ],
)
def test_realistic(obj: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    findings = evaluate(POLICY, obj)
    assert patch_of(findings) == expected
    assert evaluate(POLICY, apply_findings(obj, findings)) == []


@pytest.mark.parametrize(
    ("roles", "patched"),
    [
        pytest.param(None, ['sidecar "logs"', 'app "web"'], id="default-app-and-sidecar"),
        pytest.param(["init"], ['init "setup"'], id="init-when-configured"),
        pytest.param(["app"], ['app "web"'], id="app-only"),
        pytest.param(
            ["init", "sidecar", "app"],
            ['init "setup"', 'sidecar "logs"', 'app "web"'],
            id="all-but-ephemeral",
        ),
    ],
)
def test_roles(roles: list[str] | None, patched: list[str]) -> None:
    settings = {} if roles is None else {"roles": roles}
    findings = evaluate(POLICY, pods.every_role(resources={}), **settings)
    assert [location for location, _, _ in rows(findings)] == patched
    assert (
        evaluate(POLICY, apply_findings(pods.every_role(resources={}), findings), **settings) == []
    )


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        pytest.param({"roles": ["ephemeral"]}, "not supported here", id="ephemeral-role"),
        pytest.param(
            {"requests": {"memory": "1Gi"}, "limits": {"memory": "512Mi"}},
            "is above limits.memory",
            id="request-above-limit",
        ),
        pytest.param({"requests": {"cpu": "-1"}}, "not a negative one", id="negative"),
        pytest.param(
            {"limits": {"memory": "lots"}}, "expected a quantity such as 512Mi", id="garbage"
        ),
    ],
)
def test_settings_refused(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        DefaultResourcesSettings.model_validate(settings)


@pytest.mark.parametrize(
    ("config", "who", "patched"),
    [
        pytest.param(None, {}, True, id="default"),
        pytest.param(
            policy_config(ID, exemptions={"images": [{"image": "nginx:*"}]}), {}, False, id="image"
        ),
        pytest.param(
            policy_config(
                ID, exemptions={"images": [{"image": "nginx:*", "allow": ["resources"]}]}
            ),
            {},
            False,
            id="image-scoped-to-key",
        ),
        pytest.param(
            policy_config(ID, exemptions={"namespaces": ["demo"]}), {}, False, id="namespace"
        ),
        pytest.param(policy_config(ID, exemptions={"users": ["alice"]}), {}, False, id="user"),
        pytest.param(
            policy_config(ID, exemptions={"groups": ["system:authenticated"]}),
            {},
            False,
            id="group",
        ),
        pytest.param(
            {"exemptions": {"namespaces": ["team-*"]}}, {"namespace": "team-a"}, False, id="global"
        ),
    ],
)
def test_exemptions_through_the_engine(
    config: dict[str, Any] | None, who: dict[str, Any], patched: bool
) -> None:
    decision = run(_web({}), webhook="mutate", config=config, **who)
    assert bool(found(decision, ID)) is patched
    assert bool(decision.patch) is patched


def test_warn_mode_would_patch_and_says_so_in_one_line() -> None:
    decision = run(_web({}), webhook="mutate", config=policy_config(ID, mode="warn"))
    assert (decision.patch, decision.outcome) == ([], "allowed")
    assert decision.would_patch == [
        _add(f"{BASE}/requests", DEFAULTS["requests"]),
        _add(f"{BASE}/limits", DEFAULTS["limits"]),
    ]
    assert decision.warnings == [f'initgate default-resources: app "web": would {ALL_DEFAULTS}']


def test_templates_are_never_patched() -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {"selector": {}, "template": {"spec": _web({})["spec"]}},
    }
    decision = run(deployment, webhook="mutate")
    assert (decision.outcome, decision.reason, decision.patch) == ("skipped", "not-mutated", [])


def test_settles_in_one_round() -> None:
    patched = settle(_web({"limits": {"memory": "64Mi"}}))
    assert patched["spec"]["containers"][0]["resources"] == {
        "limits": {"memory": "64Mi"},
        "requests": {"cpu": "100m", "memory": "64Mi"},
    }


def test_a_warning_with_every_default_keeps_every_value() -> None:
    obj = pod(app=[{"name": "payment-gateway-api", "image": "example.com/pay:2.0"}])
    (line,) = run(obj, webhook="mutate", config=policy_config(ID, mode="warn")).warnings
    assert line == (
        'initgate default-resources: app "payment-gateway-api": '
        "would set requests cpu=100m memory=128Mi, limits memory=256Mi"
    )
    assert len(line) <= 120
