"""The floor of the benchmark: a bare ASGI app on the same uvicorn and TLS settings as initgate,
that only parses the JSON body (with orjson, like initgate) and answers `allowed: true` with the
uid.

Whatever initgate costs above this is its own cost: routing, validation, the engine, logging,
metrics, and its own connection handling (`webhook.server.connection`: guards, and answers
written in one
piece). Run: `python scripts/bench_floor.py PORT CERT KEY [--initgate-protocol]`; with
`--initgate-protocol` the floor runs on initgate's connection handling too, so that the
difference is the request path alone.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import uvicorn

from webhook.server.tls import ServingCertificate

Scope = dict[str, Any]


async def app(scope: Scope, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["method"] == "GET":  # the readiness probe of the benchmark
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    review = orjson.loads(body)
    answer = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": review["request"]["uid"], "allowed": True},
    }
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(answer)})


def main() -> None:
    port, cert, key = int(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    http: Any = "auto"
    if "--initgate-protocol" in sys.argv[4:]:
        from webhook.server.connection import Guard, protocol  # noqa: PLC0415 - it imports the engine

        http = protocol(Guard(read_timeout=10))
    # The very same SSLContext settings as `initgate serve` (TLS 1.2 floor, cipher list).
    serving = ServingCertificate(cert, key)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=http,
        ssl_context_factory=lambda _config, _default: serving.context,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_keep_alive=30,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
