"""`helm test` (the self-check pod) and NOTES.txt."""

from __future__ import annotations

import pytest

from tests.chart.render import CHART, NAMESPACE, RELEASE, Rendered, render_values, run_helm
from webhook.cli.main import parser

pytestmark = pytest.mark.chart


def ci(name: str) -> Rendered:
    return render_values(CHART / "ci" / f"{name}-values.yaml")


@pytest.mark.parametrize(
    ("values", "ca_source"),
    [("helm", "secret"), ("certmanager", "secret"), ("secret", "configMap")],
)
def test_selfcheck_pod(values: str, ca_source: str) -> None:
    rendered = ci(values)
    pod = rendered.one("Pod", f"{RELEASE}-selfcheck")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    spec = pod["spec"]
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    args = parser().parse_args(container["args"])
    service = rendered.one("Service", RELEASE)
    assert args.url == f"https://{service['metadata']['name']}.{NAMESPACE}.svc:443/validate"
    mount = next(m for m in container["volumeMounts"] if m["mountPath"] == str(args.ca.parent))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    if ca_source == "secret":
        # The serving Secret, but only its CA: the test pod never sees the private key.
        assert volume["secret"]["items"] == [{"key": "ca.crt", "path": args.ca.name}]
        tls = rendered.one("Deployment", RELEASE)["spec"]["template"]["spec"]["volumes"]
        served = next(v for v in tls if v["name"] == "tls")["secret"]["secretName"]
        assert volume["secret"]["secretName"] == served
    else:
        configmap = rendered.one("ConfigMap", volume["configMap"]["name"])
        assert configmap["metadata"]["annotations"]["helm.sh/hook"] == "test"
        assert configmap["data"][args.ca.name].startswith("-----BEGIN CERTIFICATE-----")


def test_selfcheck_with_mutual_tls() -> None:
    pod = ci("full").one("Pod", f"{RELEASE}-selfcheck")
    (container,) = pod["spec"]["containers"]
    args = parser().parse_args(container["args"])
    client = next(v for v in pod["spec"]["volumes"] if v["name"] == "client")
    assert client["secret"]["secretName"] == "initgate-test-client"
    mount = next(m for m in container["volumeMounts"] if m["name"] == "client")
    assert args.client_cert.parent == args.client_key.parent
    assert str(args.client_cert.parent) == mount["mountPath"]
    # Mutual TLS without a client certificate for the test: no test pod that could only fail.
    assert not ci("ha-off").of("Pod")


def notes(*args: str) -> str:
    result = run_helm(
        "install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client", *args
    )
    return result.stdout.partition("NOTES:")[2]


def test_notes_tell_how_to_check_and_switch_modes() -> None:
    text = notes()
    assert f"helm test {RELEASE} -n {NAMESPACE}" in text
    assert f"rollout status deployment/{RELEASE}" in text
    for mode in ("audit", "warn", "enforce", "off"):
        assert f"initgate.io/mode={mode} --overwrite" in text
    assert "unlabelled namespaces are in `audit` mode" in text
    assert "WARNING: one replica" not in text
    single = notes(
        "--set",
        "replicaCount=1",
        "--set",
        "clientAuth.enabled=true",
        "--set",
        "clientAuth.ca.name=ca",
    )
    assert "WARNING: one replica" in single
    assert "helm test" not in single.split("Check the install:")[1].split("Namespace modes")[0]
    assert "AdmissionConfiguration" in single
