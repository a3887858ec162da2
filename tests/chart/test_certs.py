"""Certificates in each mode. In helm mode: what the chart generates works with the real server as
the API server calls it, and an upgrade keeps or renews it depending on the existing Secret (looked
up through a fake API server, since `helm template` alone cannot look anything up)."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from tests.chart.fakeapi import FakeAPI, serve
from tests.chart.render import (
    CHART,
    NAMESPACE,
    RELEASE,
    Rendered,
    parse,
    render,
    run_helm,
    webhook_container,
)
from tests.support.reviews import container, pod, review_of
from tests.support.server import AtomicVolume, free_port
from webhook.cli.main import parser

pytestmark = pytest.mark.chart

SERVICE_HOST = f"{RELEASE}.{NAMESPACE}.svc"
DNS_NAMES = [RELEASE, f"{RELEASE}.{NAMESPACE}", SERVICE_HOST, f"{SERVICE_HOST}.cluster.local"]
DAY = 86400
CONFIGURATIONS = ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")


def secret_files(rendered: Rendered) -> dict[str, bytes]:
    data = rendered.one("Secret", f"{RELEASE}-tls")["data"]
    return {key: base64.b64decode(value) for key, value in data.items()}


def ca_bundle(rendered: Rendered) -> bytes:
    """The caBundle the API server verifies initgate with (the same in every entry)."""
    bundles = {
        entry["clientConfig"]["caBundle"]
        for kind in CONFIGURATIONS
        for entry in rendered.one(kind)["webhooks"]
    }
    assert len(bundles) == 1
    return base64.b64decode(bundles.pop())


def client_context(bundle: bytes) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=bundle.decode())


def handshake(bundle: bytes, files: dict[str, bytes], folder: Path) -> bool:
    """A TLS handshake in memory between a server with the Secret's certificate and a client that
    trusts `bundle` and expects the Service's DNS name, as the API server does."""
    (folder / "tls.crt").write_bytes(files["tls.crt"])
    (folder / "tls.key").write_bytes(files["tls.key"])
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(folder / "tls.crt", folder / "tls.key")
    pipes = [ssl.MemoryBIO() for _ in range(4)]
    client = client_context(bundle).wrap_bio(pipes[0], pipes[1], server_hostname=SERVICE_HOST)
    server = server_context.wrap_bio(pipes[2], pipes[3], server_side=True)
    finished: set[int] = set()
    for _ in range(10):
        for number, side in enumerate((client, server)):
            try:
                side.do_handshake()
                finished.add(number)
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLCertVerificationError:
                return False
        pipes[2].write(pipes[1].read())
        pipes[0].write(pipes[3].read())
        if finished == {0, 1}:
            return True
    raise AssertionError("the handshake did not finish")


def test_helm_mode_certificate() -> None:
    rendered = render("-f", str(CHART / "ci" / "helm-values.yaml"))
    secret = rendered.one("Secret", f"{RELEASE}-tls")
    files = secret_files(rendered)
    assert secret["type"] == "kubernetes.io/tls"
    assert set(files) == {"tls.crt", "tls.key", "ca.crt"}
    (cert,) = x509.load_pem_x509_certificates(files["tls.crt"])
    (ca,) = x509.load_pem_x509_certificates(files["ca.crt"])
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == DNS_NAMES
    cert.verify_directly_issued_by(ca)
    assert ca_bundle(rendered) == files["ca.crt"]
    # The recorded expiry is what an upgrade compares: the certificate's own, to the minute.
    not_after = int(secret["metadata"]["annotations"]["initgate.io/not-after"])
    assert abs(not_after - cert.not_valid_after_utc.timestamp()) < 120
    assert abs(cert.not_valid_after_utc.timestamp() - time.time() - 730 * DAY) < 120
    assert secret["metadata"]["annotations"]["initgate.io/hosts"] == ",".join(DNS_NAMES)
    # `helm template` cannot look up the Secret: every render shows a new certificate.
    assert secret_files(render("--set", "certs.mode=helm"))["tls.crt"] != files["tls.crt"]


def _post(port: int, bundle: bytes, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
    """An HTTPS POST to 127.0.0.1 verified as the Service's DNS name (as the API server calls)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        client_context(bundle).wrap_socket(raw, server_hostname=SERVICE_HOST) as tls,
    ):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {SERVICE_HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(head.encode() + body)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    payload = rest.partition(b"\r\n\r\n")[2]
    return int(status_line.split()[1]), json.loads(payload) if payload else {}


@pytest.fixture(scope="module")
def served_as_rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, bytes]]:
    """`initgate serve` with the rendered Deployment's arguments (ports freed), its ConfigMap and
    its helm-mode Secret laid out as the kubelet mounts them."""
    folder = tmp_path_factory.mktemp("rendered")
    rendered = render("-f", str(CHART / "ci" / "helm-values.yaml"))
    config = rendered.one("ConfigMap", f"{RELEASE}-config")["data"]
    AtomicVolume(folder / "config").write({k: v.encode() for k, v in config.items()})
    AtomicVolume(folder / "tls").write(secret_files(rendered))
    args = [
        arg.replace("/etc/initgate/", f"{folder}/")
        for arg in webhook_container(rendered)["args"]
        if not arg.startswith(("--host", "--port", "--metrics-port"))
    ]
    port = free_port()
    # No drain at the end: shutdown is not what this test is about.
    command = [
        *args,
        "--host=127.0.0.1",
        f"--port={port}",
        "--metrics-port=0",
        "--shutdown-delay=0",
    ]
    assert parser().parse_args(command).tls_cert == folder / "tls" / "tls.crt"
    log = folder / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "webhook.cli", *command], stdout=out, stderr=subprocess.STDOUT
        )
    bundle = ca_bundle(rendered)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "initgate did not start"
                time.sleep(0.05)
        yield port, bundle
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_rendered_server_answers_the_api_server(served_as_rendered: tuple[int, bytes]) -> None:
    """Certificate, caBundle, DNS name, arguments and configuration, together, as installed."""
    port, bundle = served_as_rendered
    privileged = container("setup", securityContext={"privileged": True})
    review = review_of(pod(init=[privileged]), namespace="team")
    status, answer = _post(port, bundle, "/validate/enforce", json.dumps(review).encode())
    assert status == 200
    assert answer["response"]["allowed"] is False
    assert "privileged" in answer["response"]["status"]["message"]
    status, answer = _post(port, bundle, "/validate/audit", json.dumps(review).encode())
    assert answer["response"]["allowed"] is True


def existing(rendered: Rendered, *, not_after: float, hosts: str | None = None) -> dict[str, Any]:
    """The rendered Secret as the API server would return it once installed by this release."""
    secret: dict[str, Any] = json.loads(json.dumps(rendered.one("Secret", f"{RELEASE}-tls")))
    metadata = secret["metadata"]
    metadata["annotations"]["initgate.io/not-after"] = str(int(not_after))
    if hosts is not None:
        metadata["annotations"]["initgate.io/hosts"] = hosts
    metadata["annotations"]["meta.helm.sh/release-name"] = RELEASE
    metadata["annotations"]["meta.helm.sh/release-namespace"] = NAMESPACE
    return secret


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Render as `helm upgrade` would, with a given Secret already in the cluster."""
    api = FakeAPI({})
    with serve(api, tmp_path_factory.mktemp("api")) as kubeconfig:

        def render_with(secret: dict[str, Any] | None) -> Rendered:
            api.secrets = {(NAMESPACE, f"{RELEASE}-tls"): secret} if secret else {}
            args = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
            server = ["--dry-run=server", "--disable-openapi-validation"]
            result = run_helm(*args, *server, "--kubeconfig", str(kubeconfig))
            assert f"/api/v1/namespaces/{NAMESPACE}/secrets/{RELEASE}-tls" in api.requests
            return parse(result.stdout)

        yield render_with


def test_upgrade_keeps_a_valid_certificate(upgrade: Any, tmp_path: Path) -> None:
    first = upgrade(None)
    kept = upgrade(existing(first, not_after=time.time() + 100 * DAY))
    assert secret_files(kept) == secret_files(first)
    assert ca_bundle(kept) == secret_files(first)["ca.crt"]
    assert handshake(ca_bundle(kept), secret_files(kept), tmp_path)


def test_upgrade_renews_near_expiry_and_trusts_both(upgrade: Any, tmp_path: Path) -> None:
    """Within renewBeforeDays (60): a new CA and certificate; the old CA stays in the bundle, so
    the replicas that still serve the old certificate (until the kubelet updates their volume)
    are trusted as much as the renewed ones."""
    first = upgrade(None)
    old = secret_files(first)
    renewed = upgrade(existing(first, not_after=time.time() + 10 * DAY))
    new = secret_files(renewed)
    assert new["tls.crt"] != old["tls.crt"]
    bundle = ca_bundle(renewed)
    assert bundle == new["ca.crt"]
    assert len(x509.load_pem_x509_certificates(bundle)) == 2
    assert handshake(bundle, new, tmp_path)
    assert handshake(bundle, old, tmp_path)
    assert not handshake(old["ca.crt"], new, tmp_path)
    # The next renewal drops the oldest CA: the bundle never grows beyond two.
    again = upgrade(existing(renewed, not_after=time.time() + DAY))
    assert len(x509.load_pem_x509_certificates(ca_bundle(again))) == 2
    assert handshake(ca_bundle(again), new, tmp_path)
    assert not handshake(ca_bundle(again), old, tmp_path)


@pytest.mark.parametrize(
    ("not_after", "hosts"),
    [(-DAY, None), (100 * DAY, "initgate.elsewhere.svc")],
    ids=["expired", "renamed-service"],
)
def test_upgrade_replaces_an_unusable_certificate(
    upgrade: Any, tmp_path: Path, not_after: float, hosts: str | None
) -> None:
    first = upgrade(None)
    replaced = upgrade(existing(first, not_after=time.time() + not_after, hosts=hosts))
    assert secret_files(replaced)["tls.crt"] != secret_files(first)["tls.crt"]
    bundle = ca_bundle(replaced)
    # An expired CA is not worth trusting any longer; a valid one stays for the rotation.
    assert len(x509.load_pem_x509_certificates(bundle)) == (1 if not_after < 0 else 2)
    assert handshake(bundle, secret_files(replaced), tmp_path)


def test_cert_manager_chain() -> None:
    rendered = render("-f", str(CHART / "ci" / "certmanager-values.yaml"))
    issuers = {i["metadata"]["name"]: i["spec"] for i in rendered.of("Issuer")}
    certificates = {c["metadata"]["name"]: c["spec"] for c in rendered.of("Certificate")}
    ca, serving = certificates[f"{RELEASE}-ca"], certificates[f"{RELEASE}-tls"]
    assert ca["isCA"] is True
    assert issuers[ca["issuerRef"]["name"]] == {"selfSigned": {}}
    assert issuers[serving["issuerRef"]["name"]] == {"ca": {"secretName": ca["secretName"]}}
    assert serving["dnsNames"] == DNS_NAMES
    assert serving["privateKey"]["rotationPolicy"] == "Always"
    assert (serving["duration"], serving["renewBefore"]) == ("720h", "240h")
    assert not rendered.of("Secret")
    volumes = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "tls",
        "secret": {"secretName": serving["secretName"], "defaultMode": 0o440},
    } in volumes


def test_secret_mode_uses_the_given_secret() -> None:
    rendered = render("-f", str(CHART / "ci" / "secret-values.yaml"))
    assert not rendered.of("Secret")
    assert not rendered.of("Certificate")
    volumes = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    tls = next(v for v in volumes if v["name"] == "tls")
    assert tls["secret"]["secretName"] == "initgate-serving-tls"
