"""The chart's documents for the platform team's own rules (`config.rules`), which are known only
when the chart is rendered: each rule becomes its policy and bindings inside a `range` over
`$config.rules` (`$rule`: the rule merged over its defaults), written from the plan of a rule
made of placeholders (`own_rules` wraps every rule's text alike, so that the template only
prints the rule's own text between constant strings).

What decides the policy's shape is the rule's `variant`: its scope, whether it has a
messageExpression, and whether a container rule names `volumes` (`celtext`, which the template
reads with the same patterns). A rule that cannot be generated for the cluster's Kubernetes
version (`own_rules.unreadable`) has no variant: no policy, and the chart says so (NOTES.txt),
or fails when nothing else would judge it (the `initgate.nativeConfig` helper).
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Literal

from webhook.core.config import Config
from webhook.core.rules import RuleSettings
from webhook.native import celtext, own_rules
from webhook.native.chart_documents import (
    Document,
    Emitter,
    validating_bindings,
    validating_policy,
)
from webhook.native.chart_versions import versions
from webhook.native.export import NEWEST, OLDEST, GenerationError, Options, rule_plan
from webhook.native.gotemplate import Marks
from webhook.native.literals import go_string, literal

ID = "zz-chart-rule-id"
TEXT = "ZZ_CHART_RULE_TEXT"
EXPRESSION = "'ZZ_CHART_RULE_EXPRESSION' != ''"
NAMING_VOLUMES = f"size(volumes) >= 0 && {EXPRESSION}"
MESSAGE_EXPRESSION = "'ZZ_CHART_RULE_MESSAGE_EXPRESSION'"
_PLACEHOLDERS = {
    NAMING_VOLUMES: "$rule.expression",
    EXPRESSION: "$rule.expression",
    MESSAGE_EXPRESSION: "$rule.messageExpression",
    literal(TEXT): "(toJson $text)",
    TEXT: "$text",
    ID: "$rule.id",
}
"""Each placeholder, as it stands in the generated text, and what the template prints there.
`$text` is the rule's message (or its description) on one line, as `own_rules` flattens it."""
_FOUND = re.compile(
    "(" + "|".join(re.escape(p) for p in sorted(_PLACEHOLDERS, key=len, reverse=True)) + ")"
)
LEFT_OVER = ("ZZ_CHART", ID)
"""What no template may still hold once the placeholders are replaced."""

OPENING = (
    "{{- range $rule := $config.rules }}",
    '{{- $variant := include "initgate.nativeRuleVariant" (list $ $native $rule) }}',
    '{{- $text := include "initgate.nativeRuleText" (list $native $rule) }}',
)
CLOSING = ("{{- end }}",)


def computed(text: str) -> str | None:
    """The Go expression printing `text` with its placeholders replaced; None: it has none."""
    parts = _FOUND.split(text)
    if len(parts) == 1:
        return None
    printed = [
        _PLACEHOLDERS[part] if index % 2 else go_string(part)
        for index, part in enumerate(parts)
        if index % 2 or part
    ]
    return printed[0] if len(printed) == 1 else f"(print {' '.join(printed)})"


def rewritten(template: str) -> str:
    """A setting's template: the placeholder id is the rule's."""
    return template.replace(go_string(ID), "$rule.id")


def variant(scope: str, *, message: bool, volumes: bool) -> str:
    """The name `initgate.nativeRuleVariant` gives a rule's shape."""
    return scope + ("+message" if message else "") + ("+volumes" if volumes else "")


Scope = Literal["container", "pod"]


def _rule(scope: Scope, *, message: bool, volumes: bool) -> RuleSettings:
    return RuleSettings(
        id=ID,
        description=TEXT,
        scope=scope,
        expression=NAMING_VOLUMES if volumes else EXPRESSION,
        message_expression=MESSAGE_EXPRESSION if message else "",
    )


SCOPES: tuple[Scope, ...] = ("container", "pod")
SHAPES = [
    (scope, message, volumes)
    for scope in SCOPES
    for message, volumes in itertools.product((False, True), repeat=2)
    if scope == "container" or not volumes
]
"""Every variant: a pod rule cannot name `volumes` (it is no variable of a pod rule)."""


def _minors(rule: RuleSettings) -> list[int]:
    return [
        minor
        for minor in range(OLDEST[1], NEWEST[1] + 1)
        if not own_rules.unreadable(rule, indexed=Options((1, minor)).indexed)
    ]


def documents(marks: Marks) -> list[Document]:
    """The documents inside the range over the rules: a policy per variant, the bindings."""
    emitter = Emitter(marks, computed=computed, rewritten=rewritten)
    found: list[Document] = []
    for scope, message, volumes in SHAPES:
        rule = _rule(scope, message=message, volumes=volumes)
        when = f'eq $variant "{variant(scope, message=message, volumes=volumes)}"'
        found.extend(
            versions(
                emitter,
                [
                    (minor, [validating_policy(emitter, _plan(rule, minor), when=when)])
                    for minor in _minors(rule)
                ],
            )
        )
    rule = _rule("container", message=False, volumes=False)
    found.extend(
        versions(
            emitter,
            [
                (minor, validating_bindings(emitter, _plan(rule, minor), when="$variant"))
                for minor in _minors(rule)
            ],
        )
    )
    return found


def _plan(rule: RuleSettings, minor: int) -> Any:
    return rule_plan(Config(), Options((1, minor), now=1.0), rule)


def checked(text: str) -> str:
    """`text`, a generated template file, once no placeholder is left in it."""
    for left in LEFT_OVER:
        if left in text:
            raise GenerationError(f"a rule's placeholder {left} left in a template (chart_rules)")
    return text


def data() -> dict[str, Any]:
    """What the helpers read of the rules in files/native.json."""
    defaults = RuleSettings(id=ID, description=TEXT, expression=EXPRESSION).model_dump(
        mode="json", by_alias=True
    )
    for name, field in RuleSettings.model_fields.items():
        if field.is_required():
            del defaults[field.alias or name]
    volumes = _rule("container", message=False, volumes=True)
    return {
        "defaults": defaults,
        "models": {"exemptions": {}},
        "ignored": celtext.IGNORED,
        "selected": celtext.SELECTED,
        "volumes": celtext.naming(own_rules.NO_MAPS),
        "volumesFrom": f">=1.{_minors(volumes)[0]}.0-0",
        "blanks": _blanks(),
        "unreadable": own_rules.unreadable(volumes, indexed=False).replace(ID, "%s"),
    }


def _blanks() -> str:
    """A regular expression matching a run of what Python's `str.split()` splits on (as
    `own_rules` flattens a message): the characters themselves, for Go's RE2 and Python's re."""
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    ranges = []
    for _, run in itertools.groupby(enumerate(spaces), key=lambda p: ord(p[1]) - p[0]):
        chars = [c for _, c in run]
        ranges.append(chars[0] if len(chars) == 1 else f"{chars[0]}-{chars[-1]}")
    return f"[{''.join(ranges)}]+"
