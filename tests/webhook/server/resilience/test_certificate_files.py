"""How the serving certificate judges what it reads (the reload itself, over a real server, is in
test_certificate_rotation): a pair caught half-rewritten is looked at again before it counts as a
failure, and every load builds a whole new context."""

from __future__ import annotations

import datetime
from pathlib import Path

from tests.support import server
from webhook.server.tls import ServingCertificate


class Observed:
    def __init__(self) -> None:
        self.results: list[str] = []

    def __call__(self, result: str, _: datetime.datetime | None) -> None:
        self.results.append(result)


def serving(tmp_path: Path) -> tuple[server.Material, ServingCertificate, Observed]:
    material = server.Material.create(tmp_path)
    observed = Observed()
    return material, ServingCertificate(material.cert, material.key, observer=observed), observed


def test_a_pair_caught_half_rewritten_is_not_a_failure(tmp_path: Path) -> None:
    material, serving_certificate, observed = serving(tmp_path)
    first = serving_certificate.context
    new = material.issue()
    material.cert.write_bytes(new.cert)  # the key is not written yet
    assert serving_certificate.reload() is None
    material.key.write_bytes(new.key)
    assert serving_certificate.reload() is True
    assert observed.results == ["success", "success"]
    # The listener's context stays; handshakes are moved onto the new one.
    assert serving_certificate.context is first


def test_the_same_bad_pair_seen_twice_is_refused_once(tmp_path: Path) -> None:
    material, serving_certificate, observed = serving(tmp_path)
    material.key.write_bytes(material.issue().key)
    assert serving_certificate.reload() is None
    assert serving_certificate.reload() is False
    assert serving_certificate.reload() is None  # already refused: not counted at every poll
    assert observed.results == ["success", "failure"]


def test_a_file_missing_for_a_moment_is_not_a_failure(tmp_path: Path) -> None:
    material, serving_certificate, observed = serving(tmp_path)
    new = material.issue()
    material.cert.unlink()
    assert serving_certificate.reload() is None
    material.cert.write_bytes(new.cert)
    material.key.write_bytes(new.key)
    assert serving_certificate.reload() is True
    assert observed.results == ["success", "success"]
