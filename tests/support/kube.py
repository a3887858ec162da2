"""Kubernetes' own rules, for checking what initgate returns: the real schemas (through
kubernetes-validate's copies of them), JSON Patch application, and resource sanity."""

from __future__ import annotations

import base64
import copy
import json
from fractions import Fraction
from functools import cache
from typing import Any

import jsonpatch
import jsonschema
import referencing
from kubernetes_validate.utils import schema_contents

from policies.quantity import parse

VERSIONS = ("1.30", "1.36")
TEMPLATE_PATHS = {
    "Pod": (),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


@cache
def _validator(version: str, kind: str, api_version: str) -> jsonschema.Draft202012Validator:
    group_version = api_version.split(".", 1)[0] if "/" not in api_version else api_version
    group, _, ver = group_version.rpartition("/")
    group = group.split(".", 1)[0]
    name = f"{kind.lower()}-{group}-{ver}" if group else f"{kind.lower()}-{ver}"
    folder = f"kubernetes-json-schema/v{version}.0-local-strict"
    schema = schema_contents(f"{folder}/{name}.json", version)
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        [
            (schema["$id"], referencing.Resource.from_contents(schema)),
            (definitions["$id"], referencing.Resource.from_contents(definitions)),
        ]
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validate(obj: dict[str, Any], version: str = "1.36") -> None:
    """Raise AssertionError naming every violation of the strict Kubernetes `version` schema."""
    validator = _validator(version, obj["kind"], obj["apiVersion"])
    errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]
        raise AssertionError(
            f"{obj['kind']} is invalid for Kubernetes {version}:\n" + "\n".join(lines)
        )


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Pod or of a workload's pod template."""
    path = TEMPLATE_PATHS.get(obj["kind"], ("spec", "template"))
    node = obj
    for part in path:
        node = node[part]
    spec: dict[str, Any] = node["spec"]
    return spec


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c
        for key in ("initContainers", "containers", "ephemeralContainers")
        for c in spec.get(key) or []
    ]


def check_resources(obj: dict[str, Any]) -> None:
    """What the API server enforces on resources: no request above its limit."""
    for container in containers(pod_spec(obj)):
        resources = container.get("resources") or {}
        requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
        for name, limit in limits.items():
            if name in requests:
                assert parse(requests[name]) <= parse(limit), (
                    f"container {container['name']}: requests.{name} {requests[name]} "
                    f"is above limits.{name} {limit}"
                )


def quantity(value: str) -> Fraction:
    return parse(value)


def decode_patch(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON Patch of an admission response ([] when there is none)."""
    if "patch" not in response:
        return []
    assert response.get("patchType") == "JSONPatch", (
        "patch without patchType: the API server refuses"
    )
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    return ops


def apply(obj: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """`obj` patched (a copy), failing as the API server would on a path that does not exist."""
    patched: dict[str, Any] = jsonpatch.apply_patch(copy.deepcopy(obj), ops)
    return patched


def check_patched(obj: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply `ops` and check the result as the API server would: schema, then resources."""
    for op in ops:
        assert op["op"] in ("add", "replace"), f"unexpected operation {op}"
    patched = apply(obj, ops)
    for version in VERSIONS:
        validate(patched, version)
    check_resources(patched)
    return patched
