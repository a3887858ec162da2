"""Rewrite the documentation's outputs with what the code prints now: each example's output
block, each `output:` block and each `console` block without `...` in it (commands are kept, what
follows each is replaced). `.venv/bin/python -m tests.docs.regenerate`, then read the diff."""

from __future__ import annotations

import tempfile
from pathlib import Path

from tests.docs import run
from tests.docs.snippets import Snippet, pages, parse


def fresh(snippet: Snippet, folder: Path) -> str | None:
    """The block's new text, or None when it is not one regenerated."""
    if snippet.kind == "example" and snippet.output is not None:
        return run.review(snippet.text, folder)
    if snippet.kind == "output":
        with run.page_sandbox(snippet, folder) as box:
            return box.run(snippet.argument)[1]
    if snippet.kind == "console" and "..." not in snippet.text:
        with run.page_sandbox(snippet, folder) as box:
            return "".join(
                _command_lines(snippet.text, command) + box.run(command)[1] + "\n"
                for command, _ in run.console(snippet.text)
            ).removesuffix("\n")
    return None


def _command_lines(text: str, command: str) -> str:
    """The command as the block writes it (with its continuation lines)."""
    lines = text.splitlines(keepends=True)
    start = next(
        i
        for i, line in enumerate(lines)
        if line.startswith(f"$ {command.split(maxsplit=1)[0]}") and _joined(lines, i) == command
    )
    end = start
    while lines[end].rstrip("\n").endswith("\\"):
        end += 1
    return "".join(lines[start : end + 1])


def _joined(lines: list[str], start: int) -> str:
    command = lines[start].rstrip("\n")[2:]
    index = start
    while command.endswith("\\"):
        index += 1
        command = command[:-1] + " " + lines[index].strip()
    return command


def main() -> None:
    for page in pages():
        lines = page.read_text().splitlines(keepends=True)
        for snippet in reversed(parse(page)):
            target = snippet.output if snippet.kind == "example" else snippet
            with tempfile.TemporaryDirectory() as folder:
                text = fresh(snippet, Path(folder))
            if text is None or target is None:
                continue
            body = [
                target.indent + line if line.strip() else line
                for line in text.splitlines(keepends=True)
            ]
            lines[target.line : target.end - 1] = body
        page.write_text("".join(lines))


if __name__ == "__main__":
    main()
