"""`initgate export admission-policies`: the configuration as Kubernetes' own admission policies
(registered by `webhook.cli`): the objects as a YAML stream on standard output, what they do not
carry on standard error (docs/native-policies.md).

The routing flags are the chart's `webhooks` values, with the chart's defaults, so that the
policies bind the namespaces the chart's webhook configurations would send.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from policies.base import Mode
from webhook.audit.options import USAGE_ERROR
from webhook.cli.arguments import option

OLDEST, NEWEST = (1, 30), (1, 36)
"""What `webhook.native.export` generates for (not imported here: `initgate --help` would load
the CEL runtime)."""
_VERSION = re.compile(r"^v?1\.(\d+)(?:\.\d+)?$")


def _shown(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def register(commands: Any) -> None:
    """Add the `export` command to the `initgate` parser."""
    export = commands.add_parser("export", help="print what initgate generates for the cluster")
    what = export.add_subparsers(dest="what", required=True, metavar="WHAT")
    policies = what.add_parser(
        "admission-policies",
        help="ValidatingAdmissionPolicies and their bindings, for the API server to evaluate",
        description="Print the configuration's policies and rules as admissionregistration.k8s.io"
        "/v1 objects (a YAML stream on standard output); what they do not carry, and why, goes "
        "to standard error.",
    )
    option(
        policies, "--config", type=Path, help="configuration file (default: the built-in policy)"
    )
    option(
        policies,
        "--kubernetes-version",
        default=_shown(NEWEST),
        metavar="1.N",
        help=f"the API server's version, {_shown(OLDEST)} to {_shown(NEWEST)}: before 1.33 "
        "no two-variable "
        "comprehensions, before 1.36 no MutatingAdmissionPolicy",
    )
    option(
        policies,
        "--default-mode",
        default=Mode.AUDIT.value,
        choices=[m.value for m in Mode],
        help="mode of namespaces without an initgate.io/mode label, as the chart's "
        "webhooks.defaultMode says (default: %(default)s)",
    )
    option(
        policies,
        "--namespace",
        default="initgate",
        help="initgate's own namespace, never bound: the chart's release namespace",
    )
    option(
        policies,
        "--exclude-namespace",
        action="append",
        metavar="NAMESPACE",
        help="a namespace never bound, repeatable (the chart's webhooks.excludeNamespaces; "
        "default: none besides initgate's, kube-system and kube-node-lease)",
    )
    option(
        policies,
        "--namespace-selector-expression",
        action="append",
        metavar="EXPRESSION",
        help="one more namespaceSelector matchExpression every binding requires, as YAML, "
        "repeatable: '{key: initgate.io/native, operator: In, values: [\"true\"]}' (the "
        "chart's webhooks.namespaceSelectorExpressions; default: none)",
    )
    policies.set_defaults(run=_admission_policies)


def _admission_policies(args: argparse.Namespace) -> int:
    import yaml

    from webhook._version import __version__
    from webhook.core.config import ConfigError, load_config
    from webhook.native.bindings import Routing
    from webhook.native.export import Options, generate

    def refuse(message: str) -> int:
        print(f"initgate export: {message}", file=sys.stderr)
        return USAGE_ERROR

    found = _VERSION.match(args.kubernetes_version)
    version = (1, int(found[1])) if found else (0, 0)
    if not OLDEST <= version <= NEWEST:
        return refuse(
            f"--kubernetes-version {args.kubernetes_version}: expected {_shown(OLDEST)} to "
            f"{_shown(NEWEST)} (ValidatingAdmissionPolicy is GA from 1.30; newer versions are "
            "not known yet)"
        )
    expressions = []
    for text in args.namespace_selector_expression or ():
        expression, problem = _selector_expression(text)
        if problem:
            return refuse(f"--namespace-selector-expression {text!r}: {problem}")
        expressions.append(expression)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        return refuse("; ".join(str(error).splitlines()))
    routing = Routing(
        default_mode=Mode(args.default_mode),
        namespace=args.namespace,
        excluded=tuple(args.exclude_namespace or ()),
        extra_expressions=tuple(expressions),
    )
    made = generate(config, Options(kubernetes=version, routing=routing))
    source = args.config or "the built-in configuration"
    sys.stdout.write(
        f"# initgate {__version__} export admission-policies for Kubernetes {_shown(version)}, "
        f"from {source}\n"
    )
    sys.stdout.write(yaml.safe_dump_all(made.objects, sort_keys=False, explicit_start=True))
    for note in made.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _selector_expression(text: str) -> tuple[dict[str, Any], str]:
    """A label selector requirement read from YAML, or what is wrong with it."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as error:
        return {}, f"not YAML ({getattr(error, 'problem', None) or error})"
    expected = "expected {key, operator: In|NotIn|Exists|DoesNotExist, values}"
    if not isinstance(value, dict) or set(value) - {"key", "operator", "values"}:
        return {}, expected
    key, operator, values = value.get("key"), value.get("operator"), value.get("values")
    if not isinstance(key, str) or not key or operator not in _OPERATORS:
        return {}, expected
    listed = operator in ("In", "NotIn")
    if listed != isinstance(values, list) or (
        listed and (not values or not all(isinstance(v, str) for v in values))
    ):
        return {}, "In and NotIn take values (a list of strings), Exists and DoesNotExist none"
    return value, ""
