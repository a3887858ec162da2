"""`initgate config validate` warns about what is valid but cannot mean what it says: an image
exemption without a tag or digest never matches a tagged image (issue 22)."""

from __future__ import annotations

import pytest

from webhook.core.config import parse_config
from webhook.core.configwarnings import config_warnings


def warnings(text: str) -> list[str]:
    return config_warnings(parse_config(text, source="c.yaml"), text, source="c.yaml")


def test_an_image_without_tag_or_digest_is_named_with_its_line() -> None:
    text = (
        "policies:\n  init-privileged:\n    exemptions:\n      images:\n"
        "        - image: registry.example.com/netinit\n          allow: [privileged]\n"
    )
    assert warnings(text) == [
        "c.yaml:5: warning: policies.init-privileged.exemptions.images[0].image: "
        "'registry.example.com/netinit' has no tag or digest: it matches "
        "registry.example.com/netinit, never registry.example.com/netinit:1.0; write "
        "'registry.example.com/netinit:*' for any tag (or "
        "'registry.example.com/netinit@sha256:*' for any digest)"
    ]


def test_a_rule_s_image_exemption_is_read_too() -> None:
    text = (
        "rules:\n  - id: r\n    description: D.\n    expression: 'true'\n    exemptions:\n"
        "      images:\n        - image: busybox\n"
    )
    (warning,) = warnings(text)
    assert warning.startswith("c.yaml:7: warning: rules[0].exemptions.images[0].image: 'busybox'")


@pytest.mark.parametrize(
    "image",
    [
        "busybox:*",
        "busybox:1.36",
        "busybox@sha256:*",
        "busybox*",
        "busybox[:@]*",
        "registry.example.com:5000/tools/init:*",
    ],
)
def test_globs_that_cover_a_tag_are_fine(image: str) -> None:
    assert warnings(f"exemptions:\n  images:\n    - image: '{image}'\n") == []


def test_a_port_is_no_tag() -> None:
    [warning] = warnings("exemptions:\n  images:\n    - image: registry.example.com:5000/init\n")
    assert warning.startswith("c.yaml:3: warning: exemptions.images[0].image: ")


def test_an_exemption_from_the_image_tag_check_is_for_untagged_images() -> None:
    text = "exemptions:\n  images:\n    - image: legacy-init\n      allow: [image-tag]\n"
    assert warnings(text) == []


def test_the_default_has_none() -> None:
    assert warnings("") == []
