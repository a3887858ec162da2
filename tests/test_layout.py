"""The layout shows the architecture: no module name is used twice (`settings`, `cli`, `offline`
in two rooms each made a newcomer ask which one), and every policy is one module of its own."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

import policies
from tests.conftest import marker_problem

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FILES = ("__init__", "__main__")


def test_no_module_name_is_used_twice() -> None:
    modules = [
        path
        for package in ("webhook", "policies")
        for path in (ROOT / package).rglob("*.py")
        if path.stem not in PACKAGE_FILES
    ]
    names = Counter([path.stem for path in modules])
    twice = sorted(name for name, count in names.items() if count > 1)
    assert twice == [], [str(p.relative_to(ROOT)) for p in modules if p.stem in twice]
    # Nor is a module named like a package (`webhook/cli/audit.py` beside `webhook/audit/`).
    folders = {
        p.name for p in (ROOT / "webhook").rglob("*") if p.is_dir() and p.name != "__pycache__"
    }
    assert not folders & set(names), folders & set(names)


def test_each_policy_is_one_module_named_after_its_id() -> None:
    for policy in policies.REGISTRY:
        module = ROOT / "policies" / f"{policy.id.replace('-', '_')}.py"
        assert module.is_file(), policy.id
        assert policy.settings.__module__ == f"policies.{module.stem}", policy.id
        assert policy.evaluate.__module__ == f"policies.{module.stem}", policy.id


@pytest.mark.parametrize(
    ("folder", "markers", "problem"),
    [
        ("chart", {"chart"}, None),
        ("chart", {"chart", "parametrize"}, None),
        (
            "chart",
            {"integration"},
            "marked integration: every test in tests/chart/ is marked chart",
        ),
        (
            "chart",
            {"chart", "integration"},
            "marked chart, integration: every test in tests/chart/",
        ),
        ("chart", set(), "marked nothing: every test in tests/chart/ is marked chart"),
        ("image", {"image"}, None),
        ("webhook", {"integration"}, None),
        ("webhook", set(), None),
        ("webhook", {"chart"}, "marked chart: such tests live in tests/chart/"),
        ("docs", {"chart"}, None),
        ("docs", {"e2e"}, "marked e2e: such tests live in tests/e2e/"),
        ("policies", {"e2e", "integration"}, "marked e2e: such tests live in tests/e2e/"),
    ],
)
def test_markers_match_folders(folder: str, markers: set[str], problem: str | None) -> None:
    """The rule `tests/conftest.py` applies to every collected test (a mismatch stops the run)."""
    found = marker_problem(folder, markers)
    assert found == problem if problem is None else found is not None and found.startswith(problem)
