"""An expression ready to run: compiled in the one environment, held to Kubernetes' language,
its cost bounded before it runs and its inputs checked against what that bound assumed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from webhook.core.cel import checks, cost
from webhook.core.cel.environment import (
    CompileError,
    EvaluationError,
    Program,
    activation,
    compile_expression,
)

MAX_LENGTH = 5 * 1024
"""Characters of one expression (as Kubernetes bounds a CRD rule): what a rule can say in text."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression with what its evaluation may read and cost."""

    program: Program
    estimate: cost.Estimate
    reads: frozenset[str]
    """The variables it reads: only those are given to it."""

    @property
    def text(self) -> str:
        return self.program.expression

    @property
    def result(self) -> str:
        return self.program.result

    def evaluate(self, data: Mapping[str, Any], bound: Any = None) -> Any:
        """The value on `data` (every variable it reads), or `EvaluationError`: the runtime's
        error, the iteration budget, or an input larger than the cost estimate assumed.
        `bound`, an activation already made of `data`, saves making one."""
        problem = cost.exceeded(self.estimate.guards, data) if self.estimate.guards else None
        if problem:
            raise EvaluationError(f"not evaluated: {problem}")
        try:
            return self.program.evaluate(bound if bound is not None else activation(data))
        except EvaluationError as error:
            raise EvaluationError(_reworded(str(error))) from None


def _reworded(message: str) -> str:
    if message == "Iteration budget exceeded":
        return "exceeded the cost limit (10,000 comprehension iterations in one evaluation)"
    return message


def compile_checked(
    text: str,
    *,
    variables: frozenset[str],
    results: frozenset[str] | None,
    budget: int = cost.BUDGET,
    bounds: cost.Bounds | None = None,
    max_length: int = MAX_LENGTH,
    runnable: bool = True,
    patches: bool = False,
) -> Expression:
    """Compile `text` for a use that offers `variables` and expects one of `results` (any type
    when None; `dyn` is always taken: what a dynamic value is, only evaluation tells). Raises
    `CompileError`. `max_length` is raised, and `runnable` set false, only for text initgate
    writes itself for the API server to run (a generated admission policy wraps a rule's whole
    expression, and may use what Kubernetes runs and initgate's runtime cannot). `patches`: a
    MutatingAdmissionPolicy's expression, which may build `JSONPatch` values."""
    if len(text) > max_length:
        raise CompileError(f"longer than {max_length:,} characters ({len(text):,})")
    program = compile_expression(text)
    found = checks.problems(program, variables=variables, runnable=runnable, patches=patches)
    if found:
        raise CompileError(found[0].message, found[0].offset + 1)
    if results is not None and program.result != "dyn" and program.result not in results:
        wanted = " or ".join(sorted(results))
        raise CompileError(f"must evaluate to {wanted}, not {program.result}")
    estimate = cost.estimate(program.checked, variables=variables, bounds=bounds)
    if estimate.cost > budget:
        most = estimate.costliest or "the whole expression"
        if estimate.cost >= cost.UNBOUNDED:
            raise CompileError(f"its cost cannot be bounded (most of it: {most})")
        raise CompileError(
            f"may cost {estimate.cost:,} units in one evaluation, above the limit of "
            f"{budget:,} (most of it: {most})"
        )
    return Expression(program, estimate, checks.free_variables(program.checked) & variables)
