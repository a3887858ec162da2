"""Kubernetes' JSONPatch library (k8s.io/apiserver/pkg/cel/library/jsonpatch.go) and the
`JSONPatch` message its MutatingAdmissionPolicies build (k8s.io/apiserver/pkg/cel/mutation):
what a MutatingAdmissionPolicy's JSONPatch mutation returns, one operation at a time.

    jsonpatch.escapeKey('k8s.io/my~label')              'k8s.io~1my~0label'
    JSONPatch{op: 'add', path: '/spec/x', value: 1}     an operation

Kubernetes offers both to MutatingAdmissionPolicy expressions only: a rule, a matchCondition or
a ValidatingAdmissionPolicy that names them does not compile there, so `checks.problems` refuses
them unless the caller compiles MAP expressions (`patches=True`).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage

from webhook.core.cel.library import Function, Library, Message, overload

JSON_PATCH = Message(
    "JSONPatch", (("op", "string"), ("path", "string"), ("from", "string"), ("value", "dyn"))
)
PATCH_ONLY = frozenset(("jsonpatch.escapeKey", JSON_PATCH.name))
"""What only a MutatingAdmissionPolicy's expressions may use."""


def escape_key(key: str) -> str:
    """`key` as one JSON pointer segment: Go's `strings.NewReplacer("/", "~1", "~", "~0")`
    replaces in one pass (`~1` written for a `/` is not escaped again): `~` first does the
    same."""
    return key.replace("~", "~0").replace("/", "~1")


def operation(value: ProtoMessage) -> dict[str, Any]:
    """A `JSONPatch` value as the JSON Patch operation Kubernetes applies (mutating/patch/
    json_patch.go): `op` and `path` always, `from` when not empty, `value` when set (a CEL
    `null` is set: JSON's null)."""
    found: dict[str, Any] = {"op": value.op, "path": value.path}
    moved = getattr(value, "from")  # a Python keyword
    if moved:
        found["from"] = moved
    if value.HasField("value"):
        found["value"] = _json(json_format.MessageToDict(value.value))
    return found


def _json(value: Any) -> Any:
    """What Go's encoding/json writes for a protobuf Value, read back: a number is a double,
    written without a fraction when it has none (`1`, not `1.0`)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


LIBRARY = Library(
    name="jsonpatch",
    functions=(
        Function(
            "jsonpatch.escapeKey",
            (overload("string_jsonpatch_escapeKey_string", "string", "string", escape_key),),
        ),
    ),
    messages=(JSON_PATCH,),
)
