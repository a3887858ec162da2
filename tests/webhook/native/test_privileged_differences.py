"""What the generated init-privileged cannot do as the webhook does, each difference stated in
`KNOWN_DIFFERENCES` and tested as such: wording, lists past what CEL reads, Unicode, the API
server's limits on messages and how it reports a denial."""

from __future__ import annotations

from typing import Any

from policies.base import Mode
from tests.policies import pods
from tests.policies.pod_security import neutral
from tests.support import admission_policies, reviews
from tests.support.admission_policies import request_for
from tests.support.verdicts import generated, native, webhook
from tests.webhook.native.privileged_cases import ENFORCED, ID, only, same, texts
from webhook.core.config import Config
from webhook.native.controls import LIMIT

KNOWN_DIFFERENCES = {
    "overridden": "A pod securityContext field that every judged container overrides is still "
    "a finding (Pod Security forbids it); the webhook's message then names nobody, the "
    "generated one adds `(overridden by <the judged containers>)`, the containers the finding "
    "concerns. Wording only: the verdicts are the same.",
    "all-names": "A pod-level finding inherited by three or more containers: the webhook's "
    'message shortens the list (`init "a", init "b" and 1 more`), the generated one names '
    "every container. Wording only.",
    "limit": f"The generated policy reads {LIMIT} entries of a container's capabilities.add, "
    "ports and volumeMounts and of the pod's unsafe sysctls: no comprehension over the pod's "
    "data runs inside another (the API server estimates lists without maxItems at their "
    "largest), so those lists are read through a literal list of positions. A longer list is "
    "a finding of its own control, even where the webhook finds nothing (ports without a "
    "hostPort), and only an exemption of the whole control lifts it.",
    "ascii": "A capability is normalised with upperAscii (CEL has no Unicode upper-casing): "
    "`\u017fys_admin` (a long s), SYS_ADMIN to Python, keeps its spelling; both deny it, "
    "but an exemption for `capability:SYS_ADMIN` lifts it only in the webhook.",
    "message-size": "The API server takes a messageExpression of at most 5,120 bytes; beyond "
    "(a control failing for dozens of containers) it shows the static message, which names "
    "no container: the generated policy still denies, without the list.",
    "first-denial": "The API server reports the first failing validation of a denied request "
    "(validating/dispatcher.go: deniedDecisions[0]): a pod that breaks several controls is "
    "told about one control at a time, where the webhook lists every finding. Warnings and "
    "audit records carry each control.",
}


HOST = {"name": "host", "hostPath": {"path": "/var/lib/node"}}


def _init(name: str, **context: Any) -> dict[str, Any]:
    return {"name": name, "image": pods.BUSYBOX, "securityContext": context}


def test_known_difference_overridden() -> None:
    obj = neutral()
    obj["spec"]["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    for container in obj["spec"]["initContainers"]:
        container["securityContext"]["seccompProfile"] = {"type": "RuntimeDefault"}
    (line,), (text,) = texts(Config(), obj)
    assert (
        line == "pod (spec): securityContext.seccompProfile.type is Unconfined; use RuntimeDefault"
    )
    assert text == f'{line} (overridden by init "setup" and sidecar "logs")'
    same(Config(), request_for(obj))


def test_known_difference_all_names() -> None:
    obj = reviews.pod(init=[_init("a"), _init("b"), _init("c")], hostPID=True)
    (line,), (text,) = texts(Config(), obj)
    assert line.endswith('(inherited by init "a", init "b" and 1 more)')
    assert text.endswith('(inherited by init "a", init "b", init "c")')
    same(Config(), request_for(obj))


def _long(field: str, entries: list[Any], **spec: Any) -> dict[str, Any]:
    return reviews.pod(init=[{"name": "setup", "image": pods.BUSYBOX, field: entries}], **spec)


def _denies(config: Config, obj: dict[str, Any]) -> tuple[bool, bool]:
    """Whether this policy denies `obj`: in the webhook, in the generated policy."""
    review = request_for(obj)
    ours = only(webhook(config, review, Mode.ENFORCE).actions)["deny"]
    generated = only(native(config, review, Mode.ENFORCE).actions)["deny"]
    return bool(ours), bool(generated)


def test_known_difference_limit() -> None:
    ports = [{"containerPort": 1000 + n} for n in range(LIMIT + 1)]
    mounts = [pods.mount(f"v{n}", f"/v{n}") for n in range(LIMIT + 1)]
    volumes = [pods.empty_dir(f"v{n}") for n in range(LIMIT + 1)]
    assert _denies(Config(), _long("ports", ports)) == (False, True)
    assert _denies(Config(), _long("volumeMounts", mounts, volumes=[*volumes, HOST])) == (
        False,
        True,
    )
    same(Config(), request_for(_long("ports", ports[:LIMIT])))
    # Both deny a capability past the limit; only the webhook lifts it by its key.
    added = reviews.pod(
        init=[_init("setup", capabilities={"add": ["CHOWN"] * LIMIT + ["SYS_ADMIN"]})]
    )
    same(Config(), request_for(added))
    exempt = {"exemptions": {"images": [{"image": "busybox:*", "allow": ["capability:SYS_*"]}]}}
    assert _denies(Config.model_validate({"policies": {ID: exempt}}), added) == (False, True)


def test_known_difference_ascii() -> None:
    obj = reviews.pod(init=[_init("setup", capabilities={"add": ["\u017fys_admin"]})])
    same(Config(), request_for(obj))
    exempt = {"exemptions": {"images": [{"image": "busybox:*", "allow": ["capability:SYS_ADMIN"]}]}}
    assert _denies(Config.model_validate({"policies": {ID: exempt}}), obj) == (False, True)


def test_known_difference_message_size() -> None:
    many = [_init(f"step-{n:02}-{'x' * 40}", privileged=True) for n in range(40)]
    review = request_for(reviews.pod(init=many))
    assert len(only(webhook(Config(), review, Mode.ENFORCE).actions)["deny"][ID]) == 40
    assert only(native(Config(), review, Mode.ENFORCE).actions)["deny"] == {ID: frozenset()}


def test_known_difference_first_denial() -> None:
    """One failing validation per control: the API server shows the first."""
    obj = reviews.pod(init=[_init("setup", privileged=True, procMount="Unmasked")])
    outcome = admission_policies.validate(generated(Config()), request_for(obj), ENFORCED)
    assert [m.split(": ", 2)[2] for m in outcome.denied if m.startswith(ID)] == [
        "securityContext.privileged is true; remove it",
        "securityContext.procMount is Unmasked; remove it",
    ]


def test_every_known_difference_is_tested() -> None:
    for name in KNOWN_DIFFERENCES:
        assert f"test_known_difference_{name.replace('-', '_')}" in globals(), name
