import importlib.machinery
import importlib.util

__version__ = "0.1.0"


def build() -> str:
    """`compiled` when the request path runs as mypyc extensions (the image builds it so, see
    setup.py), `pure` when it runs as Python source. Found without importing the engine (only its
    package, `webhook`, which this module is part of)."""
    spec = importlib.util.find_spec("webhook.engine")
    origin = (spec.origin or "") if spec is not None else ""
    return "compiled" if origin.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) else "pure"
