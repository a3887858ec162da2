"""readonly-mounts' data-flow analysis in CEL (webhook/native/flow.py) gives the rules' `fills` and
`readsFrom` as the webhook works them out, for every container of the realistic pods, the
captured reviews and the cases the analysis distinguishes, whether preparing init containers
count or not."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.policies import pods as realistic
from tests.support import reviews
from tests.support.admission_policies import request_for
from tests.support.verdicts import findings, native_findings
from tests.webhook.core.test_rules import POD, rule
from webhook.core.config import Config

SHOWN = "'[' + fills.join(',') + '][' + readsFrom.join(',') + ']'"
MOUNT = {"name": "data", "mountPath": "/data"}


def _writer(name: str, *mounts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return reviews.container(
        name, command=["sh", "-c", "cp -r /seed/. /data/"], volumeMounts=list(mounts), **fields
    )


def _reader(name: str, *mounts: dict[str, Any]) -> dict[str, Any]:
    return reviews.container(name, "nginx:1.27", volumeMounts=list(mounts))


def cases() -> dict[str, dict[str, Any]]:
    data = [{"name": "data", "emptyDir": {}}]
    generic = [{"name": "data", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}]
    claim = [{"name": "data", "persistentVolumeClaim": {"claimName": "d"}}]
    read_only = {**MOUNT, "readOnly": True}
    twice = [MOUNT, {"name": "data", "mountPath": "/again"}]
    debugged = reviews.pod(init=[_writer("fill", MOUNT)], app=[_reader("app")], volumes=data)
    debugged["spec"]["ephemeralContainers"] = [_reader("debug", MOUNT)]
    found = {
        "rules-pod": POD,
        "generic-ephemeral-volume": reviews.pod(
            init=[_writer("fill", MOUNT)], app=[_reader("app", MOUNT)], volumes=generic
        ),
        "claim-outlives-the-pod": reviews.pod(
            init=[_writer("fill", MOUNT)], app=[_reader("app", MOUNT)], volumes=claim
        ),
        "read-only-writer": reviews.pod(
            init=[_writer("look", read_only)], app=[_reader("app", MOUNT)], volumes=data
        ),
        "mounted-twice": reviews.pod(
            init=[_writer("fill", *twice), _writer("again", *twice)],
            app=[_reader("app", *twice)],
            volumes=data,
        ),
        "sidecar-writes": reviews.pod(
            init=[_writer("side", MOUNT, restartPolicy="Always")],
            app=[_reader("app", MOUNT)],
            volumes=data,
        ),
        "later-init-reads": reviews.pod(
            init=[_writer("fill", MOUNT), _writer("use", MOUNT)], volumes=data
        ),
        "ephemeral-reads": debugged,
        "workload": reviews.workload("StatefulSet", copy.deepcopy(POD["spec"])),
    }
    found.update({f"realistic-{k}": make() for k, make in realistic.REALISTIC.items()})
    for case in reviews.CASES:
        found[f"captured-{case}"] = reviews.captured(case, "validate")["request"]["object"]
    return found


CASES = cases()


@pytest.mark.parametrize("preparing", [True, False], ids=["preparers-ignored", "preparers-fill"])
@pytest.mark.parametrize("obj", CASES.values(), ids=CASES.keys())
def test_fills_and_reads_from(obj: dict[str, Any], preparing: bool) -> None:
    config = Config.model_validate(
        {
            "rules": [
                rule(
                    "show",
                    "false",
                    roles=["init", "sidecar", "app", "ephemeral"],
                    messageExpression=SHOWN,
                )
            ],
            "policies": {
                "init-unbounded": {"mode": "off"},
                "init-lint": {"mode": "off"},
                "init-privileged": {"mode": "off"},
                "readonly-mounts": {"ignorePreparingInits": preparing},
            },
        }
    )
    request_ = request_for(obj)
    expected = {f for f in findings(config, request_) if f[0] == "show"}
    assert expected
    assert native_findings(config, request_) == expected


def test_the_cases_hand_data_on() -> None:
    """Most cases fill a volume a later container reads (the comparison above is not between
    empty lists)."""
    config = Config.model_validate(
        {"rules": [rule("show", "false", roles=["init", "app"], messageExpression=SHOWN)]}
    )
    handing_on = [
        name
        for name, obj in CASES.items()
        if any(m.startswith("[") and m != "[][]" for *_, m in findings(config, request_for(obj)))
    ]
    assert len(handing_on) >= 10, handing_on
