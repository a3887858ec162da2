"""Every command: a file it cannot read, a URL it cannot reach, a kubeconfig it cannot load is one
line naming the cause and what to do, exit status 2, never a traceback. Real files, a real TLS
server (the replay API server) and real refused connections."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import Material, free_port
from tests.webhook.audit.apiserver import Replay
from webhook.cli.main import main


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    replay = Replay(tmp_path_factory.mktemp("apiserver"))
    yield replay
    replay.stop()


def fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """The one line a command prints before exiting 2."""
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


@pytest.fixture
def latin1(tmp_path: Path) -> Path:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("mode: enforce # caf\xe9\n".encode("latin-1"))
    return path


def test_files_that_cannot_be_read(
    tmp_path: Path, latin1: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "missing.yaml")
    assert (
        fails(["review", missing], capsys)
        == f"initgate review: {missing}: no such file or directory"
    )
    assert fails(["review", "--config", missing, missing], capsys).startswith(
        f"initgate review: {missing}: cannot read: No such file"
    )
    assert fails(["mutate", "-f", missing], capsys).endswith("no such file or directory")
    assert fails(["config", "validate", str(latin1)], capsys) == (
        f"{latin1}: cannot read: not UTF-8 text"
    )
    assert fails(["audit", "-f", str(latin1), "--config", str(latin1)], capsys) == (
        f"initgate audit: {latin1}: cannot read: not UTF-8 text"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert fails(["audit", "-f", str(empty)], capsys).startswith(
        f"initgate audit: {empty}: no manifest in this directory"
    )


def test_a_missing_or_broken_kubeconfig(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """This said "Invalid kube-config file. No configuration found" for a file that is not there."""
    assert fails(["audit", "--cluster", "--kubeconfig", "/nope"], capsys) == (
        "initgate audit: kubeconfig /nope does not exist: give --kubeconfig an existing file, "
        "or leave it out to use $KUBECONFIG or ~/.kube/config"
    )
    broken = tmp_path / "kubeconfig"
    broken.write_text("clusters: [unclosed\n")
    assert fails(["audit", "--cluster", "--kubeconfig", str(broken)], capsys).startswith(
        f"initgate audit: kubeconfig {broken}: cannot read it: "
    )
    broken.write_text("- a list\n")
    assert "is not a kubeconfig" in fails(
        ["audit", "--cluster", "--kubeconfig", str(broken)], capsys
    )


KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts:
  - {name: kind-dev, context: {cluster: c, user: u}}
  - {name: prod, context: {cluster: c, user: u}}
current-context: kind-dev
"""


def test_an_unknown_context(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """This printed the client's "Invalid kube-config file. Expected object with name prd in
    /home/.../config/contexts list" (issue 22)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    line = fails(
        ["audit", "--cluster", "--kubeconfig", str(kubeconfig), "--context", "prd"], capsys
    )
    assert line == (
        "initgate audit: no context 'prd' in the kubeconfig (the contexts are kind-dev, prod); "
        "did you mean 'prod'? `kubectl config get-contexts` lists them"
    )
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{kubeconfig}")
    line = fails(["audit", "--cluster", "--readiness", "--context", "staging"], capsys)
    assert line == (
        "initgate audit: no context 'staging' in the kubeconfig (the contexts are kind-dev, "
        "prod); `kubectl config get-contexts` lists them"
    )
    assert str(tmp_path) not in line


@pytest.mark.integration
def test_an_api_server_that_cannot_be_reached(
    server: Replay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
    port = free_port()
    kubeconfig.write_text(kubeconfig.read_text().replace(server.url, f"https://127.0.0.1:{port}"))
    assert fails(["audit", "--cluster", "--kubeconfig", str(kubeconfig)], capsys) == (
        f"initgate audit: list namespaces: connection refused by 127.0.0.1:{port}: is the server "
        "running, and is the port right?"
    )
    kubeconfig = server.kubeconfig(tmp_path / "kubeconfig")
    text = kubeconfig.read_text()
    ca = text.split("certificate-authority-data: ")[1].split()[0]
    kubeconfig.write_text(text.replace(ca, _foreign_ca(tmp_path)))
    line = fails(["audit", "--cluster", "--kubeconfig", str(kubeconfig)], capsys)
    assert line.startswith("initgate audit: list namespaces: certificate not trusted (")
    assert line.endswith(
        "the kubeconfig's certificate-authority must be the one that signed the API server's"
    )


def _foreign_ca(folder: Path) -> str:
    """The base64 PEM of a CA that signed nothing the server presents."""
    other = Material.create(folder / "other", name="other")
    return base64.b64encode(other.ca.read_bytes()).decode()


@pytest.mark.integration
def test_selfcheck_names_the_cause(
    server: Replay, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """This printed raw urlopen errors (`<urlopen error [Errno 111] Connection refused>`)."""
    port = free_port()
    url = f"https://127.0.0.1:{port}/validate"
    assert fails(["selfcheck", "--url", url], capsys) == (
        f"initgate selfcheck: FAILED: {url}: connection refused by 127.0.0.1:{port}: is the "
        "server running, and is the port right?"
    )
    url = f"{server.url}/validate"
    untrusted = fails(["selfcheck", "--url", url], capsys)
    assert untrusted.startswith(f"initgate selfcheck: FAILED: {url}: certificate not trusted (")
    assert untrusted.endswith("pass --ca with the CA that signed the server's certificate")
    ca = str(server.material.ca)
    assert fails(["selfcheck", "--url", url, "--ca", ca], capsys) == (
        f"initgate selfcheck: FAILED: {url}: HTTP 401 Unauthorized"
    )
    assert fails(["selfcheck", "--url", f"{server.url}/nowhere", "--ca", ca], capsys).endswith(
        "HTTP 401 Unauthorized"
    )
    missing = tmp_path / "ca.crt"
    assert fails(["selfcheck", "--url", url, "--ca", str(missing)], capsys) == (
        f"initgate selfcheck: FAILED: --ca {missing}: cannot use it: no such file"
    )
    assert fails(["selfcheck", "--url", "ftp://initgate/validate"], capsys) == (
        "initgate selfcheck: FAILED: ftp://initgate/validate: not an https URL: give "
        "https://HOST:PORT/validate"
    )


def test_no_traceback_from_the_installed_command(tmp_path: Path) -> None:
    """The same through `python -m webhook.cli`, as a shell runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "webhook.cli", "audit", "--cluster", "--kubeconfig", "/nope"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("initgate audit: kubeconfig /nope does not exist")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("busy", "said"),
    [
        ("--metrics-port", "cannot serve metrics on 127.0.0.1:{port}: Address already in use; "),
        ("--port", "cannot listen on 127.0.0.1:{port}: Address already in use; "),
    ],
)
def test_serve_on_a_busy_port_says_so_in_one_line(tmp_path: Path, busy: str, said: str) -> None:
    """9090 is Prometheus's default port too: a clash is one line naming the port, exit 2."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"--port": str(free_port()), "--metrics-port": str(free_port()), busy: str(port)}
        done = subprocess.run(
            [
                sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                "--state-dir", str(tmp_path), *(word for pair in ports.items() for word in pair),
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    last = done.stderr.splitlines()[-1]
    assert last.startswith("initgate: cannot start: " + said.format(port=port)), last
