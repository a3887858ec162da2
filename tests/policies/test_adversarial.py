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
    from webhook.config import Config
    from webhook.engine import decide
    from webhook.objects import Request
    from webhook.plan import compile_plan

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


def test_every_policy_reads_crafted_scripts_and_images_in_linear_time() -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, *UNITS, str(SIZE)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as stuck:
        out = stuck.stdout or b""
        finished = (out.decode() if isinstance(out, bytes) else out).splitlines()
        after = finished[-1] if finished else "none"
        pytest.fail(f"stuck on the unit after {after}: a pattern slower than linear")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [repr(unit) for unit in UNITS]
