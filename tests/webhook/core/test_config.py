"""The configuration file: validation with error locations, defaults, the commented default."""

from __future__ import annotations

import pytest
import yaml

from policies.base import Mode, Role
from webhook.core.config import Config, ConfigError, parse_config
from webhook.core.configdoc import render_default


def test_an_empty_file_is_the_complete_default() -> None:
    assert parse_config("", source="empty.yaml") == Config()
    assert parse_config("# nothing but comments\n", source="c.yaml") == Config()


def test_the_built_in_default() -> None:
    config = Config()
    assert config.mode is Mode.ENFORCE
    assert config.on_policy_error == "allow"
    assert config.exemptions.namespaces == ("kube-system", "kube-public", "kube-node-lease")
    modes = {
        p: config.policy(p).mode for p in ("init-privileged", "init-lint", "default-resources")
    }
    assert modes == {"init-privileged": None, "init-lint": Mode.WARN, "default-resources": None}
    assert config.policy("init-privileged").roles == (Role.INIT, Role.SIDECAR)
    assert config.policy("readonly-mounts").roles == (Role.APP,)


def test_the_printed_default_is_the_default_and_every_key_is_commented() -> None:
    text = render_default()
    assert parse_config(text, source="default.yaml") == Config()
    lines = text.splitlines()
    for index, line in enumerate(lines):
        stripped = line.strip()
        is_key = stripped and not stripped.startswith(("#", "-")) and ":" in stripped
        if is_key and not stripped.startswith(("namespaces", "users", "groups", "images")):
            previous = lines[index - 1].strip()
            assert previous.startswith("#"), f"key without a comment: {line!r}"


def test_camel_case_keys_in_yaml() -> None:
    config = parse_config(
        """
        onPolicyError: deny
        policies:
          emptydir-sizelimit: {sizeLimit: 1Gi, memorySizeLimit: 64Mi}
          readonly-mounts: {writableVolumes: [cache-*]}
        """,
        source="c.yaml",
    )
    assert config.on_policy_error == "deny"
    assert config.policy("emptydir-sizelimit").model_dump()["memory_size_limit"] == "64Mi"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "mode: strict\n",
            "c.yaml:1: mode: expected one of off, audit, warn, enforce, not 'strict'",
        ),
        ("modes: warn\n", "c.yaml:1: unknown key 'modes' (did you mean 'mode'?)"),
        (
            "onPolicyEror: deny\n",
            "c.yaml:1: unknown key 'onPolicyEror' (did you mean 'onPolicyError'?)",
        ),
        (
            "policies:\n  init-unbounded:\n    maximum: {memory: 4GG}\n",
            "c.yaml:3: policies.init-unbounded.maximum.memory: expected a quantity such as 512Mi, "
            "not '4GG'",
        ),
        (
            "policies:\n  emptydir-sizelimit:\n    sizeLimit: -1Gi\n",
            "c.yaml:3: policies.emptydir-sizelimit.sizeLimit: expected a quantity such as 512Mi, "
            "not a negative one ('-1Gi')",
        ),
        (
            "policies:\n  init-privileged:\n    roles: init\n",
            "c.yaml:3: policies.init-privileged.roles: expected a list of roles (init, sidecar, "
            "app, ephemeral), e.g. [init, sidecar], not 'init'",
        ),
        (
            "policies:\n  default-resources:\n    roles: [app, ephemeral]\n",
            "c.yaml:3: policies.default-resources.roles: roles ['ephemeral'] are not "
            "supported here (supported: init, sidecar, app)",
        ),
        (
            "policies:\n  init-privileged:\n    allowedCapabilities: [NET_ADMIN, all]\n",
            "c.yaml:3: policies.init-privileged.allowedCapabilities: ALL can never be an "
            "allowed capability",
        ),
        (
            "policies:\n  default-resources:\n    requests: {memory: 1Gi}\n    limits: {memory: 512Mi}\n",
            "c.yaml:3: policies.default-resources: requests.memory (1Gi) is above "
            "limits.memory (512Mi)",
        ),
        (
            "policies:\n  init-privileged:\n    presets: {consul: true}\n",
            "c.yaml:3: policies.init-privileged.presets: unknown presets ['consul']",
        ),
        (
            "policies:\n  readonly-mounts:\n    ignorePreparingInits: 'yes'\n",
            "c.yaml:3: policies.readonly-mounts.ignorePreparingInits: expected true or false, "
            "not 'yes'",
        ),
        (
            "policies:\n  init-lnt: {}\n",
            "c.yaml:2: policies: unknown key 'init-lnt' (did you mean 'init-lint'?)",
        ),
        (
            "exemptions:\n  images:\n    - allow: [privileged]\n",
            "c.yaml:3: exemptions.images[0].image: required: a non-empty string",
        ),
        # A misspelt value gets the nearest valid one, as a misspelt key does (issue 21).
        (
            "mode: enforec\n",
            "c.yaml:1: mode: expected one of off, audit, warn, enforce, not 'enforec' "
            "(did you mean 'enforce'?)",
        ),
        (
            "policies:\n  init-privileged:\n    level: restrictd\n",
            "c.yaml:3: policies.init-privileged.level: expected one of baseline, restricted, "
            "not 'restrictd' (did you mean 'restricted'?)",
        ),
        (
            "policies:\n  init-lint:\n    mode: warm\n",
            "c.yaml:3: policies.init-lint.mode: expected one of off, audit, warn, enforce, "
            "not 'warm' (did you mean 'warn'?)",
        ),
        (
            "policies:\n  default-resources:\n    roles: [app, Sidecar]\n",
            "c.yaml:3: policies.default-resources.roles[1]: expected one of init, sidecar, app, "
            "not 'Sidecar' (did you mean 'sidecar'?)",
        ),
        (
            "onPolicyError: dney\n",
            "c.yaml:1: onPolicyError: expected one of allow, deny, not 'dney' (did you mean "
            "'deny'?)",
        ),
        (
            "policies:\n  init-lint:\n    checks: [never-ends, image-tags]\n",
            "c.yaml:3: policies.init-lint.checks: unknown checks ['image-tags'] (known: "
            "['never-ends', 'unbounded-wait', 'unused-volume', 'image-tag']) (did you mean "
            "'image-tag'?)",
        ),
        (
            "policies:\n  init-privileged:\n    presets: {istoi: false}\n",
            "c.yaml:3: policies.init-privileged.presets: unknown presets ['istoi'] (known: "
            "['istio', 'linkerd']) (did you mean 'istio'?)",
        ),
        (
            "policies:\n  init-privileged:\n    extraChecks: [procmount]\n",
            "(did you mean 'procMount'?)",
        ),
        ("mode: strict\n", "not 'strict'\n"),  # nothing close: no guess
        (
            "rules:\n  - {id: Init_Registry, description: D., expression: 'true'}\n",
            "c.yaml:2: rules[0].id: expected a kebab-case id such as init-registry (lowercase "
            "letters, digits and dashes, at most 63), not 'Init_Registry'",
        ),
        (
            f"rules:\n  - {{id: r, description: D., expression: '{'true || ' * 800}true'}}\n",
            "c.yaml:2: rules[0].expression: at most 5,120 characters, not 6,404",
        ),
        # An exemption entry in its object form is read like any object (not through the
        # union's tag): its keys are known, its values described, a key spelt `glob` is kept.
        (
            "exemptions:\n  namespaces:\n    - namespce: legacy\n",
            "c.yaml:3: exemptions.namespaces[0]: unknown key 'namespce' (did you mean "
            "'namespace'?)",
        ),
        (
            "exemptions:\n  users:\n    - {user: ci, expires: 5}\n",
            "c.yaml:3: exemptions.users[0].expires: expected a string such as 2027-03-31",
        ),
        (
            "exemptions:\n  groups:\n    - {group: ops, glob: x}\n",
            "c.yaml:3: exemptions.groups[0]: unknown key 'glob' (known keys: expires, reason, group)",
        ),
        ("mode: [enforce\n", "c.yaml:2:1: not valid YAML"),
        ("- enforce\n", "c.yaml: the configuration must be a mapping, not list"),
    ],
)
def test_an_invalid_file_names_the_problem_and_its_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, source="c.yaml")
    assert message in f"{raised.value}\n"


def test_every_problem_is_reported_at_once_sorted_by_line() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(
            "policies:\n  init-lint: {mode: loud}\nmode: loud\nonPolicyError: maybe\n",
            source="c.yaml",
        )
    assert str(raised.value).splitlines() == [
        "c.yaml:2: policies.init-lint.mode: expected one of off, audit, warn, enforce, not 'loud'",
        "c.yaml:3: mode: expected one of off, audit, warn, enforce, not 'loud'",
        "c.yaml:4: onPolicyError: expected one of allow, deny, not 'maybe'",
    ]


def test_listing_namespaces_replaces_the_default_list() -> None:
    config = parse_config("exemptions: {namespaces: [sandbox]}\n", source="c.yaml")
    assert config.exemptions.namespaces == ("sandbox",)
    assert parse_config("exemptions: {users: [ci]}\n", source="c.yaml").exemptions.namespaces == (
        "kube-system",
        "kube-public",
        "kube-node-lease",
    )


def test_global_namespace_exemptions_may_end_as_every_other_exemption() -> None:
    text = """\
exemptions:
  namespaces:
    - kube-system
    - {namespace: legacy-*, expires: "2027-03-31", reason: INC-4711 until the migration}
"""
    (plain, ending) = parse_config(text, source="c.yaml").exemptions.namespaces
    assert plain == "kube-system"
    assert not isinstance(ending, str)
    assert (ending.namespace, ending.expires, ending.reason) == (
        "legacy-*",
        "2027-03-31",
        "INC-4711 until the migration",
    )


def test_default_yaml_is_plain_yaml() -> None:
    data = yaml.safe_load(render_default())
    assert data["policies"]["init-lint"]["mode"] == "warn"
    assert "mode" not in data["policies"]["init-privileged"]
