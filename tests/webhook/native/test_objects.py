"""Every generated object is one the API server takes: it validates against the
admissionregistration.k8s.io/v1 schema of the newest Kubernetes kubernetes-validate knows (and
of the oldest version asked for), its name is a DNS subdomain, its binding's actions are a set
Kubernetes allows, and it carries the labels that find it again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_validate.utils import latest_version

from tests.support import kube
from webhook.core.config import Config
from webhook.native.bindings import Routing
from webhook.native.export import Options, generate, modes

ROOT = Path(__file__).resolve().parents[3]
COOKBOOK = yaml.safe_load((ROOT / "docs/rules/cookbook.yaml").read_text())
CONFIGS = {
    "default": {},
    "cookbook": COOKBOOK,
    "everything": {
        **COOKBOOK,
        "mode": "enforce",
        "onPolicyError": "deny",
        "exemptions": {
            "namespaces": ["legacy-*", {"namespace": "old", "expires": "2999-01-01"}],
            "users": ["system:serviceaccount:ci:*"],
            "groups": ["ops"],
            "images": [{"image": "ghcr.io/example/*", "allow": ["init-lint"]}],
        },
        "policies": {"init-lint": {"mode": "enforce", "checks": ["image-tag"]}},
    },
}
NEWEST = ".".join(latest_version().split(".")[:2])
CASES = [
    *((name, (1, 36)) for name in CONFIGS),
    # Where what is generated changes: 1.33 brings two-variable comprehensions.
    *(("everything", version) for version in ((1, 30), (1, 32), (1, 33))),
]
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_ACTIONS = ({"Deny", "Audit"}, {"Warn"}, {"Audit"})


def exported(config: dict[str, Any], kubernetes: tuple[int, int]) -> list[dict[str, Any]]:
    routing = Routing(excluded=("legacy",))
    options = Options(kubernetes=kubernetes, routing=routing, now=1.0)
    return generate(Config.model_validate(config), options).objects


def test_kubernetes_validate_knows_the_newest_admissionregistration_v1() -> None:
    assert tuple(int(p) for p in NEWEST.split(".")) >= (1, 36)
    for kind in ("ValidatingAdmissionPolicy", "MutatingAdmissionPolicy"):
        obj: dict[str, Any] = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": kind,
            "metadata": {},
        }
        kube.validate(obj, NEWEST)
        with pytest.raises(AssertionError, match="is not of type 'string'"):
            kube.validate({**obj, "spec": {"failurePolicy": 1}}, NEWEST)


@pytest.mark.parametrize(("config", "kubernetes"), CASES, ids=[f"{c}-1.{v[1]}" for c, v in CASES])
def test_every_object_validates(config: str, kubernetes: tuple[int, int]) -> None:
    objects = exported(CONFIGS[config], kubernetes)
    assert objects
    for obj in objects:
        kube.validate(obj, NEWEST)
        kube.validate(obj, f"{kubernetes[0]}.{kubernetes[1]}")
        name = obj["metadata"]["name"]
        assert len(name) <= 253, name
        assert _SUBDOMAIN.match(name), name
        assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "initgate"
        if obj["kind"] == "ValidatingAdmissionPolicyBinding":
            assert set(obj["spec"]["validationActions"]) in _ACTIONS
        elif obj["kind"] == "ValidatingAdmissionPolicy":
            for validation in obj["spec"]["validations"]:
                assert "\n" not in validation["message"]
        elif obj["kind"] == "MutatingAdmissionPolicy":
            assert obj["spec"]["reinvocationPolicy"] == "IfNeeded"
            assert all(m["patchType"] == "JSONPatch" for m in obj["spec"]["mutations"])
        else:
            assert obj["kind"] == "MutatingAdmissionPolicyBinding", obj["kind"]


def test_every_policy_is_bound_and_every_binding_has_its_policy() -> None:
    config = CONFIGS["everything"]
    objects = exported(config, (1, 36))
    policies = {o["metadata"]["name"] for o in objects if o["kind"].endswith("AdmissionPolicy")}
    bound = {o["spec"]["policyName"] for o in objects if o["kind"].endswith("PolicyBinding")}
    assert policies == bound
    assert len(policies) == len(modes(Config.model_validate(config)))
