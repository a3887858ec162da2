"""The code of shell scripts, as the script heuristics read it (`policies.shell.skeleton`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.shell import MAX_LEXED, MAX_NESTING, skeleton


@pytest.mark.parametrize(
    ("script", "code"),
    [
        pytest.param("until nc -z db 5432; do sleep 2; done", None, id="plain-code-unchanged"),
        pytest.param('grep "tail -f" /doc', "grep _ /doc", id="double-quoted-text"),
        pytest.param("grep 'tail -f' /doc", "grep _ /doc", id="single-quoted-text"),
        pytest.param('echo "a \\" b" > /x', "echo _ > /x", id="escaped-quote-inside"),
        pytest.param("echo it\\'s > /x", None, id="escaped-quote-outside"),
        pytest.param("echo 'never ends", "echo _", id="unterminated-quote"),
        # What double quotes hold that is code.
        pytest.param('i="$((i+1))"', "i=_$((i+1))", id="arithmetic-in-quotes"),
        pytest.param("[ \"$(curl -s 'http://a')\" = ok ]", "[ _$(curl -s _) = ok ]", id="subst"),
        pytest.param('n="`expr $n - 1`"', "n=_`expr $n - 1`", id="backquotes-in-quotes"),
        pytest.param("x=$(date); y=`id -u`", None, id="substitutions-outside-quotes"),
        # Nested shells: their script is code.
        pytest.param(
            "timeout 60 sh -c 'until nc db; do sleep 1; done'",
            "timeout 60 sh -c (until nc db; do sleep 1; done)",
            id="nested-single",
        ),
        pytest.param(
            'exec /bin/bash -eu -c "tail -f \\"$LOG\\""',
            "exec /bin/bash -eu -c (tail -f _)",
            id="nested-double-unescaped",
        ),
        pytest.param(
            "/usr/local/bin/bash -o pipefail -euc 'tail -f /x | grep ready'",
            "/usr/local/bin/bash -o pipefail -euc (tail -f /x | grep ready)",
            id="nested-with-options",
        ),
        pytest.param("su -c 'tail -f /x' app", "su -c _ app", id="not-a-shell"),
        pytest.param("ssh host -c 'tail -f /x'", "ssh host -c _", id="not-a-shell-either"),
        # Comments.
        pytest.param("# while true; do :; done\ncp a b", "\ncp a b", id="comment-line"),
        pytest.param("cp a b  # tail -f", "cp a b  ", id="trailing-comment"),
        pytest.param("echo a#b", None, id="hash-inside-a-word"),
        # Here-documents.
        pytest.param(
            "cat <<EOF > /cfg\nwhile true; do\nEOF\necho ok",
            "cat <<EOF > /cfg\necho ok",
            id="heredoc",
        ),
        pytest.param(
            "cat <<-'END' > /cfg\n\ttail -f x\n\tEND\nls",
            "cat <<END > /cfg\nls",
            id="heredoc-quoted-tabs",
        ),
        pytest.param(
            'cat <<<"x"\nwhile true; do sleep 1; done',
            "cat <<<_\nwhile true; do sleep 1; done",
            id="here-string-is-no-heredoc",
        ),
    ],
)
def test_skeleton(script: str, code: str | None) -> None:
    assert skeleton(script) == (script if code is None else code)


@given(st.text(alphabet=st.sampled_from(list("ab $()`'\"\\#<-\n\t;|&{}EOF")), max_size=80))
def test_any_text_is_read_without_error(script: str) -> None:
    code = skeleton(script)
    assert isinstance(code, str)
    assert skeleton(code) is not None  # a skeleton is a script too


@pytest.mark.parametrize("opening", ['"$(', '"$(('])
def test_deep_nesting_reads_as_data(opening: str) -> None:
    """Substitutions in double quotes in substitutions...: each level is a recursion of the lexer.
    Past `MAX_NESTING` levels the rest is data, so no script exhausts the stack."""
    closing = ")" * opening.count("(") + '"'
    deep = opening * 800 + "tail -f /x" + closing * 800
    assert len(deep) <= MAX_LEXED
    assert "tail -f" not in skeleton(deep)
    shallow = opening * (MAX_NESTING // 2) + "tail -f /x" + closing * (MAX_NESTING // 2)
    assert "tail -f" in skeleton(shallow)


def test_a_script_too_long_to_lex_is_read_as_it_is() -> None:
    script = "echo 'tail -f' # " + "x" * MAX_LEXED
    assert skeleton(script) == script
