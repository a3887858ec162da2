"""Where the documentation's commands run: a folder laid out as a reader's checkout (copies of
`charts/`, `tests/data/` and `docs/rules/`, the project's `.venv` and `.tools` on PATH) plus the files a page's
commands name as a reader's own (`tests/docs/files/`: `pod.yaml`, `app.yaml`, `jobs/`,
`deploy/`, `policy.yaml`; `chart/`, a copy of the chart; `rendered.yaml`, what `helm template`
made of a chart), so that a command that writes (`mutate --in-place`) never touches the
repository.

Two options bring what some commands need: `server`, an `initgate serve` as `make run` starts it
(development certificate in `.state/`, the port put where the page says 8443), and `cluster`, the
replayed API server (tests/webhook/audit/apiserver.py) holding `tests/docs/cluster.yaml` and the
webhook configurations of `deploy/initgate.yaml`, with contexts `replay` (current) and `prod`.
"""

from __future__ import annotations

import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.docs.snippets import ROOT
from tests.support.server import free_port
from tests.webhook.audit.apiserver import Replay, State

FILES = Path(__file__).resolve().parent / "files"
CLUSTER = Path(__file__).resolve().parent / "cluster.yaml"
COPIED = ("charts", "tests/data", "docs/rules")
RESOURCES = {
    "Namespace": "namespaces",
    "Pod": "pods",
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "DaemonSet": "daemonsets",
    "Job": "jobs",
    "CronJob": "cronjobs",
}
TIMEOUT = 60


@dataclass
class Sandbox:
    folder: Path
    env: dict[str, str]
    port: int | None = None

    def run(self, command: str) -> tuple[int, str]:
        """Run `command` with bash, as a reader would paste it; its status and what it printed
        (standard output and error, as a terminal shows them)."""
        if self.port is not None:
            command = command.replace("127.0.0.1:8443", f"127.0.0.1:{self.port}")
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=self.folder,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        return done.returncode, done.stdout

    def write(self, name: str, text: str) -> None:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@contextmanager
def sandbox(folder: Path, *, server: bool = False, cluster: bool = False) -> Iterator[Sandbox]:
    for name in COPIED:
        shutil.copytree(ROOT / name, folder / name, symlinks=True)
    shutil.copytree(FILES, folder, dirs_exist_ok=True)
    shutil.copytree(ROOT / "charts" / "initgate", folder / "chart")
    shutil.copy(ROOT / "tests" / "data" / "manifests" / "helm" / "rendered.yaml", folder)
    (folder / ".venv").symlink_to(ROOT / ".venv")
    path = os.pathsep.join(
        [str(ROOT / ".venv" / "bin"), str(ROOT / ".tools" / "bin"), os.environ["PATH"]]
    )
    env = {"PATH": path, "HOME": str(folder), "LANG": "C.UTF-8", "COLUMNS": "200"}
    box = Sandbox(folder, env)
    with ExitStack() as stack:
        if cluster:
            env["KUBECONFIG"] = str(stack.enter_context(_cluster(folder)))
        if server:
            box.port = stack.enter_context(_server(box))
        yield box


@contextmanager
def _cluster(folder: Path) -> Iterator[Path]:
    replay = Replay(folder / ".apiserver")
    try:
        replay.state = State(recorded=False)
        for obj in yaml.safe_load_all(CLUSTER.read_text()):
            replay.state.extra.setdefault(RESOURCES[obj["kind"]], []).append(obj)
        for obj in yaml.safe_load_all((ROOT / "deploy" / "initgate.yaml").read_text()):
            if obj and obj["kind"].endswith("WebhookConfiguration"):
                resource = obj["kind"].lower() + "s"
                replay.state.webhook_configurations[(resource, obj["metadata"]["name"])] = obj
        (folder / ".kube").mkdir()
        kubeconfig = replay.kubeconfig(folder / ".kube" / "config")
        config = yaml.safe_load(kubeconfig.read_text())
        config["contexts"].append({"name": "prod", "context": config["contexts"][0]["context"]})
        kubeconfig.write_text(yaml.safe_dump(config))
        yield kubeconfig
    finally:
        replay.stop()


@contextmanager
def _server(box: Sandbox) -> Iterator[int]:
    """`make run`'s server: a development certificate in `.state`, its CA in `.state/ca.crt`."""
    port = free_port()
    log = (box.folder / "serve.log").open("wb")
    serve = [str(ROOT / ".venv" / "bin" / "initgate"), "serve", "--host", "127.0.0.1"]
    serve += ["--port", str(port), "--metrics-port", "0", "--state-dir", ".state"]
    process = subprocess.Popen(
        serve,
        cwd=box.folder,
        env=box.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _ready(box.folder / ".state" / "ca.crt", port, process)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _ready(ca: Path, port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait for /readyz over TLS verified with the development CA (which appears first)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        if ca.exists():
            try:
                context = ssl.create_default_context(cafile=str(ca))
                url = f"https://127.0.0.1:{port}/readyz"
                with urllib.request.urlopen(url, context=context, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (OSError, ssl.SSLError):
                pass
        time.sleep(0.05)
    raise AssertionError(f"initgate serve did not become ready (exit status {process.poll()})")


def matches(expected: str, actual: str) -> bool:
    """Whether `actual` is what `expected` shows: line by line, `...` standing for any text."""
    wanted, got = expected.rstrip("\n").split("\n"), actual.rstrip("\n").split("\n")
    if len(wanted) != len(got):
        return False
    return all(_line(w).fullmatch(g) is not None for w, g in zip(wanted, got, strict=True))


def _line(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.split("...")))
