"""The shape of every expression of the generated init-privileged, for the API server's cost
estimate (lists without maxItems are estimated at their largest): no comprehension over the
pod's data runs inside another. A comprehension over a literal (a setting, a constant, a list
written in the expression, or what a comprehension over one gives) may nest: the configuration
bounds it. Each expression's depth of comprehensions over the pod's data is stated below."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.verdicts import generated
from tests.webhook.native.privileged_cases import ID
from webhook.core.cel import tree
from webhook.core.cel.expression import compile_checked
from webhook.core.config import Config
from webhook.native.export import NO_LIMIT, POLICY_VARIABLES, Options

_ROOTS = frozenset(("object", "oldObject", "request", "namespaceObject", "params"))

FLAT = frozenset(
    (
        *("pod-spec-changed", "exempt-namespaces", "exempt-users", "spec", "template"),
        *("exemptions", "roles", "level", "allowedCapabilities", "extraChecks", "positions"),
        *("safeSysctls", "seLinuxTypes", "restrictedVolumeTypes", "volumeSources"),
        *("restricted", "linux", "userNamespace", "security", "allowed", "annotations"),
    )
)
"""The expressions with no comprehension over the pod's data; every other one has exactly one
level of them (the validations read the variables holding the findings, with none)."""
LITERAL = frozenset(
    (
        *("exemptions", "roles", "level", "allowedCapabilities", "extraChecks", "positions"),
        *("safeSysctls", "seLinuxTypes", "restrictedVolumeTypes", "volumeSources"),
        *("restricted", "allowed"),
    )
)
"""The variables that hold the configuration, or what it alone decides."""


def _tree(text: str) -> tree.Node:
    compiled = compile_checked(text, variables=POLICY_VARIABLES, results=None, budget=NO_LIMIT)
    return compiled.program.checked.root


def _variable(node: tree.Node) -> str | None:
    if (
        isinstance(node, tree.Select)
        and isinstance(node.operand, tree.Ident)
        and node.operand.name == "variables"
    ):
        return node.field
    return None


def _literal(node: tree.Node, literal: frozenset[str], bound: frozenset[str]) -> bool:
    """Whether a comprehension over `node` ranges over a literal."""
    if isinstance(node, tree.CreateList):
        return True
    if isinstance(node, tree.Ident):
        return node.name in bound
    if isinstance(node, tree.Select):
        name = _variable(node)
        return name in literal if name is not None else _literal(node.operand, literal, bound)
    if isinstance(node, tree.Comprehension):
        return _literal(node.iter_range, literal, bound)
    if isinstance(node, tree.Call) and node.function in ("_?_:_", "_+_"):
        choices = node.args[1:] if node.function == "_?_:_" else node.args
        return all(_literal(choice, literal, bound) for choice in choices)
    return False


def depth(node: tree.Node, literal: frozenset[str], bound: frozenset[str] = frozenset()) -> int:
    """How deep comprehensions over the pod's data nest in `node` (0: none)."""
    if not isinstance(node, tree.Comprehension):
        return max((depth(child, literal, bound) for child in tree.children(node)), default=0)
    over_literal = _literal(node.iter_range, literal, bound)
    names = {node.iter_var, node.iter_var2} - {""}
    inside = bound | names if over_literal else bound - names
    body = max(depth(n, literal, inside) for n in (node.loop_condition, node.loop_step))
    around = max(depth(n, literal, bound) for n in (node.iter_range, node.accu_init, node.result))
    return max(around, body + (0 if over_literal else 1))


def _reads(node: tree.Node) -> tuple[set[str], set[str]]:
    """The request's variables and the policy's variables that `node` reads."""
    roots = {n.name for n in tree.descendants(node) if isinstance(n, tree.Ident)} & _ROOTS
    variables = {name for n in tree.descendants(node) if (name := _variable(n)) is not None}
    return roots, variables


def shapes(policy: dict[str, Any]) -> tuple[frozenset[str], dict[str, int]]:
    """The policy's literal variables, and each expression's depth."""
    spec = policy["spec"]
    literal: set[str] = set()
    for variable in spec["variables"]:
        roots, variables = _reads(_tree(variable["expression"]))
        if not roots and variables <= literal:
            literal.add(variable["name"])
    found = {
        c["name"]: depth(_tree(c["expression"]), frozenset(literal))
        for c in spec["matchConditions"]
    }
    found.update(
        (v["name"], depth(_tree(v["expression"]), frozenset(literal))) for v in spec["variables"]
    )
    for index, validation in enumerate(spec["validations"]):
        for key in ("expression", "messageExpression"):
            found[f"validations[{index}].{key}"] = depth(_tree(validation[key]), frozenset(literal))
    return frozenset(literal), found


def test_depth_counts_comprehensions_over_the_pods_data_only() -> None:
    literal = frozenset(("positions",))
    assert depth(_tree("variables.judged.map(e, e.c.ports.map(p, p))"), literal) == 2
    assert depth(_tree("variables.judged.map(e, variables.positions.map(k, k))"), literal) == 1
    assert depth(_tree("variables.judged.filter(e, true).map(e, e)"), literal) == 1
    assert depth(_tree("[1, 2].map(k, variables.positions.exists(j, j == k))"), literal) == 0
    assert depth(_tree("variables.positions.map(k, variables.judged.all(e, true))"), literal) == 1


CONFIGS = {
    "default": {},
    "restricted-every-role": {
        "policies": {ID: {"level": "restricted", "roles": ["init", "sidecar", "app", "ephemeral"]}}
    },
    "who": {"exemptions": {"namespaces": ["a"], "users": ["u"], "groups": ["g"]}},
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_every_expression_has_its_stated_shape(config: dict[str, Any]) -> None:
    made = generated(Config.model_validate(config))
    (policy,) = (
        o
        for o in made
        if o["kind"] == "ValidatingAdmissionPolicy"
        and o["metadata"]["labels"]["initgate.io/policy"] == ID
    )
    literal, found = shapes(policy)
    assert literal == LITERAL
    assert found == {
        name: 0 if name in FLAT or name.startswith("validations[") else 1 for name in found
    }


LATER = frozenset(("slice", "flatten", "lists.range", "distinct", "sort", "reverse", "sortBy"))
"""Functions Kubernetes offers only from 1.34 on (cel-go's lists extension, version 3)."""


def test_what_kubernetes_1_30_offers() -> None:
    """Generated for 1.30: no function of a later Kubernetes, no two-variable comprehension
    (1.33); initgate's environment is the newest one's, so nothing else would say so."""
    made = generated(Config(), Options(kubernetes=(1, 30)))
    (policy,) = (
        o for o in made if o["kind"] == "ValidatingAdmissionPolicy" and ID in o["metadata"]["name"]
    )
    spec = policy["spec"]
    texts = [
        *(c["expression"] for c in spec["matchConditions"]),
        *(v["expression"] for v in spec["variables"]),
        *(v[key] for v in spec["validations"] for key in ("expression", "messageExpression")),
    ]
    for text in texts:
        nodes = list(tree.descendants(_tree(text)))
        assert not {n.function for n in nodes if isinstance(n, tree.Call)} & LATER, text
        assert not [n for n in nodes if isinstance(n, tree.Comprehension) and n.iter_var2], text
