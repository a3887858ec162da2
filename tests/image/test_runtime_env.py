"""The Python environment the image ships, built here as the Dockerfile builds it (by
`scripts/runtime-env.sh`, from the same build context): `initgate audit --cluster` works from it
(its imports, a scan, PolicyReports, CEL), `initgate serve` never loads the cluster client, it
holds nothing that does not run, and its SBOM lists exactly what it holds. (`image-check` builds
the real image; it needs root and buildah and is not part of `make test`.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support import reviews
from tests.support.server import Material, free_port
from tests.webhook.audit.apiserver import Replay

pytestmark = pytest.mark.image

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (ROOT / "scripts" / "runtime-env.sh").read_text()
LEFT_OUT = re.search(r"^LEFT_OUT=\((.*)\)$", SCRIPT, re.M)
assert LEFT_OUT is not None
LEFT_OUT_NAMES = set(LEFT_OUT.group(1).split())
TOOLS = {"pip", "setuptools", "wheel", "cyclonedx-bom", "cyclonedx-python-lib"}


@dataclass(frozen=True)
class Runtime:
    venv: Path
    site: Path

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, check=False, capture_output=True, text=True, timeout=120, cwd=self.venv
        )


def build_context(into: Path) -> None:
    """What `docker build` would send: the paths .dockerignore allows, less bytecode."""
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    for line in ignore:
        if not line.startswith("!"):
            continue
        source = ROOT / line[1:].rstrip("/")
        target = into / source.relative_to(ROOT)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    context = tmp_path_factory.mktemp("context")
    build_context(context)
    venv = tmp_path_factory.mktemp("runtime") / "initgate"
    script = [str(context / "scripts" / "runtime-env.sh")]
    environment = {**os.environ, "PYTHON": sys.executable}
    for step in (["deps", str(venv)], ["project", str(venv)], ["sbom", str(venv), "sbom.json"]):
        done = subprocess.run(
            [*script, *step],
            check=False,
            cwd=context,
            env=environment,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stderr
    shutil.move(context / "sbom.json", venv / "sbom.cdx.json")
    site = subprocess.run(
        [venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Runtime(venv, Path(site))


def client_apis() -> set[str]:
    """The kubernetes client's API classes the audit's sources call."""
    sources = "".join(p.read_text() for p in (ROOT / "webhook" / "audit").glob("*.py"))
    return set(re.findall(r"\bclient\.(\w+Api)\(", sources))


def test_what_the_audit_imports_is_there(runtime: Runtime) -> None:
    apis = client_apis()
    assert {"CoreV1Api", "AdmissionregistrationV1Api", "CustomObjectsApi"} <= apis
    modules = sorted(f"webhook.audit.{p.stem}" for p in (ROOT / "webhook/audit").glob("[!_]*.py"))
    check = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import webhook.cli.main, webhook.cli.auditing, cel_expr_python\n"
        "from kubernetes import client\n"
        f"for api in {sorted(apis)!r}: getattr(client, api)\n"
        "try:\n    import aiohttp\nexcept ImportError:\n    print('ok')\n"
    )
    done = runtime.run(runtime.python, "-c", check)
    assert (done.returncode, done.stderr, done.stdout) == (0, "", "ok\n")


def validating_configuration() -> dict[str, object]:
    """A configuration routing pods through a CEL matchCondition (the audit evaluates it)."""
    condition = {"name": "not-kube", "expression": '!object.metadata.name.startsWith("kube-")'}
    rules = [
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"], "resources": ["pods"]}
    ]
    entry = {
        "name": "enforce.validate.initgate.io",
        "clientConfig": {"service": {"name": "initgate", "path": "/validate"}},
        "rules": rules,
        "matchConditions": [condition],
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "initgate"},
        "webhooks": [entry],
    }


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[Replay]:
    server = Replay(tmp_path / "apiserver")
    yield server
    server.stop()


def test_a_cluster_audit_runs_from_it(runtime: Runtime, replay: Replay, tmp_path: Path) -> None:
    kubeconfig = str(replay.kubeconfig(tmp_path / "kubeconfig"))
    replay.state.webhook_configurations[("validatingwebhookconfigurations", "initgate")] = (
        validating_configuration()
    )
    initgate = str(runtime.venv / "bin" / "initgate")
    argv = [initgate, "audit", "--cluster", "--kubeconfig", kubeconfig, "-o", "json"]
    done = runtime.run(*argv, "--webhook-configuration", "initgate")
    assert done.returncode == 1, done.stderr  # the recorded cluster runs pods enforce would deny
    outcomes = {o["outcome"] for o in json.loads(done.stdout)["objects"]}
    assert "denied" in outcomes
    readiness = runtime.run(*argv, "--readiness")
    assert readiness.returncode in (0, 1), readiness.stderr
    assert json.loads(readiness.stdout)


def test_policy_reports_are_written_from_it(
    runtime: Runtime, replay: Replay, tmp_path: Path
) -> None:
    replay.state.policy_reports = True
    kubeconfig = str(replay.kubeconfig(tmp_path / "kubeconfig"))
    argv = ["audit", "--cluster", "--kubeconfig", kubeconfig, "--interval", "1s"]
    process = subprocess.Popen(
        [runtime.venv / "bin" / "initgate", *argv, "--policy-reports", "--metrics-port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not replay.state.reports and process.poll() is None:
            assert time.monotonic() < deadline, "no PolicyReport written"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert replay.state.reports, errors
    assert process.returncode == 0, errors


def test_serve_never_loads_the_cluster_client(runtime: Runtime, tmp_path: Path) -> None:
    """`-X importtime` lists every module the process imports, on the request path too."""
    tls = Material.create(tmp_path)
    port = free_port()
    process = subprocess.Popen(
        [
            runtime.python, "-X", "importtime", "-m", "webhook.cli", "serve",
            "--host", "127.0.0.1", "--port", str(port), "--metrics-port", "0",
            "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=tls.context()) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.HTTPError:
                    assert time.monotonic() < deadline, "serve did not become ready"
                    time.sleep(0.1)
            for webhook in ("validate", "mutate"):
                body = reviews.captured_bytes("pod-create-two-init", webhook)
                headers = {"content-type": "application/json"}
                assert client.post(f"/{webhook}", content=body, headers=headers).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors[-2000:]
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in errors.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert "uvicorn" in imported  # the listing works
    assert {m for m in imported if m.split(".")[0] in ("kubernetes", "aiohttp")} == set()


def distributions(runtime: Runtime) -> dict[str, str]:
    listing = runtime.run(
        runtime.python,
        "-c",
        "import importlib.metadata as m\n"
        "for d in m.distributions(): print(d.metadata['Name'], d.version)",
    )
    assert listing.returncode == 0, listing.stderr
    return dict(line.split(" ", 1) for line in listing.stdout.splitlines())


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_it_holds_only_what_runs(runtime: Runtime) -> None:
    installed = {canonical(name) for name in distributions(runtime)}
    assert not installed & (TOOLS | LEFT_OUT_NAMES)
    assert "kubernetes" in installed
    assert not (runtime.site / "kubernetes" / "aio").exists()
    assert not (runtime.venv / "bin" / "pip").exists()
    for library in runtime.site.rglob("*.so"):
        sections = subprocess.run(
            ["readelf", "-S", "-W", library], capture_output=True, text=True, check=True
        ).stdout
        assert ".debug_info" not in sections, library


def test_the_sbom_lists_exactly_what_it_holds(runtime: Runtime) -> None:
    sbom = json.loads((runtime.venv / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX"
    installed = {canonical(n): v for n, v in distributions(runtime).items()}
    assert "initgate" in installed
    listed = {canonical(c["name"]): c["version"] for c in sbom["components"]}
    assert listed == installed
    # initgate itself is a local build: it has no PyPI package URL; everything else has one.
    assert {c["name"] for c in sbom["components"] if "purl" not in c} == {"initgate"}
    assert all(c["purl"].startswith("pkg:pypi/") for c in sbom["components"] if "purl" in c)


def test_the_left_out_packages_are_needed_by_the_kubernetes_client_alone() -> None:
    """Each package the script leaves out is in the lock only because kubernetes (its asyncio
    half) or another left-out package requires it: nothing that runs needs them."""
    needed_by: dict[str, set[str]] = {}
    blocks = re.split(r"\n(?=[a-z0-9])", (ROOT / "requirements.lock").read_text())
    for block in blocks:
        head = re.match(r"([a-z0-9][a-z0-9._-]*)==", block)
        if head:
            vias = re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", block.split("# via", 1)[1])
            needed_by[canonical(head.group(1))] = {canonical(v) for v in vias}
    for package in LEFT_OUT_NAMES:
        assert package in needed_by, package
        assert needed_by[package] <= LEFT_OUT_NAMES | {"kubernetes"}, (package, needed_by[package])
