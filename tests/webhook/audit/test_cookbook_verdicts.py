"""The cookbook's rules give the same verdicts on the same objects wherever they are judged: the
HTTPS server (as the API server calls it: mutate, apply the patch, validate), `initgate review`,
`initgate audit -f` and `initgate audit --cluster` against the replay API server.

The objects are those of the cookbook's test files (docs/rules/tests), each in a namespace named
after its rule, and the pod `kubectl debug` left with an ephemeral container, as stored; the
namespaces of two rules are in warn mode (their label, the endpoint, `--mode`). The
built-in validating policies are off, so that a denial lists every rule's finding (it lists 20,
and some of these objects have more problems than that); the mutating ones run, as in a cluster.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.support import reviews
from tests.support.server import Served, start
from tests.webhook.audit.apiserver import Replay
from webhook.cli.main import main
from webhook.core.patch import apply

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
COOKBOOK = ROOT / "docs" / "rules" / "cookbook.yaml"
TESTS = COOKBOOK.parent / "tests"
RULES = frozenset(rule["id"] for rule in yaml.safe_load(COOKBOOK.read_text())["rules"])
RESOURCES = {
    "Pod": "pods",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "ReplicaSet": "replicasets",
    "ReplicationController": "replicationcontrollers",
    "Job": "jobs",
    "CronJob": "cronjobs",
}
WARNED = ("sidecar-probe", "init-termination-log")
"""Namespaces labelled initgate.io/mode=warn (whose objects have fewer than 20 findings: an
answer's warnings list 20)."""
Key = tuple[str, str, str]
Verdict = list[tuple[str, str, str]]
"""(rule, container or `pod`, action) of every cookbook rule's finding on an object, sorted."""


def cookbook_objects() -> list[dict[str, Any]]:
    found = []
    for file in sorted(TESTS.glob("*.initgate-test.yaml")):
        rule = file.name.removesuffix(".initgate-test.yaml")
        for entry in yaml.safe_load(file.read_text())["manifests"]:
            listed = [entry]
            if isinstance(entry, str):
                listed = list(yaml.safe_load_all((TESTS / entry).read_text()))
            for document in listed:
                obj = document
                if document["kind"] == "AdmissionReview":  # the pod it leaves, as stored
                    obj = document["request"]["object"]
                    # a copy of the replay's own pod: the scan would take it for that one
                    del obj["metadata"]["uid"]
                obj["metadata"]["namespace"] = rule
                found.append(obj)
    return found


OBJECTS = cookbook_objects()


def key(obj: dict[str, Any]) -> Key:
    return obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]


_LOCATION = re.compile(r'^[a-z]+ "(?P<name>[^"]*)"')


def _container(location: str, obj: dict[str, Any]) -> str:
    """The container a line names; a warning shortens a name to fit its 120 characters
    (`sidecar "pr…"`), which stands for the one container whose name begins so."""
    match = _LOCATION.match(location)
    if match is None:
        return "pod"
    name = match.group("name")
    if not name.endswith("…"):
        return name
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    spec = spec if obj["kind"] == "Pod" else spec["template"]["spec"]
    names = [
        c["name"]
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key, [])
        if c["name"].startswith(name[:-1])
    ]
    (whole,) = names
    return str(whole)


def from_answer(response: dict[str, Any], obj: dict[str, Any]) -> Verdict:
    """The rules' findings in a validating webhook's answer: its denial's lines and warnings."""
    found = []
    for line in response.get("status", {}).get("message", "").splitlines():
        policy, _, rest = line.removeprefix("- ").partition(": ")
        if line.startswith("- ") and policy in RULES:
            found.append((policy, _container(rest, obj), "deny"))
    for warning in response.get("warnings", []):
        policy, _, rest = warning.removeprefix("initgate ").partition(": ")
        if policy in RULES:
            found.append((policy, _container(rest, obj), "warn"))
    return sorted(found)


def from_audit(report: dict[str, Any], namespaces: set[str]) -> dict[Key, Verdict]:
    return {
        (o["kind"], o["namespace"], o["name"]): sorted(
            (f["policy"], f["container"] or "pod", f["action"])
            for f in o["findings"]
            if f["policy"] in RULES
        )
        for o in report["objects"]
        if o["namespace"] in namespaces
    }


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    content = yaml.safe_load(COOKBOOK.read_text())
    off = {"mode": "off"}
    content["policies"] = {"init-privileged": off, "init-unbounded": off, "init-lint": off}
    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_text(yaml.safe_dump(content))
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, config: Path) -> Iterator[Served]:
    served = start(tmp_path_factory.mktemp("server"), config_path=config)
    yield served
    assert served.stop() == 0, served.logs()


def through_the_server(served: Served) -> dict[Key, Verdict]:
    found = {}
    with served.client() as client:
        for obj in OBJECTS:
            namespace = obj["metadata"]["namespace"]
            review = reviews.review_of(obj, namespace=namespace, username="initgate-offline")
            mode = "/warn" if namespace in WARNED else ""
            mutated = client.post(f"/mutate{mode}?timeout=10s", json=review).json()["response"]
            if "patch" in mutated:
                ops = orjson.loads(base64.b64decode(mutated["patch"]))
                review["request"]["object"] = apply(obj, ops)
            answer = client.post(f"/validate{mode}?timeout=10s", json=review).json()["response"]
            found[key(obj)] = from_answer(answer, obj)
    return found


def through_review(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> dict[Key, Verdict]:
    found = {}
    for index, obj in enumerate(OBJECTS):
        file = tmp_path / f"object-{index}.yaml"
        file.write_text(yaml.safe_dump(obj))
        mode = "warn" if obj["metadata"]["namespace"] in WARNED else "enforce"
        main(["review", str(file), "--config", str(config), "--mode", mode, "-o", "json"])
        answers = json.loads(capsys.readouterr().out)
        found[key(obj)] = from_answer(answers["validate"]["response"], obj)
    return found


def test_the_cookbook_judges_alike_everywhere(
    server: Served,
    config: Path,
    replay: Replay,
    kubeconfig: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    namespaces = {obj["metadata"]["namespace"] for obj in OBJECTS}
    served = through_the_server(server)
    # Each rule finds something on some objects and nothing on others: the comparisons below
    # are not of empty sets.
    for rule in RULES:
        found = [any(r == rule for r, _, _ in verdict) for verdict in served.values()]
        assert any(found), rule
        assert not all(found), rule
    actions = {action for verdict in served.values() for _, _, action in verdict}
    assert actions == {"deny", "warn"}

    assert through_review(tmp_path, config, capsys) == served

    audited: dict[Key, Verdict] = {}
    for mode in ("enforce", "warn"):
        manifests = tmp_path / f"{mode}.yaml"
        chosen = [o for o in OBJECTS if (o["metadata"]["namespace"] in WARNED) == (mode == "warn")]
        manifests.write_text(yaml.safe_dump_all(chosen))
        main(["audit", "-f", str(manifests), "--config", str(config), "-o", "json", "--mode", mode])
        audited.update(from_audit(json.loads(capsys.readouterr().out), namespaces))
    assert audited == served

    replay.state.extra = {"namespaces": [namespace_of(name) for name in sorted(namespaces)]}
    replay.state.labels = {name: {"initgate.io/mode": "warn"} for name in WARNED}
    for obj in OBJECTS:
        replay.state.extra.setdefault(RESOURCES[obj["kind"]], []).append(obj)
    argv = ["audit", "--cluster", "--kubeconfig", str(kubeconfig), "--config", str(config)]
    main([*argv, "-o", "json"])
    assert from_audit(json.loads(capsys.readouterr().out), namespaces) == served


def namespace_of(name: str) -> dict[str, Any]:
    labels = {"kubernetes.io/metadata.name": name}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
