"""`make bench`: how fast initgate answers, next to a floor measured in the same run.

- The engine alone: median microseconds of `decide()` per request for the `pod-create-two-init`
  fixture (validate and mutate).
- In process: where one request's time goes (parse, checks, engine, encode, bookkeeping), from
  scripts/bench_stages.py.
- Over HTTP: one uvicorn worker over TLS, loaded by wrk (16 connections, 10 s a round) with the
  same fixture on /validate and /mutate, alternating with the floor (scripts/bench_floor.py: a bare
  ASGI app on the same uvicorn and TLS settings that only parses the JSON body and answers
  allowed) for five rounds; medians are reported, because a shared machine drifts, and each
  ratio is the median of the rounds' own ratios, with their range. A second
  floor runs on initgate's own connection handling (its guards, and answers written in one piece),
  for the ratio of the request path alone. Server and
  wrk are pinned to different cores when taskset exists. Prints requests/s, p50, p99, each
  endpoint's throughput as a ratio of the floor's, the latency a single client sees, and resident
  memory after 100,000 requests.

This is a benchmark, not a test: it prints figures and the targets they are held to.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bench_stages  # noqa: E402

from tests.support import reviews  # noqa: E402
from tests.support.server import Material, free_port  # noqa: E402
from webhook._version import build  # noqa: E402
from webhook.core.config import Config  # noqa: E402
from webhook.core.engine import Webhook, decide  # noqa: E402
from webhook.core.plan import compile_plan  # noqa: E402
from webhook.core.review import AdmissionReview, engine_request  # noqa: E402

FIXTURE = "pod-create-two-init"
SAME_PROTOCOL = "floor on initgate's connection handling"
WEBHOOKS: tuple[Webhook, ...] = ("validate", "mutate")
TARGETS = {"validate": 0.60, "mutate": 0.55}
RSS_TARGET_MIB = 90
ENGINE_TARGET_US = 100
WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local file = io.open("{body}", "rb")
wrk.body = file:read("*a")
file:close()
"""
Result = dict[str, float]


def engine_microseconds(webhook: Webhook, rounds: int = 300, batch: int = 100) -> float:
    """Median time of one `decide()` for the fixture, in microseconds."""
    review = AdmissionReview.model_validate(reviews.captured(FIXTURE, webhook))
    request = engine_request(review.request)
    plan = compile_plan(Config())
    for _ in range(batch):
        decide(request, plan, webhook=webhook)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for _ in range(batch):
            decide(request, plan, webhook=webhook)
        samples.append((time.perf_counter_ns() - started) / batch / 1000)
    return statistics.median(samples)


def ensure_debian(program: str) -> str:
    """The path of `program`, installed from Debian's package of the same name when missing."""
    found = shutil.which(program)
    if found:
        return found
    print(f"bench: {program} is missing; installing it from Debian's packages", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    command = [*sudo, "apt-get", "install", "-y", "--no-install-recommends", program]
    subprocess.run(command, check=True)
    return shutil.which(program) or program


def ensure_wrk() -> str:
    return ensure_debian("wrk")


def pinned(core: int) -> list[str]:
    """Run on one core (server and load generator must not share a core on a small machine)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        return ["taskset", "-c", str(core)]
    return []


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start(command: list[str], url: str, tls: Material) -> subprocess.Popen[bytes]:
    """Start a server on core 0 and wait until `url` answers over verified TLS."""
    process = subprocess.Popen(
        [*pinned(0), *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {command} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, context=tls.context(), timeout=1):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"bench: {url} never answered")


def load(wrk: str, url: str, script: Path, *, seconds: int, connections: int) -> Result:
    """Run wrk on core 1; requests/s, p50 and p99 in milliseconds, and the request count."""
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
    out = subprocess.run(
        [*pinned(1), *command, url], capture_output=True, text=True, check=True
    ).stdout
    if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
        raise SystemExit(f"bench: errors under load:\n{out}")

    def figure(pattern: str) -> re.Match[str]:
        match = re.search(pattern, out, re.MULTILINE)
        if match is None:
            raise SystemExit(f"bench: cannot read wrk's output:\n{out}")
        return match

    def latency(percent: str) -> float:
        match = figure(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match[2]]
        return float(match[1]) * scale

    return {
        "rps": float(figure(r"Requests/sec:\s+([\d.]+)")[1]),
        "p50": latency("50"),
        "p99": latency("99"),
        "requests": float(figure(r"(\d+) requests in")[1]),
    }


def median_of(results: list[Result]) -> Result:
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def paired(ours: list[Result], floor: list[Result]) -> tuple[float, str]:
    """The median of the rounds' ratios of requests/s, and their range."""
    ratios = [a["rps"] / b["rps"] for a, b in zip(ours, floor, strict=True)]
    return statistics.median(ratios), f"{min(ratios):.2f} to {max(ratios):.2f}"


def row(name: str, result: Result, extra: str = "") -> str:
    figures = f"{result['rps']:>10.0f}{result['p50']:>9.2f}{result['p99']:>9.2f}"
    return f"  {name:<18}{figures}{extra}"


@dataclass
class Measured:
    runs: dict[tuple[str, str], list[Result]] = field(default_factory=dict)
    single: dict[str, Result] = field(default_factory=dict)
    floor_rss: float = 0.0
    server_rss: float = 0.0
    final_rss: float = 0.0
    served: float = 0.0


def measure_http(args: argparse.Namespace) -> Measured:
    """Alternate wrk rounds on the floor and on initgate, then load initgate to 100,000."""
    wrk = ensure_wrk()
    measured = Measured()
    with tempfile.TemporaryDirectory(prefix="initgate-bench-") as folder:
        work = Path(folder)
        tls = Material.create(work)
        scripts = {}
        for webhook in WEBHOOKS:
            body = work / f"{webhook}.json"
            body.write_bytes(reviews.captured_bytes(FIXTURE, webhook))
            scripts[webhook] = work / f"{webhook}.lua"
            scripts[webhook].write_text(WRK_SCRIPT.format(body=body))
        (work / "config.yaml").write_text("")
        floor_port, same_port, port = free_port(), free_port(), free_port()
        floors = [
            start(
                [sys.executable, "scripts/bench_floor.py", str(at), str(tls.cert), str(tls.key),
                 *extra],
                f"https://127.0.0.1:{at}/",
                tls,
            )
            for at, extra in ((floor_port, []), (same_port, ["--initgate-protocol"]))
        ]  # fmt: skip
        server = start(
            [
                sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                "--port", str(port), "--metrics-port", "0", "--config", str(work / "config.yaml"),
                "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
            ],
            f"https://127.0.0.1:{port}/readyz",
            tls,
        )  # fmt: skip
        bases = {
            "floor": f"https://127.0.0.1:{floor_port}",
            SAME_PROTOCOL: f"https://127.0.0.1:{same_port}",
            "initgate": f"https://127.0.0.1:{port}",
        }
        try:
            options = {"seconds": args.seconds, "connections": args.connections}
            for _ in range(args.rounds):
                for webhook in WEBHOOKS:
                    for name, base in bases.items():
                        url = f"{base}/{webhook}?timeout=10s"
                        result = load(wrk, url, scripts[webhook], **options)
                        measured.runs.setdefault((name, webhook), []).append(result)
            for webhook in WEBHOOKS:
                url = f"{bases['initgate']}/{webhook}"
                measured.single[webhook] = load(
                    wrk, url, scripts[webhook], seconds=5, connections=1
                )
            ours = [r for (name, _), rs in measured.runs.items() if name == "initgate" for r in rs]
            served = sum(r["requests"] for r in [*ours, *measured.single.values()])
            measured.floor_rss, measured.server_rss = rss_mib(floors[0].pid), rss_mib(server.pid)
            if served < 100_000:
                rate = statistics.median(r["rps"] for r in measured.runs[("initgate", "validate")])
                seconds = int((100_000 - served) / rate) + 1
                url = f"{bases['initgate']}/validate"
                served += load(wrk, url, scripts["validate"], seconds=seconds, connections=16)[
                    "requests"
                ]
            measured.served = served
            measured.final_rss = rss_mib(server.pid)
        finally:
            for process in (*floors, server):
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    print(f"build: {build()} (make bench BENCH_BUILD=pure measures the sources)\n")
    print(f"engine: decide() on {FIXTURE}, median of 300 batches of 100")
    for webhook in WEBHOOKS:
        micros = engine_microseconds(webhook)
        verdict = "ok" if micros < ENGINE_TARGET_US else "ABOVE TARGET"
        print(f"  {webhook:<8} {micros:7.1f} us  (target < {ENGINE_TARGET_US} us: {verdict})")
    print("\nin-process stages of one request (median us; see scripts/bench_stages.py):")
    print("\n".join(bench_stages.report()))

    measured = measure_http(args)
    print(
        f"\nHTTP over TLS, one uvicorn worker, wrk -c{args.connections}, {FIXTURE}: "
        f"medians of {args.rounds} alternating rounds of {args.seconds} s"
    )
    print(f"  {'endpoint':<18}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}   target")
    for webhook in WEBHOOKS:
        ours = measured.runs[("initgate", webhook)]
        ratio, spread = paired(ours, measured.runs[("floor", webhook)])
        verdict = "ok" if ratio >= TARGETS[webhook] else "BELOW TARGET"
        target = f"{ratio:>8.2f}   >= {TARGETS[webhook]:.2f}: {verdict} (rounds: {spread})"
        print(row(f"floor /{webhook}", median_of(measured.runs[("floor", webhook)])))
        print(row(f"/{webhook}", median_of(ours), target))
        print(row(f"floor* /{webhook}", median_of(measured.runs[(SAME_PROTOCOL, webhook)])))
        same, same_spread = paired(ours, measured.runs[(SAME_PROTOCOL, webhook)])
        print(f"  {f'/{webhook} vs floor*':<45}{same:>8.2f}   (rounds: {same_spread})")
    print(
        "  ratio: the median of each round's ratio (initgate and its floor run back to back, so a\n"
        "  neighbour's load that comes and goes weighs on both sides of each ratio)"
    )
    print(
        "  floor*: the floor on initgate's own connection handling (connection:\n"
        "  guards, answers written in one piece): the ratio of the request path alone"
    )
    print("  one client at a time (wrk -c1, 5 s):")
    for webhook in WEBHOOKS:
        print(row(f"/{webhook}", measured.single[webhook]))
    print(
        f"  resident memory: floor {measured.floor_rss:.1f} MiB, "
        f"initgate {measured.server_rss:.1f} MiB"
    )
    verdict = "ok" if measured.final_rss < RSS_TARGET_MIB else "ABOVE TARGET"
    print(
        f"  initgate after {measured.served:,.0f} requests: {measured.final_rss:.1f} MiB "
        f"(target < {RSS_TARGET_MIB} MiB: {verdict})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
