"""`initgate config default | validate FILE` (registered by `webhook.cli.main`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from webhook.audit.options import USAGE_ERROR
from webhook.core.config import ConfigError, parse_config
from webhook.core.configdoc import render_default
from webhook.core.configwarnings import config_warnings


def register(commands: Any) -> None:
    """Add the `config` sub-command to the `initgate` parser."""
    config = commands.add_parser("config", help="print or check a configuration")
    actions = config.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("default", help="print the built-in default as commented YAML")
    validate = actions.add_parser(
        "validate",
        help="check a configuration file",
        description="Exit status: 0 valid (warnings on standard error), 1 not valid, 2 a file "
        "that cannot be read.",
    )
    validate.add_argument("file")
    config.set_defaults(run=_config)


def _config(args: argparse.Namespace) -> int:
    if args.action == "default":
        sys.stdout.write(render_default())
        return 0
    try:
        text = Path(args.file).read_text(encoding="utf-8")
        config = parse_config(text, source=args.file)
    except OSError as error:
        print(f"{args.file}: cannot read: {error.strerror}", file=sys.stderr)
        return USAGE_ERROR
    except UnicodeDecodeError:
        print(f"{args.file}: cannot read: not UTF-8 text", file=sys.stderr)
        return USAGE_ERROR
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    warnings = config_warnings(config, text, source=args.file)
    for warning in warnings:
        print(warning, file=sys.stderr)
    noun = "warning" if len(warnings) == 1 else "warnings"
    print(f"{args.file}: valid" + (f", {len(warnings)} {noun}" if warnings else ""))
    return 0
