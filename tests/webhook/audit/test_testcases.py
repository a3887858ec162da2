"""`initgate test` files resolved: the configuration, manifests, objects and policies they name,
and each problem with its line; a file with one is not run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.support import reviews
from webhook.audit.testcases import read
from webhook.audit.testfile import BrokenError

POD = "{apiVersion: v1, kind: Pod, metadata: {name: web}, spec: {containers: [{name: app, image: nginx}]}}"
OBJECTS = yaml.safe_dump_all(
    [
        reviews.pod(name="web"),
        {**reviews.pod(name="web"), "metadata": {"name": "web", "namespace": "other"}},
        reviews.workload("Deployment", reviews.pod()["spec"], name="api"),
    ]
)
BROKEN = {
    "a configuration that is not there": (
        f"config: missing.yaml\nmanifests: [{POD}]\nexpect: [{{object: Pod/web, results: {{x: pass}}}}]\n",
        ["1: configuration refused: {dir}/missing.yaml: cannot read: No such file or directory"],
    ),
    "a configuration refused": (
        f"config: bad.yaml\nmanifests: [{POD}]\nexpect: [{{object: Pod/web, results: {{x: pass}}}}]\n",
        [
            "1: configuration refused: {dir}/bad.yaml:1: mode: expected one of off, audit, "
            "warn, enforce, not 'loud'"
        ],
    ),
    "manifests that cannot be read": (
        "manifests:\n  - missing.yaml\n  - {kind: Pod}\n  - broken.yaml\n"
        "expect: [{object: Pod/web, results: {x: pass}}]\n",
        [
            "2: manifests[0]: {dir}/missing.yaml: no such file or directory",
            "3: manifests[1] has no apiVersion",
            "4: manifests[2]: {dir}/broken.yaml: document 1 (line 1): has no kind",
        ],
    ),
    "an object that is not there, or not one": (
        "manifests: [objects.yaml]\nexpect:\n"
        "  - {object: Pod/api, results: {init-privileged: pass}}\n"
        "  - {object: Pod/web, results: {init-privileged: pass}}\n"
        "  - {object: Pod/demo/web, results: {init-privileged: pass}}\n",
        [
            "3: no object Pod/api in the manifests",
            "4: Pod/web is 2 objects: name it Kind/namespace/name",
        ],
    ),
    "a policy or rule the configuration does not have": (
        "manifests: [objects.yaml]\nexpect:\n"
        "  - object: Deployment/api\n    results:\n      init-privileged: pass\n"
        "      init-privilege: pass\n      no-latest: fail\n",
        [
            "6: expect[0].results: 'init-privilege' is neither a policy nor a rule of the "
            "configuration (did you mean 'init-privileged'?)",
            "7: expect[0].results: 'no-latest' is neither a policy nor a rule of the "
            "configuration (known: init-privileged, init-unbounded, init-lint, "
            "default-resources, emptydir-sizelimit, readonly-mounts)",
        ],
    ),
    "fields a workload's mutation cannot set": (
        "manifests: [objects.yaml]\nexpect:\n"
        "  - object: Deployment/api\n    patched:\n      spec.template.spec.containers[0].name: app\n",
        [
            "5: expect[0].patched: the mutating webhook does not patch a Deployment, only the "
            "pods its controller creates: expect the fields of a Pod"
        ],
    ),
    "a path that is not one": (
        "manifests: [objects.yaml]\nexpect:\n"
        "  - object: Pod/demo/web\n    patched:\n      spec..containers: []\n",
        ["5: expect[0].patched: 'spec..containers' is not a YAML path"],
    ),
    "an expectation of nothing": (
        "manifests: [objects.yaml]\nexpect:\n  - object: Pod/demo/web\n",
        ["3: expect[0]: expects nothing"],
    ),
    "an AdmissionReview, and a user for it": (
        "manifests: [review.json]\nexpect:\n"
        "  - {object: Pod/pod-a-two-init, user: alice, groups: [a], results: {init-lint: pass}}\n",
        ["3: expect[0]: an AdmissionReview says its own user, groups"],
    ),
    "no manifests, no expectations": (
        "manifests: []\nexpect: []\n",
        [
            "1: manifests: empty; a test needs both manifests and expect",
            "2: expect: empty; a test needs both manifests and expect",
        ],
    ),
}


@pytest.mark.parametrize(("content", "problems"), BROKEN.values(), ids=BROKEN)
def test_every_problem_is_said_with_its_line(
    tmp_path: Path, content: str, problems: list[str]
) -> None:
    (tmp_path / "objects.yaml").write_text(OBJECTS)
    (tmp_path / "bad.yaml").write_text("mode: loud\n")
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\n")
    shutil.copy(reviews.REVIEWS / "pod-update-label.validate.json", tmp_path / "review.json")
    path = tmp_path / "case.initgate-test.yaml"
    path.write_text(content)
    with pytest.raises(BrokenError) as broken:
        read(path)
    assert broken.value.problems == [f"{path}:{p.format(dir=tmp_path)}" for p in problems]


def test_a_configuration_is_compiled_once_for_every_file_that_names_it(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("mode: warn\n")
    (tmp_path / "objects.yaml").write_text(OBJECTS)
    content = "config: config.yaml\nmanifests: [objects.yaml]\n"
    content += "expect: [{object: Deployment/api, results: {init-lint: pass}}]\n"
    suites = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "initgate-test.yaml").write_text(
            content.replace("config.yaml", "../config.yaml").replace("[objects", "[../objects")
        )
        suites.append(read(tmp_path / name / "initgate-test.yaml"))
    assert suites[0].plan is suites[1].plan
