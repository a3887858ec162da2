"""The replay API server's fixtures, for the chart's configurations read back by the audit
(`test_live_routing.py`)."""

from tests.webhook.audit.conftest import (  # noqa: F401 - fixtures, found by pytest by name
    cluster,
    kubeconfig,
    replay,
    replay_server,
)
