"""The AdmissionReview wire format (`admission.k8s.io/v1`), in and out.

Requests are validated with pydantic so that a malformed review gets a 400 naming the bad field
(`plain_request` reads a plainly well-formed one without it, and leaves anything unusual to the
model: it costs a tenth of the model on every pod creation); `object` and `oldObject` stay plain
dicts (a typed Pod model would drop fields it does not know, and
patches are computed against the object exactly as received). Responses are typed dicts built only
through the helpers below; `complete` echoes the request's uid, so no handler can forget it.
"""

from __future__ import annotations

import base64
from typing import Any, Literal, NotRequired, TypedDict

import orjson
from pydantic import BaseModel, ConfigDict, Field

from policies.base import PatchOp
from webhook.core.objects import Request

API_VERSION = "admission.k8s.io/v1"
KIND = "AdmissionReview"


class _Wire(BaseModel):
    # Unknown fields are ignored: newer API servers add fields, and old webhooks must keep working.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class GroupVersionKind(_Wire):
    group: str = ""
    version: str
    kind: str


class GroupVersionResource(_Wire):
    group: str = ""
    version: str
    resource: str


class UserInfo(_Wire):
    username: str = ""
    uid: str = ""
    groups: tuple[str, ...] = ()


class AdmissionRequest(_Wire):
    uid: str = Field(min_length=1)
    kind: GroupVersionKind
    resource: GroupVersionResource
    sub_resource: str = Field("", alias="subResource")
    name: str = ""
    namespace: str = ""
    operation: Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]
    user_info: UserInfo = Field(default_factory=UserInfo, alias="userInfo")
    object: dict[str, Any] | None = None
    old_object: dict[str, Any] | None = Field(None, alias="oldObject")
    dry_run: bool = Field(False, alias="dryRun")  # noqa: FBT003 - pydantic's positional default


class AdmissionReview(_Wire):
    api_version: Literal["admission.k8s.io/v1"] = Field(alias="apiVersion")
    kind: Literal["AdmissionReview"]
    request: AdmissionRequest


def engine_request(request: AdmissionRequest) -> Request:
    """The engine's view of a validated wire request."""
    return Request(
        object=request.object or {},
        old_object=request.old_object,
        operation=request.operation,
        group=request.kind.group,
        version=request.kind.version,
        kind=request.kind.kind,
        subresource=request.sub_resource,
        namespace=request.namespace,
        name=request.name,
        username=request.user_info.username,
        groups=request.user_info.groups,
        dry_run=request.dry_run,
        uid=request.uid,
    )


class Status(TypedDict):
    code: int
    reason: str
    message: str


class Response(TypedDict):
    uid: str
    allowed: bool
    status: NotRequired[Status]
    patch: NotRequired[str]
    patchType: NotRequired[Literal["JSONPatch"]]
    warnings: NotRequired[list[str]]
    auditAnnotations: NotRequired[dict[str, str]]


class Failure(TypedDict):
    """The Kubernetes `Status` a request we cannot use gets, with its HTTP 4xx."""

    kind: Literal["Status"]
    apiVersion: Literal["v1"]
    status: Literal["Failure"]
    message: str
    reason: str
    code: int


def failure(code: int, reason: str, message: str) -> Failure:
    """The body of an HTTP 4xx answer: the API server shows `message` to whoever sent the object."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class ReviewOut(TypedDict):
    apiVersion: str
    kind: str
    response: Response


def allowed(*, warnings: list[str] | None = None, audit: dict[str, str] | None = None) -> Response:
    """Admit the object unchanged."""
    return _extras({"uid": "", "allowed": True}, warnings, audit)


# The reason kubectl shows in parentheses: `Error from server (Forbidden): ...`, as for Pod
# Security admission's denials. Without one it prints `Error from server: ...`, and CI logs that
# are grepped for "(Forbidden)" miss the denial.
REASONS: dict[Literal[403, 500], str] = {403: "Forbidden", 500: "InternalError"}


def denied(
    message: str,
    *,
    code: Literal[403, 500] = 403,
    warnings: list[str] | None = None,
    audit: dict[str, str] | None = None,
) -> Response:
    """Refuse the object: kubectl prints `Error from server (Forbidden): ... admission webhook ...
    denied the request: MESSAGE`."""
    status: Status = {"code": code, "reason": REASONS[code], "message": message}
    response: Response = {"uid": "", "allowed": False, "status": status}
    return _extras(response, warnings, audit)


def patched(
    ops: list[PatchOp],
    *,
    warnings: list[str] | None = None,
    audit: dict[str, str] | None = None,
) -> Response:
    """Admit the object with a JSON Patch (the API server needs `patchType` beside `patch`)."""
    encoded = base64.b64encode(orjson.dumps(ops)).decode()
    response: Response = {"uid": "", "allowed": True, "patch": encoded, "patchType": "JSONPatch"}
    return _extras(response, warnings, audit)


def _extras(
    response: Response, warnings: list[str] | None, audit: dict[str, str] | None
) -> Response:
    if warnings:
        response["warnings"] = warnings
    if audit:
        response["auditAnnotations"] = audit
    return response


def complete(uid: str, response: Response) -> ReviewOut:
    """The review to send: same apiVersion and kind as requested, the request's uid echoed."""
    response["uid"] = uid
    return {"apiVersion": API_VERSION, "kind": KIND, "response": response}
