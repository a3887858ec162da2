"""The CIDR library against Kubernetes' own table: kubernetes/kubernetes
staging/src/k8s.io/apiserver/pkg/cel/library/cidr_test.go (TestCIDR, every case), then what
cidr.go does with a string argument and the error texts of Go's netip.ParsePrefix, which
Kubernetes wraps (twice, word for word)."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Opaque, Refused, check, table

FAILED = "network address parse error during conversion from string"


def parse_error(text: str, why: str) -> Error:
    return Error(f'{FAILED}: {FAILED}: netip.ParsePrefix("{text}"): {why}')


NO_STRING = (
    "initgate cannot offer string(<CIDR>): the runtime tells overloads apart by the kinds of "
    "their arguments, every library value is of one kind (a message), and string(<IP>) holds "
    "that place; string(c.ip()) + '/' + string(c.prefixLength()) writes the same text"
)

KUBERNETES = [
    Case("cidr(192168)", Refused("found no matching overload for 'cidr' applied to '(int)'")),
    Case('cidr(dyn("192.168.0.0/24"))', Opaque("net.CIDR", "192.168.0.0/24")),
    Case('cidr("192.168.0.0/")', parse_error("192.168.0.0/", 'bad bits after slash: ""')),
    Case('cidr("192.168.0.0/24").containsIP(ip("192.168.0.1"))', True),
    Case('cidr("192.168.0.0/24").containsIP(ip("192.168.1.1"))', False),
    Case('cidr("192.168.0.0/24").containsIP("192.168.0.1")', True),
    Case('cidr("192.168.0.0/24").containsIP("192.168.1.1")', False),
    Case('cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/25"))', True),
    Case('cidr("192.168.0.0/24").containsCIDR(cidr("192.168.0.0/23"))', False),
    Case('cidr("192.168.0.0/24").containsCIDR("192.168.0.0/25")', True),
    Case('cidr("192.168.0.0/24").containsCIDR("192.168.0.0/23")', False),
    Case('cidr("192.168.0.0/24").ip()', Opaque("net.IP", "192.168.0.0")),
    Case('cidr("192.168.0.0/24").masked()', Opaque("net.CIDR", "192.168.0.0/24")),
    Case('cidr("192.168.0.1/24").masked()', Opaque("net.CIDR", "192.168.0.0/24")),
    Case('cidr("192.168.0.0/24").prefixLength()', 24),
    Case('cidr("2001:db8::/32")', Opaque("net.CIDR", "2001:db8::/32")),
    Case('cidr("2001:db8::/")', parse_error("2001:db8::/", 'bad bits after slash: ""')),
    Case('cidr("2001:db8::/32").containsIP(ip("2001:db8::1"))', True),
    Case('cidr("2001:db8::/32").containsIP(ip("2001:dc8::1"))', False),
    Case('cidr("2001:db8::/32").containsIP("2001:db8::1")', True),
    Case('cidr("2001:db8::/32").containsIP("2001:dc8::1")', False),
    Case('cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/33"))', True),
    Case('cidr("2001:db8::/32").containsCIDR(cidr("2001:db8::/31"))', False),
    Case('cidr("2001:db8::/32").containsCIDR("2001:db8::/33")', True),
    Case('cidr("2001:db8::/32").containsCIDR("2001:db8::/31")', False),
    Case('cidr("2001:db8::/32").ip()', Opaque("net.IP", "2001:db8::")),
    Case('cidr("2001:db8::/32").masked()', Opaque("net.CIDR", "2001:db8::/32")),
    Case('cidr("2001:db8:1::/32").masked()', Opaque("net.CIDR", "2001:db8::/32")),
    Case('cidr("2001:db8::/32").prefixLength()', 32),
    Case(
        'string(cidr("192.168.0.0/24"))',
        "192.168.0.0/24",
        here=Refused("found no matching overload for 'string' applied to '(net.CIDR)'"),
        why=NO_STRING,
    ),
    Case('type(cidr("192.168.0.0/24")) == net.CIDR', True),
]

PARSING = [
    Case('cidr("10.0.0.1")', parse_error("10.0.0.1", "no '/'")),
    Case('cidr("1.2.3/8")', parse_error("1.2.3/8", 'ParseAddr("1.2.3"): IPv4 address too short')),
    Case('cidr("1.2.3.4/33")', parse_error("1.2.3.4/33", "prefix length out of range")),
    Case('cidr("::/129")', parse_error("::/129", "prefix length out of range")),
    Case('cidr("1.2.3.4/08")', parse_error("1.2.3.4/08", 'bad bits after slash: "08"')),
    Case('cidr("1.2.3.4/+8")', parse_error("1.2.3.4/+8", 'bad bits after slash: "+8"')),
    Case(
        'cidr("1.2.3.4/1/2")',
        parse_error("1.2.3.4/1/2", 'ParseAddr("1.2.3.4/1"): unexpected character (at "/1")'),
    ),
    Case(
        'cidr("fe80::1%eth0/64")',
        parse_error("fe80::1%eth0/64", "IPv6 zones cannot be present in a prefix"),
    ),
    Case(
        'cidr("::ffff:1.2.3.4/120")',
        Error(f'{FAILED}: IPv4-mapped IPv6 address "::ffff:1.2.3.4/120" is not allowed'),
    ),
    Case('isCIDR("10.0.0.0/8")', True),
    Case('isCIDR("10.0.0.1/8")', True),
    Case('isCIDR("10.0.0.0")', False),
    Case('isCIDR("::ffff:1.2.3.4/120")', False),
    Case('cidr("0.0.0.0/0").containsIP("255.255.255.255")', True),
]

FUNCTIONS = [
    # A prefix keeps its address as written: equality compares it, masked() clears it.
    Case('cidr("192.168.0.1/24") == cidr("192.168.0.1/24")', True),
    Case('cidr("192.168.0.1/24") == cidr("192.168.0.1/24").masked()', False),
    Case('cidr("192.168.0.1/24").ip()', Opaque("net.IP", "192.168.0.1")),
    Case('cidr("192.168.0.1/24").containsIP("192.168.0.200")', True),
    Case('cidr("10.0.0.0/8").containsIP("::1")', False),
    Case('cidr("::/0").containsIP(ip("10.0.0.1"))', False),
    # containsCIDR compares the outer network with the inner address under the outer mask, as
    # cidr.go writes it (netip.PrefixFrom does not mask): a /24 inside a /16 at another base
    # address is not contained, whatever the documentation says.
    Case('cidr("192.168.0.0/16").containsCIDR("192.168.10.0/24")', False),
    Case('cidr("192.168.0.0/16").containsCIDR("192.168.0.0/24")', True),
    Case('cidr("10.0.0.0/8").containsCIDR(cidr("10.0.0.0/8"))', True),
    Case('cidr("10.0.0.0/8").containsCIDR("::/0")', False),
    # A string that is no address: containsIP gives no such overload, containsCIDR the parse
    # error, because cidr.go hands different values to MaybeNoSuchOverloadErr.
    Case('cidr("10.0.0.0/8").containsIP("nonsense")', Error("no such overload")),
    Case('cidr("10.0.0.0/8").containsIP("fe80::1%eth0")', Error("no such overload")),
    Case('cidr("10.0.0.0/8").containsCIDR("nonsense")', parse_error("nonsense", "no '/'")),
    Case(
        'string(cidr("10.0.0.0/8").ip()) + "/" + string(cidr("10.0.0.0/8").prefixLength())',
        "10.0.0.0/8",
    ),
]


@pytest.mark.parametrize("case", table(kubernetes=KUBERNETES, parsing=PARSING, functions=FUNCTIONS))
def test_cidr_library(case: Case) -> None:
    check(case)
