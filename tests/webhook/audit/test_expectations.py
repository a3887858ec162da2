"""`initgate test`'s results, case by case: what makes a policy or rule pass, fail, warn, skip or
error on an object, and what an unmet expectation says about why."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.base import Container, Context, Finding, Mode, PodView, Role
from policies.base import add as add_op
from policies.policy import Policy, PolicySettings
from tests.support import reviews
from webhook.audit.expectations import Unmet, check
from webhook.audit.testcases import read
from webhook.audit.testfile import Result
from webhook.core.config import Config
from webhook.core.exemptions import Who
from webhook.core.plan import Plan, Rule

CONFIG = {
    "exemptions": {"groups": ["platform-admins"]},
    "rules": [
        {
            "id": "digest",
            "description": "Init images are pinned by digest.",
            "roles": ["init"],
            "expression": "container.image.contains('@sha256:')",
            "message": "pin the image by digest",
            "exemptions": {
                "users": ["release-bot"],
                "images": [{"image": "registry.example.com/*"}],
            },
        },
        {
            "id": "advice",
            "description": "Init containers set a termination message policy.",
            "roles": ["init"],
            "mode": "warn",
            "expression": "has(container.terminationMessagePolicy)",
        },
        {
            "id": "retired",
            "description": "A rule switched off.",
            "mode": "off",
            "expression": "false",
        },
        {
            "id": "run-as",
            "description": "Init containers say their user.",
            "roles": ["init"],
            "expression": "container.securityContext.runAsUser >= 0",
        },
    ],
}
SETUP = reviews.container("setup", resources=reviews.LIMITED, securityContext={"runAsUser": 1})
BARE_APP = reviews.container("app", "nginx:1.27")
MANIFESTS = [
    reviews.pod(init=[SETUP], name="tagged"),
    reviews.pod(init=[{**SETUP, "image": f"busybox@sha256:{'a' * 64}"}], name="pinned"),
    reviews.pod(init=[{**SETUP, "image": "registry.example.com/setup:1"}], name="internal"),
    reviews.pod(init=[{**SETUP, "securityContext": {}}], name="no-user"),
    reviews.pod(init=[SETUP], app=[BARE_APP], name="bare"),
    reviews.workload("Deployment", reviews.pod(init=[SETUP], app=[BARE_APP])["spec"]),
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}},
]
ANYWHERE = reviews.pod(init=[SETUP], name="anywhere")
del ANYWHERE["metadata"]["namespace"]
MANIFESTS.append(ANYWHERE)
DIGEST_FOUND = 'deny digest: init "setup" (spec.initContainers[0]): pin the image by digest'
NOT_MUTATED = (
    "not judged: the mutating webhook patches the pods a Deployment's controller creates, not "
    "the Deployment itself (test the mutation on a Pod)"
)

CASES: dict[str, tuple[dict[str, Any], str, Result, tuple[str, ...]]] = {
    "found, enforced": ({"object": "Pod/tagged"}, "digest", "fail", (DIGEST_FOUND,)),
    "found, in a warn namespace": (
        {"object": "Pod/tagged", "mode": "warn"},
        "digest",
        "warn",
        (DIGEST_FOUND.replace("deny", "warn"),),
    ),
    "found, in an audit namespace": (
        {"object": "Pod/tagged", "mode": "audit"},
        "digest",
        "warn",
        (DIGEST_FOUND.replace("deny", "audit"),),
    ),
    "found by a warn-mode rule": (
        {"object": "Pod/tagged"},
        "advice",
        "warn",
        (
            'warn advice: init "setup" (spec.initContainers[0]): Init containers set a '
            "termination message policy.",
        ),
    ),
    "nothing found": ({"object": "Pod/pinned"}, "digest", "pass", ("nothing found",)),
    "off": (
        {"object": "Pod/tagged"},
        "retired",
        "skip",
        ("not judged: it is off in the configuration",),
    ),
    "every finding lifted by an image exemption": (
        {"object": "Pod/internal"},
        "digest",
        "skip",
        ("not judged: exempt (rules[0].exemptions.images[0])",),
    ),
    "the rule's own user exemption": (
        {"object": "Pod/tagged", "user": "release-bot"},
        "digest",
        "skip",
        ("not judged: exempt (rules[0].exemptions.users[0])",),
    ),
    "a global group exemption": (
        {"object": "Pod/tagged", "groups": ["platform-admins"]},
        "digest",
        "skip",
        ("not judged: the object is exempt (exemptions.groups[0])",),
    ),
    "an exempt namespace": (
        {"object": "Pod/anywhere", "namespace": "kube-system"},
        "digest",
        "skip",
        ("not judged: the object is exempt (exemptions.namespaces[0])",),
    ),
    "a rule that fails on a value": (
        {"object": "Pod/no-user"},
        "run-as",
        "error",
        (
            'could not evaluate: init "setup" (spec.initContainers[0]): Key not found in map : '
            '"runAsUser"',
        ),
    ),
    "a mutation applied": (
        {"object": "Pod/bare"},
        "default-resources",
        "fail",
        (
            'patch default-resources: app "app" (spec.containers[0]): set requests cpu=100m '
            "memory=128Mi, limits memory=256Mi",
        ),
    ),
    "a mutation kept back": (
        {"object": "Pod/bare", "mode": "warn"},
        "default-resources",
        "warn",
        (
            'warn default-resources: app "app" (spec.containers[0]): set requests cpu=100m '
            "memory=128Mi, limits memory=256Mi",
        ),
    ),
    "a workload's template, validated": (
        {"object": "Deployment/web"},
        "digest",
        "fail",
        (DIGEST_FOUND.replace("spec.", "spec.template.spec."),),
    ),
    "a workload, for a mutating policy": (
        {"object": "Deployment/web"},
        "default-resources",
        "skip",
        (NOT_MUTATED,),
    ),
    "a kind initgate does not judge": (
        {"object": "ConfigMap/settings"},
        "digest",
        "skip",
        ("not judged: initgate judges Pods and workloads, not a ConfigMap",),
    ),
    "an UPDATE that changes nothing judged": (
        {"object": "Pod/pod-a-two-init"},
        "init-privileged",
        "skip",
        ("not judged: the update changes nothing initgate judges",),
    ),
    "kubectl debug's ephemeral container": (
        {"object": "Pod/demo/pod-a-two-init"},
        "init-privileged",
        "pass",
        ("nothing found",),
    ),
}


def suite_file(folder: Path, expectation: dict[str, Any]) -> Path:
    (folder / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (folder / "objects.yaml").write_text(yaml.safe_dump_all(MANIFESTS))
    reviews_folder = folder / "reviews"
    reviews_folder.mkdir(exist_ok=True)
    name = "pod-ephemeral-kubectl-debug" if "demo" in expectation["object"] else "pod-update-label"
    shutil.copy(reviews.REVIEWS / f"{name}.validate.json", reviews_folder / f"{name}.json")
    test = {
        "config": "config.yaml",
        "manifests": ["objects.yaml", f"reviews/{name}.json"],
        "expect": [expectation],
    }
    path = folder / "case.initgate-test.yaml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    return path


@pytest.mark.parametrize(("expectation", "policy", "result", "why"), CASES.values(), ids=CASES)
def test_results(
    tmp_path: Path, expectation: dict[str, Any], policy: str, result: Result, why: tuple[str, ...]
) -> None:
    """Each case expects the result it gets (met), then another (unmet, saying why)."""
    met = suite_file(tmp_path, {**expectation, "results": {policy: result}})
    assert check(read(met)) == (1, [])
    other = "fail" if result == "pass" else "pass"
    unmet = suite_file(tmp_path, {**expectation, "results": {policy: other}})
    count, found = check(read(unmet))
    title = found[0].what.split(":")[0] if found else ""
    assert (count, found) == (
        1,
        [Unmet(found[0].line, f"{title}: {policy}: expected {other}, got {result}", why)],
    )


RESOURCES = "add /spec/containers/0/resources {requests: {cpu: 100m, memory: 128Mi}, limits: {memory: 256Mi}}"
PATCHED: dict[str, tuple[dict[str, Any], str | None, tuple[str, ...]]] = {
    "set": ({"spec.containers[0].resources.requests.cpu": "100m"}, None, (RESOURCES,)),
    "set, the container by its name": (
        {"spec.containers[app].resources.limits": {"memory": "256Mi"}},
        None,
        (RESOURCES,),
    ),
    "another value": (
        {"spec.containers[app].resources.requests.memory": "1Gi"},
        "expected 1Gi, got 128Mi",
        (RESOURCES,),
    ),
    "not set": (
        {"spec.containers[0].resources.limits.cpu": "1"},
        "expected '1', not set",
        (RESOURCES,),
    ),
    "there already": (
        {"spec.initContainers[setup].resources.limits.cpu": "200m"},
        "expected 200m: it is, but the object had it already",
        (RESOURCES,),
    ),
    "true is not 1": (
        {
            "spec.containers[0].resources.requests": {"cpu": "100m", "memory": "128Mi"},
            "spec.containers[0].name": True,
        },
        "expected true, got app",
        (RESOURCES,),
    ),
}


@pytest.mark.parametrize(("fields", "unmet", "why"), PATCHED.values(), ids=PATCHED)
def test_fields_a_mutation_sets(
    tmp_path: Path, fields: dict[str, Any], unmet: str | None, why: tuple[str, ...]
) -> None:
    path = suite_file(tmp_path, {"object": "Pod/bare", "patched": fields})
    count, found = check(read(path))
    assert count == len(fields)
    field = list(fields)[-1]
    expected = (
        []
        if unmet is None
        else [Unmet(found[0].line, f"Pod demo/bare: patched {field}: {unmet}", why)]
    )
    assert found == expected


def test_a_mutation_warn_mode_keeps_back_sets_nothing(tmp_path: Path) -> None:
    fields = {"spec.containers[0].resources.requests.cpu": "100m"}
    path = suite_file(tmp_path, {"object": "Pod/bare", "mode": "warn", "patched": fields})
    assert check(read(path))[1] == [
        Unmet(
            9,
            "Pod demo/bare (mode warn): patched spec.containers[0].resources.requests.cpu: "
            "expected 100m, not set",
            (
                "the mutating webhook applies no patch",
                f"kept back by warn or audit mode: {RESOURCES}",
            ),
        )
    ]


def _broken(view: PodView, _: Context, __: PolicySettings) -> list[Finding]:
    container: Container = view.containers[-1]  # bare: no resources, so no `limits` either
    bad = add_op(f"{container.path}/resources/limits/cpu", "1")
    return [Finding("bad", "set resources.limits.cpu=1", Role.APP, container, patch=(bad,))]


def test_a_patch_that_does_not_apply_leaves_every_expectation_unmet(tmp_path: Path) -> None:
    """A policy's bug (the API server would fail the request): nothing can be checked, and the
    command says so rather than raising."""
    fields = {"spec.containers[0].resources.requests.cpu": "100m"}
    suite = read(
        suite_file(
            tmp_path, {"object": "Pod/bare", "results": {"digest": "pass"}, "patched": fields}
        )
    )
    policy = Policy("broken", "mutate", "test", "none", PolicySettings, _broken)
    rule = Rule(policy, PolicySettings(), Mode.ENFORCE, Who.of(Config().exemptions), ())
    suite.plan = Plan(suite.plan.config, suite.plan.who, suite.plan.validate, (rule,))
    why = (
        "the mutating webhook's patch does not apply: add operation does not apply: doc is "
        "missing path: /spec/containers/0/resources/limits/cpu",
    )
    assert check(suite) == (
        2,
        [
            Unmet(8, "Pod demo/bare: digest: expected pass, got none", why),
            Unmet(10, "Pod demo/bare: patched spec.containers[0].resources.requests.cpu", why),
        ],
    )
