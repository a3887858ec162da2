"""What a policy is: its definition (`Policy`: id, summary, remedy, evaluation) and its settings,
strict pydantic models read from the YAML configuration (`PolicySettings`, with exemptions)."""

from __future__ import annotations

import fnmatch
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
)
from pydantic.alias_generators import to_camel

from policies import quantity
from policies.base import Context, Finding, Mode, PodView, Role


class Settings(BaseModel):
    """Strict, immutable, camelCase in YAML: a typo in the configuration is an error, not a
    silent no-op."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


_SETTING = re.compile(quantity.PATTERN)


def _quantity_setting(value: str) -> str:
    """`value` when it is a quantity written as `quantity.PATTERN` says (no sign, no spaces)."""
    expected = "expected a quantity such as 512Mi, not"
    parsed = quantity.parse_or_none(value)
    if parsed is not None and parsed < 0:
        raise quantity.QuantityError(f"{expected} a negative one ({value!r})")
    if parsed is None or _SETTING.fullmatch(value) is None:
        raise quantity.QuantityError(f"{expected} {value!r}")
    return quantity.validate(value)


Quantity = Annotated[
    str,
    # The pattern goes to the JSON schema, so that the Helm chart refuses what the service refuses;
    # the validator says why in words (and refuses more than 100 digits).
    Field(json_schema_extra={"pattern": quantity.PATTERN, "examples": ["512Mi"]}),
    AfterValidator(_quantity_setting),
]
"""A non-negative Kubernetes resource quantity, as a setting: `500m`, `1.5`, `256Mi`, `2Gi`."""


def glob_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    """One compiled regular expression for a list of shell-style globs (case-sensitive)."""
    if not patterns:
        return _never
    regex = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))
    return lambda value: regex.match(value) is not None


def _never(_: str) -> bool:
    return False


# RFC 3339 allows a space for the T (YAML reads an unquoted time so, and the configuration
# takes it back as text that way).
_EXPIRY = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))?$"
)


def _expiry(value: str) -> str:
    """`value` when it is an RFC 3339 date or date-time (with its offset) that exists."""
    if _EXPIRY.fullmatch(value) is None:
        raise ValueError(
            f"expected an RFC 3339 date or time such as 2027-03-31 or 2027-03-31T18:00:00Z, "
            f"not {value!r}"
        )
    try:
        expiry_time(value)
    except ValueError as error:  # a date that does not exist: 2027-02-30
        raise ValueError(
            f"expected an RFC 3339 date or time that exists, not {value!r} ({error})"
        ) from None
    return value


def expiry_time(value: str) -> float:
    """The instant an exemption ends, in seconds since the epoch: a date alone ends at the
    start of that day, in UTC."""
    text = value.upper().replace("Z", "+00:00").replace(" ", "T")
    if "T" not in text:
        text += "T00:00:00+00:00"
    return datetime.fromisoformat(text).timestamp()


Expiry = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": _EXPIRY.pattern, "examples": ["2027-03-31"]},
    ),
    AfterValidator(_expiry),
]
"""When an exemption stops applying: an RFC 3339 date (the start of that day, UTC) or time."""


class Ending(Settings):
    """What every exemption may carry: when it ends, and why it was granted."""

    expires: Expiry | None = None
    """An RFC 3339 date or time; from that instant on the exemption no longer applies (no
    reload needed), and the configuration still naming it raises an alert."""
    reason: str = ""
    """Why it was granted (a ticket, a team): shown where it applied."""


class NamespaceExemption(Ending):
    namespace: str = Field(min_length=1)
    """Namespace name (glob)."""


class UserExemption(Ending):
    user: str = Field(min_length=1)
    """User name (glob)."""


class GroupExemption(Ending):
    group: str = Field(min_length=1)
    """Group name (glob)."""


class ImageExemption(Ending):
    """Containers whose image matches `image` are exempt, wholly or only for the listed checks."""

    image: str = Field(min_length=1)
    """Glob matched against the image as written and as normalised (`nginx` is also
    `docker.io/library/nginx`)."""
    allow: tuple[str, ...] | None = None
    """Finding keys (globs) that are exempt, e.g. `capability:NET_ADMIN`, or whole
    controls, e.g. `hostNamespaces`; omitted: every finding."""
    namespaces: tuple[str, ...] = ()
    """Namespace names (globs) the exemption is limited to; empty: every namespace."""
    except_host_network: bool = False
    """True: the exemption does not apply in a pod with `hostNetwork: true`, where a
    capability such as NET_ADMIN acts on the node's own network (the mesh presets)."""


def _entry_kind(value: Any) -> str:
    return "glob" if isinstance(value, str) else "entry"


T = TypeVar("T")
Entry = Annotated[
    Annotated[str, Tag("glob")] | Annotated[T, Tag("entry")], Discriminator(_entry_kind)
]
"""An exemption of who asks: a glob, or an object with its glob, `expires` and `reason` (the
tags only choose which form an entry is read as: errors name the form the entry has)."""
ENTRY_TAGS = frozenset(("glob", "entry"))


class Exemptions(Settings):
    """Who and what a policy leaves alone. Each entry is a glob, or an object with its glob, an
    `expires` time and a `reason`."""

    namespaces: tuple[Entry[NamespaceExemption], ...] = ()
    """Namespace names (globs)."""
    users: tuple[Entry[UserExemption], ...] = ()
    """User names (globs), e.g. `system:serviceaccount:ci:*`."""
    groups: tuple[Entry[GroupExemption], ...] = ()
    """Group names (globs)."""
    images: tuple[ImageExemption, ...] = ()
    """Image exemptions, each optionally scoped to some finding keys."""


S = TypeVar("S", bound="PolicySettings")


def _settings_schema(schema: dict[str, Any], settings: type[PolicySettings]) -> None:
    """The JSON schema says what the validators do: `roles` lists only the roles this policy
    serves, and an entry of a map setting may be null (it removes the default's entry)."""
    properties = schema.get("properties", {})
    roles = properties.get("roles")
    if roles is not None:
        allowed = [role.value for role in settings.allowed_roles]
        roles["items"] = {"enum": allowed, "title": "Role", "type": "string"}
    for name in settings.map_settings():
        field = settings.model_fields[name]
        prop = properties[field.alias or name]
        nullable = [prop.get("additionalProperties"), *prop.get("properties", {}).values()]
        for values in (v for v in nullable if isinstance(v, dict)):
            kept = dict(values)
            values.clear()
            values["anyOf"] = [kept, {"type": "null"}]


def _merged_with_default(cls: type[PolicySettings], given: Any, info: ValidationInfo) -> Any:
    """A map setting as configured: the default's entries, those `given` added or replaced, less
    those `given` sets to null."""
    if not isinstance(given, dict) or info.field_name is None:
        return given  # not a map: the field's own validation says what is wrong
    default = cls.model_fields[info.field_name].get_default(call_default_factory=True)
    return {key: value for key, value in {**default, **given}.items() if value is not None}


def merged_maps(*fields: str) -> Any:
    """The validator every map setting of every policy declares (`_maps = merged_maps("limits")`
    in its settings class): the map merges with its default key by key, as the configuration's
    header promises ("a file only needs what differs"): `limits: {cpu: "1"}` adds a cpu limit and
    keeps the default memory limit, `limits: {memory: null}` removes the default's entry. One rule
    for every map (docs/configuration.md; tests/policies/test_policy.py holds every map to it).

    A field validator, not a model validator: pydantic validates what a `before` validator
    returns as Python input, where strict mode refuses a JSON list for a tuple field."""
    return field_validator(*fields, mode="before")(_merged_with_default)


class PolicySettings(Settings):
    """What every policy's settings have. Policies add their own keys, and their own default
    `roles` (and `mode`, when it is not the global one), in a subclass."""

    model_config = ConfigDict(json_schema_extra=_settings_schema)

    allowed_roles: ClassVar[tuple[Role, ...]] = tuple(Role)

    mode: Mode | None = None
    """enforce, warn, audit or off; unset: the global mode."""
    roles: tuple[Role, ...] = ()
    """Container roles the policy applies to: init, sidecar, app, ephemeral."""
    exemptions: Exemptions = Exemptions()
    """Exemptions for this policy only, on top of the global ones."""

    @classmethod
    def map_settings(cls) -> list[str]:
        """The fields that are maps (`requests: {cpu: 100m}`), by name."""
        return [
            name
            for name, field in cls.model_fields.items()
            if typing.get_origin(field.annotation) is dict
        ]

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        refused = [r.value for r in roles if r not in cls.allowed_roles]
        if refused:
            allowed = ", ".join(r.value for r in cls.allowed_roles)
            raise ValueError(f"roles {refused} are not supported here (supported: {allowed})")
        return roles

    @cached_property
    def role_set(self) -> frozenset[Role]:
        """The roles as a set (computed once: policies ask on every request)."""
        return frozenset(self.roles)

    def image_exemptions(self) -> tuple[ImageExemption, ...]:
        """The image exemptions of this policy (a policy may add built-in ones)."""
        return self.exemptions.images


Evaluate = Callable[[PodView, Context, S], list[Finding]]


@dataclass(frozen=True, slots=True)
class Policy(Generic[S]):
    """A policy: its id (the module name with dashes), what it does, and its pure evaluation."""

    id: str
    kind: Literal["validate", "mutate"]
    summary: str
    """One line for docs and `initgate config default`."""
    remedy: str
    """One line a denial message ends with: how to comply, and how an exemption is granted."""
    settings: type[S]
    evaluate: Evaluate[S]
    renamed_keys: tuple[tuple[str, str], ...] = ()
    """Finding keys an earlier initgate used, each with its new name: an exemption that names the
    old key (`hostPathWrite:data`) still applies to the new one (`hostPathVolumes:data`)."""
