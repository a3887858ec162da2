"""What initgate reads in an init container's shell script, as CEL for the generated admission
policies: the script itself (`policies.base.command_line`), whether it only prepares its volumes
(`policies.readonly_mounts.prepares_only`) and its code as init-lint's patterns read it
(`policies.shell.skeleton`, then init-lint's printing rule).

CEL has no lexer and no regex replacement, so the skeleton is approximated: the script is cut
into tokens by one `findAll` (quoted strings, escapes, comments, redirections, separators,
words), each token is replaced as the lexer would replace it, and the tokens are joined again.
What this does not see the lexer's way (here-document bodies, `#` inside a word after a quote,
substitutions inside double quotes beyond `$(...)` and backquotes, scripts over 8 KiB, which the
webhook reads unlexed) is listed in docs/native-policies.md and held there by
tests/webhook/native/test_shellcode.py.
"""

from __future__ import annotations

from webhook.native.binding import let, let_bool
from webhook.native.literals import literal

SHELLS = ("sh", "bash", "ash", "dash", "zsh", "ksh")

_SINGLE = r"'[^']*'?"
_DOUBLE = r'"(?:[^"\\]|\\[\s\S])*"?'
_ESCAPE = r"\\[\s\S]"
_COMMENT = r"#[^\n]*"
_WORD = r"""[^'"\\#\s;&|<>()][^'"\\\s;&|<>()]*"""
_SEPARATOR = r"&&|\|\||[;\n|&]"
_DUPLICATE = r"[0-9]*[<>]&(?:[0-9]+|-)"
_REDIRECT = rf"""[0-9]*>>?\|?[ \t]*(?:{_SINGLE}|{_DOUBLE}|[^\s;&|<>()'"]+)"""
_PREPARING_TOKENS = "|".join(
    (_SINGLE, _DOUBLE, _ESCAPE, _COMMENT, _DUPLICATE, _REDIRECT, _SEPARATOR, _WORD, r"[\s\S]")
)
"""Tokens as readonly-mounts reads a script: redirections (with their target) and duplications
of file descriptors are tokens of their own."""
_PRINT = (
    rf"""(?:[^'"\\#\s;&|<>()]*/)?(?:echo|printf)\b(?:[^;&|\n'"\\]|{_SINGLE}|{_DOUBLE}|{_ESCAPE})*"""
)
_NESTED = (
    r"""(?:[^'"\\#\s;&|<>()]*/)?(?:ba|da|z|k|a)?sh\s+"""
    r"""(?:-[^\s'"]+\s+(?:[^-\s'"][^\s'"]*\s+)?)*-[a-zA-Z]*c\s+"""
    rf"(?:{_SINGLE}|{_DOUBLE})"
)
_LINT_TOKENS = "|".join(
    (_PRINT, _NESTED, _SINGLE, _DOUBLE, _ESCAPE, _COMMENT, _SEPARATOR, _WORD, r"[\s\S]")
)
"""Tokens as init-lint reads a script: what `echo` and `printf` print is one token (prose, not
code), and the quoted script of a nested shell (`sh -c '...'`) is one token (code)."""
_SUBSTITUTION = r"\$\((?:[^()\"]|\([^()\"]*\))*\)|`[^`\"]*`"


def words(container: str) -> str:
    """CEL: the container's command and arguments, one list (each mapped as it is: two dynamic
    values joined by `+` could be strings, and the cost estimate would not know their size)."""
    return f"({container}.?command.orValue([]).map(x, x) + {container}.?args.orValue([]).map(x, x))"


def _basename(word: str) -> str:
    return f"{word}.find('[^/]*$')"


def _flag(word: str) -> str:
    """CEL: whether `word` is a shell's `-c` (or `-ec`, `-euxc`...)."""
    return (
        f"({word}.startsWith('-') && !{word}.startsWith('--') && {word}.substring(1).contains('c'))"
    )


def _quoted(word: str) -> str:
    """CEL: `word` as `shlex.quote` writes it."""
    return (
        f"({word} == '' ? \"''\" : {word}.matches('^[-\\\\w@%+=:,./]+$') ? {word}"
        f' : "\'" + {word}.replace("\'", "\'\\"\'\\"\'") + "\'")'
    )


def script(container: str) -> str:
    """CEL: the script `container` runs (`sh -c SCRIPT`), else its command line as `shlex.join`
    writes it ('' when it runs the image's own entrypoint), as `command_line` reads it; a
    leading `busybox` is the multi-call binary, not the program."""
    flag = "argv.indexOf(argv.filter(x, " + _flag("x") + ")[0])"
    shell = (
        f"{_basename('argv[program]')} in {literal(list(SHELLS))}"
        f" && argv.exists(x, {_flag('x')}) && {flag} < argv.size() - 1"
    )
    joined = f"argv.map(x, {_quoted('x')}).join(' ')"
    line = f"(program == 1 ? {joined}.substring({_quoted('argv[0]')}.size() + 1) : {joined})"
    program = f"argv.size() > 1 && {_basename('argv[0]')} == 'busybox' ? 1 : 0"
    body = "argv.size() == 0 ? '' : " + let(
        "program", program, f"{shell} ? argv[{flag} + 1] : {line}"
    )
    return let("argv", words(container), body)


_LEAD = (
    r"^\s*(?:(?:if|then|else|elif|while|until|do|!|\{|exec|[A-Za-z_][A-Za-z0-9_]*=\S*)"
    r"(?:\s+|$))*"
)
_HARMLESS = (
    r"chown|chmod|chgrp|setfacl|mkdir|umask|cd|set|true|exit|:|echo|printf|ls|id|whoami|stat"
    r"|test|\["
)
_HARMLESS_STEP = (
    rf"{_LEAD}(?:$|(?:fi|done|esac|\}}|\]|for|case)(?:\s|$)|(?:\S*/)?(?:{_HARMLESS})(?:\s|$)"
    r"|(?:\S*/)?install\s(?:.*\s)?-d(?:\s|$))"
)
_FIND = rf"{_LEAD}(?:\S*/)?find(?:\s|$)"
_FIND_WRITES = r"\s-(?:delete(?:\s|$)|fprint|fls)"
_EXEC = r"(?:^|\s)-exec(?:dir)?\s+\S+"
_EXEC_HARMLESS = rf"\s(?:\S*/)?(?:{_HARMLESS}|find)$"
_HARMLESS_TARGET = r"^[0-9]*>>?\|?[ \t]*/dev/(?:null|stdout|stderr)$"


def _harmless_step(step: str) -> str:
    """CEL: whether one simple command writes no file content (`readonly_mounts._harmless`)."""
    find = (
        f"({step}.matches({literal(_FIND)}) && !{step}.matches({literal(_FIND_WRITES)})"
        f" && {step}.findAll({literal(_EXEC)}).all(x, x.matches({literal(_EXEC_HARMLESS)})))"
    )
    return f"({step}.matches({literal(_HARMLESS_STEP)}) || {find})"


def _preparing_token(token: str) -> str:
    """CEL: a token as the lexer and readonly-mounts leave it: quoted text `_`, no comment,
    redirections and duplications a space, separators `;`."""
    return (
        f"({token}.startsWith(\"'\") || {token}.startsWith('\"') ? '_'"
        f" : {token}.startsWith('#') ? ''"
        f" : {token}.matches('^[0-9]*(?:[<>]&|>)') ? ' '"
        f" : {token}.matches({literal('^(?:' + _SEPARATOR + ')$')}) ? ';' : {token})"
    )


def prepares_only(container: str) -> str:
    """CEL: whether the container writes no file: its script only creates directories, changes
    owners and modes, and prints or checks things on the way (approximated: module docstring)."""
    redirects = "tokens.filter(x, x.matches('^[0-9]*>') && !x.matches('^[0-9]*>&'))"
    steps = f"tokens.map(x, {_preparing_token('x')}).join('').split(';')"
    body = (
        f"{redirects}.all(x, x.matches({literal(_HARMLESS_TARGET)}))"
        f" && {steps}.all(step, {_harmless_step('step')})"
    )
    tokens = let_bool("tokens", f"script.findAll({literal(_PREPARING_TOKENS)})", body)
    return let_bool("script", script(container), f"script != '' && {tokens}")


def code(container: str) -> str:
    """CEL: the script's code as init-lint's patterns read it ('' when there is no script):
    quoted text `_` (keeping `$(...)` and backquotes of double quotes), no comments, what
    `echo` and `printf` print dropped, a nested shell's quoted script in parentheses."""
    quote = "x.find('^[^\\'\"]*').size()"
    inner = "x.substring(q + 1)"
    nested = let(
        "q",
        quote,
        f"'(' + ({inner}.endsWith(x.substring(q, q + 1))"
        f" ? {inner}.substring(0, {inner}.size() - 1) : {inner}) + ')'",
    )
    token = (
        f"x.matches({literal('^' + _PRINT + '$')}) ? 'echo'"
        f" : x.matches({literal('^' + _NESTED + '$')}) ? {nested}"
        f" : x.startsWith(\"'\") ? '_'"
        f" : x.startsWith('\"') ? '_' + x.findAll({literal(_SUBSTITUTION)}).join('')"
        f" : x.startsWith('#') ? '' : x"
    )
    tokens = f"script.findAll({literal(_LINT_TOKENS)})"
    return let("script", script(container), f"{tokens}.map(x, {token}).join('')")
