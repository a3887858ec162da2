"""Shared fixtures. Helpers for Kubernetes' rules, captured reviews and a real server live in
`tests/support`."""

from __future__ import annotations

import pytest

from webhook.core.config import Config
from webhook.core.plan import Plan, compile_plan


@pytest.fixture(scope="session")
def default_plan() -> Plan:
    """The built-in default configuration, compiled."""
    return compile_plan(Config())
