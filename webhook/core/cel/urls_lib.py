"""Kubernetes' URL library (k8s.io/apiserver/pkg/cel/library/urls.go): an absolute URI or an
absolute path, taken apart as Go's net/url does.

    url('https://example.com:8080/a?x=1').getHost()     'example.com:8080'
    url('https://[::1]:80/').getHostname()              '::1'
    url('/relative').getScheme()                        ''
    isURL('not a url')                                  false

Parsed with Python's urllib after the checks of Go's `url.ParseRequestURI`; docs/rules.md lists
where the two may still read an unusual URL differently.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

from webhook.core.cel.library import Function, Library, LibraryError, Opaque, method, overload

URL = "kubernetes.URL"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PORT = re.compile(r":[0-9]*")


def parse(text: str) -> str:
    """`text` when it is a URL Kubernetes' `url()` accepts; else a CEL error."""
    problem = _problem(text)
    if problem:
        raise LibraryError(f"URL parse error during conversion from string: {problem}")
    return text


def _problem(text: str) -> str:  # noqa: PLR0911 - one return per check Go makes
    if not text:
        return 'parse "": empty url'
    if _CONTROL.search(text):
        return f"parse {text!r}: net/url: invalid control character in URL"
    if not _SCHEME.match(text) and not text.startswith("/"):
        return f"parse {text!r}: invalid URI for request"
    if _BAD_ESCAPE.search(text.split("#", 1)[0]):
        return f"parse {text!r}: invalid URL escape"
    try:
        parts = urlsplit(text)
        host = parts.netloc.rpartition("@")[2]
        if host.startswith("["):
            if "]" not in host:
                return f"parse {text!r}: missing ']' in host"
            port = host[host.index("]") + 1 :]
        else:
            port = host[host.index(":") :] if ":" in host else ""
        if port and not _PORT.fullmatch(port):
            return f'parse {text!r}: invalid port "{port}" after host'
        parts.port  # noqa: B018 - urllib checks the port's range here
    except ValueError as error:
        return f"parse {text!r}: {error}"
    return ""


def is_url(text: str) -> bool:
    return not _problem(text)


def scheme(text: str) -> str:
    return urlsplit(text).scheme if _SCHEME.match(text) else ""


def _host(text: str) -> str:
    parts = urlsplit(text)
    return parts.netloc.rpartition("@")[2] if parts.netloc or text.startswith("//") else ""


def hostname(text: str) -> str:
    host = _host(text)
    if host.startswith("["):
        return host[1 : host.index("]")]
    return host.partition(":")[0]


def port(text: str) -> str:
    host = _host(text)
    if host.startswith("["):
        host = host[host.index("]") + 1 :]
    return host.partition(":")[2]


def escaped_path(text: str) -> str:
    path = urlsplit(text).path
    return (
        path
        if unquote(path) != path or quote(path, safe="/:@!$&'()*+,;=-._~") == path
        else (quote(path, safe="/:@!$&'()*+,;=-._~"))
    )


def query(text: str) -> dict[str, list[str]]:
    raw = urlsplit(text).query
    pairs = [pair for pair in raw.split("&") if ";" not in pair]
    return parse_qs("&".join(pairs), keep_blank_values=True)


LIBRARY = Library(
    name="urls",
    types=(Opaque(URL, encode=str, decode=str),),
    functions=(
        Function("url", (overload("string_to_url", "string", URL, parse),)),
        Function("isURL", (overload("is_url_string", "string", "bool", is_url),)),
        Function(
            "getScheme",
            (method("url_get_scheme", URL, "string", scheme),),
        ),
        Function("getHost", (method("url_get_host", URL, "string", _host),)),
        Function("getHostname", (method("url_get_hostname", URL, "string", hostname),)),
        Function("getPort", (method("url_get_port", URL, "string", port),)),
        Function(
            "getEscapedPath",
            (method("url_get_escaped_path", URL, "string", escaped_path),),
        ),
        Function(
            "getQuery",
            (method("url_get_query", URL, "map(string, list(string))", query),),
        ),
    ),
)
