"""Every object of every ci/*-values.yaml rendering: valid for Kubernetes 1.30 and 1.36, well named."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.render import CI_VALUES, CRD_KINDS, RELEASE, render, render_values
from tests.support.kube import VERSIONS, validate

pytestmark = pytest.mark.chart

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
# Kinds whose name becomes a DNS label (Service) or is limited to 63 characters by convention.
LABEL_NAMED = frozenset(("Service", "Deployment"))
VALUES = pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)


@VALUES
@pytest.mark.parametrize("version", VERSIONS)
def test_builtin_objects_are_valid(values: Path, version: str) -> None:
    rendered = render_values(values)
    builtin = [o for o in rendered.objects if o["kind"] not in CRD_KINDS]
    assert builtin
    for obj in builtin:
        validate(obj, version)


@VALUES
def test_names_labels_and_namespaces(values: Path) -> None:
    for obj in render_values(values).objects:
        meta = obj["metadata"]
        name = meta["name"]
        assert len(name) <= 63, name
        assert (DNS_LABEL if obj["kind"] in LABEL_NAMED else DNS_SUBDOMAIN).match(name), name
        assert meta["labels"]["app.kubernetes.io/instance"] == RELEASE
        assert meta["labels"]["app.kubernetes.io/name"] == "initgate"
        cluster_scoped = obj["kind"].endswith(
            ("WebhookConfiguration", "ClusterRole", "Binding", "AdmissionPolicy")
        )
        assert ("namespace" in meta) is not cluster_scoped, obj["kind"]


@VALUES
def test_one_template_file_per_kind(values: Path) -> None:
    """`<component>-<kind>.yaml`: every object comes from the file named after its kind."""
    rendered = render_values(values)
    for obj, source in zip(rendered.objects, rendered.sources, strict=True):
        assert Path(source).stem.split("-", 1)[1] == obj["kind"].lower(), source


def test_long_release_names_stay_distinct_and_short() -> None:
    release = "a-release-name-at-the-53-character-limit-of-helm-abcd"
    assert len(release) == 53
    rendered = render(
        "--set", "audit.enabled=true", "--set", "certs.mode=certManager", release=release
    )
    names = [(o["kind"], o["metadata"]["name"]) for o in rendered.objects]
    assert all(len(name) <= 63 for _, name in names), names
    assert len(set(names)) == len(names)
    for suffix in ("-audit", "-config", "-tls", "-ca", "-selfsigned", "-selfcheck"):
        assert any(name.endswith(suffix) for _, name in names), suffix


def _certificate(obj: dict[str, Any]) -> None:
    spec = obj["spec"]
    assert spec["secretName"]
    assert spec["issuerRef"]["kind"] == "Issuer"
    assert spec["issuerRef"]["group"] == "cert-manager.io"
    assert "privateKey" in spec
    assert "duration" in spec


def _issuer(obj: dict[str, Any]) -> None:
    assert list(obj["spec"]) in (["selfSigned"], ["ca"])


def _service_monitor(obj: dict[str, Any]) -> None:
    spec = obj["spec"]
    assert spec["selector"]["matchLabels"]
    assert spec["namespaceSelector"]["matchNames"]
    assert [e["port"] for e in spec["endpoints"]] == ["metrics"]


def _prometheus_rule(obj: dict[str, Any]) -> None:
    for group in obj["spec"]["groups"]:
        assert group["name"]
        assert group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert rule["alert"]
            assert rule["expr"].strip()
            assert rule["labels"]["severity"] in ("warning", "critical")


STRUCTURE = {
    "Certificate": ("cert-manager.io/v1", _certificate),
    "Issuer": ("cert-manager.io/v1", _issuer),
    "ServiceMonitor": ("monitoring.coreos.com/v1", _service_monitor),
    "PrometheusRule": ("monitoring.coreos.com/v1", _prometheus_rule),
}


@VALUES
def test_custom_resources_are_well_formed(values: Path) -> None:
    """CRD kinds have no schema in kubernetes-validate: check what their operators require."""
    for obj in render_values(values).objects:
        if obj["kind"] in CRD_KINDS:
            api_version, check = STRUCTURE[obj["kind"]]
            assert obj["apiVersion"] == api_version
            assert set(obj) == {"apiVersion", "kind", "metadata", "spec"}
            check(obj)


@pytest.mark.parametrize("version", VERSIONS)
def test_plain_manifests_are_valid(version: str) -> None:
    """deploy/initgate.yaml (kept equal to the chart by test_values): its Namespace too."""
    manifest = Path(__file__).resolve().parents[2] / "deploy" / "initgate.yaml"
    objects = [o for o in yaml.safe_load_all(manifest.read_text()) if o]
    assert objects[0]["kind"] == "Namespace"
    assert {o["metadata"].get("namespace", "initgate") for o in objects} == {"initgate"}
    assert "Secret" not in {o["kind"] for o in objects}
    assert "Pod" not in {o["kind"] for o in objects}
    for obj in objects:
        if obj["kind"] not in CRD_KINDS:
            validate(obj, version)
