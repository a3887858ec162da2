"""The code of a shell script, without what is only data: what the script heuristics read.

The heuristics of init-lint (`while true`, `tail -f`, wait loops and their bounds) and of
readonly-mounts (which commands write, and where) are patterns over shell code. Text inside quotes,
comments and here-documents is not code, and patterns found there are false alarms: a `grep "tail
-f"`, an `echo "done > /data/x"`, a commented-out loop. `skeleton` keeps the code and replaces the
rest:

- a quoted string becomes the word `_` (so `echo "a > b"` is `echo _`), except what is code inside
  double quotes: command substitutions `$(...)` and backquotes, and arithmetic `$((...))`, which are
  kept (a counter written `i="$((i+1))"` still counts);
- the quoted script of a nested shell (`sh -c '...'`, `bash -c "..."`) is code: it is kept, as its
  own skeleton in parentheses;
- comments (from a `#` that starts a word to the end of the line) and here-document bodies are
  removed.

This is a lexer, not a shell: no expansion, no aliases, no `eval` (a script passed to `eval` reads
as data). It never raises; an unterminated quote runs to the end of the script.
"""

from __future__ import annotations

import re

_WORD_BREAKS = frozenset(" \t\n;&|()<>")
_C_FLAG = re.compile(r"-[a-zA-Z]*c")  # `-c`, `-ec`, `-euxc`: a shell's script follows
_SHELL = re.compile(r"(?:ba|da|z|k|a)?sh")
_SPECIAL = re.compile(r"['\"`\\#\n<()]")  # what the lexer stops at; the rest is copied
_IN_DOUBLE_QUOTES = re.compile(r'["\\$`]')
_UNESCAPE = re.compile(r'\\([\\"$`])')  # the escapes double quotes resolve
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z0-9_.-]+)\2")


# Substitutions and nested shells deeper than this read as data: no script needs more, and a
# crafted one must not exhaust the interpreter's stack.
MAX_NESTING = 24
MAX_LEXED = 8 * 1024
"""Characters of the longest script lexed. A longer one (init scripts are a few hundred; a long
program belongs in a ConfigMap) is read as it is, as the heuristics read every script before the
lexer: the lexer is Python, a character at a time where a script is all quotes and parentheses,
and a client chooses the script."""


def skeleton(script: str) -> str:
    """The code of `script`, with quoted text, comments and here-document bodies replaced (not
    cached: its callers cache their own judgements of short scripts)."""
    if len(script) > MAX_LEXED:
        return script
    return _Lexer(script).whole()


class _Lexer:
    def __init__(self, text: str, nesting: int = 0) -> None:
        self.text = text
        self.nesting = nesting

    def whole(self) -> str:
        return self.code(0, len(self.text), closing="")[0]

    def code(self, start: int, end: int, *, closing: str) -> tuple[str, int]:
        """Skeleton of the code from `start` until `closing` (")" of a substitution, "`" of a
        backquote, "" for the whole text) at nesting depth zero; returns it and the position
        after the closing character."""
        if self.nesting > MAX_NESTING:
            return "_", end
        self.nesting += 1
        try:
            return self._code(start, end, closing=closing)
        finally:
            self.nesting -= 1

    def _code(self, start: int, end: int, *, closing: str) -> tuple[str, int]:
        text, out = self.text, list[str]()
        depth = 0
        heredocs: list[tuple[str, bool]] = []
        i = start
        while i < end:
            found = _SPECIAL.search(text, i, end)  # plain text is copied in one piece
            if found is None:
                out.append(text[i:end])
                break
            if found.start() > i:
                out.append(text[i : found.start()])
                i = found.start()
            char = text[i]
            if closing and char == closing and depth == 0:
                return "".join(out), i + 1
            if char in "'\"`\\":
                i = self._quote(char, i, end, out)
            elif char == "#" and (i == start or text[i - 1] in _WORD_BREAKS):
                newline = text.find("\n", i)
                i = end if newline < 0 else newline
            elif char == "\n" and heredocs:
                out.append("\n")
                i = self._skip_heredocs(i + 1, end, heredocs)
                heredocs = []
            elif text.startswith("<<<", i):  # a here-string: its word is an argument
                out.append("<<<")
                i += 3
            elif char == "<" and (found := _HEREDOC.match(text, i)):
                heredocs.append((found[3], bool(found[1])))
                out.append(f"<<{found[3]}")
                i = found.end()
            else:
                if closing == ")":
                    depth += (char == "(") - (char == ")")
                out.append(char)
                i += 1
        return "".join(out), end

    def _quote(self, char: str, i: int, end: int, out: list[str]) -> int:
        """Append the skeleton of the escape or quoted word at `i`; the position after it."""
        text = self.text
        if char == "\\":
            out.append(text[i : i + 2])
            return i + 2
        if char == "`":
            inner, after = self.code(i + 1, end, closing="`")
            out.append(f"`{inner}`")
            return after
        if char == "'":
            stop = text.find("'", i + 1)
            stop = end if stop < 0 else stop
            after, content = stop + 1, text[i + 1 : stop]
            word = "_"
        else:
            word, after = self._double(i + 1, end)
            quoted = text[i + 1 : after - 1 if text[after - 1 : after] == '"' else after]
            content = _UNESCAPE.sub(r"\1", quoted)  # what the nested shell is given
        if self._nested(out):
            word = f"({_Lexer(content, self.nesting + 1).whole()})"
        out.append(word)
        return after

    def _double(self, start: int, end: int) -> tuple[str, int]:
        """Skeleton of a double-quoted string from after its opening quote: `_`, then the code of
        its substitutions; and the position after its closing quote."""
        text, parts = self.text, ["_"]
        i = start
        while i < end:
            found = _IN_DOUBLE_QUOTES.search(text, i, end)
            if found is None:
                break
            i = found.start()
            char = text[i]
            if char == '"':
                return "".join(parts), i + 1
            if char == "\\":
                i += 2
            elif text.startswith("$((", i):
                inner, i = self.code(i + 3, end, closing=")")
                i += text[i : i + 1] == ")"
                parts.append(f"$(({inner}))")
            elif text.startswith("$(", i):
                inner, i = self.code(i + 2, end, closing=")")
                parts.append(f"$({inner})")
            elif char == "`":
                inner, i = self.code(i + 1, end, closing="`")
                parts.append(f"`{inner}`")
            else:  # a `$` that starts no substitution
                i += 1
        return "".join(parts), end

    @staticmethod
    def _nested(before: list[str]) -> bool:
        """Whether a quoted word is the script of a nested shell (`sh -c '...'`): code. Read from
        the last word back, a word at a time (a regular expression searched from every position
        of the text before cost 28 µs a quoted word): `-c` (or `-ec`...), then options and their
        arguments, then a shell (`sh`, `/bin/bash`...)."""
        for piece in reversed(before[-3:]):  # first the cheap test: is the last word `-...c`?
            if last := piece.rstrip():
                if not last.endswith("c"):
                    return False
                break
        else:
            return False
        words = "".join(before[-80:]).split()
        if not words or not _C_FLAG.fullmatch(words[-1]):
            return False
        i = len(words) - 2
        while i >= max(0, len(words) - 12):  # `bash -o pipefail -eux -c`: a few words back
            word = words[i].lstrip(";&|(")
            if _SHELL.fullmatch(word.rsplit("/", 1)[-1]):
                return True
            if word.startswith("-"):
                i -= 1
            elif i >= 1 and words[i - 1].startswith("-"):
                i -= 2  # an option's argument: `-o pipefail`
            else:
                return False
        return False

    def _skip_heredocs(self, i: int, end: int, pending: list[tuple[str, bool]]) -> int:
        """The position after the bodies of the here-documents opened on the previous line."""
        text = self.text
        for word, strip_tabs in pending:
            while i < end:
                newline = text.find("\n", i)
                stop = end if newline < 0 else newline
                line = text[i:stop]
                i = stop + 1
                if (line.lstrip("\t") if strip_tabs else line) == word:
                    break
        return min(i, end)
