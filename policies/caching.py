"""Caches on the request path that a client cannot fill with megabytes.

Pods repeat a handful of scripts and images, so their judgements are cached. A cache keyed by a
string the client chose holds that string, and an admission request may carry a script or an image
reference of megabytes (the API server's limit is the object's size, 3 MiB): a thousand such
requests, each denied, would leave gigabytes in a plain `lru_cache`. `short_lru_cache` only keys
calls whose first argument is at most `LONGEST` characters; longer ones are computed every time,
which costs no more than the first time did.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

LONGEST = 2048
"""Characters of the longest string a cache keeps (an init script is a few hundred)."""

F = TypeVar("F", bound=Callable[..., Any])


def short_lru_cache(maxsize: int) -> Callable[[F], F]:
    """`functools.lru_cache(maxsize)` for calls whose first argument (a string) is short."""

    def decorate(function: F) -> F:
        cached = functools.lru_cache(maxsize=maxsize)(function)

        @functools.wraps(function)
        def call(first: str, *args: Any) -> Any:
            if len(first) > LONGEST:
                return function(first, *args)
            return cached(first, *args)

        call.cache_info = cached.cache_info  # type: ignore[attr-defined]
        call.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        return cast("F", call)

    return decorate
