"""Kubernetes' CEL libraries that initgate implements, in the order the environment loads them."""

from webhook.core.cel import (
    cidr_lib,
    ip_lib,
    jsonpatch_lib,
    lists_lib,
    quantity_lib,
    regex_lib,
    semver_lib,
    urls_lib,
)
from webhook.core.cel.library import Library

LIBRARIES: tuple[Library, ...] = (
    lists_lib.LIBRARY,
    regex_lib.LIBRARY,
    urls_lib.LIBRARY,
    quantity_lib.LIBRARY,
    ip_lib.LIBRARY,
    cidr_lib.LIBRARY,
    semver_lib.LIBRARY,
    jsonpatch_lib.LIBRARY,
)
