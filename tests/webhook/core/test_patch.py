"""The audit's patch application: the same result as jsonpatch (the reference), the original left
alone, untouched parts shared, and a patch that does not apply refused as the API server does."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from policies.base import Container, Context, Finding, Mode, PodView, Role
from policies.base import add as add_op
from policies.policy import Policy, PolicySettings
from tests.support import reviews
from webhook.audit.evaluate import Target, evaluate
from webhook.core.config import Config
from webhook.core.exemptions import Who
from webhook.core.patch import PatchError, apply
from webhook.core.plan import Plan, Rule, compile_plan

POD = reviews.pod(
    init=[reviews.container("a", resources={})],
    volumes=[{"name": "v", "emptyDir": {}}],
    annotations={"x/y": "1"},
)


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "add", "path": "/spec/initContainers/0/resources/limits", "value": {"cpu": "1"}}],
        [{"op": "add", "path": "/spec/volumes/0/emptyDir/sizeLimit", "value": "1Gi"}],
        [{"op": "add", "path": "/spec/volumes/1", "value": {"name": "w", "emptyDir": {}}}],
        [{"op": "add", "path": "/spec/volumes/0", "value": {"name": "first", "emptyDir": {}}}],
        [{"op": "add", "path": "/spec/volumes/-", "value": {"name": "last", "emptyDir": {}}}],
        [{"op": "add", "path": "/metadata/annotations/a~1b~0c", "value": "escaped"}],
        [
            {"op": "add", "path": "/spec/initContainers/0/resources/limits", "value": {}},
            {"op": "add", "path": "/spec/initContainers/0/resources/limits/cpu", "value": "1"},
        ],
        [{"op": "replace", "path": "/spec/containers/0/image", "value": "nginx:1.28"}],
    ],
)
def test_same_result_as_jsonpatch_and_the_original_untouched(ops: list[Any]) -> None:
    before = copy.deepcopy(POD)
    patched = apply(POD, ops)
    assert patched == jsonpatch.apply_patch(POD, ops, in_place=False)
    assert before == POD


def test_what_the_patch_does_not_touch_is_shared() -> None:
    ops: list[Any] = [{"op": "add", "path": "/spec/volumes/0/emptyDir/sizeLimit", "value": "1Gi"}]
    patched = apply(POD, ops)
    assert patched["spec"]["containers"] is POD["spec"]["containers"]
    assert patched["spec"]["volumes"] is not POD["spec"]["volumes"]


@pytest.mark.parametrize(
    "path",
    [
        "/spec/initContainers/7/resources/limits",
        "/spec/nothing/here",
        "/spec/volumes/3",
        "/spec/volumes/x",
        "/metadata/name/x",
    ],
)
def test_a_path_that_does_not_exist_is_refused(path: str) -> None:
    with pytest.raises(PatchError, match="add operation does not apply"):
        apply(POD, [{"op": "add", "path": path, "value": 1}])


def _broken(view: PodView, _: Context, __: PolicySettings) -> list[Finding]:
    container: Container = view.containers[0]
    bad = add_op(f"{container.path}/resources/limits/cpu", "1")  # `limits` does not exist
    return [Finding("bad", "set resources.limits.cpu=1", Role.APP, container, patch=(bad,))]


def test_a_patch_that_does_not_apply_is_reported_as_the_denial_it_would_cause() -> None:
    """The API server fails a request whose patch does not apply: the audit says so."""
    policy = Policy("broken", "mutate", "test", "none", PolicySettings, _broken)
    base = compile_plan(Config())
    rule = Rule(policy, PolicySettings(), Mode.ENFORCE, Who.of(Config().exemptions), ())
    plan = Plan(base.config, base.who, base.validate, (rule,))
    pod = reviews.pod(app=[reviews.container("app", "nginx:1.27", resources={})])
    audited = evaluate(Target(obj=pod, namespace="demo"), plan)
    assert audited.outcome == "denied"
    assert audited.patch == []
    assert audited.errors == [
        "engine: the patch does not apply: add operation does not apply: doc is missing path: "
        "/spec/containers/0/resources/limits/cpu"
    ]
