"""A live cluster for the e2e tests: the one KUBECONFIG names, where initgate is registered.

Tests are judged only on admission outcomes: what the API server answers and what it stores. Pods
are never expected to run. Without a cluster, or without initgate in it, every e2e test is skipped
with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from tests.e2e.cluster import Cluster, kubectl_binary, registered


def unavailable(reason: str) -> NoReturn:
    """Skip: no cluster here. Fail instead where one was promised (deploy/kind/e2e.sh sets
    INITGATE_E2E_REQUIRED=1), so that a broken install cannot pass as "all skipped"."""
    if os.environ.get("INITGATE_E2E_REQUIRED") == "1":
        pytest.fail(f"e2e cluster required but unusable: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    kubeconfig = os.environ.get("KUBECONFIG")
    kubectl = kubectl_binary()
    if not kubeconfig:
        unavailable(
            "KUBECONFIG is not set: no cluster to test against (deploy/kind/e2e.sh makes one)"
        )
    elif kubectl is None:
        unavailable("kubectl not found: run scripts/install-tools.sh")
    found = registered(kubectl)
    if isinstance(found, str):
        unavailable(f"{kubeconfig}: {found}")
    session = Cluster(
        kubectl, release_namespace=found[0], default_mode=found[1], configuration=found[2]
    )
    yield session
    for name in session.created:
        session.run("delete", "namespace", name, "--wait=false")
