"""The chart refuses the policy configurations the service refuses, and only those: every example
of the docs and a set of broken ones, through the real `helm template` (the schema generated from
the model) and the real `initgate config validate`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.render import CHART, ROOT, run_helm
from webhook.cli.main import main

pytestmark = pytest.mark.chart

DOCS = (ROOT / "docs" / "configuration.md", ROOT / "docs" / "policies.md")
COOKBOOK = ROOT / "docs" / "rules" / "cookbook.yaml"


def documented() -> list[Any]:
    """The configuration examples of the docs: YAML blocks that are not Kubernetes objects."""
    found: list[Any] = []
    for page in DOCS:
        for block in re.findall(r"```yaml\n(.*?)```", page.read_text(), flags=re.DOTALL):
            documents = list(yaml.safe_load_all(block))
            data = documents[0] if len(documents) == 1 else None
            if isinstance(data, dict) and "apiVersion" not in data:
                found.append(pytest.param(data, id=f"{page.name}:{len(found)}"))
    return found


def rule(**fields: Any) -> dict[str, Any]:
    """A valid rule, with `fields` changed."""
    return {"id": "init-digest", "description": "Pinned.", "expression": "true", **fields}


BROKEN: list[Any] = [
    pytest.param({"policies": {"init-unbounded": {"maximum": {"memory": "lots"}}}}, id="quantity"),
    pytest.param({"policies": {"emptydir-sizelimit": {"sizeLimit": "-1Gi"}}}, id="negative"),
    pytest.param({"policies": {"emptydir-sizelimit": {"sizeLimit": 2}}}, id="number-for-quantity"),
    pytest.param({"policies": {"default-resources": {"limits": {"memory": "2Gi "}}}}, id="spaces"),
    pytest.param({"policies": {"init-lint": {"checks": ["image-tags"]}}}, id="check-name"),
    pytest.param({"policies": {"init-privileged": {"roles": "init"}}}, id="roles-not-a-list"),
    pytest.param({"policies": {"init-unbounded": {"roles": ["app"]}}}, id="role-not-served"),
    pytest.param({"policies": {"default-resources": {"roles": ["ephemeral"]}}}, id="role-refused"),
    pytest.param({"policies": {"init-privileged": {"presets": {"istoi": True}}}}, id="preset"),
    pytest.param({"policies": {"init-privileged": {"presets": {"istio": "no"}}}}, id="preset-bool"),
    pytest.param({"policies": {"init-privileged": {"allowedCapabilities": ["ALL"]}}}, id="all"),
    pytest.param({"policies": {"init-privileged": {"allowedCapabilities": ["cap_all"]}}}, id="cap"),
    pytest.param({"policies": {"init-lnt": {}}}, id="policy-name"),
    pytest.param({"policies": {"readonly-mounts": {"ignorePreparingInits": "yes"}}}, id="bool"),
    pytest.param({"onPolicyEror": "deny"}, id="key"),
    pytest.param({"mode": "loud"}, id="mode"),
    pytest.param({"exemptions": {"images": [{"allow": ["privileged"]}]}}, id="no-image"),
    pytest.param({"exemptions": {"images": [{"image": ""}]}}, id="empty-image"),
    pytest.param({"exemptions": {"namespaces": "kube-system"}}, id="namespaces-not-a-list"),
    pytest.param({"exemptions": {"users": [{"user": "ci", "expires": "soon"}]}}, id="expires"),
    pytest.param({"exemptions": {"users": [{"user": "ci", "until": "2027-01-01"}]}}, id="until"),
    pytest.param({"exemptions": {"groups": [{"reason": "no group"}]}}, id="no-group"),
    pytest.param({"exemptions": {"images": [{"image": "a", "reason": 7}]}}, id="reason-type"),
    pytest.param({"rules": [rule(id="Init_Registry")]}, id="rule-id-case"),
    pytest.param({"rules": [rule(id="r" * 64)]}, id="rule-id-long"),
    pytest.param({"rules": [rule(id="init-lint")]}, id="rule-id-built-in"),
    pytest.param({"rules": [rule(severity="high")]}, id="rule-unknown-key"),
    pytest.param({"rules": [rule(roles="init")]}, id="rule-roles-not-a-list"),
    pytest.param({"rules": [rule(roles=["init", "daemon"])]}, id="rule-unknown-role"),
    pytest.param({"rules": [rule(scope="pod", roles=["init"])]}, id="rule-pod-with-roles"),
    pytest.param({"rules": [rule(scope="namespace")]}, id="rule-scope"),
    pytest.param({"rules": [rule(mode="loud")]}, id="rule-mode"),
    pytest.param({"rules": [rule(expression=True)]}, id="rule-expression-not-text"),
    pytest.param({"rules": [rule(expression="")]}, id="rule-expression-empty"),
    pytest.param({"rules": [rule(expression="true && " * 700 + "true")]}, id="rule-too-long"),
    pytest.param({"rules": [{"id": "r", "expression": "true"}]}, id="rule-no-description"),
    pytest.param({"rules": {"r": rule()}}, id="rules-not-a-list"),
]
ACCEPTED: list[Any] = [
    pytest.param({"policies": {"init-unbounded": {"maximum": {"memory": "4Gi", "cpu": "1.5"}}}}),
    pytest.param(
        {"policies": {"default-resources": {"requests": {"cpu": "250m", "memory": "0.1Gi"}}}},
        id="decimal",
    ),
    pytest.param({"policies": {"init-unbounded": {"roles": ["init", "sidecar"]}}}, id="roles"),
    pytest.param({"policies": {"init-privileged": {"allowedCapabilities": ["cap_chown"]}}}),
    pytest.param({"policies": {"init-privileged": {"presets": {"linkerd": False}}}}, id="preset"),
    # Map settings merge with their defaults; null removes a default's entry (docs/configuration.md).
    pytest.param({"policies": {"default-resources": {"limits": {"cpu": "1"}}}}, id="partial-map"),
    pytest.param(
        {
            "policies": {
                "default-resources": {"requests": {"cpu": None}, "limits": {"memory": None}}
            }
        },
        id="null-entries",
    ),
    pytest.param({"policies": {"init-privileged": {"presets": {"istio": None}}}}, id="null-preset"),
    pytest.param(yaml.safe_load(COOKBOOK.read_text()), id="cookbook-rules"),
    pytest.param(
        {
            "exemptions": {
                "namespaces": ["kube-system", {"namespace": "legacy-*", "reason": "INC-1"}],
                "users": [{"user": "ci", "expires": "2027-03-31T18:00:00+02:00"}],
                "images": [{"image": "vendor/*", "expires": "2027-03-31", "reason": "CNI"}],
            },
            "rules": [
                rule(exemptions={"groups": ["ops", {"group": "sre", "expires": "2027-01-01"}]}),
                rule(id="pod-rule", scope="pod", expression="has(object.spec)", mode="warn"),
            ],
        },
        id="exemptions-that-end-and-rules",
    ),
]
# What a JSON schema cannot compare: one value against another. The service refuses these at
# start-up or reload (keeping the last good configuration); `initgate config validate` finds them.
SERVICE_ONLY: list[Any] = [
    pytest.param(
        {"policies": {"default-resources": {"requests": {"memory": "1Gi"}}}},
        id="request-above-the-default-limit",
    ),
    # Nor can it share an id between two entries of a list, tell a date that does not exist, or
    # compile CEL: the server refuses these at start (the rollout never becomes ready) and at
    # reload (the last good configuration stays), naming the line and the CEL column.
    pytest.param({"rules": [rule(), rule()]}, id="rule-id-twice"),
    pytest.param({"exemptions": {"users": [{"user": "ci", "expires": "2027-02-30"}]}}, id="date"),
    pytest.param({"rules": [rule(expression="container.name.startsWith(")]}, id="cel-syntax"),
    pytest.param({"rules": [rule(expression="size(container.name)")]}, id="cel-not-a-bool"),
    pytest.param({"rules": [rule(messageExpression="1 + 2")]}, id="cel-message-not-a-string"),
    pytest.param({"rules": [rule(expression="container.frobnicate()")]}, id="cel-function"),
    pytest.param({"rules": [rule(scope="pod", expression="container.name == ''")]}, id="cel-var"),
    pytest.param(
        {"rules": [rule(expression="container.args.all(a, container.command.all(b, b != a))")]},
        id="cel-cost",
    ),
]


def helm_verdict(config: Any, tmp_path: Path) -> tuple[bool, str]:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"config": config}))
    result = run_helm(
        "template",
        "t",
        str(CHART),
        "-f",
        str(values),
        "--show-only",
        "templates/webhook-configmap.yaml",
        check=False,
    )
    if result.returncode != 0:
        assert "don't meet the specifications of the schema" in result.stderr, result.stderr
        return False, result.stderr
    rendered = yaml.safe_load(result.stdout)["data"]["config.yaml"]
    return True, rendered


def validate_verdict(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> bool:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    status = main(["config", "validate", str(path)])
    captured = capsys.readouterr()
    assert status in (0, 1), captured.err
    assert "Traceback" not in captured.err
    return status == 0


@pytest.mark.parametrize("config", [*documented(), *ACCEPTED, *BROKEN])
def test_helm_and_the_service_agree(
    config: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    valid = validate_verdict(yaml.safe_dump(config), tmp_path, capsys)
    accepted, rendered = helm_verdict(config, tmp_path)
    assert accepted == valid, rendered
    if accepted:  # and what the chart renders is what the service then reads: valid too
        assert validate_verdict(rendered, tmp_path, capsys)


def test_the_docs_have_examples() -> None:
    assert len(documented()) >= 4


@pytest.mark.parametrize("config", SERVICE_ONLY)
def test_what_only_the_service_can_refuse(
    config: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Documented in docs/configuration.md: if this starts failing, the chart learnt to refuse it
    (move the case to BROKEN)."""
    assert not validate_verdict(yaml.safe_dump(config), tmp_path, capsys)
    assert helm_verdict(config, tmp_path)[0]
