"""tree.py decodes the runtime's serialised checked expression: constants of every kind,
identifiers, selects and presence tests, calls (global and member), list, map and message
literals, comprehensions of one and two variables, the checker's types and references, and
each node's position in code points."""

from __future__ import annotations

import pytest

from webhook.core.cel import tree
from webhook.core.cel.environment import compile_expression


def checked(text: str) -> tree.Checked:
    return compile_expression(text).checked


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("null", None, "null_type"),
        ("true", True, "bool"),
        ("false", False, "bool"),
        ("-5", -5, "int"),
        ("-9223372036854775808", -(2**63), "int"),
        ("18446744073709551615u", 2**64 - 1, "uint"),
        ("2.5", 2.5, "double"),
        ("-0.0", -0.0, "double"),
        ("'é'", "é", "string"),
        ("''", "", "string"),
        ("b'\\xff\\x00'", b"\xff\x00", "bytes"),
    ],
)
def test_constants_of_every_kind(text: str, value: object, kind: str) -> None:
    found = checked(text)
    assert found.root == tree.Const(found.root.id, value)
    assert type(found.root.value) is type(value)
    assert found.types[found.root.id] == kind


def test_selects_and_presence_tests() -> None:
    found = checked("object.a.b")
    assert isinstance(found.root, tree.Select)
    assert (found.root.field, found.root.test_only) == ("b", False)
    inner = found.root.operand
    assert isinstance(inner, tree.Select)
    assert inner.operand == tree.Ident(inner.operand.id, "object")
    presence = checked("has(object.a)").root
    assert isinstance(presence, tree.Select)
    assert (presence.field, presence.test_only) == ("a", True)


def test_calls_global_and_member_with_their_overloads() -> None:
    found = checked("size('a') + 'b'.size()")
    call = found.root
    assert isinstance(call, tree.Call)
    assert (call.function, call.target) == ("_+_", None)
    first, second = call.args
    assert isinstance(first, tree.Call)
    assert isinstance(second, tree.Call)
    assert (first.function, first.target, first.args) == (
        "size",
        None,
        (tree.Const(first.args[0].id, "a"),),
    )
    assert second.target == tree.Const(second.target.id, "b")  # type: ignore[union-attr]
    assert second.args == ()
    assert found.references[first.id] == ("size", ("size_string",))
    assert found.references[second.id] == ("size", ("string_size",))
    assert found.references[call.id] == ("_+_", ("add_int64",))


def test_library_calls_resolve_to_the_libraries_overloads() -> None:
    found = checked("quantity('1').add(1)")
    assert found.references[found.root.id] == ("add", ("quantity_add_int",))
    assert found.types[found.root.id] == "kubernetes.Quantity"


def test_list_map_and_message_literals() -> None:
    items = checked("[1, 2]").root
    assert isinstance(items, tree.CreateList)
    assert [e.value for e in items.elements] == [1, 2]  # type: ignore[attr-defined]
    found = checked("{'a': [1]}")
    entries = found.root
    assert isinstance(entries, tree.CreateStruct)
    assert entries.message == ""
    (entry,) = entries.entries
    assert entry.key == tree.Const(entry.key.id, "a")  # type: ignore[union-attr]
    assert isinstance(entry.value, tree.CreateList)
    assert found.types[entries.id] == "map(string, list(int))"
    message = checked("google.protobuf.Int64Value{value: 1}")
    assert isinstance(message.root, tree.CreateStruct)
    assert message.root.message == "google.protobuf.Int64Value"
    assert [(e.key, e.value) for e in message.root.entries] == [
        ("value", tree.Const(message.root.entries[0].value.id, 1))
    ]
    assert message.types[message.root.id] == "wrapper(int)"


def test_comprehensions_of_one_variable() -> None:
    found = checked("[1].map(x, x * 2)")
    loop = found.root
    assert isinstance(loop, tree.Comprehension)
    assert (loop.iter_var, loop.iter_var2, loop.accu_var) == ("x", "", "@result")
    assert isinstance(loop.iter_range, tree.CreateList)
    assert loop.accu_init == tree.CreateList(loop.accu_init.id, ())
    assert isinstance(loop.loop_step, tree.Call)
    assert loop.loop_step.function == "_+_"
    assert loop.result == tree.Ident(loop.result.id, "@result")
    assert found.types[loop.id] == "list(int)"
    assert tree.children(loop) == (
        loop.iter_range,
        loop.accu_init,
        loop.loop_condition,
        loop.loop_step,
        loop.result,
    )


def test_comprehensions_of_two_variables() -> None:
    loop = checked("{'a': 1}.all(k, v, v > 0)").root
    assert isinstance(loop, tree.Comprehension)
    assert (loop.iter_var, loop.iter_var2) == ("k", "v")
    assert isinstance(loop.iter_range, tree.CreateStruct)
    listed = checked("[1, 2].transformList(i, v, i + v)").root
    assert isinstance(listed, tree.Comprehension)
    assert (listed.iter_var, listed.iter_var2) == ("i", "v")


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[1]", "list(int)"),
        ("{'a': {1: 'b'}}", "map(string, map(int, string))"),
        ("object", "dyn"),
        ("type(1)", "type"),
        ("duration('1s')", "duration"),
        ("timestamp(0)", "timestamp"),
        ("ip('::1')", "net.IP"),
        ("optional.of(1)", "optional_type"),
        ("[object][0]", "dyn"),
    ],
)
def test_types_are_written_as_the_libraries_write_them(text: str, kind: str) -> None:
    found = checked(text)
    assert found.types[found.root.id] == kind


def test_positions_are_offsets_in_code_points() -> None:
    text = "object.a.all(x, x > 0) && 'é'.size() == object.b"
    found = checked(text)
    starts = {
        (type(n).__name__, getattr(n, "name", getattr(n, "function", ""))): found.positions[n.id]
        for n in found.nodes()
        if not isinstance(n, tree.Comprehension | tree.Const)
    }
    assert starts[("Ident", "object")] == text.rindex("object")
    assert starts[("Call", "size")] == text.index("(", text.index("size"))
    assert starts[("Call", "_==_")] == text.index("==")
    assert starts[("Call", "_>_")] == text.index(">")
    assert starts[("Ident", "x")] == text.index("x >")


def test_nodes_come_parents_first_in_source_order() -> None:
    found = checked("[1, 2].exists(x, x == 2) || object.a")
    order = [type(n).__name__ for n in found.nodes()]
    assert order[0] == "Call"
    assert order.index("Comprehension") < order.index("Select")
    constants = [n.value for n in found.nodes() if isinstance(n, tree.Const)]
    assert constants[:2] == [1, 2]  # the list's elements, in order, before the loop's own


@pytest.mark.parametrize("data", [b"", b"\x12\x03abc", b"\xff\xff", b"\x0b"])
def test_bytes_that_are_no_checked_expression_are_refused(data: bytes) -> None:
    with pytest.raises(tree.AstError):
        tree.read(data)
