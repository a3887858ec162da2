"""Every command and configuration of the documentation runs here, so that the docs and the
behaviour cannot drift apart (issue 22). How a block is marked: tests/docs/snippets.py and
DEVELOPERS.md. After a change to what initgate prints, `.venv/bin/python -m tests.docs.regenerate`
rewrites the examples' output blocks; read the diff."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from policies import REGISTRY
from tests.docs import run
from tests.docs.sandbox import matches
from tests.docs.snippets import KINDS, OPTIONS, ROOT, Snippet, everything, parse
from tests.support import kube
from webhook.core.config import Config, parse_config
from webhook.core.configwarnings import config_warnings

SNIPPETS = everything()
CHECKED = [s for s in SNIPPETS if s.kind in KINDS.keys() - {"skip", "file"}]


def test_every_block_is_checked_or_says_why_not() -> None:
    for snippet in SNIPPETS:
        assert snippet.kind in KINDS, (
            f"{snippet.where}: a ```{snippet.lang} block nothing checks: mark it "
            f"(<!-- snippet: KIND -->, KIND one of {', '.join(KINDS)}; see DEVELOPERS.md)"
        )
        assert set(snippet.options) <= OPTIONS.keys(), f"{snippet.where}: {snippet.options}"
        if snippet.kind in ("skip", "file", "output"):
            assert snippet.argument, f"{snippet.where}: {snippet.kind} needs an argument"
        if snippet.kind == "example":
            assert snippet.output is not None, f"{snippet.where}: an example needs its output"
        if snippet.kind == "console":
            assert run.console(snippet.text), f"{snippet.where}: no `$ ` command in it"
        if snippet.kind == "console":
            assert run.console(snippet.text), f"{snippet.where}: no `$ ` command in it"
    assert len(CHECKED) >= 35  # a parser that found nothing would check nothing


def _param(snippet: Snippet) -> Any:
    """A snippet that starts a server or a replayed cluster is an integration test, one that
    runs helm a chart test (`make unit` runs before `make tools` has installed it)."""
    marks = []
    if {"server", "cluster"} & snippet.options.keys():
        marks.append(pytest.mark.integration)
    elif run.uses(snippet, "helm"):
        marks.append(pytest.mark.chart)
    return pytest.param(snippet, id=f"{snippet.where}:{snippet.kind}", marks=marks)


@pytest.mark.parametrize("snippet", [_param(s) for s in CHECKED])
def test_snippet(snippet: Snippet, tmp_path: Path) -> None:
    CHECKS[snippet.kind](snippet, tmp_path)


def _example(snippet: Snippet, tmp_path: Path) -> None:
    assert snippet.output is not None
    assert run.review(snippet.text, tmp_path) == snippet.output.text, (
        f"{snippet.where}: stale output; regenerate with `.venv/bin/python -m tests.docs.regenerate`"
    )


def _config(snippet: Snippet, _: Path) -> None:
    config = parse_config(snippet.text, source=snippet.where)
    assert config_warnings(config, snippet.text, source=snippet.where) == []


def _defaults(snippet: Snippet, _: Path) -> None:
    assert parse_config(snippet.text, source=snippet.where) == Config(), (
        f"{snippet.where}: these are not the defaults (`initgate config default` prints them)"
    )


def _values(snippet: Snippet, tmp_path: Path) -> None:
    [values] = run.documents(snippet.text)
    config = tmp_path / "config.yaml"
    config.write_text(run.dump(values["config"]))
    status, out = run.initgate(["config", "validate", str(config)])
    assert (status, out) == (0, f"{config}: valid\n"), out


def _manifest(snippet: Snippet, _: Path) -> None:
    for obj in run.documents(snippet.text):
        kube.validate(obj)


def _commands(snippet: Snippet, tmp_path: Path) -> None:
    with run.page_sandbox(snippet, tmp_path) as box:
        for command in run.commands(snippet.text):
            if run.not_here(snippet, command):
                continue
            status, out = box.run(command)
            assert status in (0, 1), f"{snippet.where}: `{command}` exited {status}:\n{out}"


def _console(snippet: Snippet, tmp_path: Path) -> None:
    with run.page_sandbox(snippet, tmp_path) as box:
        for command, expected in run.console(snippet.text):
            _, out = box.run(command)
            assert matches(expected, out), f"{snippet.where}: `{command}` printed:\n{out}"


def _output(snippet: Snippet, tmp_path: Path) -> None:
    with run.page_sandbox(snippet, tmp_path) as box:
        _, out = box.run(snippet.argument)
    assert matches(snippet.text, out), f"{snippet.where}: `{snippet.argument}` printed:\n{out}"


def _synopsis(snippet: Snippet, _: Path) -> None:
    """Every `initgate COMMAND [ACTION] --option` of the block exists, with that spelling, in
    the command's own --help."""
    lines: list[str] = []
    for line in snippet.text.splitlines():  # an indented line continues the one before
        if line[:1].isspace() and lines:
            lines[-1] += line
        else:
            lines.append(line)
    for line in lines:
        words = line.split("#", 1)[0].replace("[", " ").replace("]", " ").replace("|", " ").split()
        assert words[:1] == ["initgate"], f"{snippet.where}: {line}"
        command = words[1:2]
        if words[1] in ACTIONS and len(words) > 2 and words[2] in ACTIONS[words[1]]:
            command = words[1:3]
        known = run.help_of(*command)
        for word in words[len(command) + 1 :]:
            if word.startswith("-"):
                option = word.split("=")[0]
                assert re.search(rf"(^|[\s,\[]){re.escape(option)}\b", known), (
                    f"{snippet.where}: {line}: `initgate {' '.join(command)}` has no {option}"
                )


ACTIONS = {"export": ("admission-policies",), "config": ("validate", "default")}
"""Commands whose actions have options of their own."""


CHECKS = {
    "example": _example,
    "config": _config,
    "defaults": _defaults,
    "values": _values,
    "manifest": _manifest,
    "commands": _commands,
    "console": _console,
    "output": _output,
    "synopsis": _synopsis,
}


def test_a_block_nobody_marked_is_found(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```text\nsomething\n```\n\n<!-- snippet: skip: why -->\n```text\nx\n```\n")
    kinds = [(s.kind, s.argument) for s in parse(page)]
    assert kinds == [("", ""), ("skip", "why")]


def test_output_matches_with_ellipses() -> None:
    assert matches('{"uid":"9a","status":{...}}\n', '{"uid":"9a","status":{"code":403}}\n')
    assert not matches('{"uid":"9a"}\n', '{"uid":"9b"}\n')
    assert not matches("one\n", "one\ntwo\n")


def test_every_policy_has_a_section_and_an_example() -> None:
    page = ROOT / "docs" / "policies.md"
    text = page.read_text()
    examples = [s for s in parse(page) if s.kind == "example"]
    assert len(examples) >= 6
    for policy in REGISTRY:
        assert f"## `{policy.id}`" in text, policy.id
