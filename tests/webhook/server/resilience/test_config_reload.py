"""Configuration reload under load: every answer comes from exactly one whole configuration, an
invalid file keeps the last good one (logged, counted), and a valid file brings reloads back.

The two configurations differ in several policies at once (modes, a setting, a user exemption), so
an answer from half of one and half of the other matches neither; the expected answers are computed
in process by the same engine, from the same files.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import reviews, server
from tests.webhook.server.resilience.load import expected_answers, failures, running, wait_until
from webhook.core.engine import WEBHOOKS

pytestmark = pytest.mark.integration

STRICT = """\
mode: enforce
policies:
  init-privileged: {mode: enforce}
  init-unbounded: {mode: enforce}
  emptydir-sizelimit: {sizeLimit: 2Gi}
  default-resources: {requests: {cpu: 100m, memory: 128Mi}}
"""
RELAXED = """\
mode: enforce
exemptions:
  namespaces: [kube-system, kube-public, kube-node-lease]
  users: ["system:serviceaccount:demo:deployer"]
policies:
  init-privileged: {mode: warn}
  init-unbounded: {mode: audit}
  emptydir-sizelimit: {sizeLimit: 1Gi}
  default-resources: {mode: "off"}
  readonly-mounts: {mode: "off"}
"""
INVALID = "mode: sometimes\npolicies: {init-unbounded: {maximum: {memory: lots}}}\n"
REQUESTS = [
    (f"/{webhook}", reviews.captured_bytes(case, webhook))
    for case in reviews.CASES
    for webhook in WEBHOOKS
]
SUCCESS, FAILURE = {"result": "success"}, {"result": "failure"}
RELOAD_INTERVAL = 0.2  # tests.support.server starts the server with --reload-interval 0.2


def answers(config: str) -> list[dict[str, Any]]:
    return expected_answers(config, REQUESTS)


EXPECTED = {"strict": answers(STRICT), "relaxed": answers(RELAXED)}


def test_the_two_configurations_tell_a_half_applied_one_apart() -> None:
    differing = [i for i, a in enumerate(EXPECTED["strict"]) if a != EXPECTED["relaxed"][i]]
    assert len(differing) >= len(REQUESTS) // 2
    # Half of one and half of the other (the relaxed modes with the strict rest) answers some
    # request differently from both whole configurations.
    half = STRICT.replace("init-privileged: {mode: enforce}", "init-privileged: {mode: warn}")
    mixed = answers(half)
    assert any(
        m not in (EXPECTED["strict"][i], EXPECTED["relaxed"][i]) for i, m in enumerate(mixed)
    )


class ConfigFile:
    """The configuration file, updated atomically: a rename over a plain file, or the kubelet's
    symlink swap of a ConfigMap volume."""

    def __init__(self, folder: Path, layout: str) -> None:
        self.volume = server.AtomicVolume(folder / "configmap") if layout == "configmap" else None
        self.path = self.volume.path("config.yaml") if self.volume else folder / "config.yaml"

    def write(self, text: str) -> None:
        if self.volume is not None:
            self.volume.write({"config.yaml": text.encode()})
            return
        staging = self.path.with_suffix(".tmp")
        staging.write_text(text)
        staging.replace(self.path)


@pytest.fixture(scope="module", params=["renamed-file", "configmap"])
def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[server.Served, ConfigFile]]:
    folder = tmp_path_factory.mktemp(f"reload-{request.param}")
    config = ConfigFile(folder, request.param)
    config.write(STRICT)
    served = server.start(folder, config_path=config.path)
    yield served, config
    assert served.stop() == 0, served.logs()


def apply(served: server.Served, config: ConfigFile, text: str, *, result: dict[str, str]) -> None:
    """Write `text` and wait until the server has judged it (`result`: success or failure)."""
    count = served.metric("initgate_config_reloads_total", **result)
    config.write(text)
    wait_until(
        lambda: served.metric("initgate_config_reloads_total", **result) > count,
        what=f"a config reload {result['result']}",
    )


def judged(outcomes: list[Any]) -> list[str]:
    """Which configuration each answer came from; fails on an answer from neither."""
    sources = []
    for outcome in outcomes:
        answer = outcome.answer
        matches = [
            name for name, expected in EXPECTED.items() if expected[outcome.request] == answer
        ]
        assert matches, f"{outcome.path} answered by neither configuration: {answer}"
        sources.append("both" if len(matches) == 2 else matches[0])
    return sources


def test_switching_under_load_applies_whole_configurations(
    setup: tuple[server.Served, ConfigFile],
) -> None:
    served, config = setup
    with running(served, REQUESTS, keep_alive=2, fresh=1, pause=0.001) as load:
        for text in (RELAXED, STRICT, RELAXED, STRICT, RELAXED, STRICT):
            apply(served, config, text, result=SUCCESS)
            load.wait_for(20)
        outcomes = load.stop()
    assert failures(outcomes) == []
    seen = set(judged(outcomes))
    assert {"strict", "relaxed"} <= seen


def test_an_invalid_file_keeps_the_last_good_configuration(
    setup: tuple[server.Served, ConfigFile],
) -> None:
    served, config = setup
    apply(served, config, RELAXED, result=SUCCESS)
    with running(served, REQUESTS, keep_alive=1, fresh=1) as load:
        apply(served, config, INVALID, result=FAILURE)
        load.wait_for(len(REQUESTS))
        invalid = load.stop()
    assert failures(invalid) == []
    assert set(judged(invalid)) <= {"relaxed", "both"}
    refused = [e for e in served.log_entries() if e["msg"].startswith("configuration refused")]
    assert refused[-1]["level"] == "error"
    assert str(config.path) in refused[-1]["problem"]
    assert "mode" in refused[-1]["problem"]

    with running(served, REQUESTS, keep_alive=1, fresh=1) as load:
        apply(served, config, STRICT, result=SUCCESS)
        applied = time.monotonic()
        load.wait_for(len(REQUESTS))
        recovered = [o for o in load.stop() if o.started > applied]
    assert recovered
    assert set(judged(recovered)) <= {"strict", "both"}

    # A bad file reverted to the active content (nothing to reload), then the same bad file
    # again: that is news, logged and counted again.
    apply(served, config, INVALID, result=FAILURE)
    reverted = len(back_to_active(served))
    config.write(STRICT)
    assert len(server.eventually(lambda: back_to_active(served), lambda s: len(s) > reverted)) == (
        reverted + 1
    )
    apply(served, config, INVALID, result=FAILURE)


def back_to_active(served: server.Served) -> list[dict[str, Any]]:
    """The log lines that say the file was seen back at the active configuration."""
    message = "configuration file back to the active configuration"
    return [entry for entry in served.log_entries() if entry["msg"] == message]
