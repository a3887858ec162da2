"""`initgate review FILE`: one object judged offline, as the API server chains the webhooks.

Input is read as `audit -f` reads it (one document, a List, JSON or an AdmissionReview); more than
one object is refused with a line that names `audit -f`, so that nothing given is left unjudged.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import ValidationError

from policies.base import Mode
from webhook.audit.manifests import load
from webhook.audit.options import USAGE_ERROR
from webhook.core.chain import as_review, chain
from webhook.core.config import ConfigError, load_config
from webhook.core.configerrors import path
from webhook.core.engine import Decision
from webhook.core.plan import compile_plan


def review(file: str, *, config: Path | None, mode: Mode, namespace: str) -> int:
    """Print both answers for the object in `file` (`-`: standard input); the exit status."""

    def refuse(message: str) -> int:
        print(f"initgate review: {message}", file=sys.stderr)
        return USAGE_ERROR

    try:
        plan = compile_plan(load_config(config))
    except ConfigError as error:
        return refuse(str(error))
    loaded = load([file], stdin=sys.stdin)
    for problem in loaded.problems:
        refuse(problem.display)
    if loaded.problems:
        return USAGE_ERROR
    manifests = list(loaded.manifests)
    name = "<stdin>" if file == "-" else file
    if len(manifests) != 1:
        return refuse(
            f"{name} holds {len(manifests)} objects; review judges one at a time: "
            f"use `initgate audit -f {file}` to judge them all"
        )
    try:
        incoming = as_review(manifests[0].obj, namespace=namespace)
    except ValidationError as error:
        problems = "; ".join(
            f"{path(item['loc'])}: {item['msg']}" for item in error.errors(include_url=False)
        )
        return refuse(f"{manifests[0].source.display}: not a valid AdmissionReview: {problems}")
    result = chain(incoming, plan, cap=mode)
    request = incoming.request
    if result.validate_decision.reason == "unhandled":
        return refuse(
            f"{request.kind.kind} is not judged by initgate, which judges Pods and the workloads "
            "that create them: the webhook configurations do not send it (audit -f counts it "
            "among the objects not audited)"
        )
    print(json.dumps({"mutate": result.mutate, "validate": result.validate}, indent=2))
    for webhook, decision in (
        ("mutate", result.mutate_decision),
        ("validate", result.validate_decision),
    ):
        for note in _notes(decision):
            print(f"initgate review: note: {webhook}: {note}", file=sys.stderr)
    return 0 if result.validate["response"]["allowed"] else 1


def _notes(decision: Decision) -> list[str]:
    """What the answers do not say: why a request was not judged, which exemption spared what,
    and why a policy or rule could not evaluate (the answer only says that it could not)."""
    if decision.outcome in ("skipped", "exempt"):
        by = f": {', '.join(decision.exemptions)}" if decision.exemptions else ""
        return [f"{decision.outcome} ({decision.reason}{by})"]
    notes = [
        f"{policy} exempt: {', '.join(labels)}" for policy, labels in decision.exempted.items()
    ]
    notes += [
        f"{e.policy} could not evaluate: {e.location + ': ' if e.location else ''}{e.error}"
        for e in decision.errors
    ]
    return notes
