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
from typing import Any

from webhook.core.cel import ip_lib
from webhook.core.cel.library import Function, Library, LibraryError, Opaque, method, overload

CIDR = "net.CIDR"
Prefix = ipaddress.IPv4Interface | ipaddress.IPv6Interface
_FAILED = "network address parse error during conversion from string"


def parse(text: str) -> Prefix:
    address, slash, bits = text.partition("/")
    if not slash or not bits.isdigit() or (len(bits) > 1 and bits.startswith("0")):
        raise LibraryError(
            f'{_FAILED}: {_FAILED}: netip.ParsePrefix("{text}"): bad bits after slash: "{bits}"'
        )
    try:
        parsed = ip_lib.parse(address)
    except LibraryError as error:
        raise LibraryError(f"{_FAILED}: {error}") from None
    if int(bits) > parsed.max_prefixlen:
        raise LibraryError(
            f'{_FAILED}: {_FAILED}: netip.ParsePrefix("{text}"): prefix length out of range'
        )
    return ipaddress.ip_interface(f"{parsed}/{int(bits)}")


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
    and the inner prefix is at least as long."""
    if isinstance(inner, str):
        if not is_cidr(inner):
            raise LibraryError("no such overload")
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
