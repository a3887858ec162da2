"""Kubernetes' regex library (k8s.io/apiserver/pkg/cel/library/regex.go): what a regular
expression finds in a string, with RE2's syntax and linear time, as Go's regexp package (and so
Kubernetes) matches.

    'abc 123'.find('[0-9]+')            '123'
    'abc'.find('[0-9]+')                ''
    '1 22 333'.findAll('[0-9]+')        ['1', '22', '333']
    '1 22 333'.findAll('[0-9]+', 2)     ['1', '22']
"""

from __future__ import annotations

import re
from typing import Any

import re2

from policies.caching import short_lru_cache
from webhook.core.cel.library import Function, Library, LibraryError, method

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # an invalid pattern is a CEL error, not a line on stderr
# RE2's words for a refused pattern, and Go's (regexp/syntax): Kubernetes reports Go's.
_GO_ERRORS = {
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "pattern too large - compile failed": "expression too large",
}
_ANY_BYTE = re.compile(r"(?<!\\)(?:\\\\)*\\C")  # `\C` after an even run of backslashes


@short_lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """The compiled pattern; a CEL error, worded as Kubernetes words it, when Go would refuse it.
    RE2 (C++) also takes `\\C` (any byte), which Go's regexp does not."""
    if _ANY_BYTE.search(pattern):
        raise LibraryError(_illegal("invalid escape sequence", "\\C"))
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        detail = error.args[0].decode() if isinstance(error.args[0], bytes) else str(error)
        code, _, argument = detail.partition(": ")
        raise LibraryError(_illegal(_GO_ERRORS.get(code, code), argument)) from None


def _illegal(code: str, argument: str) -> str:
    return f"Illegal regex: error parsing regexp: {code}: `{argument}`"


def find(text: str, pattern: str) -> str:
    match = compiled(pattern).search(text)
    return match.group(0) if match else ""


def find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    """Go's FindAllString: non-overlapping matches, an empty match right after a match skipped;
    at most `limit` of them (all when negative)."""
    found: list[str] = []
    end = -1
    for match in compiled(pattern).finditer(text):
        if limit >= 0 and len(found) >= limit:
            break
        if match.start() == match.end() == end:
            continue
        found.append(match.group(0))
        end = match.end()
    return found


LIBRARY = Library(
    name="regex",
    functions=(
        Function("find", (method("string_find_string", "string, string", "string", find),)),
        Function(
            "findAll",
            (
                method("string_find_all_string", "string, string", "list(string)", find_all),
                method(
                    "string_find_all_string_int", "string, string, int", "list(string)", find_all
                ),
            ),
        ),
    ),
)
