"""readonly-mounts as a generated MutatingAdmissionPolicy makes read-only the mounts the
webhook's patch makes read-only, with the same data flow (init containers, not sidecars, that
write emptyDir and ephemeral volumes; the annotation, `writableVolumes`, Bidirectional, the
same program), for default and non-default settings, on the policy's own cases, realistic pods
and the captured reviews; in warn and audit mode its companion policy says what it would do."""

from __future__ import annotations

from typing import Any

import pytest

from policies.base import Mode
from policies.readonly_mounts import ANNOTATION
from tests.policies import pods
from tests.support.reviews import pod
from tests.webhook.native.corpus import CAPS, alone, cases, same

ID = "readonly-mounts"
CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "preparing-inits-count": {"policies": {ID: {"ignorePreparingInits": False}}},
    "writable-globs": {"policies": {ID: {"writableVolumes": ["sha*", "conf?g", "vault-*"]}}},
    "every-role": {"policies": {ID: {"roles": ["app", "sidecar", "ephemeral"]}}},
    "no-role": {"policies": {ID: {"roles": []}}},
    "warn": {"policies": {ID: {"mode": "warn"}}},
    "audit": {"mode": "audit"},
    "image-exempt-volume": {
        "policies": {
            ID: {"exemptions": {"images": [{"image": "nginx:*", "allow": ["volume:config"]}]}}
        }
    },
    "image-exempt-other": {
        "exemptions": {"images": [{"image": "docker.io/library/*", "allow": ["volume:other"]}]}
    },
    "group-exempt": {"policies": {ID: {"exemptions": {"groups": ["system:masters"]}}}},
    "errors-deny": {"onPolicyError": "deny"},
}

SHARED = pods.mount("shared", "/srv")


def _filled(
    app_mounts: list[dict[str, Any]], volume: dict[str, Any], **spec: Any
) -> dict[str, Any]:
    writer = pods.shell(
        "fill", "cp -r /seed/. /shared/", mounts=[pods.mount(volume["name"], "/shared")]
    )
    return pod(init=[writer], app=[pods.app(volumeMounts=app_mounts)], volumes=[volume], **spec)


def _everywhere() -> dict[str, Any]:
    obj = _filled([SHARED], pods.empty_dir("shared"))
    obj["spec"]["initContainers"].append(
        pods.shell("ship", "x", mounts=[SHARED], restartPolicy="Always")
    )
    obj["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox:1.36", "volumeMounts": [SHARED]}
    ]
    return obj


def _runs(name: str, words: list[str], script: str | None = None) -> dict[str, Any]:
    """A pod whose init container runs `words` (and `script` after them) to fill `shared`."""
    init = {
        "name": name,
        "image": "busybox:1.36",
        "command": words if script is None else [*words, script],
        "volumeMounts": [pods.mount("shared", "/shared")],
    }
    return pod(
        init=[init], app=[pods.app(volumeMounts=[SHARED])], volumes=[pods.empty_dir("shared")]
    )


def _same_program() -> dict[str, Any]:
    obj = pods.vault_agent()
    stamp = pods.shell("stamp", "date > /v/at", mounts=[pods.mount("vault-secrets", "/v")])
    obj["spec"]["initContainers"].insert(0, stamp)
    return obj


OWN = {
    "empty-dir": _filled([SHARED], pods.empty_dir("shared")),
    "generic-ephemeral": _filled(
        [SHARED], {"name": "shared", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}}
    ),
    "claim": _filled([SHARED], pods.claim("shared")),
    "host-path": _filled([SHARED], {"name": "shared", "hostPath": {"path": "/opt/cni/bin"}}),
    "already-read-only": _filled(
        [pods.mount("shared", "/srv", read_only=True)], pods.empty_dir("shared")
    ),
    "bidirectional": _filled(
        [{**SHARED, "mountPropagation": "Bidirectional"}], pods.empty_dir("shared")
    ),
    "annotation": _filled(
        [SHARED], pods.empty_dir("shared"), annotations={ANNOTATION: "cache, shared"}
    ),
    "annotation-names-exactly": _filled(
        [SHARED], pods.empty_dir("shared"), annotations={ANNOTATION: "sharedx"}
    ),
    "each-mount": _filled(
        [SHARED, {**SHARED, "mountPath": "/other", "subPath": "x"}], pods.empty_dir("shared")
    ),
    "other-volume": _filled([pods.mount("other", "/o")], pods.empty_dir("shared")),
    "every-role": _everywhere(),
    "same-program-as-a-writer": _same_program(),
    "busybox-shell": _runs("fill", ["busybox", "sh", "-c"], "chown 1000 /shared"),
    "flags-before-c": _runs("fill", ["/bin/bash", "-o", "pipefail", "-ec"], "mkdir -p /shared/a"),
    "no-shell-chown": _runs("fix", ["chown", "-R", "1000", "/shared"]),
    "no-shell-copy": _runs("fill", ["cp", "-r", "/seed", "/shared"]),
    "entrypoint": {
        **_runs("fill", []),
    },
    "comments": _runs("fix", ["sh", "-c"], "# owner\nchown 1000 /shared # done\n"),
    "quoted-text": _runs("fix", ["sh", "-c"], 'chown 1000 /shared && echo "set > /shared"'),
    "writes-quoted-target": _runs("fill", ["sh", "-c"], 'echo "$X" > "/shared/x"'),
    "heredoc": _runs("fill", ["sh", "-c"], "cat <<'EOF' > /shared/app.conf\nport = 80\nEOF"),
}
OWN["entrypoint"]["spec"]["initContainers"][0].pop("command")
PODS = cases(OWN)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize(("name", "review"), PODS, ids=[n for n, _ in PODS])
@pytest.mark.parametrize("cap", CAPS, ids=lambda m: m.value)
def test_the_same_fields(
    config: dict[str, Any], name: str, review: dict[str, Any], cap: Mode
) -> None:
    same(alone(ID, config), review, cap)
