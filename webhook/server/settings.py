"""Start-up settings of the server (not the policy configuration, which reloads: see `config`).

Validated once at start-up and injected; only the command line (`webhook.cli`) builds them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from webhook.server.connections import HEAD_TIMEOUT
from webhook.server.endpoint import MAX_BODY_BYTES, READ_TIMEOUT

MAX_CONNECTIONS = 1000
"""A connection that would make more open closes the one that has kept the server waiting
longest (see `connections`): the API servers of a cluster need a few dozen connections, and each
idle one holds memory."""
MAX_HEAD_BYTES = 16 * 1024
"""A request head (request line and headers) above this gets 400 and loses its connection
(uvicorn's `h11_max_incomplete_event_size`): the API server sends well under 1 KiB. A head on its
way holds about three times its size (TLS buffers, then h11's): at 16 KiB, a thousand of them
take under 100 MiB, within the chart's memory limit (docs/operations.md)."""


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "0.0.0.0"  # noqa: S104 - a webhook in a pod listens on the pod's address
    port: int = Field(8443, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"  # noqa: S104
    metrics_port: int = Field(9090, ge=0, le=65535)
    """0 disables the metrics listener."""
    config_path: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    client_ca: Path | None = None
    """When set, clients must present a certificate signed by this CA (mutual TLS)."""
    state_dir: Path = Path(".state")
    """Where the development CA and certificate go when no certificate is given."""
    max_body_bytes: int = Field(MAX_BODY_BYTES, ge=1024)
    max_connections: int = Field(MAX_CONNECTIONS, ge=1)
    """Open connections beyond this close the one waiting longest for its client."""
    head_timeout: float = Field(HEAD_TIMEOUT, gt=0)
    """Seconds a connection has to send a whole request head, else it is closed."""
    read_timeout: float = Field(READ_TIMEOUT, gt=0)
    """Seconds a client has to send a request body whole before it gets 408."""
    reload_interval: float = Field(2.0, gt=0)
    """Seconds between checks of the configuration and certificate files."""
    shutdown_delay: float = Field(3.0, ge=0)
    """Seconds between SIGTERM (readiness fails) and closing the listener."""
    graceful_timeout: int = Field(10, ge=0)
    """Seconds in-flight requests get to finish once the listener is closed."""
    log_level: str = "info"

    @model_validator(mode="after")
    def _pair(self) -> ServerSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("--tls-cert and --tls-key go together")
        return self
