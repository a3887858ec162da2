"""The CEL reading of init containers' scripts (webhook/native/shellcode.py) against initgate's
own: the script `command_line` finds, and readonly-mounts' `prepares_only`, on every container
the policies' own tests and the realistic pods hold; where the approximation of the shell lexer
reads a script otherwise, the case says so and why (docs/native-policies.md)."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from policies.base import Container, Role, command_line
from policies.readonly_mounts import prepares_only
from policies.shell import MAX_LEXED
from tests.policies import pods as realistic
from tests.policies import test_init_lint, test_readonly_mounts
from webhook.core.cel.expression import Expression, compile_checked
from webhook.native import shellcode
from webhook.native.export import NO_LIMIT, POLICY_VARIABLES


@cache
def compiled(text: str) -> Expression:
    return compile_checked(
        text, variables=POLICY_VARIABLES, results=None, budget=NO_LIMIT, max_length=NO_LIMIT
    )


def parameters(test: Any) -> list[Any]:
    (mark,) = [m for m in test.pytestmark if m.name == "parametrize"]
    return list(mark.args[1])


def corpus() -> dict[str, dict[str, Any]]:
    """Every container: readonly-mounts' and init-lint's test scripts, the realistic pods',
    and the command lines `command_line` treats specially."""
    found = {p.id: p.values[0].raw for p in parameters(test_readonly_mounts.test_prepares_only)}
    for p in parameters(test_init_lint.test_scripts):
        found[f"lint-{p.id}"] = {"command": ["sh", "-c", p.values[0]]}
    for name, make in realistic.REALISTIC.items():
        spec = make()["spec"]
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            found[f"{name}-{container['name']}"] = container
    found.update(
        {
            "busybox-applet": {"command": ["busybox", "chown", "1000", "/data"]},
            "busybox-shell": {"command": ["/bin/busybox", "sh", "-ec", "mkdir -p /data/a"]},
            "shell-flag-last": {"command": ["sh", "-x", "-c"]},
            "shell-options-first": {"command": ["bash", "-eu", "-o", "pipefail", "-c", "ls /"]},
            "quoted-words": {"command": ["echo", "a > b", "it's", ""]},
            "args-only": {"args": ["--config", "/etc/app.yaml"]},
            "entrypoint": {"image": "example.com/prepare:1"},
        }
    )
    return found


CORPUS = corpus()


@pytest.mark.parametrize("raw", CORPUS.values(), ids=CORPUS.keys())
def test_the_script_as_command_line_finds_it(raw: dict[str, Any]) -> None:
    container = Container(Role.INIT, "initContainers", 0, "/spec/initContainers/0", raw, 0)
    expected = command_line(container) or ""
    assert compiled(shellcode.script("object")).evaluate({"object": raw}) == expected


def _shell(script: str) -> dict[str, Any]:
    return {"command": ["sh", "-c", script]}


LONG = "chown 1000 /data # ; cp /seed /data\n" + ": " + "x" * MAX_LEXED
KNOWN = {
    "heredoc-fed-to-a-builtin": (
        _shell(": <<'EOF'\ncp -r /seed/. /data/\nEOF\nchown 1000 /data"),
        False,
        "a here-document's body is read as commands: CEL cannot tell where it ends",
    ),
    "hash-after-a-quote": (
        _shell('echo "ready"#; cp -r /seed/. /data/'),
        True,
        "a `#` right after a quote starts a comment: the tokens do not know what precedes them",
    ),
    "escaped-redirection": (
        _shell("test 2 \\> 1 && chown 1000 /data"),
        True,
        "an escaped `>` is text (the webhook's pattern reads it as a redirection)",
    ),
    "longer-than-the-lexer-reads": (
        _shell(LONG),
        True,
        "the webhook reads a script over 8 KiB unlexed (comments included); CEL lexes them all",
    ),
}


@pytest.mark.parametrize("raw", CORPUS.values(), ids=CORPUS.keys())
def test_prepares_only_as_readonly_mounts_judges(raw: dict[str, Any]) -> None:
    container = Container(Role.INIT, "initContainers", 0, "/spec/initContainers/0", raw, 0)
    got = compiled(shellcode.prepares_only("object")).evaluate({"object": raw})
    assert got is prepares_only(container)


@pytest.mark.parametrize(("raw", "cel", "why"), KNOWN.values(), ids=KNOWN.keys())
def test_where_the_approximation_differs(raw: dict[str, Any], cel: bool, why: str) -> None:
    container = Container(Role.INIT, "initContainers", 0, "/spec/initContainers/0", raw, 0)
    assert prepares_only(container) is not cel, why
    assert compiled(shellcode.prepares_only("object")).evaluate({"object": raw}) is cel, why
