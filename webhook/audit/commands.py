"""`initgate audit` and `initgate mutate`: options in, output and an exit status out.

The `kubernetes` client is imported only when a cluster is audited: offline audits in CI must not
pay for it (nor need a kubeconfig).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from policies.base import Mode
from webhook.audit import offline, readiness
from webhook.audit.manifests import load
from webhook.audit.options import (
    READINESS_CONFIGURATION,
    USAGE_ERROR,
    AuditOptions,
    MutateOptions,
)
from webhook.audit.readinessplan import Routing
from webhook.audit.report import Report, write_json, write_problems, write_table
from webhook.audit.sarif import to_sarif
from webhook.core.config import ConfigError, load_config
from webhook.core.plan import Plan, compile_plan


def _plan(config: Path | None, err: TextIO, command: str) -> Plan | None:
    try:
        return compile_plan(load_config(config))
    except ConfigError as error:
        err.write(f"initgate {command}: {error}\n")
        return None


def audit(options: AuditOptions, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Audit manifests or a cluster; print the report; return the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    if options.cluster and options.interval is not None:
        from webhook.audit.continuous import run  # noqa: PLC0415 - imports kubernetes

        return run(options)
    plan = _plan(options.config, err, "audit")
    if plan is None:
        return USAGE_ERROR
    routing = Routing(None, default=options.default_mode)
    if options.cluster:
        scanned = _scan_cluster(options, plan, err)
        if scanned is None:
            return USAGE_ERROR
        report, routing = scanned
    else:
        loaded = load(options.files, stdin=sys.stdin)
        report = offline.audit(
            loaded, plan, namespace=options.namespace or "default", cap=options.mode
        )
    write_problems(report.problems, err)
    if options.readiness:
        readiness.write(report, out, output=options.output, routing=routing, exempt=_exempt(plan))
        return 0
    emit(report, plan, options, out)
    return report.status(options.fail_on)


def _exempt(plan: Plan) -> Callable[[str], bool]:
    """Whether the configuration exempts a namespace (from every policy), now."""
    globs = plan.who.namespace
    now = time.time()
    return lambda name: globs is not None and globs.which(name, now) is not None


def _scan_cluster(options: AuditOptions, plan: Plan, err: TextIO) -> tuple[Report, Routing] | None:
    """One scan of the cluster, and where the namespaces' modes came from; None (the error
    written) when the cluster cannot be read."""
    from webhook.audit.cluster import (  # noqa: PLC0415 - imports kubernetes
        ClusterError,
        connect,
        installed_routes,
        scan,
        webhook_routes,
    )
    from webhook.audit.policyreports import PolicyReports  # noqa: PLC0415

    routing = Routing(None, default=options.default_mode)
    try:
        cluster = connect(options.kubeconfig, options.context, exclude=options.exclude_namespaces)
        try:
            webhooks = None
            if options.readiness and not options.by_labels:
                # What is installed decides each namespace's mode now; with nothing installed,
                # every namespace the chart would route is planned from off.
                name = options.webhook_configuration or READINESS_CONFIGURATION
                webhooks = installed_routes(cluster, name)
                routing = Routing(name, installed=webhooks is not None)
            elif options.webhook_configuration is not None:
                webhooks = webhook_routes(cluster, options.webhook_configuration)
            try:
                report = scan(
                    cluster,
                    plan,
                    namespace=options.namespace,
                    default_mode=options.default_mode,
                    page_size=options.page_size,
                    webhooks=webhooks,
                    judge_as=Mode.ENFORCE if options.readiness else None,
                )
            finally:
                # After the scan, failed or not: evaluating matchConditions adds notes.
                for note in webhooks.notes if webhooks is not None else []:
                    err.write(f"initgate audit: note: {note}\n")
            if options.policy_reports:
                reports = PolicyReports(cluster, page_size=options.page_size)
                if reports.write(report, plan) is None:
                    err.write("initgate audit: no PolicyReport API in this cluster: ")
                    err.write("reports not written (install the wgpolicyk8s.io CRDs)\n")
        finally:
            cluster.close()
    except ClusterError as error:
        err.write(f"initgate audit: {error}\n")
        return None
    return report, routing


def emit(report: Report, plan: Plan, options: AuditOptions, out: TextIO) -> None:
    if options.output == "json":
        write_json(report, out, fail_on=options.fail_on)
    elif options.output == "sarif":
        json.dump(to_sarif(report, plan), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        write_table(report, out)


def mutate(options: MutateOptions, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the manifests as the mutating webhook would leave them (or the diff, or patches, or
    write the changes into the files); what changed and what was not judged goes to `err`."""
    out, err = out or sys.stdout, err or sys.stderr
    plan = _plan(options.config, err, "mutate")
    if plan is None:
        return USAGE_ERROR
    if options.in_place and "-" in options.files:
        err.write("initgate mutate: --in-place writes files: standard input has none\n")
        return USAGE_ERROR
    loaded = load(options.files, stdin=sys.stdin)
    problems = [problem.display for problem in loaded.problems]
    mutated = offline.mutate(
        loaded, plan, namespace=options.namespace, cap=options.mode, templates=options.templates
    )
    for entry in mutated:
        if entry.unwritable and options.show != "patch":
            where = entry.document.source.display
            problems.append(
                f"{where}: the change cannot be written into the text: "
                f"{entry.unwritable}; see it with --patch"
            )
    if options.in_place:
        for name, (_, after) in offline.changed_files(mutated, loaded.texts).items():
            Path(name).write_text(after, encoding="utf-8")
            err.write(f"initgate mutate: wrote {name}\n")
    elif options.show == "diff":
        out.write(offline.diff(mutated, loaded.texts))
    elif options.show == "patch":
        json.dump(offline.patches(mutated), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(offline.render(mutated))
    for problem in problems:
        err.write(f"initgate mutate: {problem}\n")
    if any(entry.document.manifests for entry in mutated) or not problems:
        err.write(f"initgate mutate: {offline.summary(mutated)}\n")
    return USAGE_ERROR if problems else 0
