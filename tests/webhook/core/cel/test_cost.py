"""The static cost estimate (webhook/core/cel/cost.py): exact figures where the unit costs of
cel-go's estimator (checker/cost.go) and Kubernetes' library/cost.go fix them (see
/work/notes/k8s-cel.md §3), orderings and the budget where the bounds decide, the guards each
estimate records, and `exceeded()` on values within and beyond them."""

from __future__ import annotations

import pytest

from webhook.core.cel import cost
from webhook.core.cel.environment import compile_expression

VARIABLES = frozenset(("object", "container", "volumes", "fills", "path"))
ITEMS, CHARS, NAMES = cost.Bounds().items, cost.Bounds().chars, cost.Bounds().names


def estimate(text: str, bounds: cost.Bounds | None = None) -> cost.Estimate:
    return cost.estimate(compile_expression(text).checked, variables=VARIABLES, bounds=bounds)


def guards(text: str) -> dict[str, int]:
    return {str(g): g.limit for g in estimate(text).guards}


@pytest.mark.parametrize(
    ("text", "units"),
    [
        ("true", 0),  # a constant costs nothing
        ("1 + 1", 1),  # a call costs 1
        ("object.x", 2),  # an identifier 1, a select 1
        ("object.x.y.z", 4),
        ("has(object.x)", 1),  # a presence test is free (PresenceTestHasCost false)
        ("[1, 2, 3]", 10),  # a list literal 10
        ("{'a': 1}", 30),  # a map literal 30
        ("'abc'.startsWith('a')", 1),  # ceil(size(arg) * 0.1)
        ("object.text.startsWith('a')", 3),
        ("object.a.size() > 2 ? object.b : object.c", 6),  # the condition and the dearer branch
        # all(): range + init + result + n * (condition 2 + step: && costs its operands only)
        ("[1, 2, 3].all(x, x > 0)", 10 + 0 + 1 + 3 * (2 + 3)),
        ("object.items.all(i, i > 0)", 2 + 0 + 1 + ITEMS * (2 + 3)),
        # ceil(len * 0.1) for a string read from the object, bounded by the guard.
        ("object.text.contains('x')", 2 + 6554 + 1),
        ("object.text.matches('^[a-z]+$')", 2 + 6554 * 2),  # ceil((n+1)*0.1) * ceil(len(re)*0.25)
        ("object.text.find('[0-9]+')", 2 + 6554 * 2),
        ("object.text.split('/')", 2 + 13108 + 65537),  # ceil(n * 0.2), and the n + 1 parts
        # A name is bounded by the longest name Kubernetes allows (a qualified name).
        ("object.name.contains('x')", 2 + 32 + 1),
        ("object.items.sort()", 2 + 2 * ITEMS * ITEMS + 11),  # lists v3: 2n² + 11
        ("sets.contains(object.a, object.b)", 4 + ITEMS * ITEMS + 1),  # n·m + 1
        # Library values have no size: == costs 1, each parse 1 (a short literal).
        ("quantity('1') == quantity('1000m')", 3),
        ("ip('::1') == cidr('::1/128').ip()", 4),
        ("semver('1.0.0') != semver('1.0.1')", 3),
        ("quantity(object.q).isLessThan(quantity('1Gi'))", 2 + 6554 + 1 + 1),
    ],
)
def test_exact_figures(text: str, units: int) -> None:
    assert estimate(text).cost == units


def test_nesting_multiplies_and_the_budget_draws_the_line() -> None:
    one = estimate("object.a.all(x, x == 'a')").cost
    two = estimate("object.a.all(x, object.b.all(y, x == y))").cost
    three = estimate("object.a.all(x, object.b.all(y, object.c.all(z, x == y && y == z)))").cost
    assert one < cost.BUDGET < two < three < cost.UNBOUNDED
    # The same expression fits when the bounds it may assume are smaller.
    small = cost.Bounds(items=10, chars=100)
    assert estimate("object.a.all(x, object.b.all(y, x == y))", small).cost < cost.BUDGET


def test_map_and_filter_pay_for_the_copies_the_runtime_makes() -> None:
    # The runtime copies the accumulated list at each step: n(n+1)/2 element copies.
    assert estimate("object.items.map(i, i)").cost > ITEMS * (ITEMS + 1) // 2
    assert estimate("object.items.all(i, true)").cost < ITEMS * 10


def test_comprehensions_count_at_most_the_runtime_iterations() -> None:
    # lists.range(n) makes its n elements at once (n + 11), then all() walks them.
    assert estimate("lists.range(3).all(i, true)").cost == 3 + 11 + 1 + 3 * (2 + 1)
    # Over a range of unknown length, the runtime's iteration cap bounds the walk.
    assert estimate("request.items.all(x, true)").cost == 2 + 1 + 10_000 * (2 + 1)
    fewer = cost.Bounds(iterations=5)
    assert estimate("object.a.all(x, true)", fewer).cost == 2 + 0 + 1 + 5 * (2 + 1)


def test_a_value_named_by_a_one_element_list_keeps_its_bounds() -> None:
    """Kubernetes has no cel.bind: `[value].map(name, ...)[0]` names a value (the generated
    admission policies do it everywhere), and the name is as bounded as the value."""
    direct = "object.text.find('[0-9]+')"
    named = "[object.text].map(t, t.find('[0-9]+'))[0]"
    for bounds in (None, cost.Bounds(chars=100)):
        # The list, one step of the comprehension, the index: a constant, whatever the text.
        assert estimate(named, bounds).cost - estimate(direct, bounds).cost == 36
    assert guards(named) == guards(direct)
    words = "(object.a.map(x, x) + object.b.map(x, x))"
    assert (
        estimate(f"[{words}].map(w, w[0].find('[0-9]+') + w.join(' '))[0]").cost < cost.BUDGET * 10
    )


def test_a_filter_appends_its_own_elements_not_a_nested_map_s() -> None:
    """Every macro's accumulator is `@result`: the elements of `filter(m, ...)` are the `m`s,
    even when its condition maps something else."""
    nested = "object.a.filter(m, object.a.map(x, x.name).size() > 0).map(m, m.name)"
    flat = "object.a.filter(m, object.a.size() > 0).map(m, m.name)"
    assert guards(f"{nested}.all(n, n.contains('x'))") == guards(f"{flat}.all(n, n.contains('x'))")
    assert estimate(f"{nested}.all(n, n.contains('x'))").cost < cost.UNBOUNDED


def test_what_nothing_bounds_costs_unbounded() -> None:
    # A string read from a variable the estimate was not told of: no guard can bound it. (Its
    # cost is a tenth of the bound, as in cel-go, where 0.1 times MaxUint64 does not saturate.)
    assert estimate("request.name.contains('x')").cost > cost.UNBOUNDED // 11
    # Nor a list made of a length read from it.
    assert estimate("lists.range(object.n).all(i, true)").cost == cost.UNBOUNDED
    # Sums and products saturate rather than grow past the bound.
    deep = "object.a.all(a, object.b.all(b, object.c.all(c, object.d.all(d, "
    deep += "object.e.all(e, object.f.all(f, object.g.all(g, true)))))))"
    assert estimate(deep).cost == cost.UNBOUNDED


def test_the_costliest_part_is_named() -> None:
    assert estimate("object.items.sort()").costliest == "sort()"
    assert estimate("object.a.all(x, true)").costliest == "a comprehension over up to 1,000 entries"
    assert estimate("1 + 1").costliest == ""


@pytest.mark.parametrize(
    ("text", "recorded"),
    [
        ("object.x", {}),  # nothing assumed of a value only selected
        ("object.text.contains('x')", {"object.text": CHARS}),
        ("object.name.contains('x')", {"object.name": NAMES}),
        ("object.items.all(i, i > 0)", {"object.items": ITEMS}),
        (
            "container.env.exists(e, e.name.contains('X'))",
            {"container.env": ITEMS, "container.env[*].name": NAMES},
        ),
        ("object.a.join(',')", {"object.a": ITEMS, "object.a[*]": CHARS}),
        ("sets.contains(object.a, object.b)", {"object.a": ITEMS, "object.b": ITEMS}),
        ("[1, 2].all(x, x > 0)", {}),  # literals have known sizes
    ],
)
def test_each_estimate_records_what_it_assumed(text: str, recorded: dict[str, int]) -> None:
    assert guards(text) == recorded


GUARDS = (
    cost.Guard(("object", "items"), 3),
    cost.Guard(("object", "name"), 5),
    cost.Guard(("container", "env", "*", "value"), 4),
)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({}, None),  # what is absent is not too large
        ({"object": {"items": [1, 2, 3], "name": "abcde"}}, None),
        ({"object": {"items": "abc", "name": 5}}, None),  # sized whatever its kind
        ({"container": {"env": [{"value": "abcd"}, {"name": "x"}]}}, None),
        (
            {"object": {"items": [1, 2, 3, 4]}},
            "object.items has 4 entries, more than the 3 an expression may read",
        ),
        (
            {"object": {"items": {"a": 1, "b": 2, "c": 3, "d": 4}}},
            "object.items has 4 entries, more than the 3 an expression may read",
        ),
        (
            {"object": {"name": "abcdef"}},
            "object.name has 6 characters, more than the 5 an expression may read",
        ),
        (
            {"container": {"env": [{"value": "abcd"}, {"value": "abcde"}]}},
            "container.env[*].value has 5 characters, more than the 4 an expression may read",
        ),
        # Walking through `*`, a list longer than the guard's limit is refused as it is met.
        (
            {"container": {"env": [{}] * 5}},
            "container.env has 5 entries, more than the 4 a rule may read",
        ),
    ],
)
def test_exceeded_on_values_within_and_beyond(data: dict[str, object], problem: str | None) -> None:
    assert cost.exceeded(GUARDS, data) == problem
