"""The policies initgate evaluates: pure modules, one policy each, named after its id.

The registry is an explicit tuple, in the order policies run and their findings are reported:
validating policies first, then mutating ones.
"""

from typing import Any

from policies import (
    default_resources,
    emptydir_sizelimit,
    init_lint,
    init_privileged,
    init_unbounded,
    readonly_mounts,
)
from policies.policy import Policy

# Policy[Any]: each policy takes its own settings class, which the engine pairs from the config.
REGISTRY: tuple[Policy[Any], ...] = (
    init_privileged.POLICY,
    init_unbounded.POLICY,
    init_lint.POLICY,
    default_resources.POLICY,
    emptydir_sizelimit.POLICY,
    readonly_mounts.POLICY,
)

BY_ID: dict[str, Policy[Any]] = {policy.id: policy for policy in REGISTRY}
