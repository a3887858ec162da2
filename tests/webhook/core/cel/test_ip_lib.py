"""The IP library against Kubernetes' own table: kubernetes/kubernetes
staging/src/k8s.io/apiserver/pkg/cel/library/ip_test.go (TestIP, every case), then what ip.go's
parseIPAddr refuses (zones, IPv4-mapped addresses) and the error texts of Go's netip.ParseAddr,
which Kubernetes passes on word for word."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Opaque, Refused, check, table


def parse_error(text: str, why: str) -> Error:
    quoted = text.replace('"', '\\"')
    return Error(
        f'IP Address "{quoted}" parse error during conversion from string: '
        f'ParseAddr("{quoted}"): {why}'
    )


KUBERNETES = [
    Case('ip("192.168.0.1")', Opaque("net.IP", "192.168.0.1")),
    Case('ip("192.168.0.1.0")', parse_error("192.168.0.1.0", "IPv4 address too long")),
    Case('isIP("192.168.0.1")', True),
    Case('isIP("192.168.0.1.0")', False),
    Case('ip.isCanonical("127.0.0.1")', True),
    Case('ip.isCanonical("127.0.0.1.0")', parse_error("127.0.0.1.0", "IPv4 address too long")),
    Case('ip("192.168.0.1").family()', 4),
    Case('ip("0.0.0.0").isUnspecified()', True),
    Case('ip("127.0.0.1").isUnspecified()', False),
    Case('ip("127.0.0.1").isLoopback()', True),
    Case('ip("1.2.3.4").isLoopback()', False),
    Case('ip("224.0.0.1").isLinkLocalMulticast()', True),
    Case('ip("224.0.1.1").isLinkLocalMulticast()', False),
    Case('ip("169.254.169.254").isLinkLocalUnicast()', True),
    Case('ip("192.168.0.1").isLinkLocalUnicast()', False),
    Case('ip("192.168.0.1").isGlobalUnicast()', True),
    Case('ip("255.255.255.255").isGlobalUnicast()', False),
    Case('ip("2001:db8::68")', Opaque("net.IP", "2001:db8::68")),
    Case(
        'ip("2001:db8:::68")',
        parse_error(
            "2001:db8:::68", 'each colon-separated field must have at least one digit (at ":68")'
        ),
    ),
    Case('isIP("2001:db8::68")', True),
    Case('isIP("2001:db8:::68")', False),
    Case('ip.isCanonical("2001:db8::68")', True),
    Case('ip.isCanonical("2001:DB8::68")', False),
    Case(
        'ip.isCanonical("2001:db8:::68")',
        parse_error(
            "2001:db8:::68", 'each colon-separated field must have at least one digit (at ":68")'
        ),
    ),
    Case('ip("2001:db8::68").family()', 6),
    Case('ip("::").isUnspecified()', True),
    Case('ip("::1").isUnspecified()', False),
    Case('ip("::1").isLoopback()', True),
    Case('ip("2001:db8::abcd").isLoopback()', False),
    Case('ip("ff02::1").isLinkLocalMulticast()', True),
    Case('ip("fd00::1").isLinkLocalMulticast()', False),
    Case('ip("fe80::1").isLinkLocalUnicast()', True),
    Case('ip("fd80::1").isLinkLocalUnicast()', False),
    Case('ip("2001:db8::abcd").isGlobalUnicast()', True),
    Case('ip("ff00::1").isGlobalUnicast()', False),
    Case(
        'isIP(cidr("192.168.0.0/24"))',
        Refused("found no matching overload for 'isIP' applied to '(net.CIDR)'"),
    ),
    Case('string(ip("192.168.0.1"))', "192.168.0.1"),
    Case('type(ip("192.168.0.1")) == net.IP', True),
]

PARSING = [
    Case('ip("fe80::1%eth0")', Error('IP address "fe80::1%eth0" with zone value is not allowed')),
    Case('ip("::ffff:1.2.3.4")', Error('IPv4-mapped IPv6 address "::ffff:1.2.3.4" is not allowed')),
    Case('isIP("::ffff:1.2.3.4")', False),
    Case('ip("01.2.3.4")', parse_error("01.2.3.4", "IPv4 field has octet with leading zero")),
    Case('ip("256.1.1.1")', parse_error("256.1.1.1", "IPv4 field has value >255")),
    Case('ip("1.2.3")', parse_error("1.2.3", "IPv4 address too short")),
    Case(
        'ip("1.2..3")', parse_error("1.2..3", 'IPv4 field must have at least one digit (at ".3")')
    ),
    Case('ip("1.2.3.4%eth0")', parse_error("1.2.3.4%eth0", 'unexpected character (at "%eth0")')),
    Case('ip("")', parse_error("", "unable to parse IP")),
    Case(
        'ip("example.com")', parse_error("example.com", 'unexpected character (at "example.com")')
    ),
    Case('ip("%eth0")', parse_error("%eth0", "missing IPv6 address")),
    Case('ip("fe80::1%")', parse_error("fe80::1%", "zone must be a non-empty string")),
    Case(
        'ip("12345::")',
        parse_error("12345::", 'each group must have 4 or less digits (at "12345::")'),
    ),
    Case(
        'ip("1:2:3:4:5:6:7::8")',
        parse_error("1:2:3:4:5:6:7::8", "the :: must expand to at least one field of zeros"),
    ),
    Case(
        'ip("1:2:3:4:5:6:7:8:9")',
        parse_error("1:2:3:4:5:6:7:8:9", 'trailing garbage after address (at "9")'),
    ),
    Case('ip("1::2::3")', parse_error("1::2::3", 'multiple :: in address (at ":3")')),
    Case('ip("1:2")', parse_error("1:2", "address string too short")),
    Case('ip("1:")', parse_error("1:", 'colon must be followed by more characters (at ":")')),
    Case(
        'ip("1:2:3:4:5:6:7:1.2.3.4")',
        parse_error(
            "1:2:3:4:5:6:7:1.2.3.4",
            'embedded IPv4 address must replace the final 2 fields of the address (at "1.2.3.4")',
        ),
    ),
    Case(
        'ip("1::2:3:4:5:6:7:1.2.3.4")',
        parse_error(
            "1::2:3:4:5:6:7:1.2.3.4",
            'too many hex fields to fit an embedded IPv4 at the end of the address (at "1.2.3.4")',
        ),
    ),
    Case('string(ip("::1.2.3.4"))', "::102:304"),
    Case('string(ip("2001:DB8:0:0:1:0:0:1"))', "2001:db8::1:0:0:1"),
    Case('ip.isCanonical("2001:db8::0:1")', False),
    Case('ip("10.0.0.1") == ip("10.0.0.1")', True),
    Case('ip("::1") == ip("0:0::1")', True),
    Case('ip("10.0.0.1") == ip("10.0.0.2")', False),
]

FUNCTIONS = [
    # Go's definitions, not the documentation's prose: private and unique-local addresses are
    # global unicast, the IPv4 broadcast address is not.
    Case('ip("10.0.0.1").isGlobalUnicast()', True),
    Case('ip("fd00::1").isGlobalUnicast()', True),
    Case('ip("0.0.0.0").isGlobalUnicast()', False),
    Case('ip("224.0.0.1").isGlobalUnicast()', False),
    Case('ip("127.1.2.3").isLoopback()', True),
    Case('ip("ff12::1").isLinkLocalMulticast()', True),
    Case('ip("ff05::1").isLinkLocalMulticast()', False),
    Case('ip("febf::1").isLinkLocalUnicast()', True),
    Case('ip("fec0::1").isLinkLocalUnicast()', False),
    Case("ip(1)", Refused("found no matching overload for 'ip' applied to '(int)'")),
]


@pytest.mark.parametrize("case", table(kubernetes=KUBERNETES, parsing=PARSING, functions=FUNCTIONS))
def test_ip_library(case: Case) -> None:
    check(case)
