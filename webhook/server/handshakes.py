"""TLS handshakes that begin and never complete.

A client that does not trust the serving certificate (a webhook configuration whose `caBundle` is
not the certificate's CA: the most common way to install a webhook wrongly), or that presents no
certificate under mutual TLS, drops the connection inside the handshake. No request ever arrives,
so without this the server would never hear of it, and the only trace would be in the API server's
log (`x509: certificate signed by unknown authority`).

`begun` runs at each ClientHello (the serving context's SNI callback runs for every handshake, with
or without SNI), `completed` when the handshake completes (see `tls.ServingCertificate`). A TLS
object freed in between belonged to a handshake that failed.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Callable

from webhook.server.logs import event

LOG = logging.getLogger("initgate.tls")
LOG_EVERY = 60.0
"""Seconds between two log lines about failed handshakes (each says how many there were)."""


class Handshakes:
    def __init__(self, failed: Callable[[], None] = lambda: None) -> None:
        self._failed = failed
        self._pending: dict[int, weakref.finalize[..., object]] = {}
        self._unlogged = 0
        self._logged_at = -LOG_EVERY

    def begun(self, connection: object) -> None:
        key = id(connection)
        if key not in self._pending:  # a HelloRetryRequest brings a second ClientHello
            self._pending[key] = weakref.finalize(connection, self._dropped, key)

    def completed(self, connection: object) -> None:
        watcher = self._pending.pop(id(connection), None)
        if watcher is not None:
            watcher.detach()

    @property
    def pending(self) -> int:
        """Handshakes begun and not yet completed or failed."""
        return len(self._pending)

    def _dropped(self, key: int) -> None:
        if self._pending.pop(key, None) is None:
            return
        self._failed()
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY:
            event(
                LOG,
                "TLS handshakes not completed: the clients dropped them; a client that does not "
                "trust the certificate does (is the webhook configuration's caBundle its CA?)",
                logging.WARNING,
                failed=self._unlogged,  # since the previous line of this kind
            )
            self._unlogged, self._logged_at = 0, now
