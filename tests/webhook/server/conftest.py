"""What the server's tests share."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from webhook.server.logs import JSONFormatter


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Every log line the app writes during the test, formatted as in production."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JSONFormatter())
    logger = logging.getLogger("initgate")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
