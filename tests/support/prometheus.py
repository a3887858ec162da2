"""promtool and a real Prometheus (Debian's `prometheus` package, which `make tools` installs as
root with apt-get): found in .tools/bin or on PATH, else the tests that need them skip, saying
why in one line (`make test` repeats it at its end)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml

from tests.support.server import free_port

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def tool(name: str) -> str:
    """The path of `name` (promtool or prometheus), or a skip of the calling test."""
    local = ROOT / ".tools" / "bin" / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.skip(
            f"{name} is not installed (Debian's prometheus package: `make tools` installs it "
            "as root with apt-get)"
        )
    return found


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`promtool ARGS`, its output kept (the caller asserts on its status with the output)."""
    return subprocess.run(
        [tool("promtool"), *args], cwd=cwd, check=False, capture_output=True, text=True, timeout=60
    )


Series = dict[str, Any]
"""One result of an instant query: {"metric": labels, "value": [time, "text"]}."""


class Prometheus:
    """A Prometheus server of its own: loopback, a free port, storage in a temporary folder."""

    def __init__(self, folder: Path, process: subprocess.Popen[bytes], port: int) -> None:
        self.folder = folder
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(base_url=self.url, timeout=10)

    def log(self) -> str:
        return (self.folder / "prometheus.log").read_text(errors="replace")

    def api(self, path: str, **params: str) -> Any:
        answer = self.http.get(f"/api/v1/{path}", params=params)
        body = answer.json()
        assert body.get("status") == "success", f"{path} {params}: {body}\n{self.log()}"
        return body["data"]

    def query(self, expression: str) -> list[Series]:
        """An instant query now: the series it returns (a scalar is turned into one series)."""
        data = self.api("query", query=expression)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        assert data["resultType"] == "vector", data
        result: list[Series] = data["result"]
        return result

    def targets(self) -> list[dict[str, Any]]:
        active: list[dict[str, Any]] = self.api("targets", state="active")["activeTargets"]
        return active

    def stop(self) -> None:
        self.http.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


@contextmanager
def running(
    folder: Path, scrape_configs: Sequence[Mapping[str, Any]], *, ready_timeout: float = 30
) -> Iterator[Prometheus]:
    """Prometheus scraping `scrape_configs` every second, until the block ends."""
    binary = tool("prometheus")
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "prometheus.yml"
    settings = {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"}
    config.write_text(
        yaml.safe_dump({"global": settings, "scrape_configs": [dict(c) for c in scrape_configs]})
    )
    port = free_port()
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={folder / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with (folder / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    server = Prometheus(folder, process, port)
    try:
        deadline = time.monotonic() + ready_timeout
        while not _ready(server):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not become ready:\n{server.log()}")
            time.sleep(0.1)
        yield server
    finally:
        server.stop()


def _ready(server: Prometheus) -> bool:
    try:
        return server.http.get("/-/ready").status_code == 200
    except httpx.HTTPError:
        return False


def until(what: str, probe: Callable[[], T], accept: Callable[[T], bool], timeout: float = 30) -> T:
    """`probe()` once `accept` holds of it; after `timeout` seconds, a failure naming `what` and
    the last value seen."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if accept(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last seen: {value!r}")
        time.sleep(0.1)
