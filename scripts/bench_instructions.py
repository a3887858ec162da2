"""Instructions per `decide()` under valgrind's callgrind: a figure that a busy neighbour does not
move.

Timings on a shared machine drift by ±20% between runs; an instruction count is the same from run
to run (for the same interpreter, packages and fixture), so a change to the request path can be
judged by a difference of a few hundred instructions. It does not see cache misses, which the
server's TLS and HTTP work causes (README, Performance): confirm a change that matters with
`make bench`. The count is that of `calls` decisions on the `pod-create-two-init` fixture, less
that of the same process making none, divided by `calls`; hash randomisation is off
(PYTHONHASHSEED=0) so that sets and dicts are laid out alike in every run.

Run alone (`python scripts/bench_instructions.py`, about a minute) or as `make bench-instructions`;
valgrind is installed from Debian's packages when missing.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench  # noqa: E402

from webhook.core.engine import WEBHOOKS, Webhook  # noqa: E402

WARM_UP = 200


def child(webhook: Webhook, calls: int) -> None:
    """Decide `calls` times, after a warm-up (the code under callgrind)."""
    from tests.support import reviews  # noqa: PLC0415
    from webhook.core.config import Config  # noqa: PLC0415
    from webhook.core.engine import decide  # noqa: PLC0415
    from webhook.core.plan import compile_plan  # noqa: PLC0415
    from webhook.server import endpoint as protocol  # noqa: PLC0415

    plan = compile_plan(Config())
    request = protocol.decode(reviews.captured_bytes(bench.FIXTURE, webhook))
    for _ in range(WARM_UP + calls):
        decide(request, plan, webhook=webhook)


def instructions(valgrind: str, webhook: Webhook, calls: list[int]) -> list[int]:
    """Instructions of whole child processes (callgrind's totals), one per count of calls, run
    side by side."""
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    callgrind = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    children = [
        subprocess.Popen(
            [*callgrind, __file__, "--child", webhook, str(count)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for count in calls
    ]
    totals = []
    for process in children:
        _, err = process.communicate()
        match = re.search(r"Collected\s*:\s*(\d+)", err)
        if process.returncode or match is None:
            raise SystemExit(f"bench_instructions: callgrind failed:\n{err}")
        totals.append(int(match[1]))
    return totals


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="decisions counted per webhook")
    parser.add_argument("--child", nargs=2, metavar=("WEBHOOK", "CALLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        webhook, calls = args.child
        child("mutate" if webhook == "mutate" else "validate", int(calls))
        return 0
    valgrind = bench.ensure_debian("valgrind")
    print(f"instructions per decide() on {bench.FIXTURE} (callgrind, {args.calls} calls):")
    for webhook in WEBHOOKS:
        none, some = instructions(valgrind, webhook, [0, args.calls])
        print(f"  {webhook:<8} {(some - none) / args.calls:>10,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
