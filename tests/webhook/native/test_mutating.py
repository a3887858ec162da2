"""The generated mutating policies as objects (which exist for which modes and versions, what
they are bound with, valid for Kubernetes 1.36), and the API server's side the tests run them
on: JSON Patch as evanphx/json-patch v4 applies it, failurePolicy, reinvocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support import json_patch, kube
from tests.support.admission_policies import request_for
from tests.support.mutating_policies import mutate
from tests.support.reviews import pod
from webhook.core.config import Config
from webhook.native import readonly, resources, sizelimit
from webhook.native.export import Options, generate
from webhook.native.literals import Setting, glob_regex
from webhook.native.mutating import PATCH

LABELS = {"kubernetes.io/metadata.name": "demo"}


def _kinds(config: dict[str, Any], kubernetes: tuple[int, int] = (1, 36)) -> list[str]:
    objects = generate(Config.model_validate(config), Options(kubernetes=kubernetes)).objects
    return [
        f"{o['kind']} {o['metadata']['name']}"
        for o in objects
        if o["metadata"]["labels"]["initgate.io/policy"] == "default-resources"
    ]


@pytest.mark.parametrize(
    ("config", "kinds"),
    [
        pytest.param(
            {},
            [
                "MutatingAdmissionPolicy initgate-default-resources",
                "MutatingAdmissionPolicyBinding initgate-default-resources-enforce",
                "ValidatingAdmissionPolicy initgate-default-resources",
                "ValidatingAdmissionPolicyBinding initgate-default-resources-warn",
                "ValidatingAdmissionPolicyBinding initgate-default-resources-audit",
            ],
            id="enforce-everywhere-it-may",
        ),
        pytest.param(
            {"mode": "warn"},
            [
                "ValidatingAdmissionPolicy initgate-default-resources",
                "ValidatingAdmissionPolicyBinding initgate-default-resources-enforce",
                "ValidatingAdmissionPolicyBinding initgate-default-resources-warn",
                "ValidatingAdmissionPolicyBinding initgate-default-resources-audit",
            ],
            id="warn-mutates-nowhere",
        ),
        pytest.param({"policies": {"default-resources": {"mode": "off"}}}, [], id="off"),
    ],
)
def test_a_map_is_bound_only_where_the_policy_enforces(
    config: dict[str, Any], kinds: list[str]
) -> None:
    assert _kinds(config) == kinds


def test_before_kubernetes_1_36_no_map_and_a_note() -> None:
    export = generate(Config.model_validate({}), Options(kubernetes=(1, 35)))
    assert not [o for o in export.objects if o["kind"].startswith("Mutating")]
    assert (
        "default-resources: not generated: MutatingAdmissionPolicy is GA from Kubernetes 1.36; "
        "keep the mutating webhook"
    ) in export.notes


@pytest.mark.parametrize(
    ("config", "noted", "unnoted"),
    [
        pytest.param(
            {},
            ["would-patch audit annotation", "emptyDir may get a larger sizeLimit", "scripts"],
            ["matched literally"],
            id="default",
        ),
        pytest.param(
            {"policies": {"default-resources": {"mode": "warn"}}},
            ["would-patch audit annotation"],
            ["emptyDir may get a larger sizeLimit"],
            id="defaults-never-mutate-first",
        ),
        pytest.param(
            {
                "policies": {
                    "readonly-mounts": {
                        "ignorePreparingInits": False,
                        "writableVolumes": ["cache-[ab]"],
                    }
                }
            },
            ["matched literally"],
            ["scripts"],
            id="readonly-settings",
        ),
    ],
)
def test_what_the_native_policies_do_differently_is_noted(
    config: dict[str, Any], noted: list[str], unnoted: list[str]
) -> None:
    notes = " ".join(generate(Config.model_validate(config)).notes)
    notes = notes.replace("script with regular", "scripts")
    assert [n for n in noted if n not in notes] == []
    assert [n for n in unnoted if n in notes] == []


SETTINGS: dict[str, Callable[[Any], list[Setting]]] = {
    resources.ID: resources.settings_of,
    sizelimit.ID: sizelimit.settings_of,
    readonly.ID: readonly.settings_of,
}
DERIVED = {
    "writableVolumes": (
        'include "initgate.nativeGlobs" (index $config "policies" "readonly-mounts" '
        '"writableVolumes")'
    )
}
"""What the chart computes from a setting rather than copies: one RE2 expression of its globs."""


@pytest.mark.parametrize("policy", SETTINGS)
def test_each_setting_is_the_configurations_and_the_chart_reads_it_there(policy: str) -> None:
    """A setting's variable is named as its key in the configuration, holds its value (a glob
    list: as one regular expression) and tells the chart where to read it."""
    config = Config.model_validate(
        {"policies": {readonly.ID: {"writableVolumes": ["a*"], "roles": ["app", "sidecar"]}}}
    )
    settings = config.policy(policy)
    dumped = settings.model_dump(by_alias=True, mode="json")
    for setting in SETTINGS[policy](settings):
        at = f'index $config "policies" "{policy}" "{setting.name}"'
        if setting.name in DERIVED:
            assert setting.template == DERIVED[setting.name]
            assert setting.value == glob_regex(dumped[setting.name])
        else:
            assert (setting.template, setting.value) == (at, dumped[setting.name])


@pytest.mark.parametrize(
    "config",
    [{}, {"mode": "warn"}, {"onPolicyError": "deny", "exemptions": {"users": ["ci-*"]}}],
)
def test_every_object_is_valid_for_kubernetes_1_36(config: dict[str, Any]) -> None:
    for obj in generate(Config.model_validate(config)).objects:
        kube.validate(obj, "1.36")


def test_the_map_reinvokes_and_patches_pods_only() -> None:
    policy = next(
        o
        for o in generate(Config.model_validate({})).objects
        if o["kind"] == "MutatingAdmissionPolicy"
    )
    spec = policy["spec"]
    assert spec["reinvocationPolicy"] == "IfNeeded"
    assert spec["failurePolicy"] == "Ignore"  # onPolicyError: allow
    assert spec["mutations"] == [{"patchType": "JSONPatch", "jsonPatch": {"expression": PATCH}}]
    assert {r["resources"][0] for r in spec["matchConstraints"]["resourceRules"]} == {
        "pods",
        "pods/ephemeralcontainers",
    }


DOC = {"spec": {"containers": [{"name": "a"}], "labels": {"x": "1"}}}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        pytest.param(
            [{"op": "add", "path": "/spec/containers/-", "value": {"name": "b"}}],
            {"spec": {"containers": [{"name": "a"}, {"name": "b"}], "labels": {"x": "1"}}},
            id="append",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/0", "value": {"name": "z"}}],
            {"spec": {"containers": [{"name": "z"}, {"name": "a"}], "labels": {"x": "1"}}},
            id="insert",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/containers/-1", "value": {"name": "z"}}],
            {"spec": {"containers": [{"name": "a"}, {"name": "z"}], "labels": {"x": "1"}}},
            id="negative-index",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/labels/a~1b", "value": "2"}],
            {"spec": {"containers": [{"name": "a"}], "labels": {"x": "1", "a/b": "2"}}},
            id="escaped-key",
        ),
        pytest.param(
            [{"op": "add", "path": "/spec/annotations/x", "value": "1"}],
            json_patch.PatchFailedError,
            id="add-needs-a-parent",
        ),
        pytest.param(
            [{"op": "replace", "path": "/spec/labels/y", "value": "1"}],
            json_patch.PatchFailedError,
            id="replace-needs-a-member",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/labels/x", "value": 1}],
            json_patch.TestFailedError,
            id="test-compares-json",
        ),
        pytest.param(
            [{"op": "test", "path": "/spec/labels/y", "value": None}],
            DOC,
            id="test-absent-is-null",
        ),
    ],
)
def test_the_harness_applies_json_patch_as_evanphx_v4(ops: Any, expected: Any) -> None:
    if isinstance(expected, type):
        with pytest.raises(expected):
            json_patch.apply(DOC, ops)
    else:
        assert json_patch.apply(DOC, ops) == expected


def _policy(expression: str, *, failure: str = "Fail") -> list[dict[str, Any]]:
    spec = {
        "failurePolicy": failure,
        "reinvocationPolicy": "IfNeeded",
        "matchConstraints": {
            "resourceRules": [{"apiGroups": [""], "operations": ["CREATE"], "resources": ["pods"]}]
        },
        "mutations": [{"patchType": "JSONPatch", "jsonPatch": {"expression": expression}}],
    }
    binding = {"policyName": "p", "matchResources": {"namespaceSelector": {}}}
    return [
        {"kind": "MutatingAdmissionPolicy", "metadata": {"name": "p"}, "spec": spec},
        {"kind": "MutatingAdmissionPolicyBinding", "metadata": {"name": "b"}, "spec": binding},
    ]


@pytest.mark.parametrize(
    ("expression", "failure", "labelled", "errors"),
    [
        pytest.param(
            "[JSONPatch{op: 'add', path: '/metadata/labels', value: {'a': 'b'}}]",
            "Fail",
            {"a": "b"},
            0,
            id="applied",
        ),
        pytest.param(
            "[JSONPatch{op: 'test', path: '/metadata/name', value: 'other'},"
            " JSONPatch{op: 'add', path: '/metadata/labels', value: {'a': 'b'}}]",
            "Fail",
            None,
            0,
            id="failing-test-skips-silently",
        ),
        pytest.param(
            "[JSONPatch{op: 'add', path: '/metadata/labels/a', value: 'b'}]",
            "Fail",
            None,
            1,
            id="missing-parent-fails",
        ),
        pytest.param(
            "[JSONPatch{op: 'add', path: '/metadata/labels/a', value: 'b'}]",
            "Ignore",
            None,
            0,
            id="ignored-failure",
        ),
        pytest.param("object.spec.nothing", "Fail", None, 1, id="evaluation-error"),
    ],
)
def test_the_harness_runs_mutations_as_the_api_server(
    expression: str, failure: str, labelled: Any, errors: int
) -> None:
    review = request_for(pod())
    mutation = mutate(_policy(expression, failure=failure), review, LABELS)
    assert mutation.object["metadata"].get("labels") == labelled
    assert len(mutation.errors) == errors


def test_the_harness_reinvokes_once_when_a_round_changed_something() -> None:
    counter = (
        "[JSONPatch{op: 'add', path: '/metadata/labels',"
        " value: {'n': string(int(object.metadata.?labels.?n.orValue('0')) + 1)}}]"
    )
    review = request_for(pod())
    mutation = mutate(_policy(counter), review, LABELS)
    assert (mutation.object["metadata"]["labels"], mutation.changed) == ({"n": "2"}, ["p", "p"])
