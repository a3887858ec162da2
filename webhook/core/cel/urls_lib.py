"""Kubernetes' URL library (k8s.io/apiserver/pkg/cel/library/urls.go): an absolute URI or an
absolute path, taken apart as Go's net/url does.

    url('https://example.com:8080/a?x=1').getHost()     'example.com:8080'
    url('https://[::1]:80/').getHostname()              '::1'
    url('/relative').getScheme()                        ''
    isURL('not a url')                                  false

As in Kubernetes, `url()` and `isURL()` accept what Go's `url.ParseRequestURI` accepts, and the
parts are those `url.Parse` finds. Both are ported here rule by rule (Python's urllib reads
URLs more leniently: hosts with spaces, fragments in hosts, ports above 65535 aside), with Go's
error texts. A URL value is carried as the text it was made from.
"""

from __future__ import annotations

import string
from typing import NamedTuple

from webhook.core.cel.library import Function, Library, LibraryError, Opaque, go_quote, method
from webhook.core.cel.library import overload as declare

URL = "kubernetes.URL"
_ALPHANUMERIC = frozenset(string.ascii_letters + string.digits)
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SUB_DELIMS_HOST = frozenset("!$&'()*+,;=:[]<>\"")
_RESERVED = frozenset("$&+,/:;=?@")
_USERINFO = _ALPHANUMERIC | frozenset("-._:~!$&'()*+,;=%@")
_ENCODED_PATH = frozenset("!$&'()*+,;=:@[]%")
_SCHEME_LATER = frozenset(string.digits + "+-.")
_FAILED = "URL parse error during conversion from string"


class _Parts(NamedTuple):
    scheme: str = ""
    host: str = ""
    path: str = ""
    raw_path: str = ""
    raw_query: str = ""


def _should_escape(char: str, mode: str) -> bool:
    """Go's `shouldEscape` for the modes initgate needs: host (and zone), path, query."""
    if char in _ALPHANUMERIC or char in "-_.~":
        return False
    if mode in ("host", "zone") and char in _SUB_DELIMS_HOST:
        return False
    return char == "?" if char in _RESERVED and mode == "path" else True


def _unescape(text: str, mode: str) -> str:
    """Go's `unescape`: percent escapes decoded (and `+` as a space in a query), or its error.
    A host may escape only non-ASCII bytes (and `%25`, a zone's percent sign)."""
    data, out, index = text.encode(), bytearray(), 0
    while index < len(data):
        byte = data[index]
        if byte == ord("%"):
            chunk = data[index : index + 3]
            if len(chunk) < 3 or not set(chunk[1:]) <= _HEX:
                raise ValueError(f"invalid URL escape {go_quote(chunk.decode(errors='replace'))}")
            value = int(chunk[1:], 16)
            ascii_escape = value < 0x80 and chunk != b"%25"
            zone_escape = value != 0x20 and _should_escape(chr(value), "host")
            if ascii_escape and (mode == "host" or (mode == "zone" and zone_escape)):
                raise ValueError(f"invalid URL escape {go_quote(chunk.decode())}")
            out.append(value)
            index += 3
            continue
        if mode in ("host", "zone") and byte < 0x80 and _should_escape(chr(byte), mode):
            raise ValueError(f"invalid character {go_quote(chr(byte))} in host name")
        out.append(0x20 if byte == ord("+") and mode == "query" else byte)
        index += 1
    return out.decode(errors="replace")


def _escape(path: str) -> str:
    return "".join(
        c
        if c.isascii() and not _should_escape(c, "path")
        else "".join(f"%{b:02X}" for b in c.encode())
        for c in path
    )


def _valid_port(port: str) -> bool:
    return port == "" or (port.startswith(":") and set(port[1:]) <= set(string.digits))


def _scheme(text: str) -> tuple[str, str]:
    """Go's `getScheme`: a letter, then letters, digits, `+`, `-` or `.`, up to a colon."""
    for index, char in enumerate(text):
        if char == ":":
            if index == 0:
                raise ValueError("missing protocol scheme")
            return text[:index], text[index + 1 :]
        if not (char.isascii() and (char.isalpha() or (index and char in _SCHEME_LATER))):
            break
    return "", text


def _host(host: str) -> str:
    if host.startswith("["):
        close = host.rfind("]")
        if close < 0:
            raise ValueError("missing ']' in host")
        port = host[close + 1 :]
        if not _valid_port(port):
            raise ValueError(f"invalid port {go_quote(port)} after host")
        zone = host[:close].find("%25")
        if zone >= 0:
            return (
                _unescape(host[:zone], "host")
                + _unescape(host[zone:close], "zone")
                + _unescape(host[close:], "host")
            )
    elif ":" in host:
        port = host[host.rfind(":") :]
        if not _valid_port(port):
            raise ValueError(f"invalid port {go_quote(port)} after host")
    return _unescape(host, "host")


def _authority(authority: str) -> str:
    at = authority.rfind("@")
    host = _host(authority[at + 1 :])
    if at >= 0:
        userinfo = authority[:at]
        if not set(userinfo) <= _USERINFO:
            raise ValueError("net/url: invalid userinfo")
        for part in userinfo.split(":", 1):
            _unescape(part, "user")
    return host


def _parse(text: str, *, via_request: bool) -> _Parts:
    """Go's `url.parse`: `ParseRequestURI` reads with `via_request`, `Parse` without."""
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        raise ValueError("net/url: invalid control character in URL")
    if not text and via_request:
        raise ValueError("empty url")
    if text == "*":
        return _Parts(path="*")
    scheme, rest = _scheme(text)
    scheme = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        rest, query = rest[:-1], ""
    else:
        rest, _, query = rest.partition("?")
    if not rest.startswith("/"):
        if scheme:  # an opaque URL such as mailto:someone
            return _Parts(scheme=scheme, raw_query=query)
        if via_request:
            raise ValueError("invalid URI for request")
        if ":" in rest.partition("/")[0]:
            raise ValueError("first path segment in URL cannot contain colon")
    host = ""
    if (scheme or (not via_request and not rest.startswith("///"))) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        host, rest = _authority(authority), slash + path
    path = _unescape(rest, "path")
    return _Parts(scheme, host, path, "" if _escape(path) == rest else rest, query)


def _request_uri(text: str) -> str:
    """Go's `url.ParseRequestURI`: '' when it accepts `text`, else its error."""
    try:
        _parse(text, via_request=True)
    except ValueError as error:
        return f"parse {go_quote(text)}: {error}"
    return ""


def _parts(text: str) -> _Parts:
    """Go's `url.Parse`: the fragment cut off (and checked), the rest parsed."""
    before, _, fragment = text.partition("#")
    try:
        parts = _parse(before, via_request=False)
        _unescape(fragment, "fragment")
    except ValueError as error:
        raise LibraryError(f"{_FAILED}: parse {go_quote(text)}: {error}") from None
    return parts


def parse(text: str) -> str:
    """`text` when it is a URL Kubernetes' `url()` accepts; else a CEL error."""
    problem = _request_uri(text)
    if problem:
        raise LibraryError(f"{_FAILED}: {problem}")
    _parts(text)
    return text


def is_url(text: str) -> bool:
    return not _request_uri(text)


def scheme(text: str) -> str:
    return _parts(text).scheme


def host(text: str) -> str:
    return _parts(text).host


def _split_host_port(text: str) -> tuple[str, str]:
    """Go's `splitHostPort`: the port only when what follows the last colon is one."""
    name, port = host(text), ""
    colon = name.rfind(":")
    if colon >= 0 and _valid_port(name[colon:]):
        name, port = name[:colon], name[colon + 1 :]
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    return name, port


def hostname(text: str) -> str:
    return _split_host_port(text)[0]


def port(text: str) -> str:
    return _split_host_port(text)[1]


def escaped_path(text: str) -> str:
    """Go's `EscapedPath`: the path as written when that is a valid encoding of it."""
    parts = _parts(text)
    raw = parts.raw_path
    if raw and all(c in _ENCODED_PATH or not _should_escape(c, "path") for c in raw):
        try:
            if _unescape(raw, "path") == parts.path:
                return raw
        except ValueError:
            pass
    return "*" if parts.path == "*" else _escape(parts.path)


def query(text: str) -> dict[str, list[str]]:
    """Go's `Query`: pairs with a semicolon or a bad escape are left out, as Go leaves them."""
    values: dict[str, list[str]] = {}
    for pair in _parts(text).raw_query.split("&"):
        if ";" in pair or not pair:
            continue
        key, _, value = pair.partition("=")
        try:
            key, value = _unescape(key, "query"), _unescape(value, "query")
        except ValueError:
            continue
        values.setdefault(key, []).append(value)
    return values


LIBRARY = Library(
    name="urls",
    types=(Opaque(URL, encode=str, decode=str),),
    functions=(
        Function("url", (declare("string_to_url", "string", URL, parse),)),
        Function("isURL", (declare("is_url_string", "string", "bool", is_url),)),
        Function("getScheme", (method("url_get_scheme", URL, "string", scheme),)),
        Function("getHost", (method("url_get_host", URL, "string", host),)),
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
