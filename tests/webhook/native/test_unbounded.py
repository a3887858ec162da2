"""init-unbounded as a generated ValidatingAdmissionPolicy gives the webhook's verdicts."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies.base import Mode
from tests.support import reviews
from tests.support.admission_policies import request_for
from tests.support.verdicts import native, webhook
from webhook.core.config import Config

NO_LIMITS = reviews.container("migrate", command=["sh", "-c", "./migrate"])
ZERO = reviews.container("zero", resources={"limits": {"cpu": "0", "memory": "0Mi"}})
BIG_REQUEST = reviews.container(
    "big", resources={"requests": {"cpu": "2", "memory": "1Gi"}, "limits": {"cpu": "2"}}
)
LIMITED = reviews.container("ok", resources=copy.deepcopy(reviews.LIMITED))
HUGE = reviews.container("huge", resources={"limits": {"cpu": "1", "memory": "64Gi"}})


def pods() -> list[tuple[str, dict[str, Any]]]:
    pod_limits = reviews.pod(init=[NO_LIMITS], resources={"limits": {"cpu": "1", "memory": "1Gi"}})
    sidecar = reviews.container("proxy", restartPolicy="Always")
    return [
        ("missing", reviews.pod(init=[NO_LIMITS, LIMITED])),
        ("zero", reviews.pod(init=[ZERO])),
        ("suggests-the-request", reviews.pod(init=[BIG_REQUEST])),
        ("pod-level-limits", pod_limits),
        ("above-maximum", reviews.pod(init=[HUGE])),
        ("sidecar-not-judged", reviews.pod(init=[sidecar])),
        ("deployment", reviews.workload("Deployment", reviews.pod(init=[NO_LIMITS])["spec"])),
        ("cronjob", reviews.workload("CronJob", reviews.pod(init=[ZERO, LIMITED])["spec"])),
        *(
            (case, reviews.captured(case, "validate")["request"]["object"])
            for case in reviews.CASES
        ),
    ]


CONFIGS = {
    "default": {},
    "maximum": {"policies": {"init-unbounded": {"maximum": {"memory": "4Gi"}}}},
    "sidecars-too": {"policies": {"init-unbounded": {"roles": ["init", "sidecar"]}}},
    "warn": {"policies": {"init-unbounded": {"mode": "warn"}}},
    "image-exempt": {
        "exemptions": {"images": [{"image": "busybox:*", "allow": ["limit:*"]}]},
    },
    "namespace-exempt": {"policies": {"init-unbounded": {"exemptions": {"namespaces": ["de*"]}}}},
    "empty-allow": {"exemptions": {"images": [{"image": "busybox:*", "allow": []}]}},
    "object-entries": {
        "exemptions": {
            "users": [{"user": "nobody", "expires": "2099-01-01"}],
            "images": [{"image": "busybox:*", "allow": ["limit:cpu"], "expires": "2020-01-01"}],
        },
        "policies": {"init-unbounded": {"exemptions": {"namespaces": [{"namespace": "de*"}]}}},
    },
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize(("name", "pod"), pods(), ids=[n for n, _ in pods()])
@pytest.mark.parametrize("cap", [Mode.ENFORCE, Mode.WARN, Mode.AUDIT], ids=lambda m: m.value)
def test_the_same_verdicts(
    config: dict[str, Any], name: str, pod: dict[str, Any], cap: Mode
) -> None:
    parsed = Config.model_validate(config)
    review = request_for(pod)
    expected = webhook(parsed, review, cap).actions
    got = native(parsed, review, cap).actions
    only = {a: {p: c for p, c in v.items() if p == "init-unbounded"} for a, v in expected.items()}
    assert {
        a: {p: c for p, c in v.items() if p == "init-unbounded"} for a, v in got.items()
    } == only
