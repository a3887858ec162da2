"""`make bench`: how fast initgate answers, next to floors measured in the same run.

- The engine alone: median microseconds of `decide()` per request for the `pod-create-two-init`
  fixture (validate and mutate).
- In process: where one request's time goes (parse, checks, engine, encode, bookkeeping), from
  scripts/bench_stages.py.
- Over HTTP: one uvicorn worker over TLS, loaded by wrk (one thread, 16 connections, 10 s a round)
  with the same fixture on /validate and /mutate, alternating with two floors on the very same
  uvicorn configuration (scripts/bench_floor.py): the FastAPI floor, one `@app.post` route that
  parses the body and answers `allowed` (what initgate's stack costs: the targets are ratios to
  it), and the bare-ASGI floor (what the transport costs). Five rounds; each ratio is the median
  of the rounds' own ratios, with their range, because a shared machine drifts. Server and wrk
  are pinned to different cores when taskset exists. Then the latency a single client sees (wrk
  -c1: p50 and p99), and resident memory after a million requests.

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
from webhook.core.config import Config  # noqa: E402
from webhook.core.engine import Webhook, decide  # noqa: E402
from webhook.core.plan import compile_plan  # noqa: E402
from webhook.core.review import AdmissionReview, engine_request  # noqa: E402

FIXTURE = "pod-create-two-init"
WEBHOOKS: tuple[Webhook, ...] = ("validate", "mutate")
TARGETS = {"validate": 0.90, "mutate": 0.85}
"""Ratios of initgate's throughput to the FastAPI floor's."""
SERVERS = ("bare", "fastapi", "initgate")
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
    rss: dict[str, float] = field(default_factory=dict)
    final_rss: float = 0.0
    served: float = 0.0


def measure_http(args: argparse.Namespace) -> Measured:
    """Alternate wrk rounds on the floors and on initgate, then load initgate to `args.total`."""
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
        ports = {name: free_port() for name in SERVERS}
        files = [str(tls.cert), str(tls.key)]
        processes = {
            floor: start(
                [sys.executable, "scripts/bench_floor.py", floor, str(ports[floor]), *files],
                f"https://127.0.0.1:{ports[floor]}/readyz",
                tls,
            )
            for floor in ("bare", "fastapi")
        }
        processes["initgate"] = start(
            [
                sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                "--port", str(ports["initgate"]), "--metrics-port", "0",
                "--config", str(work / "config.yaml"),
                "--tls-cert", files[0], "--tls-key", files[1],
            ],
            f"https://127.0.0.1:{ports['initgate']}/readyz",
            tls,
        )  # fmt: skip
        bases = {name: f"https://127.0.0.1:{port}" for name, port in ports.items()}
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
            measured.rss = {name: rss_mib(process.pid) for name, process in processes.items()}
            if served < args.total:
                rate = statistics.median(r["rps"] for r in measured.runs[("initgate", "validate")])
                seconds = int((args.total - served) / rate) + 1
                url = f"{bases['initgate']}/validate"
                more = load(wrk, url, scripts["validate"], seconds=seconds, connections=16)
                served += more["requests"]
            measured.served = served
            measured.final_rss = rss_mib(processes["initgate"].pid)
        finally:
            for process in processes.values():
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
    return measured


def report_http(args: argparse.Namespace, measured: Measured) -> None:
    print(
        f"\nHTTP over TLS, one uvicorn worker, wrk -t1 -c{args.connections}, {FIXTURE}: "
        f"medians of {args.rounds} alternating rounds of {args.seconds} s"
    )
    print(f"  {'server':<20}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for webhook in WEBHOOKS:
        for name in SERVERS:
            label = f"{name} /{webhook}" if name == "initgate" else f"{name} floor /{webhook}"
            print(row(label, median_of(measured.runs[(name, webhook)])))
    print("  ratios of requests/s (median of the rounds' ratios, and their range):")
    for webhook in WEBHOOKS:
        runs = {name: measured.runs[(name, webhook)] for name in SERVERS}
        ratio, spread = paired(runs["initgate"], runs["fastapi"])
        verdict = "ok" if ratio >= TARGETS[webhook] else "BELOW TARGET"
        print(
            f"  /{webhook:<9} initgate / FastAPI floor {ratio:5.2f} ({spread})   "
            f"target >= {TARGETS[webhook]:.2f}: {verdict}"
        )
        bare, bare_spread = paired(runs["initgate"], runs["bare"])
        print(f"  /{webhook:<9} initgate / bare floor    {bare:5.2f} ({bare_spread})")
        stack, stack_spread = paired(runs["fastapi"], runs["bare"])
        print(f"  /{webhook:<9} FastAPI floor / bare     {stack:5.2f} ({stack_spread})")
    print(
        "  (each round runs the three servers back to back, so a neighbour's load that comes and\n"
        "  goes weighs on both sides of each ratio)"
    )
    print("  one client at a time (wrk -c1, 5 s):")
    for webhook in WEBHOOKS:
        print(row(f"initgate /{webhook}", measured.single[webhook]))
    print(
        "  resident memory after the rounds: "
        + ", ".join(f"{name} {mib:.1f} MiB" for name, mib in measured.rss.items())
    )
    verdict = "ok" if measured.final_rss < RSS_TARGET_MIB else "ABOVE TARGET"
    print(
        f"  initgate after {measured.served:,.0f} requests: {measured.final_rss:.1f} MiB "
        f"(target < {RSS_TARGET_MIB} MiB: {verdict})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of one wrk round")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--total", type=int, default=1_000_000, help="requests before memory is read the last time"
    )
    args = parser.parse_args()

    print(f"engine: decide() on {FIXTURE}, median of 300 batches of 100")
    for webhook in WEBHOOKS:
        micros = engine_microseconds(webhook)
        verdict = "ok" if micros < ENGINE_TARGET_US else "ABOVE TARGET"
        print(f"  {webhook:<8} {micros:7.1f} us  (target < {ENGINE_TARGET_US} us: {verdict})")
    print("\nin-process stages of one request (median us; see scripts/bench_stages.py):")
    print("\n".join(bench_stages.report()))
    report_http(args, measure_http(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
