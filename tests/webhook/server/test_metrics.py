"""The admission path's own counters and histogram (`Tally`, `Timings`) must expose exactly what
prometheus_client's locked ones would for the same events, and survive a scrape from another
thread while the event loop counts."""

from __future__ import annotations

import threading

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from webhook.server.metrics import LATENCY_BUCKETS, Tally, Timings

LABELS = st.tuples(st.sampled_from(["validate", "mutate"]), st.sampled_from(["CREATE", "UPDATE"]))
SECONDS = st.one_of(
    st.floats(min_value=0, max_value=5, allow_nan=False),
    st.sampled_from(LATENCY_BUCKETS),  # on a bound: `le` is inclusive
)


def exposition(registry: CollectorRegistry) -> set[str]:
    return {
        line
        for line in generate_latest(registry).decode().splitlines()
        if not line.startswith("# HELP")
    }


@settings(max_examples=200, deadline=None)
@given(events=st.lists(st.tuples(LABELS, SECONDS), max_size=30))
def test_the_same_exposition_as_prometheus_client(
    events: list[tuple[tuple[str, str], float]],
) -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    tally = Tally("t_requests", "doc", ["webhook", "operation"])
    timings = Timings("t_seconds", "doc", "webhook", LATENCY_BUCKETS)
    ours.register(tally)
    ours.register(timings)
    counter = Counter("t_requests", "doc", ["webhook", "operation"], registry=theirs)
    histogram = Histogram("t_seconds", "doc", ["webhook"], buckets=LATENCY_BUCKETS, registry=theirs)
    for labels, seconds in events:
        tally.inc(labels)
        counter.labels(*labels).inc()
        timings.observe(labels[0], seconds)
        histogram.labels(labels[0]).observe(seconds)
    expected = {line for line in exposition(theirs) if "_created" not in line}
    assert exposition(ours) == expected


def test_a_scrape_during_counting_sees_whole_numbers_and_loses_nothing() -> None:
    registry = CollectorRegistry()
    tally = Tally("t_requests", "doc", ["webhook"])
    timings = Timings("t_seconds", "doc", "webhook", LATENCY_BUCKETS)
    registry.register(tally)
    registry.register(timings)
    done = threading.Event()
    scraped: list[float] = []

    def scrape() -> None:
        while not done.is_set():
            samples = [sample for family in registry.collect() for sample in family.samples]
            for webhook in ("a", "b"):
                mine = [s for s in samples if s.labels.get("webhook") == webhook]
                by_name = {(s.name, s.labels.get("le")): s.value for s in mine}
                scraped.append(by_name.get(("t_requests_total", None), 0))
                # One scrape is one moment: the count is the +Inf bucket.
                count = by_name.get(("t_seconds_count", None))
                assert count == by_name.get(("t_seconds_bucket", "+Inf"))

    scraper = threading.Thread(target=scrape)
    scraper.start()
    for index in range(50_000):
        webhook = "ab"[index % 2]
        tally.inc((webhook,))
        timings.observe(webhook, 0.001)
    done.set()
    scraper.join()
    assert registry.get_sample_value("t_requests_total", {"webhook": "a"}) == 25_000
    assert registry.get_sample_value("t_seconds_count", {"webhook": "b"}) == 25_000
    assert scraped  # the scraper ran while counting went on
    assert all(value == int(value) for value in scraped)
