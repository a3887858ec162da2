"""scripts/audit_deps.py: non-zero only for a known vulnerability; an audit that could not run (no
network, unknown packages) is not a failure, but its last line, which `make test` repeats in its
summary, says SKIPPED."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "audit_deps.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("audit_deps", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


audit_deps = _load()


def report(*dependencies: dict[str, Any]) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def test_a_known_vulnerability_fails_and_is_named() -> None:
    verdict = audit_deps.judge(
        1,
        report(
            {"name": "pyyaml", "version": "5.3", "vulns": [
                {"id": "PYSEC-2021-142", "fix_versions": ["5.4"], "aliases": ["CVE-2020-14343"]},
            ]},
            {"name": "idna", "version": "3.10", "vulns": []},
        ),
        "",
    )  # fmt: skip
    assert verdict.status == 1
    assert verdict.lines == [
        "1 known vulnerabilities:",
        "  pyyaml 5.3: PYSEC-2021-142 (CVE-2020-14343); fixed in 5.4",
        "FAILED: 1 known vulnerabilities in 2 audited packages",
    ]


def test_a_clean_audit_passes() -> None:
    verdict = audit_deps.judge(0, report({"name": "idna", "version": "3.10", "vulns": []}), "")
    assert verdict.status == 0
    assert verdict.lines == ["PASSED: no known vulnerabilities in 1 audited packages"]


def test_unknown_packages_warn_without_failing() -> None:
    reason = "Dependency not found on PyPI and could not be audited"
    verdict = audit_deps.judge(
        0,
        report(
            {"name": "internal-lib", "skip_reason": f"{reason}: internal-lib (1.0)"},
            {"name": "idna", "version": "3.10", "vulns": []},
        ),
        "",
    )
    assert verdict.status == 0
    assert verdict.lines == [
        f"WARNING: 1 of 2 packages could not be audited ({reason}):",
        "  internal-lib",
        "PASSED: no known vulnerabilities in 1 audited packages; 1 could not be audited",
    ]


def test_no_package_audited_is_skipped_not_passed() -> None:
    """What an index without vulnerability data answers: every package unknown. This printed
    "WARNING: 45 of 45 packages could not be audited" and passed like a clean audit."""
    reason = "Dependency not found on PyPI and could not be audited"
    verdict = audit_deps.judge(
        0,
        report(
            {"name": "idna", "skip_reason": f"{reason}: idna (3.10)"},
            {"name": "pyyaml", "skip_reason": f"{reason}: pyyaml (6.0.2)"},
        ),
        "",
    )
    assert verdict.status == 0
    assert verdict.lines[0] == f"WARNING: 2 of 2 packages could not be audited ({reason}):"
    assert verdict.lines[-1].startswith(f"SKIPPED: no package could be audited ({reason})")


def test_no_report_at_all_warns_without_failing() -> None:
    error = "requests.exceptions.ConnectionError: Failed to resolve 'pypi.org'"
    verdict = audit_deps.judge(1, "", f"Traceback (most recent call last):\n{error}\n")
    assert verdict.status == 0
    assert verdict.lines[1] == f"  {error}"
    assert verdict.lines[-1].startswith("SKIPPED: no vulnerability data could be reached")


def test_the_runtime_set_is_the_runtime_dependencies_only() -> None:
    names = {pin.split("==")[0] for pin in audit_deps.runtime_pins()}
    assert {"fastapi", "uvicorn", "pydantic", "cryptography", "prometheus-client"} <= names
    assert not names & {"pytest", "hypothesis", "mypy", "ruff", "pip-audit", "initgate"}


def offline() -> dict[str, str]:
    """The environment with PyPI unreachable (a proxy that refuses connections)."""
    dead = f"http://127.0.0.1:{free_port()}"
    return {**os.environ, "HTTPS_PROXY": dead, "HTTP_PROXY": dead, "NO_PROXY": ""}


@pytest.mark.integration
def test_offline_the_script_says_skipped_and_exits_0() -> None:
    """The real pip-audit, with PyPI unreachable."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        env=offline(),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("SKIPPED: ")


@pytest.mark.integration
def test_the_make_test_summary_says_skipped() -> None:
    """The last line of `make test` repeats the audit's verdict: the steps it runs last."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-s", "audit-deps", "test-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={k: v for k, v in offline().items() if not k.startswith("MAKE")},
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.splitlines()[-1]
    assert summary.startswith("make test: lint, types, unit, integration, chart and image passed")
    assert "dependency audit: SKIPPED: " in summary
