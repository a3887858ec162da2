"""A real `initgate serve` process, over real TLS with a CA of its own, for integration tests."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from webhook.tls import Issued, issue


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Material:
    """A CA and a server certificate for 127.0.0.1 and localhost, written to files."""

    ca: Path
    cert: Path
    key: Path
    authority: Issued

    @classmethod
    def create(cls, folder: Path, *, name: str = "server") -> Material:
        folder.mkdir(parents=True, exist_ok=True)
        authority = issue(f"test CA {name}", days=30)
        server = issue("initgate test", issuer=authority, hosts=("127.0.0.1", "localhost"), days=30)
        ca, cert, key = folder / f"{name}-ca.crt", folder / f"{name}.crt", folder / f"{name}.key"
        ca.write_bytes(authority.cert)
        cert.write_bytes(server.cert)
        key.write_bytes(server.key)
        return cls(ca=ca, cert=cert, key=key, authority=authority)

    def reissue(self) -> Issued:
        """Write a new certificate and key from the same CA (a rotation); returns them."""
        server = issue(
            "initgate test", issuer=self.authority, hosts=("127.0.0.1", "localhost"), days=30
        )
        self.cert.write_bytes(server.cert)
        self.key.write_bytes(server.key)
        return server

    def context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA."""
        return ssl.create_default_context(cafile=str(self.ca))


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    metrics: str
    tls: Material
    config: Path
    log: Path

    def client(self, **options: object) -> httpx.Client:
        return httpx.Client(base_url=self.base, verify=self.tls.context(), timeout=10, **options)  # type: ignore[arg-type]

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start(
    folder: Path,
    *,
    config: str = "",
    args: Sequence[str] = (),
    tls: Material | None = None,
    ready_timeout: float = 20,
) -> Served:
    """Start `initgate serve` on free ports and wait until /readyz answers over verified TLS."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = tls or Material.create(folder)
    config_file = folder / "config.yaml"
    config_file.write_text(config)
    port, metrics_port = free_port(), free_port()
    log = folder / "server.log"
    command = [
        sys.executable,
        "-m",
        "webhook.cli",
        "serve",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--metrics-port", str(metrics_port),
        "--tls-cert", str(tls.cert),
        "--tls-key", str(tls.key),
        "--config", str(config_file),
        "--reload-interval", "0.2",
        "--shutdown-delay", "0.5",
        *args,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    served = Served(
        process=process,
        base=f"https://127.0.0.1:{port}",
        metrics=f"http://127.0.0.1:{metrics_port}/metrics",
        tls=tls,
        config=config_file,
        log=log,
    )
    deadline = time.monotonic() + ready_timeout
    with served.client() as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"initgate exited with {process.returncode}:\n{served.logs()}")
            try:
                if client.get("/readyz").status_code == 200:
                    return served
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                served.stop(signal.SIGKILL)
                raise RuntimeError(f"initgate did not become ready:\n{served.logs()}")
            time.sleep(0.05)
