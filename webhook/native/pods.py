"""What every generated policy shares: which requests it is called for, how it reaches the pod
spec of the seven workload kinds, and which containers it judges, with their roles and places:
the CEL counterpart of `webhook.core.objects` and `policies.base.containers_of`.

Expressions stay flat for the API server's estimator: each iterates the pod's containers once,
and what several need is a variable (evaluated once per request, lazily).
"""

from __future__ import annotations

from typing import Any

from webhook.native.builders import Expression

POD_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE"],
        "resources": ["pods"],
        "scope": "Namespaced",
    },
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["UPDATE"],
        "resources": ["pods/ephemeralcontainers"],
        "scope": "Namespaced",
    },
]
"""What the mutating webhook is called for, and so the mutating policies."""
WORKLOAD_RULES: list[dict[str, Any]] = [
    *POD_RULES,
    {
        "apiGroups": [""],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["replicationcontrollers"],
        "scope": "Namespaced",
    },
    {
        "apiGroups": ["apps"],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
        "scope": "Namespaced",
    },
    {
        "apiGroups": ["batch"],
        "apiVersions": ["v1"],
        "operations": ["CREATE", "UPDATE"],
        "resources": ["jobs", "cronjobs"],
        "scope": "Namespaced",
    },
]
"""What the validating webhook is called for, and so the validating policies."""


def _template_of(root: str) -> str:
    return (
        f"({root}.kind == 'CronJob' ? {root}.spec.?jobTemplate.?spec.?template.?spec"
        f" : {root}.spec.?template.?spec).orValue(null)"
    )


CHANGED: Expression = {
    "name": "pod-spec-changed",
    "expression": (
        "request.operation == 'CREATE' || request.subResource == 'ephemeralcontainers'"
        f" || {_template_of('object')} != {_template_of('oldObject')}"
    ),
}
"""A workload's UPDATE is judged only when its pod template's spec changes (as the webhook's
`unchanged`); a Pod's CREATE, and `kubectl debug`'s ephemeral containers, always."""

SPEC: Expression = {
    "name": "spec",
    "expression": (
        "object.kind == 'Pod' ? object.spec"
        " : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec"
        " : object.spec.template.spec"
    ),
}
TEMPLATE: Expression = {
    "name": "template",
    "expression": (
        "object.kind == 'Pod' ? 'spec'"
        " : object.kind == 'CronJob' ? 'spec.jobTemplate.spec.template.spec'"
        " : 'spec.template.spec'"
    ),
}
"""Where the pod spec is, as messages name fields: `spec`, `spec.template.spec`."""
OLD_EPHEMERAL: Expression = {
    "name": "oldEphemeral",
    "expression": (
        "request.subResource == 'ephemeralcontainers'"
        " ? oldObject.spec.?ephemeralContainers.orValue([]).map(c, c.name) : []"
    ),
}


def _entries(listed: str, role: str, *, indexed: bool, pointers: bool = False) -> str:
    """The containers of one list as `{c, name, role, field}` entries (all dyn: Kubernetes
    refuses a map literal whose values differ in type); with `pointers`, also `path`, the
    container's JSON pointer in a Pod (`/spec/initContainers/0`), which patches start from."""
    source = f"variables.spec.?{listed}.orValue([])"
    role_value = (
        "dyn(c.?restartPolicy.orValue('') == 'Always' ? 'sidecar' : 'init')"
        if role == "init"
        else f"dyn('{role}')"
    )
    if indexed:
        field = f"dyn('{listed}[' + string(i) + ']')"
        pointer = f", 'path': dyn('/spec/{listed}/' + string(i))" if pointers else ""
        body = f"{{'c': c, 'name': dyn(c.name), 'role': {role_value}, 'field': {field}{pointer}}}"
        return f"{source}.transformList(i, c, {body})"
    # Without an index variable, a container's index is its name's: names are unique in a pod.
    index = f"string({source}.map(x, x.name).indexOf(c.name))"
    field = f"dyn('{listed}[' + {index} + ']')"
    body = f"{{'c': c, 'name': dyn(c.name), 'role': {role_value}, 'field': {field}}}"
    return f"{source}.map(c, {body})"


def containers(*, indexed: bool) -> Expression:
    """The containers this request is about: all of them, or on `kubectl debug` only the new
    ephemeral ones. `indexed`: two-variable comprehensions (Kubernetes 1.33 and later) give each
    its index; otherwise its name finds it."""
    ephemeral = _entries("ephemeralContainers", "ephemeral", indexed=indexed)
    new_only = f"{ephemeral}.filter(e, !(e.name in variables.oldEphemeral))"
    every = " + ".join(
        (
            _entries("initContainers", "init", indexed=indexed),
            _entries("containers", "app", indexed=indexed),
            ephemeral,
        )
    )
    return {
        "name": "containers",
        "expression": f"request.subResource == 'ephemeralcontainers' ? {new_only} : {every}",
    }


def every_container() -> str:
    """CEL: every container of a Pod, in pod order, as `{c, name, role, field, path}` entries
    (two-variable comprehensions: Kubernetes 1.33 and later)."""
    return " + ".join(
        _entries(listed, role, indexed=True, pointers=True)
        for listed, role in (
            ("initContainers", "init"),
            ("containers", "app"),
            ("ephemeralContainers", "ephemeral"),
        )
    )


def shared(*, indexed: bool) -> list[Expression]:
    """The variables every generated policy starts with."""
    return [SPEC, TEMPLATE, OLD_EPHEMERAL, containers(indexed=indexed)]


def label(entry: str) -> str:
    """How messages name a container entry: `init "setup" (spec.initContainers[0])`."""
    return (
        f"{entry}.role + ' \"' + {entry}.name + '\" (' + variables.template + '.' + "
        f"{entry}.field + ')'"
    )
