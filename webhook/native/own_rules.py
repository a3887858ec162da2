"""The platform team's own rules (docs/rules.md) as ValidatingAdmissionPolicies: one per rule,
its expression inserted as it is written, with every variable a rule may read computed in CEL
from the request.

Kubernetes has no `cel.bind`: the rule's variables are bound by wrapping its text, the same
text around every rule (the chart wraps alike, with Go templates):

    [e.c].all(container, [e.role].all(role, ... [variables.requestInfo].all(request, (EXPR
    )))...)

A container rule runs for each judged container whose role is in its `roles` (`e`, an entry of
`variables.entries`, where each variable's value is worked out once per container); a pod rule
once. Every variable is bound, whether the rule reads it or not, and `fills` and `readsFrom` are
worked out for every judged container (docs/native-policies.md: the cost). `volumes` is worked
out only for a rule that names it (`reads_volumes`; otherwise it is `{}`, which the rule cannot
tell): building a map needs `transformMapEntry` (Kubernetes 1.33 and later), which initgate's own
CEL runtime cannot evaluate, so that the test suite can evaluate every other rule.
The newline before the closing parenthesis ends a `//` comment the rule may end with.
"""

from __future__ import annotations

from policies.readonly_mounts import ReadonlyMountsSettings
from webhook.core.rules import MESSAGE_LIMIT, RuleSettings
from webhook.native import celtext, flow, pods
from webhook.native.binding import let
from webhook.native.builders import Expression
from webhook.native.generated import Validating
from webhook.native.literals import Setting, exempt, literal, path

_META_FIELDS = (
    "name",
    "generateName",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
)
"""ObjectMeta's fields besides `namespace`: a template's metadata, rebuilt with a namespace."""
_TEMPLATE_METADATA = (
    "object.kind == 'Pod' ? object.metadata : (object.kind == 'CronJob'"
    " ? object.spec.jobTemplate.spec.template : object.spec.template).?metadata.orValue({})"
)
POD: list[Expression] = [
    {
        "name": "podMetadata",
        "expression": let(
            "m",
            _TEMPLATE_METADATA,
            "m.?namespace.orValue('') != '' || request.namespace == '' ? m : {"
            + "".join(f"?'{f}': m.?{f}, " for f in _META_FIELDS)
            + "?'namespace': optional.of(dyn(request.namespace))}",
        ),
    },
    {
        "name": "pod",
        "expression": "{'apiVersion': dyn('v1'), 'kind': dyn('Pod'),"
        " 'metadata': dyn(variables.podMetadata), 'spec': dyn(variables.spec)}",
    },
    {
        "name": "requestInfo",
        "expression": "{'operation': dyn(request.operation), 'namespace': dyn(request.namespace),"
        " 'dryRun': dyn(request.?dryRun.orValue(false)), 'kind': dyn({'group': request.kind.group,"
        " 'version': request.kind.version, 'kind': request.kind.kind}), 'userInfo': dyn({"
        "'username': dyn(request.userInfo.username),"
        " 'groups': dyn(request.userInfo.?groups.orValue([]))})}",
    },
]
"""`object` (the Pod, or a workload's pod template as a Pod in the request's namespace) and
`request` as a rule sees them (`webhook.core.rules`)."""

CONTAINER_BINDINGS = (
    ("container", "e.c"),
    ("role", "e.role"),
    ("path", "e.path"),
    ("object", "variables.pod"),
    ("volumes", "e.volumes"),
    ("fills", "e.fills"),
    ("readsFrom", "e.readsFrom"),
    ("request", "variables.requestInfo"),
)
POD_BINDINGS = (("object", "variables.pod"), ("request", "variables.requestInfo"))
NO_MAPS = "volumes"
"""The variable that cannot be computed before Kubernetes 1.33: a map with keys read from the
object needs a two-variable comprehension (transformMapEntry)."""


def bindings(scope: str, *, indexed: bool) -> tuple[tuple[str, str], ...]:
    """The variables bound around a rule of `scope`, each with the CEL of its value."""
    if scope == "pod":
        return POD_BINDINGS
    return tuple(b for b in CONTAINER_BINDINGS if indexed or b[0] != NO_MAPS)


def wrap(text: str, listed: tuple[tuple[str, str], ...], *, message: bool = False) -> str:
    """A rule's expression (or messageExpression, `message`) with its variables bound: the same
    text before and after every rule's."""
    if message:
        return "".join(f"[{value}].map({name}, " for name, value in listed) + (
            f"({text}\n)" + ")[0]" * len(listed)
        )
    return "".join(f"[{value}].all({name}, " for name, value in listed) + (
        f"({text}\n)" + ")" * len(listed)
    )


def _volumes(entry: str) -> str:
    """CEL: the pod-level definition of each volume the container mounts, by name."""
    return (
        f"variables.spec.?volumes.orValue([]).filter(v,"
        f" {entry}.c.?volumeMounts.orValue([]).exists(m, m.name == v.name))"
        ".transformMapEntry(i, v, {v.name: v})"
    )


def reads_volumes(rule: RuleSettings) -> bool:
    """Whether a container rule's expression or messageExpression names `volumes`, read as
    text (`celtext`: the chart's templates decide alike). A compiled expression that reads it
    names it; an iteration variable named so counts too."""
    texts = (rule.expression, rule.message_expression)
    return rule.scope == "container" and any(celtext.names(t, NO_MAPS) for t in texts)


def _entries(rule: RuleSettings, *, indexed: bool) -> Expression:
    values = {
        "c": "e.c",
        "name": "e.name",
        "role": "e.role",
        "label": f"dyn({pods.label('e')})",
        "path": "dyn(variables.template + '.' + e.field)",
        "volumes": f"dyn({_volumes('e')})" if reads_volumes(rule) else "dyn({})",
        "fills": f"dyn({flow.fills('e')})",
        "readsFrom": f"dyn({flow.reads_from('e')})",
        "exempt": f"dyn({exempt('e', literal(rule.id))})",
    }
    if not indexed:
        del values[NO_MAPS]
    body = ", ".join(f"'{k}': {v}" for k, v in values.items())
    judged = "variables.containers.filter(e, e.role in variables.roles)"
    return {"name": "entries", "expression": f"{judged}.map(e, {{{body}}})"}


def _flat(text: str) -> str:
    """A message on one line, as a ValidatingAdmissionPolicy's `message` must be."""
    return " ".join(text.split())


def _kept(text: str, fallback: str) -> str:
    """CEL: the message `text` (a value of any type) when Kubernetes would show it: a string of
    one line, not empty, of at most 5 KiB (trimmed); else `fallback`."""
    return (
        f"(type({text}) == string && {text}.trim() != '' && !{text}.trim().contains('\\n')"
        f" && {text}.size() <= {MESSAGE_LIMIT} ? {text}.trim() : {fallback})"
    )


def generate(rule: RuleSettings, *, data_flow: ReadonlyMountsSettings, indexed: bool) -> Validating:
    """The rule's policy; `data_flow` is readonly-mounts' settings (`fills` and `readsFrom` are
    its analysis), `indexed` says Kubernetes 1.33 or later (docs/native-policies.md).

    A finding's message is the webhook's: the rule's messageExpression on that container (the
    `said` variable, for the failing ones only), else `message`, else the description."""
    listed = bindings(rule.scope, indexed=indexed)
    checked = wrap(rule.expression, listed)
    text = _flat(rule.message or rule.description)
    fallback = f"{rule.id}: {text}"
    said = wrap(rule.message_expression, listed, message=True) if rule.message_expression else ""
    if rule.scope == "pod":
        images = f"variables.containers.all(e, {exempt('e', literal(rule.id))})"
        exempted = f"variables.containers.size() > 0 && {images}"
        variables = [*POD, {"name": "fails", "expression": f"{checked} ? false : !({exempted})"}]
        message = literal(text)
        if said:
            variables.append({"name": "said", "expression": said})
            message = _kept("variables.said", literal(text))
        return Validating(
            settings=[],
            variables=variables,
            validations=[
                {
                    "expression": "!variables.fails",
                    "messageExpression": f"'{rule.id}: pod (' + variables.template + '): ' + "
                    + message,
                    "message": fallback,
                    "reason": "Forbidden",
                }
            ],
            nested=True,
        )
    failing = f"variables.entries.filter(e, {checked} ? false : !e.exempt)"
    variables = [
        *POD,
        *flow.VARIABLES,
        _entries(rule, indexed=indexed),
        {"name": "failing", "expression": failing},
    ]
    findings = f"variables.failing.map(e, e.label + ': ' + {literal(text)})"
    if said:
        each = f"{{'label': e.label, 'text': dyn({said})}}"
        variables.append({"name": "said", "expression": f"variables.failing.map(e, {each})"})
        findings = f"variables.said.map(s, s.label + ': ' + {_kept('s.text', literal(text))})"
    return Validating(
        settings=[
            Setting(
                "roles",
                [r.value for r in rule.roles],
                path("$rule", "roles"),
            ),
            Setting(
                "ignorePreparingInits",
                data_flow.ignore_preparing_inits,
                path("policies", "readonly-mounts", "ignorePreparingInits"),
            ),
        ],
        variables=variables,
        validations=[
            {
                "expression": "variables.failing.size() == 0",
                "messageExpression": f"'{rule.id}: ' + {findings}.join(' | ')",
                "message": fallback,
                "reason": "Forbidden",
            }
        ],
        nested=True,
    )


def unreadable(rule: RuleSettings, *, indexed: bool) -> str:
    """Why the rule cannot be generated for this Kubernetes version ('' when it can)."""
    if indexed or not reads_volumes(rule):
        return ""
    return (
        f"rules: {rule.id}: not generated: it reads `volumes`, a map that CEL builds from the "
        "object only with two-variable comprehensions (Kubernetes 1.33 and later)"
    )
