"""init-lint: conservative heuristics, each a one-line warning, each tried on the scripts people
actually write (and on the near misses that must stay silent)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from policies import init_lint
from policies.init_lint import InitLintSettings, image_problem
from tests.policies import pods
from tests.policies.harness import Row, evaluate, found, patch_of, policy_config, rows, run
from tests.support.reviews import pod

POLICY = init_lint.POLICY
ID = POLICY.id
NEVER = "never ends ({}); make it a native sidecar: restartPolicy: Always"
UNBOUNDED = "waits in a loop with no bound; add a retry limit or wrap it in timeout"


def _script(script: str, **spec: Any) -> list[tuple[str, str]]:
    obj = pod(init=[pods.shell("setup", script)], **spec)
    return [(key, message) for _, key, message in rows(evaluate(POLICY, obj))]


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        pytest.param("tail -f /dev/null", [("never-ends", NEVER.format("tail -f"))], id="tail-f"),
        pytest.param(
            "tail -F /var/log/app.log", [("never-ends", NEVER.format("tail -f"))], id="tail-F"
        ),
        pytest.param(
            "tail -n 0 --follow /x", [("never-ends", NEVER.format("tail -f"))], id="tail-follow"
        ),
        pytest.param(
            "exec sleep infinity",
            [("never-ends", NEVER.format("sleep infinity"))],
            id="sleep-infinity",
        ),
        pytest.param("sleep inf", [("never-ends", NEVER.format("sleep infinity"))], id="sleep-inf"),
        pytest.param(
            "while true; do date >> /out/t; sleep 30; done",
            [("never-ends", NEVER.format("while true"))],
            id="while-true",
        ),
        pytest.param(
            "while :\ndo\n  sleep 5\ndone",
            [("never-ends", NEVER.format("while true"))],
            id="while-colon-multiline",
        ),
        pytest.param("tail -n 20 /var/log/app.log", [], id="tail-without-follow"),
        pytest.param("sleep 10 && echo done", [], id="finite-sleep"),
        pytest.param("echo 'never run tail -f here'", [], id="printed-text-is-not-a-command"),
        # Waits without a bound.
        pytest.param(
            "until nc -z db 5432; do sleep 2; done", [("unbounded-wait", UNBOUNDED)], id="until-nc"
        ),
        pytest.param(
            pods.DOCS_WAIT.format("myservice"),
            [("unbounded-wait", UNBOUNDED)],
            id="docs-until-nslookup",
        ),
        pytest.param(
            "while ! pg_isready -h db; do sleep 1; done",
            [("unbounded-wait", UNBOUNDED)],
            id="while-not",
        ),
        pytest.param(
            "while [ ! -f /ready/done ]; do sleep 1; done",
            [("unbounded-wait", UNBOUNDED)],
            id="while-test-not",
        ),
        pytest.param(
            "while true; do nc -z db 5432 && break; sleep 2; done",
            [("unbounded-wait", UNBOUNDED)],
            id="while-true-break-on-success",
        ),
        pytest.param(
            "until curl -sf --connect-timeout 2 http://api/healthz; do sleep 5; done",
            [("unbounded-wait", UNBOUNDED)],
            id="per-attempt-timeout-is-no-bound",
        ),
        pytest.param(
            "until [ \"$(curl -s -o /dev/null -w '%{http_code}' http://api)\" -eq 200 ]; do sleep 2; done",
            [("unbounded-wait", UNBOUNDED)],
            id="comparison-is-no-counter",
        ),
        pytest.param(
            'echo "timeout in 60s"; until nc -z db 5432; do sleep 2; done',
            [("unbounded-wait", UNBOUNDED)],
            id="timeout-in-a-message",
        ),
        # Bounded waits.
        pytest.param(
            "i=0; until nc -z db 5432; do i=$((i+1)); [ $i -ge 30 ] && exit 1; sleep 2; done",
            [],
            id="arithmetic-counter",
        ),
        pytest.param(
            "n=0; while ! nc -z db 5432; do let n++; [ $n -gt 30 ] && exit 1; sleep 1; done",
            [],
            id="let-counter",
        ),
        pytest.param(
            "n=30; until nc -z db 5432; do n=`expr $n - 1`; [ $n -eq 0 ] && exit 1; sleep 1; done",
            [],
            id="expr-counter",
        ),
        pytest.param(
            "for i in $(seq 1 30); do nc -z db 5432 && exit 0; sleep 2; done; exit 1",
            [],
            id="for-seq",
        ),
        pytest.param(
            "for i in 1 2 3 4 5; do until nc -z db 5432; do sleep 1; done; done", [], id="for-list"
        ),
        pytest.param(
            "timeout 60 sh -c 'until nc -z db 5432; do sleep 2; done'", [], id="timeout-command"
        ),
        pytest.param(
            "until nc -z db 5432 || [ $SECONDS -gt 60 ]; do sleep 1; done", [], id="bash-seconds"
        ),
        pytest.param('echo "retry until ready" && ./migrate up', [], id="until-in-a-message"),
        # Quoted text, comments and here-documents are not code (policies.shell).
        pytest.param('grep -q "tail -f" /docs/README && cp /docs /out', [], id="quoted-argument"),
        pytest.param(
            "# while true; do sleep 1; done\ncp /seed/* /out", [], id="commented-out-loop"
        ),
        pytest.param(
            "cat <<EOF > /out/run.sh\nwhile true; do ./serve; done\nEOF\nchmod +x /out/run.sh",
            [],
            id="loop-in-a-heredoc",
        ),
        pytest.param(
            "exec sh -c 'while true; do sleep 30; done'",
            [("never-ends", NEVER.format("while true"))],
            id="nested-shell-is-code",
        ),
        pytest.param(
            'i=0; until nc -z db 5432; do i="$((i+1))"; [ "$i" -ge 30 ] && exit 1; sleep 1; done',
            [],
            id="counter-in-quotes",
        ),
    ],
)
def test_scripts(script: str, expected: list[tuple[str, str]]) -> None:
    assert _script(script) == expected


def test_a_pod_deadline_bounds_every_wait() -> None:
    assert _script("until nc -z db 5432; do sleep 2; done", activeDeadlineSeconds=600) == []


def test_wrapped_in_timeout_as_the_command() -> None:
    wait = {
        "name": "wait",
        "image": "busybox:1.36",
        "command": ["timeout", "60", "sh", "-c", "until nc -z db 5432; do sleep 2; done"],
    }
    assert rows(evaluate(POLICY, pod(init=[wait]))) == []


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        pytest.param("busybox", 'image "busybox" has no tag; pin a version', id="no-tag"),
        pytest.param(
            "busybox:latest", 'image "busybox:latest" uses :latest; pin a version', id="latest"
        ),
        pytest.param(
            "localhost:5000/tools/fetch",
            'image "localhost:5000/tools/fetch" has no tag; pin a version',
            id="registry-port-is-no-tag",
        ),
        pytest.param("registry.example.com:5000/fetch:1.2", None, id="port-and-tag"),
        pytest.param("busybox@sha256:" + "0" * 64, None, id="digest"),
        pytest.param("busybox:1.36", None, id="tag"),
        pytest.param("", None, id="no-image"),
    ],
)
def test_image_tags(image: str, problem: str | None) -> None:
    assert image_problem(image) == problem


def _writer(*mounts: dict[str, Any], name: str = "fetch") -> dict[str, Any]:
    return pods.shell(name, "wget -O /data/x https://example.com/x", mounts=list(mounts))


UNUSED = (
    'init "fetch"',
    "unused-volume:data",
    'writes emptyDir "data" that no later container mounts; it is lost',
)
DATA = pods.mount("data", "/data")


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            pod(init=[_writer(DATA)], volumes=[pods.empty_dir("data")]), [UNUSED], id="nobody-reads"
        ),
        pytest.param(
            pod(init=[_writer(DATA, DATA)], volumes=[pods.empty_dir("data")]),
            [UNUSED],
            id="mounted-twice-once",
        ),
        pytest.param(
            pod(
                init=[_writer(DATA)],
                app=[pods.app(volumeMounts=[DATA])],
                volumes=[pods.empty_dir("data")],
            ),
            [],
            id="app-reads",
        ),
        pytest.param(
            pod(
                init=[
                    pods.shell("ship", "x", mounts=[DATA], restartPolicy="Always"),
                    _writer(DATA),
                ],
                volumes=[pods.empty_dir("data")],
            ),
            [],
            id="earlier-native-sidecar-reads",
        ),
        pytest.param(
            pod(
                init=[pods.shell("before", "ls /data", mounts=[DATA]), _writer(DATA)],
                volumes=[pods.empty_dir("data")],
            ),
            [UNUSED],
            id="only-an-earlier-init-mounts-it",
        ),
        pytest.param(
            pod(init=[_writer(pods.mount("data", "/tmp/work"))], volumes=[pods.empty_dir("data")]),
            [],
            id="scratch-under-tmp",
        ),
        pytest.param(
            pod(
                init=[_writer(pods.mount("data", "/data", read_only=True))],
                volumes=[pods.empty_dir("data")],
            ),
            [],
            id="read-only-mount",
        ),
        pytest.param(
            pod(init=[_writer(DATA)], volumes=[pods.config_map("data")]), [], id="not-an-empty-dir"
        ),
        pytest.param(pods.linkerd(), [], id="realistic-linkerd-xtables-lock-in-run"),
        pytest.param(pods.vault_agent(), [], id="realistic-vault-home"),
        pytest.param(pods.model_download(), [], id="realistic-model-download"),
        pytest.param(pods.prometheus(), [], id="realistic-prometheus"),
        pytest.param(pods.compliant(), [], id="realistic-compliant"),
    ],
)
def test_unused_volumes(obj: dict[str, Any], expected: list[Row]) -> None:
    assert rows(evaluate(POLICY, obj)) == expected


def test_ephemeral_containers_do_not_count_as_readers() -> None:
    obj = pod(init=[_writer(DATA)], volumes=[pods.empty_dir("data")])
    obj["spec"]["ephemeralContainers"] = [
        {"name": "debug", "image": "busybox:1.36", "volumeMounts": [DATA]}
    ]
    assert rows(evaluate(POLICY, obj)) == [UNUSED]


def test_everything_about_the_docs_example() -> None:
    # The Kubernetes docs' example: unbounded waits, but a pinned image.
    findings = evaluate(POLICY, pods.docs_wait_for_services())
    assert rows(findings) == [
        ('init "init-myservice"', "unbounded-wait", UNBOUNDED),
        ('init "init-mydb"', "unbounded-wait", UNBOUNDED),
    ]
    assert patch_of(findings) == []


def test_only_init_containers() -> None:
    never_ending = {"command": ["tail", "-f", "/dev/null"], "image": "busybox"}
    obj = pod(
        init=[{"name": "logs", "restartPolicy": "Always", **never_ending}],
        app=[{"name": "web", **never_ending}],
    )
    assert rows(evaluate(POLICY, obj)) == []
    with pytest.raises(ValidationError, match="not supported here"):
        InitLintSettings.model_validate({"roles": ["sidecar"]})


def test_checks_are_selectable() -> None:
    obj = pod(init=[pods.shell("setup", "tail -f /dev/null", image="busybox")])
    assert [k for _, k, _ in rows(evaluate(POLICY, obj))] == ["never-ends", "image-tag"]
    assert [k for _, k, _ in rows(evaluate(POLICY, obj, checks=["image-tag"]))] == ["image-tag"]
    assert rows(evaluate(POLICY, obj, checks=[])) == []
    with pytest.raises(ValidationError, match="unknown checks"):
        InitLintSettings.model_validate({"checks": ["typo"]})


LATEST = pods.shell("wait", "until nc -z db 5432; do sleep 2; done", image="busybox:latest")
LATEST_ROWS = [
    ('init "wait"', "unbounded-wait", UNBOUNDED),
    ('init "wait"', "image-tag", 'image "busybox:latest" uses :latest; pin a version'),
]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param(None, LATEST_ROWS, id="default"),
        pytest.param(
            policy_config(
                ID, exemptions={"images": [{"image": "busybox:*", "allow": ["image-tag"]}]}
            ),
            LATEST_ROWS[:1],
            id="image-exemption-scoped-to-one-check",
        ),
        pytest.param(policy_config(ID, exemptions={"namespaces": ["demo"]}), [], id="namespace"),
        pytest.param(policy_config(ID, mode="off"), [], id="off"),
    ],
)
def test_warns_by_default_and_exemptions(
    config: dict[str, Any] | None, expected: list[Row]
) -> None:
    decision = run(pod(init=[LATEST]), webhook="validate", config=config)
    assert found(decision, ID) == expected
    assert decision.allowed
    assert decision.warnings == [
        f"initgate init-lint: {loc}: {message}" for loc, _, message in expected
    ]


def test_enforce_mode_denies() -> None:
    decision = run(pod(init=[LATEST]), webhook="validate", config=policy_config(ID, mode="enforce"))
    assert not decision.allowed
    assert decision.message.splitlines()[1:3] == [
        f'- init-lint: init "wait" (spec.initContainers[0]): {UNBOUNDED}',
        '- init-lint: init "wait" (spec.initContainers[0]): image "busybox:latest" uses :latest; pin a version',
    ]
