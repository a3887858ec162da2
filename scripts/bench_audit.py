"""`make bench` (audit): offline audit throughput on 10,000 generated pods.

The pods are varied the way a real cluster's are (seeded, so every run audits the same ones): zero
to three init containers, native sidecars, privileged or capability-adding init containers, missing
or partial resources, wait loops, emptyDirs with and without size limits shared between init and
app containers, service-mesh init containers. They go through the offline audit exactly as
`initgate audit -f` takes parsed manifests (`webhook.audit.offline.audit`: every object through
`webhook.core.engine.decide`, mutate then validate, report built), without the YAML parsing. 1,000
workloads of every kind are then audited the same way (each costs a template validation and the
pod its controller would create: mutate and validate).

Prints one line: `audit: N pods in S s: X pods/s (...)`, with the peak resident memory of the
process. This is a benchmark, not a test.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webhook.audit import offline  # noqa: E402
from webhook.audit.manifests import Document, Loaded, Manifest, Source  # noqa: E402
from webhook.core.config import Config  # noqa: E402
from webhook.core.plan import compile_plan  # noqa: E402

KINDS = (
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "ReplicaSet"),
    ("v1", "ReplicationController"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
)
SCRIPTS = (
    ["sh", "-c", "until nc -z db 5432; do sleep 2; done"],
    ["sh", "-c", "cp -r /src/. /data/ && chown -R 1000:1000 /data"],
    ["sh", "-c", "for i in $(seq 1 30); do nc -z cache 6379 && exit 0; sleep 1; done; exit 1"],
    ["/bin/migrate", "--wait"],
    None,
)
IMAGES = ("busybox:1.36", "alpine:3.20", "busybox", "registry.example.com/tools/init:2.3.1")


def _resources(rng: random.Random) -> dict[str, Any] | None:
    choice = rng.randrange(4)
    if choice == 0:
        return None
    if choice == 1:
        return {}
    if choice == 2:
        return {"limits": {"cpu": "200m", "memory": "128Mi"}}
    return {"requests": {"cpu": "50m"}, "limits": {"memory": "64Mi"}}


def _init(rng: random.Random, index: int) -> dict[str, Any]:
    container: dict[str, Any] = {"name": f"init-{index}", "image": rng.choice(IMAGES)}
    if (command := rng.choice(SCRIPTS)) is not None:
        container["command"] = command
    if (resources := _resources(rng)) is not None:
        container["resources"] = resources
    roll = rng.random()
    if roll < 0.05:
        container["securityContext"] = {"privileged": True}
    elif roll < 0.1:
        container["securityContext"] = {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}
        container["image"] = "docker.io/istio/proxyv2:1.24.0"
    elif roll < 0.15:
        container["restartPolicy"] = "Always"
    if rng.random() < 0.6:
        container["volumeMounts"] = [{"name": "work", "mountPath": "/data"}]
    return container


def pod_spec(rng: random.Random) -> dict[str, Any]:
    """One varied pod spec."""
    app: dict[str, Any] = {
        "name": "app",
        "image": "registry.example.com/app:1.0",
        "volumeMounts": [{"name": "work", "mountPath": "/srv"}],
    }
    if (resources := _resources(rng)) is not None:
        app["resources"] = resources
    work: dict[str, Any] = {"emptyDir": {"sizeLimit": "1Gi"} if rng.random() < 0.3 else {}}
    spec: dict[str, Any] = {
        "containers": [app],
        "volumes": [{"name": "work", **work}, {"name": "config", "configMap": {"name": "cfg"}}],
    }
    inits = [_init(rng, i) for i in range(rng.randrange(4))]
    if inits:
        spec["initContainers"] = inits
    return spec


def generate(pods: int, workloads: int, seed: int) -> tuple[Loaded, Loaded]:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    pod_docs, workload_docs = Loaded(), Loaded()
    for number in range(pods):
        obj = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": f"pod-{number}", "namespace": f"team-{number % 40}"},
            "spec": pod_spec(rng),
        }
        _add(pod_docs, obj, number)
    for number in range(workloads):
        api_version, kind = KINDS[number % len(KINDS)]
        template = {"metadata": {"labels": {"app": f"w{number}"}}, "spec": pod_spec(rng)}
        spec: dict[str, Any] = {
            "selector": {"matchLabels": {"app": f"w{number}"}},
            "template": template,
        }
        if kind == "CronJob":
            spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
        obj = {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": f"w-{number}", "namespace": f"team-{number % 40}"},
            "spec": spec,
        }
        _add(workload_docs, obj, number)
    return pod_docs, workload_docs


def _add(loaded: Loaded, obj: dict[str, Any], number: int) -> None:
    source = Source("generated.yaml", number + 1, None)
    loaded.documents.append(Document(source, "", obj, [Manifest(obj, source)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--workloads", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    plan = compile_plan(Config())
    pods, workloads = generate(args.pods, args.workloads, args.seed)
    offline.audit(pods, plan, namespace="default")  # warm-up: caches, lazy imports

    started = time.perf_counter()
    report = offline.audit(pods, plan, namespace="default")
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    templates = offline.audit(workloads, plan, namespace="default")
    workload_seconds = time.perf_counter() - started

    if (len(report.objects), len(templates.objects)) != (args.pods, args.workloads):
        raise SystemExit("bench_audit: not every object was audited")
    findings = sum(len(o.items) for o in report.objects)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"audit: {args.pods} pods in {seconds:.2f} s: {args.pods / seconds:,.0f} pods/s "
        f"({findings} findings; {args.workloads} workloads: "
        f"{args.workloads / workload_seconds:,.0f}/s; peak RSS {peak:.0f} MiB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
