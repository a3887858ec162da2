"""What checks.py refuses in a compiled expression, each refusal with its column, and what it
must let through."""

from __future__ import annotations

from webhook.core.cel import checks
from webhook.core.cel.environment import compile_expression

VARIABLES = frozenset(("object", "oldObject"))


def problems(text: str, variables: frozenset[str] = VARIABLES) -> list[tuple[str, int]]:
    """Each problem's message and 1-based column, as `compile_checked` reports them."""
    found = checks.problems(compile_expression(text), variables=variables)
    return [(p.message, p.offset + 1) for p in found]


def test_type_names_are_not_variables() -> None:
    # `int` and `net.IP` are identifiers in the checked tree, but they name types: Kubernetes'
    # own tests compare `type(ip(...)) == net.IP`.
    assert problems("type(1) == int && type(ip('::1')) == net.IP") == []
    assert problems("type(quantity('1')) == kubernetes.Quantity") == []
    assert checks.free_variables(compile_expression("type(object) == map").checked) == {"object"}


def test_a_literal_pattern_is_checked_wherever_it_stands() -> None:
    # The pattern follows the string, also when a limit comes after it.
    unexpected = "Illegal regex: error parsing regexp: unexpected ): `)`"
    assert problems("'a'.findAll(')', 1) == []") == [(unexpected, 13)]
    assert problems("matches('a', ')')") == [(unexpected, 14)]
    assert problems("'a'.matches('(')") == [
        ("Illegal regex: error parsing regexp: missing closing ): `(`", 13)
    ]
    assert problems("'a'.findAll('[0-9]', 2) == []") == []
