"""The chart's native-policy helpers (templates/_native.tpl) compute what their Python
counterparts in webhook/native/literals.py compute: each is called through the real helm, in a
probe chart holding the chart's helpers and files/native.json, and compared with Python's answer."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import yaml

from policies import BY_ID
from policies.init_privileged import InitPrivilegedSettings
from tests.chart.native_cases import RULES
from tests.chart.probe import Probe, probe_chart
from tests.chart.render import CHART, merged
from webhook.core.config import Config
from webhook.native import literals

pytestmark = pytest.mark.chart

GLOBS = [
    "*",
    "?",
    "kube-*",
    "system:serviceaccount:ci:*",
    r"a.b+c(d)|e[f]{g}^h$i\j",
    r"back\*slash\?",
    "*.example.com/*:v?",
    "ünïcödé-*",
    "[:@]*",
    "x**y??",
]


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Probe:
    return probe_chart(tmp_path_factory.mktemp("probe"))


def test_globs_are_regexes_as_literals_writes_them(probe: Probe) -> None:
    got = probe(
        {"exemptions": {"users": GLOBS}},
        [
            'include "initgate.nativeGlobs" (index $config "exemptions" "users")',
            'include "initgate.nativeGlobs" (index $config "exemptions" "groups")',
            *(f'include "initgate.nativeGlobs" (list {json.dumps(g)})' for g in GLOBS),
        ],
    )
    assert got == [
        literals.glob_regex(GLOBS),
        "",
        *(literals.glob_regex([g]) for g in GLOBS),
    ]


@pytest.mark.parametrize(
    "expires",
    [
        "2020-01-01",
        "2099-12-31",
        "2020-06-30T12:00:00Z",
        "2099-06-30t12:00:00z",
        "2099-06-30 12:00:00+02:00",
        "2020-06-30T12:00:00.25-05:00",
        "2099-06-30T12:00:00.999999Z",
    ],
)
def test_ended_exemptions_are_left_out_as_the_service_ends_them(probe: Probe, expires: str) -> None:
    entries = [{"namespace": "kept"}, {"namespace": "timed", "expires": expires}]
    (got,) = probe(
        {"exemptions": {"namespaces": entries}},
        ['include "initgate.nativeGlobs" (index $config "exemptions" "namespaces")'],
    )
    config = Config.model_validate({"exemptions": {"namespaces": entries}})
    (condition,) = [
        c for c in literals.who(config.exemptions, "x", time.time(), ()) if c.name == "x-namespaces"
    ]
    assert got == condition.value
    assert ("timed" in got) is expires.startswith("2099")


IMAGES: list[dict[str, Any]] = [
    {"image": "busybox:*", "allow": ["hostPathWrite:data", "seccompUnconfined", "limit:*"]},
    {"image": "net/*", "allow": ["capability:NET_ADMIN"], "namespaces": ["mesh-*", "ci"]},
    {"image": "host/*", "exceptHostNetwork": True, "expires": "2099-01-01"},
    {"image": "ended/*", "expires": "2020-01-01"},
    {"image": "nothing/*", "allow": []},
]


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"exemptions": {"images": IMAGES}},
        {"policies": {"init-privileged": {"exemptions": {"images": IMAGES[:2]}}}},
        {"policies": {"init-privileged": {"presets": {"istio": False}}}},
        {"policies": {"init-privileged": {"presets": {"istio": False, "linkerd": False}}}},
        {
            "exemptions": {"images": IMAGES[2:]},
            "policies": {"init-unbounded": {"exemptions": {"images": IMAGES[:1]}}},
        },
    ],
)
@pytest.mark.parametrize("policy_id", ["init-privileged", "init-unbounded"])
def test_image_exemptions_with_presets_and_renamed_keys(
    probe: Probe, config: dict[str, Any], policy_id: str
) -> None:
    renamed = BY_ID[policy_id].renamed_keys
    pairs = json.dumps(json.dumps([list(pair) for pair in renamed]))
    (got,) = probe(
        config,
        [
            'include "initgate.nativeImages" (list $config $native'
            f' (index $config "policies" "{policy_id}") "{policy_id}" {pairs})'
        ],
    )
    parsed = Config.model_validate(config)
    expected = literals.images(parsed, parsed.policy(policy_id), time.time(), renamed)
    assert json.loads(got) == expected


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"mode": "warn", "exemptions": {"namespaces": [], "users": ["u"]}},
        {"policies": {"init-unbounded": {"suggested": {"cpu": "1"}, "mode": "audit"}}},
        {"policies": {"init-privileged": {"presets": {"istio": False, "linkerd": True}}}},
        {"policies": {"init-lint": {"exemptions": {"groups": ["g"]}}}},
        {
            "rules": [
                *({k: v for k, v in rule.items() if k != "exemptions"} for rule in RULES),
                {**RULES[0], "exemptions": {"namespaces": ["ci-*"], "groups": ["g"]}},
            ]
        },
    ],
)
def test_config_is_merged_as_the_service_reads_it(probe: Probe, config: dict[str, Any]) -> None:
    """Models key by key (each user rule over a rule's defaults), anything else (a list,
    `suggested`) replaced whole. (Exemption entries are read as written: the helpers take
    either form.)"""
    (got,) = probe(config, ["$config"])
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())["config"]
    expected = Config.model_validate(merged(defaults, config)).model_dump(
        mode="json", by_alias=True
    )
    assert got == expected


def test_literals_are_the_text_of_helms_to_json(probe: Probe) -> None:
    """`initgate export` writes a setting's literal as Helm's toJson writes it: the same text."""
    footer = 'a <b> & c\u2028ü \\ " \t \x01 \U0001f600'
    suggested = {"memory": "1Gi", "cpu": "1", "ephemeral-storage": "2Gi"}
    config = {"messageFooter": footer, "policies": {"init-unbounded": {"suggested": suggested}}}
    got = probe(
        config,
        [
            'index $config "messageFooter" | toJson',
            'index $config "policies" "init-unbounded" "suggested" | toJson',
        ],
    )
    assert got == [literals.literal(footer), literals.literal(suggested)]


def test_allowed_capabilities_are_the_settings(probe: Probe) -> None:
    """As the webhook's settings hold them: upper case, without CAP_; unset stays null."""
    names = ["net_admin", "CAP_CHOWN", "Cap_kill", "SYS_TIME"]
    for allowed in (names, None, []):
        config = {"policies": {"init-privileged": {"allowedCapabilities": allowed}}}
        (got,) = probe(
            config,
            [
                'include "initgate.nativeCapabilities"'
                ' (index $config "policies" "init-privileged" "allowedCapabilities")'
                " | fromJsonArray"
            ],
        )
        settings = Config.model_validate(config).policy("init-privileged")
        assert isinstance(settings, InitPrivilegedSettings)
        held = settings.allowed_capabilities
        assert got == (list(held) if held is not None else None)
