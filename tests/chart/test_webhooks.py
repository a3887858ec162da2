"""The rendered webhook configurations: which namespace reaches which endpoint, and how."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.routing import Route

from tests.chart.fakeapi import FakeAPI, serve
from tests.chart.render import CHART, NAMESPACE, RELEASE, Rendered, render, render_values, run_helm
from tests.e2e.cluster import kubectl_binary, registered
from webhook.core.objects import TEMPLATES
from webhook.server.app import create_app
from webhook.server.settings import ServerSettings

pytestmark = pytest.mark.chart

CONFIGURATIONS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
ADMISSION = "admissionregistration.k8s.io/v1"
MODES = ("enforce", "warn", "audit")


def ci(name: str) -> Rendered:
    return render_values(CHART / "ci" / f"{name}-values.yaml")


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector, evaluated as the API server does."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for requirement in selector.get("matchExpressions", []):
        key, operator, values = (
            requirement["key"],
            requirement["operator"],
            requirement.get("values"),
        )
        present = key in labels
        matched = {
            "In": present and labels.get(key) in (values or []),
            "NotIn": not present or labels.get(key) not in (values or []),
            "Exists": present,
            "DoesNotExist": not present,
        }[operator]
        if not matched:
            return False
    return True


def routed(configuration: dict[str, Any], name: str, labels: dict[str, str]) -> list[str]:
    """Paths of the entries that a namespace `name` with `labels` is sent to."""
    labels = {**labels, "kubernetes.io/metadata.name": name}
    return [
        entry["clientConfig"]["service"]["path"]
        for entry in configuration["webhooks"]
        if selects(entry["namespaceSelector"], labels)
    ]


MODE = "initgate.io/mode"
# (namespace, labels, mode it must be routed to or None) for the default values (audit default).
ROUTES = [
    ("team", {}, "audit"),
    ("team", {MODE: "enforce"}, "enforce"),
    ("team", {MODE: "warn"}, "warn"),
    ("team", {MODE: "audit"}, "audit"),
    ("team", {MODE: "off"}, None),
    ("team", {MODE: "enforced"}, "audit"),
    ("team", {MODE: "enforce", "initgate.io/ignore": ""}, None),
    ("team", {"initgate.io/ignore": "true"}, None),
    ("kube-system", {MODE: "enforce"}, None),
    ("kube-node-lease", {}, None),
    (NAMESPACE, {MODE: "enforce"}, None),
    ("kube-public", {}, "audit"),
]


@pytest.mark.parametrize("kind", CONFIGURATIONS)
@pytest.mark.parametrize(("namespace", "labels", "mode"), ROUTES)
def test_default_routing(
    kind: str, namespace: str, labels: dict[str, str], mode: str | None
) -> None:
    configuration = render().one(kind)
    prefix = "/validate" if kind.startswith("Validating") else "/mutate"
    expected = [f"{prefix}/{mode}"] if mode else []
    assert routed(configuration, namespace, labels) == expected


@pytest.mark.parametrize(
    ("values", "namespace", "labels", "mode"),
    [
        ("ha-off", "team", {}, None),
        ("ha-off", "team", {MODE: "enforce"}, "enforce"),
        ("ha-off", "team", {MODE: "bogus"}, None),
        ("full", "team", {}, "warn"),
        ("full", "team", {MODE: "audit"}, "audit"),
        ("full", "monitoring", {MODE: "enforce"}, None),
        ("full", "cert-manager", {}, None),
        ("full", "team", {MODE: "enforce", "example.com/tier": "system"}, None),
        ("full", "team", {MODE: "enforce", "example.com/tier": "apps"}, "enforce"),
    ],
)
def test_routing_from_values(
    values: str, namespace: str, labels: dict[str, str], mode: str | None
) -> None:
    configuration = ci(values).one("ValidatingWebhookConfiguration")
    assert routed(configuration, namespace, labels) == ([f"/validate/{mode}"] if mode else [])


@pytest.mark.parametrize("values", ["helm", "full", "ha-off"])
def test_entries(values: str) -> None:
    rendered = ci(values)
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    overrides = yaml.safe_load((CHART / "ci" / f"{values}-values.yaml").read_text())
    timeout = overrides.get("webhooks", {}).get("timeoutSeconds", 3)
    assert chart_values["webhooks"]["timeoutSeconds"] == 3
    service = rendered.one("Service", RELEASE)
    https = next(p for p in service["spec"]["ports"] if p["name"] == "https")
    for configuration in (rendered.one(kind) for kind in CONFIGURATIONS if rendered.of(kind)):
        entries = configuration["webhooks"]
        assert [e["name"] for e in entries] == [
            f"{m}.{'mutate' if configuration['kind'].startswith('M') else 'validate'}.initgate.io"
            for m in MODES
        ]
        for mode, entry in zip(MODES, entries, strict=True):
            assert entry["admissionReviewVersions"] == ["v1"]
            assert entry["sideEffects"] == "None"
            assert entry["timeoutSeconds"] == timeout
            assert entry["failurePolicy"] == ("Fail" if mode == "enforce" else "Ignore")
            assert entry["matchPolicy"] == "Equivalent"
            assert entry.get("reinvocationPolicy") == (
                "IfNeeded" if configuration["kind"].startswith("Mutating") else None
            )
            target = entry["clientConfig"]["service"]
            assert (target["name"], target["namespace"]) == (service["metadata"]["name"], NAMESPACE)
            assert target["port"] == https["port"] == 443
            assert target["path"].endswith(f"/{mode}")


def test_knobs_pass_through() -> None:
    full = yaml.safe_load((CHART / "ci" / "full-values.yaml").read_text())["webhooks"]
    for entry in ci("full").one("MutatingWebhookConfiguration")["webhooks"]:
        assert entry["matchConditions"] == full["matchConditions"]
        assert entry["objectSelector"] == full["objectSelector"]
    failure = render("--set", "webhooks.failurePolicy.warn=Fail")
    entries = failure.one("ValidatingWebhookConfiguration")["webhooks"]
    assert [e["failurePolicy"] for e in entries] == ["Fail", "Fail", "Ignore"]
    assert not render("--set", "webhooks.validating.enabled=false").of(CONFIGURATIONS[0])


def _resources(entry: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    """(group, resource) -> operations, from an entry's rules."""
    found: dict[tuple[str, str], set[str]] = {}
    for rule in entry["rules"]:
        assert rule["scope"] == "Namespaced"
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                found.setdefault((group, resource), set()).update(rule["operations"])
    return found


def test_rules_cover_what_the_engine_judges() -> None:
    """Validation: every kind of webhook.core.objects.TEMPLATES (Pods on CREATE, workloads on CREATE
    and UPDATE) and ephemeral containers; mutation: Pods and ephemeral containers only."""
    validating = render().one("ValidatingWebhookConfiguration")["webhooks"][0]
    expected = {("", "pods/ephemeralcontainers"): {"UPDATE"}}
    for group, version, kind in TEMPLATES:
        assert version == "v1"
        operations = {"CREATE"} if kind == "Pod" else {"CREATE", "UPDATE"}
        expected[(group, f"{kind.lower()}s")] = operations
    assert _resources(validating) == expected
    mutating = render().one("MutatingWebhookConfiguration")["webhooks"][0]
    assert _resources(mutating) == {
        ("", "pods"): {"CREATE"},
        ("", "pods/ephemeralcontainers"): {"UPDATE"},
    }


def test_paths_exist_in_the_app() -> None:
    app = create_app(ServerSettings())
    routes = {
        r.path for r in app.router.routes if isinstance(r, Route) and "POST" in (r.methods or ())
    }
    for kind in CONFIGURATIONS:
        for entry in render().one(kind)["webhooks"]:
            assert entry["clientConfig"]["service"]["path"] in routes


def _ca_bundles(rendered: Rendered) -> set[str]:
    return {
        entry["clientConfig"].get("caBundle", "")
        for kind in CONFIGURATIONS
        for entry in rendered.one(kind)["webhooks"]
    }


def test_ca_in_helm_mode() -> None:
    rendered = ci("helm")
    secret = rendered.one("Secret")
    assert _ca_bundles(rendered) == {secret["data"]["ca.crt"]}
    for kind in CONFIGURATIONS:
        assert "annotations" not in rendered.one(kind)["metadata"]


def test_ca_in_cert_manager_mode() -> None:
    rendered = ci("certmanager")
    serving = rendered.one("Certificate", f"{RELEASE}-tls")
    for kind in CONFIGURATIONS:
        annotations = rendered.one(kind)["metadata"]["annotations"]
        assert annotations == {"cert-manager.io/inject-ca-from": f"{NAMESPACE}/{RELEASE}-tls"}
    assert serving["spec"]["secretName"] == f"{RELEASE}-tls"
    assert _ca_bundles(rendered) == {""}


def test_ca_in_secret_mode() -> None:
    rendered = ci("secret")
    given = yaml.safe_load((CHART / "ci" / "secret-values.yaml").read_text())["certs"]["secret"]
    (bundle,) = _ca_bundles(rendered)
    assert base64.b64decode(bundle).decode().strip() == given["caBundle"].strip()
    already_encoded = base64.b64encode(given["caBundle"].encode()).decode()
    again = render(
        "-f",
        str(CHART / "ci" / "secret-values.yaml"),
        "--set",
        f"certs.secret.caBundle={already_encoded}",
    )
    assert _ca_bundles(again) == {already_encoded}


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("certs.secret.caBundle=", "certs.secret.caBundle: give the CA"),
        ("certs.secret.name=", "certs.secret.name: name the existing"),
    ],
)
def test_secret_mode_requires_its_values(setting: str, message: str) -> None:
    values = str(CHART / "ci" / "secret-values.yaml")
    result = run_helm("template", "t", str(CHART), "-f", values, "--set", setting, check=False)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("values", "default"), [("helm", "audit"), ("full", "warn"), ("ha-off", "off")]
)
def test_e2e_suite_recognises_the_installed_webhooks(
    values: str, default: str, tmp_path: Path
) -> None:
    """tests/e2e finds the release namespace, default mode and configuration name from what the
    chart registers (read through kubectl from a fake API server serving the rendered
    configuration)."""
    configuration = ci(values).one("ValidatingWebhookConfiguration")
    listing = {"apiVersion": "v1", "kind": "List", "items": [configuration], "metadata": {}}
    api = FakeAPI({}, {f"/apis/{ADMISSION}/validatingwebhookconfigurations": listing})
    kubectl = kubectl_binary()
    assert kubectl is not None
    with serve(api, tmp_path) as kubeconfig:
        found = registered(kubectl, kubeconfig=str(kubeconfig))
    assert found == (NAMESPACE, default, configuration["metadata"]["name"])
