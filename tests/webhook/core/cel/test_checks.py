"""What checks.py refuses in a compiled expression, each refusal with its column (1-based, as
`compile_checked` reports it), and what it must let through: Kubernetes' write-time refusals
(mixed literals, invalid literal patterns, durations and timestamps; HomogeneousAggregateLiterals
and the Validate*Literals AST validators of base.go), the functions of library versions
Kubernetes does not load, what only initgate's opaque values could tell apart, and variables a
use does not offer."""

from __future__ import annotations

import pytest

from webhook.core.cel import checks
from webhook.core.cel.environment import compile_expression

VARIABLES = frozenset(("object",))
MIXED = "; Kubernetes requires one type per list, and per map's keys and values"
ONLY_MUTATING = " is only offered to a MutatingAdmissionPolicy's expressions"


def problems(text: str, variables: frozenset[str] = VARIABLES) -> list[tuple[str, int]]:
    """Each problem's message and 1-based column, as `compile_checked` reports them."""
    found = checks.problems(compile_expression(text), variables=variables)
    return [(p.message, p.offset + 1) for p in found]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        # Variables the use does not offer.
        ("oldObject.x", [("'oldObject' is not available here (variables: object)", 1)]),
        ("object.x + params.y", [("'params' is not available here (variables: object)", 12)]),
        (
            "object.a.all(o, o > 0) && oldObject.x",
            [("'oldObject' is not available here (variables: object)", 27)],
        ),
        # Functions of library versions Kubernetes does not load.
        (
            "'ab'.reverse()",
            [
                (
                    "'<string>.reverse()' is not offered: it is in the strings library version 3, and"
                    " Kubernetes loads version 2",
                    13,
                )
            ],
        ),
        (
            "object.a.first()",
            [(checks.NOT_OFFERED["list_first"], 15)],
        ),
        (
            "[1].last().value()",
            [(checks.NOT_OFFERED["list_last"], 9)],
        ),
        # Literals Kubernetes' AST validators refuse.
        ("'a'.matches('[')", [("Illegal regex: error parsing regexp: missing closing ]: `[`", 13)]),
        (
            "'a'.findAll(')', 1) == []",
            [("Illegal regex: error parsing regexp: unexpected ): `)`", 13)],
        ),
        ("matches('a', ')')", [("Illegal regex: error parsing regexp: unexpected ): `)`", 14)]),
        (
            "duration('bogus')",
            [("invalid duration literal 'bogus': String to Duration conversion failed", 10)],
        ),
        (
            "1 == 1 && timestamp('x') == timestamp('y')",
            [
                ("invalid timestamp literal 'x': String to Timestamp conversion failed", 21),
                ("invalid timestamp literal 'y': String to Timestamp conversion failed", 39),
            ],
        ),
        ("[1, 'a']", [("a literal mixes types (int, string)" + MIXED, 1)]),
        ("[1, 2.0]", [("a literal mixes types (double, int)" + MIXED, 1)]),
        ("[[1], ['a']]", [("a literal mixes types (list(int), list(string))" + MIXED, 1)]),
        ("[dyn(1), 'a']", [("a literal mixes types (dyn, string)" + MIXED, 1)]),
        ("{'a': 1, 1: 2}", [("a literal mixes types (int, string)" + MIXED, 1)]),
        ("{'a': 1, 'b': 'x'}", [("a literal mixes types (int, string)" + MIXED, 1)]),
        # What only initgate's opaque values could tell apart.
        ("quantity('1').value", [("a kubernetes.Quantity has no fields; use its functions", 14)]),
        ("kubernetes.Quantity{}", [("kubernetes.Quantity values cannot be built by name", 1)]),
        ("net.IP{value: 'x'}", [("net.IP values cannot be built by name", 1)]),
        # What only a MutatingAdmissionPolicy's expressions may use.
        ("JSONPatch{op: 'add'}", [("JSONPatch" + ONLY_MUTATING, 1)]),
        ("jsonpatch.escapeKey('a')", [("'jsonpatch.escapeKey'" + ONLY_MUTATING, 20)]),
        # Several problems, in source order.
        (
            "oldObject.x + [1, 'a'].size() + duration('x').getSeconds()",
            [
                ("'oldObject' is not available here (variables: object)", 1),
                ("a literal mixes types (int, string)" + MIXED, 15),
                ("invalid duration literal 'x': String to Duration conversion failed", 42),
            ],
        ),
    ],
)
def test_each_refusal_says_what_and_where(text: str, found: list[tuple[str, int]]) -> None:
    assert problems(text) == found


@pytest.mark.parametrize(
    "text",
    [
        "[1].all(oldObject, oldObject > 0)",  # a comprehension's own variable
        "{'a': 1}.all(k, v, k == 'a' && v == 1)",
        "[1, 2].transformList(i, v, i + v)",
        "'%s %d'.format(['a', 1])",  # format's argument may mix types, as in cel-go
        "[dyn(1), dyn('a')]",  # dyn elements only: no mix
        "duration(object.d)",  # not a literal: checked when it runs
        "duration('1s') < duration('1m') && timestamp('2000-01-01T00:00:00Z') != timestamp(0)",
        "'a'.findAll('[0-9]', 2) == []",
        "'a'.find(object.pattern)",
        "quantity('1').isInteger()",
        # Type names are identifiers in the checked tree, not variables.
        "type(1) == int && type(ip('::1')) == net.IP",
        "type(quantity('1')) == kubernetes.Quantity",
    ],
)
def test_what_kubernetes_accepts_passes(text: str) -> None:
    assert problems(text) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("[JSONPatch{op: 'add', path: '/a/' + jsonpatch.escapeKey('b'), value: 1}]", []),
        ("kubernetes.Quantity{}", [("kubernetes.Quantity values cannot be built by name", 1)]),
        ("google.protobuf.Value{}", [("google.protobuf.Value values cannot be built by name", 1)]),
    ],
)
def test_a_mutating_policy_builds_json_patches_only(
    text: str, found: list[tuple[str, int]]
) -> None:
    got = checks.problems(compile_expression(text), variables=VARIABLES, patches=True)
    assert [(p.message, p.offset + 1) for p in got] == found


def test_free_variables_are_those_an_expression_reads() -> None:
    def free(text: str) -> frozenset[str]:
        return checks.free_variables(compile_expression(text).checked)

    assert free("object.a.all(x, x > oldObject.b)") == {"object", "oldObject"}
    assert free("object.a.exists(i, v, i > v) || request.x") == {"object", "request"}
    assert free("type(object) == map") == {"object"}
    assert free("[1].map(object, object)") == frozenset()
