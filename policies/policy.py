"""What a policy is: its definition (`Policy`: id, summary, remedy, evaluation) and its settings,
strict pydantic models read from the YAML configuration (`PolicySettings`, with exemptions)."""

from __future__ import annotations

import fnmatch
import re
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
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


class ImageExemption(Settings):
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


class Exemptions(Settings):
    """Who and what a policy leaves alone."""

    namespaces: tuple[str, ...] = ()
    """Namespace names (globs)."""
    users: tuple[str, ...] = ()
    """User names (globs), e.g. `system:serviceaccount:ci:*`."""
    groups: tuple[str, ...] = ()
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
