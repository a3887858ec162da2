"""The HTTPS service: the FastAPI app and its admission endpoints, TLS, metrics, logs, lifecycle.

`settings` (start-up settings), `app` (the FastAPI application and its routes), `endpoint` (the
HTTP side of an admission call), `instrumentation` (metrics and the decision line around every
call), `metrics`, `logs`, `tls` and `handshakes` (the serving certificate, reloaded in place),
`store` (the configuration, reloaded in place), `lifecycle` (uvicorn over TLS, graceful shutdown).
"""
