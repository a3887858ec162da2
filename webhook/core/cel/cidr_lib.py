"""Kubernetes' CIDR library (k8s.io/apiserver/pkg/cel/library/cidr.go): IP prefixes as Go's
net/netip reads them. A prefix keeps the address as written (`cidr('10.0.0.1/8')` is not
`cidr('10.0.0.0/8')`; `masked()` clears the host bits).

    cidr('10.0.0.0/8').containsIP('10.1.2.3')           true
    cidr('10.0.0.0/8').containsCIDR('10.0.0.0/16')      true
    cidr('192.168.0.1/24').masked()                     cidr('192.168.0.0/24')
    cidr('10.0.0.0/8').prefixLength()                   8

Not offered: `string(<CIDR>)`. The runtime tells the overloads of a function apart by the kinds of
their arguments, every opaque type is of one kind, and `string(<IP>)` takes that place; write
`string(cidr(c).ip()) + '/' + string(cidr(c).prefixLength())` instead.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from webhook.core.cel import ip_lib
from webhook.core.cel.library import (
    Function,
    Library,
    LibraryError,
    Opaque,
    go_quote,
    method,
    overload,
)

CIDR = "net.CIDR"
Prefix = ipaddress.IPv4Interface | ipaddress.IPv6Interface
_FAILED = "network address parse error during conversion from string"
_BITS = re.compile(r"0|[1-9][0-9]*")


def parse_prefix(text: str) -> Prefix:
    """Go's `netip.ParsePrefix`, with its error texts; the address bits after the prefix stay."""
    slash = text.rfind("/")
    if slash < 0:
        raise ValueError(f"netip.ParsePrefix({go_quote(text)}): no '/'")
    try:
        address, zone = ip_lib.parse_addr(text[:slash])
    except ip_lib.AddrError as error:
        raise ValueError(f"netip.ParsePrefix({go_quote(text)}): {error}") from None
    if zone:
        raise ValueError(
            f"netip.ParsePrefix({go_quote(text)}): IPv6 zones cannot be present in a prefix"
        )
    bits = text[slash + 1 :]
    # Go's Atoi refuses what does not fit an int64; no prefix length is that long anyway.
    if not _BITS.fullmatch(bits) or len(bits) > 18:
        raise ValueError(
            f"netip.ParsePrefix({go_quote(text)}): bad bits after slash: {go_quote(bits)}"
        )
    if int(bits) > address.max_prefixlen:
        raise ValueError(f"netip.ParsePrefix({go_quote(text)}): prefix length out of range")
    return ipaddress.ip_interface((address, int(bits)))


def parse(text: str) -> Prefix:
    """The prefix `text` writes; a CEL error worded as Kubernetes words it (its parse error
    carries the same prefix twice: the library wraps its own helper's message)."""
    try:
        prefix = parse_prefix(text)
    except ValueError as error:
        raise LibraryError(f"{_FAILED}: {_FAILED}: {error}") from None
    if isinstance(prefix, ipaddress.IPv6Interface) and prefix.ip.ipv4_mapped is not None:
        raise LibraryError(f"{_FAILED}: IPv4-mapped IPv6 address {go_quote(text)} is not allowed")
    return prefix


def is_cidr(text: str) -> bool:
    try:
        parse(text)
    except LibraryError:
        return False
    return True


def _encode(prefix: Prefix) -> str:
    return f"{prefix.ip}/{prefix.network.prefixlen}"


def contains_ip(prefix: Prefix, address: Any) -> bool:
    if isinstance(address, str):
        if not ip_lib.is_ip(address):
            raise LibraryError("no such overload")
        address = ip_lib.parse(address)
    return address.version == prefix.version and address in prefix.network


def contains_cidr(outer: Prefix, inner: Any) -> bool:
    """As Kubernetes tests it: the outer network equals the inner address under the outer mask,
    and the inner prefix is at least as long. A string that is no prefix gives its parse error
    (where `containsIP` gives `no such overload`: Kubernetes' code passes on different values)."""
    if isinstance(inner, str):
        inner = parse(inner)
    if inner.version != outer.version:
        return False
    bits = outer.network.prefixlen
    under_outer = ipaddress.ip_interface(f"{inner.ip}/{bits}")
    return outer.network.network_address == under_outer.ip and bits <= inner.network.prefixlen


LIBRARY = Library(
    name="cidr",
    types=(Opaque(CIDR, encode=_encode, decode=ipaddress.ip_interface),),
    functions=(
        Function("cidr", (overload("string_to_cidr", "string", CIDR, parse),)),
        Function("isCIDR", (overload("is_cidr", "string", "bool", is_cidr),)),
        Function(
            "containsIP",
            (
                method("cidr_contains_ip_string", f"{CIDR}, string", "bool", contains_ip),
                method("cidr_contains_ip_ip", f"{CIDR}, {ip_lib.IP}", "bool", contains_ip),
            ),
        ),
        Function(
            "containsCIDR",
            (
                method("cidr_contains_cidr_string", f"{CIDR}, string", "bool", contains_cidr),
                method("cidr_contains_cidr", f"{CIDR}, {CIDR}", "bool", contains_cidr),
            ),
        ),
        Function("ip", (method("cidr_ip", CIDR, ip_lib.IP, lambda p: p.ip),)),
        Function(
            "masked",
            (method("cidr_masked", CIDR, CIDR, lambda p: ipaddress.ip_interface(p.network)),),
        ),
        Function(
            "prefixLength",
            (method("cidr_prefix_length", CIDR, "int", lambda p: p.network.prefixlen),),
        ),
    ),
)
