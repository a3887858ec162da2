"""One template document from its variants for each Kubernetes minor version: where an object
differs between versions, a mark choosing by `.Capabilities.KubeVersion`; and every static text
that holds a user rule's placeholders computed by the template (webhook/native/chart_rules.py)."""

from __future__ import annotations

from typing import Any

from webhook.native.chart_documents import Document, Emitter
from webhook.native.compiling import GenerationError

_KUBERNETES = "$.Capabilities.KubeVersion.Version"


def versions(emitter: Emitter, variants: list[tuple[int, list[Document]]]) -> list[Document]:
    """One list of documents from their variants for each Kubernetes minor version (oldest
    first): where an object differs, a mark choosing by `.Capabilities.KubeVersion`."""
    newest = variants[-1][1]
    if any([d.kind for d in docs] != [d.kind for d in newest] for _, docs in variants):
        raise GenerationError("objects that only some Kubernetes versions have (chart.py)")
    return [
        Document(
            doc.kind,
            doc.preface,
            doc.condition,
            _computed(_merged(emitter, [(m, docs[i].obj) for m, docs in variants]), emitter),
        )
        for i, doc in enumerate(newest)
    ]


def _merged(emitter: Emitter, variants: list[tuple[int, Any]]) -> Any:
    values = [value for _, value in variants]
    first = values[0]
    if all(value == first for value in values):
        return first
    if all(isinstance(v, dict) and v.keys() == first.keys() for v in values):
        return {key: _merged(emitter, [(m, v[key]) for m, v in variants]) for key in first}
    if all(isinstance(v, list) and len(v) == len(first) for v in values):
        return [_merged(emitter, [(m, v[i]) for m, v in variants]) for i in range(len(first))]
    if all(isinstance(v, str) and emitter.marks.get(v) is None for v in values):
        chosen = emitter.go(first)
        for (minor, value), (_, before) in zip(variants[1:], variants, strict=False):
            if value != before:
                since = f'semverCompare ">=1.{minor}.0-0" {_KUBERNETES}'
                chosen = f"ternary {emitter.go(value)} ({chosen}) ({since})"
        return emitter.marks.scalar(f"{chosen} | toJson")
    raise GenerationError(f"a value that differs by Kubernetes version in its shape: {first!r}")


def _computed(node: Any, emitter: Emitter) -> Any:
    """`node` with every static text that holds placeholders computed by the template."""
    if isinstance(node, dict):
        return {key: _computed(value, emitter) for key, value in node.items()}
    if isinstance(node, list):
        return [_computed(item, emitter) for item in node]
    if isinstance(node, str) and emitter.marks.get(node) is None:
        computed = emitter.computed(node)
        if computed is not None:
            return emitter.marks.scalar(f"{computed} | toJson")
    return node
