"""`initgate test PATH...`: test files of expectations, checked through the engine (docs/test.md).

Exit status: 0 every expectation met, 1 one unmet, 2 a test file that cannot be run (each of its
problems a line on standard error, `FILE:LINE: what`), or a path that holds none.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from webhook.audit.options import USAGE_ERROR
from webhook.cli.arguments import option


def register(commands: Any) -> None:
    """Add the `test` sub-command to the `initgate` parser."""
    test = commands.add_parser(
        "test",
        help="check test files of expected results per object and policy or rule",
        description="Exit status: 0 every expectation met, 1 one unmet, 2 a test file that "
        "cannot be run (it is not run; the others are).",
    )
    option(
        test,
        "paths",
        nargs="+",
        metavar="PATH",
        help="a test file, or a directory searched recursively for files named "
        "initgate-test.yaml or *.initgate-test.yaml (.yml too) (no default)",
    )
    test.set_defaults(run=_test)


def _test(args: argparse.Namespace) -> int:
    return run(args.paths, out=sys.stdout, err=sys.stderr)


def run(paths: list[str], *, out: TextIO, err: TextIO) -> int:
    """Check every test file of `paths`; print what is unmet; return the exit status."""
    from webhook.audit.expectations import check
    from webhook.audit.testcases import read
    from webhook.audit.testfile import BrokenError, find

    files, problems = find(paths)
    for problem in problems:
        err.write(f"initgate test: {problem}\n")
    broken = expected = failed = 0
    for file in files:
        try:
            suite = read(file)
        except BrokenError as error:
            broken += 1
            err.writelines(f"initgate test: {problem}\n" for problem in error.problems)
            continue
        count, unmet = check(suite)
        expected += count
        failed += len(unmet)
        for entry in unmet:
            where = f"{file}:{entry.line}" if entry.line else str(file)
            out.write(f"{where}: {entry.what}\n")
            out.writelines(f"    {line}\n" for line in entry.why)
        verdict = f"{len(unmet)} of {count} unmet" if unmet else f"{count} met"
        out.write(f"{file}: {verdict}\n")
    noun = "test file" if len(files) == 1 else "test files"
    files_said = f"{len(files)} {noun}" + (f" ({broken} broken, not run)" if broken else "")
    out.write(
        f"initgate test: {files_said}; {expected} expectations: {expected - failed} met, "
        f"{failed} unmet\n"
    )
    if problems or broken:
        return USAGE_ERROR
    return 1 if failed else 0
