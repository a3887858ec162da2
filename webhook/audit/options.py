"""What `initgate audit` and `initgate mutate` are asked to do (the command line builds these)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from policies.base import Mode
from webhook.audit.report import FailOn

USAGE_ERROR = 2
"""The exit status of every command for input or usage it cannot use (1: denied, or failed)."""
Output = Literal["table", "json", "sarif"]


@dataclass(frozen=True, kw_only=True)
class AuditOptions:
    files: tuple[str, ...] = ()
    cluster: bool = False
    config: Path | None = None
    output: Output = "table"
    fail_on: FailOn = "deny"
    namespace: str | None = None
    mode: Mode = Mode.ENFORCE
    default_mode: Mode = Mode.ENFORCE
    exclude_namespaces: tuple[str, ...] = ()
    webhook_configuration: str | None = None
    """--cluster: route objects by the live webhook configurations of this name."""
    kubeconfig: Path | None = None
    context: str | None = None
    page_size: int = 500
    interval: float | None = None
    metrics_host: str = "0.0.0.0"  # noqa: S104 - the chart's audit Deployment is scraped remotely
    metrics_port: int = 9090
    policy_reports: bool = False
    readiness: bool = False
    """--cluster: per namespace, what enforce mode would do, and the move up it allows."""
    by_labels: bool = False
    """--readiness: route by namespace labels and `default_mode` (given on the command line)
    rather than by the live webhook configurations."""


READINESS_CONFIGURATION = "initgate"
"""The webhook configurations --readiness reads unless told otherwise: the chart's, installed as
README.md installs it (release `initgate`)."""


@dataclass(frozen=True, kw_only=True)
class MutateOptions:
    files: tuple[str, ...]
    config: Path | None = None
    namespace: str = "default"
    mode: Mode = Mode.ENFORCE
    templates: bool = True
    """Apply to each workload's pod template what its pods would get."""
    show: Literal["manifests", "diff", "patch"] = "manifests"
    in_place: bool = False
    """Write the changes into the files instead of printing anything."""
