"""Auditing manifests, and printing them as the mutating webhook would leave them.

`mutate` prints every document in its original order, each as its own text with the changes
written in (`webhook.audit.splice`): comments, key order, quoting and layout stay; a document that
could not be parsed is printed as it was, so that nothing is dropped from a file that is piped back
into `kubectl apply`. Its diffs apply to the files they were made from.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from policies.base import Mode, PatchOp
from webhook.audit.evaluate import Audited, Target, evaluate
from webhook.audit.manifests import Document, Loaded, Manifest, namespace_of
from webhook.audit.report import Report
from webhook.audit.splice import Edit, SpliceError, apply_edits, splice
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


@dataclass(slots=True)
class Mutated:
    """One document before and after: the patch of each object that changed in it, and the same
    change as edits of the document's own text (or why it could not be written so)."""

    document: Document
    after: Any
    patches: list[tuple[Manifest, Audited, list[PatchOp]]]
    edits: list[Edit] = field(default_factory=list)
    unwritable: str = ""
    held: list[Audited] = field(default_factory=list)
    """Workloads whose pods would be changed, left as they are (`templates` off)."""
    unjudged: list[Audited] = field(default_factory=list)
    """Objects initgate does not judge (neither pods nor workloads)."""

    @property
    def changed(self) -> bool:
        return bool(self.patches)


def mutate(
    loaded: Loaded, plan: Plan, *, namespace: str, cap: Mode = Mode.ENFORCE, templates: bool
) -> list[Mutated]:
    """Every document as the mutating webhook would leave it: Pods get their patch, and with
    `templates` each workload's pod template gets what its pods would get, ready to be committed;
    without it, workloads are left as the webhook leaves them (it only patches pods)."""
    results = {id(m): a for m, a in audit_loaded(loaded, plan, namespace=namespace, cap=cap)}
    mutated: list[Mutated] = []
    for document in loaded.documents:
        entry = Mutated(document, document.data, [])
        moved: list[PatchOp] = []
        for manifest in document.manifests:
            audited = results[id(manifest)]
            if audited.outcome == "skipped":
                entry.unjudged.append(audited)
            if not audited.patch:
                continue
            if audited.kind != "Pod" and not templates:
                entry.held.append(audited)
                continue
            entry.patches.append((manifest, audited, audited.patch))
            moved += [
                {"op": op["op"], "path": manifest.pointer + op["path"], "value": op["value"]}
                for op in audited.patch
            ]
        if moved:
            entry.after = apply(document.data, moved)
            try:
                entry.edits = splice(document.text, ops=moved, is_json=document.is_json)
            except SpliceError as error:
                entry.unwritable = str(error)
        mutated.append(entry)
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
    """The documents as one YAML stream, in their original order (empty documents dropped), each
    its own text with the changes written in; one whose change could not be written so (see
    `Mutated.unwritable`) is printed as YAML, its content right and its comments lost."""
    parts: list[str] = []
    for entry in mutated:
        document = entry.document
        if document.data is None and document.problem is None:
            continue
        if entry.unwritable:
            parts.append(dump(entry.after))
        else:
            parts.append(_verbatim(apply_edits(document.text, entry.edits)))
    return "---\n".join(parts)


def _verbatim(text: str) -> str:
    """A document's text without the blanked `---` line it began with."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[0].strip():
        lines.pop(0)
    return "".join(lines).rstrip("\n") + "\n"


def changed_files(mutated: list[Mutated], texts: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each file with a change: its text before and after (documents whose change could not be
    written into the text are left as they were: see `Mutated.unwritable`)."""
    edits: dict[str, list[Edit]] = {}
    for entry in mutated:
        if not entry.edits:
            continue
        document = entry.document
        text = texts[document.source.file]
        start = _line_start(text, document.first)
        edits.setdefault(document.source.file, []).extend(
            Edit(e.start + start, e.end + start, e.new) for e in entry.edits
        )
    return {name: (texts[name], apply_edits(texts[name], found)) for name, found in edits.items()}


def _line_start(text: str, line: int) -> int:
    index = 0
    for _ in range(line):
        index = text.index("\n", index) + 1
    return index


def diff(mutated: list[Mutated], texts: dict[str, str]) -> str:
    """A unified diff of each changed file, that `patch -p1` and `git apply` apply to it."""
    chunks: list[str] = []
    for name, (before, after) in changed_files(mutated, texts).items():
        label = "<stdin>" if name == "-" else name
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{label}",
            tofile=f"b/{label}",
        )
        # A last line without a newline: said the way diff says it, for patch to apply.
        chunks.extend(
            line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n"
            for line in lines
        )
    return "".join(chunks)


def summary(mutated: list[Mutated]) -> str:
    """One line: what changed, and what was not changed or not judged, and why."""
    changed = sum(len(entry.patches) for entry in mutated)
    objects = sum(len(entry.document.manifests) for entry in mutated)
    parts = [f"{changed} of {objects} objects changed"]
    held = [a for entry in mutated for a in entry.held]
    if held:
        parts.append(
            f"{len(held)} workloads left as they are whose pods would be patched "
            "(--no-templates; drop it to write their templates)"
        )
    unjudged = Counter(a.kind for entry in mutated for a in entry.unjudged)
    if unjudged:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(unjudged.items()))
        parts.append(f"not judged (initgate judges pods and workloads): {kinds}")
    return "; ".join(parts)


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
