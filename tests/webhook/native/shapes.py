"""The shape of a generated expression: how deep comprehensions over the object's data nest in
it. The API server's estimator multiplies the largest sizes of nested lists (a Pod's lists have
no maxItems), and runtime cost grows with their product: generated expressions keep that depth
at 1 (one walk of the containers, or of the mounts, or of the volumes).

A comprehension walks the object's data unless its range is bounded by the configuration: a
list or map literal, a setting (`variables.<setting>`, a literal), or a comprehension over one
of those. A variable is evaluated once, however often it is read: reading one is no walk."""

from __future__ import annotations

from collections.abc import Iterable

from webhook.core.cel import tree
from webhook.core.cel.checks import free_variables
from webhook.core.cel.environment import compile_expression


def _bounded(node: tree.Node, settings: frozenset[str]) -> bool:
    if isinstance(node, tree.CreateList | tree.CreateStruct):
        return True
    if isinstance(node, tree.Comprehension):
        return _bounded(node.iter_range, settings)
    return (
        isinstance(node, tree.Select)
        and isinstance(node.operand, tree.Ident)
        and node.operand.name == "variables"
        and node.field in settings
    )


def depth(expression: str, settings: Iterable[str]) -> int:
    """The deepest nesting of comprehensions over the object's data in `expression` (0: none)."""
    names = frozenset(settings)
    deepest = 0
    stack: list[tuple[tree.Node, int]] = [(compile_expression(expression).checked.root, 0)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, tree.Comprehension):
            inner = level + (0 if _bounded(node.iter_range, names) else 1)
            deepest = max(deepest, inner)
            stack.extend(((node.iter_range, level), (node.accu_init, level)))
            stack.extend((child, inner) for child in (node.loop_condition, node.loop_step))
            stack.append((node.result, level))
            continue
        stack.extend((child, level) for child in tree.children(node))
    return deepest


def shapes(objects: Iterable[dict[str, object]]) -> dict[str, dict[str, int]]:
    """Per policy, each expression of its generated objects (`variables.spec`,
    `mutations[0]`...) with its depth; a policy's VAP and MAP share their variables."""
    found: dict[str, dict[str, int]] = {}
    for obj in objects:
        spec = obj["spec"]
        if not isinstance(spec, dict) or "variables" not in spec:
            continue
        metadata = obj["metadata"]
        assert isinstance(metadata, dict)
        policy = found.setdefault(metadata["labels"]["initgate.io/policy"], {})
        texts = {
            **{
                f"matchConditions.{c['name']}": c["expression"]
                for c in spec.get("matchConditions", [])
            },
            **{f"variables.{v['name']}": v["expression"] for v in spec["variables"]},
            **{
                f"validations[{i}].{key}": v[key]
                for i, v in enumerate(spec.get("validations", []))
                for key in ("expression", "messageExpression")
            },
            **{
                f"mutations[{i}]": m["jsonPatch"]["expression"]
                for i, m in enumerate(spec.get("mutations", []))
            },
        }
        settings = {
            v["name"]
            for v in spec["variables"]
            if not free_variables(compile_expression(v["expression"]).checked)
        }
        policy.update({where: depth(text, settings) for where, text in texts.items()})
    return found
