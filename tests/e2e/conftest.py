"""A live cluster for the e2e tests: the one KUBECONFIG names, where initgate is registered.

Tests are judged only on admission outcomes: what the API server answers and what it stores. Pods
are never expected to run. Without a cluster, or without initgate in it, every e2e test is skipped
with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.cluster import Cluster, kubectl_binary, registered


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    if not os.environ.get("KUBECONFIG"):
        pytest.skip(
            "KUBECONFIG is not set: no cluster to test against (deploy/kind/e2e.sh makes one)"
        )
    kubectl = kubectl_binary()
    if kubectl is None:
        pytest.skip("kubectl not found: run scripts/install-tools.sh")
    found = registered(kubectl)
    if isinstance(found, str):
        pytest.skip(f"{os.environ['KUBECONFIG']}: {found}")
    session = Cluster(kubectl, release_namespace=found[0], default_mode=found[1])
    yield session
    for name in session.created:
        session.run("delete", "namespace", name, "--wait=false")
