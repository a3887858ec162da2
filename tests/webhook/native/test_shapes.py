"""Each generated expression's shape, stated: the expressions that walk the object's data once
(a comprehension over the containers, the flat mounts, the volumes or the annotation's names),
every other one walking nothing but literals; none nests one walk of the object's data inside
another (tests/webhook/native/shapes.py says how that is read)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.webhook.native.shapes import shapes
from webhook.core.config import Config
from webhook.native.export import generate

POD = {"variables.oldEphemeral", "variables.containers"}
MUTATING = {*POD, "variables.every", "mutations[0]", "validations[0].messageExpression"}
MOUNTS = {
    "variables.mounting",
    "variables.mountIndexes",
    "variables.mountStarts",
    "variables.mounts",
}
WALKS = {
    "init-unbounded": {
        *POD,
        "variables.judged",
        "validations[0].expression",
        "validations[0].messageExpression",
        "validations[1].expression",
        "validations[1].messageExpression",
    },
    "default-resources": {*MUTATING, "variables.lacking", "variables.operations"},
    "emptydir-sizelimit": {
        *MUTATING,
        *MOUNTS,
        "variables.mounted",
        "variables.budget",
        "variables.unbounded",
        "variables.operations",
    },
    "readonly-mounts": {
        *MUTATING,
        *MOUNTS,
        "variables.commands",
        "variables.writers",
        "variables.bornEmpty",
        "variables.filled",
        "variables.filledNames",
        "variables.programs",
        "variables.optedOut",
        "variables.judged",
        "variables.readOnly",
        "variables.operations",
    },
}
EXEMPTIONS = {"namespaces": ["x-*"], "users": ["ci"], "groups": ["g"], "images": [{"image": "a"}]}
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "exemptions-everywhere": {
        "exemptions": EXEMPTIONS,
        "policies": {p: {"exemptions": EXEMPTIONS} for p in WALKS},
    },
    "preparing-inits-count": {"policies": {"readonly-mounts": {"ignorePreparingInits": False}}},
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_each_expression_walks_the_object_at_most_once(config: dict[str, Any]) -> None:
    # init-lint reads scripts for names of volumes, a walk within a walk: its cost is measured by
    # `make bench` (docs/performance.md); the others are held flat here.
    found = {
        p: s
        for p, s in shapes(generate(Config.model_validate(config)).objects).items()
        if p in WALKS
    }
    groups = "groups" in config.get("exemptions", {})  # a walk of the request's groups
    expected = {
        p: walks
        | (
            {"matchConditions.exempt-groups", f"matchConditions.{p}-exempt-groups"}
            if groups
            else set()
        )
        for p, walks in WALKS.items()
    }
    assert {p: {e for e, d in s.items() if d} for p, s in found.items()} == expected
    assert max(d for s in found.values() for d in s.values()) == 1
