"""`make soak`: initgate under steady load for ten minutes (not part of CI).

Starts `initgate serve` (one uvicorn worker, TLS, built-in configuration), measures its
saturation (the most requests per second a closed loop of clients gets out of it, briefly), then
sends half that rate, open loop and evenly spaced, to /mutate and /validate with every captured
review, over keep-alive connections. Latency is counted from when each request was due, not from
when a free connection sent it, so a stall shows as latency instead of hiding as a lower rate.

Prints per interval (a minute; shorter for short runs, so that there are at least four): requests,
errors, p99 latency and the server's resident memory. Exits 1 if any request failed (not a 200
AdmissionReview for the uid sent, a reset, or no answer within 10 s, the API server's default
timeout), or if resident memory grew after the first interval by more than the tolerance.

    .venv/bin/python scripts/soak.py --minutes 1      # a quick try
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import reviews, server  # noqa: E402

TIMEOUT = 10.0  # the API server's default webhook timeout


@dataclass(frozen=True)
class Call:
    """One prepared request: its bytes and the uid its answer must echo."""

    data: bytes
    uid: str


def calls(port: int) -> list[Call]:
    prepared = []
    for case in reviews.CASES:
        for webhook in ("mutate", "validate"):
            body = reviews.captured_bytes(case, webhook)
            head = (
                f"POST /{webhook}?timeout=10s HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
            )
            uid = json.loads(body)["request"]["uid"]
            prepared.append(Call(head.encode() + body, uid))
    return prepared


@dataclass
class Interval:
    """What one report interval saw."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    problems: dict[str, int] = field(default_factory=dict)

    def fail(self, problem: str) -> None:
        self.errors += 1
        self.problems[problem] = self.problems.get(problem, 0) + 1


class Connection:
    """One keep-alive connection, reopened when the server asks to close it."""

    def __init__(self, port: int, context: ssl.SSLContext) -> None:
        self.port, self.context = port, context
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def send(self, call: Call) -> str:
        """Send `call`; the problem with its answer, or "" when it is right."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(
                "127.0.0.1", self.port, ssl=self.context, server_hostname="127.0.0.1"
            )
        reader, writer = self.streams
        try:
            writer.write(call.data)
            head = await reader.readuntil(b"\r\n\r\n")
            fields = head.lower()
            length = int(fields.split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
            await self.close()
            return type(error).__name__
        if b"connection: close" in fields:
            await self.close()
        if not head.startswith(b"HTTP/1.1 200 "):
            return f"HTTP {head[9:12].decode()}"
        response = json.loads(body).get("response", {})
        if response.get("uid") != call.uid or not isinstance(response.get("allowed"), bool):
            return "not an AdmissionReview for the request"
        return ""

    async def close(self) -> None:
        if self.streams is not None:
            _, writer = self.streams
            self.streams = None
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()


async def saturation(
    port: int, context: ssl.SSLContext, prepared: list[Call], *, seconds: float, connections: int
) -> float:
    """Requests per second a closed loop of `connections` clients gets answered."""
    done = 0
    stop = time.monotonic() + seconds

    async def client(offset: int) -> None:
        nonlocal done
        connection = Connection(port, context)
        index = offset
        while time.monotonic() < stop:
            if not await connection.send(prepared[index % len(prepared)]):
                done += 1
            index += 1
        await connection.close()

    started = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(connections)))
    return done / (time.monotonic() - started)


async def steady(
    port: int,
    context: ssl.SSLContext,
    prepared: list[Call],
    *,
    rate: float,
    seconds: float,
    every: float,
    connections: int,
    report: Callable[[int, Interval], None],
) -> None:
    """`rate` requests per second, each due at its own time, for `seconds`; `report(n, interval)`
    at the end of every `every` seconds."""
    started = time.monotonic()
    total = int(rate * seconds)
    intervals = [Interval() for _ in range(max(1, round(seconds / every)))]
    next_index = 0

    async def client() -> None:
        nonlocal next_index
        connection = Connection(port, context)
        while next_index < total:
            index = next_index
            next_index += 1
            due = started + index / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            interval = intervals[min(int((due - started) / every), len(intervals) - 1)]
            try:
                problem = await asyncio.wait_for(
                    connection.send(prepared[index % len(prepared)]), TIMEOUT
                )
            except TimeoutError:
                await connection.close()
                problem = "no answer within 10 s"
            if problem:
                interval.fail(problem)
            else:
                interval.latencies.append(time.monotonic() - due)
        await connection.close()

    async def reporter() -> None:
        for number, interval in enumerate(intervals, start=1):
            await asyncio.sleep(max(0.0, started + number * every - time.monotonic()))
            report(number, interval)

    await asyncio.gather(reporter(), *(client() for _ in range(connections)))


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def p99(latencies: list[float]) -> float:
    if len(latencies) < 2:
        return latencies[0] if latencies else float("nan")
    return statistics.quantiles(latencies, n=100)[98]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10, help="length of the steady load")
    parser.add_argument("--saturation-seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rate", type=float, help="requests/s (default: half the saturation)")
    parser.add_argument("--report-every", type=float, help="seconds (default: 60, or less so "
                        "that a short run gets 4 intervals)")  # fmt: skip
    parser.add_argument("--memory-tolerance-mib", type=float, default=4.0)
    args = parser.parse_args()
    seconds = args.minutes * 60
    every = args.report_every or min(60.0, seconds / 4)

    with tempfile.TemporaryDirectory(prefix="initgate-soak-") as folder:
        served = server.start(Path(folder))
        pid = served.process.pid
        with contextlib.suppress(AttributeError, OSError):  # keep client and server apart
            os.sched_setaffinity(pid, {0})
            os.sched_setaffinity(0, {1})
        context = served.tls.context()
        prepared = calls(served.port)
        print(f"initgate soak: server pid {pid} at {served.base}, {args.connections} connections")
        try:
            rate = args.rate
            if rate is None:
                cpu, wall = cpu_seconds(pid), time.monotonic()
                saturated = asyncio.run(
                    saturation(
                        served.port,
                        context,
                        prepared,
                        seconds=args.saturation_seconds,
                        connections=args.connections,
                    )
                )
                busy = (cpu_seconds(pid) - cpu) / (time.monotonic() - wall)
                rate = saturated / 2
                # Under 90% of a core, the clients (one Python process) were the limit, not the
                # server: the steady rate is then lower than half the server's saturation.
                print(
                    f"saturation (closed loop, {args.saturation_seconds:g} s): {saturated:.0f} "
                    f"requests/s, server CPU {busy:.0%} of one core"
                )
            print(
                f"steady load: {rate:.0f} requests/s for {args.minutes:g} minutes on /mutate and "
                f"/validate ({len(prepared)} captured reviews in turn), reported every {every:g} s"
            )
            print(f"{'interval':>8} {'requests':>9} {'errors':>7} {'p99 ms':>8} {'rss MiB':>8}")
            rows: list[tuple[int, int, float]] = []

            def report(number: int, interval: Interval) -> None:
                rss = served.rss()
                rows.append((interval.errors, len(interval.latencies) + interval.errors, rss))
                print(
                    f"{number:>8} {len(interval.latencies) + interval.errors:>9} "
                    f"{interval.errors:>7} {p99(interval.latencies) * 1000:>8.2f} "
                    f"{rss / 2**20:>8.1f}",
                    flush=True,
                )
                for problem, count in interval.problems.items():
                    print(f"{'':>8} {count} x {problem}")

            asyncio.run(
                steady(
                    served.port,
                    context,
                    prepared,
                    rate=rate,
                    seconds=seconds,
                    every=every,
                    connections=args.connections,
                    report=report,
                )
            )
        finally:
            status = served.stop()
    return verdict(rows, status=status, tolerance=args.memory_tolerance_mib)


def verdict(rows: list[tuple[int, int, float]], *, status: int, tolerance: float) -> int:
    errors = sum(row[0] for row in rows)
    sent = sum(row[1] for row in rows)
    first, peak = rows[0][2], max(row[2] for row in rows[1:]) if len(rows) > 1 else rows[0][2]
    grown = (peak - first) / 2**20
    print(
        f"total: {sent} requests, {errors} errors; resident memory after the first interval "
        f"{first / 2**20:.1f} MiB, highest later {peak / 2**20:.1f} MiB ({grown:+.1f} MiB, "
        f"tolerance {tolerance:g}); server exit status {status}"
    )
    failed = [
        reason
        for reason, bad in (
            ("requests failed", errors > 0),
            ("resident memory grew", grown > tolerance),
            ("the server did not exit 0", status != 0),
        )
        if bad
    ]
    print("result: " + ("FAILED: " + ", ".join(failed) if failed else "OK"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
