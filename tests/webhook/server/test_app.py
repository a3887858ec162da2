"""Every request a real kube-apiserver sent, through a real `initgate serve` over verified TLS.

Each answer is checked the way the API server checks it (uid echoed, patchType beside patch), each
patch is applied with a JSON Patch library and the result validated against the strict Kubernetes
1.30 and 1.36 schemas, with no request above its limit; mutating the patched object again must
yield no patch.
"""

from __future__ import annotations

import copy
import json
import ssl
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import kube, reviews, server

pytestmark = pytest.mark.integration

JSON = {"content-type": "application/json"}

# What the default configuration answers to each captured request: (allowed, patch paths, finding
# lines of the denial or warnings). Patches are checked in full below.
EXPECTED: dict[tuple[str, str], dict[str, Any]] = {
    ("pod-create-two-init", "mutate"): {
        "allowed": True,
        "patch": [
            {"op": "add", "path": "/spec/volumes/0/emptyDir/sizeLimit", "value": "2Gi"},
            {"op": "add", "path": "/spec/containers/0/volumeMounts/0/readOnly", "value": True},
        ],
    },
    ("pod-create-two-init", "validate"): {
        "allowed": False,
        "problems": [
            '- init-privileged: init "setup" (spec.initContainers[0]): '
            "securityContext.privileged is true; remove it",
            '- init-unbounded: init "no-resources" (spec.initContainers[1]): '
            "resources.limits.cpu is missing; set one, e.g. cpu: 500m",
            '- init-unbounded: init "no-resources" (spec.initContainers[1]): '
            "resources.limits.memory is missing; set one, e.g. memory: 256Mi",
        ],
    },
    ("pod-create-native-sidecar", "mutate"): {
        "allowed": True,
        "patch": [
            {
                "op": "add",
                "path": "/spec/containers/0/resources/requests",
                "value": {"cpu": "100m", "memory": "128Mi"},
            },
            {
                "op": "add",
                "path": "/spec/containers/0/resources/limits",
                "value": {"memory": "256Mi"},
            },
        ],
    },
    # The migrate init container has limits; the log shipper is a native sidecar (restartPolicy
    # Always): its writable "logs" volume does not make the app's mount read-only.
    ("pod-create-native-sidecar", "validate"): {"allowed": True},
    ("pod-create-generatename", "mutate"): {
        "allowed": True,
        "patch": [
            {
                "op": "add",
                "path": "/spec/containers/0/resources/requests",
                "value": {"cpu": "100m", "memory": "128Mi"},
            },
            {
                "op": "add",
                "path": "/spec/containers/0/resources/limits",
                "value": {"memory": "256Mi"},
            },
            # medium: Memory gets the memory default, not the disk one.
            {"op": "add", "path": "/spec/volumes/0/emptyDir/sizeLimit", "value": "256Mi"},
        ],
    },
    ("pod-create-generatename", "validate"): {
        "allowed": False,
        "problems": [
            '- init-unbounded: init "init-perms" (spec.initContainers[0]): '
            "resources.limits.cpu is missing; set one, e.g. cpu: 500m",
            '- init-unbounded: init "init-perms" (spec.initContainers[0]): '
            "resources.limits.memory is missing; set one, e.g. memory: 256Mi",
        ],
    },
    ("pod-create-kube-system", "mutate"): {"allowed": True},
    ("pod-create-kube-system", "validate"): {"allowed": True},
    ("pod-update-label", "mutate"): {"allowed": True},
    ("pod-update-label", "validate"): {"allowed": True},
    ("pod-ephemeral-kubectl-debug", "mutate"): {"allowed": True},
    ("pod-ephemeral-kubectl-debug", "validate"): {"allowed": True},
    ("pod-ephemeral-subresource-patch", "mutate"): {"allowed": True},
    ("pod-ephemeral-subresource-patch", "validate"): {"allowed": True},
    ("deployment-create", "mutate"): {"allowed": True},
    ("deployment-create", "validate"): {
        "allowed": False,
        "problems": [
            '- init-unbounded: init "fetch-config" (spec.template.spec.initContainers[0]): '
            "resources.limits.cpu is missing; set one, e.g. cpu: 500m",
            '- init-unbounded: init "fetch-config" (spec.template.spec.initContainers[0]): '
            "resources.limits.memory is missing; set one, e.g. memory: 256Mi",
        ],
    },
    ("deployment-update-image", "mutate"): {"allowed": True},
    ("deployment-update-image", "validate"): {
        "allowed": False,
        "problems": [
            '- init-unbounded: init "fetch-config" (spec.template.spec.initContainers[0]): '
            "resources.limits.cpu is missing; set one, e.g. cpu: 500m",
            '- init-unbounded: init "fetch-config" (spec.template.spec.initContainers[0]): '
            "resources.limits.memory is missing; set one, e.g. memory: 256Mi",
        ],
    },
}
for _case in ("pod-create-by-serviceaccount", "pod-create-dryrun-client-side-apply"):
    EXPECTED[(_case, "mutate")] = {"allowed": True, "patch_paths": 2}
EXPECTED[("pod-create-dryrun-server-side-apply", "mutate")] = {"allowed": True, "patch_paths": 2}
EXPECTED[("pod-create-by-serviceaccount", "validate")] = {"allowed": False, "problem_count": 2}
for _case in ("pod-create-dryrun-client-side-apply", "pod-create-dryrun-server-side-apply"):
    EXPECTED[(_case, "validate")] = {
        "allowed": False,
        "problem_count": 2,
        "warnings": [
            'initgate init-lint: init "wait-for-db": waits in a loop with no bound; '
            "add a retry limit or wrap it in timeout"
        ],
    }


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(tmp_path_factory.mktemp("server"))


@pytest.fixture(scope="module")
def client(served: server.Served) -> Iterator[httpx.Client]:
    with served.client() as http:
        yield http


def post(client: httpx.Client, path: str, body: bytes | dict[str, Any]) -> dict[str, Any]:
    """POST a review the way the API server does (`PATH?timeout=10s`) and check the envelope."""
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    answer = client.post(f"{path}?timeout=10s", content=content, headers=JSON)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    review: dict[str, Any] = answer.json()
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert review["kind"] == "AdmissionReview"
    assert isinstance(review["response"]["allowed"], bool)
    return review


def test_every_case_is_covered() -> None:
    assert {case for case, _ in EXPECTED} == set(reviews.CASES)


@pytest.mark.parametrize(
    ("case", "webhook"), sorted(EXPECTED), ids=[f"{c}.{w}" for c, w in sorted(EXPECTED)]
)
def test_captured_request(client: httpx.Client, case: str, webhook: str) -> None:
    sent = reviews.captured(case, webhook)
    expected = EXPECTED[(case, webhook)]
    response = post(client, f"/{webhook}", reviews.captured_bytes(case, webhook))["response"]

    assert response["uid"] == sent["request"]["uid"]
    assert response["allowed"] is expected["allowed"]
    assert response.get("warnings", []) == expected.get("warnings", [])
    ops = kube.decode_patch(response)
    if "patch" in expected:
        assert ops == expected["patch"]
    assert len(ops) == expected.get("patch_paths", len(expected.get("patch", [])))
    if ops:
        kube.check_patched(sent["request"]["object"], ops)
    if expected["allowed"]:
        assert "status" not in response
        return
    status = response["status"]
    assert status["code"] == 403
    lines = status["message"].splitlines()
    problems = [line for line in lines if line.startswith("- ")]
    if "problems" in expected:
        assert problems == expected["problems"]
    assert len(problems) == expected.get("problem_count", len(problems))
    name = sent["request"].get("name") or sent["request"]["object"]["metadata"]["generateName"]
    kind = sent["request"]["kind"]["kind"]
    assert lines[0].startswith(f'{kind} "{name}" is denied by initgate ({len(problems)} problems')
    assert lines[-1].startswith("Policy documentation and exemptions: https://")


@pytest.mark.parametrize(
    "case",
    [
        c
        for c in reviews.CASES
        if EXPECTED[(c, "mutate")].get("patch_paths") or EXPECTED[(c, "mutate")].get("patch")
    ],
)
def test_mutation_is_idempotent(client: httpx.Client, case: str) -> None:
    """What the API server stores after our patch, sent again (reinvocation): nothing to add."""
    sent = reviews.captured(case, "mutate")
    first = post(client, "/mutate", sent)["response"]
    patched = kube.check_patched(sent["request"]["object"], kube.decode_patch(first))
    again = copy.deepcopy(sent)
    again["request"]["object"] = patched
    second = post(client, "/mutate", again)["response"]
    assert second == {"uid": sent["request"]["uid"], "allowed": True}


def test_mutate_then_validate_like_the_api_server(client: httpx.Client) -> None:
    """The validating webhook sees the mutated object: no mutation finding is reported twice, and
    the denial lists only what a person has to fix."""
    sent = reviews.captured("pod-create-two-init", "mutate")
    mutated = kube.apply(
        sent["request"]["object"], kube.decode_patch(post(client, "/mutate", sent)["response"])
    )
    validating = reviews.captured("pod-create-two-init", "validate")
    validating["request"]["object"] = mutated
    response = post(client, "/validate", validating)["response"]
    assert response["allowed"] is False
    assert [
        line.split(":")[0]
        for line in response["status"]["message"].splitlines()
        if line.startswith("- ")
    ] == [
        "- init-privileged",
        "- init-unbounded",
        "- init-unbounded",
    ]


@pytest.mark.parametrize(
    ("path", "allowed", "warnings", "annotations"),
    [
        ("/validate/enforce", False, 0, set()),
        ("/validate/warn", True, 3, set()),
        ("/validate/audit", True, 0, {"init-privileged", "init-unbounded"}),
    ],
)
def test_mode_capped_endpoints(
    client: httpx.Client, path: str, allowed: bool, warnings: int, annotations: set[str]
) -> None:
    """The chart routes a namespace labelled initgate.io/mode=warn to /validate/warn, and so on."""
    response = post(client, path, reviews.captured_bytes("pod-create-two-init", "validate"))[
        "response"
    ]
    assert response["allowed"] is allowed
    lines = response.get("warnings", [])
    # Capped at warn, enforce findings become one warning line each.
    assert len(lines) == warnings
    assert all(len(line) <= 120 and "\n" not in line for line in lines)
    assert set(response.get("auditAnnotations", {})) == annotations


def test_warn_mode_mutation_says_what_would_change(client: httpx.Client) -> None:
    response = post(
        client, "/mutate/warn", reviews.captured_bytes("pod-create-two-init", "mutate")
    )["response"]
    assert response == {
        "uid": reviews.captured("pod-create-two-init", "mutate")["request"]["uid"],
        "allowed": True,
        "warnings": [
            'initgate emptydir-sizelimit: volume "shared": would set emptyDir.sizeLimit=2Gi',
            'initgate readonly-mounts: app "app": would mount "shared" readOnly '
            '(init "setup" fills it)',
            "initgate readonly-mounts: to keep it writable, annotate the pod "
            'initgate.io/writable-volumes: "shared"',
        ],
    }


def test_audit_mode_mutation_records_the_patch_it_would_make(client: httpx.Client) -> None:
    response = post(
        client, "/mutate/audit", reviews.captured_bytes("pod-create-two-init", "mutate")
    )["response"]
    assert "patch" not in response
    assert response["allowed"] is True
    assert response["auditAnnotations"] == {
        "emptydir-sizelimit": 'volume "shared": would set emptyDir.sizeLimit=2Gi',
        "readonly-mounts": 'app "app": would mount "shared" readOnly (init "setup" fills it)',
        "would-patch": '[{"op":"add","path":"/spec/volumes/0/emptyDir/sizeLimit","value":"2Gi"},'
        '{"op":"add","path":"/spec/containers/0/volumeMounts/0/readOnly","value":true}]',
    }


def test_dry_run_changes_nothing_in_the_decision(client: httpx.Client) -> None:
    sent = reviews.captured("pod-create-dryrun-client-side-apply", "validate")
    assert sent["request"]["dryRun"] is True
    dry = post(client, "/validate", sent)["response"]
    sent["request"]["dryRun"] = False
    wet = post(client, "/validate", sent)["response"]
    assert dry == wet


def test_health_and_readiness(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_plain_http_is_not_served(served: server.Served) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.post(served.base.replace("https", "http") + "/validate", content=b"{}", headers=JSON)


def test_tls_below_1_2_is_refused(served: server.Served) -> None:
    context = served.tls.context()
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", DeprecationWarning
        )  # the point is to use what is deprecated
        context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("ALL:@SECLEVEL=0")
    with pytest.raises((httpx.ConnectError, ssl.SSLError)):
        httpx.get(served.base + "/healthz", verify=context)


def test_unverified_clients_cannot_trust_another_ca(served: server.Served, tmp_path: Path) -> None:
    other = server.Material.create(tmp_path, name="other")
    with pytest.raises(httpx.ConnectError):
        httpx.get(served.base + "/healthz", verify=other.context())


def test_metrics_count_decisions_findings_and_certificate(
    client: httpx.Client, served: server.Served
) -> None:
    post(client, "/validate", reviews.captured_bytes("pod-create-two-init", "validate"))
    counted = (
        'initgate_admission_requests_total{decision="denied",dry_run="false",kind="Pod",'
        'operation="CREATE",webhook="validate"}'
    )
    text = server.eventually(lambda: httpx.get(served.metrics).text, lambda t: counted in t)
    assert counted in text
    assert (
        'initgate_findings_total{mode="enforce",policy="init-privileged",role="init",webhook="validate"}'
        in text
    )
    assert 'initgate_config_reloads_total{result="success"} 1.0' in text
    assert "initgate_certificate_expiry_timestamp_seconds " in text
    assert 'initgate_admission_duration_seconds_bucket{le="0.005",webhook="validate"}' in text
    assert "process_resident_memory_bytes" in text
    assert "_created" not in text


def test_one_decision_line_per_request(client: httpx.Client, served: server.Served) -> None:
    """A uid of its own (other tests send the captured reviews too), and a second request after
    it: the event loop writes decision lines in order, so once the second one's line is there,
    every line of the first one is too."""
    sent = reviews.captured("pod-create-generatename", "mutate")
    sent["request"]["uid"] = str(uuid.uuid4())
    after = reviews.captured("pod-create-two-init", "mutate")
    after["request"]["uid"] = str(uuid.uuid4())
    post(client, "/mutate", sent)
    post(client, "/mutate", after)

    def lines_of(uid: str) -> list[str]:
        return [line for line in served.logs().splitlines() if uid in line]

    assert len(server.eventually(lambda: lines_of(after["request"]["uid"]), bool)) == 1
    lines = lines_of(sent["request"]["uid"])
    assert len(lines) == 1, lines
    entry = json.loads(lines[0])
    assert entry["msg"] == "decision"
    assert entry["name"] == ""
    assert entry["generateName"] == "pod-h-gen-"
    assert entry["decision"] == "patched"
    assert entry["policies"] == ["default-resources", "emptydir-sizelimit"]
    assert "spec" not in lines[0]
