"""Shared fixtures. Helpers for Kubernetes' rules, captured reviews and a real server live in
`tests/support`. And the rule that markers match folders (`marker_problem`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.core.config import Config
from webhook.core.plan import Plan, compile_plan


@pytest.fixture(scope="session")
def default_plan() -> Plan:
    """The built-in default configuration, compiled."""
    return compile_plan(Config())


TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"chart": "chart", "e2e": "e2e", "image": "image"}
"""Folders whose tests need something a machine may lack (helm and Prometheus, a cluster, a build
of the image's environment), and the marker that selects or leaves out all of them, and only them:
`-m "not chart"` on a machine without helm runs no test that needs it."""
SUITES = {"integration", *FOLDER_MARKERS.values()}
MIXED = {"docs": {"chart"}}
"""Folders whose tests are each marked by what they run: a docs snippet that runs helm is a chart
test (tests/docs/test_snippets.py)."""


def marker_problem(folder: str, markers: set[str]) -> str | None:
    """What is wrong with a test in `tests/<folder>/` marked `markers` (None: nothing)."""
    suites = markers & SUITES
    wanted = FOLDER_MARKERS.get(folder)
    if wanted is not None and suites != {wanted}:
        shown = ", ".join(sorted(suites)) or "nothing"
        return f"marked {shown}: every test in tests/{folder}/ is marked {wanted}, and only that"
    misplaced = sorted(suites & set(FOLDER_MARKERS.values()) - MIXED.get(folder, set()))
    if wanted is None and misplaced:
        return f"marked {misplaced[0]}: such tests live in tests/{misplaced[0]}/"
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    problems = []
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        problem = marker_problem(folder, {mark.name for mark in item.iter_markers()})
        if problem is not None:
            problems.append(f"{item.nodeid}: {problem}")
    if problems:
        raise pytest.UsageError("markers must match folders:\n" + "\n".join(problems))
