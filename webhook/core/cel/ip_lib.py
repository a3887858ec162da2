"""Kubernetes' IP library (k8s.io/apiserver/pkg/cel/library/ip.go): IP addresses as Go's
net/netip reads them (no zones, no IPv4-mapped IPv6 addresses, no leading zeros).

    ip('10.0.0.1').family()                 4
    ip('::1').isLoopback()                  true
    ip.isCanonical('2001:db8::0:1')         false
    string(ip('2001:db8:0::1'))             '2001:db8::1'
"""

from __future__ import annotations

import ipaddress

from webhook.core.cel.library import Function, Library, LibraryError, Opaque, method, overload

IP = "net.IP"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse(text: str) -> Address:
    """The address `text` names; a CEL error as Kubernetes words it."""
    if "%" in text:
        raise LibraryError(f'IP address "{text}" with zone value is not allowed')
    try:
        address = ipaddress.ip_address(text)
    except ValueError as error:
        raise LibraryError(
            f'IP Address "{text}" parse error during conversion from string: {error}'
        ) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise LibraryError(f'IPv4-mapped IPv6 address "{text}" is not allowed')
    return address


def is_ip(text: str) -> bool:
    try:
        parse(text)
    except LibraryError:
        return False
    return True


def is_canonical(text: str) -> bool:
    return str(parse(text)) == text


def is_global_unicast(address: Address) -> bool:
    """Go's definition: private and unique-local addresses count; broadcast does not."""
    if address.version == 4 and int(address) in (0, 0xFFFFFFFF):
        return False
    return not (
        address.is_unspecified
        or address.is_loopback
        or address.is_multicast
        or is_link_local_unicast(address)
    )


def is_link_local_unicast(address: Address) -> bool:
    if address.version == 4:
        return address in ipaddress.ip_network("169.254.0.0/16")
    return address in ipaddress.ip_network("fe80::/10")


def is_link_local_multicast(address: Address) -> bool:
    if address.version == 4:
        return address in ipaddress.ip_network("224.0.0.0/24")
    return int(address) >> 112 & 0xFF0F == 0xFF02


def _member(name: str, result: str, impl: object) -> Function:
    return Function(name, (method(f"ip_{_snake(name)}", IP, result, impl),))  # type: ignore[arg-type]


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


LIBRARY = Library(
    name="ip",
    types=(Opaque(IP, encode=str, decode=ipaddress.ip_address),),
    functions=(
        Function("ip", (overload("string_to_ip", "string", IP, parse),)),
        Function("isIP", (overload("is_ip", "string", "bool", is_ip),)),
        Function("ip.isCanonical", (overload("ip_is_canonical", "string", "bool", is_canonical),)),
        Function("string", (overload("ip_to_string", IP, "string", str),)),
        _member("family", "int", lambda a: a.version),
        _member("isUnspecified", "bool", lambda a: a.is_unspecified),
        _member("isLoopback", "bool", lambda a: a.is_loopback),
        _member("isLinkLocalMulticast", "bool", is_link_local_multicast),
        _member("isLinkLocalUnicast", "bool", is_link_local_unicast),
        _member("isGlobalUnicast", "bool", is_global_unicast),
    ),
)
