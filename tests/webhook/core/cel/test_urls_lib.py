"""The URL library against Kubernetes' own table: kubernetes/kubernetes has no urls_test.go;
its cases live in staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/
validation_test.go (TestValidationExpressions, "URL parsing": every expression, each of which
must be true, with `self.url` given as `object.url`). Then what Go's net/url accepts and refuses
(url.ParseRequestURI decides, url.Parse takes apart), with its error texts."""

from __future__ import annotations

import pytest

from tests.support.cel import Case, Error, Opaque, check, table

FAILED = "URL parse error during conversion from string"
OBJECT = {"url": "https://user:pass@kubernetes.io:80/docs/home?k1=a&k2=b&k2=c#anchor"}

KUBERNETES = [
    Case(expr, True)
    for expr in (
        "url('/path').getScheme() == ''",
        "url('https://example.com/').getScheme() == 'https'",
        "url('https://example.com:80/').getHost() == 'example.com:80'",
        "url('https://example.com/').getHost() == 'example.com'",
        "url('https://[::1]:80/').getHost() == '[::1]:80'",
        "url('https://[::1]/').getHost() == '[::1]'",
        "url('/path').getHost() == ''",
        "url('https://example.com:80/').getHostname() == 'example.com'",
        "url('https://127.0.0.1/').getHostname() == '127.0.0.1'",
        "url('https://[::1]/').getHostname() == '::1'",
        "url('/path').getHostname() == ''",
        "url('https://example.com:80/').getPort() == '80'",
        "url('https://example.com/').getPort() == ''",
        "url('/path').getPort() == ''",
        "url('https://example.com/path').getEscapedPath() == '/path'",
        "url('https://example.com/with space/').getEscapedPath() == '/with%20space/'",
        "url('https://example.com').getEscapedPath() == ''",
        "url('https://example.com/path?k1=a&k2=b&k2=c').getQuery() == "
        "{ 'k1': ['a'], 'k2': ['b', 'c']}",
        "url('https://example.com/path?key with spaces=value with spaces').getQuery() == "
        "{ 'key with spaces': ['value with spaces']}",
        "url('https://example.com/path?').getQuery() == {}",
        "url('https://example.com/path').getQuery() == {}",
        "url(object.url).getScheme() == 'https'",
        "url(object.url).getHost() == 'kubernetes.io:80'",
        "url(object.url).getHostname() == 'kubernetes.io'",
        "url(object.url).getPort() == '80'",
        "url(object.url).getEscapedPath() == '/docs/home'",
        "url(object.url).getQuery() == {'k1': ['a'], 'k2': ['b', 'c']}",
        "isURL('https://user:pass@example.com:80/path?query=val#fragment')",
        "isURL('/path') == true",
        "isURL('https://a:b:c/') == false",
        "isURL('../relative-path') == false",
    )
]

PARSING = [
    Case(
        "url('https://a:b:c/')",
        Error(f'{FAILED}: parse "https://a:b:c/": invalid port ":c" after host'),
    ),
    Case("url('')", Error(f'{FAILED}: parse "": empty url')),
    Case("url('../x')", Error(f'{FAILED}: parse "../x": invalid URI for request')),
    Case("url('://x')", Error(f'{FAILED}: parse "://x": missing protocol scheme')),
    Case(
        "url('https://a/%zz')", Error(f'{FAILED}: parse "https://a/%zz": invalid URL escape "%zz"')
    ),
    Case(
        "url('https://exa mple.com/')",
        Error(f'{FAILED}: parse "https://exa mple.com/": invalid character " " in host name'),
    ),
    Case(
        "url('https://a%41/')", Error(f'{FAILED}: parse "https://a%41/": invalid URL escape "%41"')
    ),
    Case("url('https://[::1/')", Error(f"{FAILED}: parse \"https://[::1/\": missing ']' in host")),
    Case(
        "url('https://u s@h/')",
        Error(f'{FAILED}: parse "https://u s@h/": net/url: invalid userinfo'),
    ),
    Case(
        "url('https://a/\\x7f')",
        Error(f'{FAILED}: parse "https://a/\\x7f": net/url: invalid control character in URL'),
    ),
    # ParseRequestURI takes no fragment: a '#' before the path is part of the host, refused...
    Case("isURL('https://example.com#frag')", False),
    # ...after the path it is part of the path, and url.Parse cuts it off...
    Case("url('https://example.com/a#frag').getEscapedPath()", "/a"),
    # ...after a '?' it is part of the query, unchecked, and Parse checks the fragment alone.
    Case(
        "url('https://a/?q#%zz')",
        Error(f'{FAILED}: parse "https://a/?q#%zz": invalid URL escape "%zz"'),
    ),
    # What Python's urllib refuses and Go does not check.
    Case("isURL('https://a:99999/')", True),
    Case("isURL('https://a/?x=%zz')", True),
    Case("isURL('mailto:someone@example.com')", True),
    Case("isURL('*')", True),
    Case("isURL('https://ü.example/')", True),
    Case("isURL('//host/path')", True),
]

PARTS = [
    Case("url('HTTPS://Example.com/').getScheme()", "https"),
    Case("url('HTTPS://Example.com/').getHost()", "Example.com"),
    Case("url('mailto:someone@example.com').getHost()", ""),
    Case("url('//host/path').getHost()", "host"),
    Case("url('https://h:/').getPort()", ""),
    Case("url('https://h:/').getHostname()", "h"),
    Case("url('https://u@s@h/').getHost()", "h"),
    Case("url('https://a%C3%BC/').getHost()", "aü"),
    Case("url('https://[fe80::1%25en0]:8080/').getHostname()", "fe80::1%en0"),
    Case("url('https://a/a%2Fb').getEscapedPath()", "/a%2Fb"),
    Case("url('https://a/a b%20c').getEscapedPath()", "/a%20b%20c"),
    Case("url('https://a/é').getEscapedPath()", "/%C3%A9"),
    Case("url('https://a/a!b(c)').getEscapedPath()", "/a!b(c)"),
    Case("url('*').getEscapedPath()", "*"),
    Case(
        "url('https://a/x?a=1;b=2&c=%zz&d&=e&f=+g%20h').getQuery()",
        {"d": [""], "": ["e"], "f": [" g h"]},
    ),
    Case("url('/a')", Opaque("kubernetes.URL", "/a")),
]

DIFFERENCES = [
    Case(
        "url('HTTPS://a/') == url('https://a/')",
        True,
        here=False,
        why="a URL value is carried as its text; Kubernetes compares Go's re-serialised form "
        "(URL.String(), with a lower-case scheme and its own escaping)",
    ),
]


@pytest.mark.parametrize(
    "case", table(kubernetes=KUBERNETES, parsing=PARSING, parts=PARTS, differs=DIFFERENCES)
)
def test_urls_library(case: Case) -> None:
    check(case, {"object": OBJECT})
