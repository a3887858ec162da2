"""Certificates: issuing, the development CA, and the serving context's reload."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from webhook.server.tls import CertificateError, ServingCertificate, development_certificate, issue


def test_issue_a_ca_and_a_server_certificate() -> None:
    ca = issue("test CA", days=2)
    leaf = issue("server", issuer=ca, hosts=("localhost", "127.0.0.1"), days=1)
    authority = x509.load_pem_x509_certificate(ca.cert)
    cert = x509.load_pem_x509_certificate(leaf.cert)
    assert authority.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert cert.issuer == authority.subject
    cert.verify_directly_issued_by(authority)
    lifetime = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(hours=23) < lifetime <= datetime.timedelta(days=1)


def test_development_certificate_is_created_once_and_reused(tmp_path: Path) -> None:
    first = development_certificate(tmp_path / "state")
    serial = x509.load_pem_x509_certificate(first.cert.read_bytes()).serial_number
    assert oct(first.key.stat().st_mode & 0o777) == "0o600"
    again = development_certificate(tmp_path / "state")
    assert x509.load_pem_x509_certificate(again.cert.read_bytes()).serial_number == serial
    context = ssl.create_default_context(cafile=str(first.ca))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(first.cert, first.key)
    assert context.verify_mode is ssl.CERT_REQUIRED


def test_development_certificate_is_renewed_for_new_hosts(tmp_path: Path) -> None:
    first = development_certificate(tmp_path, hosts=("localhost",))
    serial = x509.load_pem_x509_certificate(first.cert.read_bytes()).serial_number
    second = development_certificate(tmp_path, hosts=("localhost", "initgate.test"))
    assert x509.load_pem_x509_certificate(second.cert.read_bytes()).serial_number != serial


def _write(folder: Path, leaf_key: bytes, leaf_cert: bytes) -> tuple[Path, Path]:
    cert, key = folder / "tls.crt", folder / "tls.key"
    cert.write_bytes(leaf_cert)
    key.write_bytes(leaf_key)
    return cert, key


# Rotation of the serving certificate under load is proven in tests/webhook/server/resilience.


def test_an_unusable_certificate_refuses_to_start(tmp_path: Path) -> None:
    cert, key = _write(tmp_path, b"not a key", b"not a certificate")
    with pytest.raises(CertificateError):
        ServingCertificate(cert, key)
