"""Why a connection failed, in one line a person can act on: connection refused, certificate not
trusted, timeout, HTTP status... (`initgate selfcheck` and `initgate audit --cluster`).

urllib, urllib3 and the kubernetes client wrap the cause in layers of their own exceptions (a
`MaxRetryError` holding a `NewConnectionError` holding a `ConnectionRefusedError`); the layers are
walked through their public attributes (`reason`, `__cause__`, `__context__`) to the innermost one
that says what happened.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator


def causes(error: BaseException) -> Iterator[BaseException]:
    """`error` and what it wraps, outermost first, each once."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = (getattr(current, "reason", None), current.__cause__, current.__context__)
        pending.extend(e for e in (*inner, *current.args) if isinstance(e, BaseException))


def _timeout(error: BaseException) -> bool:
    return isinstance(error, TimeoutError | socket.timeout) or "timed out" in str(error).lower()


def describe(error: BaseException, *, host: str, trust: str) -> str:
    """The cause of a failed connection to `host`, and what to do. `trust` says how to make a
    certificate trusted (`pass --ca FILE`)."""
    found = list(causes(error))
    for cause in found:
        said = _said(cause, host, trust)
        if said:
            return said
    if any(_timeout(cause) for cause in found):
        return f"timeout: {host} did not answer in time (a firewall, or the wrong address?)"
    innermost = found[-1]
    return f"{type(innermost).__name__}: {innermost}"


def _said(cause: BaseException, host: str, trust: str) -> str:
    """What one layer of the failure says, "" when it says nothing a person can act on."""
    said = ""
    if isinstance(cause, ssl.SSLCertVerificationError):
        detail = cause.verify_message or str(cause)
        if "hostname" in detail.lower() or "ip address mismatch" in detail.lower():
            said = f"certificate not valid for {host} ({detail}): use the name it was issued for"
        else:
            said = f"certificate not trusted ({detail}): {trust}"
    elif isinstance(cause, ConnectionRefusedError):
        said = f"connection refused by {host}: is the server running, and is the port right?"
    elif isinstance(cause, socket.gaierror):
        said = f"cannot resolve {host} ({cause.strerror}): check the host name"
    elif isinstance(cause, ssl.SSLError):
        said = (
            f"TLS failed with {host} ({cause.reason or cause}): is it an HTTPS port, and does it "
            "require a client certificate?"
        )
    elif isinstance(cause, ConnectionResetError):
        said = (
            f"connection reset by {host}: is it an HTTPS port, and does it require a client "
            "certificate?"
        )
    return said
