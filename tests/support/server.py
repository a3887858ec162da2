"""A real `initgate serve` process, over real TLS with a CA of its own, for integration tests."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from cryptography import x509
from prometheus_client.parser import text_string_to_metric_families

from webhook.server.tls import Issued, issue

T = TypeVar("T")


def eventually(probe: Callable[[], T], accept: Callable[[T], bool], timeout: float = 10.0) -> T:
    """`probe()` once `accept` holds of it, else its last value after `timeout` seconds. The
    server records a decision (metrics, the log line) just after it sends the answer, so a client
    that has the answer can be a moment early for the record."""
    deadline = time.monotonic() + timeout
    value = probe()
    while not accept(value) and time.monotonic() < deadline:
        time.sleep(0.02)
        value = probe()
    return value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class AtomicVolume:
    """A folder laid out as the kubelet writes a Secret or ConfigMap volume: each file is a symlink
    `name -> ..data/name`, `..data` a symlink to a timestamped folder, and an update writes a new
    folder and swaps `..data` with one atomic rename."""

    _versions = itertools.count()

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.folder / name

    def write(self, files: Mapping[str, bytes]) -> None:
        """Replace the whole content of the volume at once."""
        version = self.folder / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{next(self._versions)}"
        version.mkdir()
        for name, data in files.items():
            (version / name).write_bytes(data)
        previous = (self.folder / "..data").resolve() if (self.folder / "..data").exists() else None
        staging = self.folder / "..data_tmp"
        staging.symlink_to(version.name)
        staging.replace(self.folder / "..data")
        for name in files:
            if not (self.folder / name).is_symlink():
                (self.folder / name).symlink_to(Path("..data") / name)
        if previous is not None:
            for stale in previous.iterdir():
                stale.unlink()
            previous.rmdir()


@dataclass(frozen=True)
class Material:
    """A CA and a server certificate for 127.0.0.1 and localhost, written to files (plain files,
    or a Secret-style `AtomicVolume` when `volume` is set)."""

    ca: Path
    cert: Path
    key: Path
    authority: Issued
    volume: AtomicVolume | None = None

    @classmethod
    def create(cls, folder: Path, *, name: str = "server", volume: bool = False) -> Material:
        folder.mkdir(parents=True, exist_ok=True)
        authority = issue(f"test CA {name}", days=30)
        server = issue("initgate test", issuer=authority, hosts=("127.0.0.1", "localhost"), days=30)
        ca = folder / f"{name}-ca.crt"
        ca.write_bytes(authority.cert)
        if volume:
            secret = AtomicVolume(folder / f"{name}-secret")
            secret.write({"tls.crt": server.cert, "tls.key": server.key})
            return cls(
                ca=ca,
                cert=secret.path("tls.crt"),
                key=secret.path("tls.key"),
                authority=authority,
                volume=secret,
            )
        cert, key = folder / f"{name}.crt", folder / f"{name}.key"
        cert.write_bytes(server.cert)
        key.write_bytes(server.key)
        return cls(ca=ca, cert=cert, key=key, authority=authority)

    def issue(self, *, days: int = 30) -> Issued:
        """A new server certificate and key from the same CA (not written anywhere)."""
        return issue(
            "initgate test", issuer=self.authority, hosts=("127.0.0.1", "localhost"), days=days
        )

    def reissue(self, *, days: int = 30) -> Issued:
        """Write a new certificate and key from the same CA (a rotation); returns them."""
        server = self.issue(days=days)
        self.install(cert=server.cert, key=server.key)
        return server

    def install(self, *, cert: bytes, key: bytes) -> None:
        """Put this certificate and key in place: one atomic swap of a volume, or (plain files)
        rewritten in place one after the other, as a process rotating files without care would."""
        if self.volume is not None:
            self.volume.write({"tls.crt": cert, "tls.key": key})
            return
        self.cert.write_bytes(cert)
        self.key.write_bytes(key)

    def context(self) -> ssl.SSLContext:
        """A client context that trusts only this CA."""
        return ssl.create_default_context(cafile=str(self.ca))


def serial(pem: bytes) -> int:
    """The serial number of the first certificate in `pem`."""
    return x509.load_pem_x509_certificate(pem).serial_number


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    base: str
    metrics: str
    tls: Material
    config: Path
    log: Path
    client_cert: tuple[Path, Path] | None = None
    """The certificate and key the test clients present (a server started with --client-ca)."""

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    def client(self, **options: object) -> httpx.Client:
        options.setdefault("timeout", 10)
        return httpx.Client(base_url=self.base, verify=self.context(), **options)  # type: ignore[arg-type]

    def context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA (and presents `client_cert`, if any)."""
        context = self.tls.context()
        if self.client_cert is not None:
            context.load_cert_chain(*self.client_cert)
        return context

    def connect(
        self, context: ssl.SSLContext | None = None, *, timeout: float = 5
    ) -> ssl.SSLSocket:
        """A new TLS connection, verified against the test CA unless `context` says otherwise."""
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return (context or self.context()).wrap_socket(raw, server_hostname="127.0.0.1")

    def serving_serial(self) -> int:
        """The serial number of the certificate a new connection is given."""
        with self.connect() as connection:
            der = connection.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der).serial_number

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample on the metrics endpoint (0 when absent, as for a counter that
        was never incremented)."""
        text = httpx.get(self.metrics, timeout=5).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0

    def reloads(self, result: str) -> float:
        """Configuration loads so far with `result` (success, failure), the start included."""
        return self.metric("initgate_config_reloads_total", result=result)

    def reconfigure(self, text: str, *, result: str) -> None:
        """Replace the configuration file at once (a rename, as a ConfigMap volume swaps it) with
        `text`, and wait until the server has judged it: `result` success or failure."""
        count = self.reloads(result)
        staging = self.config.with_suffix(".tmp")
        staging.write_text(text)
        staging.replace(self.config)
        if eventually(lambda: self.reloads(result), lambda now: now > count) <= count:
            raise TimeoutError(f"no configuration reload {result} after 10 s:\n{self.logs()}")

    def rss(self) -> int:
        """Resident memory of the server process, in bytes (from /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS in /proc status")

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def log_entries(self) -> list[dict[str, Any]]:
        """The server's JSON log lines, parsed (any other line is an error in itself)."""
        # The last line may still be being written: only whole lines count.
        whole = self.logs().split("\n")[:-1]
        return [json.loads(line) for line in whole if line.strip()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def serving(folder: Path, **options: Any) -> Iterator[Served]:
    """A server for a fixture (`yield from serving(...)`): `start(folder, **options)`, and once
    the fixture ends, SIGTERM and a clean exit (status 0; else its log says why)."""
    running = start(folder, **options)
    yield running
    assert running.stop() == 0, running.logs()


def start(
    folder: Path,
    *,
    config: str = "",
    config_path: Path | None = None,
    args: Sequence[str] = (),
    tls: Material | None = None,
    client_cert: tuple[Path, Path] | None = None,
    ready_timeout: float = 20,
) -> Served:
    """Start `initgate serve` on free ports and wait until /readyz answers over verified TLS.
    The configuration is `config` written to a file, or the file at `config_path` as it is."""
    folder.mkdir(parents=True, exist_ok=True)
    tls = tls or Material.create(folder)
    if config_path is None:
        config_path = folder / "config.yaml"
        config_path.write_text(config)
    config_file = config_path
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
        # Unbuffered, so that a test reads every log line the server has written.
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environment)
    served = Served(
        process=process,
        base=f"https://127.0.0.1:{port}",
        metrics=f"http://127.0.0.1:{metrics_port}/metrics",
        tls=tls,
        config=config_file,
        log=log,
        client_cert=client_cert,
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
