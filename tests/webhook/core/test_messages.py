"""Warning lines: single lines of at most 120 characters that never cut what a reader types (the
annotation that keeps a volume writable) nor the name of a container a pod-level finding names
(issue 22, bug 2; issue 16's leftover)."""

from __future__ import annotations

import re

import pytest

from policies.base import Mode
from tests.policies import pods
from tests.policies.harness import plan
from tests.support import reviews
from webhook.core import chain
from webhook.core.messages import WARNING_LIMIT


def _warnings(obj: dict[str, object]) -> list[str]:
    chained = chain.chain(chain.wrap(obj, namespace="shop"), plan(), cap=Mode.WARN)
    return [
        *chained.mutate["response"].get("warnings", []),
        *chained.validate["response"].get("warnings", []),
    ]


def _filled(volume: str) -> dict[str, object]:
    """An init container fills `volume`, which the app mounts writable."""
    fetch = pods.shell("fetch", "date > /d/x", mounts=[pods.mount(volume, "/d")])
    server = pods.app("server", volumeMounts=[pods.mount(volume, "/d")])
    return reviews.pod(init=[fetch], app=[server], volumes=[pods.empty_dir(volume)])


@pytest.mark.parametrize("length", [6, 23, 24, 30, 43, 61, 62, 63])
def test_the_annotation_a_reader_copies_is_never_cut(length: int) -> None:
    volume = ("huggingface-model-cache-volume-" * 3)[: length - 1] + "x"
    warnings = _warnings(_filled(volume))
    assert all(len(line) <= WARNING_LIMIT and "\n" not in line for line in warnings), warnings
    typed = f'initgate.io/writable-volumes: "{volume}"'
    assert any(line.endswith(typed) for line in warnings), warnings


def test_the_hint_keeps_its_words_while_they_fit() -> None:
    warnings = _warnings(_filled("huggingface-model-cache-volume"))  # 30 characters
    assert warnings[-1] == (
        'initgate readonly-mounts: …annotate the pod initgate.io/writable-volumes: "'
        'huggingface-model-cache-volume"'
    )
    assert _warnings(_filled("models"))[-1] == (
        "initgate readonly-mounts: to keep it writable, annotate the pod initgate.io/writable-"
        'volumes: "models"'
    )


NAMES = ["database-migration-with-a-long-descriptive-name-0123456789abcd", "short"]


@pytest.mark.parametrize("names", [NAMES[:1], NAMES, [NAMES[0], NAMES[0][:-1] + "e", "x"]])
def test_a_pod_level_finding_never_cuts_a_container_name(names: list[str]) -> None:
    init = [pods.shell(name, "true") for name in names]
    obj = reviews.pod(init=init, app=[pods.app()])
    obj["spec"]["hostNetwork"] = True
    [line] = [w for w in _warnings(obj) if "hostNetwork" in w]
    assert len(line) <= WARNING_LIMIT, line
    assert line.startswith("initgate init-privileged: pod: hostNetwork is true; remove it")
    for quoted in re.findall(r'"([^"]*)"', line):
        assert quoted in names, line
    shown = len(re.findall(r'"([^"]*)"', line))
    counted = re.search(r"and (\d+) more\)$|inherited by (\d+) containers?\)$", line)
    rest = int(next(g for g in counted.groups() if g)) if counted else 0
    assert shown + rest == len(names), line
