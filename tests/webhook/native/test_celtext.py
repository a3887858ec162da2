"""A rule's text read with regular expressions (`celtext`, which the chart's templates read
alike): every variable the compiled expression reads is named; strings, comments and selected
fields are not; an iteration variable of the same name is (the one difference, on the safe
side: the map is worked out, or the rule left to the webhook below Kubernetes 1.33)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from webhook.core.rules import CONTAINER_VARIABLES, compiled
from webhook.native.celtext import names

COOKBOOK = Path(__file__).resolve().parents[3] / "docs" / "rules" / "cookbook.yaml"
NAMED = [
    "volumes.size() > 0",
    "has(volumes.x)",
    "{volumes: 1}.size() > 0",
    "volumes==volumes",
    "'''x'''.size() + size(volumes) > 0",
    "container.image.matches(r'\\d+') && volumes['x'].name != ''",
    "container.name != 'a' // 'volumes'\n&& size(volumes) >= 0",
    "[1].all(volumes, volumes > 0)",  # shadowing: named, not read
]
NOT_NAMED = [
    "object.spec.volumes.size() > 0",
    "object.spec.?volumes.orValue([]).size() >= 0",
    "object.spec. volumes.size() > 0",
    "object.spec.`volumes`.size() > 0",
    "'volumes' != ''",
    '"""a\nvolumes""" != ""',
    "true // volumes",
    "'it\\'s volumes' != ''",
    "b'volumes' != b''",
    "r\"volumes\" != ''",
    "container.name != 'myvolumes'",
]


@pytest.mark.parametrize("text", NAMED)
def test_named(text: str) -> None:
    assert names(text, "volumes")


@pytest.mark.parametrize("text", NOT_NAMED)
def test_not_named(text: str) -> None:
    assert not names(text, "volumes")


def test_what_is_read_is_named() -> None:
    rules = yaml.safe_load(COOKBOOK.read_text())["rules"]
    texts = [
        *((text, False) for text in [*NAMED, *NOT_NAMED]),
        *((r["expression"], False) for r in rules if r.get("scope") != "pod"),
        *((r["messageExpression"], True) for r in rules if "messageExpression" in r),
    ]
    for text, message in texts:
        pod = text in [r.get("messageExpression") for r in rules if r.get("scope") == "pod"]
        expression = compiled(text, pod=pod, message=message)
        for variable in CONTAINER_VARIABLES:
            if variable in expression.reads:
                assert names(text, variable), (variable, text)
