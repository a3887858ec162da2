"""The webhook Deployment and what keeps it available: hardening, mounts, arguments, probes,
shutdown, spread, disruption budget, Service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.chart.render import (
    CHART,
    CI_VALUES,
    RELEASE,
    Rendered,
    render,
    render_values,
    run_helm,
    webhook_container,
)
from webhook._version import __version__
from webhook.cli.main import parser

pytestmark = pytest.mark.chart

VALUES = pytest.mark.parametrize("values", CI_VALUES, ids=lambda p: p.name)
# Volume sources the restricted Pod Security Standard allows.
RESTRICTED_VOLUMES = {"configMap", "secret", "emptyDir", "projected", "downwardAPI"}


def pods(rendered: Rendered) -> list[dict[str, Any]]:
    """Every pod spec the chart runs: Deployments' templates and the test Pod."""
    specs = [d["spec"]["template"]["spec"] for d in rendered.of("Deployment")]
    return specs + [p["spec"] for p in rendered.of("Pod")]


def ci(name: str) -> Rendered:
    return render_values(CHART / "ci" / f"{name}-values.yaml")


@VALUES
def test_every_pod_is_hardened(values: Path) -> None:
    """What the restricted Pod Security Standard requires, and a read-only root filesystem."""
    for spec in pods(render_values(values)):
        security = spec["securityContext"]
        assert security["runAsNonRoot"] is True
        assert isinstance(security["runAsUser"], int)
        assert security["runAsUser"] > 0
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not {"hostNetwork", "hostPID", "hostIPC"} & set(spec)
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= RESTRICTED_VOLUMES, volume
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["readOnlyRootFilesystem"] is True
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["runAsNonRoot"] is True
            assert "privileged" not in context
            assert container["resources"]["requests"]
            assert container["resources"]["limits"]["memory"]


@VALUES
def test_no_api_token_outside_the_audit(values: Path) -> None:
    rendered = render_values(values)
    for account in rendered.of("ServiceAccount"):
        assert account["automountServiceAccountToken"] is False
    for deployment in rendered.of("Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        audit = deployment["metadata"]["name"].endswith("-audit")
        assert spec["automountServiceAccountToken"] is audit
    for test_pod in rendered.of("Pod"):
        assert test_pod["spec"]["automountServiceAccountToken"] is False


@VALUES
def test_arguments_and_mounts_agree(values: Path) -> None:
    """The real command-line parser accepts the arguments; every file they name is in a volume
    mounted as a whole directory (a subPath mount never sees a ConfigMap or Secret update)."""
    rendered = render_values(values)
    deployment = rendered.one("Deployment", RELEASE)
    spec = deployment["spec"]["template"]["spec"]
    container = webhook_container(rendered)
    args = parser().parse_args(container["args"])
    assert args.command == "serve"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert all("subPath" not in m and "subPathExpr" not in m for m in mounts.values())
    volumes = {v["name"]: v for v in spec["volumes"]}
    files = {
        "config": (args.config, "configMap", "config.yaml"),
        "tls": (args.tls_cert, "secret", "tls.crt"),
        "client-ca": (args.client_ca, None, None),
    }
    for name, (path, source, key) in files.items():
        if path is None:
            assert name not in volumes
            continue
        mount = mounts[str(path.parent)]
        assert mount["name"] == name
        assert mount["readOnly"] is True
        assert source is None or source in volumes[name]
        assert key is None or path.name == key
        assert "items" not in volumes[name].get(source or "", {})
    assert args.tls_key.parent == args.tls_cert.parent
    assert args.tls_key.name == "tls.key"
    config = rendered.one("ConfigMap", f"{RELEASE}-config")
    assert volumes["config"]["configMap"]["name"] == config["metadata"]["name"]
    assert set(config["data"]) == {args.config.name}
    # The server's private temporary files: an in-memory emptyDir on the read-only root.
    assert mounts["/tmp"]["name"] == "tmp"
    assert volumes["tmp"]["emptyDir"]["medium"] == "Memory"
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"https": args.port, "metrics": args.metrics_port}


@VALUES
def test_probes_and_shutdown(values: Path) -> None:
    rendered = render_values(values)
    container = webhook_container(rendered)
    spec = rendered.one("Deployment", RELEASE)["spec"]["template"]["spec"]
    args = parser().parse_args(container["args"])
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    if args.client_ca is None:
        assert readiness["httpGet"] == {"path": "/readyz", "port": "https", "scheme": "HTTPS"}
        assert liveness["httpGet"] == {"path": "/healthz", "port": "https", "scheme": "HTTPS"}
    else:
        # The kubelet presents no client certificate: only a TCP check can pass.
        assert readiness["tcpSocket"] == liveness["tcpSocket"] == {"port": "https"}
    sleep = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert sleep > 0
    assert spec["terminationGracePeriodSeconds"] >= sleep + args.shutdown_delay + 10


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            ["terminationGracePeriodSeconds=12"],
            "terminationGracePeriodSeconds (12) must be at least",
        ),
        (["clientAuth.enabled=true"], "clientAuth.ca.name: name the ConfigMap or Secret"),
    ],
)
def test_unsafe_values_are_refused(settings: list[str], message: str) -> None:
    sets = [arg for setting in settings for arg in ("--set", setting)]
    result = run_helm("template", "t", str(CHART), *sets, check=False)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.parametrize(
    ("values", "replicas", "budget"), [("helm", 3, True), ("ha-off", 1, False)]
)
def test_availability(values: str, replicas: int, budget: bool) -> None:
    rendered = ci(values)
    deployment = rendered.one("Deployment", RELEASE)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert deployment["spec"]["replicas"] == replicas
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for constraint in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]:
        assert constraint["labelSelector"] == {"matchLabels": selector}
    pdbs = rendered.of("PodDisruptionBudget")
    assert bool(pdbs) is budget
    if budget:
        assert pdbs[0]["spec"]["selector"]["matchLabels"] == selector
        assert pdbs[0]["spec"]["maxUnavailable"] == 1
    service = rendered.one("Service", RELEASE)
    assert service["spec"]["selector"] == selector


def test_defaults() -> None:
    rendered = render()
    spec = rendered.one("Deployment", RELEASE)["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert rendered.of("PodDisruptionBudget")
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    assert "priorityClassName" not in pod
    # The default image is the release this source tree is.
    assert webhook_container(rendered)["image"] == f"ghcr.io/initgate/initgate:{__version__}"
    full = ci("full").one("Deployment", RELEASE)["spec"]["template"]["spec"]
    assert full["priorityClassName"] == "system-cluster-critical"
    assert full["containers"][0]["image"] == (
        "registry.example.com/platform/initgate:0.1.0@sha256:" + "0123456789abcdef" * 4
    )


def test_the_head_deadline_reaches_the_server() -> None:
    default = parser().parse_args(webhook_container(render())["args"])
    assert default.head_timeout == 10
    chosen = render("--set-json", "headTimeoutSeconds=2.5")
    assert parser().parse_args(webhook_container(chosen)["args"]).head_timeout == 2.5
    for refused in ("0", "-1"):
        result = run_helm(
            "template", "t", str(CHART), "--set-json", f"headTimeoutSeconds={refused}", check=False
        )
        assert result.returncode != 0
        assert "headTimeoutSeconds" in result.stderr
