"""HTTP/1.1 by hand over a TLS socket, for what an HTTP client library will not send: lying or
missing Content-Length, slow heads, bodies that never end."""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def head(path: str, **headers: str) -> bytes:
    """A request head; header names are given with underscores for dashes."""
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def poll(connection: ssl.SSLSocket) -> bytes | None:
    """What the server has sent so far, without waiting: None when nothing (TLS session tickets
    make the socket readable without any answer), b"" when it closed."""
    connection.setblocking(False)
    try:
        return connection.recv(65536)
    except (ssl.SSLWantReadError, BlockingIOError):
        return None
    except (ConnectionError, ssl.SSLError):
        return b""
    finally:
        connection.setblocking(True)


def read_answer(connection: ssl.SSLSocket, *, timeout: float = 5, received: bytes = b"") -> Answer:
    """One response (with a Content-Length body), or `ConnectionError` if the server closed first.
    `received`: what `poll` already took of it."""
    connection.settimeout(timeout)
    data = received
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer; got {data!r}")
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = raw_head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return Answer(int(status_line.split()[1]), headers, body)


def closed_by_server(connection: ssl.SSLSocket, *, timeout: float = 5) -> bool:
    """Whether the server ends the connection (EOF or reset) within `timeout` seconds, reading and
    discarding anything it still sends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if not connection.recv(65536):
                return True
        except TimeoutError:
            return False
        except (ConnectionError, ssl.SSLError):
            return True
    return False
