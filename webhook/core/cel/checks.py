"""What Kubernetes refuses when a policy is written, checked on a compiled expression: the
environment loads the same libraries, and these checks hold it to the same language.

- Calls of the few functions the runtime's newer library versions add (`'ab'.reverse()`).
- Literals Kubernetes' AST validators refuse: mixed lists and maps (`[1, 'a']`), invalid regular
  expressions, durations and timestamps written as literals.
- What only initgate's implementation could tell apart: fields of an opaque value
  (`quantity('1').value`) and messages built by name (`kubernetes.Quantity{}`).
- Variables the expression's use does not offer (a rule has no `oldObject`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from webhook.core.cel import tree
from webhook.core.cel.environment import (
    CompileError,
    EvaluationError,
    Program,
    activation,
    compile_expression,
    message_types,
    opaque_types,
)
from webhook.core.cel.jsonpatch_lib import PATCH_ONLY
from webhook.core.cel.library import LibraryError
from webhook.core.cel.regex_lib import compiled

NOT_OFFERED = {
    "string_reverse": "'<string>.reverse()' is not offered: it is in the strings library"
    " version 3, and Kubernetes loads version 2",
    "list_first": "'<list>.first()' is not offered: Kubernetes' lists library (version 3)"
    " has no first()",
    "list_last": "'<list>.last()' is not offered: Kubernetes' lists library (version 3)"
    " has no last()",
}
NOT_RUNNABLE = {
    # Kubernetes has them; this runtime declares them but cannot run them (cel.@mapInsert): a
    # generated admission policy, which the API server runs, may use them.
    "@mapInsert_map_key_value": "'transformMap' is not offered: initgate's CEL runtime cannot"
    " build its map",
    "@mapInsert_map_map": "'transformMapEntry' is not offered: initgate's CEL runtime cannot"
    " build its map",
}
_PATTERNS = frozenset(("matches", "find", "findAll"))
_LITERAL_TYPES = frozenset(("duration", "timestamp"))


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    offset: int
    """Where in the expression (0-based code points)."""


def problems(
    program: Program,
    *,
    variables: frozenset[str],
    runnable: bool = True,
    patches: bool = False,
) -> list[Problem]:
    """What Kubernetes (or initgate) would refuse in `program`, in source order. With `runnable`
    false (a policy the API server runs), what only initgate cannot run is let be; `patches`: a
    MutatingAdmissionPolicy's expression, which may build `JSONPatch` values and call
    `jsonpatch.escapeKey`."""
    checked = program.checked
    refused = {**NOT_OFFERED, **(NOT_RUNNABLE if runnable else {})}
    found = [
        *_free_variables(checked, variables),
        *_calls(checked, refused, patches=patches),
        *_opaque(checked, patches=patches),
        *_mixed_literals(checked),
    ]
    return sorted(found, key=lambda p: p.offset)


def free_variables(checked: tree.Checked) -> frozenset[str]:
    """The variables an expression reads (names not bound by a comprehension inside it)."""
    return frozenset(name for name, _ in _free(checked, checked.root, frozenset()))


def _free(
    checked: tree.Checked, node: tree.Node, bound: frozenset[str]
) -> Iterator[tuple[str, tree.Node]]:
    """Identifiers not bound inside the expression, but for type names (`int`, `net.IP`)."""
    stack: list[tuple[tree.Node, frozenset[str]]] = [(node, bound)]
    while stack:
        current, names = stack.pop()
        if isinstance(current, tree.Ident):
            if current.name not in names and checked.types.get(current.id) != "type":
                yield current.name, current
            continue
        if isinstance(current, tree.Comprehension):
            inner = names | {current.iter_var, current.iter_var2, current.accu_var}
            stack.append((current.iter_range, names))
            stack.append((current.accu_init, names))
            stack.extend((child, inner) for child in tree.children(current)[2:])
            continue
        stack.extend((child, names) for child in tree.children(current))


def _at(checked: tree.Checked, node: tree.Node) -> int:
    return checked.positions.get(node.id, 0)


def _free_variables(checked: tree.Checked, variables: frozenset[str]) -> Iterator[Problem]:
    for name, node in _free(checked, checked.root, frozenset()):
        if name not in variables:
            offered = ", ".join(sorted(variables))
            yield Problem(
                f"'{name}' is not available here (variables: {offered})", _at(checked, node)
            )


def _calls(checked: tree.Checked, refused: dict[str, str], *, patches: bool) -> Iterator[Problem]:
    for node in checked.nodes():
        if not isinstance(node, tree.Call):
            continue
        if node.function in PATCH_ONLY and not patches:
            yield Problem(_ONLY_MUTATING.format(f"'{node.function}'"), _at(checked, node))
        _, overloads = checked.references.get(node.id, ("", ()))
        for overload in overloads:
            if overload in refused and len(overloads) == 1:
                yield Problem(refused[overload], _at(checked, node))
        # The pattern follows the string: `s.findAll(re, n)`, `matches(s, re)`.
        literal = _argument(node, 0 if node.target is not None else 1)
        if node.function in _PATTERNS and isinstance(literal, tree.Const):
            try:
                compiled(str(literal.value))
            except LibraryError as error:
                yield Problem(str(error), _at(checked, literal))
        if node.function in _LITERAL_TYPES and len(node.args) == 1:
            argument = node.args[0]
            if isinstance(argument, tree.Const) and isinstance(argument.value, str):
                problem = _literal_problem(node.function, argument.value)
                if problem:
                    yield Problem(problem, _at(checked, argument))


def _argument(node: tree.Call, index: int) -> tree.Node | None:
    return node.args[index] if index < len(node.args) else None


def _literal_problem(function: str, text: str) -> str:
    try:
        compile_expression(f"{function}({text!r})").evaluate(activation({}))
    except (CompileError, EvaluationError) as error:
        return f"invalid {function} literal {text!r}: {error}"
    return ""


_ONLY_MUTATING = "{} is only offered to a MutatingAdmissionPolicy's expressions"


def _opaque(checked: tree.Checked, *, patches: bool) -> Iterator[Problem]:
    opaque = opaque_types()
    buildable = message_types() if patches else frozenset()
    for node in checked.nodes():
        if isinstance(node, tree.Select) and checked.types.get(node.operand.id) in opaque:
            kind = checked.types[node.operand.id]
            yield Problem(f"a {kind} has no fields; use its functions", _at(checked, node))
        if isinstance(node, tree.CreateStruct) and node.message in buildable:
            continue
        if isinstance(node, tree.CreateStruct) and node.message in PATCH_ONLY:
            yield Problem(_ONLY_MUTATING.format(node.message), _at(checked, node))
        elif isinstance(node, tree.CreateStruct) and node.message:
            yield Problem(f"{node.message} values cannot be built by name", _at(checked, node))


def _mixed_literals(checked: tree.Checked) -> Iterator[Problem]:
    exempt = {
        node.args[0].id
        for node in checked.nodes()
        if isinstance(node, tree.Call) and node.function == "format" and node.args
    }
    for node in checked.nodes():
        if node.id in exempt:
            continue
        if isinstance(node, tree.CreateList):
            groups = [[e.id for e in node.elements]]
        elif isinstance(node, tree.CreateStruct) and not node.message:
            keys = [e.key.id for e in node.entries if isinstance(e.key, tree.Node)]
            groups = [keys, [e.value.id for e in node.entries]]
        else:
            continue
        for ids in groups:
            # As Kubernetes' validator: one type exactly; dyn mixed with string is a mix too.
            kinds = {checked.types.get(i, "dyn") for i in ids}
            if len(kinds) > 1:
                shown = ", ".join(sorted(kinds))
                yield Problem(
                    f"a literal mixes types ({shown}); Kubernetes requires one type per "
                    "list, and per map's keys and values",
                    _at(checked, node),
                )
