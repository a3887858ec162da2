"""Exemptions that end, against a real `initgate serve` over TLS: an exemption with `expires`
applies until that instant and not a moment after, without a reload; its end is on the expiry
gauge, and while it applies the decision line names it with its reason.

No fixed wait: the exemption is written to end a few seconds ahead, the test sends the pod again
and again and compares each answer with the wall clock the server reads, on both sides of the
instant (if the reload itself took longer than those seconds, it tries once more, further
ahead)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from policies.policy import expiry_time
from tests.support import reviews, server
from tests.webhook.server.resilience.test_rules import GOOD

pytestmark = pytest.mark.integration

LEGACY = "registry.example.com/legacy/setup:1"
ENDING = {
    # The configuration (with `{end}`), the exemption's label and reason, who sends the pod.
    "image": (
        GOOD
        + "exemptions:\n  images:\n"
        + "    - {{image: 'registry.example.com/legacy/*', expires: '{end}', reason: INC-4711}}\n",
        "exemptions.images[0]: INC-4711",
        "alice",
    ),
    "user": (
        GOOD + "    exemptions:\n"
        "      users: [{{user: ci-bot, expires: '{end}', reason: INC-4712}}]\n",
        "rules[0].exemptions.users[0]: INC-4712",
        "ci-bot",
    ),
}


@pytest.fixture(scope="module")
def ending(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Served]:
    yield from server.serving(tmp_path_factory.mktemp("rules-ending"), config=GOOD)


def judged_around(
    served: server.Served, username: str, instant: float
) -> list[tuple[float, float, dict[str, Any]]]:
    """Send the legacy pod again and again, each time a fresh request, until three were sent
    after `instant`: (sent, answered, response) of each, on the wall clock the server reads."""
    judged: list[tuple[float, float, dict[str, Any]]] = []
    deadline = instant + 30
    with served.client() as client:
        while sum(sent >= instant for sent, _, _ in judged) < 3:
            assert time.time() < deadline, "no answer after the exemption's end"
            sent = time.time()
            answer = client.post("/validate", json=reviews.init_review(LEGACY, username=username))
            judged.append((sent, time.time(), answer.json()["response"]))
    return judged


@pytest.mark.parametrize("kind", sorted(ENDING))
def test_an_exemption_stops_applying_at_its_instant_without_a_reload(
    ending: server.Served, kind: str
) -> None:
    served = ending
    template, shown, username = ENDING[kind]
    label = shown.split(":")[0]
    for margin in (3.0, 6.0, 12.0):
        stamp = datetime.fromtimestamp(time.time() + margin, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        served.reconfigure(template.format(end=stamp), result="success")
        instant = expiry_time(stamp)
        gauge = served.metric("initgate_exemption_expiry_timestamp_seconds", exemption=label)
        assert gauge == instant
        loaded = served.reloads("success")
        judged = judged_around(served, username, instant)
        before = [response for _, answered, response in judged if answered < instant]
        if before:
            break
        # The reload took longer than the margin (a loaded machine): once more, further ahead.
    else:
        pytest.fail("no configuration became active before its exemption ended")
    after = [response for sent, _, response in judged if sent >= instant]
    assert all(response["allowed"] for response in before)
    assert not any(response["allowed"] for response in after)
    assert "init-digest" in after[0]["status"]["message"]
    assert served.reloads("success") == loaded  # no reload made it stop
    uid = before[-1]["uid"]
    line = server.eventually(lambda: [e for e in served.log_entries() if e.get("uid") == uid], bool)
    assert line[0]["exemptions"] == [shown]
