"""The lists library against Kubernetes' own table: kubernetes/kubernetes has no lists_test.go;
its cases live in staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/
validation_test.go (TestValidationExpressions, "stdlib list functions": every expression, with
`self` given as `object`; the durations and dates, which a CRD schema types and a dynamic
object cannot, written as literals), and in the examples of library/lists.go."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Refused, check, table

OBJECT = {
    "ints": [1, 2, 2, 3],
    "unsortedInts": [2, 1],
    "emptyInts": [],
    "doubles": [1.0, 2.0, 2.0, 3.0],
    "unsortedDoubles": [2.0, 1.0],
    "emptyDoubles": [],
    "intBackedDoubles": [1, 2, 2, 3],
    "unsortedIntBackedDDoubles": [2, 1],
    "emptyIntBackedDDoubles": [],
    "strings": ["a", "b", "b", "c"],
    "unsortedStrings": ["b", "a"],
    "emptyStrings": [],
    "mixed": ["b", 1, "a"],
    "objs": [
        {"f1": "a", "f2": "a"},
        {"f1": "a", "f2": "b"},
        {"f1": "a", "f2": "b"},
        {"f1": "a", "f2": "c"},
    ],
}
DURATIONS = "[duration('1s'), duration('1m'), duration('1m'), duration('1h')]"
DATES = (
    "[timestamp('2000-01-01T00:00:00Z'), timestamp('2000-02-01T00:00:00Z'), "
    "timestamp('2000-02-01T00:00:00Z'), timestamp('2010-01-01T00:00:00Z')]"
)
UNSORTED_DATES = "[timestamp('2000-02-01T00:00:00Z'), timestamp('2000-01-01T00:00:00Z')]"
DYNAMIC = (
    "initgate declares list(dyn) where Kubernetes declares one overload per element type "
    "(library.py says why): what Kubernetes refuses when written fails here when it runs"
)
NO_UINT = (
    "the runtime hands a list's elements to Python without their CEL type, and a uint "
    "arrives as an int: sum, min and max of uints give an int"
)
MICROSECONDS = (
    "the runtime hands durations and timestamps to Python as datetime values, which keep "
    "microseconds: nanoseconds are lost in sum, min and max"
)

VALID = [
    "object.ints.sum() == 8",
    "object.ints.min() == 1",
    "object.ints.max() == 3",
    "object.emptyInts.sum() == 0",
    "object.ints.isSorted()",
    "object.emptyInts.isSorted()",
    "object.unsortedInts.isSorted() == false",
    "object.ints.indexOf(2) == 1",
    "object.ints.lastIndexOf(2) == 2",
    "object.ints.indexOf(10) == -1",
    "object.ints.lastIndexOf(10) == -1",
    "object.doubles.sum() == 8.0",
    "object.doubles.min() == 1.0",
    "object.doubles.max() == 3.0",
    "object.emptyDoubles.sum() == 0.0",
    "object.doubles.isSorted()",
    "object.emptyDoubles.isSorted()",
    "object.unsortedDoubles.isSorted() == false",
    "object.doubles.indexOf(2.0) == 1",
    "object.doubles.lastIndexOf(2.0) == 2",
    "object.doubles.indexOf(10.0) == -1",
    "object.doubles.lastIndexOf(10.0) == -1",
    "object.intBackedDoubles.sum() == 8.0",
    "object.intBackedDoubles.min() == 1.0",
    "object.intBackedDoubles.max() == 3.0",
    "object.emptyIntBackedDDoubles.sum() == 0.0",
    "object.intBackedDoubles.isSorted()",
    "object.emptyDoubles.isSorted()",
    "object.unsortedIntBackedDDoubles.isSorted() == false",
    "object.intBackedDoubles.indexOf(2.0) == 1",
    "object.intBackedDoubles.lastIndexOf(2.0) == 2",
    "object.intBackedDoubles.indexOf(10.0) == -1",
    "object.intBackedDoubles.lastIndexOf(10.0) == -1",
    f"{DURATIONS}.sum() == duration('1h2m1s')",
    f"{DURATIONS}.min() == duration('1s')",
    f"{DURATIONS}.max() == duration('1h')",
    f"{DURATIONS}.isSorted()",
    "[duration('1m'), duration('1s')].isSorted() == false",
    f"{DURATIONS}.indexOf(duration('1m')) == 1",
    f"{DURATIONS}.lastIndexOf(duration('1m')) == 2",
    f"{DURATIONS}.indexOf(duration('2m')) == -1",
    f"{DURATIONS}.lastIndexOf(duration('2m')) == -1",
    "object.strings.min() == 'a'",
    "object.strings.max() == 'c'",
    "object.strings.isSorted()",
    "object.emptyStrings.isSorted()",
    "object.unsortedStrings.isSorted() == false",
    "object.strings.indexOf('b') == 1",
    "object.strings.lastIndexOf('b') == 2",
    "object.strings.indexOf('x') == -1",
    "object.strings.lastIndexOf('x') == -1",
    f"{DATES}.min() == timestamp('2000-01-01T00:00:00.000Z')",
    f"{DATES}.max() == timestamp('2010-01-01T00:00:00.000Z')",
    f"{DATES}.isSorted()",
    f"{UNSORTED_DATES}.isSorted() == false",
    f"{DATES}.indexOf(timestamp('2000-02-01T00:00:00.000Z')) == 1",
    f"{DATES}.lastIndexOf(timestamp('2000-02-01T00:00:00.000Z')) == 2",
    f"{DATES}.indexOf(timestamp('2005-02-01T00:00:00.000Z')) == -1",
    f"{DATES}.lastIndexOf(timestamp('2005-02-01T00:00:00.000Z')) == -1",
    "[[1], [2]].indexOf([1]) == 0",
    "[{'a': 1}, {'b': 2}].lastIndexOf({'b': 2}) == 1",
    "object.objs.indexOf(object.objs[1]) == 1",
    "object.objs.lastIndexOf(object.objs[1]) == 2",
    "([0] + object.emptyInts).min() == 0",
    "dyn([]).sum() == 0",
    "dyn([1, 2]).sum() == 3",
    "dyn([1.0, 2.0]).sum() == 3.0",
    "[].sum() == 0",
]

KUBERNETES = [
    *(Case(expr, True) for expr in VALID),
    Case("object.emptyInts.min() == 1", Error("min called on empty list")),
    Case("object.emptyInts.max() == 3", Error("max called on empty list")),
    Case("object.emptyDoubles.min() == 1.0", Error("min called on empty list")),
    Case("object.emptyDoubles.max() == 3.0", Error("max called on empty list")),
    Case("object.emptyStrings.min() == 'a'", Error("min called on empty list")),
    Case("object.emptyStrings.max() == 'c'", Error("max called on empty list")),
    Case(
        "['a', 'b'].sum() == 'c'",
        Refused("found no matching overload for 'sum' applied to 'list(string).()'"),
        here=Error("no such overload"),
        why=DYNAMIC,
    ),
    Case(
        "[[1], [2]].min() == [1]",
        Refused("found no matching overload for 'min' applied to 'list(list(int)).()'"),
        here=Error("no such overload"),
        why=DYNAMIC,
    ),
    Case(
        "[{'a': 1}, {'b': 2}].max() == {'b': 2}",
        Refused("found no matching overload for 'max' applied to 'list(map(string, int)).()'"),
        here=Error("no such overload"),
        why=DYNAMIC,
    ),
]

DOCUMENTED = [
    Case("[1, 2, 3].isSorted()", True),
    Case("['a', 'b', 'b', 'c'].isSorted()", True),
    Case("[2.0, 1.0].isSorted()", False),
    Case("[1].isSorted()", True),
    Case("[].isSorted()", True),
    Case("[1, 3].sum()", 4),
    Case("[1.0, 3.0].sum()", 4.0),
    Case("[1, 3].min()", 1),
    Case("[1, 3].max()", 3),
    Case("[].min()", Error("min called on empty list")),
    Case("[1].min()", 1),
    Case("[1, 2, 2, 3].indexOf(2)", 1),
    Case("['a', 'b', 'b', 'c'].lastIndexOf('b')", 2),
    Case("[1.0].indexOf(1.1)", -1),
    Case("[].indexOf('string')", -1),
    # `includes` arrives with lists version 1, in Kubernetes 1.37.
    Case("[1, 2, 3].includes(2)", Refused("undeclared reference to 'includes'")),
]

FUNCTIONS = [
    Case("[b'a', b'b'].isSorted()", True),
    Case("[b'b', b'a'].min()", b"a"),
    Case("[true, false].isSorted()", False),
    Case("[false, true].max()", True),
    Case("[1.5, 2.5].sum()", 4.0),
    Case("[9223372036854775807, 1].sum()", Error("integer overflow")),
    Case("[duration('1s'), duration('1m')].sum() == duration('61s')", True),
    Case("[true].sum()", Error("no such overload")),
    Case("[null].isSorted()", Error("no such overload")),
    Case("[quantity('1')].min()", Error("no such overload")),
    Case("[quantity('1')].indexOf(quantity('1000m'))", 0),
    Case("[1, 2, 3].indexOf(2.0)", 1),
    Case("[dyn(2), dyn(1.0)].min()", 1.0),
    # cel-go picks the overload of a dynamic list by its first element, then adds with that
    # type's Add, which refuses a double after an int.
    Case("[dyn(1), dyn(2.5)].sum()", Error("no such overload")),
    # Kubernetes' min, max and isSorted skip a pair cel-go cannot order (its Compare gives an
    # error, which is neither 1 nor -1): the first value stays, the list counts as sorted.
    Case("[dyn(1), dyn('a')].min()", 1),
    Case("object.mixed.isSorted()", True),
    Case("[1.0, 0.0/0.0].max()", 1.0),
]

DIFFERENCES = [
    Case(
        "[1].indexOf('a')",
        Refused("found no matching overload for 'indexOf' applied to 'list(int).(string)'"),
        here=-1,
        why=DYNAMIC,
    ),
    Case(
        "[duration('1s')].slice(0, 0).sum() == duration('0')",
        True,
        here=False,
        why=DYNAMIC + "; an empty list sums to the int 0, not to its type's zero",
    ),
    Case(
        "[1u, 2u].sum() + 1u",
        4,
        here=Error("No matching overloads found : _+_(int64, uint64)"),
        why=NO_UINT,
    ),
    Case("type([1u, 2u].max()) == uint", True, here=False, why=NO_UINT),
    Case(
        "[duration('1ns'), duration('1ns')].sum() == duration('2ns')",
        True,
        here=False,
        why=MICROSECONDS,
    ),
]


@pytest.mark.parametrize(
    "case",
    table(kubernetes=KUBERNETES, documented=DOCUMENTED, functions=FUNCTIONS, differs=DIFFERENCES),
)
def test_lists_library(case: Case) -> None:
    check(case, {"object": OBJECT})
