"""docs/policies.md shows real output: every example manifest in it is run through the offline
chain (what `initgate review` does) and must print exactly the block that follows it.

After changing a policy's messages, regenerate the blocks with
`.venv/bin/python -m tests.policies.test_docs` and read the diff.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.base import Mode
from tests.policies.harness import plan
from tests.support import kube
from webhook.core import chain as offline

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
# An example: a YAML block whose first line is `# example: NAME` (then optional `# config: {...}`
# and `# mode: warn` lines), followed by the text block of what initgate answers.
EXAMPLE = re.compile(
    r"```yaml\n(# example: (?P<name>[\w-]+)\n.*?)```\n+```text\n(?P<output>.*?)```", re.S
)


def render(manifest: str) -> str:
    """What initgate answers to creating `manifest`: the patch, then every warning as kubectl
    prints it, then the denial message."""
    settings = dict(re.findall(r"^# (config|mode): (.*)$", manifest, re.M))
    config: dict[str, Any] = yaml.safe_load(settings.get("config", "{}"))
    obj: dict[str, Any] = yaml.safe_load(manifest)
    chained = offline.chain(
        offline.wrap(obj), plan(config), cap=Mode(settings.get("mode", "enforce"))
    )
    lines: list[str] = []
    ops = kube.decode_patch(dict(chained.mutate["response"]))
    if ops:
        lines.append("patch:")
        lines.extend(f"  {json.dumps(op)}" for op in ops)
    for response in (chained.mutate["response"], chained.validate["response"]):
        lines.extend(f"Warning: {line}" for line in response.get("warnings", []))
    status = chained.validate["response"].get("status")
    if status is not None:
        lines.append(f"denied: {status['message']}")
    if not lines:
        lines.append("allowed, unchanged")
    return "\n".join(lines) + "\n"


def _examples() -> list[tuple[str, str, str]]:
    return [(m["name"], m[1], m["output"]) for m in EXAMPLE.finditer(DOCS.read_text())]


def test_the_docs_have_examples_for_every_policy() -> None:
    names = [name for name, _, _ in _examples()]
    assert len(names) == len(set(names))
    text = DOCS.read_text()
    for policy in (
        "init-privileged",
        "init-unbounded",
        "init-lint",
        "default-resources",
        "emptydir-sizelimit",
        "readonly-mounts",
    ):
        assert f"## `{policy}`" in text


@pytest.mark.parametrize(
    ("name", "manifest", "output"), _examples(), ids=[e[0] for e in _examples()]
)
def test_example_output_is_real(name: str, manifest: str, output: str) -> None:
    assert render(manifest) == output, f"docs/policies.md example {name!r} is stale"


def regenerate() -> None:
    """Rewrite every example's output block with what the code answers now."""
    text = DOCS.read_text()

    def fresh(match: re.Match[str]) -> str:
        start, end = match.span("output")
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + render(match[1]) + whole[end - offset :]

    DOCS.write_text(EXAMPLE.sub(fresh, text))


if __name__ == "__main__":
    regenerate()
