"""What is wrong with the kubeconfig `initgate audit --cluster` would load, said before the client
loads it: the client says "Invalid kube-config file. No configuration found" for a file that is
not there, and raises what its YAML parser raises for one that is not YAML."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import yaml

KUBE_CONFIG = Path("~/.kube/config")


def kubeconfig_problem(given: Path | None, context: str | None = None) -> str:
    """What is wrong with the kubeconfig the client would load, or with the `context` asked of
    it, and what to do; "" when nothing is (or the client will use the pod's service account)."""
    if given is not None:
        return _file_problem(given) or _context_problem([given], context)
    if "KUBECONFIG" in os.environ:
        paths = [p for p in os.environ["KUBECONFIG"].split(os.pathsep) if p]
        existing = [Path(p).expanduser() for p in paths if Path(p).expanduser().is_file()]
        if paths and not existing:
            return (
                f"KUBECONFIG={os.environ['KUBECONFIG']}: no such file: set KUBECONFIG to an "
                "existing kubeconfig, or give --kubeconfig FILE"
            )
        return _context_problem(existing, context)
    if KUBE_CONFIG.expanduser().is_file():
        return _context_problem([KUBE_CONFIG.expanduser()], context)
    if "KUBERNETES_SERVICE_HOST" not in os.environ:
        return (
            f"no kubeconfig: {KUBE_CONFIG} does not exist and KUBECONFIG is not set; give "
            "--kubeconfig FILE (or run in a pod with a service account)"
        )
    return ""


def _context_problem(files: list[Path], context: str | None) -> str:
    """An unknown `--context`, in one line that lists the ones there are (the client says
    "Invalid kube-config file. Expected object with name X in PATH/contexts list")."""
    if context is None:
        return ""
    known: list[str] = []
    for file in files:
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return ""  # the client says what is wrong with the file itself
        listed = data.get("contexts") if isinstance(data, dict) else None
        for entry in listed if isinstance(listed, list) else []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str) and name not in known:
                known.append(name)
    if context in known:
        return ""
    close = difflib.get_close_matches(context, known, n=1, cutoff=0.7)
    there = f"the contexts are {', '.join(known)}" if known else "it has no contexts"
    guess = f"did you mean {close[0]!r}? " if close else ""
    listing = "`kubectl config get-contexts` lists them"
    return f"no context {context!r} in the kubeconfig ({there}); {guess}{listing}"


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
