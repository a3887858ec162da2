"""What every policy stands on: container roles, the pod view, command lines, JSON pointers,
settings, modes."""

from __future__ import annotations

from typing import Any

import jsonpatch
import pytest
from pydantic import ValidationError

from policies.base import Container, Mode, Role, command_line, escape, pod_view, writes
from policies.default_resources import DefaultResourcesSettings
from policies.init_lint import InitLintSettings
from policies.policy import PolicySettings, glob_matcher
from tests.policies import pods


def _roles(spec: dict[str, Any]) -> list[tuple[str, str, str]]:
    view = pod_view(spec, path="/spec", annotations={})
    return [(c.role.value, c.name, c.path) for c in view.containers]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"initContainers": [{"name": "setup"}], "containers": [{"name": "web"}]},
            [("init", "setup", "/spec/initContainers/0"), ("app", "web", "/spec/containers/0")],
            id="init-and-app",
        ),
        pytest.param(
            {"initContainers": [{"name": "logs", "restartPolicy": "Always"}, {"name": "migrate"}]},
            [
                ("sidecar", "logs", "/spec/initContainers/0"),
                ("init", "migrate", "/spec/initContainers/1"),
            ],
            id="native-sidecar-by-restart-policy",
        ),
        pytest.param(
            {"initContainers": [{"name": "x", "restartPolicy": "OnFailure"}]},
            [("init", "x", "/spec/initContainers/0")],
            id="other-restart-policy-stays-init",
        ),
        pytest.param(
            {"containers": [{"name": "web", "restartPolicy": "Always"}]},
            [("app", "web", "/spec/containers/0")],
            id="restart-policy-only-matters-on-init-containers",
        ),
        pytest.param(
            {"ephemeralContainers": [{"name": "debugger"}], "containers": [{"name": "web"}]},
            [
                ("app", "web", "/spec/containers/0"),
                ("ephemeral", "debugger", "/spec/ephemeralContainers/0"),
            ],
            id="ephemeral-after-app-in-pod-order",
        ),
        pytest.param(
            {"initContainers": "nope", "containers": [None, 3, {"name": "web"}]},
            [("app", "web", "/spec/containers/2")],
            id="malformed-entries-skipped-indexes-kept",
        ),
    ],
)
def test_roles_and_paths(spec: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert _roles(spec) == expected


def test_container_naming_for_messages() -> None:
    view = pod_view(
        {"initContainers": [{"image": "busybox:1.36"}, {"name": "setup", "image": 7}]},
        path="/spec/template/spec",
        annotations={},
    )
    nameless, setup = view.containers
    assert (nameless.name, nameless.label, nameless.field) == (
        "#0",
        'init "#0"',
        "initContainers[0]",
    )
    assert (setup.label, setup.image, setup.path) == (
        'init "setup"',
        "",
        "/spec/template/spec/initContainers/1",
    )


def test_pod_view_judges_a_subset_and_keeps_first_volume_of_a_name() -> None:
    spec = {
        "containers": [{"name": "web"}],
        "ephemeralContainers": [{"name": "debugger"}],
        "volumes": [
            {"name": "a", "emptyDir": {}},
            {"name": "a", "hostPath": {"path": "/"}},
            {"x": 1},
        ],
    }
    view = pod_view(spec, path="/spec", annotations={}, judge=lambda c: c.role is Role.EPHEMERAL)
    assert [c.name for c in view.judged] == ["debugger"]
    assert not view.whole
    assert [c.name for c in view.select(frozenset({Role.APP}))] == []
    assert {name: (v.index, v.raw) for name, v in view.volumes.items()} == {
        "a": (0, {"name": "a", "emptyDir": {}})
    }


def _container(**raw: Any) -> Container:
    return Container(Role.INIT, "initContainers", 0, "/spec/initContainers/0", raw, 0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param({"command": ["sh", "-c", "echo hi"]}, "echo hi", id="sh-c"),
        pytest.param(
            {"command": ["/bin/bash", "-ec"], "args": ["set -x; run"]},
            "set -x; run",
            id="script-in-args",
        ),
        pytest.param(
            {"command": ["bash", "-o", "pipefail", "-c", "a | b"]}, "a | b", id="options-before-c"
        ),
        pytest.param(
            {"command": ["sh", "-euxc", "run", "argv0"]}, "run", id="combined-flags-extra-args"
        ),
        pytest.param(
            {"command": ["busybox", "sh", "-c", "sleep 1"]}, "sleep 1", id="busybox-applet"
        ),
        pytest.param(
            {"command": ["/bin/busybox", "/bin/ash", "-c", "x"]}, "x", id="busybox-full-paths"
        ),
        pytest.param(
            {"command": ["sh", "/scripts/run.sh"]}, "sh /scripts/run.sh", id="script-file"
        ),
        pytest.param({"command": ["sh", "--norc", "-c", "x"]}, "x", id="long-option-skipped"),
        pytest.param({"command": ["sh", "-c"]}, "sh -c", id="c-without-script"),
        pytest.param(
            {"command": ["timeout", "60", "sh", "-c", "until x; do :; done"]},
            "timeout 60 sh -c 'until x; do :; done'",
            id="wrapped-shell-joined",
        ),
        pytest.param({"args": ["--port", "15001"]}, "--port 15001", id="args-only"),
        pytest.param({}, None, id="image-entrypoint"),
        pytest.param({"command": ["sh", 5]}, None, id="non-string-word"),
        pytest.param({"command": "sh -c x"}, None, id="command-not-a-list"),
    ],
)
def test_command_line(raw: dict[str, Any], expected: str | None) -> None:
    assert command_line(_container(**raw)) == expected


@pytest.mark.parametrize(
    ("segment", "escaped"),
    [
        pytest.param("cpu", "cpu", id="plain"),
        pytest.param("example.com/gpu", "example.com~1gpu", id="slash"),
        pytest.param("a~b", "a~0b", id="tilde"),
        pytest.param("~1", "~01", id="tilde-before-slash-order"),
        pytest.param("a/~/b", "a~1~0~1b", id="both"),
    ],
)
def test_escape_round_trips_through_a_real_json_patch(segment: str, escaped: str) -> None:
    assert escape(segment) == escaped
    doc: dict[str, Any] = {"limits": {}}
    patched = jsonpatch.apply_patch(
        doc, [{"op": "add", "path": f"/limits/{escaped}", "value": "1"}]
    )
    assert patched == {"limits": {segment: "1"}}


@pytest.mark.parametrize(
    ("mount", "expected"),
    [
        pytest.param({"name": "a"}, True, id="omitted-is-writable"),
        pytest.param({"name": "a", "readOnly": True}, False, id="read-only"),
        pytest.param({"name": "a", "readOnly": False}, True, id="explicit-false"),
        pytest.param({"name": "a", "readOnly": "true"}, True, id="string-is-not-true"),
    ],
)
def test_writes(mount: dict[str, Any], expected: bool) -> None:
    assert writes(mount) is expected


def test_mounts_skip_malformed_entries_and_keep_indexes() -> None:
    container = _container(volumeMounts=["x", {"name": "a"}, None, {"name": "b"}])
    assert list(container.volume_mounts) == [(1, {"name": "a"}), (3, {"name": "b"})]


@pytest.mark.parametrize(
    ("patterns", "value", "expected"),
    [
        pytest.param((), "anything", False, id="no-patterns"),
        pytest.param(("team-*",), "team-a", True, id="glob"),
        pytest.param(("team-*",), "Team-a", False, id="case-sensitive"),
        pytest.param(("a", "b?"), "bc", True, id="any-of"),
        pytest.param(("kube-system",), "kube-system-2", False, id="whole-match"),
    ],
)
def test_glob_matcher(patterns: tuple[str, ...], value: str, expected: bool) -> None:
    assert glob_matcher(patterns)(value) is expected


@pytest.mark.parametrize(
    ("mode", "ceiling", "expected"),
    [
        pytest.param(Mode.ENFORCE, Mode.WARN, Mode.WARN, id="lowered"),
        pytest.param(Mode.AUDIT, Mode.ENFORCE, Mode.AUDIT, id="never-raised"),
        pytest.param(Mode.OFF, Mode.AUDIT, Mode.OFF, id="off-stays-off"),
    ],
)
def test_mode_cap(mode: Mode, ceiling: Mode, expected: Mode) -> None:
    assert mode.cap(ceiling) is expected


@pytest.mark.parametrize(
    ("settings", "roles", "error"),
    [
        pytest.param(
            DefaultResourcesSettings, ["ephemeral"], "not supported here", id="resources-ephemeral"
        ),
        pytest.param(InitLintSettings, ["app"], "not supported here", id="lint-app"),
        pytest.param(PolicySettings, ["pod"], "Input should be", id="unknown-role"),
    ],
)
def test_roles_a_policy_cannot_take_are_refused(
    settings: type[PolicySettings], roles: list[str], error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        settings.model_validate({"roles": roles})


def test_settings_are_strict_camel_case() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        DefaultResourcesSettings.model_validate({"request": {"cpu": "1"}})
    settings = InitLintSettings.model_validate({"checks": ["image-tag"]})
    assert settings.role_set == frozenset({Role.INIT})


def test_realistic_pods_have_the_roles_they_claim() -> None:
    assert [c[0] for c in _roles(pods.log_sidecar()["spec"])] == ["sidecar", "app"]
    assert [c[0] for c in _roles(pods.istio()["spec"])] == ["init", "app", "app"]
