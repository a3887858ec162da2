"""Every generated expression is compiled in initgate's CEL environment before it is returned,
as the API server would compile it: a generation bug fails loudly here, not in a cluster."""

from __future__ import annotations

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
"""The generated expressions are not held to a budget, not even to a bound initgate's estimator
can prove (it cannot bound `lists.range(size(x))`): the API server never estimates a policy's
cost when it is written, only meters each evaluation (docs/native-policies.md); their cost is
reported by `make bench`."""


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


def check(policy_id: str, texts: Iterable[Text]) -> None:
    """Compile each expression as the API server would; raise `GenerationError` on the first
    that does not compile."""
    for one in texts:
        try:
            compile_checked(
                one.text,
                variables=POLICY_VARIABLES,
                results=one.results,
                budget=NO_LIMIT,
                patches=one.patches,
            )
        except CompileError as error:
            raise GenerationError(f"{policy_id}: {one.where}: {error}\n{one.text}") from None
