"""What every admission answer leaves behind: the decision line names the exemptions that applied
(with the reason each was granted for) and, for a rule that failed, the rule and the container;
the findings and errors are counted under the rule's id, and under nothing a request can choose."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from policies import REGISTRY
from tests.support import reviews
from webhook.server.app import create_app
from webhook.server.metrics import Metrics
from webhook.server.settings import ServerSettings

CONFIG = """\
exemptions:
  namespaces:
    - kube-system
    - {namespace: legacy, reason: INC-7 until the move, expires: "2999-01-01"}
  images:
    - {image: "registry.example.com/netinit:*", reason: "vendor init, INC-9"}
rules:
  - id: init-digest
    description: Init images are pinned by digest.
    roles: [init]
    expression: "container.image.contains('@sha256:')"
  - id: probe-period
    description: Probes of init containers are not too frequent.
    roles: [init]
    expression: "container.livenessProbe.periodSeconds >= 10"
"""
RULES = {"init-digest", "probe-period"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    config = tmp_path_factory.mktemp("instrumentation") / "config.yaml"
    config.write_text(CONFIG)
    app = create_app(ServerSettings(config_path=config))
    with TestClient(app, base_url="https://testserver") as http:
        yield http


def metrics(client: TestClient) -> Metrics:
    found: Metrics = client.app.state.initgate.metrics  # type: ignore[attr-defined]
    return found


def sample(client: TestClient, name: str, **labels: str) -> float:
    return metrics(client).registry.get_sample_value(name, labels) or 0.0


def decided(client: TestClient, lines: io.StringIO, review: dict[str, Any]) -> dict[str, Any]:
    """The decision line of one validation of `review`."""
    assert client.post("/validate", json=review).status_code == 200
    (line,) = [json.loads(text) for text in lines.getvalue().splitlines()]
    assert line["msg"] == "decision"
    return dict(line)


def pod_with_init(image: str, namespace: str = "demo", **fields: Any) -> dict[str, Any]:
    init = reviews.container("setup", image, resources=reviews.LIMITED, **fields)
    pod = reviews.pod(init=[init])
    return reviews.review_of(pod, namespace=namespace)


def test_a_rule_finding_and_a_rule_error_are_counted_and_named(
    client: TestClient, lines: io.StringIO
) -> None:
    found = {"policy": "init-digest", "mode": "enforce", "role": "init", "webhook": "validate"}
    before = sample(client, "initgate_findings_total", **found)
    errors = sample(client, "initgate_policy_errors_total", policy="probe-period")
    line = decided(client, lines, pod_with_init("busybox:1.36"))
    assert line["decision"] == "denied"
    assert line["policies"] == ["init-digest"]
    assert line["exemptions"] == []
    assert line["errors"] == [
        'probe-period: init "setup" (spec.initContainers[0]): Key not found in map : "livenessProbe"'
    ]
    assert sample(client, "initgate_findings_total", **found) == before + 1
    assert sample(client, "initgate_policy_errors_total", policy="probe-period") == errors + 1


def test_the_exemptions_that_applied_are_named_with_their_reasons(
    client: TestClient, lines: io.StringIO
) -> None:
    probe = {"tcpSocket": {"port": 8080}, "periodSeconds": 10}
    line = decided(
        client, lines, pod_with_init("registry.example.com/netinit:1", livenessProbe=probe)
    )
    assert (line["decision"], line["policies"], line["errors"]) == ("allowed", [], [])
    assert line["exemptions"] == ["exemptions.images[0]: vendor init, INC-9"]


def test_an_exempt_request_names_the_exemption(client: TestClient, lines: io.StringIO) -> None:
    line = decided(client, lines, pod_with_init("busybox:1.36", namespace="legacy"))
    assert (line["decision"], line["reason"]) == ("exempt", "namespace")
    assert line["exemptions"] == ["exemptions.namespaces[1]: INC-7 until the move"]


def test_an_exemption_without_a_reason_is_named_alone(
    client: TestClient, lines: io.StringIO
) -> None:
    line = decided(client, lines, pod_with_init("busybox:1.36", namespace="kube-system"))
    assert line["exemptions"] == ["exemptions.namespaces[0]"]


def test_policy_labels_are_the_configured_ids_whatever_the_requests(client: TestClient) -> None:
    """Names, images and roles chosen by a client never become label values: the `policy` label
    is a built-in policy's id, a configured rule's id, or `engine`."""
    for index in range(20):
        init = reviews.container(f"c{index}", f"img{index}:{index}", resources={})
        app = reviews.container(f"app-{index}", f"registry.example.com/x{index}")
        review = reviews.review_of(reviews.pod(init=[init], app=[app], name=f"p{index}"))
        for path in ("/validate", "/mutate"):
            assert client.post(path, json=review).status_code == 200
    allowed = {policy.id for policy in REGISTRY} | RULES | {"engine"}
    registry = metrics(client).registry
    for family in registry.collect():
        if family.name in ("initgate_findings", "initgate_policy_errors"):
            for found in family.samples:
                assert found.labels["policy"] in allowed, found
