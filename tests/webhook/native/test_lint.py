"""init-lint as a generated ValidatingAdmissionPolicy warns where the webhook warns, in the
webhook's words, on init-lint's own test cases and the realistic pods; it never denies; and the
one case its approximation of the shell lexer reads otherwise is tested as such."""

from __future__ import annotations

from typing import Any

import pytest

from policies.base import Mode
from tests.policies import pods as realistic
from tests.policies import test_init_lint
from tests.support import reviews
from tests.support.admission_policies import request_for
from tests.support.verdicts import findings, native, native_findings, webhook
from webhook.core.config import Config
from webhook.native.export import Options, generate

ID = "init-lint"
ONLY_LINT = {"init-unbounded": {"mode": "off"}}


def parameters(test: Any) -> list[Any]:
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    return list(mark.args[1])


def objects() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for p in parameters(test_init_lint.test_scripts):
        found[f"script-{p.id}"] = reviews.pod(init=[realistic.shell("setup", p.values[0])])
    for p in parameters(test_init_lint.test_unused_volumes):
        found[f"unused-{p.id}"] = p.values[0]
    for p in parameters(test_init_lint.test_image_tags):
        found[f"tag-{p.id}"] = reviews.pod(init=[reviews.container("pull", p.values[0])])
    found.update({f"realistic-{k}": make() for k, make in realistic.REALISTIC.items()})
    found["deadline"] = reviews.pod(
        init=[realistic.shell("wait", "until nc -z db 5432; do sleep 2; done")],
        activeDeadlineSeconds=600,
    )
    found["deployment"] = reviews.workload("Deployment", realistic.docs_wait_for_services()["spec"])
    return found


KNOWN = {
    "script-loop-in-a-heredoc": "a here-document's body is read as code: CEL cannot tell where "
    "it ends, and the `while true` inside warns",
}
OBJECTS = objects()
CONFIGS = {
    "default": {"policies": ONLY_LINT},
    "checks": {"policies": {**ONLY_LINT, ID: {"checks": ["image-tag", "unused-volume"]}}},
    "exemptions": {
        "policies": ONLY_LINT,
        "exemptions": {
            "images": [
                {"image": "busybox:*", "allow": ["never-ends", "unused-volume:*"]},
                {"image": "registry.example.com:5000/*"},
            ]
        },
    },
}


def _lint(verdict: dict[str, dict[str, frozenset[str]]]) -> dict[str, Any]:
    return {a: {p: c for p, c in v.items() if p == ID} for a, v in verdict.items()}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("name", [n for n in OBJECTS if n not in KNOWN])
def test_the_same_warnings(config: dict[str, Any], name: str) -> None:
    parsed = Config.model_validate(config)
    request_ = request_for(OBJECTS[name])
    expected = _lint(webhook(parsed, request_, Mode.WARN).actions)
    assert _lint(native(parsed, request_, Mode.WARN).actions) == expected


@pytest.mark.parametrize(
    "name",
    [
        "script-tail-f",
        "script-until-nc",
        "unused-nobody-reads",
        "unused-only-an-earlier-init-mounts-it",
        "tag-latest",
    ],
)
def test_in_the_webhook_s_words(name: str) -> None:
    parsed = Config.model_validate(CONFIGS["default"])
    request_ = request_for(OBJECTS[name])
    expected = {f for f in findings(parsed, request_) if f[0] == ID}
    assert expected
    assert native_findings(parsed, request_) == expected


@pytest.mark.parametrize("name", KNOWN)
def test_where_the_approximation_differs(name: str) -> None:
    parsed = Config.model_validate(CONFIGS["default"])
    request_ = request_for(OBJECTS[name])
    assert _lint(webhook(parsed, request_, Mode.WARN).actions)["warn"] == {}, KNOWN[name]
    assert _lint(native(parsed, request_, Mode.WARN).actions)["warn"] == {
        ID: frozenset({'init "setup"'})
    }, KNOWN[name]


def test_enforce_is_generated_as_warn_and_the_export_says_so() -> None:
    """Its heuristics are approximated in CEL: the generated policy warns, in an enforced
    namespace too, where the webhook (init-lint in enforce mode) denies."""
    enforced = Config.model_validate({"policies": {**ONLY_LINT, ID: {"mode": "enforce"}}})
    request_ = request_for(OBJECTS["script-tail-f"])
    assert _lint(webhook(enforced, request_, Mode.ENFORCE).actions)["deny"] == {
        ID: frozenset({'init "setup"'})
    }
    got = _lint(native(enforced, request_, Mode.ENFORCE).actions)
    assert got == {"deny": {}, "warn": {ID: frozenset({'init "setup"'})}, "audit": {}}
    notes = generate(enforced, Options(now=1.0)).notes
    assert f"{ID}: mode enforce is generated as warn: its CEL approximates" in " ".join(notes)
