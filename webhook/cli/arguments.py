"""Options that say their default in `--help`: every option of every command goes through here."""

from __future__ import annotations

from typing import Any


def option(parser: Any, *flags: str, help: str, **kwargs: Any) -> None:
    """`parser.add_argument`, with "(default: ...)" added to a help text that does not already
    say what happens without the option. An option whose default is None must say it in words
    (`default: $KUBECONFIG, ...`): the tests read every `--help` and hold each option to that."""
    said = "default" in help.lower()
    if kwargs.get("required", False):
        help = f"{help} (required)"
    elif not said and kwargs.get("action") == "store_true":
        help = f"{help} (default: off)"
    elif not said and kwargs.get("default") is not None:
        help = f"{help} (default: %(default)s)"
    parser.add_argument(*flags, help=help, **kwargs)
