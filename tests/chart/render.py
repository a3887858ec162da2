"""Rendering the chart with the real helm, once per set of arguments per session."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import subprocess
import tempfile
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


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Values as helm merges them: maps key by key, everything else replaced."""
    result = dict(base)
    for key, value in override.items():
        current = result.get(key)
        both_maps = isinstance(current, dict) and isinstance(value, dict)
        result[key] = merged(current, value) if both_maps else value  # type: ignore[arg-type]
    return result


def render_values(path: Path) -> Rendered:
    return render("-f", str(path))


@functools.cache
def _values_folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="initgate-values-"))


def values_file(values: dict[str, Any]) -> Path:
    """`values` in a file named by its content (JSON, which helm reads as YAML)."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False)
    path = _values_folder() / f"{hashlib.sha256(text.encode()).hexdigest()[:16]}.json"
    if not path.exists():
        path.write_text(text)
    return path


def render_with(values: dict[str, Any], *args: str) -> Rendered:
    """`helm template` with `values`, cached."""
    return render("-f", str(values_file(values)), *args)


def webhook_container(rendered: Rendered) -> dict[str, Any]:
    deployment = rendered.one("Deployment", RELEASE)
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container
