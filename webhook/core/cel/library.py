"""What a CEL library declares: its functions, their overloads and its opaque types, as plain
data. `webhook.core.cel.environment` turns every library into the runtime's declarations once;
the libraries themselves never see the runtime, so each can be read and tested on its own.

Types are written as CEL writes them: `bool`, `int`, `uint`, `double`, `string`, `bytes`,
`duration`, `timestamp`, `dyn`, `list(T)`, `map(K, V)`, or an opaque type's name
(`kubernetes.Quantity`). There are no type parameters: the runtime cannot return a value of one,
so where Kubernetes declares `<list(T)>.min() -> T`, initgate declares `<list(dyn)>.min() -> dyn`:
the same calls compile and give the same values, with less checked before they run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class LibraryError(ValueError):
    """A function was called with a value it refuses; the runtime turns it into a CEL error
    (an evaluation error, as in Kubernetes), never into a crash."""


@dataclass(frozen=True, slots=True)
class Overload:
    """One signature of a function and its implementation."""

    id: str
    """Unique across the environment, as in Kubernetes (`string_to_quantity`)."""
    params: tuple[str, ...]
    """For a member overload, the receiver first."""
    result: str
    impl: Callable[..., Any]
    member: bool = False


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    overloads: tuple[Overload, ...]


@dataclass(frozen=True, slots=True)
class Opaque:
    """A type whose values only the library's functions can make and read, such as Kubernetes'
    Quantity. A value travels through the runtime as its canonical text: two values are equal
    exactly when their texts are (so `quantity('1') == quantity('1000m')`)."""

    name: str
    encode: Callable[[Any], str]
    """The canonical text of a value the library made."""
    decode: Callable[[str], Any]
    """The value back from its canonical text."""


@dataclass(frozen=True, slots=True)
class Message:
    """A message type an expression builds by name, as a MutatingAdmissionPolicy builds
    `JSONPatch{op: 'add', path: '/x', value: 1}`: its fields, each `string` or `dyn` (any JSON
    value)."""

    name: str
    fields: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Library:
    """A set of functions offered together, named as Kubernetes names its library."""

    name: str
    functions: tuple[Function, ...]
    types: tuple[Opaque, ...] = ()
    messages: tuple[Message, ...] = ()
    cost: dict[str, Callable[..., int]] = field(default_factory=dict)
    """Per overload id, its estimated cost from the sizes of its arguments (receiver first;
    None for a value without a size); overloads not listed cost 1."""


def overload(
    overload_id: str, params: str, result: str, impl: Callable[..., Any], *, member: bool = False
) -> Overload:
    """An overload with its parameters written `string, int`."""
    return Overload(overload_id, _split(params), result, impl, member)


def method(overload_id: str, params: str, result: str, impl: Callable[..., Any]) -> Overload:
    """A member overload (`<receiver>.name(...)`), its receiver first in `params`."""
    return overload(overload_id, params, result, impl, member=True)


_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(text: str) -> str:
    """`text` quoted as Go's `%q` (strconv.Quote) quotes it: Kubernetes' error messages quote
    the values they refuse this way, and initgate's repeat them word for word."""
    quoted = []
    for char in text:
        code = ord(char)
        if char in ('"', "\\"):
            quoted.append("\\" + char)
        elif char in _ESCAPES:
            quoted.append(_ESCAPES[char])
        elif char == " " or (char.isprintable() and not char.isspace()):
            quoted.append(char)
        elif code < 0x20 or code == 0x7F:
            quoted.append(f"\\x{code:02x}")
        elif code < 0x10000:
            quoted.append(f"\\u{code:04x}")
        else:
            quoted.append(f"\\U{code:08x}")
    return '"' + "".join(quoted) + '"'


def _split(params: str) -> tuple[str, ...]:
    """`list(int), map(string, dyn)` into its two types (commas inside brackets stay)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(params):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(params[start:index].strip())
            start = index + 1
    last = params[start:].strip()
    return (*parts, last) if last else tuple(parts)
