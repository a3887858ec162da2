"""`initgate ... --help`: every option of every command says its default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webhook.cli.main import main

COMMANDS = [
    [],
    ["serve"],
    ["review"],
    ["audit"],
    ["mutate"],
    ["config"],
    ["config", "default"],
    ["config", "validate"],
    ["export"],
    ["export", "admission-policies"],
    ["selfcheck"],
    ["version"],
]


def help_of(command: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def options(text: str) -> dict[str, str]:
    """Each option of a `--help` text (its first flag) with its help, lines joined."""
    found: dict[str, str] = {}
    section = text.split("options:\n", 1)[1]
    current = ""
    for line in section.splitlines():
        if re.match(r"^  -", line):
            current = line.split()[0].rstrip(",")
            found[current] = line
        elif line.startswith("   ") and current:
            found[current] += " " + line.strip()
        else:
            current = ""
    return found


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "initgate")
def test_every_option_says_its_default(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    found = options(help_of(command, capsys))
    silent = [
        name
        for name, text in found.items()
        if name != "-h" and "default" not in text and "(required)" not in text
    ]
    assert silent == []


def test_serve_documents_its_log_level(capsys: pytest.CaptureFixture[str]) -> None:
    found = options(help_of(["serve"], capsys))
    assert "level of the JSON log lines" in found["--log-level"]
    assert "(default: info)" in found["--log-level"]
    assert "(default: 9090)" in found["--metrics-port"]


def test_flags_and_required_options_say_so(capsys: pytest.CaptureFixture[str]) -> None:
    found = options(help_of(["audit"], capsys))
    assert found["--policy-reports"].endswith("(default: off)")
    assert "(default: table)" in found["-o"]
    assert "(required)" in options(help_of(["selfcheck"], capsys))["--url"]


def test_the_readme_lists_the_health_endpoints() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert "`GET /healthz`" in readme
    assert "`GET /readyz`" in readme
