"""The compiled build (`make compiled`): the modules pyproject.toml lists are the ones imported.

Without this, a compiled build whose extensions failed to load, or a copy where the sources came
first, would pass the unit suite on pure Python and prove nothing about what the image runs.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from webhook.metrics import Metrics

ROOT = Path(__file__).resolve().parent.parent
COMPILED = os.environ.get("INITGATE_COMPILED") == "1"


def listed() -> list[str]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        modules: list[str] = tomllib.load(file)["tool"]["initgate"]["compiled"]
    return modules


def test_listed_modules_exist_and_import_no_pydantic_model() -> None:
    for name in listed():
        module = importlib.import_module(name)
        for value in vars(module).values():
            defined_here = isinstance(value, type) and value.__module__ == name
            assert not (defined_here and hasattr(value, "model_fields")), (
                f"{name}.{value.__name__}: a pydantic model cannot be compiled; "
                "move it out (policies.settings holds the policies' settings)"
            )


@pytest.mark.skipif(not COMPILED, reason="pure-Python build; `make compiled` runs this compiled")
@pytest.mark.parametrize("name", listed())
def test_module_is_the_compiled_extension(name: str) -> None:
    origin = importlib.import_module(name).__file__ or ""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert origin.endswith(suffixes), f"{name} was imported from {origin}, not compiled"
    assert Path(origin).is_relative_to(ROOT), f"{name} came from {origin}, outside {ROOT}"


def test_a_new_process_reports_the_build_under_test() -> None:
    """What `initgate version` and `initgate_build_info` say, from a process started like the
    integration suite's servers (`python -m webhook.cli`, from the tree under test)."""
    out = subprocess.run(
        [sys.executable, "-m", "webhook.cli", "version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.endswith("(compiled)\n" if COMPILED else "(pure)\n"), out
    exposition = generate_latest(Metrics().registry).decode()
    build = "compiled" if COMPILED else "pure"
    assert f'initgate_build_info{{build="{build}",version=' in exposition, exposition
