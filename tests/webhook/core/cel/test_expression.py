"""compile_checked, the façade every use of CEL goes through: what it refuses at load (length,
Kubernetes' language, the result type, the cost budget) and how an expression it accepted
refuses inputs larger than its estimate assumed."""

from __future__ import annotations

import pytest

from webhook.core.cel import cost
from webhook.core.cel.environment import CompileError, EvaluationError
from webhook.core.cel.expression import MAX_LENGTH, compile_checked

VARIABLES = frozenset(("object",))
BOOL = frozenset(("bool",))


@pytest.mark.parametrize(
    ("text", "results", "message", "column"),
    [
        ("x" * (MAX_LENGTH + 1), BOOL, "longer than 5,120 characters (5,121)", 0),
        ("1 + 1", BOOL, "must evaluate to bool, not int", 0),
        ("[1]", frozenset(("bool", "string")), "must evaluate to bool or string, not list(int)", 0),
        ("object.a && oldObject.b", BOOL, "'oldObject' is not available here", 13),
        (
            "object.a.all(x, object.b.all(y, x == y))",
            BOOL,
            "may cost 6,559,006,003 units in one evaluation, above the limit of 1,000,000 "
            "(most of it: a comprehension over up to 1,000 entries)",
            0,
        ),
        (
            "object.name.contains(request.x)",
            BOOL,
            "'request' is not available here (variables: object)",
            22,
        ),
    ],
)
def test_what_is_refused_at_load(
    text: str, results: frozenset[str], message: str, column: int
) -> None:
    with pytest.raises(CompileError) as refused:
        compile_checked(text, variables=VARIABLES, results=results)
    assert refused.value.message.startswith(message)
    assert refused.value.column == column


def test_results_of_the_wanted_types_and_dyn_are_taken() -> None:
    assert compile_checked("[1]", variables=VARIABLES, results=frozenset({"list(int)"}))
    assert compile_checked("object.a", variables=VARIABLES, results=BOOL).result == "dyn"


def test_an_input_larger_than_the_estimate_assumed_is_not_evaluated() -> None:
    expression = compile_checked(
        "object.items.all(i, i > 0)", variables=VARIABLES, results=BOOL, bounds=cost.Bounds(items=3)
    )
    assert expression.reads == {"object"}
    assert expression.evaluate({"object": {"items": [1, 2, 3]}}) is True
    with pytest.raises(EvaluationError) as refused:
        expression.evaluate({"object": {"items": [1, 2, 3, 4]}})
    assert str(refused.value) == (
        "not evaluated: object.items has 4 entries, more than the 3 an expression may read"
    )


def test_the_runtime_iteration_budget_is_worded_for_people() -> None:
    expression = compile_checked(
        "lists.range(200).all(i, lists.range(200).all(j, true))",
        variables=VARIABLES,
        results=BOOL,
        budget=10**9,
    )
    with pytest.raises(EvaluationError) as stopped:
        expression.evaluate({})
    assert str(stopped.value) == (
        "exceeded the cost limit (10,000 comprehension iterations in one evaluation)"
    )
