"""The generated admission policies on both sides: as the chart renders them for some values,
and as `initgate export` (webhook.native.export.generate) generates them for what those values say
(the configuration, and the routing of the webhook entries)."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from policies.base import Mode
from tests.chart.render import CHART, NAMESPACE, RELEASE, Rendered, merged, render_with
from webhook.core.config import Config
from webhook.native import mutating
from webhook.native.bindings import Routing
from webhook.native.export import Options, generate

NATIVE = frozenset(
    (
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
    )
)


def chart_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text())
    return values


def chart_native(config: dict[str, Any], webhooks: dict[str, Any], kubernetes: str) -> Rendered:
    """The chart with every generated policy the cluster offers: MutatingAdmissionPolicies
    (`nativePolicies.mutating`) from Kubernetes 1.36, as `initgate export` generates them."""
    switches = {"enabled": True, "mutating": kubernetes_version(kubernetes) >= mutating.MINIMUM}
    values = {"nativePolicies": switches, "config": config, "webhooks": webhooks}
    return render_with(values, "--kube-version", f"{kubernetes}.0")


def kubernetes_version(kubernetes: str) -> tuple[int, int]:
    major, minor = (int(part) for part in kubernetes.split("."))
    return major, minor


def exported(
    config: dict[str, Any], webhooks: dict[str, Any], kubernetes: str
) -> list[dict[str, Any]]:
    """`initgate export`'s objects for what the chart's values say."""
    values = chart_values()
    routes = merged(values["webhooks"], webhooks)
    routing = Routing(
        default_mode=Mode(routes["defaultMode"]),
        namespace=NAMESPACE,
        excluded=tuple(routes["excludeNamespaces"]),
        extra_expressions=tuple(routes["namespaceSelectorExpressions"]),
        object_selector=routes["objectSelector"],
        match_conditions=tuple(routes["matchConditions"]),
    )
    options = Options(kubernetes_version(kubernetes), routing, prefix=RELEASE)
    return generate(Config.model_validate(merged(values["config"], config)), options).objects


def native(rendered: Rendered) -> list[dict[str, Any]]:
    return [o for o in rendered.objects if o["kind"] in NATIVE]


def key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


def by_name(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`objects` in the order of their kinds and names (helm writes them by template file)."""
    return sorted(objects, key=key)


def unlabelled(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = copy.deepcopy(objects)
    for obj in found:
        del obj["metadata"]["labels"]
    return found
