"""The one CEL environment (webhook/core/cel/environment.py): the extensions Kubernetes 1.36
loads work (strings v2, sets, lists v3, two-variable comprehensions, optional values), those it
does not load are refused when written, compile errors say where, evaluation errors say what in
plain words, library values compare by value, and no other module knows the runtime.

What Kubernetes loads: k8s.io/apiserver/pkg/cel/environment/base.go (/work/notes/k8s-cel.md §1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.cel import Case, Error, Refused, check, table
from webhook.core.cel.environment import (
    CompileError,
    EvaluationError,
    activation,
    compile_expression,
)
from webhook.core.cel.expression import compile_checked

ROOT = Path(__file__).resolve().parents[4]
NO_MAP_INSERT = (
    "the runtime's two-variable comprehensions lack cel.@mapInsert when run: transformMap and "
    "transformMapEntry are refused when written, rather than failing at every evaluation"
)
NO_CROSS_ORDERING = (
    "the runtime's checker declares <, <=, >, >= only between numbers of one type (at run "
    "time, on dynamic values, it does compare across them); Kubernetes loads "
    "CrossTypeNumericComparisons"
)

STRINGS = [
    Case("'abc'.charAt(1)", "b"),
    Case("'abc'.charAt(3)", ""),
    Case("'abcb'.indexOf('b')", 1),
    Case("'abc'.indexOf('c', 1)", 2),
    Case("'abcb'.lastIndexOf('b')", 3),
    Case("'AbC'.lowerAscii()", "abc"),
    Case("'abc'.upperAscii()", "ABC"),
    Case("'aaa'.replace('a', 'b', 2)", "bba"),
    Case("'a,b,c'.split(',')", ["a", "b", "c"]),
    Case("'a,b,c'.split(',', 2)", ["a", "b,c"]),
    Case("'hello'.substring(1, 3)", "el"),
    Case("'  x \\t'.trim()", "x"),
    Case("['a', 'b'].join('-')", "a-b"),
    Case("['a', 'b'].join()", "ab"),
    Case("'%s is %d'.format(['x', 1])", "x is 1"),
    Case("strings.quote('a\"b')", '"a\\"b"'),
]

SETS = [
    Case("sets.contains([1, 2, 3], [2])", True),
    Case("sets.contains([1], [])", True),
    Case("sets.equivalent([1, 1, 2], [2, 1])", True),
    Case("sets.intersects([1], [2])", False),
]

LISTS = [
    Case("[1, 2, 3, 4].slice(1, 3)", [2, 3]),
    Case("[[1], [2, 3]].flatten()", [1, 2, 3]),
    Case("[3, 1, 2].sort()", [1, 2, 3]),
    Case("['bb', 'a'].sortBy(s, s.size())", ["a", "bb"]),
    Case("lists.range(3)", [0, 1, 2]),
    Case("[1, 2].reverse()", [2, 1]),
    Case("[1, 2, 1].distinct()", [1, 2]),
    Case(
        "[1, 2].slice(2, 1)",
        Error("cannot slice(2, 1), start index must be less than or equal to end index"),
    ),
]

COMPREHENSIONS = [
    Case("[1, 2].all(i, v, v > i)", True),
    Case("[1, 2].exists(i, v, i == 1 && v == 2)", True),
    Case("[1, 2].existsOne(i, v, v > 1)", True),
    Case("{'a': 1, 'b': 2}.all(k, v, k.size() == 1 && v > 0)", True),
    Case("[1, 2].transformList(i, v, v * 10)", [10, 20]),
    Case("[1, 2].transformList(i, v, i > 0, v)", [2]),
    Case(
        "{'a': 1}.transformMap(k, v, v + 1)",
        {"a": 2},
        here=Refused("'transformMap' is not offered"),
        why=NO_MAP_INSERT,
    ),
    Case(
        "{'a': 1}.transformMapEntry(k, v, {v: k})",
        {1: "a"},
        here=Refused("'transformMapEntry' is not offered"),
        why=NO_MAP_INSERT,
    ),
]

OPTIONALS = [
    Case("optional.of(1).hasValue()", True),
    Case("optional.none().orValue(2)", 2),
    Case("optional.of(1).value()", 1),
    Case("optional.none().or(optional.of(3)).value()", 3),
    Case("optional.ofNonZeroValue(0).hasValue()", False),
    Case("{'a': 1}[?'b'].hasValue()", False),
    Case("object.?spec.?x.orValue('none')", "none"),
    Case("[?optional.none(), ?optional.of(1)]", [1]),
    Case("{?'a': optional.of(1), ?'b': optional.none()}", {"a": 1}),
]

LANGUAGE = [
    Case("dyn(1) < 1.5", True),
    Case(
        "1 < 1.5", True, here=Refused("found no matching overload for '_<_'"), why=NO_CROSS_ORDERING
    ),
    Case("timestamp('2000-01-01T00:00:00Z').getFullYear()", 2000),
    Case("[1, 'a']", Refused("a literal mixes types (int, string)")),
    Case("duration('1x')", Refused("invalid duration literal")),
]

# Each opaque value travels as its canonical text: equal values are equal, whatever was written.
BY_VALUE = [
    Case("quantity('1') == quantity('1000m')", True),
    Case("quantity('1Ki') != quantity('1k')", True),
    Case("[quantity('1')] == [quantity('1000m')]", True),
    Case("ip('::1') == ip('0:0::1')", True),
    Case("cidr('10.0.0.0/8') == cidr('10.0.0.0/8')", True),
    Case("semver('1.0.0+a') == semver('1.0.0')", True),
    Case("semver('v1', true) == semver('1.0.0')", True),
]


@pytest.mark.parametrize(
    "case",
    table(
        strings=STRINGS,
        sets=SETS,
        lists=LISTS,
        comprehensions=COMPREHENSIONS,
        optionals=OPTIONALS,
        language=LANGUAGE,
        by_value=BY_VALUE,
    ),
)
def test_what_kubernetes_loads_works(case: Case) -> None:
    check(case, {"object": {"spec": {}}})


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("math.greatest(1, 2)", "undeclared reference to 'math'", 1),
        ("base64.encode(b'a')", "undeclared reference to 'base64'", 1),
        ("regex.extract('a', 'a')", "undeclared reference to 'regex'", 1),
        # The runtime reports the bound name first; its later errors name cel and bind.
        ("cel.bind(x, 1, x + 1)", "undeclared reference to 'x'", 10),
        ("'ab'.reverse()", "'<string>.reverse()' is not offered: it is in the strings library", 13),
        ("[1].first()", "'<list>.first()' is not offered: Kubernetes' lists library", 10),
        ("[1].last()", "'<list>.last()'", 9),
        ("[1, 2, 3].includes(2)", "undeclared reference to 'includes'", 19),
    ],
)
def test_what_kubernetes_does_not_load_is_refused(text: str, message: str, column: int) -> None:
    with pytest.raises(CompileError) as refused:
        compile_checked(text, variables=frozenset(), results=frozenset({"dyn"}))
    assert message in refused.value.message
    assert refused.value.column == column


@pytest.mark.parametrize(
    ("text", "message", "column"),
    [
        ("1 +", "Syntax error: mismatched input '<EOF>'", 4),
        ("(1", "Syntax error: missing ')' at '<EOF>'", 3),
        ("object.a + undefined", "undeclared reference to 'undefined'", 12),
        ("[1, 2].join()", "found no matching overload for 'join' applied to '(list(int))'", 12),
        # Columns count code points, not bytes.
        ("'ééé' == y", "undeclared reference to 'y'", 10),
        # Of a later line, the runtime gives the column within that line.
        ("true &&\n  undefined", "undeclared reference to 'undefined'", 3),
    ],
)
def test_compile_errors_say_where(text: str, message: str, column: int) -> None:
    with pytest.raises(CompileError) as refused:
        compile_expression(text)
    assert refused.value.message.startswith(message)
    assert " (in container '')" not in refused.value.message
    assert refused.value.column == column


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1 / 0", "divide by zero"),
        ("9223372036854775807 + 1", "integer overflow"),
        ("object.missing", 'Key not found in map : "missing"'),
        ("[1][5]", "Index error: index=5 size=1"),
        ("int('x')", "cannot convert string to int"),
        ("object.a.all(x, x > 0)", "No matching overloads found : _>_(string, int64)"),
        ("[].max()", "max called on empty list"),
        (
            "quantity('x')",
            "quantities must match the regular expression "
            "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
        ),
        # What the runtime cannot read back is an evaluation error too, never a crash.
        (
            "dyn(optional.of(1))",
            "a dyn result cannot be read: Unable to convert function return value to a Python type! The signature was",
        ),
    ],
)
def test_evaluation_errors_are_readable(text: str, message: str) -> None:
    with pytest.raises(EvaluationError) as failed:
        compile_expression(text).evaluate(activation({"object": {"a": ["x"]}}))
    assert str(failed.value) == message


def test_an_optional_in_a_list_is_an_evaluation_error() -> None:
    with pytest.raises(EvaluationError, match="a list\\(optional_type\\) result cannot be read"):
        compile_expression("[optional.of(1)]").evaluate(activation({}))


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


def test_lists_and_maps_come_out_as_plain_values_all_the_way_down() -> None:
    value = compile_expression("{'a': [1, {'b': [2.5, b'x']}], 'q': [quantity('1')]}").evaluate(
        activation({})
    )
    assert value == {"a": [1, {"b": [2.5, bytearray(b"x")]}], "q": [value["q"][0]]}
    assert type(value["a"]) is list
    assert type(value["a"][1]) is dict
    assert value["q"][0].DESCRIPTOR.full_name == "kubernetes.Quantity"


def test_exactly_one_module_imports_the_runtime() -> None:
    importers = []
    for package in ("webhook", "policies", "tests", "scripts"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name.split(".")[0] == "cel_expr_python" for name in names):
                    importers.append(path.relative_to(ROOT).as_posix())
    assert sorted(set(importers)) == ["webhook/core/cel/environment.py"]
