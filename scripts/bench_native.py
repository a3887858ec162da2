"""`make bench` (beside bench.py): what the generated admission policies cost.

- Per pod: median time to evaluate every generated ValidatingAdmissionPolicy and
  MutatingAdmissionPolicy bound to an enforced namespace on the captured `pod-create-two-init`
  review (no result is cached between rounds), with initgate's own CEL
  runtime and the test suite's model of the API server (tests/support/admission_policies.py:
  matchConditions, then every variable (the API server evaluates one only when it is read), then
  the validations, and the messages of those that fail), for the default configuration and for
  the cookbook's ten rules, and per policy.
- Per expression: the static cost estimate (cel-go's and Kubernetes' unit costs) under two sets
  of bounds: a large pod (100 containers, mounts or entries in each list, 4 KiB strings, names of
  63 characters), and the bounds user rules are held to (1,000 entries, 64 KiB strings), where
  an estimate may saturate. The API server meters the expressions as they run (1,000,000 units
  per expression); no API server checks an estimate when a policy is created
  (docs/native-policies.md).

A change that makes an expression costlier shows in both figures. This is a benchmark, not a
test: it prints figures, and no target holds them. initgate's runtime is not the API server's:
its `matches()` compiles the pattern at every call (cel-go compiles a literal pattern once), which
is most of the time per pod of the policies that read scripts (init-lint, and every container
rule through `fills` and `readsFrom`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import admission_policies, mutating_policies, reviews  # noqa: E402
from webhook.core.cel import cost  # noqa: E402
from webhook.core.cel.environment import compile_expression  # noqa: E402
from webhook.core.config import Config  # noqa: E402
from webhook.native.export import POLICY_VARIABLES, Options, generate  # noqa: E402

FIXTURE = "pod-create-two-init"
ENFORCED = {"kubernetes.io/metadata.name": "demo", "initgate.io/mode": "enforce"}
LARGE_POD = cost.Bounds(items=100, chars=4096, names=63)
RULE_BOUNDS = cost.Bounds()
CONFIGS = {
    "default": Config(),
    "cookbook": Config.model_validate(
        yaml.safe_load((ROOT / "docs/rules/cookbook.yaml").read_text())
    ),
}


def _evaluate(objects: list[dict[str, Any]], request: dict[str, Any]) -> None:
    """The validating policies bound to an enforced namespace, then the mutating ones (which
    the API server runs first; here each on the pod as sent)."""
    admission_policies.validate(objects, request, ENFORCED, cached=False)
    mutating_policies.mutate(objects, request, ENFORCED, rounds=1)


def per_pod_ms(objects: list[dict[str, Any]], request: dict[str, Any], rounds: int) -> float:
    """Median milliseconds to evaluate `objects` on the request."""
    _evaluate(objects, request)  # compiles every expression once
    samples = []
    for _ in range(rounds):
        started = time.perf_counter_ns()
        _evaluate(objects, request)
        samples.append((time.perf_counter_ns() - started) / 1e6)
    return statistics.median(samples)


def expressions(policy: dict[str, Any]) -> list[tuple[str, str]]:
    spec = policy["spec"]
    return [
        *(
            (f"matchConditions.{c['name']}", c["expression"])
            for c in spec.get("matchConditions", [])
        ),
        *((f"variables.{v['name']}", v["expression"]) for v in spec.get("variables", [])),
        *(
            (f"validations[{i}].{key}", v[key])
            for i, v in enumerate(spec.get("validations", []))
            for key in ("expression", "messageExpression")
            if key in v
        ),
        *(
            (f"mutations[{i}]", m["jsonPatch"]["expression"])
            for i, m in enumerate(spec.get("mutations", []))
        ),
    ]


def estimate(text: str, bounds: cost.Bounds) -> int:
    checked = compile_expression(text).checked
    return cost.estimate(checked, variables=POLICY_VARIABLES, bounds=bounds).cost


def shown(units: int) -> str:
    return "saturated" if units >= cost.UNBOUNDED else f"{units:,}"


def report(name: str, config: Config, *, rounds: int, each: bool) -> None:
    objects = generate(config, Options(now=1.0)).objects
    # A mutating policy's companion VAP (same name) acts only in warn and audit namespaces.
    mutating = {o["metadata"]["name"] for o in objects if o["kind"] == "MutatingAdmissionPolicy"}
    policies = [
        o
        for o in objects
        if o["kind"] == "MutatingAdmissionPolicy"
        or (o["kind"] == "ValidatingAdmissionPolicy" and o["metadata"]["name"] not in mutating)
    ]
    request = admission_policies.captured(reviews.captured(FIXTURE, "validate")["request"])
    total = per_pod_ms(objects, request, rounds)
    print(f"{name}: {len(policies)} policies, {total:.2f} ms per pod ({FIXTURE}, median)")
    for policy in policies:
        binding = [
            o
            for o in objects
            if o["kind"] == f"{policy['kind']}Binding"
            and o["spec"]["policyName"] == policy["metadata"]["name"]
        ]
        alone = per_pod_ms([policy, *binding], request, max(rounds // 4, 5))
        listed = expressions(policy)
        large = [estimate(text, LARGE_POD) for _, text in listed]
        worst = [estimate(text, RULE_BOUNDS) for _, text in listed]
        costliest = listed[large.index(max(large))][0]
        print(
            f"  {policy['metadata']['name']}: {alone:.2f} ms; {len(listed)} expressions,"
            f" estimate on a large pod {shown(sum(large))} (costliest {costliest}:"
            f" {shown(max(large))}), under rules' bounds {shown(max(worst))} at most"
        )
        if each:
            for (where, _), one, two in zip(listed, large, worst, strict=True):
                print(f"    {where}: {shown(one)} / {shown(two)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds (default: 40)")
    parser.add_argument(
        "--each", action="store_true", help="every expression's estimate (default: off)"
    )
    args = parser.parse_args()
    for name, config in CONFIGS.items():
        report(name, config, rounds=args.rounds, each=args.each)
    return 0


if __name__ == "__main__":
    sys.exit(main())
