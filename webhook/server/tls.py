"""TLS: the serving certificate, reloaded in place when its files change, and a development CA.

cert-manager and the Helm chart rotate the certificate by rewriting the mounted Secret; the server
picks the new pair up within seconds, without a restart. Existing connections keep the certificate
they were opened with; new handshakes get the new one. A pair that cannot be used (a key that does
not match, a truncated file) is refused, logged and counted, and the previous pair stays.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import ipaddress
import logging
import os
import ssl
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from webhook.server.logs import event

LOG = logging.getLogger("initgate.tls")
# TLS 1.2 forward-secret AEAD suites; TLS 1.3 suites are not configurable and all acceptable.
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"

LoadObserver = Callable[[str, datetime.datetime | None], None]
"""Called with "success" (and the certificate's expiry) or "failure" after each load attempt."""


class CertificateError(ValueError):
    """The certificate or key cannot be used."""


def expiry(pem: bytes) -> datetime.datetime:
    """When the first certificate of a PEM chain expires."""
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc


class ServingCertificate:
    """The server's SSL context, whose certificate (and client CA) follow the files they came from.

    `context` is the listener's context. Each load builds a complete new context, and a handshake
    callback (run for every handshake, with or without SNI) moves each new connection onto the
    newest one. A new context, rather than loading into the live one, because OpenSSL can only add
    trusted CAs to a context: a client CA removed from the file must stop being trusted.
    """

    _current: ssl.SSLContext

    def __init__(
        self,
        cert: Path,
        key: Path,
        *,
        client_ca: Path | None = None,
        observer: LoadObserver | None = None,
        on_hello: Callable[[ssl.SSLObject], None] | None = None,
        on_handshake: Callable[[ssl.SSLObject], None] | None = None,
    ) -> None:
        self.cert, self.key, self.client_ca = cert, key, client_ca
        self._observer = observer
        self._on_hello = on_hello
        self._digest = ""
        self._suspect = ""
        self._started = False
        if not self.reload():
            raise CertificateError(f"cannot load the certificate {cert} and key {key}")
        self._started = True
        self.context = self._current
        self.context.sni_callback = self._select
        if on_handshake is not None:
            self.context.sslobject_class = _reporting(on_handshake)

    def reload(self) -> bool | None:
        """Load the files again if they changed: True when loaded, False when refused (the
        previous certificate stays), None when unchanged or not yet judged."""
        try:
            cert, key = self.cert.read_bytes(), self.key.read_bytes()
            client_ca = self.client_ca.read_bytes() if self.client_ca else b""
        except OSError as error:
            return self._fault(f"cannot read: {error}", digest=f"unreadable: {error}")
        digest = hashlib.sha256(b"\0".join((cert, key, client_ca))).hexdigest()
        if digest == self._digest:
            return None
        try:
            expires = expiry(cert)
            self._current = self._build(cert, key, client_ca)
        except (ssl.SSLError, ValueError) as error:
            return self._fault(str(error), digest=digest)
        self._digest = digest
        event(LOG, "serving certificate loaded", cert=str(self.cert), expires=expires.isoformat())
        if self._observer is not None:
            self._observer("success", expires)
        return True

    def _build(self, cert: bytes, key: bytes, client_ca: bytes) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers(CIPHERS)
        if self.client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(cadata=client_ca.decode())
            # A resumed session skips the client certificate: without tickets, a client whose
            # CA was removed cannot come back on a session from before the removal.
            context.options |= ssl.OP_NO_TICKET
            context.num_tickets = 0
        # The bytes read are the bytes loaded (ssl loads keys from files only): a rotation racing
        # the read can at worst give a pair that does not match, which load_cert_chain refuses.
        with tempfile.TemporaryDirectory(prefix="initgate-tls-") as private:
            cert_copy, key_copy = Path(private, "tls.crt"), Path(private, "tls.key")
            cert_copy.write_bytes(cert)
            key_copy.touch(mode=0o600)
            key_copy.write_bytes(key)
            context.load_cert_chain(cert_copy, key_copy)
        return context

    def _select(self, connection: ssl.SSLObject, _name: str | None, _: ssl.SSLContext) -> None:
        if self._on_hello is not None:
            self._on_hello(connection)
        current = self._current
        if connection.context is not current:
            connection.context = current

    def _fault(self, problem: str, *, digest: str) -> bool | None:
        # A rotation that rewrites the files one after the other (not the atomic swap of a Secret
        # volume) can be read half-done; a fault counts only when the next look finds the same.
        if self._started and digest != self._suspect:
            self._suspect = digest
            return None
        self._digest = digest
        event(
            LOG,
            "serving certificate refused; the previous one stays",
            logging.ERROR,
            problem=problem,
        )
        if self._observer is not None:
            self._observer("failure", None)
        return False

    async def watch(self, interval: float) -> None:
        """Reload whenever the files change, until cancelled (runs on the event loop's thread, so
        a handshake never sees a context being built)."""
        while True:
            await asyncio.sleep(interval)
            self.reload()


def _reporting(completed: Callable[[ssl.SSLObject], None]) -> type[ssl.SSLObject]:
    """A TLS connection class that reports each completed handshake. `SSLContext.sslobject_class`
    is the ssl module's documented hook for such a subclass; asyncio's and uvloop's TLS make every
    server-side connection through it (`wrap_bio`)."""

    class Reporting(ssl.SSLObject):
        def do_handshake(self) -> None:
            super().do_handshake()  # raises until the handshake is complete
            completed(self)

    return Reporting


@dataclass(frozen=True, slots=True)
class Issued:
    """A key and its certificate, PEM-encoded."""

    key: bytes
    cert: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def issue(
    common_name: str,
    *,
    issuer: Issued | None = None,
    hosts: Sequence[str] = (),
    days: int = 365,
    client: bool = False,
) -> Issued:
    """A new EC P-256 key and certificate: a CA when `issuer` is None, else a leaf signed by it
    (for `hosts` as DNS names and IP addresses, or a client certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    if issuer is None:
        signer, issuer_name = key, _name(common_name)
    else:
        signer = serialization.load_pem_private_key(issuer.key, password=None)  # type: ignore[assignment]
        issuer_name = x509.load_pem_x509_certificate(issuer.cert).subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usage = x509.KeyUsage(
            digital_signature=False,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    else:
        purpose = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
        if hosts:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(_alt_names(hosts)), critical=False
            )
    cert = builder.sign(signer, hashes.SHA256())
    return Issued(
        key=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        cert=cert.public_bytes(serialization.Encoding.PEM),
    )


def _alt_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


@dataclass(frozen=True, slots=True)
class DevelopmentFiles:
    ca: Path
    cert: Path
    key: Path


DEV_HOSTS = ("localhost", "127.0.0.1", "::1")


def development_certificate(state_dir: Path, hosts: Sequence[str] = DEV_HOSTS) -> DevelopmentFiles:
    """A development CA and a server certificate for `hosts` in `state_dir`, reused while they are
    valid for more than a week. The CA file is what a client (or a `caBundle`) must trust."""
    files = DevelopmentFiles(state_dir / "ca.crt", state_dir / "tls.crt", state_dir / "tls.key")
    if _still_good(files, hosts):
        return files
    state_dir.mkdir(parents=True, exist_ok=True)
    ca = issue("initgate development CA", days=3650)
    server = issue("initgate", issuer=ca, hosts=hosts, days=365)
    _write(files.ca, ca.cert)
    _write(files.cert, server.cert + ca.cert)
    _write(files.key, server.key, private=True)
    return files


def _still_good(files: DevelopmentFiles, hosts: Sequence[str]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        files.key.stat()
        files.ca.stat()
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    covered = {str(n) for n in names.get_values_for_type(x509.DNSName)} | {
        str(ip) for ip in names.get_values_for_type(x509.IPAddress)
    }
    week = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7)
    return cert.not_valid_after_utc > week and set(hosts) <= covered


def _write(path: Path, data: bytes, *, private: bool = False) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    temporary.replace(path)
