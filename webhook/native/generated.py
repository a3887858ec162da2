"""What the generator of one validating policy (a built-in one or a user rule) returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from policies.base import Mode
from webhook.native.builders import Expression
from webhook.native.literals import Setting


@dataclass(frozen=True, slots=True)
class Validating:
    """What one validating policy adds to the shared variables: its settings (literals), then
    the variables and validations that read them."""

    settings: list[Setting]
    variables: list[Expression]
    validations: list[dict[str, str]]
    renamed: Sequence[tuple[str, str]] = ()
    notes: list[str] = field(default_factory=list)
    most: Mode = Mode.ENFORCE
    """The strongest mode the generated policy acts in (init-lint's approximations only warn)."""
    nested: bool = False
    """Whether a user's text is nested in variable bindings (a user rule's): too deep for
    initgate's runtime to parse, it is still generated, with a note."""
