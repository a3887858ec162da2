"""The code blocks of the documentation, each with what checks it (see DEVELOPERS.md, "Snippets in
the documentation").

Every fenced block of README.md, docs/*.md and the chart's README is a `Snippet`. Its kind comes
from a marker, an HTML comment on the line right above the fence (invisible on GitHub):

    <!-- snippet: KIND[: ARGUMENT][; OPTION]... -->

or, without one, from the block itself: `console` and `sh` blocks run; a YAML block whose first
line is `# example: NAME` is an example, and the text block after it what `initgate review`
prints for it; YAML that is Kubernetes objects is a manifest; a mapping of configuration keys is
a configuration; one of chart values (`config:`) is values. Anything else needs a marker, if only
`skip: WHY`: a block nobody checks is a choice written down, never an accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from webhook.core.config import Config

ROOT = Path(__file__).resolve().parents[2]


def pages() -> list[Path]:
    """The documentation: new pages in docs/ are checked without being listed anywhere."""
    return [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "charts" / "initgate" / "README.md",
    ]


KINDS = {
    "console": "commands after `$ `, each followed by what it prints",
    "commands": "one command a line; each must exit 0 or 1 (not a usage or input error)",
    "example": "a manifest; the next block is what `initgate review` prints for it",
    "manifest": "Kubernetes objects, valid against the Kubernetes 1.36 schemas",
    "config": "an initgate configuration: valid, and no warning",
    "defaults": "an initgate configuration that is exactly the built-in default",
    "values": "Helm values whose `config:` is a valid configuration",
    "output": "what the command given as argument prints",
    "file": "written into the sandbox, as the argument names it, for the page's commands",
    "synopsis": "`initgate COMMAND --option...` lines: every command and option exists",
    "skip": "not checked: the argument says why",
}
OPTIONS = {
    "server": "an `initgate serve` runs first, as `make run` does; 127.0.0.1:8443 is its port",
    "cluster": "KUBECONFIG points at a replayed API server holding tests/docs/cluster.yaml",
    "not here": "commands using the programs listed are not run; the reason follows in ()",
}
_MARKER = re.compile(r"^<!-- snippet: (?P<body>.*?) -->$")
_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")


@dataclass
class Snippet:
    page: Path
    line: int
    """The line of the opening fence (1-based)."""
    end: int
    """The line of the closing fence."""
    indent: str
    lang: str
    text: str
    kind: str
    argument: str = ""
    options: dict[str, str] = field(default_factory=dict)
    output: Snippet | None = None
    """An example's: the block that follows it."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse(page: Path) -> list[Snippet]:
    """Every block of `page`, with its kind; an example takes the block after it as output."""
    lines = page.read_text().splitlines()
    found: list[Snippet] = []
    index = 0
    while index < len(lines):
        fence = _FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        indent, start = fence["indent"], index
        end = next(i for i in range(start + 1, len(lines)) if lines[i].strip() == "```")
        text = "".join(line.removeprefix(indent) + "\n" for line in lines[start + 1 : end])
        marker = _MARKER.match(lines[start - 1].strip()) if start else None
        snippet = Snippet(page, start + 1, end + 1, indent, fence["lang"], text, "")
        _classify(snippet, marker["body"] if marker else None)
        if found and found[-1].kind == "example" and found[-1].output is None:
            found[-1].output = snippet
        else:
            found.append(snippet)
        index = end + 1
    return found


def _classify(snippet: Snippet, marker: str | None) -> None:
    if marker is not None and marker.startswith("skip:"):
        snippet.kind, snippet.argument = "skip", marker.removeprefix("skip:").strip()
        return  # the reason is free text: `;` and `:` included
    if marker is not None:
        head, *options = [part.strip() for part in marker.split(";")]
        snippet.kind, _, snippet.argument = (p.strip() for p in head.partition(":"))
        for option in options:
            name, _, value = (p.strip() for p in option.partition(":"))
            snippet.options[name] = value
        return
    snippet.kind = _kind_of(snippet.lang, snippet.text)


_BY_LANGUAGE = {"console": "console", "sh": "commands"}


def _kind_of(lang: str, text: str) -> str:
    if lang != "yaml":
        return _BY_LANGUAGE.get(lang, "")
    if text.startswith("# example: "):
        return "example"
    try:
        found = documents(text)
    except yaml.YAMLError:
        return ""
    if found and all(isinstance(d, dict) and {"apiVersion", "kind"} <= d.keys() for d in found):
        return "manifest"
    keys = set(found[0]) if len(found) == 1 and isinstance(found[0], dict) else set()
    if keys == {"config"}:
        return "values"
    return "config" if keys and keys <= _config_keys() else ""


@cache
def _config_keys() -> frozenset[str]:
    return frozenset(field.alias or name for name, field in Config.model_fields.items())


def everything() -> list[Snippet]:
    return [snippet for page in pages() for snippet in parse(page)]


def documents(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]
