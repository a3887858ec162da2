"""The checked syntax tree of a compiled expression, read from the bytes the runtime serialises.

The CEL runtime hands out a compiled expression only as a `google.protobuf.Any` holding a
`cel.expr.CheckedExpr` (cel-spec's `proto/cel/expr/checked.proto` and `syntax.proto`). initgate
reads the tree for what the runtime does not offer: the variables an expression refers to, the
estimate of its cost, and what it does with the library's opaque types. The few messages needed
are decoded here from the protobuf wire format (a handful of field numbers, listed below), so no
generated code or second copy of the CEL protos is needed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

# Field numbers of cel.expr messages (cel-spec, proto/cel/expr/{syntax,checked}.proto).
_ANY_VALUE = 2
_CHECKED_REFERENCES, _CHECKED_TYPES, _CHECKED_EXPR, _CHECKED_SOURCE = 2, 3, 4, 5
_SOURCE_POSITIONS, _SOURCE_MACRO_CALLS = 4, 5
_EXPR_ID, _EXPR_CONST, _EXPR_IDENT, _EXPR_SELECT = 2, 3, 4, 5
_EXPR_CALL, _EXPR_LIST, _EXPR_STRUCT, _EXPR_COMPREHENSION = 6, 7, 8, 9
_REFERENCE_NAME, _REFERENCE_OVERLOADS = 1, 3
_PRIMITIVES = {1: "bool", 2: "int", 3: "uint", 4: "double", 5: "string", 6: "bytes"}
_WELL_KNOWN = {1: "any", 2: "timestamp", 3: "duration"}


class AstError(ValueError):
    """The bytes are not a checked expression this module can read."""


@dataclass(frozen=True, slots=True)
class Node:
    """One expression of the tree; `id` keys its type, its reference and its position."""

    id: int


@dataclass(frozen=True, slots=True)
class Const(Node):
    value: object
    """None, bool, int, float, str or bytes."""


@dataclass(frozen=True, slots=True)
class Ident(Node):
    name: str


@dataclass(frozen=True, slots=True)
class Select(Node):
    operand: Node
    field: str
    test_only: bool
    """`has(operand.field)`."""


@dataclass(frozen=True, slots=True)
class Call(Node):
    function: str
    target: Node | None
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class CreateList(Node):
    elements: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Entry:
    key: Node | str
    """A map key expression, or a message field's name."""
    value: Node


@dataclass(frozen=True, slots=True)
class CreateStruct(Node):
    message: str
    """The message type's name; empty for a map literal."""
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True)
class Comprehension(Node):
    iter_var: str
    iter_var2: str
    iter_range: Node
    accu_var: str
    accu_init: Node
    loop_condition: Node
    loop_step: Node
    result: Node


@dataclass(frozen=True, slots=True)
class Checked:
    """A type-checked expression: its tree, and per node id its type, what an identifier or a
    call resolved to, and where it starts in the source text."""

    root: Node
    types: dict[int, str]
    references: dict[int, tuple[str, tuple[str, ...]]]
    """Node id to (resolved name, overload ids): variables and functions."""
    positions: dict[int, int]
    """Node id to its offset in the expression (code points)."""
    macros: dict[int, str] = field(default_factory=dict)
    """Node id of an expanded macro (`all`, `exists`, `map`, `filter`...) to the macro's name."""

    def nodes(self) -> Iterator[Node]:
        """Every node, parents before children."""
        return descendants(self.root)


def descendants(root: Node) -> Iterator[Node]:
    """`root` and every node below it, parents before children (iteratively: trees are only as
    deep as the parser allows, but a walk should not depend on it)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of `node`, in source order."""
    if isinstance(node, Select):
        return (node.operand,)
    if isinstance(node, Call):
        return node.args if node.target is None else (node.target, *node.args)
    if isinstance(node, CreateList):
        return node.elements
    if isinstance(node, CreateStruct):
        keys = [e.key for e in node.entries if isinstance(e.key, Node)]
        return (*keys, *(e.value for e in node.entries))
    if isinstance(node, Comprehension):
        return (
            node.iter_range,
            node.accu_init,
            node.loop_condition,
            node.loop_step,
            node.result,
        )
    return ()


def read(serialized: bytes) -> Checked:
    """Decode the runtime's serialised `Any(cel.expr.CheckedExpr)`."""
    try:
        checked = _one(serialized, _ANY_VALUE)
        if not isinstance(checked, bytes):
            raise AstError("not a serialised expression")
        root: Node | None = None
        types: dict[int, str] = {}
        references: dict[int, tuple[str, tuple[str, ...]]] = {}
        positions: dict[int, int] = {}
        macros: dict[int, str] = {}
        for number, value in _fields(checked):
            if not isinstance(value, bytes):
                continue
            if number == _CHECKED_EXPR:
                root = _expr(value)
            elif number == _CHECKED_TYPES:
                key, type_bytes = _map_entry(value)
                types[key] = _type(type_bytes)
            elif number == _CHECKED_REFERENCES:
                key, reference = _map_entry(value)
                references[key] = _reference(reference)
            elif number == _CHECKED_SOURCE:
                _source(value, positions, macros)
    except (IndexError, struct.error, UnicodeDecodeError, RecursionError) as error:
        raise AstError(f"cannot read the checked expression: {error}") from error
    if root is None:
        raise AstError("the checked expression has no tree")
    return Checked(root, types, references, positions, macros)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field of one message: varints and fixed-width numbers as
    ints (a double's bits as a 64-bit int), length-delimited fields as bytes."""
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            yield number, value
        elif wire == 1:
            yield number, int.from_bytes(data[position : position + 8], "little")
            position += 8
        elif wire == 2:
            length, position = _varint(data, position)
            yield number, data[position : position + length]
            position += length
        elif wire == 5:
            yield number, int.from_bytes(data[position : position + 4], "little")
            position += 4
        else:
            raise AstError(f"unexpected wire type {wire}")


def _one(data: bytes, wanted: int) -> int | bytes | None:
    return next((value for number, value in _fields(data) if number == wanted), None)


def _text(value: int | bytes | None) -> str:
    return value.decode() if isinstance(value, bytes) else ""


def _signed(value: int) -> int:
    """A varint read as int64 (two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _map_entry(data: bytes) -> tuple[int, bytes]:
    """A `map<int64, Message>` entry: its key and its value's bytes."""
    key, value = 0, b""
    for number, item in _fields(data):
        if number == 1 and isinstance(item, int):
            key = _signed(item)
        elif number == 2 and isinstance(item, bytes):
            value = item
    return key, value


def _reference(data: bytes) -> tuple[str, tuple[str, ...]]:
    name, overloads = "", []
    for number, value in _fields(data):
        if number == _REFERENCE_NAME:
            name = _text(value)
        elif number == _REFERENCE_OVERLOADS:
            overloads.append(_text(value))
    return name, tuple(overloads)


def _source(data: bytes, positions: dict[int, int], macros: dict[int, str]) -> None:
    for number, value in _fields(data):
        if number == _SOURCE_POSITIONS and isinstance(value, bytes):
            key = offset = 0
            for entry_number, item in _fields(value):
                if isinstance(item, int):
                    key, offset = (_signed(item), offset) if entry_number == 1 else (key, item)
            positions[key] = offset
        elif number == _SOURCE_MACRO_CALLS and isinstance(value, bytes):
            key, call = _map_entry(value)
            function = _one(_one(call, _EXPR_CALL) or b"", 2)  # type: ignore[arg-type]
            macros[key] = _text(function)


def _type(data: bytes) -> str:  # noqa: PLR0911 - one return per kind of type
    """A `cel.expr.Type` written as CEL writes types: `list(string)`, `map(string, dyn)`."""
    for number, value in _fields(data):
        if number == 1:
            return "dyn"
        if number == 2:
            return "null_type"
        if number in (3, 4) and isinstance(value, int):
            name = _PRIMITIVES.get(value, "dyn")
            return name if number == 3 else f"wrapper({name})"
        if number == 5 and isinstance(value, int):
            return _WELL_KNOWN.get(value, "dyn")
        if number == 6 and isinstance(value, bytes):
            element = _one(value, 1)
            return f"list({_type(element) if isinstance(element, bytes) else 'dyn'})"
        if number == 7 and isinstance(value, bytes):
            parts = [_type(v) for n, v in _fields(value) if n in (1, 2) and isinstance(v, bytes)]
            return f"map({', '.join(parts)})" if len(parts) == 2 else "map(dyn, dyn)"
        if number == 9:
            return _text(value)
        if number == 10:
            return _text(value)
        if number == 11:
            return "type"
        if number == 12:
            return "error"
        if number == 14 and isinstance(value, bytes):
            return _text(_one(value, 1))
    return "dyn"


def _expr(data: bytes) -> Node:
    node_id = 0
    for number, value in _fields(data):
        if number == _EXPR_ID and isinstance(value, int):
            node_id = _signed(value)
        elif isinstance(value, bytes):
            return _kind(node_id, number, value)
    return Const(node_id, None)


def _kind(node_id: int, number: int, data: bytes) -> Node:  # noqa: PLR0911 - one per kind
    if number == _EXPR_CONST:
        return Const(node_id, _constant(data))
    if number == _EXPR_IDENT:
        return Ident(node_id, _text(_one(data, 1)))
    if number == _EXPR_SELECT:
        operand = _one(data, 1)
        return Select(
            node_id,
            _expr(operand if isinstance(operand, bytes) else b""),
            _text(_one(data, 2)),
            _one(data, 3) == 1,
        )
    if number == _EXPR_CALL:
        target: Node | None = None
        function, args = "", []
        for field_number, value in _fields(data):
            if field_number == 1 and isinstance(value, bytes):
                target = _expr(value)
            elif field_number == 2:
                function = _text(value)
            elif field_number == 3 and isinstance(value, bytes):
                args.append(_expr(value))
        return Call(node_id, function, target, tuple(args))
    if number == _EXPR_LIST:
        elements = [_expr(v) for n, v in _fields(data) if n == 1 and isinstance(v, bytes)]
        return CreateList(node_id, tuple(elements))
    if number == _EXPR_STRUCT:
        return _struct(node_id, data)
    if number == _EXPR_COMPREHENSION:
        return _comprehension(node_id, data)
    raise AstError(f"unknown expression kind {number}")


def _struct(node_id: int, data: bytes) -> CreateStruct:
    message, entries = "", []
    for number, value in _fields(data):
        if number == 1:
            message = _text(value)
        elif number == 2 and isinstance(value, bytes):
            key: Node | str = ""
            entry_value: Node = Const(0, None)
            for entry_number, item in _fields(value):
                if entry_number == 2:
                    key = _text(item)
                elif entry_number == 3 and isinstance(item, bytes):
                    key = _expr(item)
                elif entry_number == 4 and isinstance(item, bytes):
                    entry_value = _expr(item)
            entries.append(Entry(key, entry_value))
    return CreateStruct(node_id, message, tuple(entries))


def _comprehension(node_id: int, data: bytes) -> Comprehension:
    texts: dict[int, str] = {}
    nodes: dict[int, Node] = {}
    for number, value in _fields(data):
        if number in (1, 3, 8):
            texts[number] = _text(value)
        elif isinstance(value, bytes):
            nodes[number] = _expr(value)
    empty = Const(0, None)
    return Comprehension(
        node_id,
        iter_var=texts.get(1, ""),
        iter_var2=texts.get(8, ""),
        iter_range=nodes.get(2, empty),
        accu_var=texts.get(3, ""),
        accu_init=nodes.get(4, empty),
        loop_condition=nodes.get(5, empty),
        loop_step=nodes.get(6, empty),
        result=nodes.get(7, empty),
    )


def _constant(data: bytes) -> object:  # noqa: PLR0911 - one return per kind of constant
    for number, value in _fields(data):
        if number == 1:
            return None
        if number == 2:
            return value == 1
        if number == 3 and isinstance(value, int):
            return _signed(value)
        if number == 4:
            return value
        if number == 5 and isinstance(value, int):
            return struct.unpack("<d", value.to_bytes(8, "little"))[0]
        if number == 6:
            return _text(value)
        if number == 7:
            return value if isinstance(value, bytes) else b""
    return None
