"""The replay API server, started once per module; its state is fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook.audit.apiserver import Replay, State
from webhook.audit.cluster import Cluster, connect


@pytest.fixture(scope="module")
def replay_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    server = Replay(tmp_path_factory.mktemp("apiserver"))
    yield server
    server.stop()


@pytest.fixture
def replay(replay_server: Replay) -> Replay:
    replay_server.state = State()
    return replay_server


@pytest.fixture
def cluster(kubeconfig: Path) -> Iterator[Cluster]:
    """A connection through the real `kubernetes` client to the replay."""
    connected = connect(kubeconfig)
    yield connected
    connected.close()


@pytest.fixture
def kubeconfig(replay: Replay, tmp_path: Path) -> Path:
    return replay.kubeconfig(tmp_path / "kubeconfig")
