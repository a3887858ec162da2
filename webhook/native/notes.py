"""What the generated policies do not carry, and why: the notes `initgate export
admission-policies` prints on standard error (the objects go to standard output)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from policies import REGISTRY
from policies.base import Mode
from policies.policy import Exemptions, ImageExemption, expiry_time
from webhook.core.config import Config
from webhook.native.literals import glob_of, mode

MAP_RELEASE = (1, 36)
"""MutatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from Kubernetes 1.36."""


def left_to_the_webhook(
    config: Config, kubernetes: tuple[int, int], generated: Collection[str]
) -> list[str]:
    """The built-in policies no generated policy carries (and that are not off)."""
    notes = []
    for policy in REGISTRY:
        if policy.id in generated or mode(config, config.policy(policy.id)) is Mode.OFF:
            continue
        if policy.kind == "mutate" and kubernetes < MAP_RELEASE:
            why = "MutatingAdmissionPolicy is GA from Kubernetes 1.36; keep the mutating webhook"
        else:
            why = "no admission policy is generated for it yet; keep the webhook for it"
        notes.append(f"{policy.id}: not generated: {why}")
    return notes


def exemptions(listed: Sequence[tuple[str, Exemptions]], now: float) -> list[str]:
    """Notes on the exemptions (`listed`: each list with its place in the configuration) that
    the generated policies carry otherwise: one that has ended is left out; one that will end
    stays in the generated policies until they are generated again, since CEL has no clock; a
    glob's `[...]` is matched literally (`literals.glob_regex`)."""
    notes = []
    for prefix, exemptions in listed:
        kinds: tuple[tuple[str, Sequence[Any]], ...] = (
            ("namespaces", exemptions.namespaces),
            ("users", exemptions.users),
            ("groups", exemptions.groups),
            ("images", exemptions.images),
        )
        for kind, entries in kinds:
            for index, entry in enumerate(entries):
                what = entry.image if isinstance(entry, ImageExemption) else glob_of(entry)
                where = f"{prefix}.{kind}[{index}] ({what})"
                globs = (
                    [what, *(entry.allow or ()), *entry.namespaces]
                    if isinstance(entry, ImageExemption)
                    else [what]
                )
                if any("[" in glob for glob in globs):
                    notes.append(f"{where}: `[` is matched literally, not as a class of characters")
                if isinstance(entry, str) or not entry.expires:
                    continue
                if now >= expiry_time(entry.expires):
                    notes.append(f"{where}: ended {entry.expires}, left out; remove it")
                else:
                    notes.append(
                        f"{where}: ends {entry.expires}; the generated policies keep it until "
                        "they are generated again (CEL has no clock): export again by then"
                    )
    return notes
