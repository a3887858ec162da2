"""Whether an init container only prepares a volume (readonly-mounts' `ignorePreparingInits`),
as far as RE2 regular expressions in CEL can read its command: the counterpart of
`policies.readonly_mounts.prepares_only`, built from the same word lists.

The webhook lexes the shell script (`policies.shell.skeleton`) and judges each command. CEL has
no loop over a script's commands, so the script is matched whole:

- a script made of words (with quoted text in them), blanks, comments, separators and output
  redirections (`LEXED`) is judged exactly as the webhook judges it (`PREPARES`): every command
  only chowns, chmods, makes directories, prints or tests, and only writes to /dev/null, stdout
  or stderr; `find` counts as preparing whatever it runs (the webhook reads its `-exec`);
- any other script (command substitutions `$(...)`, backquotes, subshells, here-documents, input
  redirections, backslashes) counts as writing only when its first command writes (`cp`, `wget`,
  `cat <<EOF > file`), else as preparing;
- a command run without a shell is judged by its program (`chown -R 1000 /data`);
- a shell's script is the word after its first `-c` flag among its first four arguments.

So where the two differ, the native policy leaves a mount writable that the webhook makes
read-only, never the reverse (tests/webhook/native/test_scripts.py lists the cases).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from policies.readonly_mounts import CLOSERS, HARMLESS_COMMANDS, HARMLESS_TARGETS, KEYWORDS

_BLANK = r"[ \t\r\f\v]"
_CHAR = r"[^ \t\r\f\v\n;&|<>()'\"`\\#]"
_SINGLE = r"'[^']*'"
_DOUBLE = r'"(?:[^"\\$`]|\\[\s\S]|\$[^("\\`])*\$?"'
_PART = f"(?:{_CHAR}|{_SINGLE}|{_DOUBLE})"
_WORD = f"{_PART}(?:{_PART}|#)*"
_COMMENT = r"#[^\n]*"
_SEPARATOR = r"(?:&&|\|\||[;\n|&])"
_DUPLICATE = r"[0-9]*[<>]&(?:[0-9]+|-)"
_TO_NOWHERE = (
    rf"[0-9]*>>?\|?{_BLANK}*(?:" + "|".join(re.escape(t) for t in sorted(HARMLESS_TARGETS)) + ")"
)
_REDIRECTION = rf"[0-9]*(?:[<>]&(?:[0-9]+|-)|>>?\|?{_BLANK}*{_WORD})"


def _either(words: Iterable[str]) -> str:
    return "(?:" + "|".join(re.escape(w) for w in sorted(words)) + ")"


_ASSIGNMENT = rf"[A-Za-z_][A-Za-z0-9_]*=(?:{_WORD})?"
_PREFIX = f"(?:{_either(KEYWORDS)}|{_ASSIGNMENT})"
_GAP = f"(?:{_BLANK}|{_DUPLICATE}|{_TO_NOWHERE})*"
_BEFORE_WORD = f"{_GAP}(?:{_BLANK}|{_DUPLICATE})"
_HEAD = (
    f"(?:{_either(CLOSERS | {'for', 'case'})}|(?:{_CHAR}*/)?"
    f"{_either(HARMLESS_COMMANDS | {'find', 'install'})})"
)
_BODY = f"(?:{_PREFIX}{_BEFORE_WORD})*(?:{_PREFIX}|{_HEAD}(?:{_BEFORE_WORD}{_WORD})*)"
_STEP = f"(?:{_COMMENT}|{_GAP}(?:{_BODY})?{_GAP}(?:{_BLANK}{_COMMENT})?)"

PREPARES = f"^(?:{_STEP}(?:{_SEPARATOR}|$))*$"
"""A script whose every command only prepares, and that writes nowhere but /dev/null, stdout
and stderr (the webhook's `_prepares_only`, on the scripts `LEXED` accepts)."""
LEXED = f"^(?:{_BLANK}|{_SEPARATOR}|{_REDIRECTION}|{_WORD}|(?:^|[ \\t\\r\\f\\v\\n;&|]){_COMMENT})*$"
"""A script made only of what `PREPARES` reads."""
FIRST = (
    f"^(?:[ \\t\\r\\f\\v\\n;&|]|{_DUPLICATE}|{_TO_NOWHERE})*(?:{_PREFIX}{_BEFORE_WORD})*{_CHAR}+"
)
"""A script's first command word, with the keywords and assignments before it."""
_SURELY = json.dumps(
    sorted(HARMLESS_COMMANDS | KEYWORDS | CLOSERS | {"for", "case", "install", "find"})
)
_UNQUOTED = r"^[A-Za-z0-9_@%+=:,./-]+$"
"""A word shlex.join leaves unquoted (the webhook joins a command run without a shell)."""
_SHELLS = r"(^|/)(ba|da|z|k|a)?sh$"
_C_FLAG = r"^-(?:[^-][\s\S]*)?c"


def _literal(text: str) -> str:
    """`text` as a CEL string literal (raw: its backslashes are the regular expression's)."""
    assert "'''" not in text  # noqa: S101 - the patterns above hold none
    return f"r'''{text}'''"


def words(entry: str) -> str:
    """CEL: the words a container runs (command and arguments), busybox's name left out."""
    w = f"({entry}.c.?command.orValue([]) + {entry}.c.?args.orValue([]))"
    return f"(size({w}) > 1 && {w}[0].matches('(^|/)busybox$') ? {w}.slice(1, size({w})) : {w})"


def script(w: str) -> str:
    """CEL: the script of the shell the words `w` run (the word after its first `-c` flag in
    positions 1 to 4), or '' when they run no shell script."""
    found = "''"
    for flag in (4, 3, 2, 1):
        found = (
            f"(size({w}) > {flag + 1} && {w}[{flag}].matches({_literal(_C_FLAG)})"
            f" ? {w}[{flag + 1}] : {found})"
        )
    return f"({w}[0].matches('{_SHELLS}') ? {found} : '')"


def prepares(command: str) -> str:
    """CEL: whether the command `command` (`{words, script}`, the script '' when it runs no
    shell) only prepares."""
    w, text = f"{command}.words", f"{command}.script"
    program = f"{w}[0]"
    first = f"{text}.find({_literal(FIRST)}).find('[^ \\t\\r\\f\\v\\n;&|/]*$')"
    return (
        f"(size({w}) > 0 && ({text} != ''"
        f" ? ({text}.matches({_literal(LEXED)}) ? {text}.matches({_literal(PREPARES)})"
        f" : ({first} == '' || {first} in {_SURELY}))"
        f" : {program}.matches('{_UNQUOTED}')"
        f" && ({program}.matches({_literal('(^|/)' + _either(HARMLESS_COMMANDS | {'find'}) + '$')})"
        f" || ({program}.matches('(^|/)install$') && '-d' in {w}))))"
    )
