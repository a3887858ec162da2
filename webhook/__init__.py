"""initgate's HTTPS admission service: protocol, engine, app, TLS, metrics, configuration, CLI."""

from webhook._version import __version__

__all__ = ["__version__"]
