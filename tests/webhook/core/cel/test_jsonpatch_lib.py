"""The JSONPatch library against Kubernetes: jsonpatch.go's own example (kubernetes/kubernetes
has no jsonpatch_test.go), Go's strings.Replacer (one pass: what it writes is not escaped
again), and the `JSONPatch` values a MutatingAdmissionPolicy builds, read as the operations
mutating/patch/json_patch.go applies (`from` only when not empty, `value` only when set).
Both are offered to MutatingAdmissionPolicy expressions only."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Refused, check, outcome, table
from webhook.core.cel.jsonpatch_lib import escape_key

KUBERNETES = [
    Case(
        "'/metadata/labels/' + jsonpatch.escapeKey('k8s.io/my~label')",
        "/metadata/labels/k8s.io~1my~0label",
    ),
]

ESCAPING = [
    Case("jsonpatch.escapeKey('')", ""),
    Case("jsonpatch.escapeKey('cpu')", "cpu"),
    Case("jsonpatch.escapeKey('/')", "~1"),
    Case("jsonpatch.escapeKey('~')", "~0"),
    Case("jsonpatch.escapeKey('~1')", "~01"),
    Case("jsonpatch.escapeKey('a//b~~c')", "a~1~1b~0~0c"),
    Case("jsonpatch.escapeKey('example.com/dev~0')", "example.com~1dev~00"),
    Case("jsonpatch.escapeKey('nvidia.com/gpü')", "nvidia.com~1gpü"),
    Case("jsonpatch.escapeKey(1)", Refused("found no matching overload for 'jsonpatch.escapeKey'")),
]

PATCHES = [
    Case(
        "[JSONPatch{op: 'add', path: '/spec/x', value: {'a': ['b', 'c']}}]",
        [{"op": "add", "path": "/spec/x", "value": {"a": ["b", "c"]}}],
    ),
    Case(
        "JSONPatch{op: 'add', path: '/a', value: 1}",
        {"op": "add", "path": "/a", "value": 1},
    ),
    Case(
        "JSONPatch{op: 'add', path: '/a', value: 1.5}",
        {"op": "add", "path": "/a", "value": 1.5},
    ),
    Case(
        "JSONPatch{op: 'add', path: '/a', value: true}",
        {"op": "add", "path": "/a", "value": True},
    ),
    Case(
        "JSONPatch{op: 'add', path: '/a', value: null}",
        {"op": "add", "path": "/a", "value": None},
    ),
    Case("JSONPatch{op: 'remove', path: '/a'}", {"op": "remove", "path": "/a"}),
    Case(
        "JSONPatch{op: 'copy', from: '/a', path: '/b'}",
        {"op": "copy", "path": "/b", "from": "/a"},
    ),
    Case("JSONPatch{op: 'remove', path: '/a', from: ''}", {"op": "remove", "path": "/a"}),
    Case("JSONPatch{op: 'add', path: '/a'}.path", "/a"),
    Case("JSONPatch{op: 'add'}.path", ""),
    Case("has(JSONPatch{op: 'add', value: 1}.value)", True),
    Case("has(JSONPatch{op: 'add'}.value)", False),
    Case(
        "JSONPatch{op: 'add', path: '/a', value: object.spec}",
        {"op": "add", "path": "/a", "value": {"n": 2, "s": "x"}},
    ),
    Case(
        "JSONPatch{op: 'add', bogus: 1}",
        Error("unexpected JSONPatchType field: bogus"),
        here=Refused("undefined field 'bogus'"),
        why="initgate's JSONPatch is a message with four fields, which the checker knows; "
        "Kubernetes' type answers every field name and refuses the unknown ones when it runs",
    ),
]


@pytest.mark.parametrize("case", table(kubernetes=KUBERNETES, escaping=ESCAPING, patches=PATCHES))
def test_library(case: Case) -> None:
    check(case, {"object": {"spec": {"n": 2, "s": "x"}}}, patches=True)


@pytest.mark.parametrize(
    "text",
    [
        "jsonpatch.escapeKey('a/b')",
        "[JSONPatch{op: 'add', path: '/a', value: 1}]",
        "object.x.map(k, JSONPatch{op: 'add', path: '/' + k})",
    ],
)
def test_only_a_mutating_policy_may_use_them(text: str) -> None:
    """A rule, a matchCondition or a ValidatingAdmissionPolicy that names them does not compile
    in Kubernetes: initgate refuses them too unless it compiles a MAP's expression."""
    refused = outcome(text)
    assert isinstance(refused, Refused)
    assert "only offered to a MutatingAdmissionPolicy's expressions" in refused.message


@pytest.mark.parametrize("key", ["", "a", "~", "/", "~1", "~0/~1", "a~b/c~~d//"])
def test_escaping_is_one_pass_as_go_replaces(key: str) -> None:
    """Go's Replacer tries `/` and `~` at each position of the original text: unescaping gives
    the key back whatever it holds."""
    escaped = escape_key(key)
    assert escaped.replace("~1", "/").replace("~0", "~") == key
    assert "/" not in escaped
