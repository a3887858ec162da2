"""init-privileged held to the Pod Security Standards, case by case (the table is in
tests/policies/pod_security.py): at both levels, the policy's verdict, and the answers that come
back through the captured-review path (a review a real kube-apiserver sent, its object replaced)
and from a real server over TLS, are the verdict Pod Security admission gives. docs/policies.md's
conformance table is checked against the same cases."""

from __future__ import annotations

import copy
import fnmatch
import glob
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from policies import init_privileged
from policies.base import Mode
from tests.policies import pods
from tests.policies.harness import evaluate, plan
from tests.policies.pod_security import CASES, CONTROLS, LEVELS, Case, Level, neutral
from tests.support import kube, reviews, server
from webhook.core import review
from webhook.core.engine import Decision, decide
from webhook.core.handler import Handler
from webhook.server.endpoint import decode

POLICY = init_privileged.POLICY
ID = POLICY.id
DOCS = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
JSON = {"content-type": "application/json"}


def config(level: Level, **settings: Any) -> dict[str, Any]:
    """The default configuration, with init-privileged at `level`."""
    return {"policies": {ID: {"level": level, **settings}}}


CAPTURED = reviews.captured("pod-create-two-init", "validate")


def review_body(obj: dict[str, Any]) -> bytes:
    """The captured review, with `obj` in place of the object the API server sent."""
    sent = copy.deepcopy(CAPTURED)
    sent["request"]["object"] = obj
    sent["request"]["name"] = obj["metadata"]["name"]
    return json.dumps(sent).encode()


def answer(body: bytes, level: Level) -> tuple[review.Response, Decision]:
    """What the webhook answers to `body` in process: decoded as the server decodes it, then
    judged by the validating endpoint's handler."""
    handler = Handler(webhook="validate", cap=Mode.ENFORCE, plan=lambda: plan(config(level)))
    return handler.answer(decode(body))


def keys(decision: Decision) -> set[str]:
    return {v.finding.key for v in decision.verdicts if v.policy == ID}


PARAMS = [pytest.param(case, level, id=f"{level}-{case.id}") for case in CASES for level in LEVELS]
DENIED = [
    pytest.param(case, level, id=f"{level}-{case.id}")
    for case in CASES
    for level in LEVELS
    if not case.admits(level)
]


def test_the_neutral_pod_is_valid_and_admitted_at_both_levels() -> None:
    kube.validate(neutral())
    for level in LEVELS:
        assert evaluate(POLICY, neutral(), level=level) == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_case_is_a_valid_pod(case: Case) -> None:
    kube.validate(case.pod())


# Controls whose pod-level cases only relax them: a Windows pod, a user namespace.
RELAXED_AT_POD = {"capabilities", "procMount", "allowPrivilegeEscalation"}


def test_every_control_has_failing_and_passing_cases_wherever_it_applies() -> None:
    for control in CONTROLS:
        cases = [c for c in CASES if c.variant.control == control.name]
        for level in LEVELS:
            enforced = LEVELS.index(level) >= LEVELS.index(control.level)
            for where in {c.where for c in cases}:
                verdicts = {c.admits(level) for c in cases if c.where == where}
                relaxed = where == "pod" and control.name in RELAXED_AT_POD
                fails = enforced and where != "app" and not relaxed
                assert verdicts == ({True, False} if fails else {True}), (control, level, where)


@pytest.mark.parametrize(("case", "level"), PARAMS)
def test_verdict_is_the_pod_security_verdict(case: Case, level: Level) -> None:
    findings = evaluate(POLICY, case.pod(), level=level)
    assert {f.key for f in findings} == case.keys(level)
    assert {f.control for f in findings} <= {case.variant.control}
    response, decision = answer(review_body(case.pod()), level)
    assert response["allowed"] is case.admits(level)
    assert keys(decision) == case.keys(level)


@pytest.mark.parametrize(("case", "level"), DENIED)
def test_a_warning_keeps_what_to_do(case: Case, level: Level) -> None:
    """Warn mode says each finding in a line of at most 120 characters: what gives way to the
    limit is the container's name, or the names of those inheriting a pod-level field, never
    the field or what to do."""
    request = decode(review_body(case.pod()))
    decision = decide(request, plan(config(level)), webhook="validate", cap=Mode.WARN)
    for verdict in decision.verdicts:
        essential = verdict.finding.message.split(" (inherited by ")[0]
        assert any(essential in line for line in decision.warnings), (essential, decision.warnings)


# ---- through a real server ------------------------------------------------------------------


@pytest.fixture(scope="module")
def baseline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("baseline"), config=yaml.dump(config("baseline"))
    )


@pytest.fixture(scope="module")
def restricted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(
        tmp_path_factory.mktemp("restricted"), config=yaml.dump(config("restricted"))
    )


@pytest.fixture(scope="module")
def clients(
    baseline_server: server.Served, restricted_server: server.Served
) -> Iterator[dict[Level, httpx.Client]]:
    with baseline_server.client() as baseline, restricted_server.client() as restricted:
        yield {"baseline": baseline, "restricted": restricted}


def post(client: httpx.Client, body: bytes) -> dict[str, Any]:
    sent = client.post("/validate?timeout=10s", content=body, headers=JSON)
    assert sent.status_code == 200, sent.text
    response: dict[str, Any] = sent.json()["response"]
    return response


@pytest.mark.integration
@pytest.mark.parametrize(("case", "level"), PARAMS)
def test_the_server_gives_the_same_answer(
    clients: dict[Level, httpx.Client], case: Case, level: Level
) -> None:
    body = review_body(case.pod())
    response = post(clients[level], body)
    expected, _ = answer(body, level)
    assert response == {**json.loads(json.dumps(expected)), "uid": CAPTURED["request"]["uid"]}
    assert response["allowed"] is case.admits(level)


def _istio(**spec: Any) -> dict[str, Any]:
    obj = pods.istio()
    obj["spec"].update(spec)
    return obj


def _zero_limits() -> dict[str, Any]:
    obj = neutral()
    obj["spec"]["initContainers"][0]["resources"] = {"limits": {"cpu": "0", "memory": "0"}}
    return obj


# A mesh pod as Istio injects it, then with the node's network; restricted holds the pod to
# seccomp, which istio-init takes from the pod; limits of 0 are no limits.
SPECIAL = [
    pytest.param(pods.istio(), "baseline", True, [], id="istio-baseline"),
    pytest.param(
        _istio(hostNetwork=True),
        "baseline",
        False,
        [
            "- init-privileged: pod (spec): hostNetwork is true; remove it (inherited by init "
            '"istio-init")',
            '- init-privileged: init "istio-init" (spec.initContainers[0]): capabilities.add has '
            "NET_ADMIN; drop it",
            '- init-privileged: init "istio-init" (spec.initContainers[0]): capabilities.add has '
            "NET_RAW; drop it",
        ],
        id="istio-host-network-baseline",
    ),
    pytest.param(
        _istio(securityContext={"seccompProfile": {"type": "RuntimeDefault"}}),
        "restricted",
        True,
        [],
        id="istio-restricted",
    ),
    pytest.param(
        _zero_limits(),
        "baseline",
        False,
        [
            '- init-unbounded: init "setup" (spec.initContainers[0]): resources.limits.cpu is 0, '
            "which the kubelet reads as no limit; set one, e.g. cpu: 500m",
            '- init-unbounded: init "setup" (spec.initContainers[0]): resources.limits.memory is '
            "0, which the kubelet reads as no limit; set one, e.g. memory: 256Mi",
        ],
        id="zero-limits",
    ),
]


def _problems(response: dict[str, Any]) -> list[str]:
    if response["allowed"]:
        return []
    lines: list[str] = response["status"]["message"].splitlines()
    return [line for line in lines if line.startswith("- ")]


@pytest.mark.parametrize(("obj", "level", "allowed", "problems"), SPECIAL)
def test_presets_and_zero_limits_through_the_captured_path(
    obj: dict[str, Any], level: Level, allowed: bool, problems: list[str]
) -> None:
    response, _ = answer(review_body(obj), level)
    assert (response["allowed"], _problems(dict(response))) == (allowed, problems)


@pytest.mark.integration
@pytest.mark.parametrize(("obj", "level", "allowed", "problems"), SPECIAL)
def test_presets_and_zero_limits_through_the_server(
    clients: dict[Level, httpx.Client],
    obj: dict[str, Any],
    level: Level,
    allowed: bool,
    problems: list[str],
) -> None:
    response = post(clients[level], review_body(obj))
    assert (response["allowed"], _problems(response)) == (allowed, problems)


# ---- the conformance table of docs/policies.md ----------------------------------------------

HEADER = (
    "| control | level | Pod Security check | init containers and sidecars | pod | finding key "
    "| exemption that lifts it |"
)


def _table() -> list[list[str]]:
    text = DOCS.read_text()
    assert HEADER in text, "docs/policies.md has no conformance table"
    rows = []
    for line in text.split(HEADER, 1)[1].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _code(cell: str) -> list[str]:
    """The code spans of a cell as globs: brackets literal, placeholders (`NAME`, `TYPE`...)
    matching anything."""
    spans = re.findall(r"`([^`]+)`", cell)
    return [re.sub(r"\b[A-Z]{3,}\b", "*", glob.escape(span)) for span in spans]


def test_the_conformance_table_matches_the_cases() -> None:
    rows = {row[0].strip("`"): row for row in _table()}
    assert list(rows) == [c.name for c in CONTROLS]
    for control in CONTROLS:
        _, level, check, container_fields, pod_fields, key_cell, lift = rows[control.name]
        assert (level, check) == (control.level, f"`{control.check}`"), control.name
        cases = [c for c in CASES if c.variant.control == control.name]
        documented = _code(container_fields) + _code(pod_fields)
        fields = {c.variant.field for c in cases}
        for field in fields:  # every field a case sets is documented...
            assert any(fnmatch.fnmatchcase(field, f) for f in documented), (control.name, field)
        for pattern in documented:  # ... and every documented field has a case
            assert any(fnmatch.fnmatchcase(f, pattern) for f in fields), (control.name, pattern)
        patterns = _code(key_cell)
        for case in cases:
            for key in case.keys("restricted"):
                assert any(fnmatch.fnmatchcase(key, p) for p in patterns), (control.name, key)
        (allow,) = re.findall(r"`allow: \[([^\]]+)\]`", lift)
        exempt = {"exemptions": {"images": [{"image": "*", "allow": allow.split(", ")}]}}
        for case in cases:
            for level in LEVELS:
                if not case.admits(level):
                    lifted = config(level, **exempt)
                    request = decode(review_body(case.pod()))
                    decision = decide(request, plan(lifted), webhook="validate")
                    assert decision.allowed, (case.id, level, keys(decision))
