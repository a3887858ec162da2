"""Names for values inside one CEL expression. Kubernetes offers no `cel.bind`: a value gets a
name through a comprehension over a one-element list, which the API server evaluates once
(docs/native-policies.md). The text of `body` is inserted as it is, so a name bound here shadows
a variable of the same name (`object`, `request`) inside it, and only there."""

from __future__ import annotations


def let(name: str, value: str, body: str) -> str:
    """CEL: `body` (of any type) with `name` bound to `value`."""
    return f"[{value}].map({name}, {body})[0]"


def let_bool(name: str, value: str, body: str) -> str:
    """CEL: the bool `body` with `name` bound to `value` (a body that gives anything else is an
    error, as a validation that is not a bool is)."""
    return f"[{value}].all({name}, {body})"
