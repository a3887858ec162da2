"""The HTTP side of a webhook call: body present, capped and received in time, content type
checked, review decoded, handler run with its failures recovered, review answered in the same
version.

Two kinds of error, never mixed: a request that is not a usable AdmissionReview gets an HTTP 4xx
with a Kubernetes `Status` body; an object that is not admitted gets HTTP 200 with `allowed: false`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import KW_ONLY, dataclass
from typing import Any, Protocol

import orjson
from pydantic import ValidationError
from starlette.types import Receive, Scope, Send

from webhook.core import review
from webhook.core.engine import Decision
from webhook.core.handler import Handler
from webhook.core.objects import Request
from webhook.core.plan import Plan
from webhook.server.logs import LOG

# The API server refuses request bodies above 3 MiB, and an UPDATE review carries the object twice
# (`object` and `oldObject`) plus its own envelope: 7 MiB admits every review a real API server can
# send, and refuses anything bigger before it is read, so that no client can make us buffer more.
MAX_BODY_BYTES = 7 * 1024 * 1024


def quoted(value: object, limit: int = 80) -> str:
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


def _headers(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str | None, bool]:
    """(content type, content length or None, whether a transfer encoding is declared) from raw
    headers (names are lower case)."""
    content_type, length, encoded = "", None, False
    for name, value in headers:
        if name == b"content-type":
            content_type = value.decode("latin-1")
        elif name == b"content-length":
            length = value.decode("latin-1")
        elif name == b"transfer-encoding":
            encoded = True
    return content_type, length, encoded


def check_head(headers: Iterable[tuple[bytes, bytes]], limit: int) -> int | None:
    """The declared body size (None: chunked), once the head is known to be acceptable: JSON, and
    no more than `limit` bytes declared; raises `BadRequest` (415, 400, 413) otherwise."""
    content_type, declared, encoded = _headers(headers)
    if content_type.partition(";")[0].strip().lower() != "application/json":
        raise BadRequest(
            415,
            "content-type",
            f"content type must be application/json, not {quoted(content_type)}",
            close=True,
        )
    if declared is not None and encoded:
        # HTTP lets Transfer-Encoding win; a client that sends both is broken or probing for
        # request smuggling, and nothing it sends after this head can be trusted.
        raise BadRequest(
            400,
            "content-length",
            "both Content-Length and Transfer-Encoding: send one of them",
            close=True,
        )
    if declared is not None:
        # ASCII digits only (str.isdigit also takes "²", which int() refuses), and compared by
        # length first: int() refuses more than 4300 digits, and a head may hold 16 KiB of them.
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest(
                400, "content-length", f"invalid Content-Length {quoted(declared)}", close=True
            )
        size = declared.lstrip("0") or "0"
        if len(size) > len(str(limit)) or int(size) > limit:
            shown = size if len(size) <= 20 else f"{size[:20]}... ({len(size)} digits)"
            raise BadRequest(
                413, "too-large", f"body of {shown} bytes exceeds the {limit}-byte cap", close=True
            )
        return int(size)
    return None


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed `limit` bytes: from its
    declared Content-Length before reading any of it, else (chunked) at the first chunk past it."""
    check_head(scope["headers"], limit)
    chunks: list[bytes] = []
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        received += len(chunk)
        if received > limit:
            raise BadRequest(413, "too-large", f"body exceeds the {limit}-byte cap", close=True)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if not received:
        raise BadRequest(400, "empty", "empty body: expected an AdmissionReview")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


_OPERATIONS = ("CREATE", "UPDATE", "DELETE", "CONNECT")
_NOBODY: dict[str, Any] = {}
_NO_GROUPS: list[str] = []


def plain_request(data: dict[str, Any]) -> Request | None:
    """The engine's view of the request of a decoded review whose fields all have exactly the
    types `AdmissionRequest` wants (what every API server sends), without building the model.
    None for anything else: `AdmissionReview.model_validate` then accepts it the way pydantic
    does, or says which field is wrong."""
    request = data.get("request")
    if type(request) is not dict:
        return None
    get = request.get
    kind, resource, user = get("kind"), get("resource"), get("userInfo", _NOBODY)
    if type(kind) is not dict or type(resource) is not dict or type(user) is not dict:
        return None
    uid: Any = get("uid")
    version: Any = kind.get("version")
    name: Any = kind.get("kind")
    operation: Any = get("operation")
    texts = (
        uid,
        group := kind.get("group", ""),
        version,
        name,
        resource.get("group", ""),
        resource.get("version"),
        resource.get("resource"),
        subresource := get("subResource", ""),
        object_name := get("name", ""),
        namespace := get("namespace", ""),
        username := user.get("username", ""),
        user.get("uid", ""),
        operation,
    )
    obj, old, groups, dry_run = (
        get("object"),
        get("oldObject"),
        user.get("groups", _NO_GROUPS),
        get("dryRun", False),
    )
    plain = (
        all(type(value) is str for value in texts)
        and uid
        and operation in _OPERATIONS
        and type(groups) is list
        and all(type(value) is str for value in groups)
        and (obj is None or type(obj) is dict)
        and (old is None or type(old) is dict)
        and type(dry_run) is bool
    )
    if not plain:
        return None
    return Request(
        object=obj or {},
        old_object=old,
        operation=operation,
        group=group,
        version=version,
        kind=name,
        subresource=subresource,
        namespace=namespace,
        name=object_name,
        username=username,
        groups=tuple(groups),
        dry_run=dry_run,
        uid=uid,
    )


def decode(body: bytes) -> Request:
    """The request of the AdmissionReview in `body`; raises `BadRequest` (400) saying what is
    wrong with it."""
    try:
        data = orjson.loads(body)
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
            f"unsupported apiVersion {quoted(data.get('apiVersion'))}: initgate answers "
            f"{review.API_VERSION} only (admissionReviewVersions: [v1])",
        )
    plain = plain_request(data)
    if plain is not None:
        return plain
    try:
        return review.engine_request(review.AdmissionReview.model_validate(data).request)
    except ValidationError as invalid:
        first = invalid.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        count = invalid.error_count()
        more = f" (and {count - 1} more)" if count > 1 else ""
        raise BadRequest(
            400, "invalid-review", f"invalid AdmissionReview: {where}: {first['msg']}{more}"
        ) from invalid


def problem(error: BadRequest) -> bytes:
    """A Kubernetes `Status` body for a request we cannot use."""
    return orjson.dumps(review.failure(error.status, error.reason, error.message))


async def respond(send: Send, status: int, body: bytes, *, close: bool) -> None:
    """Send a JSON answer. `close` ends the connection after it: unread bytes of a refused body
    stay unread."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Observer(Protocol):
    """What wraps every handler once: metrics and the decision log (see `instrumentation`)."""

    def bad_request(self, handler: Handler, error: BadRequest) -> None: ...

    def failed(self, handler: Handler, request: Request, error: Exception) -> None: ...

    def answered(
        self,
        handler: Handler,
        request: Request,
        decision: Decision | None,
        seconds: float,
        *,
        plan: Plan | None,
    ) -> None: ...


READ_TIMEOUT = 10.0
"""Seconds a client has to send a request body whole. The API server sends each review at once
and gives up after its webhook timeout (at most 30 s): a body still incomplete after this comes
from a broken or hostile client, which gets 408 and loses its connection."""


class Endpoint:
    """One handler as a plain ASGI app, on a Starlette `Route` of the FastAPI app (see `app`).

    Plain ASGI, not a FastAPI path operation: the body must be capped before it is read and decoded
    from the bytes as received, which leaves FastAPI's parameter and response machinery nothing to
    do but cost time on every pod creation in the cluster. (While the server drains, the app's
    `CloseWhileDraining` closes every connection after its answer.)
    """

    def __init__(
        self,
        handler: Handler,
        observer: Observer,
        *,
        limit: int = MAX_BODY_BYTES,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self.handler = handler
        self.observer = observer
        self.limit = limit
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await read_body(scope, receive, self.limit)
        except TimeoutError:
            late = BadRequest(
                408,
                "read-timeout",
                f"request body not received whole within {self.read_timeout:g} seconds",
                close=True,
            )
            self.observer.bad_request(self.handler, late)
            await respond(send, late.status, problem(late), close=True)
            return
        except BadRequest as error:
            self.observer.bad_request(self.handler, error)
            await respond(send, error.status, problem(error), close=error.close)
            return
        except Disconnected:
            # Nobody reads this answer; without one the disconnect would surface as a crash.
            await respond(send, 400, b"", close=True)
            return
        answer = self.answer(body, started)
        # The answer first, the bookkeeping after: the API server is waiting for one, not the other.
        await respond(send, answer.status, answer.body, close=answer.close)
        self.record(answer)

    def answer(self, body: bytes, started: float) -> Answer:
        """The answer to a whole request body (read since `started`, a `perf_counter` time)."""
        handler, observer = self.handler, self.observer
        try:
            request = decode(body)
        except BadRequest as refused:
            observer.bad_request(handler, refused)
            return Answer(refused.status, problem(refused), close=refused.close)
        decision: Decision | None = None
        plan: Plan | None = None
        try:
            response, decision = handler.answer(request)
            # The plan it decided with (a reload swaps plans on this event loop, never between
            # these two lines): what the decision names, its exemptions, is looked up in it.
            plan = handler.plan()
            out = orjson.dumps(review.complete(request.uid, response))
        except Exception as error:  # noqa: BLE001 - recovered, answered, logged and counted
            observer.failed(handler, request, error)
            decision = None
            out = orjson.dumps(review.complete(request.uid, _failure(handler)))
        seconds = time.perf_counter() - started
        return Answer(200, out, request=request, decision=decision, seconds=seconds, plan=plan)

    def record(self, answer: Answer) -> None:
        """The metrics and the decision line of an answer, once it is sent."""
        if answer.request is None:
            return
        try:
            self.observer.answered(
                self.handler, answer.request, answer.decision, answer.seconds, plan=answer.plan
            )
        except Exception:  # noqa: BLE001 - a metric or a log line must never cost the answer
            uid = answer.request.uid
            LOG.exception("could not record a decision", extra={"fields": {"uid": uid}})


@dataclass(slots=True)
class Answer:
    """What an admission request gets: HTTP status and body, whether the connection must close
    after it, and (for a decided request) what `Endpoint.record` records once it is sent."""

    status: int
    body: bytes
    _: KW_ONLY
    close: bool = False
    request: Request | None = None
    decision: Decision | None = None
    seconds: float = 0.0
    plan: Plan | None = None


def _failure(handler: Handler) -> review.Response:
    """The answer when evaluation itself failed: the configured `onPolicyError` choice."""
    if handler.plan().config.on_policy_error == "deny":
        return review.denied(
            "initgate could not evaluate this object (onPolicyError: deny)", code=500
        )
    return review.allowed(
        warnings=["initgate: could not evaluate this object; allowed (onPolicyError)"]
    )
