"""The one CEL environment: the runtime (cel-expr-python, the CEL project's cel-cpp), the
extensions Kubernetes loads, initgate's implementations of Kubernetes' own libraries, and every
variable any initgate expression may use. User rules, the audit's matchConditions and the
generated admission policies all compile here, so an expression means the same wherever it runs;
each use then checks which of the variables its expressions may read.

This is the only module that imports the runtime. It is built once per process, on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from webhook.core.cel import tree
from webhook.core.cel.libraries import LIBRARIES
from webhook.core.cel.library import Library, Opaque, Overload

# The runtime's own extensions, by the names its configuration knows them.
EXTENSIONS = ("strings", "optional", "sets", "lists", "cel.lib.ext.comprev2")

VARIABLES: dict[str, str] = {
    # A user rule's (docs/rules.md).
    "container": "dyn",
    "role": "string",
    "path": "string",
    "volumes": "map(string, dyn)",
    "fills": "list(string)",
    "readsFrom": "list(string)",
    # A rule's and an admission policy's.
    "object": "dyn",
    "request": "dyn",
    # An admission policy's and a webhook's matchConditions.
    "oldObject": "dyn",
    "params": "dyn",
    "namespaceObject": "dyn",
    "variables": "dyn",
}
"""Every variable, with its type. `object`, `request` and the others that hold Kubernetes objects
are dynamic, as they are in a webhook's matchConditions: fields are read as the object has them."""

_SCALARS = {
    "bool": cel.Type.BOOL,
    "int": cel.Type.INT,
    "uint": cel.Type.UINT,
    "double": cel.Type.DOUBLE,
    "string": cel.Type.STRING,
    "bytes": cel.Type.BYTES,
    "duration": cel.Type.DURATION,
    "timestamp": cel.Type.TIMESTAMP,
    "dyn": cel.Type.DYN,
}
# Functions the runtime's own libraries already declare, which the Kubernetes libraries give more
# overloads: the runtime only takes those as an extension, whose every overload carries its own
# implementation (the others are declared once, with an implementation per kind of arguments).
EXTENDED = frozenset(("indexOf", "lastIndexOf", "string"))
_POSITION = re.compile(r"ERROR: <input>:(-?\d+):(-?\d+): (.*)")


class CompileError(ValueError):
    """An expression that does not compile: the first problem, with its column (1-based, in
    the expression's own text; 0 when the runtime gives none)."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


class EvaluationError(RuntimeError):
    """An expression that failed on a value (a missing field, a type error, the iteration
    budget): a CEL error, reported as the runtime words it."""


@dataclass(frozen=True, slots=True)
class Program:
    """A compiled expression, with its checked tree."""

    expression: str
    result: str
    """Its type as the checker inferred it: `bool`, `string`, `dyn`..."""
    checked: tree.Checked
    compiled: Any

    def evaluate(self, activation: Any) -> Any:
        """The expression's value as a plain Python value; raises `EvaluationError`."""
        try:
            value = self.compiled.eval(activation)
        except RuntimeError as error:  # the iteration budget is raised, not returned as an error
            raise EvaluationError(_first_line(str(error))) from None
        if value.type() == cel.Type.ERROR:
            raise EvaluationError(_first_line(str(value.value())))
        try:
            return value.value()
        except (TypeError, ValueError) as error:  # an optional or a type as the result
            raise EvaluationError(f"a {self.result} result cannot be read: {error}") from None


def compile_expression(expression: str) -> Program:
    """Compile `expression` in the one environment; raises `CompileError`."""
    environment = _environment()
    try:
        compiled = environment.compile(expression)
    except RuntimeError as error:
        raise _compile_error(str(error)) from None
    return Program(
        expression=expression,
        result=_type_name(compiled.return_type()),
        checked=tree.read(compiled.serialize()),
        compiled=compiled,
    )


def activation(data: Mapping[str, Any]) -> Any:
    """The variables' values for one evaluation (the runtime reads them lazily)."""
    return _environment().Activation(data=data)


def opaque_types() -> frozenset[str]:
    """The names of the libraries' opaque types (`kubernetes.Quantity`...)."""
    return frozenset(t.name for library in LIBRARIES for t in library.types)


def _compile_error(text: str) -> CompileError:
    """The runtime's first error (`ERROR: <input>:1:14: undeclared reference to 'i'`)."""
    for line in text.splitlines():
        match = _POSITION.search(line)
        if match:
            column = int(match[2])
            message = match[3].strip().removesuffix(" (in container '')")
            return CompileError(message, column if column > 0 else 0)
    return CompileError(_first_line(text))


def _first_line(text: str) -> str:
    """The message alone: the runtime wraps it in a status code (`INVALID_ARGUMENT: ... [INVALID_
    ARGUMENT]`) that says nothing to the person who wrote the expression."""
    lines = text.strip().splitlines()
    first = lines[0] if lines else text
    return re.sub(r"^[A-Z_]+: | \[[A-Z_]+\]$", "", first)


def _type_name(kind: Any) -> str:
    name = str(kind.name())
    plain = {v.name(): k for k, v in _SCALARS.items()}
    if name in plain:
        return plain[name]
    return name.lower() if name.startswith(("LIST", "MAP")) else name


@functools.cache
def _environment() -> Any:
    pool, messages = _opaque_pool(LIBRARIES)
    config = "extensions:\n" + "".join(f"  - name: {name}\n" for name in EXTENSIONS)
    declarations, implementations = _functions(LIBRARIES, messages)
    extending = [d for name, d in declarations.items() if name in EXTENDED]
    return cel.NewEnv(
        descriptor_pool=pool,
        config=cel.NewEnvConfigFromYaml(config),
        variables={name: _type(kind) for name, kind in VARIABLES.items()},
        extensions=[cel.CelExtension("kubernetes", extending)],
        functions=[d for name, d in declarations.items() if name not in EXTENDED],
        function_impls=implementations,
    )


def _opaque_pool(libraries: tuple[Library, ...]) -> tuple[Any, dict[str, tuple[Opaque, Any]]]:
    """A descriptor pool with one message per opaque type: the runtime carries a library's value
    as that message, holding the value's canonical text."""
    pool = descriptor_pool.DescriptorPool()
    messages: dict[str, tuple[Opaque, Any]] = {}
    for library in libraries:
        for opaque in library.types:
            package, _, name = opaque.name.rpartition(".")
            file = descriptor_pb2.FileDescriptorProto(
                name=f"initgate/{opaque.name}.proto", package=package, syntax="proto3"
            )
            message = file.message_type.add(name=name)
            message.field.add(
                name="value",
                number=1,
                type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
                label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
            )
            pool.Add(file)
            descriptor = pool.FindMessageTypeByName(opaque.name)
            messages[opaque.name] = (opaque, message_factory.GetMessageClass(descriptor))
    return pool, messages


def _type(kind: str) -> Any:
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind.startswith("list(") and kind.endswith(")"):
        return cel.Type.List(_type(kind[5:-1]))
    if kind.startswith("map(") and kind.endswith(")"):
        key, value = (part.strip() for part in kind[4:-1].split(",", 1))
        return cel.Type.Map(_type(key), _type(value))
    return cel.Type(kind)


def _functions(
    libraries: tuple[Library, ...], messages: dict[str, tuple[Opaque, Any]]
) -> tuple[dict[str, Any], dict[str, Callable[..., Any]]]:
    """One declaration per function name (libraries share names: `ip()` makes an address from a
    string, `cidr(...).ip()` takes a prefix's), and the implementations by overload id.

    The runtime picks an implementation by the kinds of the arguments alone, and every opaque
    type is of one kind (a message): overloads that differ only in their opaque types (Quantity's
    and Semver's `isLessThan`) share one implementation, which looks at the values' types."""
    overloads: dict[str, list[Overload]] = {}
    for library in libraries:
        for function in library.functions:
            overloads.setdefault(function.name, []).extend(function.overloads)
    by_kinds: dict[tuple[str, bool, tuple[str, ...]], list[Overload]] = {}
    for name, declared in overloads.items():
        for one in declared:
            kinds = tuple(_kind(p, messages) for p in one.params)
            by_kinds.setdefault((name, one.member, kinds), []).append(one)
    implementations = {
        group[0].id: _implementation(group[0], messages)
        if len(group) == 1
        else _dispatch([(o, _implementation(o, messages)) for o in group], messages)
        for group in by_kinds.values()
    }
    declarations = {
        name: cel.FunctionDecl(
            name,
            [
                _overload(o, implementations.get(o.id) if name in EXTENDED else None)
                for o in declared
            ],
        )
        for name, declared in overloads.items()
    }
    return declarations, implementations


def _kind(param: str, messages: dict[str, tuple[Opaque, Any]]) -> str:
    """What the runtime dispatches on: `list`, `map`, `message`, or the scalar's own name."""
    if param in messages:
        return "message"
    return param.partition("(")[0] if "(" in param else param


def _dispatch(
    candidates: list[tuple[Overload, Callable[..., Any]]],
    messages: dict[str, tuple[Opaque, Any]],
) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        for declared, implementation in candidates:
            if all(
                p not in messages or arg.DESCRIPTOR.full_name == p
                for p, arg in zip(declared.params, args, strict=True)
            ):
                return implementation(*args)
        raise ValueError("no such overload")

    return call


def _overload(declared: Overload, implementation: Callable[..., Any] | None) -> Any:
    extra = {"impl": implementation} if implementation is not None else {}
    return cel.Overload(
        declared.id,
        return_type=_type(declared.result),
        parameters=[_type(p) for p in declared.params],
        is_member=declared.member,
        **extra,
    )


def _implementation(
    declared: Overload, messages: dict[str, tuple[Opaque, Any]]
) -> Callable[..., Any]:
    """The overload's implementation, taking and giving opaque values as their messages."""
    decoders = [messages[p][0].decode if p in messages else None for p in declared.params]
    encoded = messages.get(declared.result)
    impl = declared.impl
    if not any(decoders) and encoded is None:
        return impl

    def call(*args: Any) -> Any:
        values = [
            decode(arg.value) if decode is not None else arg
            for decode, arg in zip(decoders, args, strict=True)
        ]
        result = impl(*values)
        if encoded is None:
            return result
        opaque, message = encoded
        return message(value=opaque.encode(result))

    return call
