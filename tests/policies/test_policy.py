"""What every policy's settings share: map settings merge with their defaults key by key (a file
only needs what differs), and null removes a default's entry; one rule for every map of every
policy (issue 22: `limits: {cpu: "1"}` used to drop the default memory limit without a word)."""

from __future__ import annotations

from typing import Any

import pytest

from policies import REGISTRY, default_resources, init_unbounded
from tests.policies import pods
from tests.policies.harness import evaluate, patch_of, policy_config, run
from tests.support.reviews import pod
from webhook.core.config import Config, parse_config

# Each map setting: an entry to add (or change), and an entry of its default to remove with null.
MAPS: dict[tuple[str, str], tuple[dict[str, Any], str | None]] = {
    ("default-resources", "requests"): ({"example.com/gpu": "1"}, "cpu"),
    ("default-resources", "limits"): ({"cpu": "1"}, "memory"),
    ("init-unbounded", "maximum"): ({"memory": "4Gi"}, None),
    ("init-unbounded", "suggested"): ({"cpu": "1"}, "memory"),
    ("init-privileged", "presets"): ({"istio": False}, "linkerd"),
}


def _map_settings() -> list[tuple[str, str]]:
    return [
        (policy.id, policy.settings.model_fields[name].alias or name)
        for policy in REGISTRY
        for name in policy.settings.map_settings()
    ]


def test_every_map_setting_is_tested_here() -> None:
    """A new map setting gets the same rule, and a row above."""
    assert sorted(_map_settings()) == sorted(MAPS)


def _settings(policy_id: str, key: str, value: Any) -> Any:
    text = f"policies:\n  {policy_id}:\n    {key}: {value}\n"
    settings = parse_config(text, source="config.yaml").policy(policy_id)
    return getattr(settings, key)  # each map setting is one word: its name is its key


def _default(policy_id: str, key: str) -> dict[str, Any]:
    """The setting in the built-in default, without any file."""
    return dict(getattr(Config().policy(policy_id), key))


@pytest.mark.parametrize(("policy_id", "key"), sorted(MAPS))
def test_a_partial_map_keeps_the_default_entries(policy_id: str, key: str) -> None:
    given, _ = MAPS[policy_id, key]
    flow = "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in given.items()) + "}"
    assert _settings(policy_id, key, flow) == {**_default(policy_id, key), **given}


@pytest.mark.parametrize(("policy_id", "key"), sorted(k for k, v in MAPS.items() if v[1]))
def test_null_removes_an_entry_of_the_default(policy_id: str, key: str) -> None:
    _, removed = MAPS[policy_id, key]
    assert removed in _default(policy_id, key)
    expected = {k: v for k, v in _default(policy_id, key).items() if k != removed}
    assert _settings(policy_id, key, f"{{{removed}: null}}") == expected


APP = {"name": "app", "image": "nginx:1.27"}  # no resources at all: one `add` of the whole map


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else f'"{value}"'


def test_a_cpu_limit_keeps_the_default_memory_limit() -> None:
    """What the `# add cpu: "1"` comment of docs/policies.md invites."""
    config = policy_config("default-resources", limits={"cpu": "1"})
    decision = run(pod(app=[dict(APP)]), webhook="mutate", config=config)
    added = {op["path"]: op["value"] for op in decision.patch}
    assert added["/spec/containers/0/resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "256Mi", "cpu": "1"},
    }


def test_an_extended_resource_request_keeps_cpu_and_memory() -> None:
    findings = evaluate(
        default_resources.POLICY, pod(app=[dict(APP)]), requests={"example.com/gpu": "1"}
    )
    [op] = patch_of(findings)
    assert op["value"]["requests"] == {"cpu": "100m", "memory": "128Mi", "example.com/gpu": "1"}


def test_a_removed_default_request_is_not_added() -> None:
    findings = evaluate(default_resources.POLICY, pod(app=[dict(APP)]), requests={"cpu": None})
    [op] = patch_of(findings)
    assert op["value"]["requests"] == {"memory": "128Mi"}


def test_a_cpu_suggestion_keeps_the_memory_example() -> None:
    unbounded = pod(init=[pods.shell("setup", "true", resources={})])
    findings = evaluate(init_unbounded.POLICY, unbounded, suggested={"cpu": "1"})
    assert [f.message for f in findings] == [
        "resources.limits.cpu is missing; set one, e.g. cpu: 1",
        "resources.limits.memory is missing; set one, e.g. memory: 256Mi",
    ]
