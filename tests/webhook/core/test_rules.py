"""User rules: what they see, what they find, how they fail, and how the configuration refuses a
broken one (file, line, key and the CEL column)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from policies.base import Mode
from tests.support import reviews
from webhook.core import rules
from webhook.core.config import ConfigError, parse_config
from webhook.core.engine import Decision, decide
from webhook.core.objects import Request
from webhook.core.plan import compile_plan

SHARED = [
    {"name": "shared", "emptyDir": {}},
    {"name": "data", "persistentVolumeClaim": {"claimName": "d"}},
]
FILLER = reviews.container(
    "fill",
    command=["sh", "-c", "cp -r /src/. /shared/"],
    volumeMounts=[{"name": "shared", "mountPath": "/shared"}],
    resources=reviews.LIMITED,
)
PREPARER = reviews.container(
    "prepare",
    command=["sh", "-c", "chown 1000 /shared"],
    volumeMounts=[{"name": "shared", "mountPath": "/shared"}],
    resources=reviews.LIMITED,
)
READER = reviews.container(
    "app", "nginx:1.27", volumeMounts=[{"name": "shared", "mountPath": "/usr/share/nginx"}]
)
SIDECAR = reviews.container(
    "proxy", restartPolicy="Always", volumeMounts=[{"name": "shared", "mountPath": "/s"}]
)


def configured(*listed: dict[str, Any], **extra: Any) -> str:
    return yaml.safe_dump({"rules": list(listed), **extra}, sort_keys=False)


def rule(rule_id: str, expression: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "description": f"{rule_id} holds.", "expression": expression, **fields}


def judge(
    obj: dict[str, Any],
    text: str,
    *,
    namespace: str = "demo",
    now: float | None = None,
    **request: Any,
) -> Decision:
    group, _, version = obj["apiVersion"].rpartition("/")
    plan = compile_plan(parse_config(text, source="rules.yaml"))
    return decide(
        Request(
            obj,
            group=group,
            version=version,
            kind=obj["kind"],
            namespace=namespace,
            username=request.pop("username", "alice"),
            **request,
        ),
        plan,
        webhook="validate",
        now=now,
    )


def found(decision: Decision, rule_id: str) -> list[tuple[str, str]]:
    return [
        (v.finding.location, v.finding.message) for v in decision.verdicts if v.policy == rule_id
    ]


def seen(shown: str, obj: dict[str, Any], **fields: Any) -> dict[str, str]:
    """What each judged container makes of the string expression `shown`, read as the message of
    a rule that always fails."""
    text = configured(
        rule(
            "show",
            "false",
            messageExpression=shown,
            roles=["init", "sidecar", "app", "ephemeral"],
            **fields,
        )
    )
    return dict(found(judge(obj, text), "show"))


POD = reviews.pod(init=[FILLER, PREPARER, SIDECAR], app=[READER], volumes=SHARED)


def test_each_container_is_judged_in_its_role() -> None:
    text = configured(rule("no-busybox", "!container.image.startsWith('busybox')"))
    assert found(judge(POD, text), "no-busybox") == [
        ('init "fill"', "no-busybox holds."),
        ('init "prepare"', "no-busybox holds."),
        ('sidecar "proxy"', "no-busybox holds."),
    ]


ALL = ('init "fill"', 'init "prepare"', 'sidecar "proxy"', 'app "app"')


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        pytest.param("role", ("init", "init", "sidecar", "app"), id="role"),
        pytest.param(
            "path",
            (
                "spec.initContainers[0]",
                "spec.initContainers[1]",
                "spec.initContainers[2]",
                "spec.containers[0]",
            ),
            id="path",
        ),
        # readonly-mounts' analysis: `prepare` only chowns (it prepares the volume, it does not
        # fill it) and a sidecar's writes do not count: `fill` fills `shared` for later readers.
        pytest.param("'[' + fills.join(',') + ']'", ("[shared]", "[]", "[]", "[]"), id="fills"),
        pytest.param(
            "'[' + readsFrom.join(',') + ']'", ("[]", "[]", "[fill]", "[fill]"), id="readsFrom"
        ),
        pytest.param(
            "volumes.map(name, name + ':' + (has(volumes[name].emptyDir) ? 'emptyDir' : '?'))"
            ".join(',')",
            ("shared:emptyDir",) * 4,
            id="volumes",
        ),
        pytest.param("container.name", ("fill", "prepare", "proxy", "app"), id="container"),
        pytest.param(
            "object.kind + ' ' + object.metadata.namespace + ' ' + string(size(object.spec.initContainers))",
            ("Pod demo 3",) * 4,
            id="object",
        ),
    ],
)
def test_what_a_rule_sees(shown: str, expected: tuple[str, ...]) -> None:
    assert seen(shown, POD) == dict(zip(ALL, expected, strict=True))


def test_fills_in_mount_order_and_reads_from_in_pod_order() -> None:
    """The orders the generated admission policies compute alike: a filler's volumes as it mounts
    them (each once), a reader's fillers as they run."""

    def writer(name: str, *volumes: str) -> dict[str, Any]:
        mounts = [{"name": v, "mountPath": f"/{v}/{i}"} for i, v in enumerate(volumes)]
        return reviews.container(name, command=["sh", "-c", "cp -r /s/. /d/"], volumeMounts=mounts)

    reader = reviews.container(
        "app", volumeMounts=[{"name": v, "mountPath": f"/{v}"} for v in ("c", "b", "a")]
    )
    pod = reviews.pod(
        init=[writer("second", "c"), writer("first", "b", "a", "b")],
        app=[reader],
        volumes=[{"name": v, "emptyDir": {}} for v in ("a", "b", "c")],
    )
    shown = "fills.join(',') + '|' + readsFrom.join(',')"
    assert seen(shown, pod) == {
        'init "second"': "c|",
        'init "first"': "b,a|",
        'app "app"': "|second,first",
    }


def test_a_workload_template_is_seen_as_a_pod_in_the_workload_namespace() -> None:
    deployment = reviews.workload("Deployment", copy.deepcopy(POD["spec"]))
    shown = "object.apiVersion + ' ' + object.kind + ' ' + object.metadata.namespace + ' ' + path"
    assert seen(shown, deployment)['init "fill"'] == (
        "v1 Pod demo spec.template.spec.initContainers[0]"
    )


def test_request() -> None:
    shown = (
        "request.operation + ' ' + request.namespace + ' ' + string(request.dryRun) + ' '"
        " + request.userInfo.username + ' ' + request.userInfo.groups.join(',')"
        " + ' ' + request.kind.kind"
    )
    text = configured(rule("show", "false", scope="pod", messageExpression=shown))
    decision = judge(POD, text, username="bob", groups=("dev", "qa"), dry_run=True)
    assert found(decision, "show") == [("pod", "CREATE demo true bob dev,qa Pod")]


BROKEN = [
    pytest.param(
        rule("r", "container.image.startsWith("),
        "rules.yaml:4: rules[0].expression: Syntax error: mismatched input '<EOF>'",
        id="does-not-compile",
    ),
    pytest.param(
        rule("r", "size(container.env)"),
        "rules.yaml:4: rules[0].expression: must evaluate to bool, not int",
        id="not-a-bool",
    ),
    pytest.param(
        rule("r", "true", messageExpression="size(container.env)"),
        "rules.yaml:5: rules[0].messageExpression: must evaluate to string, not int",
        id="message-not-a-string",
    ),
    pytest.param(
        rule("r", "container.image.sha256()"),
        "rules.yaml:4: rules[0].expression: undeclared reference to 'sha256'"
        " (column 23 of the expression)",
        id="unknown-function",
    ),
    pytest.param(
        rule("r", "oldObject == null"),
        "rules.yaml:4: rules[0].expression: 'oldObject' is not available here",
        id="unknown-variable",
    ),
    pytest.param(
        rule("r", "container.name != ''", scope="pod"),
        "rules.yaml:4: rules[0].expression: 'container' is not available here (variables:"
        " object, request) (column 1 of the expression)",
        id="container-in-a-pod-rule",
    ),
    pytest.param(
        rule("r", "lists.range(5000).map(i, i).size() > 0"),
        "rules.yaml:4: rules[0].expression: may cost 12,572,524 units in one evaluation,"
        " above the limit of 1,000,000 (most of it: a comprehension over up to 5,000 entries)",
        id="too-costly",
    ),
    pytest.param(
        rule(
            "r",
            "object.spec.containers.all(c, c.?ports.orValue([]).all(p, p.containerPort != 22))",
            scope="pod",
        ),
        "rules.yaml:4: rules[0].expression: may cost 6,017,004 units in one evaluation, above"
        " the limit of 1,000,000 (most of it: a comprehension over up to 1,000 entries); a"
        " container rule (roles instead of scope: pod) reads one container's lists at a time"
        " (docs/rules.md, The cost limit)",
        id="too-costly-for-a-pod-rule",
    ),
    pytest.param(
        {**rule("r", "true"), "roles": ["init", "sidecarr"]},
        "rules.yaml:7: rules[0].roles[1]: expected one of init, sidecar, app, ephemeral",
        id="unknown-role",
    ),
    pytest.param(
        rule("Not_Kebab", "true"),
        "rules.yaml:2: rules[0].id: expected a kebab-case id such as init-registry",
        id="id-not-kebab-case",
    ),
    pytest.param(
        rule("r", "true", scope="pod", roles=["app"]),
        "rules.yaml:7: rules[0].roles: a pod-scoped rule has no roles",
        id="roles-on-a-pod-rule",
    ),
]


@pytest.mark.parametrize(("broken", "expected"), BROKEN)
def test_a_broken_rule_is_refused_with_its_place(broken: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(configured(broken), source="rules.yaml")
    assert str(raised.value).startswith(expected), str(raised.value)


def test_rule_ids_are_unique_and_not_a_policy_s() -> None:
    text = configured(rule("a", "true"), rule("a", "true"), rule("init-lint", "true"))
    with pytest.raises(ConfigError) as raised:
        parse_config(text, source="rules.yaml")
    assert str(raised.value).splitlines() == [
        "rules.yaml:5: rules[1].id: 'a' is also rules[0]'s id",
        "rules.yaml:8: rules[2].id: 'init-lint' is a built-in policy's id",
    ]


def test_a_rule_failing_on_a_value_is_a_policy_error_naming_the_container() -> None:
    text = configured(rule("root", "container.securityContext.runAsUser != 0"))
    decision = judge(POD, text)
    assert decision.allowed
    assert [(e.policy, e.location, e.error) for e in decision.errors] == [
        (
            "root",
            'init "fill" (spec.initContainers[0])',
            'Key not found in map : "securityContext" (and 2 more)',
        )
    ]
    assert decision.warnings[-1] == (
        'initgate root: init "fill" (spec.initContainers[0]): could not evaluate; allowed anyway'
        " (onPolicyError)"
    )
    denied = judge(POD, text.replace("rules:", "onPolicyError: deny\nrules:", 1))
    assert not denied.allowed
    assert (
        '- root: init "fill" (spec.initContainers[0]): could not evaluate (onPolicyError: deny)'
        in (denied.message.splitlines())
    )


def test_an_exempt_container_s_error_is_no_error_and_other_findings_stand() -> None:
    """A rule that cannot judge a vendor's image its exemptions cover is no policy error there;
    it goes on to the other containers, whose findings and errors stand."""
    vendor = reviews.container("vendor", "vendor.example/agent:1")
    rooted = reviews.container("rooted", securityContext={"runAsUser": 0})
    kept = reviews.container("kept", securityContext={"runAsUser": 1000})
    obj = reviews.pod(init=[vendor, rooted, kept, reviews.container("bare")])
    text = configured(
        rule(
            "root",
            "container.securityContext.runAsUser != 0",
            exemptions={"images": [{"image": "vendor.example/*", "reason": "VEND-1"}]},
        )
    )
    decision = judge(obj, text)
    assert found(decision, "root") == [('init "rooted"', "root holds.")]
    assert [(e.location, e.error) for e in decision.errors] == [
        ('init "bare" (spec.initContainers[3])', 'Key not found in map : "securityContext"')
    ]
    assert "rules[0].exemptions.images[0]" not in decision.exemptions  # exempt from nothing found
    two = judge(reviews.pod(init=[reviews.container("a"), reviews.container("b")]), text)
    assert [(e.location, e.error) for e in two.errors] == [
        (
            'init "a" (spec.initContainers[0])',
            'Key not found in map : "securityContext" (and 1 more)',
        )
    ]


def test_an_update_is_not_held_to_what_a_rule_could_not_judge_before() -> None:
    """A pod UPDATE is judged for what it brings: a container the rule could not judge before,
    left as it was, is no error (the old pod is judged whole, to tell what is new)."""
    text = configured(rule("nonroot", "container.securityContext.runAsNonRoot", roles=["app"]))
    bare = reviews.container("bare", "nginx:1.27")
    root = reviews.container("root", "nginx:1.27", securityContext={"runAsNonRoot": False})
    old = reviews.pod(app=[bare, root])
    new = copy.deepcopy(old)
    new["spec"]["containers"][1]["image"] = "nginx:1.28"
    decision = judge(new, text, operation="UPDATE", old_object=old)
    assert (decision.errors, found(decision, "nonroot")) == ([], [])
    old["spec"]["containers"][0]["securityContext"] = {"runAsNonRoot": True}
    new["spec"]["containers"][0]["image"] = "nginx:1.28"  # and its securityContext gone
    decision = judge(new, text, operation="UPDATE", old_object=old)
    assert [(e.location, e.error) for e in decision.errors] == [
        ('app "bare" (spec.containers[0])', 'Key not found in map : "securityContext"')
    ]


def test_a_result_that_is_not_a_bool_is_a_policy_error() -> None:
    text = configured(rule("dyn", "container.image"))
    decision = judge(POD, text)
    assert [e.error for e in decision.errors] == [
        "the expression gave 'busybox:1.36', not a bool (and 2 more)"
    ]


def test_an_object_beyond_what_the_estimate_assumed_is_not_evaluated() -> None:
    crowded = copy.deepcopy(POD)
    crowded["spec"]["initContainers"][0]["env"] = [{"name": f"V{i}"} for i in range(1001)]
    text = configured(rule("env", "container.?env.orValue([]).all(e, e.name != 'DEBUG')"))
    assert judge(POD, text).errors == []
    assert [e.error for e in judge(crowded, text).errors] == [
        "not evaluated: container.env has 1,001 entries, more than the 1,000 an expression may read"
    ]


ENV_NAMES = "container.?env.orValue([]).all(e, e.name.matches('^[A-Z_]+$'))"
"""Estimated at 101,014 units an evaluation: 98 fit in the request's budget of 10,000,000."""


def test_the_rules_of_one_request_share_kubernetes_budget() -> None:
    """Each evaluation is charged its estimate; once the request's budget is spent, a rule that
    would overspend it fails as a policy error (onPolicyError decides), naming where it stopped;
    a cheap rule still fits in what is left."""
    assert rules.compiled(ENV_NAMES, pod=False, message=False).estimate.cost == 101_014
    crowded = reviews.pod(init=[reviews.container(f"i{n}") for n in range(120)])
    text = configured(rule("env", ENV_NAMES, roles=["init"]), rule("other", "true"))
    decision = judge(crowded, text)
    assert [(e.policy, e.location) for e in decision.errors] == [
        ("env", 'init "i98" (spec.initContainers[98])')
    ]
    assert decision.errors[0].error == (
        "not evaluated: the rules' budget for one request (10,000,000 units, Kubernetes' "
        "per-request limit) is spent; make the costliest rules cheaper"
    )
    assert (
        'initgate env: init "i98" (spec.initContainers[98]): could not evaluate; allowed anyway'
        " (onPolicyError)"
    ) in decision.warnings
    assert (
        judge(reviews.pod(init=[reviews.container(f"i{n}") for n in range(98)]), text).errors == []
    )


def test_an_evaluation_costs_at_least_its_fixed_cost() -> None:
    """100 units each: the budget holds 100,000 evaluations, however cheap, for one request."""
    assert rules.compiled("container.name != ''", pod=False, message=False).estimate.cost == 3
    crowded = reviews.pod(init=[{"name": f"i{n}", "image": "b"} for n in range(20_001)])
    listed = [rule(f"r{n}", "container.name != ''", roles=["init"]) for n in range(5)]
    assert [(e.policy, e.location) for e in judge(crowded, configured(*listed)).errors] == [
        ("r4", 'init "i19996" (spec.initContainers[19996])')  # 4 x 20,001 + 19,996 = 100,000
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        pytest.param({}, "m holds.", id="the-description"),
        pytest.param({"message": "fix it"}, "fix it", id="the-message"),
        pytest.param(
            {"message": "fix it", "messageExpression": "'fix ' + container.name"},
            "fix fill",
            id="the-message-expression",
        ),
        pytest.param(
            {"message": "fix it", "messageExpression": "container.nope"},
            "fix it",
            id="a-failing-message-expression-falls-back",
        ),
        pytest.param(
            {"messageExpression": "'two\\nlines'"}, "m holds.", id="a-message-on-two-lines"
        ),
        pytest.param({"messageExpression": "'  '"}, "m holds.", id="an-empty-message"),
    ],
)
def test_the_message(fields: dict[str, Any], expected: str) -> None:
    text = configured(rule("m", "container.name != 'fill'", **fields))
    assert found(judge(POD, text), "m") == [('init "fill"', expected)]


def test_a_rule_s_mode_is_capped_like_a_policy_s() -> None:
    text = configured(rule("w", "false", mode="warn", roles=["app"]))
    decision = judge(POD, text)
    assert decision.allowed
    assert decision.warnings == ['initgate w: app "app": w holds.']
    plan = compile_plan(parse_config(text, source="r.yaml"))
    capped = decide(Request(POD, namespace="demo"), plan, webhook="validate", cap=Mode.AUDIT)
    assert capped.warnings == []
    assert capped.audit_annotations == {"w": 'app "app": w holds.'}


EXEMPT = """
exemptions:
  images:
    - image: busybox:*
      allow: [no-busybox]
      reason: the build images, until they move
      expires: 2030-01-01
  namespaces:
    - kube-system
    - namespace: legacy-*
      expires: 2030-01-01T12:00:00Z
      reason: OPS-42
"""


def test_exemptions_apply_to_rules_and_say_which_applied() -> None:
    text = configured(rule("no-busybox", "!container.image.startsWith('busybox')")) + EXEMPT
    before = judge(POD, text, now=1_800_000_000)  # 2027-01-15
    assert found(before, "no-busybox") == []
    assert before.exemptions == ["exemptions.images[0]"]
    after = judge(POD, text, now=1_893_456_000)  # 2030-01-01T00:00:00Z: the date has come
    assert [loc for loc, _ in found(after, "no-busybox")] == [
        'init "fill"',
        'init "prepare"',
        'sidecar "proxy"',
    ]
    assert after.exemptions == []


@pytest.mark.parametrize(
    ("now", "outcome", "labels"),
    [
        pytest.param(1_893_499_199, "exempt", ["exemptions.namespaces[1]"], id="a-second-before"),
        pytest.param(1_893_499_200, "denied", [], id="at-the-instant"),
    ],
)
def test_a_namespace_exemption_ends_at_its_instant(
    now: int, outcome: str, labels: list[str]
) -> None:
    text = configured(rule("never", "false")) + EXEMPT
    decision = judge(POD, text, namespace="legacy-shop", now=now)
    assert (decision.outcome, decision.exemptions) == (outcome, labels)


@pytest.mark.parametrize(
    "expires",
    ["2027-02-30", "tomorrow", "2027-03-01T10:00:00", "2027-3-1"],
)
def test_an_expiry_must_be_an_rfc3339_date_or_time(expires: str) -> None:
    text = f"exemptions:\n  users:\n    - user: ci\n      expires: '{expires}'\n"
    with pytest.raises(
        ConfigError, match=r"c.yaml:4: exemptions.users\[0\].expires: expected an RFC 3339"
    ):
        parse_config(text, source="c.yaml")


def test_an_expression_compiles_once_per_text() -> None:
    rules.compiled.cache_clear()
    text = configured(rule("a", "container.name != ''"), rule("b", "container.name != ''"))
    parse_config(text, source="r.yaml")
    parse_config(text, source="r.yaml")
    assert rules.compiled.cache_info().misses == 1


def test_fills_and_reads_from_agree_with_readonly_mounts() -> None:
    """Every mount readonly-mounts makes read-only is, in the rules' words, a volume its filler
    `fills` and a filler the reader `readsFrom`."""
    pods = [POD, *(reviews.captured(case, "mutate")["request"]["object"] for case in reviews.CASES)]
    text = configured(
        rule(
            "flow",
            "false",
            roles=["init", "sidecar", "app", "ephemeral"],
            messageExpression="fills.join(',') + '|' + readsFrom.join(',')",
        )
    )
    plan = compile_plan(parse_config(text, source="r.yaml"))
    checked = 0
    for pod in pods:
        request = Request(pod, namespace="demo")
        flow = {
            v.finding.container.name: v.finding.message.split("|")
            for v in decide(request, plan, webhook="validate").verdicts
            if v.finding.container is not None
        }
        for verdict in decide(request, plan, webhook="mutate").verdicts:
            if verdict.policy != "readonly-mounts" or verdict.finding.container is None:
                continue
            volume = verdict.finding.key.removeprefix("volume:")
            writer = verdict.finding.message.split('"')[3]  # mount "v" readOnly (init "w" fills it)
            assert volume in flow[writer][0].split(","), (pod["metadata"], volume, writer)
            assert writer in flow[verdict.finding.container.name][1].split(",")
            checked += 1
    assert checked >= 3
