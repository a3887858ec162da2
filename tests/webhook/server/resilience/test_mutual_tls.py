"""Mutual TLS (`--client-ca`): the server requires a client certificate signed by a trusted CA, and
follows the CA file: a CA added is trusted, a CA removed is no longer trusted (not even through a
session resumed from before), a broken file keeps the trust as it was."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience import raw
from tests.webhook.server.resilience.load import wait_until
from webhook.server.tls import Issued, issue

pytestmark = pytest.mark.integration

REVIEW = reviews.captured_bytes("pod-create-two-init", "validate")
SUCCESS, FAILURE = {"result": "success"}, {"result": "failure"}


@dataclass(frozen=True)
class Client:
    """A client certificate and key, in files."""

    cert: Path
    key: Path

    @classmethod
    def of(cls, authority: Issued, folder: Path, name: str) -> Client:
        issued = issue(f"kube-apiserver {name}", issuer=authority, client=True, days=2)
        cert, key = folder / f"{name}.crt", folder / f"{name}.key"
        cert.write_bytes(issued.cert)
        key.write_bytes(issued.key)
        return cls(cert, key)


@dataclass(frozen=True)
class Setup:
    served: server.Served
    client_ca: Path
    authority_a: Issued
    authority_b: Issued
    a: Client
    b: Client
    contexts: dict[tuple[Client | None, bool], ssl.SSLContext] = field(default_factory=dict)

    def trust(self, *authorities: Issued, result: dict[str, str] = SUCCESS) -> None:
        """Replace the client CA file (atomically) and wait until the server has judged it."""
        self.write(b"".join(a.cert for a in authorities), result=result)

    def write(self, content: bytes, *, result: dict[str, str]) -> None:
        count = self.served.metric("initgate_certificate_reloads_total", **result)
        staging = self.client_ca.with_suffix(".tmp")
        staging.write_bytes(content)
        staging.replace(self.client_ca)
        wait_until(
            lambda: self.served.metric("initgate_certificate_reloads_total", **result) > count,
            what="the client CA reload",
        )


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    folder = tmp_path_factory.mktemp("mtls")
    authority_a, authority_b = issue("client CA A", days=2), issue("client CA B", days=2)
    client_ca = folder / "client-ca.crt"
    client_ca.write_bytes(authority_a.cert)
    a, b = Client.of(authority_a, folder, "a"), Client.of(authority_b, folder, "b")
    served = server.start(folder, args=("--client-ca", str(client_ca)), client_cert=(a.cert, a.key))
    yield Setup(served, client_ca, authority_a, authority_b, a, b)
    assert served.stop() == 0, served.logs()


def context(setup: Setup, client: Client | None, *, tls12: bool = False) -> ssl.SSLContext:
    """One client context per client and TLS version (a session resumes only in its context)."""
    key = (client, tls12)
    if key not in setup.contexts:
        result = setup.served.tls.context()
        if client is not None:
            result.load_cert_chain(client.cert, client.key)
        if tls12:
            result.maximum_version = ssl.TLSVersion.TLSv1_2
        setup.contexts[key] = result
    return setup.contexts[key]


def exchange(
    setup: Setup,
    client: Client | None,
    *,
    tls12: bool = False,
    session: ssl.SSLSession | None = None,
) -> tuple[int | str, ssl.SSLSession | None]:
    """One review over a new connection: the HTTP status and the TLS session, or the error that
    ended the connection."""
    try:
        with (
            socket.create_connection(("127.0.0.1", setup.served.port), timeout=5) as tcp,
            context(setup, client, tls12=tls12).wrap_socket(
                tcp, server_hostname="127.0.0.1", session=session
            ) as connection,
        ):
            request = raw.head(
                "/validate", content_type="application/json", content_length=str(len(REVIEW))
            )
            connection.sendall(request + REVIEW)
            return raw.read_answer(connection).status, connection.session
    except (ssl.SSLError, ConnectionError) as error:
        return str(error), None


def refused(outcome: tuple[int | str, ssl.SSLSession | None]) -> bool:
    """The connection ended without an HTTP answer. The server's TLS alert is not seen: asyncio
    and uvloop close a connection whose handshake failed without sending the alert, so the client
    reads an EOF (in the handshake with TLS 1.2, at the first read with TLS 1.3)."""
    status, _ = outcome
    return isinstance(status, str)


def test_a_trusted_client_certificate_is_served(setup: Setup) -> None:
    assert exchange(setup, setup.a)[0] == 200
    assert exchange(setup, setup.a, tls12=True)[0] == 200


def test_without_a_client_certificate_the_handshake_fails(setup: Setup) -> None:
    assert refused(exchange(setup, None))
    assert refused(exchange(setup, None, tls12=True))


def test_a_certificate_from_another_ca_fails(setup: Setup) -> None:
    assert refused(exchange(setup, setup.b))
    assert refused(exchange(setup, setup.b, tls12=True))


def test_the_client_ca_file_is_followed_and_a_removed_ca_is_no_longer_trusted(
    setup: Setup,
) -> None:
    # Sessions from while A was trusted, to try to come back on after A is removed.
    status, session = exchange(setup, setup.a, tls12=True)
    status13, session13 = exchange(setup, setup.a)
    assert status == status13 == 200
    try:
        setup.trust(setup.authority_a, setup.authority_b)
        assert exchange(setup, setup.a)[0] == 200
        assert exchange(setup, setup.b)[0] == 200

        setup.trust(setup.authority_b)
        assert exchange(setup, setup.b)[0] == 200
        assert refused(exchange(setup, setup.a))
        assert refused(exchange(setup, setup.a, tls12=True))
        assert refused(exchange(setup, setup.a, tls12=True, session=session))
        assert refused(exchange(setup, setup.a, session=session13))
    finally:
        setup.trust(setup.authority_a)
    assert exchange(setup, setup.a)[0] == 200


def test_a_broken_client_ca_file_keeps_the_trust_as_it_was(setup: Setup) -> None:
    setup.write(b"-----BEGIN CERTIFICATE-----\nnot a certificate\n", result=FAILURE)
    assert exchange(setup, setup.a)[0] == 200
    assert refused(exchange(setup, setup.b))
    setup.trust(setup.authority_a, setup.authority_b)
    assert exchange(setup, setup.b)[0] == 200
    setup.trust(setup.authority_a)


def test_selfcheck_presents_the_client_certificate(setup: Setup) -> None:
    """`initgate selfcheck` (the chart's `helm test`) works against a server requiring mTLS."""
    command = [
        sys.executable,
        "-m",
        "webhook.cli",
        "selfcheck",
        "--url",
        f"{setup.served.base}/validate",
    ]
    command += ["--ca", str(setup.served.tls.ca)]
    without = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert without.returncode == 2  # could not ask: one line naming the cause
    assert "require a client certificate?" in without.stderr
    mutual = [*command, "--client-cert", str(setup.a.cert), "--client-key", str(setup.a.key)]
    done = subprocess.run(mutual, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
