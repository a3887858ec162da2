"""readonly-mounts: what init containers fill, app containers mount read-only; what the app is
meant to write (prepared volumes, sidecar volumes, persistent volumes, an agent's own output)
stays writable."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from policies import readonly_mounts
from policies.base import Container, Role
from policies.readonly_mounts import ReadonlyMountsSettings, prepares_only, repository
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
    settle,
)
from tests.support.reviews import pod

POLICY = readonly_mounts.POLICY
ID = POLICY.id


def _read_only(path: str) -> dict[str, Any]:
    return {"op": "add", "path": f"{path}/readOnly", "value": True}


def _row(container: str, volume: str, writer: str) -> Row:
    return (container, f"volume:{volume}", f'mount "{volume}" readOnly ({writer} fills it)')


@pytest.mark.parametrize(
    ("obj", "expected", "patch"),
    [
        pytest.param(
            pods.rendered_config(),
            [_row('app "web"', "config", 'init "render-config"')],
            [_read_only("/spec/containers/0/volumeMounts/0")],
            id="rendered-config",
        ),
        pytest.param(
            pods.model_download(),
            [_row('app "server"', "models", 'init "fetch-model"')],
            [_read_only("/spec/containers/0/volumeMounts/0")],
            id="model-download",
        ),
        pytest.param(
            pods.compliant(),
            [_row('app "server"', "models", 'init "fetch-model"')],
            [_read_only("/spec/containers/0/volumeMounts/0")],
            id="compliant-scratch-and-cache-untouched",
        ),
        pytest.param(
            pods.vault_agent(),
            [_row('app "web"', "vault-secrets", 'init "vault-agent-init"')],
            [_read_only("/spec/containers/0/volumeMounts/0")],
            id="vault-agent-keeps-writing-its-secrets",
        ),
        pytest.param(pods.prometheus(), [], [], id="prometheus-config-reloader-same-image"),
        pytest.param(pods.permissions(), [], [], id="chown-chmod-prepares"),
        pytest.param(pods.seeded_claim(), [], [], id="persistent-claim-outlives-the-pod"),
        pytest.param(pods.log_sidecar(), [], [], id="sidecar-volume-stays-writable"),
        pytest.param(pods.config_validation(), [], [], id="config-map-read-by-both"),
        pytest.param(pods.migration(), [], [], id="migration-from-config-map"),
        pytest.param(pods.linkerd(), [], [], id="linkerd-lock-mounted-by-nobody-else"),
        pytest.param(pods.istio(), [], [], id="istio-init-mounts-nothing"),
    ],
)
def test_realistic(obj: dict[str, Any], expected: list[Row], patch: list[dict[str, Any]]) -> None:
    findings = evaluate(POLICY, obj)
    assert rows(findings) == expected
    assert patch_of(findings) == patch
    assert evaluate(POLICY, apply_findings(obj, findings)) == []


def _filled(
    app_mounts: list[dict[str, Any]], volume: dict[str, Any], **spec: Any
) -> dict[str, Any]:
    writer = pods.shell(
        "fill", "cp -r /seed/. /shared/", mounts=[pods.mount(volume["name"], "/shared")]
    )
    return pod(init=[writer], app=[pods.app(volumeMounts=app_mounts)], volumes=[volume], **spec)


SHARED = pods.mount("shared", "/srv")
FILLED = [_row('app "app"', "shared", 'init "fill"')]


@pytest.mark.parametrize(
    ("obj", "settings", "expected"),
    [
        pytest.param(_filled([SHARED], pods.empty_dir("shared")), {}, FILLED, id="empty-dir"),
        pytest.param(
            _filled(
                [SHARED], {"name": "shared", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}
            ),
            {},
            FILLED,
            id="generic-ephemeral-volume",
        ),
        pytest.param(_filled([SHARED], pods.claim("shared")), {}, [], id="claim"),
        pytest.param(
            _filled([SHARED], {"name": "shared", "hostPath": {"path": "/opt/cni/bin"}}),
            {},
            [],
            id="host-path",
        ),
        pytest.param(_filled([SHARED], pods.config_map("shared")), {}, [], id="config-map"),
        pytest.param(
            _filled([pods.mount("shared", "/srv", read_only=True)], pods.empty_dir("shared")),
            {},
            [],
            id="already-read-only",
        ),
        pytest.param(
            _filled([{**SHARED, "mountPropagation": "Bidirectional"}], pods.empty_dir("shared")),
            {},
            [],
            id="bidirectional-propagation",
        ),
        pytest.param(
            _filled(
                [SHARED],
                pods.empty_dir("shared"),
                annotations={readonly_mounts.ANNOTATION: "cache, shared"},
            ),
            {},
            [],
            id="annotation-opt-out",
        ),
        pytest.param(
            _filled(
                [SHARED],
                pods.empty_dir("shared"),
                annotations={readonly_mounts.ANNOTATION: "sharedx"},
            ),
            {},
            FILLED,
            id="annotation-names-exactly",
        ),
        pytest.param(
            _filled([SHARED], pods.empty_dir("shared")),
            {"writableVolumes": ["sha*"]},
            [],
            id="config-globs",
        ),
        pytest.param(
            _filled(
                [SHARED, {**SHARED, "mountPath": "/other", "subPath": "x"}],
                pods.empty_dir("shared"),
            ),
            {},
            FILLED * 2,
            id="each-mount-of-the-volume",
        ),
        pytest.param(
            _filled([pods.mount("other", "/o")], pods.empty_dir("shared")),
            {},
            [],
            id="other-volume",
        ),
    ],
)
def test_volumes_and_opt_outs(
    obj: dict[str, Any], settings: dict[str, Any], expected: list[Row]
) -> None:
    findings = evaluate(POLICY, obj, **settings)
    assert rows(findings) == expected
    assert evaluate(POLICY, apply_findings(obj, findings), **settings) == []


def test_hint_says_how_to_opt_out() -> None:
    (finding,) = evaluate(POLICY, pods.rendered_config())
    assert (
        finding.hint
        == 'to keep it writable, annotate the pod initgate.io/writable-volumes: "config"'
    )


def test_message_names_the_first_writer() -> None:
    volume = [pods.empty_dir("shared")]
    first = pods.shell("first", "date > /s/a", mounts=[pods.mount("shared", "/s")])
    second = pods.shell("second", "date > /s/b", mounts=[pods.mount("shared", "/s")])
    obj = pod(init=[first, second], app=[pods.app(volumeMounts=[SHARED])], volumes=volume)
    assert rows(evaluate(POLICY, obj)) == [_row('app "app"', "shared", 'init "first"')]


def test_the_same_program_as_any_writer_stays_writable() -> None:
    obj = pods.vault_agent()
    stamp = pods.shell("stamp", "date > /v/at", mounts=[pods.mount("vault-secrets", "/v")])
    obj["spec"]["initContainers"].insert(0, stamp)
    # vault-agent runs what the second writer runs: it is that writer's long-running half.
    assert [r[0] for r in rows(evaluate(POLICY, obj))] == ['app "web"']


def test_the_same_image_running_something_else_is_not_the_same_program() -> None:
    obj = _filled([SHARED], pods.empty_dir("shared"))
    obj["spec"]["containers"][0].update(image="busybox:1.37", command=["sh", "-c", "httpd -f"])
    assert rows(evaluate(POLICY, obj)) == FILLED


def test_preparing_inits_can_count_when_configured() -> None:
    assert rows(evaluate(POLICY, pods.permissions(), ignorePreparingInits=False)) == [
        _row('app "app"', "data", 'init "fix-permissions"')
    ]


def _everywhere() -> dict[str, Any]:
    obj = _filled([SHARED], pods.empty_dir("shared"))
    obj["spec"]["initContainers"].append(
        pods.shell("ship", "x", mounts=[SHARED], restartPolicy="Always")
    )
    obj["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox:1.36", "volumeMounts": [SHARED]}
    ]
    return obj


@pytest.mark.parametrize(
    ("roles", "patched"),
    [
        pytest.param(None, ["/spec/containers/0/volumeMounts/0/readOnly"], id="default-app"),
        pytest.param(
            ["sidecar"],
            ["/spec/initContainers/1/volumeMounts/0/readOnly"],
            id="sidecar-when-configured",
        ),
        pytest.param(
            ["ephemeral"],
            ["/spec/ephemeralContainers/0/volumeMounts/0/readOnly"],
            id="ephemeral-when-configured",
        ),
        pytest.param([], [], id="none"),
    ],
)
def test_roles(roles: list[str] | None, patched: list[str]) -> None:
    settings = {} if roles is None else {"roles": roles}
    assert [op["path"] for op in patch_of(evaluate(POLICY, _everywhere(), **settings))] == patched


def test_init_role_cannot_be_configured() -> None:
    with pytest.raises(ValidationError, match="not supported here"):
        ReadonlyMountsSettings.model_validate({"roles": ["init"]})


def _runs(*command: str, shell: bool = True) -> Container:
    words = ["sh", "-c", *command] if shell else list(command)
    return Container(
        Role.INIT, "initContainers", 0, "/spec/initContainers/0", {"command": words}, 0
    )


@pytest.mark.parametrize(
    ("container", "expected"),
    [
        pytest.param(_runs("chown -R 1000:1000 /data"), True, id="chown"),
        pytest.param(
            _runs("chown", "-R", "999:999", "/var/lib/db", shell=False), True, id="chown-no-shell"
        ),
        pytest.param(
            _runs("set -eux; mkdir -p /data/a /data/b; chown -R 1000 /data"),
            True,
            id="set-mkdir-chown",
        ),
        pytest.param(_runs("chown -R 1000 /data 2>&1"), True, id="fd-duplication"),
        pytest.param(
            _runs("chown -R 1000 /data 2>/dev/null || true"), True, id="errors-to-dev-null"
        ),
        pytest.param(_runs("if [ -d /data ]; then chown 1000 /data; fi"), True, id="if-then-fi"),
        pytest.param(_runs("for d in cache logs; do mkdir -p /data/$d; done"), True, id="for-loop"),
        pytest.param(
            _runs("find /data -not -user 1000 -exec chown 1000:1000 {} +"),
            True,
            id="find-exec-chown",
        ),
        pytest.param(_runs("install -d -m 0750 -o 1000 /data/app"), True, id="install-d"),
        pytest.param(_runs("ls -l /work && id"), True, id="looks-only"),
        pytest.param(_runs("echo ready > /data/ready"), False, id="redirect-writes"),
        pytest.param(_runs("chown 1000 /data && echo ok >> /data/log"), False, id="append-writes"),
        pytest.param(_runs("cp -r /seed/. /data"), False, id="copy"),
        # Quoted text is not a redirection; a here-document written to the volume is.
        pytest.param(
            _runs('chown 1000 /data && echo "owner set > /data for uid 1000"'),
            True,
            id="redirection-in-quotes-is-text",
        ),
        pytest.param(
            _runs("cat <<'EOF' > /data/app.conf\nport = 80\nEOF"), False, id="heredoc-writes"
        ),
        pytest.param(_runs('echo "$CONFIG" > "/data/app.conf"'), False, id="quoted-target"),
        pytest.param(_runs("tar xzf /seed.tgz -C /data"), False, id="unpack"),
        pytest.param(_runs("find /data -name '*.tmp' -delete"), False, id="find-delete"),
        pytest.param(_runs("find /data -exec sh -c 'x' \\;"), False, id="find-exec-shell"),
        pytest.param(
            _runs("install -m 0644 /src/app.conf /data/app.conf"), False, id="install-file"
        ),
        pytest.param(
            Container(Role.INIT, "initContainers", 0, "/x", {"image": "example.com/prepare:1"}, 0),
            False,
            id="image-entrypoint-unknown",
        ),
    ],
)
def test_prepares_only(container: Container, expected: bool) -> None:
    assert prepares_only(container) is expected


@pytest.mark.parametrize(
    ("image", "repo"),
    [
        pytest.param("hashicorp/vault:1.17.2", "hashicorp/vault", id="tag"),
        pytest.param("docker.io/hashicorp/vault", "hashicorp/vault", id="docker-hub-prefix"),
        pytest.param("docker.io/library/busybox:1.36", "busybox", id="library"),
        pytest.param(
            "localhost:5000/tools/x@sha256:" + "0" * 64,
            "localhost:5000/tools/x",
            id="digest-and-port",
        ),
    ],
)
def test_repository(image: str, repo: str) -> None:
    assert repository(image) == repo


@pytest.mark.parametrize(
    ("config", "who", "expected"),
    [
        pytest.param(None, {}, [_row('app "web"', "config", 'init "render-config"')], id="default"),
        pytest.param(
            policy_config(
                ID, exemptions={"images": [{"image": "nginx:*", "allow": ["volume:config"]}]}
            ),
            {},
            [],
            id="app-image-exemption-scoped-to-volume",
        ),
        pytest.param(
            policy_config(
                ID, exemptions={"images": [{"image": "nginx:*", "allow": ["volume:other"]}]}
            ),
            {},
            [_row('app "web"', "config", 'init "render-config"')],
            id="scoped-to-another-volume",
        ),
        pytest.param(
            policy_config(ID, exemptions={"namespaces": ["legacy"]}),
            {"namespace": "legacy"},
            [],
            id="namespace",
        ),
        pytest.param(policy_config(ID, writableVolumes=["config"]), {}, [], id="writable-volumes"),
    ],
)
def test_exemptions_through_the_engine(
    config: dict[str, Any] | None, who: dict[str, Any], expected: list[Row]
) -> None:
    decision = run(pods.rendered_config(), webhook="mutate", config=config, **who)
    assert found(decision, ID) == expected


def test_mutation_is_idempotent_through_the_engine() -> None:
    patched = settle(pods.rendered_config())
    assert patched["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "config", "mountPath": "/etc/app", "readOnly": True}
    ]


def test_warn_mode_keeps_the_patch_back() -> None:
    obj = pods.rendered_config()
    decision = run(copy.deepcopy(obj), webhook="mutate", config=policy_config(ID, mode="warn"))
    assert decision.patch == [
        op for op in run(obj, webhook="mutate").patch if not op["path"].endswith("/readOnly")
    ]
    assert decision.would_patch == [_read_only("/spec/containers/0/volumeMounts/0")]
    assert [w for w in decision.warnings if "readonly-mounts" in w] == [
        'initgate readonly-mounts: app "web": would mount "config" readOnly (init "render-config" fills it)',
        'initgate readonly-mounts: to keep it writable, annotate the pod initgate.io/writable-volumes: "config"',
    ]
