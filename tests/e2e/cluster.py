"""The cluster under test, through kubectl (.tools/bin or PATH) as a user would: create, read
back, and nothing that needs a pod to run."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def kubectl_binary() -> str | None:
    local = ROOT / ".tools" / "bin" / "kubectl"
    return str(local) if local.exists() else shutil.which("kubectl")


@dataclass(frozen=True)
class Result:
    status: int
    stdout: str
    stderr: str

    def warnings(self) -> list[str]:
        """The admission warnings kubectl printed (`Warning: TEXT`), as TEXT."""
        return [
            line.removeprefix("Warning: ")
            for line in self.stderr.splitlines()
            if line.startswith("Warning: ")
        ]


@dataclass
class Cluster:
    """The cluster under test and the namespaces this session created in it."""

    kubectl: str
    release_namespace: str
    default_mode: str
    configuration: str = "initgate"
    """The name of initgate's webhook configurations."""
    created: list[str] = field(default_factory=list)

    def run(self, *args: str, manifest: dict[str, Any] | None = None) -> Result:
        command = [self.kubectl, *args]
        if manifest is not None:
            command += ["-f", "-"]
        done = subprocess.run(
            command,
            input=yaml.safe_dump(manifest) if manifest is not None else None,
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def create(self, manifest: dict[str, Any], namespace: str, *extra: str) -> Result:
        return self.run("create", "--namespace", namespace, *extra, manifest=manifest)

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        """The stored object, or None when the API server has none."""
        found = self.run("get", kind, name, "--namespace", namespace, "--output", "json")
        if found.status != 0:
            assert "NotFound" in found.stderr, found.stderr
            return None
        stored: dict[str, Any] = json.loads(found.stdout)
        return stored

    def namespace(self, **labels: str) -> str:
        """A new namespace with `labels`, deleted at the end of the session. Pod Security
        Admission is told to allow anything there, so that only initgate decides."""
        name = f"initgate-e2e-{uuid.uuid4().hex[:8]}"
        labels = {**labels, "pod-security.kubernetes.io/enforce": "privileged"}
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": labels},
        }
        created = self.run("create", manifest=namespace)
        assert created.status == 0, created.stderr
        self.created.append(name)
        return name


def registered(kubectl: str, *, kubeconfig: str | None = None) -> tuple[str, str, str] | str:
    """(release namespace, default mode, configuration name) of the initgate webhooks, or why
    there are none."""
    where = ["--kubeconfig", kubeconfig] if kubeconfig else []
    found = subprocess.run(
        [
            kubectl,
            *where,
            "get",
            "validatingwebhookconfigurations",
            "-o=json",
            "--request-timeout=15s",
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    if found.returncode != 0:
        return f"cannot list webhook configurations: {found.stderr.strip()[:300]}"
    for configuration in json.loads(found.stdout)["items"]:
        entries = configuration.get("webhooks") or []
        if not any(e["name"].endswith(".validate.initgate.io") for e in entries):
            continue
        namespace = entries[0]["clientConfig"]["service"]["namespace"]
        default = "off"
        for entry in entries:
            for requirement in entry["namespaceSelector"].get("matchExpressions", []):
                if requirement["key"] == "initgate.io/mode" and requirement["operator"] == "NotIn":
                    default = entry["name"].split(".")[0]
        return namespace, default, configuration["metadata"]["name"]
    return "no ValidatingWebhookConfiguration of initgate in the cluster (install the chart first)"
