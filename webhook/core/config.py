"""The policy configuration: one YAML file, validated, with a complete built-in default.

`initgate serve` needs no file. With `--config FILE`, the file is read at start-up and again when it
changes (a ConfigMap update); a file that does not validate is refused with its error location, and
the last good configuration stays active.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, create_model

from policies import REGISTRY
from policies.base import Mode
from policies.policy import (
    ENTRY_TAGS,
    Entry,
    Exemptions,
    NamespaceExemption,
    PolicySettings,
    Settings,
)
from webhook.core.configerrors import explain
from webhook.core.rules import RuleSettings

DEFAULT_EXEMPT_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
DOCS_URL = "https://github.com/initgate/initgate/blob/main/docs/policies.md"


class GlobalExemptions(Exemptions):
    """Exemptions from every policy."""

    namespaces: tuple[Entry[NamespaceExemption], ...] = DEFAULT_EXEMPT_NAMESPACES
    """Namespace names (globs). Listing namespaces here replaces the default list, so keep
    kube-system, kube-public and kube-node-lease unless you mean to police them."""


def _policies_model() -> type[Settings]:
    fields: dict[str, Any] = {
        policy.id.replace("-", "_"): (
            policy.settings,
            Field(default_factory=policy.settings, alias=policy.id, description=policy.summary),
        )
        for policy in REGISTRY
    }
    return create_model("PoliciesConfig", __base__=Settings, **fields)


PoliciesConfig = _policies_model()


class Config(Settings):
    """initgate configuration. Every key is optional: the defaults are a complete policy."""

    mode: Mode = Mode.ENFORCE
    """Default mode of every policy that does not set its own: enforce, warn, audit or off.
    The webhook's endpoint (chosen by the namespace label initgate.io/mode) can only lower it."""
    on_policy_error: Literal["allow", "deny"] = "allow"
    """What a request gets when a policy fails on it (a bug, a malformed object): allow (with a
    warning; the error is logged and counted) keeps the cluster working; deny fails closed."""
    message_footer: str = f"Policy documentation and exemptions: {DOCS_URL}"
    """Last line of every denial: where to read about the policies and how to get an exemption."""
    exemptions: GlobalExemptions = GlobalExemptions()
    """Who and what no policy applies to."""
    policies: PoliciesConfig = Field(default_factory=PoliciesConfig)  # type: ignore[valid-type]
    """Per-policy settings, by policy id."""
    rules: tuple[RuleSettings, ...] = ()
    """Your own rules, in CEL, judged like the policies above (docs/rules.md)."""

    def policy(self, policy_id: str) -> PolicySettings:
        """The settings of one policy."""
        settings = getattr(self.policies, policy_id.replace("-", "_"))
        assert isinstance(settings, PolicySettings)  # noqa: S101 - the model is built from REGISTRY
        return settings

    def placed(self) -> list[tuple[tuple[int | str, ...], PolicySettings]]:
        """Every built-in policy's settings, then every rule's, with its place in the file
        (`("policies", "init-lint")`, `("rules", 0)`): what labels their exemptions."""
        return [
            *((("policies", policy.id), self.policy(policy.id)) for policy in REGISTRY),
            *((("rules", index), rule) for index, rule in enumerate(self.rules)),
        ]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names every problem and its place."""


def _untagged(loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """An error's place without the union's tag pydantic puts after an exemption entry's index
    (`namespaces[0].entry.expires`): a key of the user's that is spelt like a tag stays."""
    return tuple(
        part
        for i, part in enumerate(loc)
        if not (part in ENTRY_TAGS and i and isinstance(loc[i - 1], int))
    )


def parse_config(text: str, *, source: str) -> Config:
    """Validate a YAML configuration; raises `ConfigError` naming each problem and its line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from error
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{source}: the configuration must be a mapping, not {type(data).__name__}"
        )
    try:
        # As JSON, strictly: what JSON Schema (and so the Helm chart) accepts, no more: `"yes"` is
        # not a boolean, `1` is not a string. YAML timestamps become text, as in Helm's values.
        config = Config.model_validate_json(json.dumps(data, default=str), strict=True)
    except ValidationError as error:
        errors = [{**e, "loc": _untagged(e["loc"])} for e in error.errors(include_url=False)]
        problems = explain(
            errors,  # type: ignore[arg-type]
            schema=_schema(),
            line_of=lambda loc: _line_of(node, loc),
            source=source,
        )
        raise ConfigError("\n".join(problems)) from error
    conflicts = [
        (line, f"{source}:{line}: {message}" if line else f"{source}: {message}")
        for loc, message in _conflicts(config)
        for line in [_line_of(node, loc)]
    ]
    if conflicts:
        raise ConfigError("\n".join(m for _, m in sorted(conflicts, key=lambda c: c[0] or 0)))
    return config


def _conflicts(config: Config) -> list[tuple[tuple[int | str, ...], str]]:
    """What no single key shows wrong: rules that share an id, or take a policy's."""
    found: list[tuple[tuple[int | str, ...], str]] = []
    seen: dict[str, int] = {}
    builtin = {policy.id for policy in REGISTRY}
    for index, rule in enumerate(config.rules):
        where = ("rules", index, "id")
        if rule.id in builtin:
            found.append((where, f"rules[{index}].id: '{rule.id}' is a built-in policy's id"))
        elif rule.id in seen:
            found.append(
                (where, f"rules[{index}].id: '{rule.id}' is also rules[{seen[rule.id]}]'s id")
            )
        seen.setdefault(rule.id, index)
        if rule.scope == "pod" and "roles" in rule.model_fields_set:
            found.append(
                (("rules", index, "roles"), f"rules[{index}].roles: a pod-scoped rule has no roles")
            )
    return found


@functools.cache
def _schema() -> dict[str, Any]:
    return Config.model_json_schema(by_alias=True)


def load_config(path: Path | None) -> Config:
    """The configuration in `path`, or the built-in default when there is none."""
    if path is None:
        return Config()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: cannot read: not UTF-8 text") from error
    return parse_config(text, source=str(path))


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the YAML node at `loc` (or of its nearest existing parent)."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
        else:
            child = None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
