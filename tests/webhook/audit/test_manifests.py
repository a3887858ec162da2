"""Reading manifests: documents split and numbered as YAML numbers them, lines from the file, Lists
expanded, broken documents reported while the others are read."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from webhook.audit.manifests import Problem, Source, files_of, load, split

DATA = Path(__file__).resolve().parents[2] / "data" / "manifests"


def _rel(path: Path) -> str:
    return str(path.relative_to(DATA))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\n", [(0, "a: 1\n")]),
        ("---\na: 1\n", [(0, "   \na: 1\n")]),
        (
            "# comment\n---\na: 1\n---\n---\nb: 2\n",
            [(1, "   \na: 1\n"), (3, "   \n"), (4, "   \nb: 2\n")],
        ),
        ("a: 1\n---\nb: 2", [(0, "a: 1\n"), (1, "   \nb: 2")]),
        ("--- {a: 1}\n", [(0, "    {a: 1}\n")]),
        ("a: |\n  ---x\n---\n", [(0, "a: |\n  ---x\n"), (2, "   \n")]),
    ],
)
def test_split_keeps_lines_and_counts_documents_like_yaml(
    text: str, expected: list[tuple[int, str]]
) -> None:
    assert split(text) == expected


def test_directories_are_read_recursively_sorted_without_hidden_or_other_files() -> None:
    assert [_rel(p) for p in files_of(DATA / "tree")] == [
        "tree/base/pod.yml",
        "tree/overlays/prod/cronjob.json",
        "tree/overlays/prod/podlist.json",
    ]


def test_helm_template_output_numbers_documents_and_lines() -> None:
    loaded = load([str(DATA / "helm")], stdin=io.StringIO())
    assert loaded.problems == []
    file = str(DATA / "helm" / "rendered.yaml")
    # The hpa template rendered nothing: an empty document, counted as YAML counts it.
    assert [(d.source, d.data is None) for d in loaded.documents] == [
        (Source(file, 1, 3), False),
        (Source(file, 2, 13), False),
        (Source(file, 3, None), True),
        (Source(file, 4, 27), False),
        (Source(file, 5, 44), False),
        (Source(file, 6, 100), False),
    ]
    deployment = next(m for m in loaded.manifests if m.obj["kind"] == "Deployment")
    assert deployment.locate is not None
    assert deployment.locate("/spec/template/spec/initContainers/1") == 70
    assert deployment.locate("/spec/template/spec/volumes/1") == 96
    assert deployment.locate("/spec/template/spec/nothing/here") == 61  # nearest parent: the spec


def test_lists_are_expanded_and_typed_lists_get_kind_and_api_version() -> None:
    loaded = load([str(DATA / "list.yaml"), str(DATA / "tree/overlays/prod")], stdin=io.StringIO())
    assert loaded.problems == []
    found = [
        (m.obj["apiVersion"], m.obj["kind"], m.obj["metadata"]["name"], m.pointer, m.source.item)
        for m in loaded.manifests
    ]
    assert found == [
        ("v1", "Pod", "debug-shell", "/items/0", 0),
        ("v1", "ReplicationController", "legacy", "/items/1", 1),
        ("batch/v1", "CronJob", "nightly-report", "", None),
        ("v1", "Pod", "standalone", "/items/0", 0),  # a PodList as the API server sends it
    ]
    first = next(iter(loaded.manifests))
    assert first.source.line == 7
    assert first.locate is not None
    assert first.locate("/spec/volumes/0") == 31


def test_broken_documents_are_reported_and_the_others_read() -> None:
    file = str(DATA / "broken" / "mixed.yaml")
    loaded = load([file, str(DATA / "missing.yaml")], stdin=io.StringIO())
    assert [m.obj["metadata"]["name"] for m in loaded.manifests] == ["first", "last"]
    assert loaded.problems == [
        Problem(file, "not valid YAML: did not find expected key", 2, 26),
        Problem(file, "is a list, not a Kubernetes object", 3, 29),
        Problem(file, "has no kind", 4, 33),
        Problem(str(DATA / "missing.yaml"), "no such file or directory"),
    ]
    assert (
        loaded.problems[0].display
        == f"{file}: document 2 (line 26): not valid YAML: did not find expected key"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "apiVersion: v1\nkind: List\nitems:\n- 3\n",
            "items[0] is a number, not a Kubernetes object",
        ),
        ("apiVersion: v1\nkind: List\nitems:\n- kind: Pod\n", "items[0] has no apiVersion"),
        ("kind: Pod\n", "has no apiVersion"),
        ("apiVersion: v1\nkind: Pod\nmetadata: [x]\n", "has a metadata that is not a mapping"),
        ('{"apiVersion": "v1", "kind": 3}', "has no kind"),
        ("just text\n", "is a string, not a Kubernetes object"),
        ("a: [\n", "not valid YAML: did not find expected node content"),
    ],
)
def test_what_is_not_a_kubernetes_object(text: str, problem: str) -> None:
    loaded = load(["-"], stdin=io.StringIO(text))
    assert [p.message for p in loaded.problems] == [problem]
    assert all(p.file == "-" and p.document == 1 for p in loaded.problems)


def test_standard_input_json_and_yaml() -> None:
    pod = '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}}'
    assert [m.obj["metadata"]["name"] for m in load(["-"], stdin=io.StringIO(pod)).manifests] == [
        "p"
    ]
    stream = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b}\n"
    loaded = load(["-"], stdin=io.StringIO(stream))
    assert [(m.obj["metadata"]["name"], m.source.display) for m in loaded.manifests] == [
        ("a", "<stdin>:1, document 1"),
        ("b", "<stdin>:5, document 2"),
    ]
