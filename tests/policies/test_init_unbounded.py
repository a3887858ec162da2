"""init-unbounded: init containers declare limits for the required resources, within maxima; the
message suggests a value the API server would accept."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from policies import init_unbounded
from policies.init_unbounded import InitUnboundedSettings
from tests.policies import pods
from tests.policies.harness import Row, evaluate, found, patch_of, policy_config, rows, run
from tests.support.reviews import pod

POLICY = init_unbounded.POLICY
ID = POLICY.id
SETUP = 'init "setup"'
NO_CPU = (SETUP, "limit:cpu", "resources.limits.cpu is missing; set one, e.g. cpu: 500m")
NO_MEMORY = (
    SETUP,
    "limit:memory",
    "resources.limits.memory is missing; set one, e.g. memory: 256Mi",
)


NO_LIMIT = ", which the kubelet reads as no limit; set one, e.g. memory"
ZERO_CPU = (
    SETUP,
    "limit:cpu",
    "resources.limits.cpu is 0, which the kubelet reads as no limit; set one, e.g. cpu: 500m",
)
ZERO_MEMORY = (SETUP, "limit:memory", f"resources.limits.memory is 0{NO_LIMIT}: 256Mi")


def _pod(resources: Any, *, pod_resources: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = pod(init=[pods.shell("setup", "echo ok", resources=resources)])
    if resources is None:
        del obj["spec"]["initContainers"][0]["resources"]
    if pod_resources is not None:
        obj["spec"]["resources"] = pod_resources
    return obj


@pytest.mark.parametrize(
    ("obj", "settings", "expected"),
    [
        pytest.param(_pod(pods.limited()), {}, [], id="allow-limits"),
        pytest.param(
            _pod({"limits": {"cpu": "1", "memory": "1Gi"}}),
            {},
            [],
            id="allow-limits-without-requests",
        ),
        pytest.param(
            _pod({}, pod_resources={"limits": {"cpu": "2", "memory": "2Gi"}}),
            {},
            [],
            id="allow-pod-level-limits",
        ),
        pytest.param(_pod({}), {}, [NO_CPU, NO_MEMORY], id="empty-resources"),
        pytest.param(_pod(None), {}, [NO_CPU, NO_MEMORY], id="no-resources-key"),
        pytest.param(
            _pod({"limits": {"memory": "64Mi"}, "requests": {"cpu": "10m"}}),
            {},
            [NO_CPU],
            id="cpu-missing",
        ),
        pytest.param(
            _pod({"limits": {"cpu": None, "memory": "64Mi"}}),
            {},
            [NO_CPU],
            id="null-limit-is-missing",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "0", "memory": "0"}}),
            {},
            [ZERO_CPU, ZERO_MEMORY],
            id="zero-limits-are-none",
        ),
        *(
            pytest.param(
                _pod({"limits": {"cpu": "1", "memory": zero}}),
                {},
                [(SETUP, "limit:memory", f"resources.limits.memory is {zero}{NO_LIMIT}: 256Mi")],
                id=f"zero-limit-{zero}",
            )
            for zero in ("0Mi", "0m", "0.0", "+0", "0e3", 0)
        ),
        pytest.param(
            _pod({"limits": {"cpu": "0.001", "memory": "1Ki"}}), {}, [], id="allow-tiny-limits"
        ),
        pytest.param(
            _pod({}, pod_resources={"limits": {"cpu": "0", "memory": "2Gi"}}),
            {},
            [NO_CPU],
            id="zero-pod-level-limit-is-none",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "0", "memory": "1Gi"}}, pod_resources={"limits": {"cpu": "2"}}),
            {},
            [],
            id="allow-zero-container-limit-under-a-pod-limit",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "1"}, "requests": {"memory": "1Gi"}}),
            {},
            [
                (
                    SETUP,
                    "limit:memory",
                    "resources.limits.memory is missing; set one, e.g. memory: 1Gi",
                )
            ],
            id="suggestion-raised-to-own-request",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "1"}, "requests": {"memory": "100Mi"}}),
            {},
            [NO_MEMORY],
            id="suggestion-above-small-request",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "1", "memory": "1Gi"}}),
            {"required": ["memory", "ephemeral-storage"]},
            [
                (
                    SETUP,
                    "limit:ephemeral-storage",
                    "resources.limits.ephemeral-storage is missing; set one",
                )
            ],
            id="required-resource-without-suggestion",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "1", "memory": "8Gi"}}),
            {"maximum": {"memory": "4Gi", "cpu": "2"}},
            [
                (
                    SETUP,
                    "max:memory",
                    "resources.limits.memory is 8Gi, above the maximum 4Gi; lower it",
                )
            ],
            id="above-maximum",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "2", "memory": "4096Mi"}}),
            {"maximum": {"memory": "4Gi", "cpu": "2000m"}},
            [],
            id="maximum-is-inclusive-across-units",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "1", "memory": "lots"}}),
            {"maximum": {"memory": "4Gi"}},
            [
                (
                    SETUP,
                    "max:memory",
                    "resources.limits.memory is 'lots', not a quantity; use e.g. 4Gi",
                )
            ],
            id="unreadable-limit-fails-closed-under-a-maximum",
        ),
        pytest.param(
            _pod({"limits": {"cpu": "1"}}),
            {"maximum": {"memory": "4Gi"}},
            [NO_MEMORY],
            id="maximum-does-not-repeat-a-missing-limit",
        ),
        pytest.param(
            pods.docs_wait_for_services(),
            {},
            [
                (
                    f'init "init-{svc}"',
                    f"limit:{r}",
                    f"resources.limits.{r} is missing; set one, e.g. {r}: {v}",
                )
                for svc in ("myservice", "mydb")
                for r, v in (("cpu", "500m"), ("memory", "256Mi"))
            ],
            id="realistic-docs-example",
        ),
        pytest.param(pods.migration(), {}, [], id="realistic-migration"),
        pytest.param(pods.istio(), {}, [], id="realistic-istio-init"),
        pytest.param(pods.linkerd(), {}, [], id="realistic-linkerd-init"),
        pytest.param(pods.metrics_sidecar(), {}, [], id="realistic-sidecar-not-judged-by-default"),
    ],
)
def test_findings(obj: dict[str, Any], settings: dict[str, Any], expected: list[Row]) -> None:
    findings = evaluate(POLICY, obj, **settings)
    assert rows(findings) == expected
    assert patch_of(findings) == []


@pytest.mark.parametrize(
    ("roles", "flagged"),
    [
        pytest.param(None, ['init "setup"'], id="default-init"),
        pytest.param(["sidecar"], ['sidecar "logs"'], id="sidecar-when-configured"),
        pytest.param(["init", "sidecar"], ['init "setup"', 'sidecar "logs"'], id="both"),
    ],
)
def test_roles(roles: list[str] | None, flagged: list[str]) -> None:
    settings = {} if roles is None else {"roles": roles, "required": ["memory"]}
    locations = [
        location
        for location, _, _ in rows(evaluate(POLICY, pods.every_role(resources={}), **settings))
    ]
    assert list(dict.fromkeys(locations)) == flagged


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        pytest.param({"roles": ["app"]}, "not supported here", id="app-role"),
        pytest.param({"maximum": {"memory": "4 gigs"}}, "expected a quantity", id="bad-maximum"),
        pytest.param({"suggested": {"cpu": "-1"}}, "not a negative one", id="negative-suggestion"),
    ],
)
def test_settings_refused(settings: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        InitUnboundedSettings.model_validate(settings)


@pytest.mark.parametrize(
    ("config", "who", "expected"),
    [
        pytest.param(None, {}, [NO_CPU, NO_MEMORY], id="default-denies"),
        pytest.param(
            policy_config(
                ID, exemptions={"images": [{"image": "busybox:*", "allow": ["limit:cpu"]}]}
            ),
            {},
            [NO_MEMORY],
            id="image-exemption-scoped-to-cpu",
        ),
        pytest.param(
            {"exemptions": {"images": [{"image": "docker.io/library/busybox:1.36"}]}},
            {},
            [],
            id="global-image-exemption",
        ),
        pytest.param(
            policy_config(ID, exemptions={"namespaces": ["batch-*"]}),
            {"namespace": "batch-nightly"},
            [],
            id="per-policy-namespace",
        ),
        pytest.param(
            policy_config(ID, exemptions={"users": ["system:serviceaccount:ci:*"]}),
            {"username": "system:serviceaccount:ci:runner"},
            [],
            id="per-policy-user",
        ),
        pytest.param(
            policy_config(ID, exemptions={"groups": ["load-testers"]}),
            {"groups": ("system:authenticated", "load-testers")},
            [],
            id="per-policy-group",
        ),
        pytest.param(policy_config(ID, mode="off"), {}, [], id="mode-off"),
    ],
)
def test_exemptions_through_the_engine(
    config: dict[str, Any] | None, who: dict[str, Any], expected: list[Row]
) -> None:
    decision = run(_pod({}), webhook="validate", config=config, **who)
    assert found(decision, ID) == expected
    assert decision.allowed is (not expected)
