"""The command line of `initgate audit` and `initgate mutate` (registered by `webhook.cli`).

Only argparse here: each command imports what it runs when it runs, so `initgate version` pays
for nothing, and only `--cluster` loads the kubernetes client.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from policies.base import Mode
from webhook.audit.duration import parse_duration
from webhook.cli.arguments import option


def register(commands: Any) -> None:
    """Add the `audit` and `mutate` sub-commands to the `initgate` parser."""
    _audit_parser(commands)
    _mutate_parser(commands)


def _duration(value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _page_size(value: str) -> int:
    size = int(value)
    if size < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return size


def _audit(args: argparse.Namespace) -> int:
    from webhook.audit.commands import audit
    from webhook.audit.options import AuditOptions

    if bool(args.file) == args.cluster:
        args.parser.error("give either -f PATH (manifests) or --cluster")
    cluster_only = (
        "interval",
        "kubeconfig",
        "context",
        "policy_reports",
        "exclude_namespace",
        "webhook_configuration",
        "default_mode",
        "readiness",
    )
    if not args.cluster and any(getattr(args, name) for name in cluster_only):
        args.parser.error(
            "--interval, --kubeconfig, --context, --policy-reports, --exclude-namespace, "
            "--default-mode, --webhook-configuration and --readiness need --cluster"
        )
    if args.webhook_configuration and (args.default_mode or args.exclude_namespace):
        args.parser.error(
            "--webhook-configuration routes by the live configurations: "
            "--default-mode and --exclude-namespace do not apply"
        )
    if args.readiness and args.interval is not None:
        args.parser.error("--readiness is a single scan: --interval does not apply")
    if args.readiness and args.output == "sarif":
        args.parser.error("--readiness prints a table or JSON (-o json), not SARIF")
    if args.interval is not None and args.output != "table":
        args.parser.error("-o applies to a single audit, not to --interval")
    options = AuditOptions(
        files=tuple(args.file or ()),
        cluster=args.cluster,
        config=args.config,
        output=args.output,
        fail_on=args.fail_on,
        namespace=args.namespace,
        mode=Mode(args.mode),
        default_mode=Mode(args.default_mode or Mode.ENFORCE.value),
        exclude_namespaces=tuple(args.exclude_namespace or ()),
        webhook_configuration=args.webhook_configuration,
        kubeconfig=args.kubeconfig,
        context=args.context,
        page_size=args.page_size,
        interval=args.interval,
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        policy_reports=args.policy_reports,
        readiness=args.readiness,
        by_labels=bool(args.default_mode or args.exclude_namespace),
    )
    return audit(options)


def _mutate(args: argparse.Namespace) -> int:
    from webhook.audit.commands import mutate
    from webhook.audit.options import MutateOptions

    options = MutateOptions(
        files=tuple(args.file),
        config=args.config,
        namespace=args.namespace,
        mode=Mode(args.mode),
        templates=args.templates,
        show="diff" if args.diff else "patch" if args.patch else "manifests",
        in_place=args.in_place,
    )
    return mutate(options)


_MODES = [m.value for m in Mode if m is not Mode.OFF]


def _audit_parser(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="audit manifests (-f) or a cluster (--cluster) with the configured policies",
        description="Exit status: 0 nothing would be denied, 1 something would be (or warned, "
        "with --fail-on warn), 2 usage or input errors (findings are still printed).",
    )
    option(
        audit,
        "-f",
        "--filename",
        dest="file",
        action="append",
        metavar="PATH",
        help="YAML or JSON file, directory (recursive), or - for standard input; repeatable "
        "(no default: give -f or --cluster)",
    )
    option(audit, "--cluster", action="store_true", help="audit what runs in the cluster")
    option(audit, "--config", type=Path, help="configuration file (default: built-in)")
    option(
        audit,
        "-o",
        "--output",
        default="table",
        choices=["table", "json", "sarif"],
        help="output format",
    )
    option(
        audit,
        "--fail-on",
        default="deny",
        choices=["deny", "warn"],
        help="exit 1 when something would be denied (default), or also warned",
    )
    option(
        audit,
        "--namespace",
        help="manifests: namespace of objects without one (default: default); "
        "--cluster: audit only this namespace",
    )
    option(
        audit,
        "--mode",
        default="enforce",
        choices=_MODES,
        help="manifests: endpoint cap, as a namespace labelled initgate.io/mode would get",
    )
    option(
        audit,
        "--default-mode",
        choices=[m.value for m in Mode],
        help="--cluster: mode of namespaces without an initgate.io/mode label (default: enforce)",
    )
    option(
        audit,
        "--webhook-configuration",
        metavar="NAME",
        help="--cluster: route objects as the live Validating/MutatingWebhookConfiguration NAME "
        "does (selectors, rules, endpoint modes) instead of by labels and --default-mode "
        "(default: by labels; with --readiness, initgate)",
    )
    option(
        audit,
        "--exclude-namespace",
        action="append",
        metavar="NS",
        help="--cluster: a namespace the webhook configurations leave out (besides kube-system, "
        "kube-node-lease, initgate's own and those labelled initgate.io/ignore); repeatable "
        "(default: none)",
    )
    option(
        audit,
        "--kubeconfig",
        type=Path,
        help="default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account",
    )
    option(audit, "--context", help="kubeconfig context (default: the current one)")
    option(
        audit,
        "--page-size",
        type=_page_size,
        default=500,
        help="objects per list call (default: 500)",
    )
    option(
        audit,
        "--interval",
        type=_duration,
        help="keep auditing every DURATION (30s, 5m, 1h) (default: audit once)",
    )
    option(
        audit,
        "--metrics-host",
        default="0.0.0.0",  # noqa: S104 - scraped from outside the pod, as `serve` is
        help="with --interval (default: 0.0.0.0)",
    )
    option(audit, "--metrics-port", type=int, default=9090, help="with --interval: Prometheus port")
    option(
        audit,
        "--readiness",
        action="store_true",
        help="--cluster: per namespace, its mode now (from the live webhook configurations "
        "--webhook-configuration names, default initgate; or, given --default-mode or "
        "--exclude-namespace, from labels), what enforce would deny and patch, and the kubectl "
        "label command for each namespace that can move up with nothing denied; without "
        "initgate installed, what each mode would do",
    )
    option(
        audit,
        "--policy-reports",
        action="store_true",
        help="write wgpolicyk8s.io/v1alpha2 PolicyReports per namespace (when the CRD exists)",
    )
    audit.set_defaults(run=_audit, parser=audit)


def _mutate_parser(commands: Any) -> None:
    mutate = commands.add_parser(
        "mutate",
        help="print manifests with what the mutating webhook adds to them (and to workloads' pods)",
        description="Exit status: 0, or 2 when something could not be read (the rest is still "
        "printed). What was changed, and what was not judged, is summed up on standard error.",
    )
    option(
        mutate,
        "-f",
        "--filename",
        dest="file",
        action="append",
        required=True,
        metavar="PATH",
        help="YAML or JSON file, directory (recursive), or - for standard input; repeatable",
    )
    option(mutate, "--config", type=Path, help="configuration file (default: built-in)")
    option(mutate, "--namespace", default="default", help="namespace of objects without one")
    option(mutate, "--mode", default="enforce", choices=_MODES, help="endpoint cap")
    option(
        mutate,
        "--templates",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="apply to each workload's pod template what its pods would get (to commit it to "
        "Git); --no-templates: leave workloads as the webhook does, which only patches pods "
        "(default: on)",
    )
    shown = mutate.add_mutually_exclusive_group()
    option(
        shown,
        "--diff",
        action="store_true",
        help="print a unified diff of the files instead, for patch -p1 or git apply",
    )
    option(shown, "--patch", action="store_true", help="print each object's JSON Patch instead")
    option(
        shown,
        "--in-place",
        action="store_true",
        help="write the changes into the files instead (comments and layout kept)",
    )
    mutate.set_defaults(run=_mutate)
