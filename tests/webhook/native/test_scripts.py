"""What the generated readonly-mounts reads of an init container's command (webhook.native.scripts)
against what the webhook reads (`readonly_mounts.prepares_only`): the same on the policy's own
table and on commands run without a shell, the differences listed with their reasons, and over
generated scripts, never a writer where the webhook sees a preparer (so a native policy leaves
writable, never makes read-only, a mount the webhook would leave writable)."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies.base import Container, Role
from policies.readonly_mounts import prepares_only
from webhook.core.cel.expression import Expression, compile_checked
from webhook.native import scripts
from webhook.native.compiling import NO_LIMIT


@functools.cache
def _compiled() -> Expression:
    text = (
        f"[{{'c': object}}].map(e, {{'words': dyn({scripts.words('e')})}})"
        ".map(c, {'words': c.words,"
        f" 'script': dyn(size(c.words) > 0 ? {scripts.script('c.words')} : '')}})"
        f".map(c, {scripts.prepares('c')})[0]"
    )
    return compile_checked(text, variables=frozenset({"object"}), results=None, budget=NO_LIMIT)


def natively(raw: dict[str, Any]) -> bool:
    return bool(_compiled().evaluate({"object": raw}))


def webhook(raw: dict[str, Any]) -> bool:
    return prepares_only(Container(Role.INIT, "initContainers", 0, "/x", raw, 0))


def sh(script: str, *shell: str) -> dict[str, Any]:
    return {"name": "i", "command": [*(shell or ("sh", "-c")), script]}


def run(*words: str) -> dict[str, Any]:
    return {"name": "i", "command": list(words)}


SAME = {
    "chown": sh("chown -R 1000:1000 /data"),
    "chown-no-shell": run("chown", "-R", "999:999", "/var/lib/db"),
    "set-mkdir-chown": sh("set -eux; mkdir -p /data/a /data/b; chown -R 1000 /data"),
    "fd-duplication": sh("chown -R 1000 /data 2>&1"),
    "errors-to-dev-null": sh("chown -R 1000 /data 2>/dev/null || true"),
    "if-then-fi": sh("if [ -d /data ]; then chown 1000 /data; fi"),
    "for-loop": sh("for d in cache logs; do mkdir -p /data/$d; done"),
    "find-exec-chown": sh("find /data -not -user 1000 -exec chown 1000:1000 {} +"),
    "install-d": sh("install -d -m 0750 -o 1000 /data/app"),
    "looks-only": sh("ls -l /work && id"),
    "redirect-writes": sh("echo ready > /data/ready"),
    "append-writes": sh("chown 1000 /data && echo ok >> /data/log"),
    "copy": sh("cp -r /seed/. /data"),
    "redirection-in-quotes": sh('chown 1000 /data && echo "owner set > /data for uid 1000"'),
    "heredoc": sh("cat <<'EOF' > /data/app.conf\nport = 80\nEOF"),
    "quoted-target": sh('echo "$CONFIG" > "/data/app.conf"'),
    "unpack": sh("tar xzf /seed.tgz -C /data"),
    "install-file-no-shell": run("install", "-m", "0644", "/src/a", "/data/a"),
    "entrypoint": {"name": "i", "image": "example.com/prepare:1"},
    "args-only": {"name": "i", "args": ["chown", "1000", "/data"]},
    "busybox": run("busybox", "sh", "-c", "mkdir -p /data"),
    "busybox-cp": run("busybox", "cp", "a", "/data"),
    "flags-before-c": run("/bin/bash", "-o", "pipefail", "-ec", "chown 1 /d"),
    "shell-without-c": run("sh", "/scripts/prepare.sh"),
    "comments": sh("# owner\nchown 1000 /data # for the app\n"),
    "keywords-and-assignments": sh("FOO=1 exec chown 1000 /data; ! test -d /x"),
    "substitution-writes-first": sh("cp $(cat /list) /data"),
    "substitution-prepares": sh("chown $(id -u) /data"),
    "program-quoted-by-shlex": run("my prog", "x"),
    "word-glued-to-redirection": sh("chown 1000 /data 2>/dev/null"),
}

DIFFERENT = {
    "find-delete": (
        sh("find /data -name '*.tmp' -delete"),
        "a regular expression cannot check every -exec and -delete of find: it prepares",
    ),
    "install-file-in-a-script": (
        sh("install -m 0644 /src/app.conf /data/app.conf"),
        "nor install's -d: in a script, install prepares",
    ),
    "heredoc-after-a-preparing-command": (
        sh("mkdir -p /data && cat <<EOF > /data/app.conf\nport = 80\nEOF"),
        "a here-document is not read: the first command decides, and mkdir prepares",
    ),
    "substitution-after-a-preparing-command": (
        sh("chown 1000 /data && echo $(date) > /data/stamp"),
        "a command substitution is not read: the first command decides",
    ),
    "backslash": (
        sh("chown 1000 /data \\\n && cp -r /seed /data"),
        "a backslash is not read: the first command decides",
    ),
    "c-flag-too-far": (
        run("bash", "-o", "pipefail", "-o", "errexit", "-c", "chown 1 /d"),
        "only the first four arguments of a shell are read for -c",
    ),
}


@pytest.mark.parametrize("raw", SAME.values(), ids=SAME.keys())
def test_the_same_judgement(raw: dict[str, Any]) -> None:
    assert natively(raw) is webhook(raw)


@pytest.mark.parametrize(("raw", "why"), DIFFERENT.values(), ids=DIFFERENT.keys())
def test_the_known_differences(raw: dict[str, Any], why: str) -> None:
    assert natively(raw) is not webhook(raw), why


_ATOMS = (
    *("chown -R 1000 /data", "mkdir -p /d", "echo hi", "echo 'a; b'", 'echo "x > y"'),
    *("cp a b", "wget -O /d/x http://e", "true", "[ -d /x ]", "FOO=1 chown x", "if", "then"),
    *("fi", "do", "for i in a b", "ls", "2>&1", ">/dev/null", "> /data/x", ">> /d/y"),
    *("# comment", "$(id -u)", "`date`", "cat <<EOF", "(cd /x)", "\\;", "exec chown 1"),
    *("find /x -delete", "install -m 1 a b", "! test x", "{", "}", "sleep 1", "2>/dev/null"),
)
_SEPARATORS = ("; ", " && ", " || ", "\n", " | ", " & ", " ", "")


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.sampled_from(_ATOMS), st.sampled_from(_SEPARATORS)), max_size=6),
    st.sampled_from((("sh", "-c"), ("/bin/sh", "-ec"), ("busybox", "sh", "-c"))),
)
def test_never_a_writer_where_the_webhook_sees_a_preparer(
    parts: list[tuple[str, str]], shell: tuple[str, ...]
) -> None:
    raw = sh("".join(a + s for a, s in parts), *shell)
    assert natively(raw) or not webhook(raw)
