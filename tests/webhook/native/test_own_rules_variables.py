"""What a rule sees in its generated policy: every variable as the webhook gives it, bound around
the rule's own text (the same text around every rule), and the differences that cannot be
avoided, tested as such."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies.base import Mode
from tests.support import admission_policies, reviews
from tests.support.admission_policies import request_for
from tests.support.verdicts import Finding, findings, native, native_findings, webhook
from tests.webhook.core.test_rules import POD, rule
from webhook.core.config import Config
from webhook.native import own_rules
from webhook.native.export import Options, generate

ENFORCED = {"kubernetes.io/metadata.name": "demo", "initgate.io/mode": "enforce"}
EVERY_ROLE = ["init", "sidecar", "app", "ephemeral"]
ONLY_RULES = {"init-unbounded": {"mode": "off"}, "init-lint": {"mode": "off"}}


def config(*rules: dict[str, Any], **extra: Any) -> Config:
    return Config.model_validate({"rules": list(rules), "policies": ONLY_RULES, **extra})


def shown(text: str, request_: dict[str, Any], **fields: Any) -> dict[str, set[Finding]]:
    """What the webhook and the generated policy make of the string expression `text`, read as
    the message of a rule that always fails: by container label, each side."""
    parsed = config(rule("show", "false", messageExpression=text, roles=EVERY_ROLE, **fields))
    return {"native": native_findings(parsed, request_), "webhook": findings(parsed, request_)}


DEPLOYMENT = reviews.workload("Deployment", copy.deepcopy(POD["spec"]))
VARIABLES = [
    "role + ' ' + path",
    "'[' + fills.join(',') + '][' + readsFrom.join(',') + ']'",
    "container.name + ' ' + string(container.?volumeMounts.orValue([]).size())",
    "object.apiVersion + ' ' + object.kind + ' ' + object.metadata.namespace",
    "string(size(object.spec.initContainers)) + ' ' + string(has(object.status))",
    "request.operation + ' ' + request.namespace + ' ' + string(request.dryRun)",
    "request.userInfo.username + ' ' + request.userInfo.groups.join(',')",
    "request.kind.group + '/' + request.kind.kind",
]
"""Each messageExpression short: wrapped in its variables, a long one nests deeper than
initgate's runtime parses (test_a_rule_nested_too_deep_for_initgate_is_generated_unchecked)."""


@pytest.mark.parametrize("text", VARIABLES)
@pytest.mark.parametrize("obj", [POD, DEPLOYMENT], ids=["pod", "deployment"])
def test_every_variable_as_the_webhook_gives_it(text: str, obj: dict[str, Any]) -> None:
    found = shown(text, request_for(obj, groups=("dev", "qa")))
    assert found["native"] == found["webhook"]


def test_the_same_text_around_every_rule() -> None:
    """The chart wraps a rule's text alike: what comes before and after it is the same for every
    rule of a scope, and the rule's own text is inside, as it is written."""
    first, second = "container.name == 'a' // a comment ends the line", "has(container.image)"
    made = generate(
        config(rule("first", first), rule("second", second, message="m")), Options(now=1.0)
    ).objects
    failing = {
        o["metadata"]["labels"]["initgate.io/policy"]: v["expression"]
        for o in made
        if o["kind"] == "ValidatingAdmissionPolicy"
        for v in o["spec"]["variables"]
        if v["name"] == "failing"
    }
    before, _, after = failing["first"].partition(first)
    assert failing["second"] == before + second + after
    assert before.startswith("variables.entries.filter(e, [e.c].all(container, [e.role]")
    assert after.startswith("\n))")  # the comment ends before the rule's closing parenthesis
    listed = own_rules.bindings("container", indexed=True)
    assert [name for name, _ in listed] == [
        "container",
        "role",
        "path",
        "object",
        "volumes",
        "fills",
        "readsFrom",
        "request",
    ]
    commented = config(rule("first", first))
    verdict = native(commented, request_for(POD), Mode.ENFORCE).actions
    assert verdict == webhook(commented, request_for(POD), Mode.ENFORCE).actions
    assert verdict["deny"]["first"] == {'init "fill"', 'init "prepare"', 'sidecar "proxy"'}


def test_a_rule_reading_volumes_needs_kubernetes_1_33_and_a_runtime_initgate_lacks() -> None:
    """`volumes` is a map CEL builds with transformMapEntry: from Kubernetes 1.33 on. initgate's
    own CEL runtime cannot evaluate it (cel.@mapInsert), so the policy's verdict on it is not
    proven here; before 1.33 the rule is not generated, and the export says so."""
    reading = config(rule("emptydir-only", "volumes.all(n, has(volumes[n].emptyDir))"))
    old = generate(reading, Options(kubernetes=(1, 32), now=1.0))
    assert [o for o in old.objects if o["metadata"]["name"] == "initgate-emptydir-only"] == []
    assert any(n.startswith("rules: emptydir-only: not generated") for n in old.notes)
    new = generate(reading, Options(now=1.0))
    labels = {**ENFORCED}
    outcome = admission_policies.validate(new.objects, request_for(POD), labels)
    assert outcome.denied == []  # evaluation error, failurePolicy Ignore (onPolicyError allow)
    entries = [
        v["expression"]
        for o in new.objects
        if o["kind"] == "ValidatingAdmissionPolicy"
        for v in o["spec"]["variables"]
        if v["name"] == "entries"
    ]
    assert "transformMapEntry" in entries[0]
    ignoring = config(rule("no-volumes", "has(container.image)"))
    assert "transformMapEntry" not in str(generate(ignoring, Options(now=1.0)).objects)


def test_a_failing_message_expression_falls_back_for_the_whole_policy() -> None:
    """The webhook falls back to `message` for the one container whose messageExpression fails;
    the API server has one message per validation, and falls back for all of its findings."""
    reads_missing = rule(
        "no-busybox",
        "!container.image.startsWith('busybox')",
        message="no busybox",
        messageExpression="'runs ' + container.command.join(' ')",
    )
    obj = reviews.pod(init=[reviews.container("a", command=["true"]), reviews.container("b")])
    parsed = config(reads_missing)
    assert findings(parsed, request_for(obj)) == {
        ("no-busybox", 'init "a"', "spec.initContainers[0]", "runs true"),
        ("no-busybox", 'init "b"', "spec.initContainers[1]", "no busybox"),
    }
    outcome = admission_policies.validate(generate(parsed).objects, request_for(obj), ENFORCED)
    assert outcome.denied == ["no-busybox: no busybox"]


def test_a_rule_failing_at_run_time_is_a_policy_error_on_both_sides() -> None:
    """`onPolicyError: deny` denies as `failurePolicy: Fail` does; the webhook denies whatever
    the namespace's cap, the API server acts on the error as the binding's actions say (a warn
    namespace warns)."""
    strict = config(
        rule("user-set", "container.securityContext.runAsUser != 0"), onPolicyError="deny"
    )
    request_ = request_for(reviews.pod(init=[reviews.container("a")]))
    labels = {"kubernetes.io/metadata.name": "demo", "initgate.io/mode": "warn"}
    outcome = admission_policies.validate(generate(strict).objects, request_, labels)
    assert [m.split(":")[0] for m in outcome.warned] == ["expression error"]
    assert webhook(strict, request_, Mode.WARN).actions["deny"] == {"onPolicyError": frozenset()}
    enforced = admission_policies.validate(generate(strict).objects, request_, ENFORCED)
    assert [m.split(":")[0] for m in enforced.denied] == ["expression error"]


def test_a_rule_nested_too_deep_for_initgate_is_generated_unchecked() -> None:
    """Its bindings nest a rule 8 levels deeper (16 for a messageExpression): initgate's runtime
    parses 32 levels, Kubernetes' 250. Such a rule is generated, and the export says that it
    could not be checked."""
    long = " + ".join(["container.name"] * 16)
    made = generate(config(rule("long", "true", messageExpression=long)), Options(now=1.0))
    assert "initgate-long" in {o["metadata"]["name"] for o in made.objects}
    (note,) = [n for n in made.notes if n.startswith("long:")]
    assert note.startswith(
        "long: generated unchecked: with its variables bound, variables.said nests"
    )
