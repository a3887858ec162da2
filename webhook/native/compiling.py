"""Every generated expression is compiled in initgate's CEL environment before it is returned,
as the API server would compile it: a generation bug fails loudly here, not in a cluster."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from webhook.core.cel.cost import UNBOUNDED
from webhook.core.cel.environment import CompileError
from webhook.core.cel.expression import compile_checked

POLICY_VARIABLES = frozenset(
    ("object", "oldObject", "request", "params", "namespaceObject", "variables")
)
"""What an admission policy's expressions may read."""
NO_LIMIT = UNBOUNDED
"""The generated expressions are not held to the rules' budget nor length: the API server
meters them itself as they run (docs/native-policies.md), and their static estimates, which
assume a thousand containers of 64 KiB scripts, may saturate; `make bench` reports their cost."""
PARSE_DEPTH = 32
"""Levels of nesting initgate's CEL runtime (cel-cpp) parses; cel-go, Kubernetes', 250."""


class GenerationError(ValueError):
    """A generated expression that does not compile: a bug of initgate's, not of the user."""


@dataclass(frozen=True, slots=True)
class Text:
    """One expression of a generated policy, where it is (`variables.spec`) and what it must
    evaluate to (None: anything)."""

    where: str
    text: str
    results: frozenset[str] | None = None
    patches: bool = False
    """A MutatingAdmissionPolicy's expression: it may build `JSONPatch` values."""


def check(policy_id: str, texts: Iterable[Text], *, nested: bool = False) -> list[str]:
    """Compile each expression as the API server would; raise `GenerationError` on the first
    that does not compile. Where a user's text is `nested` in variable bindings, what is too
    deep for initgate's runtime (not for Kubernetes') is returned instead: where it is."""
    too_deep = []
    for one in texts:
        try:
            _check(one.text, one.results, patches=one.patches)
        except CompileError as error:
            if nested and "recursion" in error.message:
                too_deep.append(one.where)
                continue
            raise GenerationError(f"{policy_id}: {one.where}: {error}\n{one.text}") from None
    return too_deep


# The policies share most of their variables (the pod spec, its containers, the data flow): each
# text is compiled once.
@functools.lru_cache(maxsize=1024)
def _check(text: str, results: frozenset[str] | None, *, patches: bool) -> None:
    compile_checked(
        text,
        variables=POLICY_VARIABLES,
        results=results,
        budget=NO_LIMIT,
        max_length=NO_LIMIT,
        runnable=False,
        patches=patches,
    )
