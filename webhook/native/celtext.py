"""What a rule's CEL text names, read as text with regular expressions: the reading the chart's
Go templates can do too (`initgate.nativeRuleVariant`, with these patterns from
files/native.json), so that `initgate export` and the chart decide alike.

A variable is named when its identifier stands outside string and bytes literals and comments,
and is not a field selected from something else (`object.spec.volumes` names `object`). Every
variable a compiled expression reads is named; a name can also be an iteration variable that
shadows it (`x.all(volumes, ...)`): read as text, it counts.

The patterns are written for both Python's `re` and Go's RE2 (leftmost-first alternation in
both): no look-behind, no Unicode classes.
"""

from __future__ import annotations

import re

IGNORED = (
    r"//[^\n]*"
    r"|[bB]?[rR](?:'''(?s:.)*?'''|\"\"\"(?s:.)*?\"\"\"|'[^'\n\r]*'|\"[^\"\n\r]*\")"
    r"|[bB]?(?:'''(?:\\(?s:.)|[^\\])*?'''|\"\"\"(?:\\(?s:.)|[^\\])*?\"\"\""
    r"|'(?:\\.|[^'\\\n\r])*'|\"(?:\\.|[^\"\\\n\r])*\")"
)
"""Comments, then string and bytes literals (raw or not, triple-quoted or not): blanked out."""
SELECTED = r"\.[\t\n\f\r ]*\??[\t\n\f\r ]*(?:[A-Za-z_][A-Za-z0-9_]*|`[^`]*`)"
"""A field selection (`.spec`, `.?spec`, ``.`a-b` ``): reduced to its dot."""


def naming(variable: str) -> str:
    """The pattern that finds `variable` named in a text reduced by IGNORED and SELECTED."""
    return rf"(?:^|[^A-Za-z0-9_]){variable}(?:$|[^A-Za-z0-9_])"


def names(text: str, variable: str) -> bool:
    """Whether the CEL `text` names `variable` (module docstring)."""
    reduced = re.sub(SELECTED, ".", re.sub(IGNORED, " ", text))
    return re.search(naming(variable), reduced) is not None
