"""What is wrong with the kubeconfig `initgate audit --cluster` would load, said before the client
loads it: the client says "Invalid kube-config file. No configuration found" for a file that is
not there, and raises what its YAML parser raises for one that is not YAML."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

KUBE_CONFIG = Path("~/.kube/config")


def kubeconfig_problem(given: Path | None) -> str:
    """What is wrong with the kubeconfig the client would load, and what to do; "" when nothing
    is (or the client will use the pod's service account)."""
    if given is not None:
        return _file_problem(given)
    if "KUBECONFIG" in os.environ:
        paths = [p for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        if paths and not any(Path(p).expanduser().is_file() for p in paths):
            return (
                f"KUBECONFIG={os.environ['KUBECONFIG']}: no such file: set KUBECONFIG to an "
                "existing kubeconfig, or give --kubeconfig FILE"
            )
        return ""
    if "KUBERNETES_SERVICE_HOST" not in os.environ and not KUBE_CONFIG.expanduser().is_file():
        return (
            f"no kubeconfig: {KUBE_CONFIG} does not exist and KUBECONFIG is not set; give "
            "--kubeconfig FILE (or run in a pod with a service account)"
        )
    return ""


def _file_problem(given: Path) -> str:
    if not given.is_file():
        what = "is a directory" if given.is_dir() else "does not exist"
        return (
            f"kubeconfig {given} {what}: give --kubeconfig an existing file, or leave it out "
            "to use $KUBECONFIG or ~/.kube/config"
        )
    try:
        data = yaml.safe_load(given.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        why = getattr(error, "strerror", None) or getattr(error, "problem", None) or error
        return f"kubeconfig {given}: cannot read it: {why}"
    if not isinstance(data, dict):
        return (
            f"kubeconfig {given} is not a kubeconfig (a mapping of clusters, users and contexts, "
            "as kubectl config view prints)"
        )
    return ""
