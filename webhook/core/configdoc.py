"""The built-in default configuration as commented YAML (`initgate config default`).

Comments come from the models' own docstrings, so the printed file, the validation and the code
cannot drift apart.
"""

from __future__ import annotations

import textwrap
from enum import Enum
from typing import Any

import yaml
from pydantic import BaseModel

from webhook.core.config import Config

WIDTH = 96

HEADER = """\
# initgate configuration: the built-in default, printed by `initgate config default`.
# Every key is optional; a file only needs what differs from this. Maps such as `limits:`
# merge with these entry by entry (`{cpu: "1"}` adds a cpu limit and keeps memory; an entry
# set to null removes the default's); lists replace. Validate a file with
# `initgate config validate FILE`. Modes: enforce (deny / patch), warn (allow with a warning
# that says what would happen), audit (allow; findings go to audit annotations, metrics and
# logs), off. Roles: init, sidecar (init container with restartPolicy: Always), app, ephemeral.
"""


def render_default() -> str:
    """The default configuration, every key with its comment."""
    lines = [*HEADER.splitlines(), ""]
    _model(Config(), 0, lines)
    return "\n".join(lines) + "\n"


def _comment(text: str | None, indent: int, lines: list[str]) -> None:
    if not text:
        return
    for paragraph in text.split("\n"):
        wrapped = textwrap.wrap(paragraph, WIDTH - indent - 2) or [""]
        lines.extend(f"{' ' * indent}# {line}".rstrip() for line in wrapped)


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _dump(key: str, value: Any, width: int) -> list[str]:
    """`key: value`, with short collections on one line and long ones as blocks."""
    flow = yaml.safe_dump({key: value}, default_flow_style=None, sort_keys=False, width=10_000)
    if isinstance(value, list | dict) and len(flow.rstrip("\n")) <= width:
        return flow.rstrip("\n").splitlines()
    block = yaml.safe_dump({key: value}, default_flow_style=False, sort_keys=False)
    return block.rstrip("\n").splitlines()


def _model(model: BaseModel, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for name, field in type(model).model_fields.items():
        key = field.alias or name
        value = getattr(model, name)
        _comment(field.description, indent, lines)
        if isinstance(value, BaseModel) and any(_plain(value).values()):
            lines.append(f"{pad}{key}:")
            _model(value, indent + 2, lines)
        elif value is None:
            lines.append(f"{pad}# {key}:  (unset)")
        else:
            lines.extend(f"{pad}{line}" for line in _dump(key, _plain(value), WIDTH - indent))
        if indent == 0:
            lines.append("")
