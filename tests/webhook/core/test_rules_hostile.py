"""Hostile rules and hostile objects: a rule is refused when it loads, or its evaluation ends,
on any object, with a value or an evaluation error: nothing else escapes. Ending is all this
asserts (a hang fails on the suite's timeout): how long a bounded rule takes is `make bench`'s
to say, never a timed test's.

The estimate assumes lists of at most 1,000 entries and strings of at most 65,536 characters
(names 317); objects beyond are not evaluated (a policy error). So the worst objects that are
evaluated sit exactly at those bounds, and every expression that loads must finish on them.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webhook.core.cel.environment import CompileError, EvaluationError
from webhook.core.cel.expression import compile_checked
from webhook.core.rules import CONTAINER_VARIABLES

BIG = "x" * 65536
ENV = [{"name": "E" * 317, "value": BIG[:3000]} for _ in range(1000)]
CROWDED: dict[str, Any] = {
    "name": "n" * 317,
    "image": BIG,
    "args": [BIG[:3000]] * 1000,
    "env": ENV,
    "securityContext": {"capabilities": {"add": ["NET_ADMIN"] * 1000}},
}
WORST = {
    "container": CROWDED,
    "role": "init",
    "path": "spec.initContainers[0]",
    "volumes": {f"v{i}": {"emptyDir": {}} for i in range(1000)},
    "fills": ["f" * 317] * 1000,
    "readsFrom": ["r" * 317] * 1000,
    "object": {"spec": {"initContainers": [CROWDED] * 3, "containers": [CROWDED]}},
    "request": {"userInfo": {"username": "u", "groups": ["g" * 317] * 1000}},
}
BEYOND = {**WORST, "container": {**CROWDED, "env": ENV * 2, "image": BIG * 2}}

HOSTILE = [
    # comprehension bombs
    "lists.range(9999).all(a, lists.range(9999).all(b, a + b >= 0))",
    "container.env.all(a, container.env.all(b, a.name == b.name))",
    "container.args.map(a, container.args.map(b, a + b)).size() > 0",
    "[1,2,3,4,5,6,7,8,9,10].map(a, [1,2,3,4,5,6,7,8,9,10].map(b, [1,2,3,4,5,6,7,8,9,10]"
    ".map(c, [1,2,3,4,5,6,7,8,9,10].map(d, a*b*c*d)))).size() > 0",
    "lists.range(10000).map(i, i).size() > 0",
    "lists.range(9223372036854775807).size() > 0",
    # huge strings
    "container.args.join('').size() > 0",
    "container.env.map(e, e.value + e.value + e.value).join('').size() > 0",
    "[container.image, container.image, container.image, container.image].join('') != ''",
    "('%s' * 1).size() > 0",
    "container.image.replace('x', container.image).size() > 0",
    "container.args.map(a, a.split('')).size() > 0",
    "'%s%s%s%s%s%s%s%s'.format([container.image, container.image, container.image,"
    " container.image, container.image, container.image, container.image, container.image])"
    " != ''",
    # regular expressions (RE2: linear, whatever the pattern)
    "container.image.matches('(x+x+)+y')",
    "container.image.find('(x|x)*y') == ''",
    "container.args.all(a, a.matches('^(a|aa)*$'))",
    # sets and sorting
    "sets.intersects(container.args, container.args)",
    "container.args.sort().size() > 0",
    "container.env.map(e, e.name).distinct().size() > 0",
    "volumes.all(k, volumes.all(j, k != j || j == k))",
    # deep nesting
    "(" * 40 + "true" + ")" * 40,
    " && ".join(["container.image != ''"] * 400),
    "!" * 300 + "true",
]


def _run(text: str, data: dict[str, Any]) -> None:
    """Evaluate `text` on `data`: it ends with a value or an evaluation error."""
    expression = compile_checked(text, variables=CONTAINER_VARIABLES, results=frozenset(("bool",)))
    with contextlib.suppress(EvaluationError):
        expression.evaluate(data)


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_expression_is_refused_or_bounded(text: str) -> None:
    try:
        _run(text, WORST)
        _run(text, BEYOND)
    except CompileError:
        return


_PARTS = st.sampled_from(
    [
        "container.env",
        "container.args",
        "container.securityContext.capabilities.add",
        "fills",
        "readsFrom",
        "request.userInfo.groups",
        "lists.range(100)",
        "[container.image, container.name]",
        "object.spec.initContainers",
    ]
)
_STEPS = st.sampled_from(
    [
        "{}.map(v, v)",
        "{}.filter(v, v != null)",
        "{}.map(v, {})",
        "[{}, {}]",
        "{}.distinct()",
        "{}.sort()",
        "[{}].flatten()",
        "{} + {}",
    ]
)


@st.composite
def expressions(draw: st.DrawFn) -> str:
    text = draw(_PARTS)
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        step = draw(_STEPS)
        text = step.format(*([text] * step.count("{}")))
    return f"size({text}) >= 0"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions())
def test_composed_expressions_are_refused_or_bounded(text: str) -> None:
    with contextlib.suppress(CompileError):
        _run(text, WORST)


def test_the_table_is_not_refused_wholesale() -> None:
    """The bound is meaningful only if hostile expressions within the budget do run."""
    ran = 0
    for text in HOSTILE:
        try:
            _run(text, WORST)
        except CompileError:
            continue
        ran += 1
    assert ran >= 6
