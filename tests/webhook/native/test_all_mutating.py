"""The three mutating policies together, generated as MutatingAdmissionPolicies, leave the pod the
webhook leaves, on realistic pods, the captured reviews and generated pods, for default and
non-default settings and mixed modes, in whichever order the API server runs them, and a second
run changes nothing.

One difference cannot be avoided. The webhook judges every policy on the pod as it was sent;
each MAP sees the pod as the MAPs before it left it, and Kubernetes does not order MAPs (it
walks a Go map). When default-resources' MAP runs before emptydir-sizelimit's, the pod's budget
includes the memory (or ephemeral-storage) limits default-resources has just added, so an
emptyDir may get a larger sizeLimit than the webhook gives it, never a smaller one; in the other
order they agree (emptydir-sizelimit's reinvocation then finds its sizeLimits set)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.base import Mode
from policies.quantity import parse
from tests.policies import test_properties
from tests.support.admission_policies import request_for
from tests.support.mutations import by_webhook, natively, previews, review_of
from tests.support.reviews import pod
from tests.webhook.native.corpus import CAPS, cases, orders
from webhook.core.config import Config

FIRST = ["emptydir-sizelimit", "default-resources", "readonly-mounts"]
"""The order in which the MAPs give exactly the webhook's pod."""
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "every-knob": test_properties.CONFIGS[1],
    "mixed-modes": {
        "policies": {
            "default-resources": {"limits": {"memory": "1Gi", "ephemeral-storage": "4Gi"}},
            "emptydir-sizelimit": {"mode": "warn"},
            "readonly-mounts": {"mode": "audit", "writableVolumes": ["cache"]},
        }
    },
    "big-defaults": {
        "policies": {"default-resources": {"limits": {"memory": "1Gi", "ephemeral-storage": "8Gi"}}}
    },
    "warn": {"mode": "warn"},
}


def _volumes(obj: dict[str, Any]) -> list[Any]:
    return [v.get("emptyDir", {}).get("sizeLimit") for v in obj["spec"].get("volumes", [])]


def _unsized(obj: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(obj)
    for volume in copied["spec"].get("volumes", []):
        volume.get("emptyDir", {}).pop("sizeLimit", None)
    return copied


def _runs_before(order: Sequence[str], one: str, other: str) -> bool:
    return one in order and other in order and order.index(one) < order.index(other)


def _check(config: Config, review: dict[str, Any], cap: Mode, chosen: list[Sequence[str]]) -> None:
    expected = by_webhook(config, review, cap)
    for order in chosen:
        mutation = natively(config, review, cap, order=order)
        assert mutation.errors == [], mutation.errors
        again = natively(config, {**review, "object": mutation.object}, cap, order=order)
        assert (again.object, again.changed) == (mutation.object, []), "not idempotent"
        if mutation.object == expected:
            continue
        # The one known difference, and only it.
        assert _runs_before(order, "default-resources", "emptydir-sizelimit"), order
        assert _unsized(mutation.object) == _unsized(expected)
        for got, want in zip(_volumes(mutation.object), _volumes(expected), strict=True):
            assert (got is None) == (want is None)
            assert got is None or parse(got) >= parse(want), (got, want)
    said, got = previews(config, review, cap)
    assert got == said


PODS = cases({})


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize(("name", "review"), PODS, ids=[n for n, _ in PODS])
@pytest.mark.parametrize("cap", CAPS, ids=lambda m: m.value)
def test_together_in_every_order(
    config: dict[str, Any], name: str, review: dict[str, Any], cap: Mode
) -> None:
    parsed = Config.model_validate(config)
    _check(parsed, review, cap, orders(parsed, cap))
    assert natively(parsed, review, cap, order=FIRST).object == by_webhook(parsed, review, cap)


def test_the_known_difference_happens() -> None:
    """A pod whose two app containers get a 1Gi memory limit each from default-resources: run
    first, it makes the pod's memory budget 2Gi, and the memory emptyDir's sizeLimit 2Gi."""
    config = Config.model_validate(CONFIGS["big-defaults"])
    shm = {"name": "shm", "mountPath": "/dev/shm"}
    obj = pod(
        app=[{"name": n, "image": "nginx:1.27", "volumeMounts": [shm]} for n in ("a", "b")],
        volumes=[{"name": "shm", "emptyDir": {"medium": "Memory"}}],
    )
    review = review_of(request_for(obj))
    assert _volumes(by_webhook(config, review, Mode.ENFORCE)) == ["256Mi"]
    order = ["default-resources", "emptydir-sizelimit", "readonly-mounts"]
    assert _volumes(natively(config, review, Mode.ENFORCE, order=order).object) == ["2Gi"]
    assert _volumes(natively(config, review, Mode.ENFORCE, order=FIRST).object) == ["256Mi"]


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    """A pod's CREATE, or a `kubectl debug` adding its ephemeral containers."""
    obj = draw(test_properties.pods())
    debugged = "ephemeralContainers" in obj["spec"] and draw(st.booleans())
    if not debugged:
        return review_of(request_for(obj))
    old = copy.deepcopy(obj)
    del old["spec"]["ephemeralContainers"]
    return review_of(
        request_for(obj, operation="UPDATE", old=old, subresource="ephemeralcontainers")
    )


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    review=requests(),
    config=st.sampled_from(list(CONFIGS.values())),
    cap=st.sampled_from(CAPS),
)
def test_generated_pods(review: dict[str, Any], config: dict[str, Any], cap: Mode) -> None:
    parsed = Config.model_validate(config)
    _check(parsed, review, cap, [FIRST, list(reversed(FIRST))])
    assert natively(parsed, review, cap, order=FIRST).object == by_webhook(parsed, review, cap)
