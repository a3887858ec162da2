"""The published schemas of what initgate writes for other tools: SARIF 2.1.0 (the OASIS JSON
schema) and PolicyReport (the openAPIV3Schema of the wgpolicyk8s.io/v1alpha2 CRD), both copied
into tests/data (FIXTURES.md says from where)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

DATA = Path(__file__).resolve().parent.parent / "data"
SARIF_SCHEMA = DATA / "sarif-schema-2.1.0.json"
POLICY_REPORT_CRD = DATA / "wgpolicyk8s.io_policyreports.v1alpha2.yaml"
INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _messages(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(document)
    )


@functools.cache
def _sarif() -> jsonschema.Draft4Validator:
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(
        schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    )


def sarif_errors(log: Any) -> list[str]:
    """Where `log` breaks the SARIF 2.1.0 schema (nothing: it is valid)."""
    return _messages(_sarif(), log)


def structural(schema: dict[str, Any]) -> dict[str, Any]:
    """A CRD's structural schema as the JSON schema of what the API server keeps: an object's
    fields not in its `properties` are pruned (silently lost), so here they are errors, unless
    `x-kubernetes-preserve-unknown-fields`; `x-kubernetes-int-or-string` is either; `nullable`
    admits null; `int32`/`int64` are ranges; the other `x-kubernetes-*` keys say how lists and
    maps merge in server-side apply, nothing about validity, and are dropped."""
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "description"):
            continue
        if key == "properties":
            converted[key] = {name: structural(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            converted[key] = structural(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            converted[key] = [structural(sub) for sub in value]
        else:
            converted[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        converted.pop("type", None)
        converted["anyOf"] = [{"type": "integer"}, {"type": "string"}, *converted.get("anyOf", [])]
    if schema.get("format") in INT_RANGES:
        converted["minimum"], converted["maximum"] = INT_RANGES[schema["format"]]
    if schema.get("nullable") and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    keeps_unknown = schema.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in schema and "additionalProperties" not in schema and not keeps_unknown:
        converted["additionalProperties"] = False
    return converted


@functools.cache
def _policy_report() -> tuple[jsonschema.Draft4Validator, str]:
    crd = yaml.safe_load(POLICY_REPORT_CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha2"]
    schema = structural(version["schema"]["openAPIV3Schema"])
    jsonschema.Draft4Validator.check_schema(schema)
    api_version = f"{crd['spec']['group']}/{version['name']}"
    return jsonschema.Draft4Validator(schema), api_version


def policy_report_errors(report: Any) -> list[str]:
    """Where `report` breaks the PolicyReport CRD (wgpolicyk8s.io/v1alpha2): its schema, and the
    apiVersion and kind (which the schema leaves to the API server's routing)."""
    validator, api_version = _policy_report()
    errors = _messages(validator, report)
    if isinstance(report, dict):
        if report.get("apiVersion") != api_version:
            errors.append(f"apiVersion: {report.get('apiVersion')!r} is not {api_version!r}")
        if report.get("kind") != "PolicyReport":
            errors.append(f"kind: {report.get('kind')!r} is not 'PolicyReport'")
    return errors
