"""A server with the default configuration and limits, shared by the modules that only send it
requests (bad input, fuzzing): one start-up instead of one per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import server


@pytest.fixture(scope="package")
def default_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(tmp_path_factory.mktemp("default-server"))
