"""Scripts and images a client chooses, megabytes of them, built to make pattern matching slow.

Every heuristic must take time linear in what it reads: one quadratic pattern turns a single pod of
a few hundred KiB into minutes of a blocked event loop, for every admission request in the
cluster. These inputs are large enough that a quadratic pattern would run for minutes, so the suite
would hang (and the child process below is stopped after a minute) instead of passing; a linear
one finishes in milliseconds. Not a measure of speed (that is `make bench`).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Repeated units that once made a pattern rescan: `tail` (tail ... -f), digits (2>&1 redirections),
# assignments and keywords (a loop that sliced word lists), whitespace after loop keywords.
UNITS = [
    "tail ", "tail -", "1", "a=1 ", "do ", "until ", "while true  ", "; ", "\n", " ", "\t",
    "'' ", '"$(', "$((", "((", "2>", "> ", "<<E\n", "echo ", "sleep ", "for ", "-exec ", "\\",
    "#", "``", "sh -c ", "(", ")", "timeout", "&&", "|",
]  # fmt: skip
SIZE = 512 * 1024

CHILD = textwrap.dedent(
    """
    import sys
    from webhook.core.config import Config
    from webhook.core.engine import decide
    from webhook.core.objects import Request
    from webhook.core.plan import compile_plan

    units, size = sys.argv[1:-1], int(sys.argv[-1])
    plan = compile_plan(Config())
    mount = [{"name": "data", "mountPath": "/data"}]
    def pod(script):
        init = [
            {"name": "sh", "image": "busybox:1.36", "command": ["sh", "-c", script],
             "volumeMounts": mount},
            {"name": "exec", "image": "docker.io/" + script, "command": ["run", script],
             "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}},
        ]
        spec = {
            "initContainers": init,
            "containers": [{"name": "app", "image": "app:1", "volumeMounts": mount}],
            "volumes": [{"name": "data", "emptyDir": {}}],
        }
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}

    for unit in units:
        script = unit * (size // len(unit))
        for webhook in ("mutate", "validate"):
            decision = decide(Request(pod(script), namespace="shop"), plan, webhook=webhook)
            assert not decision.errors, decision.errors
        print(repr(unit), flush=True)
    """
)


def finished(child: str, *args: str) -> list[str]:
    """What the child printed, each line once a case was done; a failure names the case it was
    stuck on after a minute (linear code needs seconds)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", child, *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as stuck:
        out = stuck.stdout or b""
        lines = (out.decode() if isinstance(out, bytes) else out).splitlines()
        pytest.fail(f"stuck after {lines[-1] if lines else 'nothing'}: slower than linear")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_every_policy_reads_crafted_scripts_and_images_in_linear_time() -> None:
    assert finished(CHILD, *UNITS, str(SIZE)) == [repr(unit) for unit in UNITS]


WIDE = textwrap.dedent(
    """
    import sys
    from webhook.core.config import Config
    from webhook.core.engine import decide
    from webhook.core.objects import Request
    from webhook.core.plan import compile_plan

    n = int(sys.argv[1])
    plan = compile_plan(Config())
    copy = ["sh", "-c", "cp -r /seed/. /data"]

    def mounts(*names):
        return [{"name": name, "mountPath": f"/data/{name}"} for name in names]

    shapes = {
        # Thousands of app containers: a patch operation each, merged into one patch.
        "apps": {
            "initContainers": [{"name": "i", "image": "b:1", "command": copy,
                                "volumeMounts": mounts("v")}],
            "containers": [{"name": f"c{k}", "image": "a:1", "volumeMounts": mounts("v")}
                           for k in range(n)],
            "volumes": [{"name": "v", "emptyDir": {}}],
        },
        # Thousands of writers of one volume, and as many readers running the same program.
        "writers": {
            "initContainers": [{"name": f"i{k}", "image": "b:1", "command": copy,
                                "volumeMounts": mounts("v")} for k in range(n)],
            "containers": [{"name": f"c{k}", "image": "b:1", "command": copy,
                            "volumeMounts": mounts("v")} for k in range(n)],
            "volumes": [{"name": "v", "emptyDir": {}}],
        },
        # Thousands of emptyDirs, each with a writer and a reader that sets limits.
        "volumes": {
            "initContainers": [{"name": f"i{k}", "image": "b:1", "volumeMounts": mounts(f"v{k}")}
                               for k in range(n)],
            "containers": [{"name": f"c{k}", "image": "a:1", "volumeMounts": mounts(f"v{k}"),
                            "resources": {"limits": {"memory": "1Gi"}}} for k in range(n)],
            "volumes": [{"name": f"v{k}", "emptyDir": {}} for k in range(n)],
        },
        # One init container adding tens of thousands of capabilities and writing as many
        # hostPaths (each finding once: compared with every finding before, 40,000 took minutes).
        "privileges": {
            "initContainers": [{"name": "i", "image": "b:1",
                                "securityContext": {"capabilities": {
                                    "add": [f"CAP_{k}" for k in range(4 * n)]}},
                                "volumeMounts": mounts(*(f"h{k}" for k in range(4 * n)))}],
            "containers": [{"name": "a", "image": "a:1"}],
            "volumes": [{"name": f"h{k}", "hostPath": {"path": f"/h{k}"}} for k in range(4 * n)],
        },
        # One container mounting thousands of volumes nobody reads.
        "mounts": {
            "initContainers": [{"name": "i", "image": "b:1", "command": copy,
                                "volumeMounts": mounts(*(f"v{k}" for k in range(n)))}],
            "containers": [{"name": "a", "image": "a:1"}],
            "volumes": [{"name": f"v{k}", "emptyDir": {}} for k in range(n)],
        },
    }
    for shape, spec in shapes.items():
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}
        for webhook in ("mutate", "validate"):
            decision = decide(Request(pod, namespace="shop"), plan, webhook=webhook)
            assert not decision.errors, decision.errors
        print(shape, flush=True)
    """
)


def test_pods_with_thousands_of_containers_and_volumes_in_linear_time() -> None:
    """A pod may hold tens of thousands of containers and volumes within the API server's size
    limit. At this size a check that compares each container with every other runs for many
    minutes; a linear one takes a second or two."""
    assert finished(WIDE, "10000") == ["apps", "writers", "volumes", "privileges", "mounts"]
