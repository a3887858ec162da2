"""Kubernetes' IP library (k8s.io/apiserver/pkg/cel/library/ip.go): IP addresses as Go's
net/netip reads them (no zones, no IPv4-mapped IPv6 addresses, no leading zeros).

    ip('10.0.0.1').family()                 4
    ip('::1').isLoopback()                  true
    ip.isCanonical('2001:db8::0:1')         false
    string(ip('2001:db8:0::1'))             '2001:db8::1'

Addresses are read by a port of Go's `netip.ParseAddr`, so that what is refused, and the words
of the refusal, are Kubernetes' own (Python's `ipaddress` accepts zones and words errors its way).
"""

from __future__ import annotations

import ipaddress

from webhook.core.cel.library import Function, Library, LibraryError, Opaque, go_quote, method
from webhook.core.cel.library import overload as declare

IP = "net.IP"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_HEX = frozenset("0123456789abcdefABCDEF")


class AddrError(ValueError):
    """Go's `parseAddrError`: `ParseAddr("<text>"): <why> (at "<rest>")`."""

    def __init__(self, text: str, why: str, at: str = "") -> None:
        where = f" (at {go_quote(at)})" if at else ""
        super().__init__(f"ParseAddr({go_quote(text)}): {why}{where}")


def parse_addr(text: str) -> tuple[Address, str]:
    """Go's `netip.ParseAddr`: the address and its zone; raises `AddrError`."""
    for char in text:
        if char == ".":
            return ipaddress.IPv4Address(bytes(_ipv4_fields(text, text))), ""
        if char == ":":
            return _ipv6(text)
        if char == "%":
            raise AddrError(text, "missing IPv6 address")
    raise AddrError(text, "unable to parse IP")


def _ipv4_fields(text: str, part: str) -> list[int]:
    fields: list[int] = []
    value, digits = 0, 0
    for index, char in enumerate(part):
        if "0" <= char <= "9":
            if digits == 1 and value == 0:
                raise AddrError(text, "IPv4 field has octet with leading zero")
            value, digits = value * 10 + int(char), digits + 1
            if value > 255:
                raise AddrError(text, "IPv4 field has value >255")
        elif char == ".":
            if index in (0, len(part) - 1) or part[index - 1] == ".":
                raise AddrError(text, "IPv4 field must have at least one digit", part[index:])
            if len(fields) == 3:
                raise AddrError(text, "IPv4 address too long")
            fields.append(value)
            value, digits = 0, 0
        else:
            raise AddrError(text, "unexpected character", part[index:])
    if len(fields) < 3:
        raise AddrError(text, "IPv4 address too short")
    return [*fields, value]


def _ipv6(text: str) -> tuple[Address, str]:  # noqa: PLR0912 - Go's parser, step by step
    rest, _, zone = text.partition("%")
    if "%" in text and not zone:
        raise AddrError(text, "zone must be a non-empty string")
    address = bytearray(16)
    ellipsis, filled = -1, 0
    if rest.startswith("::"):
        ellipsis, rest = 0, rest[2:]
        if not rest:
            return ipaddress.IPv6Address(bytes(address)), zone
    while filled < 16:
        digits = 0
        while digits < len(rest) and rest[digits] in _HEX:
            if digits > 3:
                raise AddrError(text, "each group must have 4 or less digits", rest)
            digits += 1
        if digits == 0:
            raise AddrError(text, "each colon-separated field must have at least one digit", rest)
        if digits < len(rest) and rest[digits] == ".":
            if ellipsis < 0 and filled != 12:
                raise AddrError(
                    text,
                    "embedded IPv4 address must replace the final 2 fields of the address",
                    rest,
                )
            if filled + 4 > 16:
                raise AddrError(
                    text,
                    "too many hex fields to fit an embedded IPv4 at the end of the address",
                    rest,
                )
            address[filled : filled + 4] = bytes(_ipv4_fields(text, rest))
            filled, rest = filled + 4, ""
            break
        address[filled : filled + 2] = int(rest[:digits], 16).to_bytes(2, "big")
        filled, rest = filled + 2, rest[digits:]
        if not rest:
            break
        if rest[0] != ":":
            raise AddrError(text, "unexpected character, want colon", rest)
        if len(rest) == 1:
            raise AddrError(text, "colon must be followed by more characters", rest)
        rest = rest[1:]
        if rest[0] == ":":
            if ellipsis >= 0:
                raise AddrError(text, "multiple :: in address", rest)
            ellipsis, rest = filled, rest[1:]
            if not rest:
                break
    if rest:
        raise AddrError(text, "trailing garbage after address", rest)
    if filled < 16:
        if ellipsis < 0:
            raise AddrError(text, "address string too short")
        gap = 16 - filled
        address[ellipsis:] = bytes(gap) + address[ellipsis:filled]
    elif ellipsis >= 0:
        raise AddrError(text, "the :: must expand to at least one field of zeros", rest)
    return ipaddress.IPv6Address(bytes(address)), zone


def parse(text: str) -> Address:
    """The address `text` names; a CEL error as Kubernetes words it."""
    try:
        address, zone = parse_addr(text)
    except AddrError as error:
        raise LibraryError(
            f"IP Address {go_quote(text)} parse error during conversion from string: {error}"
        ) from None
    if zone:
        raise LibraryError(f"IP address {go_quote(text)} with zone value is not allowed")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise LibraryError(f"IPv4-mapped IPv6 address {go_quote(text)} is not allowed")
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
        Function("ip", (declare("string_to_ip", "string", IP, parse),)),
        Function("isIP", (declare("is_ip", "string", "bool", is_ip),)),
        Function("ip.isCanonical", (declare("ip_is_canonical", "string", "bool", is_canonical),)),
        Function("string", (declare("ip_to_string", IP, "string", str),)),
        _member("family", "int", lambda a: a.version),
        _member("isUnspecified", "bool", lambda a: a.is_unspecified),
        _member("isLoopback", "bool", lambda a: a.is_loopback),
        _member("isLinkLocalMulticast", "bool", is_link_local_multicast),
        _member("isLinkLocalUnicast", "bool", is_link_local_unicast),
        _member("isGlobalUnicast", "bool", is_global_unicast),
    ),
)
