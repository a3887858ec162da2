"""Running a snippet: `initgate review` on an example, a page's commands in a sandbox."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.docs.sandbox import Sandbox, sandbox
from tests.docs.snippets import Snippet, parse
from webhook.cli.main import main


def initgate(argv: Sequence[str]) -> tuple[int, str]:
    """`initgate ARGV` in this process: its exit status and everything it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            status = main(list(argv))
        except SystemExit as exited:  # --help, and argparse's usage errors
            status = int(exited.code or 0)
    return status, out.getvalue()


def review(manifest: str, folder: Path) -> str:
    """What `initgate review pod.yaml` prints for an example: its `# config:` line is the
    configuration file (`--config`), its `# mode:` line the `--mode`."""
    settings = dict(re.findall(r"^# (config|mode): (.*)$", manifest, re.M))
    folder.mkdir(parents=True, exist_ok=True)
    pod = folder / "pod.yaml"
    pod.write_text(manifest)
    argv = ["review", str(pod), "--mode", settings.get("mode", "enforce")]
    if "config" in settings:
        config = folder / "config.yaml"
        config.write_text(settings["config"] + "\n")
        argv += ["--config", str(config)]
    status, out = initgate(argv)
    assert status in (0, 1), out
    return out


def documents(text: str) -> list[Any]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def dump(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False)


@contextmanager
def page_sandbox(snippet: Snippet, folder: Path) -> Iterator[Sandbox]:
    """A sandbox with the options the snippet asks for, holding the `file` blocks of its page
    written above it."""
    options = snippet.options
    with sandbox(folder, server="server" in options, cluster="cluster" in options) as box:
        for other in parse(snippet.page):
            if other.line >= snippet.line:
                break
            if other.kind == "file":
                box.write(other.argument, other.text)
        yield box


def commands(text: str) -> list[str]:
    """The commands of a `sh` block: a line each, `\\` joining lines, `#` lines left out."""
    joined = text.replace("\\\n", " ")
    return [
        line.strip()
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def console(text: str) -> list[tuple[str, str]]:
    """(command, what it prints) of a `console` block: `$ ` starts a command."""
    found: list[tuple[str, list[str]]] = []
    lines = iter(text.splitlines())
    for line in lines:
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + " " + next(lines).strip()
            found.append((command, []))
        elif found:
            found[-1][1].append(line)
    return [(command, "\n".join(out).rstrip("\n") + "\n") for command, out in found]


def uses(snippet: Snippet, program: str) -> bool:
    """Whether a command the snippet runs uses `program`."""
    if snippet.kind == "console":
        run = [command for command, _ in console(snippet.text)]
    elif snippet.kind == "commands":
        run = [command for command in commands(snippet.text) if not not_here(snippet, command)]
    else:
        run = [snippet.argument] if snippet.kind == "output" else []
    return any(program in re.split(r"[\s|]+", command) for command in run)


def not_here(snippet: Snippet, command: str) -> bool:
    """Whether `command` uses a program the snippet's `not here` option lists."""
    listed = snippet.options.get("not here", "").split("(", 1)[0]
    programs = {p.strip() for p in listed.split(",") if p.strip()}
    words = re.split(r"[\s|]+", command)
    return bool(programs & set(words))


def help_of(*command: str) -> str:
    """`initgate COMMAND [ACTION] --help`, the options a command has in their spelling."""
    status, out = initgate([*command, "--help"])
    assert status == 0, out
    return out
