"""docs/policies.md shows real output: every example manifest in it is judged by `initgate review`
(the command itself, as a reader would run it) and the text block that follows it must be
exactly what the command prints.

An example is a YAML block whose first line is `# example: NAME`, then optional `# config: {...}`
(the configuration file, as YAML flow) and `# mode: warn` (`--mode`) lines. After changing a
policy's messages, regenerate the blocks with `.venv/bin/python -m tests.policies.test_docs` and
read the diff.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path

import pytest

from webhook.cli.main import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "policies.md"
EXAMPLE = re.compile(
    r"```yaml\n(# example: (?P<name>[\w-]+)\n.*?)```\n+```text\n(?P<output>.*?)```", re.S
)


def render(manifest: str) -> str:
    """What `initgate review` prints for `manifest`, with the example's configuration and mode."""
    settings = dict(re.findall(r"^# (config|mode): (.*)$", manifest, re.M))
    with tempfile.TemporaryDirectory() as folder:
        pod = Path(folder) / "pod.yaml"
        pod.write_text(manifest)
        argv = ["review", str(pod), "--mode", settings.get("mode", "enforce")]
        if "config" in settings:
            config = Path(folder) / "config.yaml"
            config.write_text(settings["config"] + "\n")
            argv += ["--config", str(config)]
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(argv)
    assert status in (0, 1), err.getvalue()
    assert err.getvalue() == ""
    return out.getvalue()


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
