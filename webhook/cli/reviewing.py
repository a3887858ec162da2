"""`initgate review FILE`: objects judged offline, as the API server chains the webhooks.

Input is read as `audit -f` reads it (documents, a List, JSON or an AdmissionReview). A manifest
gets a readable verdict per object (`webhook.cli.verdicts`); an AdmissionReview, or `-o json`, the
two AdmissionReview answers as the webhook sends them, which only one object can have: more are
refused with a line that names `-o text` and `audit -f`, so that nothing given is left unjudged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from policies.base import Mode
from webhook.audit.manifests import Manifest, load
from webhook.audit.options import USAGE_ERROR
from webhook.cli.verdicts import render
from webhook.core import review as wire
from webhook.core.chain import Chained, as_review, chain
from webhook.core.config import ConfigError, load_config
from webhook.core.configerrors import path
from webhook.core.engine import Decision
from webhook.core.plan import compile_plan

Output = Literal["text", "json"]


def review(
    file: str, *, config: Path | None, mode: Mode, namespace: str, output: Output | None = None
) -> int:
    """Print the verdict on each object in `file` (`-`: standard input); the exit status: 0 all
    admitted, 1 one denied, 2 input that cannot be judged."""

    def refuse(message: str) -> int:
        print(f"initgate review: {message}", file=sys.stderr)
        return USAGE_ERROR

    try:
        plan = compile_plan(load_config(config))
    except ConfigError as error:
        return refuse(str(error))
    read = _read(file, namespace)
    if isinstance(read, list) and not read:
        return USAGE_ERROR  # each problem is said already
    if isinstance(read, str):
        return refuse(read)
    as_json = output == "json" or (
        output is None and any(m.obj.get("kind") == wire.KIND for m, _ in read)
    )
    if as_json and len(read) != 1:
        return refuse(
            f"{_name(file)} holds {len(read)} objects; the AdmissionReview answers (-o json) are "
            f"one object's: use -o text, or `initgate audit -f {file} -o json`, to judge them all"
        )
    judged = [(incoming, chain(incoming, plan, cap=mode)) for _, incoming in read]
    unhandled = [r for r, c in judged if c.validate_decision.reason == "unhandled"]
    if len(unhandled) == len(judged):
        kinds = ", ".join(dict.fromkeys(r.request.kind.kind for r in unhandled))
        return refuse(
            f"{kinds} is not judged by initgate, which judges Pods and the workloads that create "
            "them: the webhook configurations do not send it (audit -f counts it among the "
            "objects not audited)"
        )
    if as_json:
        _print_json(judged[0][1])
    else:
        print("\n".join(render(incoming, chained, plan) for incoming, chained in judged), end="")
    return 1 if any(not c.validate["response"]["allowed"] for _, c in judged) else 0


def _name(file: str) -> str:
    return "<stdin>" if file == "-" else file


def _read(file: str, namespace: str) -> list[tuple[Manifest, wire.AdmissionReview]] | str:
    """Each object of `file` as the review the API server would send; what is wrong with the
    input instead (its problems are printed, and the list is empty)."""
    loaded = load([file], stdin=sys.stdin)
    for problem in loaded.problems:
        print(f"initgate review: {problem.display}", file=sys.stderr)
    if loaded.problems:
        return []
    manifests = list(loaded.manifests)
    if not manifests:
        return f"{_name(file)} holds no object"
    read: list[tuple[Manifest, wire.AdmissionReview]] = []
    for manifest in manifests:
        try:
            read.append((manifest, as_review(manifest.obj, namespace=namespace)))
        except ValidationError as error:
            problems = "; ".join(
                f"{path(item['loc'])}: {item['msg']}" for item in error.errors(include_url=False)
            )
            return f"{manifest.source.display}: not a valid AdmissionReview: {problems}"
    return read


def _print_json(result: Chained) -> None:
    print(json.dumps({"mutate": result.mutate, "validate": result.validate}, indent=2))
    for webhook, decision in (
        ("mutate", result.mutate_decision),
        ("validate", result.validate_decision),
    ):
        for note in notes(decision):
            print(f"initgate review: note: {webhook}: {note}", file=sys.stderr)


def notes(decision: Decision) -> list[str]:
    """What the answers do not say: why a request was not judged, which exemption spared what,
    and why a policy or rule could not evaluate (the answer only says that it could not)."""
    if decision.outcome in ("skipped", "exempt"):
        by = f": {', '.join(decision.exemptions)}" if decision.exemptions else ""
        return [f"{decision.outcome} ({decision.reason}{by})"]
    found = [
        f"{policy} exempt: {', '.join(labels)}" for policy, labels in decision.exempted.items()
    ]
    found += [
        f"{e.policy} could not evaluate: {e.location + ': ' if e.location else ''}{e.error}"
        for e in decision.errors
    ]
    return found
