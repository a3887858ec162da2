"""The `initgate` command: serve, review, audit, mutate, test, config, selfcheck, version.

Exit status: 0 success (or admitted), 1 denied (or check failed), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from policies.base import Mode
from webhook._version import __version__
from webhook.audit.options import USAGE_ERROR
from webhook.cli import auditing as audit_commands
from webhook.cli import configuring as config_commands
from webhook.cli import exporting, verifying
from webhook.cli.arguments import option
from webhook.core.config import ConfigError
from webhook.server.connections import HEAD_TIMEOUT
from webhook.server.endpoint import MAX_BODY_BYTES
from webhook.server.settings import MAX_CONNECTIONS, ServerSettings


def _serve(args: argparse.Namespace) -> int:
    from webhook.server.lifecycle import StartError, run
    from webhook.server.tls import CertificateError

    try:
        settings = ServerSettings(
            host=args.host,
            port=args.port,
            metrics_host=args.metrics_host or args.host,
            metrics_port=args.metrics_port,
            config_path=args.config,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            client_ca=args.client_ca,
            state_dir=args.state_dir,
            shutdown_delay=args.shutdown_delay,
            max_body_bytes=args.max_body_bytes,
            read_timeout=args.read_timeout,
            head_timeout=args.head_timeout,
            max_connections=args.max_connections,
            reload_interval=args.reload_interval,
            log_level=args.log_level,
        )
        return run(settings)
    except (ConfigError, CertificateError, StartError, ValueError) as error:
        print(f"initgate: cannot start: {error}", file=sys.stderr)
        return USAGE_ERROR


def _review(args: argparse.Namespace) -> int:
    from webhook.cli.reviewing import review

    return review(
        args.file,
        config=args.config,
        mode=Mode(args.mode),
        namespace=args.namespace,
        output=args.output,
    )


def _selfcheck(args: argparse.Namespace) -> int:
    from webhook.cli.selfcheck import SelfCheckError, check

    try:
        print(check(args.url, ca=args.ca, client_cert=args.client_cert, client_key=args.client_key))
    except SelfCheckError as error:
        print(f"initgate selfcheck: FAILED: {error}", file=sys.stderr)
        return error.status
    return 0


def _version(_: argparse.Namespace) -> int:
    print(f"initgate {__version__}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The command-line parser (also used by the docs and the tests)."""
    top = argparse.ArgumentParser(
        prog="initgate", description="Admission webhook that guards init containers."
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the webhook over HTTPS")
    serve.add_argument("--host", default="0.0.0.0", help="address to listen on (default: 0.0.0.0)")  # noqa: S104
    serve.add_argument("--port", type=int, default=8443, help="HTTPS port (default: 8443)")
    serve.add_argument("--metrics-host", default=None, help="metrics address (default: --host)")
    serve.add_argument(
        "--metrics-port",
        type=int,
        default=9090,
        help="plain-HTTP metrics port; 0: off (default: 9090)",
    )
    serve.add_argument(
        "--config",
        type=Path,
        help="configuration file, reloaded on change (default: the built-in policy)",
    )
    serve.add_argument(
        "--tls-cert",
        type=Path,
        help="certificate chain (PEM), reloaded on change "
        "(default: a development certificate in --state-dir)",
    )
    serve.add_argument(
        "--tls-key",
        type=Path,
        help="private key (PEM), reloaded on change (default: the development certificate's)",
    )
    serve.add_argument(
        "--client-ca",
        type=Path,
        help="require client certificates signed by this CA (default: none required)",
    )
    serve.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".state"),
        help="where a development certificate is created when none is given (default: .state)",
    )
    serve.add_argument(
        "--shutdown-delay",
        type=float,
        default=3.0,
        help="seconds to drain after SIGTERM (default: 3)",
    )
    serve.add_argument(
        "--reload-interval",
        type=float,
        default=2.0,
        help="seconds between file checks (default: 2)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=MAX_BODY_BYTES,
        help=f"larger request bodies get 413 (default: {MAX_BODY_BYTES}, 7 MiB)",
    )
    serve.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send a request body whole, else 408 (default: 10)",
    )
    serve.add_argument(
        "--head-timeout",
        type=float,
        default=HEAD_TIMEOUT,
        help="seconds a connection has to send a whole request head, else it is closed "
        f"(default: {HEAD_TIMEOUT:g})",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=MAX_CONNECTIONS,
        help="open connections beyond this many close the one waiting longest for its client "
        f"(default: {MAX_CONNECTIONS})",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="least severe level of the JSON log lines on standard error (default: info)",
    )
    serve.set_defaults(run=_serve)

    review_cmd = commands.add_parser(
        "review",
        help="evaluate a manifest or an AdmissionReview offline (mutate, then validate)",
        description="Exit status: 0 admitted, 1 denied, 2 usage or input errors.",
    )
    review_cmd.add_argument("file", help="JSON or YAML file, or - for standard input")
    option(review_cmd, "--config", type=Path, help="configuration file (default: built-in)")
    option(
        review_cmd,
        "--mode",
        default="enforce",
        choices=[m.value for m in Mode if m is not Mode.OFF],
        help="endpoint cap, as a namespace labelled initgate.io/mode would get",
    )
    option(review_cmd, "--namespace", default="default", help="namespace of a plain manifest")
    option(
        review_cmd,
        "-o",
        "--output",
        choices=["text", "json"],
        help="text: a readable verdict per object; json: the mutating and the validating "
        "webhook's AdmissionReview answers (default: text, json for an AdmissionReview)",
    )
    review_cmd.set_defaults(run=_review)

    audit_commands.register(commands)
    verifying.register(commands)
    exporting.register(commands)

    config_commands.register(commands)

    selfcheck = commands.add_parser("selfcheck", help="one AdmissionReview round trip over TLS")
    option(
        selfcheck, "--url", required=True, help="e.g. https://initgate.initgate.svc:443/validate"
    )
    option(
        selfcheck,
        "--ca",
        type=Path,
        help="CA bundle that must verify the server (default: the system's trusted CAs)",
    )
    option(
        selfcheck,
        "--client-cert",
        type=Path,
        help="client certificate for mutual TLS (default: none)",
    )
    option(selfcheck, "--client-key", type=Path, help="client key for mutual TLS (default: none)")
    selfcheck.set_defaults(run=_selfcheck)

    version = commands.add_parser("version", help="print the version")
    version.set_defaults(run=_version)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except BrokenPipeError:
        # `initgate audit ... | head`: the reader has all it wanted. Point stdout at /dev/null so
        # that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OSError, UnicodeDecodeError) as error:
        # What a command did not foresee of its files and sockets is still one line, not a
        # traceback: the environment, not initgate, is what needs fixing.
        print(f"initgate {args.command}: {_cause(error)}", file=sys.stderr)
        return USAGE_ERROR
    return status


def _cause(error: OSError | UnicodeDecodeError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"not UTF-8 text ({error.reason})"
    if error.errno == errno.EADDRINUSE:
        return (
            "address already in use: another process listens on a port given (--port, "
            "--metrics-port: 9090 is also Prometheus's default); choose a free one"
        )
    where = f"{error.filename}: " if error.filename else ""
    return f"{where}{error.strerror or error}"


if __name__ == "__main__":
    sys.exit(main())
