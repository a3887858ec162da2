"""The configurations the chart's generated policies are held equal to `initgate export`'s on
(tests/chart/test_native.py): each case is a `config` and `webhooks` values, rendered for the
Kubernetes versions where what is generated differs."""

from __future__ import annotations

from typing import Any

import yaml

from tests.chart.render import CHART

ENDED, LASTING = "2020-01-01", "2099-12-31T18:00:00Z"
EXEMPTIONS: dict[str, Any] = {
    "exemptions": {
        "namespaces": [
            "kube-*",
            {"namespace": "legacy-?", "expires": LASTING, "reason": "TICKET-1"},
            {"namespace": "gone", "expires": ENDED},
        ],
        "users": ["system:serviceaccount:ci:*", "a.b+c(d)|e[f]{g}^h$i\\j<k>&l", "jürgen"],
        "groups": [{"group": "system:masters", "expires": "2099-01-01"}],
        "images": [
            {"image": "busybox:*", "allow": ["limit:*"]},
            {"image": "registry.example.com/*", "namespaces": ["ci-*"], "exceptHostNetwork": True},
            {"image": "ended/*", "expires": ENDED},
            {"image": "nothing/*", "allow": []},
            {
                "image": "later/*",
                "allow": ["max:memory", "capability:NET_ADMIN"],
                "expires": LASTING,
            },
        ],
    },
    "policies": {
        "init-unbounded": {
            "exemptions": {
                "namespaces": [{"namespace": "batch", "expires": ENDED}],
                "users": ["deployer"],
                "images": [{"image": "docker.io/library/alpine:3.*"}],
            }
        }
    },
}
RULES: list[dict[str, Any]] = [
    {
        "id": "app-registry-from-the-internal-registry-of-the-platform-team-x",
        "description": "Apps and sidecars pull from the registry.",
        "roles": ["app", "sidecar"],
        "expression": "container.image.startsWith('registry.example.com/') // the registry",
        "messageExpression": "'image ' + container.image + ' is \"foreign\" <not> & unknown'",
        "mode": "warn",
        "exemptions": {
            "namespaces": ["legacy-*", {"namespace": "gone", "expires": ENDED}],
            "users": ["ci"],
            "groups": [{"group": "system:masters", "expires": LASTING}],
            "images": [
                {"image": "busybox:*"},
                {"image": "alpine:*", "namespaces": ["tools"], "exceptHostNetwork": True},
                {"image": "ended/*", "expires": ENDED},
                {"image": "nothing/*", "allow": []},
            ],
        },
    },
    {
        "id": "init-few-args",
        "description": "Init containers take few arguments.",
        "roles": ["init"],
        "expression": "size(container.?args.orValue([])) < 5",
        "message": "  keep an init\ncontainer's args\tshort \u2003 (<5) & {{simple}}  ",
        "mode": "audit",
    },
    {
        "id": "pod-labelled",
        "description": "Pods carry an app label.",
        "scope": "pod",
        "expression": "'app' in object.metadata.?labels.orValue({})",
        "messageExpression": "'label ' + object.metadata.?name.orValue('the pod') + ' with app'",
        "mode": "enforce",
    },
    {
        "id": "pod-few-inits",
        "description": "At most three init containers.",
        "scope": "pod",
        "expression": "size(object.spec.?initContainers.orValue([])) <= 3",
        "exemptions": {"namespaces": ["batch"], "images": [{"image": "tools/*"}]},
    },
    {
        "id": "init-fills-emptydir",
        "description": "What an init container fills is an emptyDir.",
        "roles": ["init"],
        "expression": "fills.all(v, has(volumes[v].emptyDir))",
    },
    {
        "id": "debug-mounts-nothing",
        "description": "Debug containers mount nothing.",
        "roles": ["ephemeral"],
        "expression": "!has(container.volumeMounts) // 'volumes' is only a word here",
        "messageExpression": "'it mounts ' + volumes.map(n, n).join(', ')",
    },
    {
        "id": "rule-off",
        "description": "Off.",
        "expression": "container.name != ''",
        "mode": "off",
    },
]
"""Container and pod rules, with their own roles, modes, exemptions of every kind, a
messageExpression or a message (on several lines, with what JSON and templates escape), and two
that name `volumes` (not generated before Kubernetes 1.33)."""
PRIVILEGED: dict[str, Any] = {
    "exemptions": {"images": [{"image": "tools/*", "allow": ["privileged", "hostPathWrite"]}]},
    "policies": {
        "init-privileged": {
            "level": "restricted",
            "presets": {"istio": False, "linkerd": False},
            "allowedCapabilities": ["NET_BIND_SERVICE", "CAP_CHOWN"],
            "extraChecks": ["procMount"],
            "exemptions": {
                "images": [
                    {
                        "image": "debug/*",
                        "allow": [
                            "hostPathWrite",
                            "seccompUnconfined",
                            "capability:*",
                            "hostProcess",
                        ],
                    },
                    {
                        "image": "mesh/*",
                        "allow": ["runAsUser", "runAsNonRoot"],
                        "exceptHostNetwork": True,
                    },
                ],
                "users": ["system:serviceaccount:debug:*"],
            },
        }
    },
}
"""init-privileged at the restricted level, without presets, exempting images by control and
by the keys of an earlier initgate (`hostPathWrite`, now `hostPathVolumes`...)."""
MUTATING_SETTINGS: dict[str, Any] = {
    "policies": {
        "default-resources": {
            "roles": ["app"],
            "requests": {"cpu": "50m", "memory": None},
            "limits": {"memory": "1Gi", "cpu": "2"},
            "exemptions": {
                "namespaces": ["batch-*"],
                "images": [{"image": "sidecar/*", "allow": ["resources"]}],
            },
        },
        "emptydir-sizelimit": {
            "roles": ["app", "init"],
            "sizeLimit": "1Gi",
            "memorySizeLimit": "64Mi",
            "exemptions": {"users": ["system:serviceaccount:kube-system:*"]},
        },
        "readonly-mounts": {
            "roles": ["app", "sidecar"],
            "writableVolumes": ["cache-*", "tmp"],
            "ignorePreparingInits": False,
            "exemptions": {
                "groups": ["editors"],
                "images": [{"image": "x/*", "allow": ["volume:data"], "expires": LASTING}],
            },
        },
    }
}
COOKBOOK = yaml.safe_load((CHART.parents[1] / "docs/rules/cookbook.yaml").read_text())

CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "defaults": ({}, {}),
    "policy-warn": ({"policies": {"init-unbounded": {"mode": "warn"}}}, {}),
    "policy-off": ({"policies": {"init-unbounded": {"mode": "off"}}}, {}),
    "policy-audit": ({"mode": "warn", "policies": {"init-unbounded": {"mode": "audit"}}}, {}),
    "all-off": ({"mode": "off", "policies": {"init-lint": {"mode": "off"}}}, {}),
    "deny-on-error": ({"onPolicyError": "deny"}, {}),
    "settings": (
        {
            "policies": {
                "init-unbounded": {
                    "roles": ["init", "sidecar"],
                    "required": ["memory"],
                    "maximum": {"memory": "4Gi", "cpu": "1500m"},
                    "suggested": {"cpu": "250m"},
                }
            }
        },
        {},
    ),
    "exemptions": (EXEMPTIONS, {}),
    "no-exemptions": ({"exemptions": {"namespaces": []}}, {}),
    "restricted": (
        {"policies": {"init-privileged": {"level": "restricted", "presets": {"istio": False}}}},
        {},
    ),
    "privileged": (PRIVILEGED, {}),
    "privileged-warn": (
        {
            "policies": {
                "init-privileged": {
                    "mode": "warn",
                    "extraChecks": ["allowPrivilegeEscalation"],
                    "presets": {"linkerd": False},
                    "roles": ["init"],
                }
            }
        },
        {"defaultMode": "enforce"},
    ),
    "rules": (COOKBOOK, {}),
    "own-rules": ({"mode": "warn", "rules": RULES}, {"defaultMode": "enforce"}),
    "mutating-modes": (
        {
            "policies": {
                "default-resources": {"mode": "warn"},
                "emptydir-sizelimit": {"mode": "audit"},
                "readonly-mounts": {"mode": "off"},
            }
        },
        {},
    ),
    "mutating-mixed": (
        {"mode": "warn", "policies": {"readonly-mounts": {"mode": "enforce"}}},
        {"defaultMode": "enforce"},
    ),
    "mutating-settings": (MUTATING_SETTINGS, {"defaultMode": "warn"}),
    "default-enforce": ({}, {"defaultMode": "enforce"}),
    "default-off": ({}, {"defaultMode": "off"}),
    "routing": (
        {"mode": "warn"},
        {
            "defaultMode": "warn",
            "excludeNamespaces": ["monitoring", "kube-system"],
            "namespaceSelectorExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["infra"]}
            ],
            "objectSelector": {"matchLabels": {"initgate.io/judged": "yes"}},
            "matchConditions": [
                {"name": "not-ci", "expression": "request.userInfo.username != 'ci'"}
            ],
        },
    ),
}
NEWEST = "1.36"
OLDER = ("1.30", "1.33")
"""Before two-variable comprehensions, and the first with them: what the validating policies and
rules generate differs there; no MutatingAdmissionPolicy before 1.36."""
ALSO_OLDER = ("defaults", "exemptions", "privileged", "rules", "own-rules", "mutating-modes")
VERSIONED = [
    *((case, NEWEST) for case in CASES),
    *((case, version) for case in ALSO_OLDER for version in OLDER),
]
"""(case, Kubernetes version) of each comparison."""
