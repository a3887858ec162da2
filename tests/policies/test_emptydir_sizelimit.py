"""emptydir-sizelimit: every mounted emptyDir without a sizeLimit gets the default for its
medium; huge pages are left to their own limits."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from policies import emptydir_sizelimit
from policies.emptydir_sizelimit import EmptyDirSizeLimitSettings
from tests.policies import pods
from tests.policies.harness import (
    Row,
    apply_findings,
    evaluate,
    found,
    patch_of,
    policy_config,
    rows,
    run,
)
from tests.support.reviews import pod

POLICY = emptydir_sizelimit.POLICY
ID = POLICY.id
WORK = pods.mount("work", "/work")


def _size(index: int, value: str) -> dict[str, Any]:
    return {"op": "add", "path": f"/spec/volumes/{index}/emptyDir/sizeLimit", "value": value}


def _row(volume: str, value: str) -> Row:
    return (f'volume "{volume}"', "sizeLimit", f"set emptyDir.sizeLimit={value}")


def _work(volume: dict[str, Any], *, mounted_by: str = "app") -> dict[str, Any]:
    container = pods.app(volumeMounts=[WORK])
    if mounted_by == "init":
        return pod(init=[pods.shell("fill", "date > /work/x", mounts=[WORK])], volumes=[volume])
    return pod(app=[container], volumes=[volume])


@pytest.mark.parametrize(
    ("obj", "settings", "expected", "patch"),
    [
        pytest.param(
            _work(pods.empty_dir("work")), {}, [_row("work", "2Gi")], [_size(0, "2Gi")], id="disk"
        ),
        pytest.param(
            _work(pods.empty_dir("work", medium="Memory")),
            {},
            [_row("work", "256Mi")],
            [_size(0, "256Mi")],
            id="memory",
        ),
        pytest.param(
            _work(pods.empty_dir("work", medium="")),
            {},
            [_row("work", "2Gi")],
            [_size(0, "2Gi")],
            id="default-medium",
        ),
        pytest.param(
            _work(pods.empty_dir("work", sizeLimit="10Gi")), {}, [], [], id="allow-own-limit"
        ),
        pytest.param(
            _work({"name": "work", "emptyDir": None}),
            {},
            [_row("work", "2Gi")],
            [{"op": "add", "path": "/spec/volumes/0/emptyDir", "value": {"sizeLimit": "2Gi"}}],
            id="null-source-replaced",
        ),
        pytest.param(
            _work(pods.empty_dir("work", medium="HugePages")), {}, [], [], id="huge-pages"
        ),
        pytest.param(
            _work(pods.empty_dir("work", medium="HugePages-2Mi")), {}, [], [], id="huge-pages-sized"
        ),
        pytest.param(
            _work(pods.empty_dir("work")),
            {"sizeLimit": "500Mi", "memorySizeLimit": "64Mi"},
            [_row("work", "500Mi")],
            [_size(0, "500Mi")],
            id="configured-size",
        ),
        pytest.param(pod(volumes=[pods.empty_dir("work")]), {}, [], [], id="mounted-by-nobody"),
        pytest.param(_work(pods.claim("work")), {}, [], [], id="not-an-empty-dir"),
        pytest.param(
            _work(pods.empty_dir("work"), mounted_by="init"),
            {},
            [_row("work", "2Gi")],
            [_size(0, "2Gi")],
            id="init-fills-it",
        ),
        pytest.param(
            _work(pods.empty_dir("work"), mounted_by="init"),
            {"roles": ["app"]},
            [],
            [],
            id="init-role-not-configured",
        ),
        pytest.param(
            pods.istio(),
            {},
            # istio-proxy (1Gi) and web (128Mi) already bound the memory volume at 1152Mi.
            [
                _row("workload-socket", "2Gi"),
                _row("istio-envoy", "1152Mi"),
                _row("istio-data", "2Gi"),
            ],
            [_size(0, "2Gi"), _size(1, "1152Mi"), _size(2, "2Gi")],
            id="realistic-istio",
        ),
        pytest.param(
            pods.linkerd(),
            {},
            [
                _row("linkerd-proxy-init-xtables-lock", "2Gi"),
                _row("linkerd-identity-end-entity", "256Mi"),
            ],
            [_size(0, "2Gi"), _size(1, "256Mi")],
            id="realistic-linkerd",
        ),
        pytest.param(
            pods.vault_agent(),
            {},
            [
                _row("home-init", "256Mi"),
                _row("home-sidecar", "256Mi"),
                _row("vault-secrets", "256Mi"),
            ],
            [_size(0, "256Mi"), _size(1, "256Mi"), _size(2, "256Mi")],
            id="realistic-vault-memory-volumes",
        ),
        pytest.param(
            pods.compliant(),
            {},
            [_row("models", "2Gi"), _row("scratch", "256Mi"), _row("cache", "2Gi")],
            [_size(0, "2Gi"), _size(1, "256Mi"), _size(2, "2Gi")],
            id="realistic-compliant",
        ),
    ],
)
def test_patches(
    obj: dict[str, Any], settings: dict[str, Any], expected: list[Row], patch: list[dict[str, Any]]
) -> None:
    findings = evaluate(POLICY, obj, **settings)
    assert rows(findings) == expected
    assert patch_of(findings) == patch
    assert evaluate(POLICY, apply_findings(obj, findings), **settings) == []


def test_finding_role_is_the_first_mounting_container() -> None:
    obj = pod(
        init=[pods.shell("fill", "date > /work/x", mounts=[WORK])],
        app=[pods.app(volumeMounts=[WORK])],
        volumes=[pods.empty_dir("work")],
    )
    (finding,) = evaluate(POLICY, obj)
    assert (finding.role, finding.container, finding.volume and finding.volume.name) == (
        "init",
        None,
        "work",
    )


def test_ephemeral_mounts_do_not_count_by_default() -> None:
    obj = pod(volumes=[pods.empty_dir("work")])
    obj["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox:1.36", "volumeMounts": [WORK]}
    ]
    assert evaluate(POLICY, obj) == []
    assert rows(evaluate(POLICY, obj, roles=["ephemeral"])) == [_row("work", "2Gi")]


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({"sizeLimit": "2 GB"}, id="not-a-quantity"),
        pytest.param({"memorySizeLimit": "-1Mi"}, id="negative"),
    ],
)
def test_settings_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EmptyDirSizeLimitSettings.model_validate(settings)


@pytest.mark.parametrize(
    ("config", "who", "expected"),
    [
        pytest.param(None, {}, [_row("work", "2Gi")], id="default"),
        pytest.param(
            policy_config(ID, exemptions={"namespaces": ["scratch-*"]}),
            {"namespace": "scratch-1"},
            [],
            id="namespace",
        ),
        pytest.param(
            policy_config(ID, exemptions={"users": ["ci-bot"]}),
            {"username": "ci-bot"},
            [],
            id="user",
        ),
        pytest.param(
            policy_config(ID, exemptions={"images": [{"image": "nginx:*"}]}),
            {},
            [_row("work", "2Gi")],
            id="image-exemptions-do-not-reach-volume-findings",
        ),
    ],
)
def test_exemptions_through_the_engine(
    config: dict[str, Any] | None, who: dict[str, Any], expected: list[Row]
) -> None:
    decision = run(_work(pods.empty_dir("work")), webhook="mutate", config=config, **who)
    assert found(decision, ID) == expected


def test_warn_mode_line() -> None:
    decision = run(
        _work(pods.empty_dir("work")), webhook="mutate", config=policy_config(ID, mode="warn")
    )
    assert decision.warnings == [
        'initgate emptydir-sizelimit: volume "work": would set emptyDir.sizeLimit=2Gi'
    ]
    assert decision.would_patch == [_size(0, "2Gi")]


def _budget(
    *containers: tuple[str, str, dict[str, str]], pod_limits: dict[str, str] | None = None
) -> dict[str, Any]:
    """A pod with a disk and a memory emptyDir, and containers (role, name, limits)."""
    volumes = [pods.empty_dir("scratch"), pods.empty_dir("shm", medium="Memory")]
    mounts = [pods.mount("scratch", "/scratch"), pods.mount("shm", "/dev/shm")]
    init: list[dict[str, Any]] = []
    app: list[dict[str, Any]] = []
    for role, name, limits in containers:
        raw = {
            "name": name,
            "image": "busybox:1.36",
            "resources": {"limits": limits},
            "volumeMounts": mounts,
        }
        if role == "sidecar":
            raw["restartPolicy"] = "Always"
        (app if role == "app" else init).append(raw)
    obj = pod(init=init, app=app, volumes=volumes)
    if pod_limits is not None:
        obj["spec"]["resources"] = {"limits": pod_limits}
    return obj


@pytest.mark.parametrize(
    ("obj", "disk", "memory"),
    [
        pytest.param(
            _budget(("app", "a", {"memory": "64Mi"})), "2Gi", "256Mi", id="below-defaults"
        ),
        pytest.param(
            _budget(("app", "model", {"ephemeral-storage": "50Gi", "memory": "8Gi"})),
            "50Gi",
            "8Gi",
            id="one-container-declares-more",
        ),
        pytest.param(
            _budget(
                ("app", "a", {"ephemeral-storage": "10Gi"}),
                ("app", "b", {"ephemeral-storage": "5Gi"}),
            ),
            "15Gi",
            "256Mi",
            id="running-containers-add-up",
        ),
        pytest.param(
            _budget(
                ("init", "download", {"ephemeral-storage": "40Gi"}),
                ("app", "serve", {"ephemeral-storage": "1Gi"}),
            ),
            "40Gi",
            "256Mi",
            id="largest-init-container",
        ),
        pytest.param(
            _budget(
                ("sidecar", "logs", {"memory": "1Gi"}),
                ("init", "prepare", {"memory": "4Gi"}),
                ("app", "web", {"memory": "2Gi"}),
            ),
            "2Gi",
            "5Gi",
            id="init-beside-sidecars",
        ),
        pytest.param(
            _budget(("app", "a", {"memory": "2G"})), "2Gi", "1953125Ki", id="decimal-units-in-bytes"
        ),
        pytest.param(
            _budget(
                ("app", "a", {"memory": "64Mi"}),
                pod_limits={"memory": "4Gi", "ephemeral-storage": "1Gi"},
            ),
            "2Gi",
            "4Gi",
            id="pod-level-limits",
        ),
    ],
)
def test_the_default_never_tightens_the_pods_own_budget(
    obj: dict[str, Any], disk: str, memory: str
) -> None:
    findings = evaluate(POLICY, obj)
    assert patch_of(findings) == [_size(0, disk), _size(1, memory)]
    if "resources" not in obj["spec"]:  # pod-level resources: unknown to the 1.30 schema
        assert evaluate(POLICY, apply_findings(obj, findings)) == []
