"""The policies together, chained as the API server chains webhooks: mutate, apply the patch,
validate the mutated object (`webhook.core.chain.chain`, which `initgate review` uses)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from policies.base import Mode
from tests.policies import pods
from tests.policies.harness import plan
from tests.support import kube, reviews
from webhook.core import chain as offline
from webhook.core import review
from webhook.core.messages import WARNING_LIMIT


def _chain(obj: dict[str, Any], *, cap: Mode = Mode.ENFORCE, **who: Any) -> offline.Chained:
    incoming = review.AdmissionReview.model_validate(reviews.review_of(obj, **who))
    return offline.chain(incoming, plan(), cap=cap)


def _patched(chained: offline.Chained, obj: dict[str, Any]) -> dict[str, Any]:
    """The object the validating webhook saw, checked as the API server would check it."""
    ops = kube.decode_patch(dict(chained.mutate["response"]))
    patched = kube.check_patched(obj, ops)
    assert chained.mutated == patched
    return patched


def test_a_compliant_pod_is_admitted_and_completed() -> None:
    obj = pods.compliant()
    chained = _chain(obj)
    requests, limits = {"cpu": "100m", "memory": "128Mi"}, {"memory": "256Mi"}
    assert kube.decode_patch(dict(chained.mutate["response"])) == [
        {"op": "add", "path": "/spec/containers/0/resources/requests", "value": requests},
        {"op": "add", "path": "/spec/containers/0/resources/limits", "value": limits},
        {"op": "add", "path": "/spec/containers/1/resources/requests", "value": requests},
        {"op": "add", "path": "/spec/containers/1/resources/limits", "value": limits},
        {"op": "add", "path": "/spec/volumes/0/emptyDir/sizeLimit", "value": "2Gi"},
        {"op": "add", "path": "/spec/volumes/1/emptyDir/sizeLimit", "value": "256Mi"},
        {"op": "add", "path": "/spec/volumes/2/emptyDir/sizeLimit", "value": "2Gi"},
        {"op": "add", "path": "/spec/containers/0/volumeMounts/0/readOnly", "value": True},
    ]
    assert chained.validate["response"] == {
        "uid": chained.mutate["response"]["uid"],
        "allowed": True,
    }
    patched = _patched(chained, obj)
    server = patched["spec"]["containers"][0]
    assert server["volumeMounts"][0] == {"name": "models", "mountPath": "/models", "readOnly": True}
    # The cache the app writes for itself stays writable; so does the init's /tmp scratch.
    assert "readOnly" not in server["volumeMounts"][1]
    again = _chain(patched)
    assert "patch" not in again.mutate["response"]
    assert again.validate["response"]["allowed"]


def _invariants(obj: dict[str, Any]) -> None:
    """What the default configuration guarantees of every pod after mutation (which mounts become
    read-only is checked exactly in test_readonly_mounts and above)."""
    spec = obj["spec"]
    for container in spec.get("containers", []):
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), container["name"]
        assert "memory" in resources.get("limits", {}), container["name"]
    for volume in spec.get("volumes", []):
        source = volume.get("emptyDir")
        if source is not None and not source.get("medium", "").startswith("HugePages"):
            assert "sizeLimit" in source, volume["name"]


# What validation says after mutation, with the default configuration: the keys it denies for.
OUTCOMES: dict[str, list[str]] = {
    "docs-wait-for-services": ["limit:cpu", "limit:memory"] * 2,
    "privileged-sysctl": ["privileged"],
}


@pytest.mark.parametrize("name", sorted(pods.REALISTIC))
def test_realistic_pods(name: str) -> None:
    obj = pods.REALISTIC[name]()
    chained = _chain(obj)
    assert chained.mutate_decision.errors == chained.validate_decision.errors == []
    patched = _patched(chained, obj)
    _invariants(patched)
    enforced = [v.finding.key for v in chained.validate_decision.verdicts if v.mode is Mode.ENFORCE]
    assert enforced == OUTCOMES.get(name, [])
    assert chained.validate["response"]["allowed"] is (name not in OUTCOMES)


def test_one_denial_lists_every_finding() -> None:
    obj = pods.compliant()
    wait, fetch = obj["spec"]["initContainers"]
    del wait["resources"]["limits"]
    fetch["securityContext"] = {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}}
    chained = _chain(obj)
    assert chained.mutate["response"]["allowed"]  # mutation never denies
    response = chained.validate["response"]
    assert (response["allowed"], response.get("status", {}).get("code")) == (False, 403)
    assert response["status"]["message"].splitlines() == [
        'Pod "web" is denied by initgate (4 problems):',
        '- init-privileged: init "fetch-model" (spec.initContainers[1]): '
        "securityContext.privileged is true; remove it",
        '- init-privileged: init "fetch-model" (spec.initContainers[1]): '
        "capabilities.add has SYS_ADMIN; drop it",
        '- init-unbounded: init "wait-for-db" (spec.initContainers[0]): '
        "resources.limits.cpu is missing; set one, e.g. cpu: 500m",
        '- init-unbounded: init "wait-for-db" (spec.initContainers[0]): '
        "resources.limits.memory is missing; set one, e.g. memory: 256Mi",
        "init-privileged: Drop the privileges, or ask the platform team for a scoped image exemption.",
        "init-unbounded: Add resources.limits to each init container listed.",
        "Policy documentation and exemptions: "
        "https://github.com/initgate/initgate/blob/main/docs/policies.md",
    ]


LONG = "x" * 63  # the longest container and volume name Kubernetes allows


def _long_names() -> dict[str, Any]:
    """Every finding there is, on containers and volumes with the longest names allowed."""
    volume = pods.empty_dir(LONG)
    fetch = pods.shell(
        LONG,
        "until wget -O /d/x http://x; do sleep 1; done",
        image="registry.example.com/a/very/long/path/to/an/image/that/nobody/pinned",
        resources={},
        mounts=[pods.mount(LONG, "/d")],
        securityContext={"privileged": True, "allowPrivilegeEscalation": True},
    )
    server = pods.app(LONG + "y", volumeMounts=[pods.mount(LONG, "/d")])
    return reviews.pod(init=[fetch], app=[server], volumes=[volume])


def _captured(case: str) -> dict[str, Any]:
    obj: dict[str, Any] = reviews.captured(case, "mutate")["request"]["object"]
    return obj


WARNED: dict[str, Callable[[], dict[str, Any]]] = {
    **pods.REALISTIC,
    "long-names": _long_names,
    **{
        f"captured-{case}": (lambda case=case: _captured(case))  # type: ignore[misc]
        for case in ("pod-create-two-init", "pod-create-generatename", "pod-create-native-sidecar")
    },
}


@pytest.mark.parametrize("name", sorted(WARNED))
def test_warn_mode_lines_are_single_and_short(name: str) -> None:
    obj = WARNED[name]()
    chained = _chain(copy.deepcopy(obj), cap=Mode.WARN)
    for response in (chained.mutate["response"], chained.validate["response"]):
        assert response["allowed"]
        assert "patch" not in response
        for line in response.get("warnings", []):
            assert "\n" not in line
            assert len(line) <= WARNING_LIMIT, line
            assert line.startswith(("initgate ", "initgate: ")), line
    verdicts = chained.mutate_decision.verdicts + chained.validate_decision.verdicts
    assert bool(verdicts) is bool(
        chained.mutate["response"].get("warnings") or chained.validate["response"].get("warnings")
    )


def test_warn_mode_on_the_longest_names_keeps_what_matters_up_front() -> None:
    chained = _chain(_long_names(), cap=Mode.WARN)
    warnings = chained.validate["response"]["warnings"]
    assert [w.split(": ")[0] for w in warnings] == ["initgate init-privileged"] + [
        "initgate init-unbounded"
    ] * 2 + ["initgate init-lint"] * 2
    # The name is what gives way (it keeps its role and a long prefix); what to do survives.
    assert all(f'init "{LONG[:12]}' in w and len(w) <= 120 for w in warnings)
    assert warnings[0].endswith("securityContext.privileged is true; remove it")
    assert warnings[2].endswith("resources.limits.memory is missing; set one, e.g. memory: 256Mi")
    assert warnings[3].endswith(
        "waits in a loop with no bound; add a retry limit or wrap it in timeout"
    )


# Every captured request, through the chain with the real operation, subresource and user:
# (mutate outcome, patched paths) and (validate outcome, enforced finding keys).
CAPTURED: dict[str, tuple[str, list[str], str, list[str]]] = {
    "deployment-create": ("skipped", [], "denied", ["limit:cpu", "limit:memory"]),
    "deployment-update-image": ("skipped", [], "denied", ["limit:cpu", "limit:memory"]),
    "pod-create-by-serviceaccount": (
        "patched",
        ["requests", "limits"],
        "denied",
        ["limit:cpu", "limit:memory"],
    ),
    "pod-create-dryrun-client-side-apply": (
        "patched",
        ["requests", "limits"],
        "denied",
        ["limit:cpu", "limit:memory"],
    ),
    "pod-create-dryrun-server-side-apply": (
        "patched",
        ["requests", "limits"],
        "denied",
        ["limit:cpu", "limit:memory"],
    ),
    "pod-create-generatename": (
        "patched",
        ["requests", "limits", "sizeLimit"],
        "denied",
        ["limit:cpu", "limit:memory"],
    ),
    "pod-create-kube-system": ("exempt", [], "exempt", []),
    "pod-create-native-sidecar": ("patched", ["requests", "limits"], "allowed", []),
    "pod-create-two-init": (
        "patched",
        ["sizeLimit", "readOnly"],
        "denied",
        ["privileged", "limit:cpu", "limit:memory"],
    ),
    "pod-ephemeral-kubectl-debug": ("allowed", [], "allowed", []),
    "pod-ephemeral-subresource-patch": ("allowed", [], "allowed", []),
    "pod-update-label": ("skipped", [], "skipped", []),
}


@pytest.mark.parametrize("case", reviews.CASES)
def test_captured_requests(case: str) -> None:
    incoming = review.AdmissionReview.model_validate(reviews.captured(case, "mutate"))
    chained = offline.chain(incoming, plan())
    mutated, validated = chained.mutate_decision, chained.validate_decision
    assert mutated.errors == validated.errors == []
    paths = [op["path"].rsplit("/", 1)[-1] for op in mutated.patch]
    keys = [v.finding.key for v in validated.verdicts if v.mode is Mode.ENFORCE]
    assert (mutated.outcome, paths, validated.outcome, keys) == CAPTURED[case]
    obj = incoming.request.object
    assert obj is not None
    patched = _patched(chained, obj)
    again = offline.chain(
        incoming.model_copy(
            update={"request": incoming.request.model_copy(update={"object": patched})}
        ),
        plan(),
    )
    assert again.mutate_decision.patch == []
