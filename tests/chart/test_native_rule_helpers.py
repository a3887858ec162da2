"""The chart's helpers for user rules (templates/_native.tpl) decide what `initgate export`
decides: which policy a rule becomes on a cluster's Kubernetes version (`own_rules`, read through
`celtext`'s patterns), and its message on one line."""

from __future__ import annotations

import pytest

from tests.chart.probe import Probe, probe_chart
from webhook.core.config import Config
from webhook.native import chart_rules, own_rules
from webhook.native.export import Options

pytestmark = pytest.mark.chart

TEXTS = [
    "volumes.size() > 0",
    "object.spec.volumes.size() > 0",
    "object.spec.?volumes.orValue([]).size() >= 0",
    "object.spec. volumes.size() > 0",
    "'volumes' != ''",
    "has(volumes.x)",
    "[1].all(volumes, volumes > 0)",
    '"""a\nvolumes""" != ""',
    "container.image.matches(r'\\d+') && volumes['x'].name != ''",
    "true // volumes",
    "'//' + 'x' != volumes['a'].name",
    "'it\\'s volumes' != ''",
    "b'volumes' != b''",
    "'''x'''.size() + size(volumes) > 0",
    "container.name != 'a' // 'volumes'\n&& size(volumes) >= 0",
    "fills.all(v, has(volumes[v].emptyDir))",
]
"""Expressions that name `volumes` or only seem to: in a string, a comment, a field."""


def _rules() -> list[dict[str, str]]:
    rules = []
    for index, text in enumerate(TEXTS):
        rules.append({"id": f"e{index}", "description": "d", "expression": text})
        rules.append(
            {
                "id": f"m{index}",
                "description": "d",
                "expression": "true",
                "messageExpression": f"({text}\n) ? 'yes' : 'no'",
            }
        )
    rules.append(
        {"id": "pod", "description": "d", "scope": "pod", "expression": "[1].all(volumes, true)"}
    )
    rules.append(
        {
            "id": "pod-said",
            "description": "d",
            "scope": "pod",
            "expression": "true",
            "messageExpression": "'volumes'",
        }
    )
    return rules


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Probe:
    return probe_chart(tmp_path_factory.mktemp("probe"))


@pytest.mark.parametrize("minor", [32, 33])
def test_a_rules_variant_is_what_export_generates(probe: Probe, minor: int) -> None:
    config = {"rules": _rules()}
    rules = Config.model_validate(config).rules
    got = probe(
        config,
        [
            f'include "initgate.nativeRuleVariant" (list $ $native (index $config.rules {i}))'
            for i in range(len(rules))
        ],
        "--kube-version",
        f"1.{minor}.0",
    )
    indexed = Options((1, minor)).indexed
    expected = [
        ""
        if own_rules.unreadable(rule, indexed=indexed)
        else chart_rules.variant(
            rule.scope,
            message=bool(rule.message_expression),
            volumes=own_rules.reads_volumes(rule),
        )
        for rule in rules
    ]
    assert got == expected
    assert "" in expected or indexed
    assert any("+volumes" in v for v in expected) == indexed


MESSAGES = [
    "plain",
    "  two\nlines\tand\u2003blanks\u00a0\u2028of\x1cevery\x85kind\u3000 ",
    '<b> & "q" {{x}} \\ ü',
    " \n ",
]


def test_a_rules_message_is_flattened_as_own_rules_flattens_it(probe: Probe) -> None:
    config = {
        "rules": [
            *(
                {"id": f"r{i}", "description": "d", "expression": "true", "message": m}
                for i, m in enumerate(MESSAGES)
            ),
            {"id": "described", "description": " the\n description ", "expression": "true"},
        ]
    }
    rules = Config.model_validate(config).rules
    got = probe(
        config,
        [
            f'include "initgate.nativeRuleText" (list $native (index $config.rules {i}))'
            for i in range(len(rules))
        ],
    )
    assert got == [own_rules._flat(rule.message or rule.description) for rule in rules]
