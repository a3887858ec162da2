"""The HTTP side of a webhook call: body present and capped, content type checked, review decoded,
handler run with its failures recovered, review answered in the same version.

Two kinds of error, never mixed: a request that is not a usable AdmissionReview gets an HTTP 4xx
with a Kubernetes `Status` body; an object that is not admitted gets HTTP 200 with `allowed: false`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from webhook import review
from webhook.engine import Decision
from webhook.handler import Handler

# The API server refuses request bodies above 3 MiB, and an UPDATE review carries the object twice
# (`object` and `oldObject`) plus its own envelope: 7 MiB admits every review a real API server can
# send, and refuses anything bigger before it is read, so that no client can make us buffer more.
MAX_BODY_BYTES = 7 * 1024 * 1024


def _quoted(value: object, limit: int = 80) -> str:
    """`value` for a message that goes back to the client and into the log: clipped, so that a
    client cannot make either carry megabytes it chose."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class BadRequest(Exception):  # noqa: N818 - named after the HTTP status it becomes
    """The request is not a usable AdmissionReview (HTTP 4xx). `close`: the body was not read
    (whole), so the connection cannot carry another request."""

    def __init__(self, status: int, reason: str, message: str, *, close: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.close = close


class Disconnected(Exception):  # noqa: N818 - an event, not an error of ours
    """The client left before sending its whole body: there is no one to answer."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit` bytes: from its
    declared Content-Length before reading any of it, else (chunked) at the first chunk past it."""
    content_type = request.headers.get("content-type", "")
    if content_type.partition(";")[0].strip().lower() != "application/json":
        raise BadRequest(
            415,
            "content-type",
            f"content type must be application/json, not {_quoted(content_type)}",
            close=True,
        )
    declared = request.headers.get("content-length")
    if declared is not None:
        # ASCII digits only (str.isdigit also takes "²", which int() refuses), and compared by
        # length first: int() refuses more than 4300 digits, and a head may hold 64 KiB of them.
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest(
                400, "content-length", f"invalid Content-Length {_quoted(declared)}", close=True
            )
        size = declared.lstrip("0") or "0"
        if len(size) > len(str(limit)) or int(size) > limit:
            shown = size if len(size) <= 20 else f"{size[:20]}... ({len(size)} digits)"
            raise BadRequest(
                413, "too-large", f"body of {shown} bytes exceeds the {limit}-byte cap", close=True
            )
    chunks: list[bytes] = []
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                raise BadRequest(413, "too-large", f"body exceeds the {limit}-byte cap", close=True)
            chunks.append(chunk)
    except ClientDisconnect as error:
        raise Disconnected from error
    if not received:
        raise BadRequest(400, "empty", "empty body: expected an AdmissionReview")
    return b"".join(chunks)


def decode(body: bytes) -> review.AdmissionReview:
    """The AdmissionReview in `body`; raises `BadRequest` (400) saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise BadRequest(400, "malformed-json", f"malformed JSON: {error}") from error
    if not isinstance(data, dict) or data.get("kind") != review.KIND:
        raise BadRequest(
            400, "not-a-review", "not an AdmissionReview: expected kind AdmissionReview"
        )
    if data.get("apiVersion") != review.API_VERSION:
        raise BadRequest(
            400,
            "api-version",
            f"unsupported apiVersion {_quoted(data.get('apiVersion'))}: initgate answers "
            f"{review.API_VERSION} only (admissionReviewVersions: [v1])",
        )
    try:
        return review.AdmissionReview.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        count = error.error_count()
        more = f" (and {count - 1} more)" if count > 1 else ""
        raise BadRequest(
            400, "invalid-review", f"invalid AdmissionReview: {where}: {first['msg']}{more}"
        ) from error


def problem(error: BadRequest, *, closing: bool = False) -> Response:
    """A Kubernetes `Status` answer for a request we cannot use. Unread bytes of the body (or a
    draining server, `closing`) end the connection: the server does not read on through a body
    it refused, however large the client declared it."""
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
        "code": error.status,
    }
    headers = {"connection": "close"} if error.close or closing else None
    return Response(
        json.dumps(status),
        status_code=error.status,
        media_type="application/json",
        headers=headers,
    )


class Observer(Protocol):
    """What wraps every handler once: metrics and the decision log (see `webhook.app`)."""

    def bad_request(self, handler: Handler, error: BadRequest) -> None: ...

    def failed(
        self, handler: Handler, request: review.AdmissionRequest, error: Exception
    ) -> None: ...

    def answered(
        self,
        handler: Handler,
        request: review.AdmissionRequest,
        decision: Decision | None,
        seconds: float,
    ) -> None: ...


def endpoint(
    handler: Handler,
    observer: Observer,
    *,
    limit: int = MAX_BODY_BYTES,
    closing: Callable[[], bool] = lambda: False,
) -> Callable[[Request], Awaitable[Response]]:
    """The ASGI endpoint of one handler. `closing` says the server is draining: answers then ask
    clients to close their connection, so that they reconnect to a replica that stays."""

    async def admit(http: Request) -> Response:
        started = time.perf_counter()
        try:
            incoming = decode(await read_body(http, limit))
        except BadRequest as error:
            observer.bad_request(handler, error)
            return problem(error, closing=closing())
        except Disconnected:
            # Nobody reads this answer; without it the disconnect would surface as a crash.
            return Response(status_code=400, headers={"connection": "close"})
        request = incoming.request
        decision: Decision | None = None
        try:
            response, decision = handler.handle(request)
        except Exception as error:  # noqa: BLE001 - recovered, answered, logged and counted
            observer.failed(handler, request, error)
            response = _failure(handler)
        body = json.dumps(review.complete(request.uid, response), separators=(",", ":"))
        observer.answered(handler, request, decision, time.perf_counter() - started)
        headers = {"connection": "close"} if closing() else None
        return Response(body, media_type="application/json", headers=headers)

    return admit


def _failure(handler: Handler) -> review.Response:
    """The answer when evaluation itself failed: the configured `onPolicyError` choice."""
    if handler.plan().config.on_policy_error == "deny":
        return review.denied(
            "initgate could not evaluate this object (onPolicyError: deny)", code=500
        )
    return review.allowed(
        warnings=["initgate: could not evaluate this object; allowed (onPolicyError)"]
    )
