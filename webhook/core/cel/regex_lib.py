"""Kubernetes' regex library (k8s.io/apiserver/pkg/cel/library/regex.go): what a regular
expression finds in a string, with RE2's syntax and linear time, as Go's regexp package (and so
Kubernetes) matches.

    'abc 123'.find('[0-9]+')            '123'
    'abc'.find('[0-9]+')                ''
    '1 22 333'.findAll('[0-9]+')        ['1', '22', '333']
    '1 22 333'.findAll('[0-9]+', 2)     ['1', '22']
"""

from __future__ import annotations

from typing import Any

import re2

from policies.caching import short_lru_cache
from webhook.core.cel.library import Function, Library, LibraryError, method

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # an invalid pattern is a CEL error, not a line on stderr


@short_lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """The compiled pattern; a CEL error when RE2 refuses it."""
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as error:
        detail = error.args[0].decode() if isinstance(error.args[0], bytes) else str(error)
        raise LibraryError(f"invalid regular expression {pattern!r}: {detail}") from None


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
