"""User rules against real `initgate serve` processes over TLS: a broken rule never reaches a
request (refused at start with one line, and at reload with the active configuration kept, in the
same words), and a hostile rule is a policy error, counted, while every other request is answered
as before."""

from __future__ import annotations

import functools
import json
import operator
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience.load import expected_answers, failures, running
from webhook.core.config import ConfigError, parse_config

pytestmark = pytest.mark.integration

GOOD = """\
rules:
  - id: init-digest
    description: Init container images are pinned by digest.
    roles: [init]
    expression: "container.image.contains('@sha256:')"
"""
DIGEST = "registry.example.com/setup@sha256:" + "0" * 64


def second(**fields: str) -> str:
    """GOOD with a second rule (lines 6 to 8: id, description, expression; then the rest)."""
    rule = {"id": "broken", "description": "A broken rule.", "expression": "'true'", **fields}
    lines = [f"  - id: {rule.pop('id')}"] + [f"    {k}: {v}" for k, v in rule.items()]
    return GOOD + "\n".join(lines) + "\n"


# Each class of broken rule: the configuration, and what its refusal must say after `FILE:`.
BROKEN: dict[str, tuple[str, str]] = {
    "does-not-compile": (
        second(expression='"container.name.startsWith("'),
        r"8: rules\[1\]\.expression: Syntax error: .* \(column 27 of the expression\)",
    ),
    "unknown-function": (
        second(expression='"container.image.frobnicate()"'),
        r"8: rules\[1\]\.expression: undeclared reference to 'frobnicate' "
        r"\(column 27 of the expression\)",
    ),
    "type-mismatch": (
        second(expression='"container.name.startsWith(1)"'),
        r"8: rules\[1\]\.expression: found no matching overload for 'startsWith' applied to "
        r"'\(dyn, int\)' \(column 26 of the expression\)",
    ),
    "not-a-bool": (
        second(expression='"size(container.name)"'),
        r"8: rules\[1\]\.expression: must evaluate to bool, not int",
    ),
    "message-not-a-string": (
        second(messageExpression='"size(container.name)"'),
        r"9: rules\[1\]\.messageExpression: must evaluate to string, not int",
    ),
    "duplicate-id": (
        second(id="init-digest"),
        r"6: rules\[1\]\.id: 'init-digest' is also rules\[0\]'s id",
    ),
    "built-in-id": (
        second(id="init-lint"),
        r"6: rules\[1\]\.id: 'init-lint' is a built-in policy's id",
    ),
    "unknown-role": (
        second(roles="[init, daemon]"),
        r"9: rules\[1\]\.roles\[1\]: expected one of init, sidecar, app, ephemeral, not 'daemon'",
    ),
    "too-costly": (
        second(expression='"container.args.all(a, container.command.all(b, b != a))"'),
        r"8: rules\[1\]\.expression: may cost [\d,]+ units in one evaluation, above the limit "
        r"of 1,000,000 \(most of it: a comprehension over up to 1,000 entries\)",
    ),
}


def refusal(text: str, path: Path) -> str:
    """What the service says of `text` read from `path` (in process: the words both the start
    and the reload must use)."""
    with pytest.raises(ConfigError) as raised:
        parse_config(text, source=str(path))
    return str(raised.value)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> server.Material:
    return server.Material.create(tmp_path_factory.mktemp("rules-tls"))


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_rule_is_refused_at_start_in_one_line(
    case: str, tls: server.Material, tmp_path: Path
) -> None:
    text, said = BROKEN[case]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    expected = refusal(text, path)
    assert re.fullmatch(re.escape(str(path)) + ":" + said, expected), expected
    command = [sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(server.free_port()), "--metrics-port", str(server.free_port())]
    command += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key), "--config", str(path)]
    ended = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert ended.returncode == 2, ended.stderr
    assert ended.stdout == ""
    assert ended.stderr == f"initgate: cannot start: {expected}\n"


def allowed(served: server.Served, review: dict[str, Any]) -> bool:
    with served.client() as client:
        answer = client.post("/validate", json=review)
    assert answer.status_code == 200, answer.text
    verdict: bool = answer.json()["response"]["allowed"]
    return verdict


@pytest.fixture(scope="module")
def reloading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(tmp_path_factory.mktemp("rules-reload"), config=GOOD)


def test_a_broken_rule_is_refused_at_reload_and_the_active_rules_stay(
    reloading: server.Served,
) -> None:
    served = reloading
    for case, (text, _) in sorted(BROKEN.items()):
        served.reconfigure(text, result="failure")
        entries = [e for e in served.log_entries() if e["msg"].startswith("configuration refused")]
        assert entries[-1]["problem"] == refusal(text, served.config), case
        assert "Traceback" not in served.logs()
        assert not allowed(served, reviews.init_review("busybox:1.36")), case
        assert allowed(served, reviews.init_review(DIGEST)), case
        with served.client() as client:
            assert client.get("/readyz").status_code == 200
    assert served.reloads("success") == 1  # the start: no broken file ever became active


# Hostile rules ----------------------------------------------------------------------------------

TEN = "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"
BOMB = f"{TEN}.all(a, {TEN}.all(b, {TEN}.all(c, {TEN}.all(d, {TEN}.all(e, true)))))"
"""100,000 iterations within the cost estimate (about 455,000 units): only the runtime's limit of
10,000 iterations an evaluation stops it."""
HOSTILE = f"""\
rules:
  - id: bomb
    description: A comprehension bomb, in namespace hostile-bomb only.
    roles: [init]
    expression: "request.namespace != 'hostile-bomb' || {BOMB}"
  - id: args-short
    description: Arguments are short (within the estimate only for at most 1,000 of them).
    roles: [init]
    expression: "container.?args.orValue([]).all(a, a.size() < 100000)"
  - id: probe-period
    description: Reads a field without has(), in namespace hostile-field only.
    roles: [init]
    expression: "request.namespace != 'hostile-field' || container.livenessProbe.periodSeconds >= 10"
  - id: image-pinned
    description: Reads the image (within the estimate only up to 65,536 characters).
    roles: [init]
    expression: "request.namespace != 'hostile-image' || container.image.contains('@sha256:')"
"""
LOAD = [
    (f"/{webhook}", reviews.captured_bytes(case, webhook))
    for case in reviews.CASES
    for webhook in ("validate", "mutate")
]


def hostile(rule: str) -> dict[str, Any]:
    """A pod that makes `rule` fail on its init container."""
    if rule == "bomb":
        return reviews.init_review("busybox:1.36", namespace="hostile-bomb")
    if rule == "args-short":
        return reviews.init_review("busybox:1.36", args=["x"] * 1001)
    if rule == "probe-period":
        return reviews.init_review("busybox:1.36", namespace="hostile-field")
    return reviews.init_review("registry.example.com/" + "x" * 100_000, namespace="hostile-image")


ERRORS = {
    # What each rule's error begins with, after the rule and the container.
    "bomb": "exceeded the cost limit (10,000 comprehension iterations in one evaluation)",
    "args-short": "not evaluated: container.args has 1,001 entries, more than the 1,000",
    "probe-period": 'Key not found in map : "livenessProbe"',
    "image-pinned": "not evaluated: container.image has 100,021 characters, more than the 65,536",
}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(tmp_path_factory.mktemp("rules-hostile"), config=HOSTILE)


def test_hostile_rules_are_policy_errors_while_other_requests_are_answered(
    guarded: server.Served,
) -> None:
    served = guarded
    sent = {rule: [hostile(rule) for _ in range(5)] for rule in ERRORS}
    bodies = [("/validate", json.dumps(r).encode()) for found in sent.values() for r in found]
    expected = expected_answers(HOSTILE, LOAD + bodies)
    with running(served, LOAD, keep_alive=1, fresh=1) as load, served.client() as client:
        load.wait_for(len(LOAD))
        for index, (path, body) in enumerate(bodies):
            answer = client.post(path, content=body, headers={"content-type": "application/json"})
            assert answer.status_code == 200
            assert answer.json() == expected[len(LOAD) + index]
        load.wait_for(len(LOAD))  # still answering once every hostile request was
        outcomes = load.stop()
    assert failures(outcomes) == []
    assert [o.request for o in outcomes if o.answer != expected[o.request]] == []
    for rule, reviewed in sent.items():
        errors = functools.partial(served.metric, "initgate_policy_errors_total", policy=rule)
        counted = server.eventually(errors, functools.partial(operator.le, len(reviewed)))
        assert counted == len(reviewed), rule
        # The answer names the rule and the container, as a warning (onPolicyError: allow).
        first = list(sent).index(rule) * len(reviewed)
        warning = (
            f'initgate {rule}: init "setup" (spec.initContainers[0]): could not evaluate; '
            "allowed anyway (onPolicyError)"
        )
        assert warning in expected[len(LOAD) + first]["response"]["warnings"]
        uid = reviewed[0]["request"]["uid"]
        (line,) = [e for e in served.log_entries() if e.get("uid") == uid]
        (error,) = line["errors"]
        assert error.startswith(f'{rule}: init "setup" (spec.initContainers[0]): {ERRORS[rule]}'), (
            line
        )
