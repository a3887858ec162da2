"""The build, with one option: `INITGATE_COMPILE=1` compiles the request path with mypyc.

Everything else is in pyproject.toml. The modules compiled are listed there too
(`[tool.initgate] compiled`), with why they, and only they, are; the image builds them compiled
(Dockerfile), `make compiled` builds and tests them beside the sources, and the plain build (an
editable install, `pip install .`) stays pure Python.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).resolve().parent


def compiled_modules() -> list[str]:
    """The source files mypyc compiles, from pyproject.toml."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        modules = tomllib.load(file)["tool"]["initgate"]["compiled"]
    return [module.replace(".", "/") + ".py" for module in modules]


def extensions() -> list[object]:
    if os.environ.get("INITGATE_COMPILE") != "1":
        return []
    if any(command in sys.argv for command in ("egg_info", "dist_info")):
        return []  # metadata only (pip asks for it before the build): nothing to compile yet
    from mypyc.build import mypycify  # noqa: PLC0415 - mypy is a build tool of the compiled build only

    return list(mypycify(compiled_modules(), opt_level="3", debug_level="0"))


setup(ext_modules=extensions())
