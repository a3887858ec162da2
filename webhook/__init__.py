"""initgate around its policies, in four rooms whose imports run one way (import-linter checks):
`core` (the engine: objects, configuration, plan, decisions, messages), `server` (the HTTPS
service), `audit` (judging manifests and what a cluster runs) and `cli` (the `initgate` command).
"""

from webhook._version import __version__

__all__ = ["__version__"]
