"""Rendering the chart with the real helm, once per set of arguments per session."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "initgate"
CI_VALUES = tuple(sorted((CHART / "ci").glob("*-values.yaml")))
RELEASE = "initgate"
NAMESPACE = "initgate"
# Kinds whose schema comes with a CRD, not with Kubernetes: checked structurally instead.
CRD_KINDS = frozenset(("Certificate", "Issuer", "ServiceMonitor", "PrometheusRule"))


@functools.cache
def helm() -> str:
    local = ROOT / ".tools" / "bin" / "helm"
    found = str(local) if local.exists() else shutil.which("helm")
    assert found, "helm is missing: run scripts/install-tools.sh (make chart does)"
    return found


def run_helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [helm(), *args], check=False, capture_output=True, text=True, timeout=60
    )
    if check:
        assert result.returncode == 0, f"helm {' '.join(args)} failed:\n{result.stderr}"
    return result


@dataclass(frozen=True)
class Rendered:
    """The objects of one `helm template`, in helm's order, with the template each came from."""

    objects: tuple[dict[str, Any], ...]
    sources: tuple[str, ...]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str, name: str | None = None) -> dict[str, Any]:
        """The single object of `kind` (named `name`, when several)."""
        found = [o for o in self.of(kind) if name is None or o["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
        return found[0]

    def kinds(self) -> set[str]:
        return {o["kind"] for o in self.objects}


def parse(text: str) -> Rendered:
    objects, sources = [], []
    for chunk in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        obj = yaml.safe_load(chunk)
        if obj:
            source = re.search(r"^# Source: (\S+)$", chunk, flags=re.MULTILINE)
            objects.append(obj)
            sources.append(source.group(1) if source else "")
    return Rendered(tuple(objects), tuple(sources))


@functools.cache
def render(*args: str, release: str = RELEASE, namespace: str = NAMESPACE) -> Rendered:
    """`helm template` of the chart with extra arguments (`-f FILE`, `--set K=V`), cached."""
    result = run_helm("template", release, str(CHART), "--namespace", namespace, *args)
    return parse(result.stdout)


def render_values(path: Path) -> Rendered:
    return render("-f", str(path))


def webhook_container(rendered: Rendered) -> dict[str, Any]:
    deployment = rendered.one("Deployment", RELEASE)
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container
