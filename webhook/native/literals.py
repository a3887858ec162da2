"""The configuration as generated policies read it: each policy's mode, who it leaves alone,
and its image exemptions, in forms a CEL literal carries (Kubernetes refuses a list or map
literal whose elements differ in type, so an exemption is a map of strings).

Globs become RE2 regular expressions here, anchored, with only `*` and `?` special (a glob's
`[...]` is matched literally: docs/native-policies.md). An exemption that has ended is left out;
one that has not is kept until the policies are generated again (CEL has no clock).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from policies.base import Mode
from policies.policy import (
    Exemptions,
    GroupExemption,
    ImageExemption,
    NamespaceExemption,
    PolicySettings,
    UserExemption,
    expiry_time,
)
from webhook.core.config import Config
from webhook.native.builders import Expression


@dataclass(frozen=True, slots=True)
class Setting:
    """A value of the configuration that a policy's expressions read, as a variable whose
    expression is a literal: `initgate export` writes the value; the chart writes `template`,
    a Go template expression that computes the same value from its configuration (`$config`, the
    chart's `config` merged over the defaults; docs/native-policies.md)."""

    name: str
    value: Any
    template: str

    def variable(self) -> Expression:
        return {"name": self.name, "expression": literal(self.value)}


@dataclass(frozen=True, slots=True)
class Condition:
    """A matchCondition built around one setting (matchConditions cannot read variables):
    `expression` holds `{}` where the setting's literal goes."""

    name: str
    expression: str
    value: Any
    template: str

    def condition(self) -> Expression:
        return {"name": self.name, "expression": self.expression.format(literal(self.value))}


def path(*keys: str) -> str:
    """A Go template expression reading `keys` from the chart's effective configuration."""
    return "index $config " + " ".join(f'"{key}"' for key in keys)


_SPECIAL = frozenset("\\.+*?()|[]{}^$")
"""What Go's regexp.QuoteMeta escapes (and Helm's regexQuoteMeta): the chart converts alike."""


def glob_regex(globs: Iterable[str]) -> str:
    """One anchored RE2 expression matching any of the globs; '' for none."""
    parts = [
        "".join(
            ".*" if c == "*" else "." if c == "?" else f"\\{c}" if c in _SPECIAL else c
            for c in glob
        )
        for glob in globs
    ]
    return f"^(?:{'|'.join(parts)})$" if parts else ""


def literal(value: Any) -> str:
    """A JSON value as a CEL literal (JSON's syntax is CEL's, for these values)."""
    return json.dumps(value, ensure_ascii=False)


def mode(config: Config, settings: PolicySettings) -> Mode:
    return settings.mode or config.mode


def _current(entries: Iterable[Any], now: float) -> list[Any]:
    return [
        e for e in entries if isinstance(e, str) or not e.expires or now < expiry_time(e.expires)
    ]


def _globs(
    entries: Iterable[str | NamespaceExemption | UserExemption | GroupExemption],
) -> list[str]:
    globs = []
    for entry in entries:
        if isinstance(entry, str):
            globs.append(entry)
        elif isinstance(entry, NamespaceExemption):
            globs.append(entry.namespace)
        elif isinstance(entry, UserExemption):
            globs.append(entry.user)
        else:
            globs.append(entry.group)
    return globs


def who(exemptions: Exemptions, name: str, now: float, where: Sequence[str]) -> list[Condition]:
    """matchConditions that leave alone the namespaces, users and groups `exemptions` name (at
    `where` in the configuration); a kind that lists nothing has none."""
    found = []
    kinds = (
        ("namespaces", exemptions.namespaces, "!request.namespace.matches({})"),
        ("users", exemptions.users, "!request.userInfo.username.matches({})"),
        (
            "groups",
            exemptions.groups,
            "!request.userInfo.?groups.orValue([]).exists(g, g.matches({}))",
        ),
    )
    for kind, entries, expression in kinds:
        regex = glob_regex(_globs(_current(entries, now)))
        template = f'include "initgate.nativeGlobs" ({path(*where, kind)})'
        if regex:
            found.append(Condition(f"{name}-{kind}", expression, regex, template))
    return found


def exempt_conditions(
    config: Config, settings: PolicySettings, policy_id: str, now: float
) -> list[Expression]:
    """matchConditions: the namespaces, users and groups exempt from every policy, then from
    the policy `policy_id` (whose settings are `settings`)."""
    where = ("policies", policy_id, "exemptions")
    return [
        *(c.condition() for c in who(config.exemptions, "exempt", now, ("exemptions",))),
        *(c.condition() for c in who(settings.exemptions, f"{policy_id}-exempt", now, where)),
    ]


def images(
    config: Config,
    settings: PolicySettings,
    now: float,
    renamed: Sequence[tuple[str, str]] = (),
) -> list[dict[str, str]]:
    """The image exemptions of a policy (global, its own, its presets) that have not ended, as
    maps of strings: `image`, `allow` (regex of keys and controls; '' for all), `namespaces`
    ('' for all), `exceptHostNetwork` ('true' or 'false')."""
    listed: list[ImageExemption] = [*config.exemptions.images, *settings.image_exemptions()]
    found = []
    for exemption in _current(listed, now):
        allow = exemption.allow
        if allow is not None:
            allow = (
                *allow,
                *(
                    new + a[len(old) :]
                    for a in allow
                    for old, new in renamed
                    if a == old or a.startswith(f"{old}:")
                ),
            )
        found.append(
            {
                "image": glob_regex([exemption.image]),
                "allow": glob_regex(allow) if allow is not None else "",
                "namespaces": glob_regex(exemption.namespaces),
                "exceptHostNetwork": "true" if exemption.except_host_network else "false",
            }
        )
    return found


NORMALISED = (
    "!{image}.contains('/') ? 'docker.io/library/' + {image}"
    " : {image}.split('/')[0] == 'index.docker.io'"
    " ? ({image}.split('/').size() > 2 ? 'docker.io/' + {image}.substring(16)"
    " : 'docker.io/library/' + {image}.substring(16))"
    " : ({image}.split('/')[0].contains('.') || {image}.split('/')[0].contains(':')"
    " || {image}.split('/')[0] == 'localhost') ? {image} : 'docker.io/' + {image}"
)
"""An image with Docker Hub's implicit registry and namespace, as
`webhook.core.exemptions.normalise_image` writes it."""


def exempt(entry: str, key: str, control: str = "") -> str:
    """CEL: whether an image exemption lifts the finding `key` (a CEL string expression) of the
    container `entry` (a `variables.containers` entry), as the webhook's `ImageRule.applies`."""
    image = f"{entry}.c.?image.orValue('')"
    normalised = "(" + NORMALISED.format(image=image) + ")"
    allowed = f"{key}.matches(x.allow)" + (f" || '{control}'.matches(x.allow)" if control else "")
    return (
        "variables.exemptions.exists(x,"
        f" ({image}.matches(x.image) || {normalised}.matches(x.image))"
        f" && (x.allow == '' || {allowed})"
        " && (x.namespaces == '' || request.namespace.matches(x.namespaces))"
        " && !(x.exceptHostNetwork == 'true'"
        " && variables.spec.?hostNetwork.orValue(false) == true))"
    )


def exemptions(
    config: Config,
    settings: PolicySettings,
    now: float,
    *,
    policy: str,
    renamed: Sequence[tuple[str, str]] = (),
) -> Setting:
    """The `exemptions` variable: the image exemptions `exempt()` reads."""
    template = f'include "initgate.nativeImages" (list $config "{policy}")'
    return Setting("exemptions", images(config, settings, now, renamed), template)


def current_time() -> float:
    return time.time()
