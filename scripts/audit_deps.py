"""Audit initgate's runtime dependencies for known vulnerabilities (`make audit-deps`, run by
`make test`).

What is audited: requirements.lock, the hash-pinned set the image is built from, when it exists;
else the runtime dependencies installed here (initgate's requirements, recursively, without the dev
extra). The vulnerability data comes from PyPI through pip-audit.

Exit status: 1 when a known vulnerability is found (each is printed with its fixed versions), else
0. The last line is the verdict, which `make test` repeats in its summary: `FAILED: ...`,
`PASSED: ...`, or `SKIPPED: ...` when no vulnerability data could be reached (no network, or the
service knows none of the packages): then nothing was checked, and the script exits 0 so that
`make test` works on a machine without network access, but says so. A partial audit (some
packages unknown) passes with a WARNING naming them. Run it where PyPI is reachable to get a real
answer.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
SKIPPED = "SKIPPED"
TIMEOUT = 600  # seconds for the whole audit; pip-audit's own socket timeout is shorter


@dataclass
class Verdict:
    """What to print, and the exit status."""

    status: int
    lines: list[str] = field(default_factory=list)


def runtime_pins(project: str = "initgate") -> list[str]:
    """`name==version` of every runtime dependency of `project` installed here, recursively."""
    versions: dict[str, str] = {}
    pending = [project]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in versions:
            continue
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # excluded by a marker here (uvloop on Windows)
        versions[name] = distribution.version
        # Extras are not followed: `initgate[dev]` is not what runs in the image.
        pending.extend(
            requirement.name
            for requirement in map(Requirement, distribution.requires or [])
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""})
        )
    versions.pop(canonicalize_name(project), None)
    return [f"{name}=={version}" for name, version in sorted(versions.items())]


def judge(returncode: int, stdout: str, stderr: str) -> Verdict:
    """Read pip-audit's JSON report (or its failure)."""
    try:
        report = json.loads(stdout)
    except ValueError:
        lines = [line for line in stderr.splitlines() if line.strip()]
        reason = lines[-1] if lines else f"pip-audit exited with {returncode} and no report"
        return Verdict(
            0,
            [
                "WARNING: the dependency audit could not run (is the vulnerability service "
                "reachable from here?):",
                f"  {reason}",
                f"{SKIPPED}: no vulnerability data could be reached, nothing was checked; run "
                "`make audit-deps` with network access to PyPI.",
            ],
        )
    found: list[str] = []
    skipped: dict[str, list[str]] = {}
    audited = 0
    for dependency in report.get("dependencies", []):
        name, version = dependency.get("name", "?"), dependency.get("version", "?")
        if dependency.get("skip_reason"):
            # The reason is followed by ": NAME (VERSION)"; grouped by reason, named once.
            reason = str(dependency["skip_reason"]).split(":")[0]
            skipped.setdefault(reason, []).append(name)
            continue
        audited += 1
        for vulnerability in dependency.get("vulns", []):
            aliases = ", ".join(vulnerability.get("aliases") or [])
            fixed = ", ".join(vulnerability.get("fix_versions") or []) or "no fixed release yet"
            also = f" ({aliases})" if aliases else ""
            found.append(f"  {name} {version}: {vulnerability['id']}{also}; fixed in {fixed}")
    verdict = Verdict(1 if found else 0)
    for reason, names in skipped.items():
        verdict.lines += [
            f"WARNING: {len(names)} of {len(names) + audited} packages could not be audited "
            f"({reason}):",
            *textwrap.wrap(", ".join(names), initial_indent="  ", subsequent_indent="  "),
        ]
    if found:
        verdict.lines += [
            f"{len(found)} known vulnerabilities:",
            *found,
            f"FAILED: {len(found)} known vulnerabilities in {audited} audited packages",
        ]
    elif audited:
        unknown = sum(len(names) for names in skipped.values())
        partial = f"; {unknown} could not be audited" if unknown else ""
        verdict.lines.append(
            f"PASSED: no known vulnerabilities in {audited} audited packages{partial}"
        )
    else:
        reasons = "; ".join(skipped) or "the report lists no package"
        verdict.lines.append(
            f"{SKIPPED}: no package could be audited ({reasons}), nothing was checked; run "
            "`make audit-deps` with network access to PyPI."
        )
    return verdict


def audit(requirements: Path, *, hashed: bool) -> Verdict:
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(requirements)]
    command += ["--format", "json", "--progress-spinner", "off", "--timeout", "15"]
    # Nothing is resolved or installed: the file already lists every package, pinned.
    command += ["--disable-pip", "--require-hashes" if hashed else "--no-deps"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return judge(-1, "", f"pip-audit took more than {TIMEOUT} s")
    return judge(done.returncode, done.stdout, done.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lock", type=Path, default=LOCK, help="hash-pinned requirements file")
    args = parser.parse_args(argv)
    if args.lock.exists():
        print(f"auditing {args.lock} (hash-pinned)")
        verdict = audit(args.lock, hashed=True)
    else:
        pins = runtime_pins()
        print(
            f"{args.lock} not found: auditing the {len(pins)} runtime dependencies installed here"
        )
        with tempfile.TemporaryDirectory(prefix="initgate-audit-") as folder:
            requirements = Path(folder, "requirements.txt")
            requirements.write_text("\n".join(pins) + "\n")
            verdict = audit(requirements, hashed=False)
    for line in verdict.lines:
        print(line)
    return verdict.status


if __name__ == "__main__":
    sys.exit(main())
