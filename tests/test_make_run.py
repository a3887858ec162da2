"""`make run` as a newcomer runs it: on ports of their choice (`PORT`, `METRICS_PORT`), and on a
busy port with a line that says how to choose others (the server's own line names `--port`, which
`make run` does not take)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent


def make_run(*variables: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["make", "--no-print-directory", "-s", "run", *variables],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: Ctrl-C reaches make and the server
    )


def test_a_busy_port_says_how_to_choose_another() -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        running = make_run(f"PORT={port}", f"METRICS_PORT={free_port()}")
        _, errors = running.communicate(timeout=60)
    assert running.returncode == 2
    lines = errors.splitlines()
    cannot = f"initgate: cannot start: cannot listen on 127.0.0.1:{port}: "
    index = next(n for n, line in enumerate(lines) if line.startswith(cannot))
    assert lines[index + 1].startswith(f"make run: other ports: make run PORT={port + 1} ")


def test_the_ports_can_be_chosen() -> None:
    port, metrics = free_port(), free_port()
    running = make_run(f"PORT={port}", f"METRICS_PORT={metrics}")
    try:
        deadline = time.monotonic() + 60
        while True:
            assert running.poll() is None, running.communicate()[1]
            try:
                trust = ssl.create_default_context(cafile=ROOT / ".state" / "ca.crt")
                ready = httpx.get(f"https://127.0.0.1:{port}/readyz", verify=trust)
                break
            except (httpx.HTTPError, OSError):
                assert time.monotonic() < deadline, "make run did not serve on PORT"
                time.sleep(0.1)
        assert ready.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{metrics}/metrics").status_code == 200
    finally:
        os.killpg(running.pid, signal.SIGINT)
        running.communicate(timeout=30)
