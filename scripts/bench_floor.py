"""The floors of the benchmark: the least an admission server can do, on the very uvicorn
configuration initgate serves with (`webhook.server.lifecycle.uvicorn_config`: h11, TLS, limits).

- `bare`: a bare ASGI app that reads the body, parses it with orjson and answers `allowed: true`
  with the uid: what the transport, HTTP and TLS cost.
- `fastapi`: the least a FastAPI service does: one `@app.post` route that awaits
  `request.body()`, parses it with orjson and answers the same: what the stack initgate is built
  on costs, routing and middleware included.

Whatever initgate costs above the FastAPI floor is its own: validation, the engine, messages,
metrics and the decision log. Run: `python scripts/bench_floor.py {bare,fastapi} PORT CERT KEY`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

from webhook.server.lifecycle import uvicorn_config
from webhook.server.settings import ServerSettings
from webhook.server.tls import ServingCertificate


def _answer(review: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": review["request"]["uid"], "allowed": True},
        }
    )


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
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
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _answer(orjson.loads(body))})


def fastapi() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/readyz")
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    async def admit(request: Request) -> Response:
        body = await request.body()
        return Response(_answer(orjson.loads(body)), media_type="application/json")

    app.post("/validate")(admit)
    app.post("/mutate")(admit)
    return app


def main() -> None:
    kind, port, cert, key = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    app: Any = bare if kind == "bare" else fastapi()
    settings = ServerSettings(host="127.0.0.1", port=port, tls_cert=cert, tls_key=key)
    # The very same SSLContext settings as `initgate serve` (TLS 1.2 floor, cipher list).
    serving = ServingCertificate(cert, key)
    uvicorn.Server(uvicorn_config(app, settings, serving.context)).run()


if __name__ == "__main__":
    main()
