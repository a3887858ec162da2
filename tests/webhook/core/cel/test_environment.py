"""The one CEL environment (webhook/core/cel/environment.py): what it loads as Kubernetes does,
what it refuses that Kubernetes does not load, how it words compile and evaluation errors, and
that it is the only place that knows the runtime."""

from __future__ import annotations

import pytest

from webhook.core.cel.environment import EvaluationError, activation, compile_expression


def evaluate(text: str) -> object:
    return compile_expression(text).evaluate(activation({}))


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("true", "bool"),
        ("[1].map(x, x)", "list(int)"),
        ("{'a': [1]}", "map(string, list(int))"),
        ("url('/').getQuery()", "map(string, list(string))"),
        ("quantity('1')", "kubernetes.Quantity"),
        ("object", "dyn"),
        ("1u", "uint"),
    ],
)
def test_the_result_type_is_written_as_the_libraries_write_types(text: str, result: str) -> None:
    assert compile_expression(text).result == result


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # The runtime cannot run the map-building macros of the two-variable comprehensions
        # (it lacks `cel.@mapInsert`): an evaluation error, not a crash of the caller.
        ("{'a': 1}.transformMap(k, v, v + 1)", "cel.@mapInsert"),
        # An optional cannot be handed out as a plain value.
        ("dyn(optional.of(1))", "a dyn result cannot be read"),
        ("[optional.of(1)]", "result cannot be read"),
    ],
)
def test_what_the_runtime_cannot_give_is_an_evaluation_error(text: str, message: str) -> None:
    with pytest.raises(EvaluationError, match=message):
        evaluate(text)


def test_lists_and_maps_come_out_as_plain_values_all_the_way_down() -> None:
    value = evaluate("{'a': [1, {'b': [2.5, b'x']}], 'q': [quantity('1')]}")
    assert value == {"a": [1, {"b": [2.5, bytearray(b"x")]}], "q": [value["q"][0]]}
    assert type(value["a"]) is list
    assert type(value["a"][1]) is dict
    assert value["q"][0].DESCRIPTOR.full_name == "kubernetes.Quantity"
