"""Serving certificate rotation while the API server keeps calling: no request fails, new
connections get the new certificate, open keep-alive connections carry on with the one they were
opened with; a broken rotation is refused, counted, and the old certificate stays.

Both ways a certificate changes on disk: files rewritten in place one after the other (a torn read
is possible), and the kubelet's atomic `..data` symlink swap of a Secret volume (cert-manager).
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator

import pytest
from cryptography import x509

from tests.support import reviews, server
from tests.webhook.server.resilience.load import failures, running, wait_until

pytestmark = pytest.mark.integration

REQUESTS = [
    (f"/{webhook}", reviews.captured_bytes("pod-create-two-init", webhook))
    for webhook in ("mutate", "validate")
]
SUCCESS = {"result": "success"}
FAILURE = {"result": "failure"}


@pytest.fixture(scope="module", params=["files", "secret-volume"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[server.Served]:
    folder = tmp_path_factory.mktemp(f"rotation-{request.param}")
    material = server.Material.create(folder, volume=request.param == "secret-volume")
    running_server = server.start(folder, tls=material)
    yield running_server
    assert running_server.stop() == 0, running_server.logs()


def expiry(served: server.Served) -> float:
    return served.metric("initgate_certificate_expiry_timestamp_seconds")


def reloads(served: server.Served, result: dict[str, str]) -> float:
    return served.metric("initgate_certificate_reloads_total", **result)


def test_rotation_under_load_fails_no_request(served: server.Served) -> None:
    old_serial = served.serving_serial()
    successes, failed = reloads(served, SUCCESS), reloads(served, FAILURE)
    with running(served, REQUESTS, keep_alive=2, fresh=2) as load:
        load.wait_for(40)
        new = served.tls.reissue(days=20)
        new_serial = server.serial(new.cert)
        wait_until(lambda: served.serving_serial() == new_serial, what="the new certificate")
        picked_up = time.monotonic()
        load.wait_for(40)
        outcomes = load.stop()

    assert failures(outcomes) == []
    fresh = [o for o in outcomes if o.worker.startswith("fresh")]
    kept = [o for o in outcomes if o.worker.startswith("keep-alive")]
    assert {o.serial for o in fresh if o.started < picked_up - 1} <= {old_serial}
    after = [o for o in fresh if o.started > picked_up]
    assert after, "no new connection after the rotation"
    assert {o.serial for o in after} == {new_serial}
    for worker in {o.worker for o in kept}:
        mine = [o for o in kept if o.worker == worker]
        # One connection from start to end, with the certificate it was opened with.
        assert {(o.local_port, o.serial) for o in mine} == {(mine[0].local_port, old_serial)}
        assert any(o.started > picked_up for o in mine)

    assert reloads(served, SUCCESS) == successes + 1
    # Rewriting two files in place may be read half-done; that must not count as a failure.
    assert reloads(served, FAILURE) == failed
    expected = x509.load_pem_x509_certificate(new.cert).not_valid_after_utc.timestamp()
    assert expiry(served) == expected


def test_a_tls_1_2_client_gets_the_rotated_certificate(served: server.Served) -> None:
    """The certificate switch happens in the handshake callback: with TLS 1.2 and no SNI too."""
    new_serial = server.serial(served.tls.reissue().cert)
    wait_until(lambda: served.serving_serial() == new_serial, what="the new certificate")
    context = served.tls.context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with served.connect(context) as connection:
        assert connection.version() == "TLSv1.2"
        der = connection.getpeercert(binary_form=True)
    assert der is not None
    assert x509.load_der_x509_certificate(der).serial_number == new_serial


def test_a_broken_rotation_keeps_the_old_certificate(served: server.Served) -> None:
    good_serial = served.serving_serial()
    good_expiry = expiry(served)
    successes, failed = reloads(served, SUCCESS), reloads(served, FAILURE)
    mismatched_cert, other_key = served.tls.issue().cert, served.tls.issue().key
    good = served.tls.issue(days=10)
    broken = [
        {"cert": mismatched_cert, "key": other_key},  # a key that is not the certificate's
        {"cert": good.cert[: len(good.cert) // 2], "key": good.key},  # a truncated certificate
    ]
    with served.client() as client:
        for count, pair in enumerate(broken, start=1):
            served.tls.install(**pair)
            wait_until(
                lambda count=count: reloads(served, FAILURE) == failed + count,
                what="the refusal to be counted",
            )
            assert served.serving_serial() == good_serial
            body = reviews.captured_bytes("pod-create-two-init", "validate")
            answer = client.post(
                "/validate", content=body, headers={"content-type": "application/json"}
            )
            assert answer.status_code == 200
            assert expiry(served) == good_expiry
        refusals = [
            e for e in served.log_entries() if e["msg"].startswith("serving certificate refused")
        ]
        assert len(refusals) >= 2
        assert all(e["level"] == "error" and e["problem"] for e in refusals)

        served.tls.install(cert=good.cert, key=good.key)
        wait_until(lambda: served.serving_serial() == server.serial(good.cert), what="recovery")
    assert reloads(served, SUCCESS) == successes + 1
    assert reloads(served, FAILURE) == failed + 2
    assert (
        expiry(served) == x509.load_pem_x509_certificate(good.cert).not_valid_after_utc.timestamp()
    )
