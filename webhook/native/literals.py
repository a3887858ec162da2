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
    chart's `config` merged over the defaults, and `$native`, the chart's files/native.json;
    webhook/native/chart.py)."""

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

    @property
    def present(self) -> bool:
        """Whether it is written at all: a condition on nothing (an empty regex: no one is
        exempt) is left out, by `initgate export` here and by the chart's `with`."""
        return bool(self.value)

    def condition(self) -> Expression:
        return {"name": self.name, "expression": self.expression.format(literal(self.value))}


def go_string(text: str) -> str:
    """`text` as a Go string literal (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def path(*keys: str) -> str:
    """A Go template expression reading `keys` from the chart's effective configuration, or
    from a template variable given first (`$rule`, a user rule in the chart's range over them)."""
    root, keys = (keys[0], keys[1:]) if keys and keys[0].startswith("$") else ("$config", keys)
    return " ".join(["index", root, *(go_string(key) for key in keys)]) if keys else root


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


_GO_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def literal(value: Any) -> str:
    """A JSON value as a CEL literal (JSON's syntax is CEL's, for these values), in the text
    Go's encoding/json writes (keys sorted, no spaces, `<`, `>` and `&` escaped): the chart
    writes the same value with Helm's `toJson`, and both texts are then equal."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text.translate(_GO_ESCAPES)


def mode(config: Config, settings: PolicySettings) -> Mode:
    return settings.mode or config.mode


def _current(entries: Iterable[Any], now: float) -> list[Any]:
    return [
        e for e in entries if isinstance(e, str) or not e.expires or now < expiry_time(e.expires)
    ]


def glob_of(entry: str | NamespaceExemption | UserExemption | GroupExemption) -> str:
    """The glob of a namespace, user or group exemption, in either of its forms."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, NamespaceExemption):
        return entry.namespace
    return entry.user if isinstance(entry, UserExemption) else entry.group


def _globs(
    entries: Iterable[str | NamespaceExemption | UserExemption | GroupExemption],
) -> list[str]:
    return [glob_of(entry) for entry in entries]


def who(
    exemptions: Exemptions, name: str, now: float, where: Sequence[str], *, every: bool = False
) -> list[Condition]:
    """matchConditions that leave alone the namespaces, users and groups `exemptions` name (at
    `where` in the configuration); a kind that lists nothing (or only ended exemptions) has none,
    or with `every` one that is not `present` (the chart writes each kind, guarded)."""
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
        if regex or every:
            found.append(Condition(f"{name}-{kind}", expression, regex, template))
    return found


def exempt_conditions(
    config: Config, settings: PolicySettings, policy_id: str, now: float, *, at: Sequence[str]
) -> list[Condition]:
    """matchConditions: the namespaces, users and groups exempt from every policy, then from
    the policy `policy_id` (whose settings are `settings`, at `at` in the configuration), each
    kind whether it lists anything or not (`Condition.present`)."""
    return [
        *who(config.exemptions, "exempt", now, ("exemptions",), every=True),
        *who(settings.exemptions, f"{policy_id}-exempt", now, (*at, "exemptions"), every=True),
    ]


def images(
    config: Config,
    settings: PolicySettings,
    now: float,
    renamed: Sequence[tuple[str, str]] = (),
) -> list[dict[str, str]]:
    """The image exemptions of a policy (global, its own, its presets) that have not ended, as
    maps of strings: `image`, `allow` (regex of keys and controls; '' for all), `namespaces`
    ('' for all), `exceptHostNetwork` ('true' or 'false'). One with an empty `allow` lifts
    nothing, as in the webhook, and is left out."""
    listed: list[ImageExemption] = [*config.exemptions.images, *settings.image_exemptions()]
    found = []
    for exemption in _current(listed, now):
        allow = exemption.allow
        if allow == ():
            continue
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


def exempting(entry: str) -> str:
    """CEL: the image exemptions that apply to the container `entry` (a `variables.containers`
    entry) in this request, whatever findings they allow: as the webhook's `ImageRule`, its
    image (as written or normalised), its namespaces and `exceptHostNetwork`."""
    image = f"{entry}.c.?image.orValue('')"
    normalised = "(" + NORMALISED.format(image=image) + ")"
    return (
        "variables.exemptions.filter(x,"
        f" ({image}.matches(x.image) || {normalised}.matches(x.image))"
        " && (x.namespaces == '' || request.namespace.matches(x.namespaces))"
        " && !(x.exceptHostNetwork == 'true'"
        " && variables.spec.?hostNetwork.orValue(false) == true))"
    )


def lifts(exempting_: str, key: str, control: str = "") -> str:
    """CEL: whether one of the exemptions `exempting_` (CEL, as `exempting()` gives them)
    allows the finding `key` (a CEL string expression) or its `control`."""
    allowed = f"{key}.matches(x.allow)" + (f" || '{control}'.matches(x.allow)" if control else "")
    return f"{exempting_}.exists(x, x.allow == '' || {allowed})"


def exempt(entry: str, key: str, control: str = "") -> str:
    """CEL: whether an image exemption lifts the finding `key` (a CEL string expression) of the
    container `entry` (a `variables.containers` entry), as the webhook's `ImageRule.applies`.
    For many findings of one container, `exempting()` once then `lifts()` each costs less."""
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
    at: Sequence[str],
    renamed: Sequence[tuple[str, str]] = (),
) -> Setting:
    """The `exemptions` variable: the image exemptions `exempt()` reads. The chart's helper
    reads the policy's settings at `at` (`path`), its presets from the chart's
    files/native.json, the renamed keys from here."""
    pairs = go_string(literal([list(pair) for pair in renamed]))
    template = (
        f'include "initgate.nativeImages" (list $config $native ({path(*at)}) {go_string(policy)}'
        f" {pairs}) | fromJsonArray"
    )
    return Setting("exemptions", images(config, settings, now, renamed), template)


def current_time() -> float:
    return time.time()
