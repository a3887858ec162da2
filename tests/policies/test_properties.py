"""Properties over generated pods: the engine never raises, every patch applies to the object as
received, only adds what is absent, yields a valid pod (strict Kubernetes 1.36 schema, no request
above its limit) and is final (mutating again patches nothing). Malformed pods (wrong types
anywhere) never make a policy raise."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import jsonpointer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.readonly_mounts import ANNOTATION
from tests.policies.harness import plan, request
from tests.support import kube
from webhook.core.engine import Decision, decide

CPU = ("10m", "50m", "100m", "250m", "1", "1500m", "0.5", "2")
MEMORY = ("16Mi", "64Mi", "100Mi", "128Mi", "200Mi", "300M", "512Mi", "1Gi", "2G")
# Extended resources with "/" and "~" in their names: patch paths must escape them.
EXTENDED = ("example.com/dev~1", "vendor.io/a~b")
QUANTITIES = {"cpu": CPU, "memory": MEMORY, **dict.fromkeys(EXTENDED, ("1", "2", "4"))}
CONTAINER_NAMES = ("setup", "fetch", "wait-for-db", "migrate", "web", "logs", "metrics", "x" * 63)
VOLUME_NAMES = ("data", "config", "models", "cache", "logs", "scratch", "host", "claim")
SCRIPTS = (
    "until nc -z db 5432; do sleep 2; done",
    "i=0; until nc -z db 5432; do i=$((i+1)); [ $i -ge 30 ] && exit 1; sleep 2; done",
    "chown -R 1000:1000 /data 2>&1",
    "wget -O /data/model.bin https://example.com/m",
    "tail -f /dev/null",
    "while true; do sleep 5; done",
    "echo ready > /data/ready",
)
CAPABILITIES = ("CHOWN", "NET_ADMIN", "NET_RAW", "ALL", "cap_sys_admin", "KILL")
IMAGES = (
    "busybox:1.36",
    "busybox",
    "busybox:latest",
    "nginx:1.27",
    "docker.io/istio/proxyv2:1.24.0",
)

# Configurations that together turn every knob: all roles, cpu limits, extended resources, warn.
CONFIGS: tuple[dict[str, Any], ...] = (
    {},
    {
        "policies": {
            "default-resources": {
                "roles": ["init", "sidecar", "app"],
                "requests": {"cpu": "100m", "memory": "128Mi", EXTENDED[0]: "1"},
                "limits": {"cpu": "1", "memory": "256Mi", EXTENDED[0]: "2"},
            },
            "readonly-mounts": {
                "roles": ["app", "sidecar", "ephemeral"],
                "ignorePreparingInits": False,
            },
            "emptydir-sizelimit": {"roles": ["init", "sidecar", "app", "ephemeral"]},
            "init-privileged": {
                "roles": ["init", "sidecar", "app", "ephemeral"],
                "presets": {"istio": False},
            },
            "init-unbounded": {"roles": ["init", "sidecar"], "maximum": {"memory": "512Mi"}},
        }
    },
    {"mode": "warn"},
)


@st.composite
def resources(draw: st.DrawFn) -> Any:
    """Absent, empty, or some requests and limits (request <= limit where both are set)."""
    shape = draw(st.sampled_from(("absent", "empty", "some")))
    if shape != "some":
        return shape if shape == "absent" else {}
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    for name in draw(st.lists(st.sampled_from(sorted(QUANTITIES)), unique=True, max_size=4)):
        pool = QUANTITIES[name]
        low, high = sorted(
            draw(st.lists(st.sampled_from(pool), min_size=2, max_size=2)), key=kube.quantity
        )
        which = draw(st.sampled_from(("request", "limit", "both")))
        if which != "limit":
            requests[name] = low
        if which != "request":
            limits[name] = high
    shown: dict[str, Any] = {}
    for key, values in (("requests", requests), ("limits", limits)):
        empty_too = draw(st.booleans())  # `requests: {}` is kept by the API server
        if values or empty_too:
            shown[key] = values
    return shown


@st.composite
def security_context(draw: st.DrawFn) -> dict[str, Any]:
    fields = {
        "privileged": st.booleans(),
        "allowPrivilegeEscalation": st.booleans(),
        "runAsUser": st.integers(0, 2000),
        "capabilities": st.fixed_dictionaries(
            {"add": st.lists(st.sampled_from(CAPABILITIES), max_size=3)}
        ),
        "procMount": st.sampled_from(("Default", "Unmasked")),
        "seccompProfile": st.fixed_dictionaries(
            {"type": st.sampled_from(("RuntimeDefault", "Unconfined"))}
        ),
        "windowsOptions": st.fixed_dictionaries({"hostProcess": st.booleans()}),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=3))
    return {name: draw(fields[name]) for name in chosen}


@st.composite
def container(draw: st.DrawFn, name: str, volumes: list[str], *, kind: str) -> dict[str, Any]:
    raw: dict[str, Any] = {"name": name, "image": draw(st.sampled_from(IMAGES))}
    if draw(st.booleans()):
        raw["command"] = ["sh", "-c", draw(st.sampled_from(SCRIPTS))]
    if kind == "init" and draw(st.booleans()):
        raw["restartPolicy"] = "Always"
    if kind != "ephemeral" and (shape := draw(resources())) != "absent":
        raw["resources"] = shape
    if draw(st.booleans()):
        raw["securityContext"] = draw(security_context())
    targets = [*volumes, "dangling"] if volumes else []
    mounted = draw(st.lists(st.sampled_from(targets), max_size=3)) if targets else []
    if mounted:
        raw["volumeMounts"] = [
            {
                "name": volume,
                "mountPath": draw(st.sampled_from(("/data", "/tmp", "/srv", "/home/app")))
                + f"/{i}",
                **({"readOnly": True} if draw(st.integers(0, 3)) == 0 else {}),
            }
            for i, volume in enumerate(mounted)
        ]
    return raw


SOURCES: dict[str, Any] = {
    "emptyDir": st.sampled_from(
        (
            {},
            {"medium": "Memory"},
            {"sizeLimit": "1Gi"},
            {"medium": "Memory", "sizeLimit": "64Mi"},
            {"medium": "HugePages"},
        )
    ),
    "hostPath": st.just({"path": "/var/lib/node"}),
    "configMap": st.just({"name": "settings"}),
    "persistentVolumeClaim": st.just({"claimName": "data"}),
    "ephemeral": st.just({"volumeClaimTemplate": {"spec": {}}}),
}


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    """A Pod as the API server could send it on CREATE."""
    volume_names = draw(st.lists(st.sampled_from(VOLUME_NAMES), unique=True, max_size=4))
    volumes = []
    for name in volume_names:
        # emptyDirs most often: they are what init containers fill and what gets patched.
        source = draw(st.sampled_from(("emptyDir", "emptyDir", *sorted(SOURCES))))
        volumes.append({"name": name, source: draw(SOURCES[source])})
    names = iter(draw(st.permutations(CONTAINER_NAMES)))
    spec: dict[str, Any] = {}
    for key, kind, low in (
        ("initContainers", "init", 0),
        ("containers", "app", 1),
        ("ephemeralContainers", "ephemeral", 0),
    ):
        count = draw(st.integers(low, 2 if kind != "ephemeral" else 1))
        if count:
            spec[key] = [
                draw(container(next(names), volume_names, kind=kind)) for _ in range(count)
            ]
    if draw(st.booleans()):
        # The hand-off readonly-mounts is about: an init container fills an emptyDir the first
        # app container reads (random choices above rarely line all of that up).
        handoff = {"name": "handoff", "mountPath": "/handoff"}
        producer = {"name": next(names), "image": "alpine:3.20", "volumeMounts": [handoff]}
        producer["command"] = ["sh", "-c", draw(st.sampled_from(SCRIPTS))]
        spec.setdefault("initContainers", []).append(producer)
        spec["containers"][0].setdefault("volumeMounts", []).append(
            {**handoff, **({"readOnly": True} if draw(st.integers(0, 3)) == 0 else {})}
        )
        volumes.append({"name": "handoff", "emptyDir": draw(SOURCES["emptyDir"])})
    if volumes:
        spec["volumes"] = volumes
    if draw(st.integers(0, 3)) == 0:
        spec["activeDeadlineSeconds"] = 600
    metadata: dict[str, Any] = {"name": "generated", "namespace": "demo"}
    annotate = draw(st.booleans())
    if volume_names and annotate:
        opted = draw(st.lists(st.sampled_from(volume_names), unique=True, min_size=1))
        metadata["annotations"] = {ANNOTATION: " , ".join(opted)}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def _decide(obj: dict[str, Any], config: dict[str, Any], webhook: str) -> Decision:
    decision = decide(
        request(obj), plan(config), webhook="mutate" if webhook == "mutate" else "validate"
    )
    assert decision.errors == [], decision.errors
    return decision


def _absent_or_null(obj: dict[str, Any], path: str) -> bool:
    try:
        return jsonpointer.resolve_pointer(obj, path) is None
    except jsonpointer.JsonPointerException:
        return True


def _check(obj: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    assert all(op["op"] == "add" and _absent_or_null(obj, op["path"]) for op in ops), ops
    patched = kube.apply(obj, ops)
    kube.validate(patched, "1.36")
    kube.check_resources(patched)
    return patched


BUDGET = settings(
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@BUDGET
@given(obj=pods(), config=st.sampled_from(CONFIGS))
def test_generated_pods_patch_validly_and_once(obj: dict[str, Any], config: dict[str, Any]) -> None:
    kube.validate(obj, "1.36")  # the generator's own promise
    kube.check_resources(obj)
    original = copy.deepcopy(obj)
    mutated = _decide(obj, config, "mutate")
    assert obj == original, "the engine must not change the object it judges"
    # What enforce mode applies, or what warn mode would have: either must be valid and final.
    ops = [dict(op) for op in (mutated.patch or mutated.would_patch)]
    patched = _check(obj, ops)
    again = _decide(patched, config, "mutate")
    assert again.patch == again.would_patch == []
    validated = _decide(patched, config, "validate")
    assert validated.allowed is not any(v.mode.value == "enforce" for v in validated.verdicts)


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(
        st.sampled_from(("name", "emptyDir", "limits", "add")), st.integers(0, 3), max_size=2
    ),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, except the root and the kind (which route the request)."""
    found = [path] if path and path[0] not in ("apiVersion", "kind") else []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*path, index)))
    return found


@st.composite
def malformed(draw: st.DrawFn) -> dict[str, Any]:
    """A generated pod with one to three values anywhere replaced by values of the wrong type."""
    # A copy: the strategies share their sample dicts, and corrupting one in place would change
    # what later examples draw.
    obj = copy.deepcopy(draw(pods()))
    for _ in range(draw(st.integers(1, 3))):
        *parent, last = draw(st.sampled_from(_paths(obj)))
        node: Any = obj
        for part in parent:
            node = node[part]
        node[last] = draw(JUNK)
    return obj


@BUDGET
@given(obj=malformed(), config=st.sampled_from(CONFIGS))
def test_malformed_pods_never_make_a_policy_raise(
    obj: dict[str, Any], config: dict[str, Any]
) -> None:
    mutated = _decide(obj, config, "mutate")
    for ops in (mutated.patch, mutated.would_patch):
        jsonpatch.apply_patch(copy.deepcopy(obj), [dict(op) for op in ops])
    _decide(obj, config, "validate")
