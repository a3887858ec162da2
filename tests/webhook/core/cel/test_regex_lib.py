"""The regex library against Kubernetes' own table: kubernetes/kubernetes has no regex_test.go;
its cases live in staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/
validation_test.go (TestValidationExpressions, "stdlib regex functions": every expression,
with `self.str` given as `object.str`), and in the examples of library/regex.go, corrected as
kubernetes/website#46695 shows them run (Go's FindString and FindAllString). Then Go's
regexp/syntax error texts, which Kubernetes reports as `Illegal regex: ...` when the pattern is
not a literal, and at write time when it is."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Refused, check, table

OBJECT = {"str": "this is a 123 string 456"}
ILLEGAL = "Illegal regex: error parsing regexp: "

KUBERNETES = [
    *(
        Case(expr, True)
        for expr in (
            "object.str.find('[0-9]+') == '123'",
            "object.str.find('[0-9]+') != '456'",
            "object.str.find('xyz') == ''",
            "object.str.findAll('[0-9]+') == ['123', '456']",
            "object.str.findAll('[0-9]+', 0) == []",
            "object.str.findAll('[0-9]+', 1) == ['123']",
            "object.str.findAll('[0-9]+', 2) == ['123', '456']",
            "object.str.findAll('[0-9]+', 3) == ['123', '456']",
            "object.str.findAll('[0-9]+', -1) == ['123', '456']",
            "object.str.findAll('xyz') == []",
            "object.str.findAll('xyz', 1) == []",
        )
    ),
    # A literal pattern that does not compile is refused when the expression is written.
    Case("object.str.find(')') == ''", Refused("error parsing regexp: unexpected ): `)`")),
    Case("object.str.findAll(')') == []", Refused("error parsing regexp: unexpected ): `)`")),
    Case("object.str.findAll(')', 1) == []", Refused("error parsing regexp: unexpected ): `)`")),
    Case(
        "object.str.matches('x++')",
        Refused("invalid matches argument"),
        here=Refused("error parsing regexp: invalid nested repetition operator: `++`"),
        why="checks.py refuses an invalid literal pattern of matches() with the regex library's "
        "words; cel-go's validator says 'invalid matches argument'",
    ),
]

DOCUMENTED = [
    # regex.go's comments say '123' and ['123', '456']; Go's regexp finds the empty match at
    # the start first, and keeps the empty matches that do not abut a previous match.
    Case("'abc 123'.find('[0-9]*')", ""),
    Case("'abc 123'.find('xyz')", ""),
    Case("'123 abc 456'.findAll('[0-9]*')", ["123", "", "", "", "", "456"]),
    Case("'123 abc 456'.findAll('[0-9]*', 1)", ["123"]),
    Case("'123 abc 456'.findAll('xyz')", []),
    Case("'1, 2, 3, 4'.findAll('[0-9]*')", ["1", "", "2", "", "3", "", "4"]),
]

MATCHING = [
    Case("'abc'.findAll('')", ["", "", "", ""]),
    Case("'aaa'.findAll('a*?')", ["", "", "", ""]),
    Case("'abb'.findAll('a*|b')", ["a", "", ""]),
    Case("'héllo'.findAll('.')", ["h", "é", "l", "l", "o"]),
    Case("'héllo'.find('[^a-z]')", "é"),
    Case("'AbC'.find('(?i)b')", "b"),
    Case("'aaa'.find('(?U)a+')", "a"),
    Case("'ab\\nab'.findAll('^a')", ["a"]),
    Case("'ab\\nab'.findAll('(?m)^a')", ["a", "a"]),
    Case("'x1y22'.findAll('(?P<n>[0-9]+)')", ["1", "22"]),
    Case("'a1'.find('\\\\pN')", "1"),
    Case("'x'.findAll('x', -5)", ["x"]),
]

ERRORS = [
    # A pattern that is not a literal is checked only when it runs: Kubernetes' runtime error.
    Case("'a'.find(dyn(')'))", Error(ILLEGAL + "unexpected ): `)`")),
    Case("'a'.findAll(dyn('('))", Error(ILLEGAL + "missing closing ): `(`")),
    Case("'a'.findAll(dyn('[a'), 1)", Error(ILLEGAL + "missing closing ]: `[a`")),
    Case("'a'.find(dyn('a**'))", Error(ILLEGAL + "invalid nested repetition operator: `**`")),
    Case("'a'.find(dyn('*'))", Error(ILLEGAL + "missing argument to repetition operator: `*`")),
    Case("'a'.find(dyn('a{2,1}'))", Error(ILLEGAL + "invalid repeat count: `{2,1}`")),
    Case("'a'.find(dyn('x{1001}'))", Error(ILLEGAL + "invalid repeat count: `{1001}`")),
    Case("'a'.find(dyn('\\\\'))", Error(ILLEGAL + "trailing backslash at end of expression: ``")),
    Case("'a'.find(dyn('\\\\8'))", Error(ILLEGAL + "invalid escape sequence: `\\8`")),
    Case("'a'.find(dyn('[z-a]'))", Error(ILLEGAL + "invalid character class range: `z-a`")),
    Case("'a'.find(dyn('(?z)'))", Error(ILLEGAL + "invalid or unsupported Perl syntax: `(?z`")),
    Case("'a'.find(dyn('(?P<n'))", Error(ILLEGAL + "invalid named capture: `(?P<n`")),
    # RE2 (C++) takes \C, any byte; Go's regexp does not, so neither does Kubernetes.
    Case("'a'.find(dyn('\\\\C'))", Error(ILLEGAL + "invalid escape sequence: `\\C`")),
    Case("'a'.find('\\\\C')", Refused("invalid escape sequence: `\\C`")),
    Case("'a\\\\C'.find('\\\\\\\\C')", "\\C"),
]


@pytest.mark.parametrize(
    "case",
    table(kubernetes=KUBERNETES, documented=DOCUMENTED, matching=MATCHING, errors=ERRORS),
)
def test_regex_library(case: Case) -> None:
    check(case, {"object": OBJECT})
