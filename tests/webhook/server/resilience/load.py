"""Load for resilience tests: client threads that keep sending AdmissionReviews to a real server,
some over one keep-alive connection each, some over a new connection for every request, and record
every outcome (with the connection and the certificate it was answered over)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from cryptography import x509

from policies.base import Mode
from tests.support.server import Served
from webhook.core import review
from webhook.core.config import parse_config
from webhook.core.engine import Webhook
from webhook.core.handler import Handler
from webhook.core.plan import compile_plan

JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Outcome:
    """One request: when it started and ended, over which connection, and what came back."""

    worker: str
    started: float
    ended: float
    path: str
    request: int
    """Index of the request in the list the load was given."""
    status: int | None = None
    answer: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    local_port: int | None = None
    serial: int | None = None
    error: str = ""


def _connection_of(response: httpx.Response) -> tuple[int | None, int | None]:
    """The client port of the connection that carried `response`, and the serial number of the
    server certificate it was opened with."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None, None
    address = stream.get_extra_info("client_addr")
    ssl_object = stream.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(True) if ssl_object is not None else None
    serial = x509.load_der_x509_certificate(der).serial_number if der else None
    return (address[1] if address else None), serial


class Load:
    """`keep_alive` + `fresh` threads sending `requests` (path, body) in turn until stopped."""

    def __init__(
        self,
        served: Served,
        requests: Sequence[tuple[str, bytes]],
        *,
        keep_alive: int = 2,
        fresh: int = 2,
        pause: float = 0.002,
    ) -> None:
        self.served = served
        self.requests = requests
        self.pause = pause
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(f"keep-alive-{n}", True), daemon=True)
            for n in range(keep_alive)
        ] + [
            threading.Thread(target=self._run, args=(f"fresh-{n}", False), daemon=True)
            for n in range(fresh)
        ]

    def _send(self, client: httpx.Client, worker: str, index: int) -> Outcome:
        path, body = self.requests[index]
        started = time.monotonic()
        try:
            # Streamed, to see the connection before an answer with `connection: close` ends it.
            with client.stream(
                "POST", f"{path}?timeout=10s", content=body, headers=JSON
            ) as response:
                port, serial = _connection_of(response)
                response.read()
            answer = response.json()
        except (httpx.HTTPError, ValueError) as error:
            return Outcome(worker, started, time.monotonic(), path, index, error=repr(error))
        return Outcome(
            worker,
            started,
            time.monotonic(),
            path,
            index,
            status=response.status_code,
            answer=answer,
            headers=dict(response.headers),
            local_port=port,
            serial=serial,
        )

    def _run(self, worker: str, keep_alive: bool) -> None:
        requests = itertools.cycle(range(len(self.requests)))
        client = self.served.client(timeout=5) if keep_alive else None
        try:
            while not self._stop.is_set():
                index = next(requests)
                if client is not None:
                    outcome = self._send(client, worker, index)
                else:
                    with self.served.client(timeout=5) as once:
                        outcome = self._send(once, worker, index)
                with self._lock:
                    self.outcomes.append(outcome)
                time.sleep(self.pause)
        finally:
            if client is not None:
                client.close()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)
        with self._lock:
            return list(self.outcomes)

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def wait_for(self, more: int, *, timeout: float = 10) -> None:
        """Until `more` requests beyond the current count have been answered."""
        target = self.count() + more
        deadline = time.monotonic() + timeout
        while self.count() < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"load made no progress: {self.count()} of {target}")
            time.sleep(0.01)


@contextmanager
def running(
    served: Served, requests: Sequence[tuple[str, bytes]], **options: Any
) -> Iterator[Load]:
    """A `Load` running for the duration of the block (stopped, even on failure)."""
    load = Load(served, requests, **options)
    load.start()
    try:
        yield load
    finally:
        load.stop()


def failures(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Requests without a 200 answer carrying a valid AdmissionReview."""
    return [
        o
        for o in outcomes
        if o.error
        or o.status != 200
        or not isinstance(o.answer, dict)
        or not isinstance(o.answer.get("response", {}).get("allowed"), bool)
    ]


def wait_until(predicate: Any, *, timeout: float = 10, what: str = "condition") -> None:
    """Poll `predicate()` until true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def expected_answers(config: str, requests: Sequence[tuple[str, bytes]]) -> list[dict[str, Any]]:
    """What the engine answers to each of `requests` (path, body) under `config`, in process:
    the wire review, as JSON, to compare with what a server answered."""
    plan = compile_plan(parse_config(config, source="test"))
    expected = []
    for path, body in requests:
        webhook: Webhook = "mutate" if path.startswith("/mutate") else "validate"
        handler = Handler(webhook=webhook, cap=Mode.ENFORCE, plan=lambda: plan)
        request = review.AdmissionReview.model_validate_json(body).request
        response, _ = handler.handle(request)
        expected.append(json.loads(json.dumps(review.complete(request.uid, response))))
    return expected
