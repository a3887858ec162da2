"""How what the configuration decides (`literals.Setting`, `literals.Condition`) is written into
a generated object: as literals by `initgate export` (`Literals`), as Go templates by the chart
(webhook/native/chart.py). The objects are built once, by the same code, for both."""

from __future__ import annotations

from typing import Any, Protocol

from webhook.native import literals
from webhook.native.builders import Expression
from webhook.native.literals import Condition, Setting


class Writer(Protocol):
    """How what the configuration decides is written into a generated object."""

    def value(self, setting: Setting) -> Any:
        """A field's value (`failurePolicy`)."""

    def literal(self, setting: Setting) -> str:
        """A variable's expression: the setting as a CEL literal."""

    def condition(self, condition: Condition) -> Expression | None:
        """A matchCondition; None: left out."""


class Literals:
    """`initgate export`'s writer: the configuration's values, as CEL literals."""

    def value(self, setting: Setting) -> Any:
        return setting.value

    def literal(self, setting: Setting) -> str:
        return literals.literal(setting.value)

    def condition(self, condition: Condition) -> Expression | None:
        return condition.condition() if condition.present else None


def variables(writer: Writer, listed: list[Expression | Setting]) -> list[Expression]:
    """The variables, each setting written as its literal."""
    return [
        {"name": v.name, "expression": writer.literal(v)} if isinstance(v, Setting) else v
        for v in listed
    ]


def conditions(writer: Writer, listed: list[Expression | Condition]) -> list[Expression]:
    """The matchConditions that are written (a condition on nothing is not)."""
    written = [writer.condition(c) if isinstance(c, Condition) else c for c in listed]
    return [c for c in written if c is not None]
