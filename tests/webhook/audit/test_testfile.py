"""`initgate test` files read: which files a directory holds, and every problem of a file's YAML
and keys as a line `FILE:LINE: what`."""

from __future__ import annotations

from pathlib import Path

import pytest

from webhook.audit.testfile import BrokenError, find, parse


def test_a_directory_gives_the_files_named_as_tests(tmp_path: Path) -> None:
    for name in (
        "initgate-test.yaml",
        "a/registry.initgate-test.yaml",
        "a/b/digest.initgate-test.yml",
        "a/pods.yaml",  # manifests beside the tests
        "a/initgate-test.yaml.orig",
        ".hidden/initgate-test.yaml",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    given = tmp_path / "a" / "pods.yaml"  # a file given is a test file, whatever its name
    found, problems = find([str(tmp_path), str(given), str(tmp_path / "initgate-test.yaml")])
    assert [str(p.relative_to(tmp_path)) for p in found] == [
        "a/b/digest.initgate-test.yml",
        "a/registry.initgate-test.yaml",
        "initgate-test.yaml",
        "a/pods.yaml",
    ]
    assert problems == []


def test_paths_that_give_no_test_file_are_problems(tmp_path: Path) -> None:
    (tmp_path / "pods.yaml").write_text("")
    found, problems = find([str(tmp_path), str(tmp_path / "missing")])
    assert found == []
    assert problems == [
        f"{tmp_path}: no test file in this directory (initgate-test.yaml, initgate-test.yml)",
        f"{tmp_path / 'missing'}: no such file or directory",
    ]


GOOD_OBJECT = "  - {apiVersion: v1, kind: Pod, metadata: {name: a}}\n"
BROKEN = {
    "not YAML": (
        "manifests: [a.yaml\n",
        ["2: not valid YAML: expected ',' or ']', but got '<stream end>'"],
    ),
    "not a mapping": ("- a.yaml\n", [": a test file is a mapping (config, manifests, expect)"]),
    "empty": ("", [": a test file is a mapping (config, manifests, expect)"]),
    "a key it does not have": (
        f"manifest:\n{GOOD_OBJECT}expect: []\n",
        [
            "1: manifests: required: a list of manifests",
            "2: unknown key 'manifest' (did you mean 'manifests'?)",
        ],
    ),
    "a result it does not have": (
        f"manifests:\n{GOOD_OBJECT}expect:\n  - object: Pod/a\n    results: {{x: passed}}\n",
        [
            "5: expect[0].results.x: expected one of pass, fail, warn, skip, error, not"
            " 'passed' (did you mean 'pass'?)"
        ],
    ),
    "an object not named Kind/name": (
        f"manifests:\n{GOOD_OBJECT}expect:\n  - object: a\n    results: {{x: pass}}\n",
        ["4: expect[0].object: expected Kind/name or Kind/namespace/name, not 'a'"],
    ),
    "a mode a namespace label cannot have": (
        f"manifests:\n{GOOD_OBJECT}expect:\n  - {{object: Pod/a, mode: off, results: {{x: pass}}}}\n",
        ["4: expect[0].mode: expected one of enforce, warn, audit, not false"],
    ),
    "groups that are not a list": (
        f"manifests:\n{GOOD_OBJECT}expect:\n  - {{object: Pod/a, groups: admins, results: {{x: pass}}}}\n",
        ["4: expect[0].groups: expected a list of strings, not 'admins'"],
    ),
}


@pytest.mark.parametrize(("content", "problems"), BROKEN.values(), ids=BROKEN)
def test_broken_files_say_where(tmp_path: Path, content: str, problems: list[str]) -> None:
    path = tmp_path / "case.initgate-test.yaml"
    path.write_text(content)
    with pytest.raises(BrokenError) as broken:
        parse(path)
    assert broken.value.problems == [
        f"{path}:{p}" if p[0].isdigit() else f"{path}{p}" for p in problems
    ]
