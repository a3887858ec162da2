"""What the tests of init-privileged as a generated ValidatingAdmissionPolicy share: the
webhook's and the generated policy's verdicts side by side under every namespace cap, and both
sides' messages as `<location> (<field>): <message>` lines."""

from __future__ import annotations

import functools
from typing import Any

from policies.base import Mode
from tests.policies.pod_security import Level
from tests.support import admission_policies
from tests.support.admission_policies import request_for
from tests.support.verdicts import generated, native, webhook
from webhook.core.config import Config
from webhook.core.engine import decide
from webhook.core.objects import Request
from webhook.core.plan import Plan, compile_plan
from webhook.native.export import Options

ID = "init-privileged"
CAPS = (Mode.ENFORCE, Mode.WARN, Mode.AUDIT)
ENFORCED = {"kubernetes.io/metadata.name": "demo", "initgate.io/mode": "enforce"}
"""The labels of a namespace where the policy enforces."""


def only(actions: dict[str, dict[str, frozenset[str]]]) -> dict[str, dict[str, frozenset[str]]]:
    """The actions of init-privileged alone."""
    return {a: {p: c for p, c in v.items() if p == ID} for a, v in actions.items()}


def same(config: Config, review: dict[str, Any], options: Options | None = None) -> None:
    """The webhook's and the generated policy's verdicts on `review` under every cap."""
    for cap in CAPS:
        expected = only(webhook(config, review, cap).actions)
        got = only(native(config, review, cap, options).actions)
        assert got == expected, cap


def level_config(level: Level, **settings: Any) -> Config:
    """The default configuration, with init-privileged at `level` and `settings`."""
    return Config.model_validate({"policies": {ID: {"level": level, **settings}}})


@functools.lru_cache(maxsize=64)
def _plan(config: str) -> Plan:
    return compile_plan(Config.model_validate_json(config))


def texts(config: Config, obj: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The webhook's denial lines of this policy and the generated messages' findings about a
    Pod, each as `<location> (<field>): <message>`."""
    plan = _plan(config.model_dump_json(by_alias=True))
    decision = decide(Request(obj, namespace="demo", username="alice"), plan, webhook="validate")
    prefix = f"- {ID}: "
    lines = [
        line[len(prefix) :] for line in decision.message.splitlines() if line.startswith(prefix)
    ]
    outcome = admission_policies.validate(generated(config), request_for(obj), ENFORCED)
    found = [
        text
        for message in outcome.denied
        if message.startswith(f"{ID}: ")
        for text in message[len(ID) + 2 :].split(" | ")
    ]
    return sorted(lines), sorted(found)
