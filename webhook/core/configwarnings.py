"""What a valid configuration may still not mean: `initgate config validate` says it, with the
file's line, and the file stays valid (the server takes it as it is).

An image exemption's glob is matched against the whole image reference, tag or digest included
(docs/configuration.md): `image: "busybox"` matches only an image written without a tag or digest,
never `busybox:1.36`, and so exempts nothing a pinned workload runs.
"""

from __future__ import annotations

import yaml

from policies.policy import Exemptions
from webhook.core.config import Config, _line_of
from webhook.core.configerrors import path

_GLOB = frozenset("*?[")


def config_warnings(config: Config, text: str, *, source: str) -> list[str]:
    """`source:line: warning: ...` for each image exemption that cannot match a tagged image, in
    the order of the file."""
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    places: list[tuple[tuple[int | str, ...], Exemptions]] = [
        (("exemptions",), config.exemptions),
        *(((*loc, "exemptions"), settings.exemptions) for loc, settings in config.placed()),
    ]
    found: list[tuple[int, str]] = []
    for loc, exemptions in places:
        for index, exemption in enumerate(exemptions.images):
            image = exemption.image
            # An exemption from init-lint's `image-tag` check is for untagged images: meant so.
            if not _untagged(image) or exemption.allow == ("image-tag",):
                continue
            at: tuple[int | str, ...] = (*loc, "images", index, "image")
            line = _line_of(node, at) or 0
            found.append(
                (
                    line,
                    f"{source}:{line}: warning: {path(at)}: {image!r} has no tag or digest: it "
                    f"matches {image}, never {image}:1.0; write {image + ':*'!r} for any tag "
                    f"(or {image + '@sha256:*'!r} for any digest)",
                )
            )
    return [message for _, message in sorted(found, key=lambda pair: pair[0])]


def _untagged(image: str) -> bool:
    """Whether a glob can only match a reference without a tag or digest: its last path segment
    names neither, and has no wildcard that could stand for one."""
    last = image.rsplit("/", 1)[-1]
    return not (set(last) & _GLOB) and ":" not in last and "@" not in last
