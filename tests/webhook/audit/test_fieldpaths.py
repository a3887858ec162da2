"""Fields as people write them, found in objects; values compared as JSON compares them."""

from __future__ import annotations

from typing import Any

import pytest

from webhook.audit.fieldpaths import dotted, lookup, parse_path, same, shown

PATHS: dict[str, tuple[str, tuple[str | int, ...] | None]] = {
    "keys": ("spec.containers", ("spec", "containers")),
    "an index": ("spec.containers[0].image", ("spec", "containers", 0, "image")),
    "a name": ("spec.containers[app].image", ("spec", "containers", "app", "image")),
    "a key with a dot and a slash": (
        "resources.limits[example.com/gpu]",
        ("resources", "limits", "example.com/gpu"),
    ),
    "brackets first": ("[0].name", (0, "name")),
    "two dots": ("spec..containers", None),
    "a trailing dot": ("spec.", None),
    "a leading dot": (".spec", None),
    "an open bracket": ("spec.containers[0", None),
    "nothing": ("", None),
}


@pytest.mark.parametrize(("path", "segments"), PATHS.values(), ids=PATHS)
def test_paths(path: str, segments: tuple[str | int, ...] | None) -> None:
    assert parse_path(path) == segments


POD = {
    "metadata": {"annotations": {"example.com/team": "shop"}},
    "spec": {"containers": [{"name": "app", "image": "nginx"}, {"name": "side"}]},
}
LOOKUPS: dict[str, tuple[str, tuple[bool, Any]]] = {
    "by index": ("spec.containers[1].name", (True, "side")),
    "by name": ("spec.containers[app].image", (True, "nginx")),
    "a key with a slash": ("metadata.annotations[example.com/team]", (True, "shop")),
    "an index beyond": ("spec.containers[2]", (False, None)),
    "a name not there": ("spec.containers[db]", (False, None)),
    "through a value": ("spec.containers[0].image.tag", (False, None)),
}


@pytest.mark.parametrize(("path", "found"), LOOKUPS.values(), ids=LOOKUPS)
def test_lookup(path: str, found: tuple[bool, Any]) -> None:
    segments = parse_path(path)
    assert segments is not None
    assert lookup(POD, segments) == found


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (True, 1, False),
        (1, 1.0, True),
        ("1", 1, False),
        ({"a": [True]}, {"a": [1]}, False),
        ({"a": [1, "x"]}, {"a": [1, "x"]}, True),
        (None, None, True),
    ],
)
def test_values_compare_as_json(a: Any, b: Any, equal: bool) -> None:
    assert same(a, b) is equal


def test_shown_and_dotted() -> None:
    assert [shown(v) for v in ("100m", True, {"cpu": "1"}, "1", None)] == [
        "100m",
        "true",
        "{cpu: '1'}",
        "'1'",
        "null",
    ]
    assert dotted("/spec/template/spec/initContainers/0") == "spec.template.spec.initContainers[0]"
