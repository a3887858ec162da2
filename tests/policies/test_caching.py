"""Caches a client cannot fill: judgements of long scripts and images are not kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from policies import init_lint, readonly_mounts
from policies.caching import LONGEST, short_lru_cache
from webhook.core import exemptions

HUGE = "x" * (1024 * 1024)


def test_only_short_first_arguments_are_kept() -> None:
    calls: list[str] = []

    @short_lru_cache(maxsize=8)
    def length(text: str, extra: int) -> int:
        calls.append(text)
        return len(text) + extra

    short, long = "a" * LONGEST, "a" * (LONGEST + 1)
    assert [length(short, 1), length(short, 1)] == [LONGEST + 1, LONGEST + 1]
    assert [length(long, 1), length(long, 1)] == [LONGEST + 2, LONGEST + 2]
    assert calls == [short, long, long]  # the short one once, the long one every time
    assert length.cache_info().currsize == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cached", "call", "answer"),
    [
        pytest.param(
            init_lint._judge_script,
            lambda: init_lint._judge_script(
                f"{HUGE}; tail -f /x", False, frozenset(["never-ends"])
            ),
            ("never-ends", "never ends (tail -f); make it a native sidecar: restartPolicy: Always"),
            id="init-lint-scripts",
        ),
        pytest.param(
            init_lint.image_problem,
            lambda: init_lint.image_problem(f"example.com/{HUGE}:latest"),
            f'image "example.com/{HUGE}:latest" uses :latest; pin a version',
            id="init-lint-images",
        ),
        pytest.param(
            readonly_mounts._prepares_only,
            lambda: readonly_mounts._prepares_only(f"chown 1000 /data # {HUGE}"),
            True,
            id="readonly-mounts-scripts",
        ),
        pytest.param(
            exemptions.normalise_image,
            lambda: exemptions.normalise_image(f"{HUGE}:1"),
            f"docker.io/library/{HUGE}:1",
            id="image-normalisation",
        ),
    ],
)
def test_request_path_caches_keep_no_megabytes(
    cached: Any, call: Callable[[], object], answer: object
) -> None:
    before = cached.cache_info().currsize
    assert call() == answer
    assert cached.cache_info().currsize == before
