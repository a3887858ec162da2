"""`make bench`, user rules: what the cookbook's ten rules add to `decide()`, and how long rules
take to compile.

- `decide()` on the `pod-create-two-init` fixture (validate), with the built-in default
  configuration and with the cookbook's rules (docs/rules/cookbook.yaml) added: median of
  alternating batches, and the difference. Target: at most 25 µs added.
- Compiling 100 rules (the cookbook's, ten times over with distinct ids and texts, so that no
  cache helps): median of 5 rounds. Target: under a second.
- One `decide()` on a pod of 40,000 init containers, without rules, with ten cheap ones and with
  the cookbook's: what the request's rule budget bounds (docs/performance.md).

A benchmark, not a test: it prints figures and the targets they are held to.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import reviews  # noqa: E402
from webhook.core import rules  # noqa: E402
from webhook.core.config import Config, parse_config  # noqa: E402
from webhook.core.engine import decide  # noqa: E402
from webhook.core.objects import Request  # noqa: E402
from webhook.core.plan import Plan, compile_plan  # noqa: E402
from webhook.core.review import AdmissionReview, engine_request  # noqa: E402

FIXTURE = "pod-create-two-init"
COOKBOOK = ROOT / "docs" / "rules" / "cookbook.yaml"
ADDED_TARGET_US = 25
COMPILE_TARGET_S = 1.0


def _batch(request: object, plan: Plan, batch: int) -> float:
    started = time.perf_counter_ns()
    for _ in range(batch):
        decide(request, plan, webhook="validate")  # type: ignore[arg-type]
    return (time.perf_counter_ns() - started) / batch / 1000


def decide_microseconds(rounds: int = 200, batch: int = 50) -> tuple[float, float]:
    """Median `decide()` without and with the cookbook's rules, alternating batch by batch so
    that both meet the same machine."""
    review = AdmissionReview.model_validate(reviews.captured(FIXTURE, "validate"))
    request = engine_request(review.request)
    plain = compile_plan(Config())
    ruled = compile_plan(parse_config(COOKBOOK.read_text(), source=str(COOKBOOK)))
    for plan in (plain, ruled):
        _batch(request, plan, batch)
    without, with_rules = [], []
    for _ in range(rounds):
        without.append(_batch(request, plain, batch))
        with_rules.append(_batch(request, ruled, batch))
    return statistics.median(without), statistics.median(with_rules)


def hundred_rules(round_: int) -> str:
    """The cookbook ten times over, each copy with its own ids and texts (a space that changes
    nothing), so that every expression is compiled anew."""
    cookbook = yaml.safe_load(COOKBOOK.read_text())["rules"]
    listed = []
    for copy in range(10):
        for rule in cookbook:
            pad = " " * (copy + 10 * round_ + 1)
            listed.append(
                {
                    **rule,
                    "id": f"{rule['id']}-{copy}",
                    "expression": rule["expression"] + pad,
                    **(
                        {"messageExpression": rule["messageExpression"] + pad}
                        if "messageExpression" in rule
                        else {}
                    ),
                }
            )
    return yaml.safe_dump({"rules": listed}, sort_keys=False)


def compile_seconds(rounds: int = 5) -> float:
    samples = []
    for round_ in range(rounds):
        text = hundred_rules(round_)
        rules.compiled.cache_clear()
        started = time.perf_counter()
        compile_plan(parse_config(text, source="hundred.yaml"))
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


CHEAP = {
    "rules": [
        {"id": f"cheap-{n}", "description": "D.", "expression": "container.name != ''"}
        for n in range(10)
    ]
}


def crowded_seconds(containers: int = 40_000) -> dict[str, float]:
    """One `decide()` on a pod of `containers` minimal init containers (1.35 MB for 40,000,
    within the API server's 3 MiB): the built-in policies alone, with ten cheap rules (which the
    request's budget stops), and with the cookbook's."""
    init = [{"name": f"c{i}", "image": "b"} for i in range(containers)]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "crowded", "namespace": "demo"},
        "spec": {"initContainers": init, "containers": [{"name": "app", "image": "b"}]},
    }
    request = Request(pod, namespace="demo", username="bench")
    plans = {
        "built-in only": compile_plan(Config()),
        "+ ten cheap rules": compile_plan(parse_config(yaml.safe_dump(CHEAP), source="cheap")),
        "+ the cookbook's 10": compile_plan(
            parse_config(COOKBOOK.read_text(), source=str(COOKBOOK))
        ),
    }
    found = {}
    for name, plan in plans.items():
        started = time.perf_counter()
        decide(request, plan, webhook="validate")
        found[name] = time.perf_counter() - started
    return found


def main() -> int:
    without, with_rules = decide_microseconds()
    added = with_rules - without
    verdict = "met" if added <= ADDED_TARGET_US else "NOT met"
    print(f"rules: decide() on {FIXTURE} (validate), median of 200 alternating batches of 50")
    print(f"  built-in policies only  {without:7.1f} µs")
    print(f"  + the cookbook's 10     {with_rules:7.1f} µs")
    print(f"  added                   {added:7.1f} µs   target <= {ADDED_TARGET_US} µs: {verdict}")
    seconds = compile_seconds()
    verdict = "met" if seconds < COMPILE_TARGET_S else "NOT met"
    print(
        f"rules: compiling 100 rules (config parse and plan), median of 5: {seconds:.2f} s"
        f"   target < {COMPILE_TARGET_S:.0f} s: {verdict}"
    )
    print("rules: decide() once on a pod of 40,000 init containers (the request's rule budget)")
    for name, seconds in crowded_seconds().items():
        print(f"  {name:22s} {seconds:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
