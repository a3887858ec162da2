"""`initgate test` files: a configuration, manifests, and what each object must get from each
policy or rule (docs/test.md). This module reads their YAML and keys; `testcases` resolves what
they name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from policies.base import escape
from policies.policy import Settings
from webhook.audit.manifests import files_of, line_of
from webhook.core.chain import OFFLINE_USER
from webhook.core.configerrors import explain

NAMES = ("initgate-test.yaml", "initgate-test.yml")
"""In a directory, the test files are those named so, or ending in `.` and one of these."""
Result = Literal["pass", "fail", "warn", "skip", "error"]
_OBJECT = re.compile(r"^[A-Za-z][A-Za-z0-9]*/([^/]+/)?[^/]+$")


class Expectation(Settings):
    """What one object gets, judged as admission would judge it."""

    object: str
    """The object: `Kind/name`, or `Kind/namespace/name` when the name alone is ambiguous."""
    mode: Literal["enforce", "warn", "audit"] = "enforce"
    """The namespace's `initgate.io/mode` label: the endpoint the object is sent to."""
    namespace: str | None = None
    """The namespace of an object that has none (default: `default`)."""
    user: str = OFFLINE_USER
    """Who creates the object (user exemptions)."""
    groups: tuple[str, ...] = ()
    """The groups of that user (group exemptions)."""
    results: dict[str, Result] = Field(default_factory=dict)
    """By policy or rule id: pass, fail, warn, skip or error."""
    patched: dict[str, Any] = Field(default_factory=dict)
    """By field, as a YAML path (`spec.containers[0].resources.requests.cpu`, `[app]` for the
    container named app): the value the mutating webhook's patch sets there."""

    @field_validator("object")
    @classmethod
    def _named(cls, value: str) -> str:
        if _OBJECT.match(value) is None:
            raise ValueError(f"expected Kind/name or Kind/namespace/name, not {value!r}")
        return value


class TestFile(Settings):
    """An `initgate test` file."""

    config: str | None = None
    """The configuration file, relative to this file (default: the built-in configuration)."""
    manifests: tuple[Annotated[str | dict[str, Any], Field(title="Manifest")], ...]
    """Files or directories of manifests, relative to this file, or objects written inline."""
    expect: tuple[Expectation, ...]
    """What the objects get."""


LineOf = Callable[..., "int | None"]
"""The line of the key at a path of keys and indexes (`"expect", 0, "object"`)."""


class BrokenError(Exception):
    """A test file that cannot be run; `problems` are its lines, `FILE:LINE: what`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def find(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The test files of `paths` (a file as given, a directory's by name, recursively), and a
    problem for each path that gives none."""
    found: list[Path] = []
    problems: list[str] = []
    for given in paths:
        path = Path(given)
        if not path.exists():
            problems.append(f"{given}: no such file or directory")
        elif not path.is_dir():
            found.append(path)
        else:
            named = [p for p in files_of(path) if p.name in NAMES or p.name.endswith(_SUFFIXES)]
            if not named:
                problems.append(f"{given}: no test file in this directory ({', '.join(NAMES)})")
            found.extend(named)
    return list(dict.fromkeys(found)), problems


_SUFFIXES = tuple(f".{name}" for name in NAMES)


def parse(path: Path) -> tuple[TestFile, LineOf]:
    """A test file's content, and the line of each key in it; raises `BrokenError` naming
    every problem of its YAML and its keys."""
    source = str(path)
    try:
        content = path.read_text(encoding="utf-8")
        node = yaml.compose(content, Loader=yaml.SafeLoader)
        data = yaml.safe_load(content)
    except (OSError, UnicodeDecodeError) as error:
        cause = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise BrokenError([f"{source}: cannot read: {cause}"]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise BrokenError([f"{where}: not valid YAML: {problem}"]) from None
    if not isinstance(data, dict):
        raise BrokenError([f"{source}: a test file is a mapping (config, manifests, expect)"])

    def line(*loc: int | str) -> int | None:
        if node is None:
            return None
        return line_of(node, "".join(f"/{escape(str(part))}" for part in loc))

    try:
        parsed = TestFile.model_validate_json(json.dumps(data, default=str), strict=True)
    except ValidationError as error:
        schema = TestFile.model_json_schema(by_alias=True)
        problems = explain(
            error.errors(include_url=False), schema=schema, line_of=lambda loc: line(*loc),
            source=source,
        )  # fmt: skip
        raise BrokenError(problems) from None
    return parsed, line
