"""The documents of the chart's generated templates: each object `initgate export` may generate,
built by the same code from the same plans, with what the configuration decides written as Go
templates (`ChartWriter`) and a condition that renders it only where export generates it
(webhook/native/chart.py assembles them into files).

A policy whose mode is off, or a binding whose capped mode is off, is left out by its condition,
so that `helm upgrade` deletes it. Names are `<fullname>-<policy id>[-<cap>]`
(`initgate.nativeName`), labels the chart's (`initgate.labels`), namespaceSelectors those of the
webhook entries (`initgate.namespaceSelector`). A text may hold a user rule's placeholders
(webhook/native/chart_rules.py): the `Emitter` says how the template computes it.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from policies.base import Mode
from webhook.native import bindings, builders, mutating_objects
from webhook.native.builders import Expression
from webhook.native.export import Planned, policy_object
from webhook.native.gotemplate import Marks, document
from webhook.native.literals import Condition, Setting, go_string

COMPONENT = "native-policies"


def _static(_text: str) -> str | None:
    return None


def _unchanged(template: str) -> str:
    return template


@dataclass(frozen=True, slots=True)
class Emitter:
    """What the documents of one set of template files are written with."""

    marks: Marks = field(default_factory=Marks)
    computed: Callable[[str], str | None] = _static
    """The Go expression computing a text that holds placeholders (None: a static text)."""
    rewritten: Callable[[str], str] = _unchanged
    """A setting's template, with the placeholders it holds replaced."""

    def go(self, text: str) -> str:
        """A Go expression of `text`."""
        return self.computed(text) or go_string(text)


class ChartWriter:
    """The chart's way of writing the configuration into a planned policy: Go templates."""

    def __init__(self, emitter: Emitter) -> None:
        self.emitter = emitter
        self.marks = emitter.marks

    def value(self, setting: Setting) -> Any:
        return self.marks.scalar(f"({self.emitter.rewritten(setting.template)}) | toJson")

    def literal(self, setting: Setting) -> str:
        return self.marks.scalar(f"({self.emitter.rewritten(setting.template)}) | toJson | toJson")

    def condition(self, condition: Condition) -> Expression | None:
        """The condition, written when its value (`.` in the template) is not empty."""
        parts = []
        for text, name, _, _ in string.Formatter().parse(condition.expression):
            parts.append(go_string(text))
            if name is not None:
                parts.append("(toJson .)")
        guard = f"({self.emitter.rewritten(condition.template)})"
        return {
            "name": condition.name,
            "expression": self.marks.scalar(f"print {' '.join(parts)} | toJson", guard=guard),
        }


@dataclass(frozen=True, slots=True)
class Document:
    kind: str
    preface: tuple[str, ...]
    """Template lines before it (assignments the condition reads)."""
    condition: str
    obj: dict[str, Any]

    def lines(self, marks: Marks) -> list[str]:
        return [*self.preface, *document(self.obj, marks, condition=self.condition)]


def _name(emitter: Emitter, suffix: str) -> str:
    return emitter.marks.scalar(
        f'include "initgate.nativeName" (list $ {emitter.go(suffix)}) | toJson'
    )


def _charted(obj: dict[str, Any], emitter: Emitter, policy_id: str) -> dict[str, Any]:
    """`obj` with the chart's labels, and its routing conditions (a policy's)."""
    chart = emitter.marks.block(f'include "initgate.labels" (list $ {go_string(COMPONENT)})')
    obj["metadata"]["labels"] = {chart: "", builders.POLICY_LABEL: policy_id}
    if "matchConditions" in obj["spec"]:
        routing = emitter.marks.block("toYaml .", guard="$.Values.webhooks.matchConditions")
        obj["spec"]["matchConditions"].insert(0, routing)
    return obj


def _mode(template: str) -> str:
    return f"{{{{- $mode = {template} }}}}"


def _capped(cap: Mode) -> str:
    return f'{{{{- $capped = index $native.caps $mode "{cap.value}" }}}}'


def _matching(emitter: Emitter, cap: Mode) -> dict[str, Any]:
    selector = f'include "initgate.namespaceSelector" (dict "root" $ "mode" "{cap.value}")'
    return {
        "namespaceSelector": emitter.marks.block(selector),
        "objectSelector": emitter.marks.block("toYaml .", guard="$.Values.webhooks.objectSelector"),
    }


def _binding(emitter: Emitter, policy_id: str, cap: Mode, *, mutates: bool) -> dict[str, Any]:
    """The binding of the policy under the namespace cap `cap`."""
    name, policy_name = _name(emitter, f"{policy_id}-{cap.value}"), _name(emitter, policy_id)
    if mutates:
        binding = builders.mutating_binding(
            name, policy=policy_id, policy_name=policy_name, namespace_selector={}
        )
    else:
        binding = builders.validating_binding(
            name, policy=policy_id, policy_name=policy_name, actions=[], namespace_selector={}
        )
        binding["spec"]["validationActions"] = emitter.marks.scalar(
            "index $native.actions $capped | toJson"
        )
    binding["spec"]["matchResources"] = _matching(emitter, cap)
    return _charted(binding, emitter, policy_id)


def _own_mode(planned: Planned) -> str:
    own = planned.mode.template
    if planned.most is not Mode.ENFORCE:  # init-lint's approximations only warn
        own = f'index $native.caps ({own}) "{planned.most.value}"'
    return _mode(own)


def validating_policy(emitter: Emitter, planned: Planned, *, when: str = "") -> Document:
    """The policy of a validating plan, rendered when its mode is not off (and `when`)."""
    name = _name(emitter, planned.policy_id)
    policy = policy_object(planned, ChartWriter(emitter), name=name, routing=[], extra_labels={})
    condition = f'and (ne $mode "off") ({when})' if when else 'ne $mode "off"'
    obj = _charted(policy, emitter, planned.policy_id)
    return Document(obj["kind"], (_own_mode(planned),), condition, obj)


def validating_bindings(emitter: Emitter, planned: Planned, *, when: str = "") -> list[Document]:
    """Its binding per namespace cap, rendered when the capped mode is not off (and `when`)."""
    condition = f'and (ne $capped "off") ({when})' if when else 'ne $capped "off"'
    return [
        Document(
            "ValidatingAdmissionPolicyBinding",
            (_own_mode(planned), _capped(cap)),
            condition,
            _binding(emitter, planned.policy_id, cap, mutates=False),
        )
        for cap in bindings.CAPS
    ]


def mutating_documents(emitter: Emitter, planned: mutating_objects.Planned) -> list[Document]:
    """A mutating policy's objects, as `mutating_objects.build` chooses them: the MAP and its
    bindings where a capped mode is enforce, the companion VAP and its bindings where it is warn
    or audit."""
    objects = mutating_objects.objects(
        planned,
        ChartWriter(emitter),
        name=_name(emitter, planned.policy_id),
        routing=[],
        object_selector={},
        extra_labels={},
    )
    mode = _mode(planned.mode.template)
    capped = "(values (index $native.caps $mode))"
    found = [
        Document(
            "MutatingAdmissionPolicy",
            (mode,),
            f'has "enforce" {capped}',
            _charted(mutating_objects.policy(objects), emitter, planned.policy_id),
        ),
        Document(
            "ValidatingAdmissionPolicy",
            (mode,),
            f'without {capped} "enforce" "off"',
            _charted(mutating_objects.companion(objects), emitter, planned.policy_id),
        ),
    ]
    bound = (
        ("MutatingAdmissionPolicyBinding", 'eq $capped "enforce"', True),
        (
            "ValidatingAdmissionPolicyBinding",
            'and (ne $capped "off") (ne $capped "enforce")',
            False,
        ),
    )
    for cap in bindings.CAPS:
        found.extend(
            Document(
                kind,
                (mode, _capped(cap)),
                condition,
                _binding(emitter, planned.policy_id, cap, mutates=mutates),
            )
            for kind, condition, mutates in bound
        )
    return found
