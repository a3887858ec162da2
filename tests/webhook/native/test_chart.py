"""What the generator writes into the chart: every setting and condition of every plan as its
template, the data the helpers read from the models, and the chart's files up to date (the
rendered objects themselves are compared with `initgate export`'s in tests/chart/test_native.py)."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from policies import REGISTRY
from policies.base import Mode
from webhook.core.config import Config
from webhook.core.rules import RuleSettings
from webhook.native import chart, chart_rules, own_rules
from webhook.native.bindings import ACTIONS
from webhook.native.export import Options, mutating_plans, plan, rule_plan
from webhook.native.gotemplate import scalar
from webhook.native.literals import Condition, Setting, literal

CHART = Path(__file__).resolve().parents[3] / "charts" / "initgate"


def test_the_charts_files_are_generated() -> None:
    """`make manifests` wrote them from this code (deploy/generate.py --check also says so)."""
    for path, text in chart.templates().items():
        assert (CHART / path).read_text() == text, path
    assert json.loads((CHART / chart.DATA).read_text()) == chart.data()


def test_every_setting_and_condition_is_its_template() -> None:
    text = "\n".join(chart.templates().values())
    for planned in plan(Config(), Options()):
        # init-lint's approximations only warn: its mode is capped in the template too.
        assert f"$mode = {planned.mode.template} }}" in text or (
            f'$mode = index $native.caps ({planned.mode.template}) "{planned.most.value}" }}'
            in text
        )
        assert f"({planned.failure_policy.template}) | toJson" in text
        for variable in planned.variables:
            if isinstance(variable, Setting):
                assert f"({variable.template}) | toJson | toJson" in text, variable.name
            elif variable["name"] != "containers":  # by Kubernetes version
                assert f"expression: {scalar(variable['expression'])}" in text
        for condition in planned.conditions:
            if isinstance(condition, Condition):
                assert f"{{{{- with ({condition.template}) }}}}" in text, condition.name
            else:
                assert f"expression: {scalar(condition['expression'])}" in text


def test_every_mutating_and_rule_setting_is_its_template() -> None:
    """The mutating policies' settings and conditions, and a user rule's (read from `$rule`,
    its placeholder id the rule's own), are written as their templates too."""
    text = "\n".join(chart.templates().values())
    for planned in mutating_plans(Config(), Options()):
        assert f"$mode = {planned.mode.template} }}" in text
        for setting in planned.settings:
            assert f"({setting.template}) | toJson | toJson" in text, setting.name
        for condition in planned.conditions:
            assert f"{{{{- with ({condition.template}) }}}}" in text, condition.name
    rule = RuleSettings(id=chart_rules.ID, description="d", expression="true")
    ruled = rule_plan(Config(), Options(), rule)
    assert f"$mode = {ruled.mode.template} }}" in text
    assert "index $rule" in ruled.mode.template
    for variable in ruled.variables:
        if isinstance(variable, Setting):
            template = chart_rules.rewritten(variable.template)
            assert f"({template}) | toJson | toJson" in text, variable.name
    for left in chart_rules.LEFT_OVER:
        assert left not in text


def test_placeholders_are_printed_between_constant_strings() -> None:
    computed = chart_rules.computed
    assert computed("no placeholder") is None
    assert computed(f"{chart_rules.ID}: {chart_rules.TEXT}") == '(print $rule.id ": " $text)'
    wrapped = f"[e.c].all(container, ({chart_rules.EXPRESSION}\n))"
    assert computed(wrapped) == '(print "[e.c].all(container, (" $rule.expression "\\n))")'
    said = f"x + {literal(chart_rules.TEXT)}"
    assert computed(said) == '(print "x + " (toJson $text))'


def test_the_rules_data_are_own_rules() -> None:
    data = chart.data()["rules"]
    rule = RuleSettings.model_validate(
        {**data["defaults"], "id": "r", "description": "d", "expression": "true"}
    )
    assert rule == RuleSettings(id="r", description="d", expression="true")
    assert data["models"] == {"exemptions": {}}
    assert data["volumesFrom"] == ">=1.33.0-0"
    naming = RuleSettings(id="r", description="d", expression="volumes.size() > 0")
    assert data["unreadable"] % "r" == own_rules.unreadable(naming, indexed=False)
    blanks = re.compile(data["blanks"])
    for text in ("a  b", " a\n\u2003b\x1c ", "\u00a0"):
        assert blanks.sub(" ", text).strip(" ") == " ".join(text.split())


def test_the_defaults_are_the_models() -> None:
    data = chart.data()
    assert Config.model_validate(data["defaults"]) == Config()
    # Settings models merge key by key, map settings entry by entry (policies.policy).
    maps = {
        policy.id: {
            name: "map"
            for name, field in policy.settings.model_fields.items()
            if typing.get_origin(field.annotation) is dict
        }
        for policy in REGISTRY
    }
    by_alias = {
        policy.id: {
            (policy.settings.model_fields[name].alias or name): kind
            for name, kind in maps[policy.id].items()
        }
        for policy in REGISTRY
    }
    assert data["models"] == {
        "exemptions": {},
        "policies": {policy.id: {"exemptions": {}, **by_alias[policy.id]} for policy in REGISTRY},
    }


def test_presets_are_the_policies() -> None:
    """Switched on together (the default), the presets are the built-in image exemptions."""
    presets = chart.data()["presets"]
    assert set(presets) == {"init-privileged"}
    for policy_id, named in presets.items():
        settings = Config().policy(policy_id)
        builtin = [
            e.model_dump(mode="json", by_alias=True)
            for e in settings.image_exemptions()
            if e not in settings.exemptions.images
        ]
        assert [image for preset in named for image in preset["images"]] == builtin
        assert [preset["name"] for preset in named] == list(getattr(settings, "presets", {}))


def test_caps_and_actions_are_the_bindings() -> None:
    data = chart.data()
    for mode in Mode:
        for cap in (Mode.ENFORCE, Mode.WARN, Mode.AUDIT):
            assert data["caps"][mode.value][cap.value] == mode.cap(cap).value
    assert data["actions"] == {mode.value: list(actions) for mode, actions in ACTIONS.items()}
