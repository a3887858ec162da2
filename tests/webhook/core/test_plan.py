"""The plan's catalogue of exemptions: every label a decision reports names one configured
exemption, with its reason and its end (what the decision line and the expiry gauge show)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import reviews
from webhook.core.config import Config
from webhook.core.engine import decide
from webhook.core.exemptions import Listed
from webhook.core.objects import Request
from webhook.core.plan import compile_plan

PRIVILEGED = reviews.container(
    "setup", securityContext={"privileged": True}, resources=reviews.LIMITED
)
ISTIO = reviews.container(
    "istio-init",
    "docker.io/istio/proxyv2:1.24.0",
    resources=reviews.LIMITED,
    securityContext={"capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}},
)
END = "2999-01-01T00:00:00Z"
END_TIME = datetime(2999, 1, 1, tzinfo=UTC).timestamp()
FAILING_RULE = {"id": "never", "description": "Never.", "expression": "false", "roles": ["init"]}


def ending(key: str, glob: str, reason: str) -> dict[str, str]:
    return {key: glob, "reason": reason, "expires": END}


CASES: list[Any] = [
    pytest.param(
        {"exemptions": {"namespaces": ["kube-system", ending("namespace", "legacy-*", "r1")]}},
        {"namespace": "legacy-a"},
        "exemptions.namespaces[1]",
        id="namespace",
    ),
    pytest.param(
        {"exemptions": {"users": [ending("user", "ci", "r2")]}},
        {"username": "ci"},
        "exemptions.users[0]",
        id="user",
    ),
    pytest.param(
        {"exemptions": {"groups": ["ops", ending("group", "admins", "r3")]}},
        {"groups": ("admins",)},
        "exemptions.groups[1]",
        id="group",
    ),
    pytest.param(
        {"exemptions": {"images": [ending("image", "busybox:*", "r4")]}},
        {},
        "exemptions.images[0]",
        id="image",
    ),
    pytest.param(
        {
            "policies": {
                "init-privileged": {"exemptions": {"users": [ending("user", "alice", "r5")]}}
            }
        },
        {},
        "policies.init-privileged.exemptions.users[0]",
        id="policy-user",
    ),
    pytest.param(
        {
            "policies": {
                "init-privileged": {"exemptions": {"images": [ending("image", "busy*", "r6")]}}
            }
        },
        {},
        "policies.init-privileged.exemptions.images[0]",
        id="policy-image",
    ),
    pytest.param(
        {"rules": [{**FAILING_RULE, "exemptions": {"groups": [ending("group", "ops", "r7")]}}]},
        {"groups": ("ops",)},
        "rules[0].exemptions.groups[0]",
        id="rule-group",
    ),
    pytest.param(
        {
            "rules": [
                {**FAILING_RULE, "exemptions": {"images": [ending("image", "busybox:*", "r8")]}}
            ]
        },
        {},
        "rules[0].exemptions.images[0]",
        id="rule-image",
    ),
]


@pytest.mark.parametrize(("config", "request_fields", "label"), CASES)
def test_each_reported_exemption_is_in_the_catalogue_with_its_reason_and_end(
    config: dict[str, Any], request_fields: dict[str, Any], label: str
) -> None:
    """Each case's exemption has the reason `r<n>`, n its place in CASES (counted from 1)."""
    plan = compile_plan(Config.model_validate(config))
    fields: dict[str, Any] = {"namespace": "demo", "username": "alice", **request_fields}
    request = Request(reviews.pod(init=[PRIVILEGED]), **fields)
    decision = decide(request, plan, webhook="validate")
    assert label in decision.exemptions
    assert all(reported in plan.exemptions for reported in decision.exemptions)
    listed = plan.exemptions[label]
    number = next(n for n, case in enumerate(CASES, 1) if case.values[2] == label)
    assert (listed.expires, listed.reason) == (END_TIME, f"r{number}")


def test_the_presets_and_plain_globs_are_listed_without_end_or_reason() -> None:
    plan = compile_plan(Config())
    decision = decide(
        Request(reviews.pod(init=[ISTIO]), namespace="demo"), plan, webhook="validate"
    )
    assert decision.allowed
    assert decision.exemptions == ["policies.init-privileged.presets"]
    label = "policies.init-privileged.presets"
    assert plan.exemptions[label] == Listed(label, None, "")
    assert plan.exemptions["exemptions.namespaces[0]"] == Listed(
        "exemptions.namespaces[0]", None, ""
    )


def test_a_date_alone_ends_at_the_start_of_its_day_in_utc() -> None:
    config = {"exemptions": {"images": [{"image": "a", "expires": "2027-03-31"}]}}
    listed = compile_plan(Config.model_validate(config)).exemptions["exemptions.images[0]"]
    assert listed.expires == datetime(2027, 3, 31, tzinfo=UTC).timestamp()
