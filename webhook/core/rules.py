"""A platform team's own rules: CEL over one container (its role, its place, the data it hands
on) or over the pod, configured under `rules:` and judged by the same engine as the built-in
policies (docs/rules.md).

A rule is data, checked when the configuration loads: its expressions compile once, in the one
CEL environment, are held to Kubernetes' language and have their cost bounded. Each rule becomes a
`Policy` whose findings carry the rule's id as their key, so modes, exemptions, messages,
metrics, the audit and the reports treat it as they treat a built-in policy.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from policies import REGISTRY, readonly_mounts
from policies.base import Container, Context, Finding, PodView, Role, text
from policies.base import writes as writes_to
from policies.policy import Policy, PolicySettings
from webhook.core.cel.cost import BUDGET, Read
from webhook.core.cel.environment import CompileError, EvaluationError, activation
from webhook.core.cel.expression import MAX_LENGTH, Expression, compile_checked
from webhook.core.cel.pruning import Shape, prune, shapes

CONTAINER_VARIABLES = frozenset(
    ("container", "role", "path", "object", "volumes", "fills", "readsFrom", "request")
)
POD_VARIABLES = frozenset(("object", "request"))
_ID = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
MESSAGE_LIMIT = 5 * 1024
"""Characters of an evaluated messageExpression, as Kubernetes bounds one (5 KiB)."""
REQUEST_BUDGET = 10 * BUDGET
"""Units every rule together may spend on one request, each evaluation charged its estimated
cost: Kubernetes' budget for one admission request (RuntimeCELCostBudget, 10,000,000). The
per-evaluation budget bounds one container; this bounds a pod of a thousand of them."""
EVALUATION_FLOOR = 100
"""Units an evaluation is charged at the least: its fixed cost (a few microseconds, about what
100 units of work take), which an estimate of 1 would leave a pod of 40,000 containers free to
multiply (docs/performance.md)."""
_SPENT = "rules-spent"


class RuleError(Exception):
    """A rule that could not judge a container (or the pod): what failed, and where."""

    def __init__(self, location: str, detail: str) -> None:
        super().__init__(f"{location}: {detail}")
        self.location = location
        self.detail = detail


class BudgetSpentError(RuleError):
    """The request's rule budget is spent: nothing more is evaluated for it."""


class RuleFailedError(Exception):
    """A rule that could not judge some containers (or the pod): each error with the finding it
    stands for (so that an image exemption of that container covers it), and the findings on
    the containers it could judge."""

    def __init__(self, errors: list[tuple[RuleError, Finding]], findings: list[Finding]) -> None:
        super().__init__("; ".join(str(error) for error, _ in errors))
        self.errors = errors
        self.findings = findings


@functools.lru_cache(maxsize=1024)
def compiled(text_: str, *, pod: bool, message: bool) -> Expression:
    """An expression of a rule, compiled once per text (a reload compiles only what changed)."""
    return compile_checked(
        text_,
        variables=POD_VARIABLES if pod else CONTAINER_VARIABLES,
        results=frozenset(("string",) if message else ("bool",)),
    )


def _checked(value: str, info: ValidationInfo, *, message: bool) -> str:
    if not value and message:
        return value
    pod = info.data.get("scope") == "pod"
    try:
        compiled(value, pod=pod, message=message)
    except CompileError as error:
        where = f" (column {error.column} of the expression)" if error.column else ""
        hint = _COSTLY_POD_RULE if pod and "comprehension" in error.message else ""
        raise ValueError(f"{error.message}{where}{hint}") from None
    return value


_COSTLY_POD_RULE = (
    "; a container rule (roles instead of scope: pod) reads one container's lists at a time"
    " (docs/rules.md, The cost limit)"
)


def _schema(schema: dict[str, Any]) -> None:
    """What `config._conflicts` refuses of one rule alone, in the JSON schema too (so that the
    chart refuses it at `helm install`): a pod-scoped rule that lists roles."""
    schema["if"] = {"properties": {"scope": {"const": "pod"}}, "required": ["scope"]}
    schema["then"] = {"not": {"required": ["roles"]}}


class RuleSettings(PolicySettings):
    """One rule. Its findings are named by its `id`, as a built-in policy's are."""

    model_config = ConfigDict(json_schema_extra=_schema)

    allowed_roles: ClassVar[tuple[Role, ...]] = tuple(Role)

    id: str = Field(
        json_schema_extra={
            "pattern": _ID.pattern,
            "maxLength": 63,
            # Refused by `config._conflicts` with its line; here for the chart's schema.
            "not": {"enum": [policy.id for policy in REGISTRY]},
            "examples": ["init-registry"],
        }
    )
    """Kebab-case, unique, not a built-in policy's id: the finding key, the metric label and
    what an exemption names."""
    description: str = Field(min_length=1)
    """One sentence, for docs, SARIF and reports; the last line of a denial it causes."""
    scope: Literal["container", "pod"] = "container"
    """container: judge each container whose role is in `roles`; pod: judge the pod once."""
    roles: tuple[Role, ...] = (Role.INIT, Role.SIDECAR)
    """Container roles the rule judges: init, sidecar, app, ephemeral."""
    expression: str = Field(min_length=1, max_length=MAX_LENGTH)
    """CEL, true when the container (or pod) complies."""
    message: str = ""
    """What the person who applied the object reads; empty: the description."""
    message_expression: str = Field("", max_length=MAX_LENGTH)
    """CEL giving the message as a string (it may name what the container holds); when it fails
    or gives nothing, `message` is used."""

    @field_validator("id")
    @classmethod
    def _kebab_case(cls, value: str) -> str:
        if _ID.fullmatch(value) is None or len(value) > 63:
            raise ValueError(
                f"expected a kebab-case id such as init-registry (lowercase letters, digits and "
                f"dashes, at most 63), not {value!r}"
            )
        return value

    @field_validator("expression")
    @classmethod
    def _expression_compiles(cls, value: str, info: ValidationInfo) -> str:
        return _checked(value, info, message=False)

    @field_validator("message_expression")
    @classmethod
    def _message_compiles(cls, value: str, info: ValidationInfo) -> str:
        return _checked(value, info, message=True)

    @cached_property
    def check(self) -> Expression:
        return compiled(self.expression, pod=self.scope == "pod", message=False)

    @cached_property
    def explain(self) -> Expression | None:
        if not self.message_expression:
            return None
        return compiled(self.message_expression, pod=self.scope == "pod", message=True)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """What the rules of one configuration share: readonly-mounts' settings (`fills` and
    `readsFrom` come from its analysis, so that the two always agree), and per scope what all
    their expressions read, given to each evaluation in one activation per container."""

    flow: readonly_mounts.ReadonlyMountsSettings
    reads: dict[str, dict[str, Shape]]
    """By scope (`container`, `pod`), per variable, what the scope's rules read of it."""


def rule_set(
    rules: tuple[RuleSettings, ...], flow: readonly_mounts.ReadonlyMountsSettings
) -> RuleSet:
    reads: dict[str, list[Read]] = {"container": [], "pod": []}
    for rule in rules:
        for expression in (rule.check, rule.explain):
            if expression is not None:
                reads[rule.scope].extend(expression.estimate.reads)
    return RuleSet(flow, {scope: shapes(found) for scope, found in reads.items()})


def policy(rule: RuleSettings, rules: RuleSet) -> Policy[Any]:
    """The rule as a validating policy."""

    def evaluate(pod: PodView, context: Context, settings: RuleSettings) -> list[Finding]:
        return _evaluate(pod, context, settings, rules)

    return Policy(
        id=rule.id,
        kind="validate",
        summary=rule.description,
        remedy=rule.description,
        settings=RuleSettings,
        evaluate=evaluate,
    )


def _evaluate(pod: PodView, context: Context, rule: RuleSettings, rules: RuleSet) -> list[Finding]:
    """The rule's findings; `RuleFailedError` when it could not judge a container (or the pod)."""
    if rule.scope == "pod":
        variables = _Variables(pod, context, rules, None)
        try:
            if _complies(rule, variables):
                return []
        except RuleError as error:
            failed = Finding(key=rule.id, message=error.detail, role=None, containers=pod.judged)
            raise RuleFailedError([(error, failed)], []) from None
        message = _message(rule, variables)
        return [Finding(key=rule.id, message=message, role=None, containers=pod.judged)]
    found, errors = [], []
    for container in pod.select(rule.role_set):
        variables = _Variables(pod, context, rules, container)
        try:
            complies = _complies(rule, variables)
        except RuleError as error:
            errors.append((error, _finding(rule, error.detail, container)))
            if isinstance(error, BudgetSpentError):
                break  # the containers after it are not judged either: the error says so
            continue
        if not complies:
            found.append(_finding(rule, _message(rule, variables), container))
    if errors:
        raise RuleFailedError(errors, found)
    return found


def _finding(rule: RuleSettings, message: str, container: Container) -> Finding:
    return Finding(key=rule.id, message=message, role=container.role, container=container)


def _charged(variables: _Variables, expression: Expression) -> bool:
    """Whether the request's rule budget covers one more evaluation of `expression` (charged
    then)."""
    spent = variables.pod.memo.get(_SPENT, 0) + max(expression.estimate.cost, EVALUATION_FLOOR)
    if spent > REQUEST_BUDGET:
        return False
    variables.pod.memo[_SPENT] = spent
    return True


def _where(variables: _Variables) -> str:
    """The container judged, named as findings name it (`init "setup" (spec.initContainers[0])`),
    or `pod`: worked out only for an error."""
    container = variables.container
    return f"{container.label} ({_VARIABLES['path'](variables)})" if container else "pod"


def _complies(rule: RuleSettings, variables: _Variables) -> bool:
    if not _charged(variables, rule.check):
        raise BudgetSpentError(
            _where(variables),
            f"not evaluated: the rules' budget for one request ({REQUEST_BUDGET:,} units, "
            "Kubernetes' per-request limit) is spent; make the costliest rules cheaper",
        )
    data, bound = variables.data()
    try:
        result = rule.check.evaluate(data, bound)
    except EvaluationError as error:
        raise RuleError(_where(variables), str(error)) from None
    if not isinstance(result, bool):
        raise RuleError(_where(variables), f"the expression gave {_shown(result)}, not a bool")
    return result


def _message(rule: RuleSettings, variables: _Variables) -> str:
    """Kubernetes' order: the messageExpression's text when it gives one on a single line,
    else `message`, else (initgate's addition) the description."""
    fallback = rule.message or rule.description
    if rule.explain is None or not _charged(variables, rule.explain):
        return fallback
    data, bound = variables.data()
    try:
        result = rule.explain.evaluate(data, bound)
    except EvaluationError:
        return fallback
    if not isinstance(result, str) or "\n" in result.strip() or len(result) > MESSAGE_LIMIT:
        return fallback
    return result.strip() or fallback


def _shown(value: object) -> str:
    text_ = repr(value)
    return text_ if len(text_) <= 40 else f"{text_[:39]}…"


@dataclass(slots=True)
class _Variables:
    """The variables of one evaluation, each worked out when a rule first reads it and kept in
    the pod view's memo for the other rules of the same request."""

    pod: PodView
    context: Context
    rules: RuleSet
    container: Container | None

    def data(self) -> tuple[dict[str, Any], Any]:
        """The variables the scope's rules read, and one activation of what they read of them,
        shared by every rule that judges the same container (or the pod)."""
        key = ("cel", self.container.position if self.container else -1)
        found = self.pod.memo.get(key)
        if found is None:
            reads = self.rules.reads["pod" if self.container is None else "container"]
            data = {name: _VARIABLES[name](self) for name in reads}
            found = self.pod.memo[key] = (data, activation(prune(data, reads)))
        return found


def _object(variables: _Variables) -> dict[str, Any]:
    """The pod as the rule sees it: the Pod itself, or a workload's pod template as a Pod in
    the workload's namespace."""
    memo = variables.pod.memo
    if "object" not in memo:
        pod = variables.pod
        metadata = pod.metadata
        if variables.context.namespace and not text(metadata.get("namespace")):
            metadata = {**metadata, "namespace": variables.context.namespace}
        memo["object"] = {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": pod.spec}
    return memo["object"]  # type: ignore[no-any-return]


def _request(variables: _Variables) -> dict[str, Any]:
    memo = variables.pod.memo
    if "request" not in memo:
        context = variables.context
        group, version, kind = context.kind
        memo["request"] = {
            "operation": context.operation,
            "namespace": context.namespace,
            "dryRun": context.dry_run,
            "kind": {"group": group, "version": version, "kind": kind},
            "userInfo": {"username": context.username, "groups": list(context.groups)},
        }
    return memo["request"]  # type: ignore[no-any-return]


def _flow(variables: _Variables) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """By container position: the volumes each init container fills for a later container (in
    the order it mounts them), and the init containers whose output each container reads (in
    the order they run): readonly-mounts' analysis, in orders that the generated admission
    policies compute alike (docs/native-policies.md)."""
    flow = variables.rules.flow
    key = ("flow", flow.ignore_preparing_inits)
    memo = variables.pod.memo
    if key not in memo:
        pod = variables.pod
        populated = readonly_mounts.populated(pod, flow)
        last: dict[str, int] = {}
        for container in pod.containers:
            for name in container.mount_names:
                last[name] = container.position
        writes: dict[int, set[str]] = {}
        for name, writers in populated.items():
            for writer in writers:
                writes.setdefault(writer.position, set()).add(name)
        fills: dict[int, list[str]] = {}
        for position, written in writes.items():
            writer = pod.containers[position]
            names = (text(m.get("name")) for _, m in writer.volume_mounts if writes_to(m))
            fills[position] = [
                n for n in dict.fromkeys(names) if n in written and last.get(n, -1) > position
            ]
        reads_from: dict[int, list[str]] = {}
        for reader in pod.containers:
            if reader.role is Role.INIT:
                continue
            before = {
                writer.position
                for name in reader.mount_names
                for writer in populated.get(name, ())
                if writer.position < reader.position
            }
            if before:
                reads_from[reader.position] = [pod.containers[p].name for p in sorted(before)]
        memo[key] = (fills, reads_from)
    return memo[key]  # type: ignore[no-any-return]


def _volumes(variables: _Variables) -> dict[str, Any]:
    container = variables.container
    if container is None:
        return {}
    volumes = variables.pod.volumes
    return {n: volumes[n].raw for n in sorted(container.mount_names) if n in volumes}


def _position(variables: _Variables) -> int:
    return variables.container.position if variables.container else -1


_VARIABLES: dict[str, Callable[[_Variables], Any]] = {
    "container": lambda v: v.container.raw if v.container else {},
    "role": lambda v: str(v.container.role) if v.container else "",
    "path": lambda v: (
        f"{v.pod.path[1:].replace('/', '.')}.{v.container.field}" if v.container else ""
    ),
    "object": _object,
    "request": _request,
    "volumes": _volumes,
    "fills": lambda v: _flow(v)[0].get(_position(v), []),
    "readsFrom": lambda v: _flow(v)[1].get(_position(v), []),
}
