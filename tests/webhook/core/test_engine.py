"""The engine: modes and caps, exemptions, what an UPDATE is judged on, failures, merging."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.base import Context, Finding, Mode, PodView, add
from tests.support import kube, reviews
from webhook.core import engine, messages
from webhook.core.config import Config
from webhook.core.engine import Decision, Webhook, decide
from webhook.core.objects import Request
from webhook.core.plan import Plan, compile_plan

PRIVILEGED = reviews.container(
    "setup", securityContext={"privileged": True}, resources=reviews.LIMITED
)
UNBOUNDED = reviews.container("migrate", command=["sh", "-c", "./migrate"])
SHARED = [{"name": "shared", "emptyDir": {}}]


def judge(
    obj: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    webhook: Webhook = "validate",
    cap: Mode = Mode.ENFORCE,
    **request: Any,
) -> Decision:
    kind = obj["kind"]
    group, _, version = obj["apiVersion"].rpartition("/")
    fields: dict[str, Any] = {
        "object": obj,
        "group": group,
        "version": version,
        "kind": kind,
        "namespace": "demo",
        "username": "alice",
        **request,
    }
    return decide(
        Request(**fields),
        compile_plan(Config.model_validate(config or {})),
        webhook=webhook,
        cap=cap,
    )


def keys(decision: Decision) -> list[tuple[str, str, str]]:
    return [(v.policy, v.mode.value, v.finding.key) for v in decision.verdicts]


BAD_POD = reviews.pod(init=[PRIVILEGED, UNBOUNDED])


# ---- modes and caps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "cap", "allowed", "warnings", "annotations"),
    [
        ("enforce", Mode.ENFORCE, False, 0, set()),
        ("enforce", Mode.WARN, True, 3, set()),
        ("enforce", Mode.AUDIT, True, 0, {"init-privileged", "init-unbounded"}),
        ("warn", Mode.ENFORCE, True, 3, set()),
        ("warn", Mode.AUDIT, True, 0, {"init-privileged", "init-unbounded"}),
        ("audit", Mode.ENFORCE, True, 0, {"init-privileged", "init-unbounded"}),
        ("audit", Mode.WARN, True, 0, {"init-privileged", "init-unbounded"}),
        ("off", Mode.ENFORCE, True, 0, set()),
    ],
)
def test_the_lower_of_policy_mode_and_endpoint_cap_decides(
    mode: str, cap: Mode, allowed: bool, warnings: int, annotations: set[str]
) -> None:
    config = {"mode": mode, "policies": {"init-lint": {"mode": "off"}}}
    decision = judge(BAD_POD, config=config, cap=cap)
    assert decision.allowed is allowed
    assert len(decision.warnings) == warnings
    assert set(decision.audit_annotations) == annotations
    expected_mode = Mode(mode).cap(cap).value
    if mode != "off":
        assert {m for _, m, _ in keys(decision)} == {expected_mode}
    else:
        assert decision.verdicts == []


def test_per_policy_mode_overrides_the_global_default() -> None:
    config = {"policies": {"init-privileged": {"mode": "warn"}, "init-lint": {"mode": "off"}}}
    decision = judge(BAD_POD, config=config)
    assert not decision.allowed
    assert decision.warnings == [
        'initgate init-privileged: init "setup": securityContext.privileged is true; remove it'
    ]
    assert decision.message.splitlines()[1:3] == [
        '- init-unbounded: init "migrate" (spec.initContainers[1]): resources.limits.cpu is missing; '
        "set one, e.g. cpu: 500m",
        '- init-unbounded: init "migrate" (spec.initContainers[1]): resources.limits.memory is missing; '
        "set one, e.g. memory: 256Mi",
    ]


def test_a_denial_lists_every_finding_then_how_to_comply() -> None:
    decision = judge(BAD_POD, config={"policies": {"init-lint": {"mode": "off"}}})
    assert decision.message == "\n".join(
        [
            'Pod "web" is denied by initgate (3 problems):',
            '- init-privileged: init "setup" (spec.initContainers[0]): securityContext.privileged is true; remove it',
            '- init-unbounded: init "migrate" (spec.initContainers[1]): resources.limits.cpu is missing; '
            "set one, e.g. cpu: 500m",
            '- init-unbounded: init "migrate" (spec.initContainers[1]): resources.limits.memory is missing; '
            "set one, e.g. memory: 256Mi",
            "init-privileged: Drop the privileges, or ask the platform team for a scoped image exemption.",
            "init-unbounded: Add resources.limits to each init container listed.",
            "Policy documentation and exemptions: https://github.com/initgate/initgate/blob/main/docs/policies.md",
        ]
    )


@pytest.mark.parametrize(
    ("cap", "patched", "warned", "audited"),
    [
        (Mode.ENFORCE, True, False, False),
        (Mode.WARN, False, True, False),
        (Mode.AUDIT, False, False, True),
    ],
)
def test_mutation_modes(cap: Mode, patched: bool, warned: bool, audited: bool) -> None:
    pod = reviews.pod(
        init=[
            reviews.container(
                "fill",
                resources=reviews.LIMITED,
                volumeMounts=[{"name": "shared", "mountPath": "/w"}],
            )
        ],
        volumes=SHARED,
    )
    decision = judge(pod, webhook="mutate", cap=cap)
    assert bool(decision.patch) is patched
    assert decision.outcome == ("patched" if patched else "allowed")
    assert decision.would_patch == (
        [] if patched else [add("/spec/volumes/0/emptyDir/sizeLimit", "2Gi")]
    )
    assert bool(decision.warnings) is warned
    assert ("would-patch" in decision.audit_annotations) is audited


def test_dry_run_changes_nothing() -> None:
    wet = judge(BAD_POD)
    dry = judge(BAD_POD, dry_run=True)
    assert (dry.allowed, dry.message, dry.warnings) == (wet.allowed, wet.message, wet.warnings)


# ---- exemptions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "request_fields", "exempt"),
    [
        ({}, {"namespace": "kube-system"}, "namespace"),
        ({}, {"namespace": "kube-node-lease"}, "namespace"),
        ({"exemptions": {"namespaces": ["team-*"]}}, {"namespace": "team-a"}, "namespace"),
        ({"exemptions": {"namespaces": ["team-*"]}}, {"namespace": "kube-system"}, None),
        (
            {"exemptions": {"users": ["system:serviceaccount:ci:*"]}},
            {"username": "system:serviceaccount:ci:bot"},
            "user",
        ),
        (
            {"exemptions": {"groups": ["platform-admins"]}},
            {"groups": ("system:authenticated", "platform-admins")},
            "group",
        ),
        (
            {"exemptions": {"groups": ["platform-admins"]}},
            {"groups": ("system:authenticated",)},
            None,
        ),
    ],
)
def test_global_exemptions(
    config: dict[str, Any], request_fields: dict[str, Any], exempt: str | None
) -> None:
    decision = judge(BAD_POD, config=config, **request_fields)
    if exempt:
        assert (decision.outcome, decision.reason, decision.allowed) == ("exempt", exempt, True)
    else:
        assert not decision.allowed


def test_per_policy_exemptions_leave_other_policies_in_force() -> None:
    config = {"policies": {"init-privileged": {"exemptions": {"namespaces": ["demo"]}}}}
    decision = judge(BAD_POD, config=config)
    assert {policy for policy, _, _ in keys(decision)} == {"init-unbounded"}


def test_decisions_say_which_exemption_spared_which_policy() -> None:
    """A global exemption names no policy; a policy's own, and an image exemption (wherever it
    is written), name the policy they spared: the audit and `initgate test` read them."""
    config = {
        "exemptions": {"images": [{"image": "busybox:*", "allow": ["privileged"]}]},
        "policies": {"init-unbounded": {"exemptions": {"users": ["ci", "alice"]}}},
    }
    decision = judge(BAD_POD, config=config)
    assert (decision.allowed, keys(decision)) == (True, [])
    assert decision.exemptions == [
        "exemptions.images[0]",
        "policies.init-unbounded.exemptions.users[1]",
    ]
    assert decision.exempted == {
        "init-privileged": ["exemptions.images[0]"],
        "init-unbounded": ["policies.init-unbounded.exemptions.users[1]"],
    }
    whole = judge(BAD_POD, config=config, namespace="kube-system")
    assert (whole.outcome, whole.exemptions, whole.exempted) == (
        "exempt",
        ["exemptions.namespaces[0]"],
        {},
    )


@pytest.mark.parametrize(
    ("image", "allow", "remaining"),
    [
        ("docker.io/library/busybox:1.36", None, []),
        ("busybox:1.36", None, []),  # normalised to docker.io/library/busybox
        ("busybox:1.36", ["capability:NET_ADMIN"], ["capability:SYS_ADMIN"]),
        ("busybox:1.36", ["capability:*"], []),
        ("quay.io/other:1", None, ["capability:NET_ADMIN", "capability:SYS_ADMIN"]),
    ],
)
def test_image_exemptions_scoped_by_finding_key(
    image: str, allow: list[str] | None, remaining: list[str]
) -> None:
    container = reviews.container(
        "net",
        image,
        resources=reviews.LIMITED,
        securityContext={"capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}},
    )
    exemption: dict[str, Any] = {"image": "docker.io/library/busybox:*"}
    if allow is not None:
        exemption["allow"] = allow
    config = {"policies": {"init-privileged": {"exemptions": {"images": [exemption]}}}}
    decision = judge(reviews.pod(init=[container]), config=config)
    assert [k for _, _, k in keys(decision)] == remaining


@pytest.mark.parametrize(
    ("scope", "namespace", "host_network", "remaining"),
    [
        pytest.param({}, "demo", False, ["capability:SYS_ADMIN"], id="unscoped"),
        pytest.param({"namespaces": ["de*"]}, "demo", False, ["capability:SYS_ADMIN"], id="in"),
        pytest.param(
            {"namespaces": ["other"]},
            "demo",
            False,
            ["capability:NET_ADMIN", "capability:SYS_ADMIN"],
            id="namespace-elsewhere",
        ),
        pytest.param(
            {"exceptHostNetwork": True}, "demo", False, ["capability:SYS_ADMIN"], id="pod-network"
        ),
        pytest.param(
            {"exceptHostNetwork": True},
            "demo",
            True,
            ["capability:NET_ADMIN", "capability:SYS_ADMIN"],
            id="node-network",
        ),
    ],
)
def test_image_exemptions_scoped_by_namespace_and_network(
    scope: dict[str, Any], namespace: str, host_network: bool, remaining: list[str]
) -> None:
    container = reviews.container(
        "net",
        resources=reviews.LIMITED,
        securityContext={"capabilities": {"add": ["NET_ADMIN", "SYS_ADMIN"]}},
    )
    exemption = {"image": "busybox:*", "allow": ["capability:NET_ADMIN"], **scope}
    config = {"policies": {"init-privileged": {"exemptions": {"images": [exemption]}}}}
    obj = reviews.pod(init=[container])
    if host_network:
        obj["spec"]["hostNetwork"] = True
    decision = judge(obj, config=config, namespace=namespace)
    assert [k for _, _, k in keys(decision) if k.startswith("capability:")] == remaining


def test_image_exemptions_keep_no_huge_image_reference() -> None:
    """Exemptions are matched once per image and plan, except for an image reference no registry
    would serve: a client cannot make the plan keep megabytes."""
    plan = compile_plan(Config())
    (rule,) = [r for r in plan.validate if r.policy.id == "init-privileged"]
    capabilities = {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]}}
    for image in ("docker.io/istio/proxyv2:1.24.0", f"docker.io/istio/proxyv2:{'1' * 2**20}"):
        container = reviews.container(
            "istio-init", image, resources=reviews.LIMITED, securityContext=capabilities
        )
        decision = decide(Request(reviews.pod(init=[container])), plan, webhook="validate")
        assert decision.allowed  # the preset's exemption applies to both
    assert list(rule._by_image) == ["docker.io/istio/proxyv2:1.24.0"]


def test_mesh_presets_allow_only_their_capabilities_on_their_images() -> None:
    istio = reviews.container(
        "istio-init",
        "docker.io/istio/proxyv2:1.24.0",
        resources=reviews.LIMITED,
        securityContext={
            "capabilities": {"add": ["NET_ADMIN", "NET_RAW"], "drop": ["ALL"]},
            "runAsUser": 0,
        },
    )
    assert judge(reviews.pod(init=[istio])).allowed
    impostor = {**istio, "image": "evil.example/istio/proxyv2:1.24.0"}
    assert [k for _, _, k in keys(judge(reviews.pod(init=[impostor])))] == [
        "capability:NET_ADMIN",
        "capability:NET_RAW",
    ]
    privileged = {**istio, "securityContext": {**istio["securityContext"], "privileged": True}}
    assert [k for _, _, k in keys(judge(reviews.pod(init=[privileged])))] == ["privileged"]
    off = {"policies": {"init-privileged": {"presets": {"istio": False}}}}
    assert not judge(reviews.pod(init=[istio]), config=off).allowed


# ---- objects and operations -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
    ],
)
def test_workload_templates_are_judged_and_never_mutated(kind: str) -> None:
    spec = reviews.pod(init=[PRIVILEGED], volumes=SHARED)["spec"]
    obj = reviews.workload(kind, spec)
    kube.validate(obj)
    decision = judge(obj)
    assert not decision.allowed
    template = "spec.jobTemplate.spec.template.spec" if kind == "CronJob" else "spec.template.spec"
    assert (
        decision.message.splitlines()[0]
        == f'{kind} "web" is denied by initgate (1 problem in its pod template {template}):'
    )
    assert f'init "setup" ({template}.initContainers[0])' in decision.message
    assert judge(obj, webhook="mutate").outcome == "skipped"


@pytest.mark.parametrize(
    ("kind", "api_version", "operation", "reason"),
    [
        ("ConfigMap", "v1", "CREATE", "unhandled"),
        ("Deployment", "apps/v1beta1", "CREATE", "unhandled"),
        ("Deployment", "extensions/v1beta1", "CREATE", "unhandled"),
        ("Pod", "v1", "DELETE", "operation"),
        ("Pod", "v1", "CONNECT", "operation"),
    ],
)
def test_what_is_not_understood_passes_untouched(
    kind: str, api_version: str, operation: str, reason: str
) -> None:
    obj = {**copy.deepcopy(BAD_POD), "kind": kind, "apiVersion": api_version}
    for webhook in ("validate", "mutate"):
        decision = judge(obj, webhook=webhook, operation=operation)
        assert (decision.allowed, decision.outcome, decision.reason) == (True, "skipped", reason)
        assert decision.patch == []
        assert decision.warnings == []


def test_a_pod_admitted_before_initgate_stays_labelable() -> None:
    sent = reviews.captured("pod-update-label", "validate")["request"]
    assert sent["oldObject"]["metadata"]["labels"] != sent["object"]["metadata"]["labels"]
    decision = judge(sent["object"], operation="UPDATE", old_object=sent["oldObject"])
    assert (decision.allowed, decision.outcome, decision.reason) == (True, "skipped", "unchanged")


def test_a_pod_update_is_judged_on_what_it_changes() -> None:
    """Updating an init container's image: what the container already had is grandfathered;
    what the change introduces is judged."""
    old = reviews.pod(init=[PRIVILEGED, UNBOUNDED])
    new = copy.deepcopy(old)
    new["spec"]["initContainers"][0]["image"] = "busybox:latest"
    decision = judge(new, operation="UPDATE", old_object=old)
    assert keys(decision) == [("init-lint", "warn", "image-tag")]
    assert decision.allowed


def test_ephemeral_containers_are_judged_when_added() -> None:
    sent = reviews.captured("pod-ephemeral-kubectl-debug", "validate")["request"]
    fields = {
        "operation": "UPDATE",
        "old_object": sent["oldObject"],
        "subresource": "ephemeralcontainers",
    }
    assert judge(
        sent["object"], **fields
    ).allowed  # the default roles of init-privileged: init, sidecar
    config = {"policies": {"init-privileged": {"roles": ["init", "sidecar", "ephemeral"]}}}
    decision = judge(sent["object"], config=config, **fields)
    # Only the new debugger is judged: the pod's own privileged init container is not re-judged.
    assert keys(decision) == [("init-privileged", "enforce", "capability:SYS_PTRACE")]
    assert 'ephemeral "debugger" (spec.ephemeralContainers[0])' in decision.message


def test_other_pod_subresources_pass() -> None:
    decision = judge(BAD_POD, operation="UPDATE", old_object=BAD_POD, subresource="status")
    assert (decision.outcome, decision.reason) == ("skipped", "subresource")


def test_a_workload_update_outside_the_template_passes() -> None:
    old = reviews.workload("Deployment", BAD_POD["spec"])
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    decision = judge(new, operation="UPDATE", old_object=old)
    assert (decision.outcome, decision.reason) == ("skipped", "unchanged")


def test_a_workload_template_change_is_judged_whole() -> None:
    """New pods will be created from the template: deny now rather than have the ReplicaSet fail."""
    sent = reviews.captured("deployment-update-image", "validate")["request"]
    decision = judge(sent["object"], operation="UPDATE", old_object=sent["oldObject"])
    assert keys(decision) == [
        ("init-unbounded", "enforce", "limit:cpu"),
        ("init-unbounded", "enforce", "limit:memory"),
    ]


# ---- failures and merging ---------------------------------------------------------------------


def _with_policy(plan: Plan, webhook: Webhook, index: int, evaluate: Any) -> Plan:
    rules = list(plan.rules(webhook))
    rules[index] = dataclasses.replace(
        rules[index], policy=dataclasses.replace(rules[index].policy, evaluate=evaluate)
    )
    if webhook == "mutate":
        return dataclasses.replace(plan, mutate=tuple(rules))
    return dataclasses.replace(plan, validate=tuple(rules))


def test_one_failing_policy_does_not_stop_the_others() -> None:
    def boom(_pod: PodView, _context: Context, _settings: Any) -> list[Finding]:
        raise ValueError("bug")

    plan = _with_policy(compile_plan(Config()), "validate", 0, boom)
    request = Request(object=BAD_POD, namespace="demo")
    decision = decide(request, plan, webhook="validate")
    assert [(e.policy, e.error) for e in decision.errors] == [
        ("init-privileged", "ValueError: bug")
    ]
    assert {policy for policy, _, _ in keys(decision)} == {"init-unbounded"}
    assert not decision.allowed  # init-unbounded still denies


def test_conflicting_patches_keep_the_first_and_report_the_engine() -> None:
    def clash(pod: PodView, _context: Context, _settings: Any) -> list[Finding]:
        return [
            Finding(
                key="x", message="set x", role=None, patch=(add("/spec/volumes/0/emptyDir", {}),)
            )
        ]

    plan = _with_policy(compile_plan(Config()), "mutate", 2, clash)
    pod = reviews.pod(
        volumes=SHARED,
        app=[
            reviews.container(
                "app",
                resources=reviews.LIMITED,
                volumeMounts=[{"name": "shared", "mountPath": "/s"}],
            )
        ],
    )
    decision = decide(Request(object=pod, namespace="demo"), plan, webhook="mutate")
    assert decision.patch == [add("/spec/volumes/0/emptyDir/sizeLimit", "2Gi")]
    assert [(e.policy, e.error) for e in decision.errors] == [
        ("engine", "patch conflict at /spec/volumes/0/emptyDir")
    ]


# ---- many findings ------------------------------------------------------------------------------

CROWDED = reviews.pod(
    init=[
        reviews.container(f"step-{n}", securityContext={"privileged": True}, command=["true"])
        for n in range(60)
    ]
)  # 60 init containers, each privileged and without limits: 180 findings


def test_a_denial_lists_the_first_findings_and_counts_the_rest() -> None:
    decision = judge(CROWDED)
    assert len(decision.verdicts) == 180
    listed = [line for line in decision.message.splitlines() if line.startswith("- ")]
    assert len(listed) == messages.LISTED + 1
    assert listed[-1] == (
        "- ... and 160 more, also of init-unbounded "
        "(initgate audit -f on the manifest lists them all)"
    )
    assert 'Pod "web" is denied by initgate (180 problems)' in decision.message
    # The 20 listed are all init-privileged's: only its guidance follows (issue 22).
    assert decision.message.splitlines()[-2:] == [
        "init-privileged: Drop the privileges, or ask the platform team for a scoped image "
        "exemption.",
        "Policy documentation and exemptions: "
        "https://github.com/initgate/initgate/blob/main/docs/policies.md",
    ]


def test_warnings_are_capped_with_a_count_of_the_rest() -> None:
    decision = judge(CROWDED, cap=Mode.WARN)
    assert decision.allowed
    assert len(decision.warnings) == messages.LISTED
    assert decision.warnings[-1] == (
        "initgate: 161 more warnings; initgate audit -f on the manifest lists them all"
    )
    assert all(len(line) <= messages.WARNING_LIMIT for line in decision.warnings)


def test_audit_annotations_are_capped_per_policy() -> None:
    decision = judge(CROWDED, cap=Mode.AUDIT)
    unbounded = decision.audit_annotations["init-unbounded"]
    assert unbounded.count("resources.limits") == messages.LISTED
    assert unbounded.endswith("; and 100 more")
    assert decision.audit_annotations["init-privileged"].endswith("; and 40 more")


PATHS = st.lists(st.sampled_from(["a", "b", "ab", "0", "-"]), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)


@given(st.lists(st.tuples(PATHS, st.integers(0, 1)), max_size=40))
def test_both_ways_of_merging_agree(ops: list[tuple[str, int]]) -> None:
    """Few operations are compared pairwise, many through sets: same patch, same errors."""
    patch = [add(path, value) for path, value in ops]
    few, many = Decision(), Decision()
    assert engine._merge_few(few, patch) == engine._merge_many(many, patch)
    assert few.errors == many.errors


@pytest.mark.parametrize(
    ("paths", "merged", "conflicts"),
    [
        (["/a/b", "/a/bc", "/a/b/c"], ["/a/b", "/a/bc"], ["/a/b/c"]),  # siblings share a prefix
        (["/a/b/c", "/a/b"], ["/a/b/c"], ["/a/b"]),  # a parent after its child
        (["/x", "/x"], ["/x"], []),  # the same operation twice: merged
    ],
)
def test_merging_patches(paths: list[str], merged: list[str], conflicts: list[str]) -> None:
    decision = Decision()
    ops = [add(path, 1) for path in paths]
    assert [op["path"] for op in engine._merge(decision, ops)] == merged
    assert [e.error for e in decision.errors] == [f"patch conflict at {p}" for p in conflicts]
    decision = Decision()
    assert engine._merge(decision, [add("/x", 1), add("/x", 2)]) == [add("/x", 1)]
    assert [e.error for e in decision.errors] == ["patch conflict at /x"]


def test_what_the_object_holds_is_clipped_in_messages() -> None:
    """A capability (or an image) of a megabyte is quoted, clipped, not copied whole."""
    huge = "A" * 2**20
    container = reviews.container(
        "x", resources=reviews.LIMITED, securityContext={"capabilities": {"add": [huge]}}
    )
    denied = judge(reviews.pod(init=[container]))
    assert not denied.allowed
    assert len(denied.message) < 2 * messages.LINE_LIMIT + 500
    assert "capabilities.add has AAAA" in denied.message
    audited = judge(reviews.pod(init=[container]), cap=Mode.AUDIT)
    assert len(audited.audit_annotations["init-privileged"]) <= messages.LINE_LIMIT
    warned = judge(reviews.pod(init=[container]), cap=Mode.WARN)
    assert all(len(line) <= messages.WARNING_LIMIT for line in warned.warnings)


def test_a_long_patch_kept_back_is_counted_not_copied_into_the_audit_annotation() -> None:
    apps = [reviews.container(f"app-{n}") for n in range(300)]
    decision = judge(reviews.pod(app=apps), webhook="mutate", cap=Mode.AUDIT)
    assert len(decision.would_patch) == 300
    note = decision.audit_annotations["would-patch"]
    assert note.startswith("300 operations (")
    assert note.endswith("characters); initgate mutate -f --patch shows them")


# ---- rules that fail, exemptions that applied --------------------------------------------------

TEN = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
BOMB = f"{TEN}.all(a, {TEN}.all(b, {TEN}.all(c, {TEN}.all(d, {TEN}.all(e, true)))))"
"""A hundred thousand iterations whose estimate (about 455,000 units) is within the budget:
only the runtime's iteration limit stops it."""


def rule(rule_id: str, expression: str, **fields: Any) -> dict[str, Any]:
    return {"id": rule_id, "description": "A rule.", "expression": expression, **fields}


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        (BOMB, "exceeded the cost limit (10,000 comprehension iterations in one evaluation)"),
        ("container.livenessProbe.periodSeconds < 30", 'Key not found in map : "livenessProbe"'),
    ],
    ids=["iteration-budget", "missing-field"],
)
def test_a_rule_that_fails_is_a_policy_error_naming_the_rule_and_the_container(
    expression: str, error: str
) -> None:
    decision = judge(BAD_POD, config={"rules": [rule("hostile", expression)]})
    (failed,) = [e for e in decision.errors if e.policy == "hostile"]
    # the app container fails alike: counted, not repeated
    assert (failed.location, failed.error) == (
        'init "setup" (spec.initContainers[0])',
        f"{error} (and 1 more)",
    )
    assert not decision.verdicts or all(v.policy != "hostile" for v in decision.verdicts)


def test_a_pod_finding_exempt_by_several_image_exemptions_names_each_once() -> None:
    config = {
        "exemptions": {"images": [{"image": "busybox:*"}, {"image": "nginx:*", "reason": "x"}]},
        "rules": [rule("no-pods", "false", scope="pod")],
    }
    init = reviews.container("setup", resources=reviews.LIMITED)
    decision = judge(reviews.pod(init=[init]), config=config)
    assert "no-pods" not in decision.policies
    assert decision.exemptions == ["exemptions.images[0]", "exemptions.images[1]"]
