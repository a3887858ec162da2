"""Where a request's time goes inside initgate, outside any server: the stages of
`protocol.Endpoint` timed one by one on the benchmark's fixture, each request decoded afresh.

- parse: `orjson.loads` of the body, the only work the floor of `make bench` does too;
- checks: what `protocol.decode` adds to the parse (the review's fields and types);
- engine: `Handler.answer`, the evaluation and the response it builds;
- encode: the answer to JSON;
- bookkeeping: `Instrumentation.answered`, the metrics and the decision log line (to /dev/null).

Run alone (`python scripts/bench_stages.py`) or as part of `make bench`. Inside a loaded server
the same work costs more than here (the server's own work between requests evicts it from the
CPU's caches); `make bench` prints both.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies.base import Mode  # noqa: E402
from tests.support import reviews  # noqa: E402
from webhook.core import review  # noqa: E402
from webhook.core.config import Config  # noqa: E402
from webhook.core.engine import Webhook  # noqa: E402
from webhook.core.handler import Handler  # noqa: E402
from webhook.core.plan import compile_plan  # noqa: E402
from webhook.server import endpoint as protocol  # noqa: E402
from webhook.server import logs  # noqa: E402
from webhook.server.instrumentation import Instrumentation  # noqa: E402
from webhook.server.metrics import Metrics  # noqa: E402

FIXTURE = "pod-create-two-init"
STAGES = ("parse", "checks", "engine", "encode", "bookkeeping")


def stages(webhook: Webhook, *, rounds: int = 50, batch: int = 200) -> dict[str, float]:
    """Median microseconds per request of each stage."""
    body = reviews.captured_bytes(FIXTURE, webhook)
    plan = compile_plan(Config())
    handler = Handler(webhook=webhook, cap=Mode.ENFORCE, plan=lambda: plan)
    observer = Instrumentation(Metrics())
    clock = time.perf_counter_ns
    samples: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for round_ in range(rounds + 1):
        totals = dict.fromkeys(STAGES, 0)
        for _ in range(batch):
            start = clock()
            orjson.loads(body)
            parsed = clock()
            request = protocol.decode(body)
            decoded = clock()
            response, decision = handler.answer(request)
            answered = clock()
            orjson.dumps(review.complete(request.uid, response))
            encoded = clock()
            observer.answered(handler, request, decision, 0.001, plan=plan)
            done = clock()
            totals["parse"] += parsed - start
            totals["checks"] += (decoded - parsed) - (parsed - start)
            totals["engine"] += answered - decoded
            totals["encode"] += encoded - answered
            totals["bookkeeping"] += done - encoded
        if round_:  # the first round warms up
            for stage in STAGES:
                samples[stage].append(totals[stage] / batch / 1000)
    return {stage: statistics.median(values) for stage, values in samples.items()}


def decision_log_to_null() -> None:
    """Decision lines as the server writes them, into /dev/null."""
    logs._direct.formatter = logs.JSONFormatter()
    logs._direct.stream = Path(os.devnull).open("w")  # noqa: SIM115 - for the process's life
    logs.DECISIONS.setLevel(logging.INFO)


def report() -> list[str]:
    decision_log_to_null()
    header = f"  {'webhook':<10}" + "".join(f"{stage:>12}" for stage in (*STAGES, "total"))
    lines = [header]
    for webhook in ("validate", "mutate"):
        measured = stages(webhook)
        figures = [*(measured[s] for s in STAGES), sum(measured.values())]
        lines.append(f"  {webhook:<10}" + "".join(f"{value:>12.1f}" for value in figures))
    return lines


if __name__ == "__main__":
    print(f"in-process stages of one request on {FIXTURE} (median us):")
    print("\n".join(report()))
