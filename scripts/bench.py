"""`make bench`: how fast initgate answers, next to a floor measured in the same run.

- The engine alone: median microseconds of `decide()` per request for the `pod-create-two-init`
  fixture (validate and mutate).
- Over HTTP: one uvicorn worker over TLS, loaded by wrk (16 connections, 10 s) with the same
  fixture on /validate and /mutate, and the floor (scripts/bench_floor.py: a bare ASGI app on the
  same uvicorn and TLS settings that only parses the JSON body and answers allowed). Server and wrk
  are pinned to different cores when taskset exists. Prints requests/s, p50, p99, resident memory,
  and each endpoint's throughput as a ratio of the floor's; then loads initgate up to 100,000
  requests and prints its resident memory.

This is a benchmark, not a test: it prints figures and the targets they are held to.
"""

from __future__ import annotations

import argparse
import json
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import reviews  # noqa: E402
from tests.support.server import Material, free_port  # noqa: E402
from webhook.config import Config  # noqa: E402
from webhook.engine import decide  # noqa: E402
from webhook.handler import engine_request  # noqa: E402
from webhook.plan import compile_plan  # noqa: E402
from webhook.review import AdmissionReview  # noqa: E402

FIXTURE = "pod-create-two-init"
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


def engine_microseconds(webhook: str, rounds: int = 300, batch: int = 100) -> float:
    """Median time of one `decide()` for the fixture, in microseconds."""
    review = AdmissionReview.model_validate(reviews.captured(FIXTURE, webhook))
    request = engine_request(review.request)
    plan = compile_plan(Config())
    for _ in range(batch):
        decide(request, plan, webhook=webhook)  # type: ignore[arg-type]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        for _ in range(batch):
            decide(request, plan, webhook=webhook)  # type: ignore[arg-type]
        samples.append((time.perf_counter_ns() - started) / batch / 1000)
    return statistics.median(samples)


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("bench: wrk is missing; installing it from Debian's packages", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "install", "-y", "--no-install-recommends", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


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


def wait_ready(url: str, tls: Material, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, context=tls.context(), timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"bench: {url} never answered")


def start(command: list[str], url: str, tls: Material) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [*pinned(0), *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    wait_ready(url, tls, process)
    return process


def load(wrk: str, url: str, script: Path, *, seconds: int, connections: int) -> dict[str, float]:
    """Run wrk; return requests/s, p50 and p99 in milliseconds, and the request count."""
    out = subprocess.run(
        [*pinned(1), wrk, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if not match:
            raise SystemExit(f"bench: cannot read wrk's output:\n{out}")
        value, unit = float(match[1]), match[2]
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        raise SystemExit(f"bench: errors under load:\n{out}")
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert total and rate, out
    return {"rps": float(rate[1]), "p50": latency("50"), "p99": latency("99"), "requests": float(total[1])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()

    print(f"engine: decide() on {FIXTURE}, median of 300 batches of 100")
    engine = {w: engine_microseconds(w) for w in ("validate", "mutate")}
    for webhook, micros in engine.items():
        verdict = "ok" if micros < ENGINE_TARGET_US else "ABOVE TARGET"
        print(f"  {webhook:<8} {micros:7.1f} us  (target < {ENGINE_TARGET_US} us: {verdict})")

    wrk = ensure_wrk()
    with tempfile.TemporaryDirectory(prefix="initgate-bench-") as folder:
        work = Path(folder)
        tls = Material.create(work)
        scripts = {}
        for webhook in ("validate", "mutate"):
            body = work / f"{webhook}.json"
            body.write_bytes(reviews.captured_bytes(FIXTURE, webhook))
            scripts[webhook] = work / f"{webhook}.lua"
            scripts[webhook].write_text(WRK_SCRIPT.format(body=body))
        (work / "config.yaml").write_text("")
        floor_port, port = free_port(), free_port()
        floor = start(
            [sys.executable, "scripts/bench_floor.py", str(floor_port), str(tls.cert), str(tls.key)],
            f"https://127.0.0.1:{floor_port}/",
            tls,
        )
        server = start(
            [
                sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                "--port", str(port), "--metrics-port", "0", "--config", str(work / "config.yaml"),
                "--tls-cert", str(tls.cert), "--tls-key", str(tls.key),
            ],
            f"https://127.0.0.1:{port}/readyz",
            tls,
        )  # fmt: skip
        try:
            results = {}
            options = {"seconds": args.seconds, "connections": args.connections}
            for webhook in ("validate", "mutate"):
                results[f"floor/{webhook}"] = load(
                    wrk, f"https://127.0.0.1:{floor_port}/{webhook}", scripts[webhook], **options
                )
                results[webhook] = load(
                    wrk, f"https://127.0.0.1:{port}/{webhook}?timeout=10s", scripts[webhook], **options
                )
            floor_rss, server_rss = rss_mib(floor.pid), rss_mib(server.pid)
            served = results["validate"]["requests"] + results["mutate"]["requests"]
            rest = max(0.0, 100_000 - served)
            if rest:
                seconds = int(rest / results["validate"]["rps"]) + 1
                served += load(wrk, f"https://127.0.0.1:{port}/validate", scripts["validate"], seconds=seconds, connections=16)["requests"]
            final_rss = rss_mib(server.pid)
        finally:
            for process in (floor, server):
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)

    print(f"\nHTTP over TLS, one uvicorn worker, wrk -c{args.connections} -d{args.seconds}s, {FIXTURE}")
    print(f"  {'endpoint':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'ratio':>8}   target")
    for webhook in ("validate", "mutate"):
        floor_result, result = results[f"floor/{webhook}"], results[webhook]
        ratio = result["rps"] / floor_result["rps"]
        verdict = "ok" if ratio >= TARGETS[webhook] else "BELOW TARGET"
        print(f"  {'floor /' + webhook:<16}{floor_result['rps']:>10.0f}{floor_result['p50']:>9.2f}{floor_result['p99']:>9.2f}")
        print(
            f"  {'/' + webhook:<16}{result['rps']:>10.0f}{result['p50']:>9.2f}{result['p99']:>9.2f}"
            f"{ratio:>8.2f}   >= {TARGETS[webhook]:.2f}: {verdict}"
        )
    print(f"  resident memory: floor {floor_rss:.1f} MiB, initgate {server_rss:.1f} MiB")
    verdict = "ok" if final_rss < RSS_TARGET_MIB else "ABOVE TARGET"
    print(f"  initgate after {served:,.0f} requests: {final_rss:.1f} MiB (target < {RSS_TARGET_MIB} MiB: {verdict})")
    print(json.dumps({"engine_us": engine, "http": results, "rss_mib": final_rss}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
