"""Auditing manifests, and printing them as the mutating webhook would leave them.

`mutate` prints every document in its original order. Parsed documents are printed back as YAML
(comments are lost; the content is the same); a document that could not be parsed is printed as it
was, so that nothing is dropped from a file that is piped back into `kubectl apply`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from policies.base import Mode, PatchOp
from webhook.audit.evaluate import Audited, Target, evaluate
from webhook.audit.manifests import Document, Loaded, Manifest, namespace_of
from webhook.audit.report import Report
from webhook.core.chain import OFFLINE_USER
from webhook.core.patch import apply
from webhook.core.plan import Plan


def audit_loaded(
    loaded: Loaded, plan: Plan, *, namespace: str, cap: Mode = Mode.ENFORCE
) -> Iterator[tuple[Manifest, Audited]]:
    """Each manifest with what admission would make of it."""
    for manifest in loaded.manifests:
        target = Target(
            obj=manifest.obj,
            namespace=namespace_of(manifest.obj, namespace),
            cap=cap,
            username=OFFLINE_USER,
            source=manifest.source,
            locate=manifest.locate,
        )
        yield manifest, evaluate(target, plan)


def audit(loaded: Loaded, plan: Plan, *, namespace: str, cap: Mode = Mode.ENFORCE) -> Report:
    report = Report(problems=list(loaded.problems))
    for _, audited in audit_loaded(loaded, plan, namespace=namespace, cap=cap):
        report.add(audited)
    return report


@dataclass(frozen=True, slots=True)
class Mutated:
    """One document before and after, and the patch of each object that changed in it."""

    document: Document
    after: Any
    patches: list[tuple[Manifest, Audited, list[PatchOp]]]

    @property
    def changed(self) -> bool:
        return bool(self.patches)


def mutate(
    loaded: Loaded, plan: Plan, *, namespace: str, cap: Mode = Mode.ENFORCE, templates: bool
) -> list[Mutated]:
    """Every document as the mutating webhook would leave it. Pods get their patch; workloads
    are left as they are (the webhook only patches pods), unless `templates`: then their pod
    template gets what each of their pods would get, ready to be committed."""
    results = {id(m): a for m, a in audit_loaded(loaded, plan, namespace=namespace, cap=cap)}
    mutated: list[Mutated] = []
    for document in loaded.documents:
        after = document.data
        patches = []
        for manifest in document.manifests:
            audited = results[id(manifest)]
            if not audited.patch or (audited.kind != "Pod" and not templates):
                continue
            patches.append((manifest, audited, audited.patch))
            moved: list[PatchOp] = [
                {"op": op["op"], "path": manifest.pointer + op["path"], "value": op["value"]}
                for op in audited.patch
            ]
            after = apply(after, moved)
        mutated.append(Mutated(document, after, patches))
    return mutated


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings: scripts stay readable in Git."""


def _string(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _string)


def dump(data: Any) -> str:
    """YAML in the order the keys came, wide lines unfolded."""
    text: str = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
    return text


def render(mutated: list[Mutated]) -> str:
    """The documents as one YAML stream, in their original order (empty documents dropped)."""
    parts: list[str] = []
    for entry in mutated:
        document = entry.document
        if document.data is None and document.problem is None:
            continue
        if document.data is None:
            parts.append(_verbatim(document.text))
        else:
            parts.append(dump(entry.after))
    return "---\n".join(parts)


def _verbatim(text: str) -> str:
    """A document's text without the blanked `---` line it began with."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[0].strip():
        lines.pop(0)
    return "".join(lines).rstrip("\n") + "\n"


def diff(mutated: list[Mutated]) -> str:
    """A unified diff per changed document, between its YAML before and after."""
    chunks: list[str] = []
    for entry in mutated:
        if not entry.changed:
            continue
        source = entry.document.source
        name = "<stdin>" if source.file == "-" else source.file
        label = f"{name} (document {source.document})"
        chunks.extend(
            difflib.unified_diff(
                dump(entry.document.data).splitlines(keepends=True),
                dump(entry.after).splitlines(keepends=True),
                fromfile=f"a/{label}",
                tofile=f"b/{label}",
            )
        )
    return "".join(chunks)


def patches(mutated: list[Mutated]) -> list[dict[str, Any]]:
    """The JSON Patch of each changed object, relative to the object itself."""
    return [
        {
            "file": manifest.source.file,
            "document": manifest.source.document,
            "item": manifest.source.item,
            "apiVersion": audited.api_version,
            "kind": audited.kind,
            "namespace": audited.namespace,
            "name": audited.name,
            "patch": ops,
        }
        for entry in mutated
        for manifest, audited, ops in entry.patches
    ]
