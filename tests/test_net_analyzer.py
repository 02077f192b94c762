"""canopy.decisions.analyzers.net: SSRF encodings, URL tricks and allow-list matching.

Tables of spellings a client would send to loopback, private, link-local or
metadata addresses (none may come back PUBLIC), public hosts that must stay
PUBLIC, a host_matches truth table, and hypothesis checks that every alternative
encoding of a random IPv4 address lands on the same address and category, and
that categories agree with a naive reference built from ``ipaddress`` properties.
"""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canopy.decisions.analyzers.net import (
    HostCategory,
    classify_host,
    find_urls,
    host_allowed,
    host_matches,
    parse_url,
)
from canopy.errors import MalformedInputError

C = HostCategory
V4 = ipaddress.IPv4Address

# --- non-public encodings ------------------------------------------------------

NON_PUBLIC: list[tuple[str, HostCategory, str | None]] = [
    # (host text, category, ip the client connects to or None for names)
    # loopback, inet_aton forms
    ("127.0.0.1", C.LOOPBACK, "127.0.0.1"),
    ("127.1", C.LOOPBACK, "127.0.0.1"),
    ("127.0.1", C.LOOPBACK, "127.0.0.1"),
    ("127.000.000.001", C.LOOPBACK, "127.0.0.1"),
    ("2130706433", C.LOOPBACK, "127.0.0.1"),
    ("0x7f000001", C.LOOPBACK, "127.0.0.1"),
    ("0X7F000001", C.LOOPBACK, "127.0.0.1"),
    ("0x7f.0.0.1", C.LOOPBACK, "127.0.0.1"),
    ("0x7f.0x0.0x0.0x1", C.LOOPBACK, "127.0.0.1"),
    ("0x00000000007f.1", C.LOOPBACK, "127.0.0.1"),
    ("0177.0.0.1", C.LOOPBACK, "127.0.0.1"),
    ("0177.0000.0000.0001", C.LOOPBACK, "127.0.0.1"),
    ("017700000001", C.LOOPBACK, "127.0.0.1"),
    ("0x7f.1", C.LOOPBACK, "127.0.0.1"),
    ("0177.1", C.LOOPBACK, "127.0.0.1"),
    ("0x7fffffff", C.LOOPBACK, "127.255.255.255"),
    ("127.0.0.1.", C.LOOPBACK, "127.0.0.1"),
    ("127.0.0.1..", C.LOOPBACK, "127.0.0.1"),
    ("2130706433.", C.LOOPBACK, "127.0.0.1"),
    # loopback, URL-ish spellings
    ("%31%32%37.0.0.1", C.LOOPBACK, "127.0.0.1"),
    ("%31%32%37%2e%30%2e%30%2e%31", C.LOOPBACK, "127.0.0.1"),
    ("１２７.０.０.１", C.LOOPBACK, "127.0.0.1"),  # fullwidth digits
    ("127。0。0。1", C.LOOPBACK, "127.0.0.1"),  # ideographic full stops
    (" 127.0.0.1 ", C.LOOPBACK, "127.0.0.1"),
    ("127.0.0.\n1", C.LOOPBACK, "127.0.0.1"),
    ("127.0\t.0.1", C.LOOPBACK, "127.0.0.1"),
    ("\x00127.0.0.1\x1f", C.LOOPBACK, "127.0.0.1"),
    # loopback, IPv6
    ("::1", C.LOOPBACK, "::1"),
    ("[::1]", C.LOOPBACK, "::1"),
    ("0:0:0:0:0:0:0:1", C.LOOPBACK, "::1"),
    ("[0000:0000:0000:0000:0000:0000:0000:0001]", C.LOOPBACK, "::1"),
    ("::ffff:127.0.0.1", C.LOOPBACK, "127.0.0.1"),
    ("[::ffff:127.0.0.1]", C.LOOPBACK, "127.0.0.1"),
    ("::ffff:7f00:1", C.LOOPBACK, "127.0.0.1"),
    ("[::FFFF:7F00:0001]", C.LOOPBACK, "127.0.0.1"),
    ("::127.0.0.1", C.LOOPBACK, "::7f00:1"),
    ("::ffff:0:127.0.0.1", C.LOOPBACK, "::ffff:0:7f00:1"),
    ("64:ff9b::7f00:1", C.LOOPBACK, "64:ff9b::7f00:1"),
    ("64:ff9b::127.0.0.1", C.LOOPBACK, "64:ff9b::7f00:1"),
    ("2002:7f00:1::", C.LOOPBACK, "2002:7f00:1::"),
    # loopback and local names
    ("localtest.me", C.LOOPBACK, None),
    ("anything.lvh.me", C.LOOPBACK, None),
    ("127.0.0.1.nip.io", C.LOOPBACK, None),
    ("app.127.0.0.1.nip.io", C.LOOPBACK, None),
    ("app-127-0-0-1.sslip.io", C.LOOPBACK, None),
    ("localhost", C.LOCAL_NAME, None),
    ("LOCALHOST", C.LOCAL_NAME, None),
    ("localhost.", C.LOCAL_NAME, None),
    ("ⓛocalhost", C.LOCAL_NAME, None),
    ("local\u00adhost", C.LOCAL_NAME, None),  # soft hyphen: nameprep drops it
    ("ＬＯＣＡＬＨＯＳＴ", C.LOCAL_NAME, None),
    ("api.localhost", C.LOCAL_NAME, None),
    ("printer.local", C.LOCAL_NAME, None),
    ("db.internal", C.LOCAL_NAME, None),
    ("nas.home.arpa", C.LOCAL_NAME, None),
    ("localhost.localdomain", C.LOCAL_NAME, None),
    ("intranet", C.LOCAL_NAME, None),
    ("redis", C.LOCAL_NAME, None),
    # unspecified
    ("0.0.0.0", C.UNSPECIFIED, "0.0.0.0"),
    ("0", C.UNSPECIFIED, "0.0.0.0"),
    ("0x0", C.UNSPECIFIED, "0.0.0.0"),
    ("0.0.0.0.", C.UNSPECIFIED, "0.0.0.0"),
    ("0.1.2.3", C.UNSPECIFIED, "0.1.2.3"),
    ("::", C.UNSPECIFIED, "::"),
    ("[::]", C.UNSPECIFIED, "::"),
    ("::ffff:0.0.0.0", C.UNSPECIFIED, "0.0.0.0"),
    # private
    ("10.0.0.1", C.PRIVATE, "10.0.0.1"),
    ("10.1", C.PRIVATE, "10.0.0.1"),
    ("012.0.0.1", C.PRIVATE, "10.0.0.1"),
    ("0xa.0.0.1", C.PRIVATE, "10.0.0.1"),
    ("167772161", C.PRIVATE, "10.0.0.1"),
    ("172.16.0.1", C.PRIVATE, "172.16.0.1"),
    ("172.31.255.255", C.PRIVATE, "172.31.255.255"),
    ("192.168.1.1", C.PRIVATE, "192.168.1.1"),
    ("192.168.257", C.PRIVATE, "192.168.1.1"),
    ("0xc0a80101", C.PRIVATE, "192.168.1.1"),
    ("3232235777", C.PRIVATE, "192.168.1.1"),
    ("0300.0250.01.01", C.PRIVATE, "192.168.1.1"),
    ("100.64.0.1", C.PRIVATE, "100.64.0.1"),
    ("fc00::1", C.PRIVATE, "fc00::1"),
    ("fd12:3456::1", C.PRIVATE, "fd12:3456::1"),
    ("fec0::1", C.PRIVATE, "fec0::1"),
    ("::ffff:10.0.0.1", C.PRIVATE, "10.0.0.1"),
    ("::ffff:c0a8:101", C.PRIVATE, "192.168.1.1"),
    ("10.0.0.1.nip.io", C.PRIVATE, None),
    # link-local
    ("169.254.1.1", C.LINK_LOCAL, "169.254.1.1"),
    ("fe80::1", C.LINK_LOCAL, "fe80::1"),
    ("fe80::1%eth0", C.LINK_LOCAL, "fe80::1"),
    ("[fe80::1%25eth0]", C.LINK_LOCAL, "fe80::1"),
    # metadata
    ("169.254.169.254", C.METADATA, "169.254.169.254"),
    ("0xa9fea9fe", C.METADATA, "169.254.169.254"),
    ("2852039166", C.METADATA, "169.254.169.254"),
    ("0251.0376.0251.0376", C.METADATA, "169.254.169.254"),
    ("0xa9.0xfe.0xa9.0xfe", C.METADATA, "169.254.169.254"),
    ("169.254.43518", C.METADATA, "169.254.169.254"),
    ("169.16689662", C.METADATA, "169.254.169.254"),
    ("[::ffff:169.254.169.254]", C.METADATA, "169.254.169.254"),
    ("::ffff:a9fe:a9fe", C.METADATA, "169.254.169.254"),
    ("64:ff9b::a9fe:a9fe", C.METADATA, "64:ff9b::a9fe:a9fe"),
    ("2002:a9fe:a9fe::", C.METADATA, "2002:a9fe:a9fe::"),
    ("169.254.170.2", C.METADATA, "169.254.170.2"),
    ("fd00:ec2::254", C.METADATA, "fd00:ec2::254"),
    ("[FD00:EC2:0::254]", C.METADATA, "fd00:ec2::254"),
    ("100.100.100.200", C.METADATA, "100.100.100.200"),
    ("192.0.0.192", C.METADATA, "192.0.0.192"),
    ("168.63.129.16", C.METADATA, "168.63.129.16"),
    ("metadata.google.internal", C.METADATA, None),
    ("METADATA.GOOGLE.INTERNAL.", C.METADATA, None),
    ("metadata", C.METADATA, None),
    ("instance-data", C.METADATA, None),
    ("instance-data.ec2.internal", C.METADATA, None),
    # multicast, broadcast, reserved
    ("224.0.0.1", C.MULTICAST, "224.0.0.1"),
    ("239.255.255.250", C.MULTICAST, "239.255.255.250"),
    ("ff02::1", C.MULTICAST, "ff02::1"),
    ("255.255.255.255", C.BROADCAST, "255.255.255.255"),
    ("0xffffffff", C.BROADCAST, "255.255.255.255"),
    ("4294967295", C.BROADCAST, "255.255.255.255"),
    ("240.0.0.1", C.RESERVED, "240.0.0.1"),
    ("192.0.2.1", C.RESERVED, "192.0.2.1"),
    ("198.18.0.1", C.RESERVED, "198.18.0.1"),
    ("2001:db8::1", C.RESERVED, "2001:db8::1"),
    ("2001::1", C.RESERVED, "2001::1"),  # Teredo
    ("4000::1", C.RESERVED, "4000::1"),  # outside global unicast 2000::/3
]

INVALID = [
    "",
    ".",
    "a..b",
    ".example.com",
    "1.2.3.999",
    "1.2.3.4.5",
    "08.0.0.1",
    "0x7g.0.0.1",
    "4294967296",
    "256.1",
    "127.0.0.1:80",
    "evil.com@127.0.0.1",
    "exa mple.com",
    "127.0.0\x00.1",
    "[127.0.0.1]",
    "::ffff:0177.0.0.1",
    "[::1",
    "%zz",
    "%ff%fe",
    "%2531%32%37.0.0.1",  # double-encoded: a client decodes once
    "%3a%3a1",
    "fe80::1%",
    "a" * 64 + ".com",
    "exam\u202eple.com",  # bidi override: prohibited by nameprep
    "x.127.0.0.1",  # ends in a number, not IPv4
    "faß.de",  # IDNA 2003 says fass.de, IDNA 2008 says xn--fa-hia.de
    "FAẞ.de",
    "βόλος.com",  # final sigma: another deviation character
    "a\u200db.com",  # ZWJ
]

PUBLIC = [
    ("api.stripe.com", None),
    ("API.Stripe.COM.", None),
    ("example.com", None),
    ("bücher.de", None),
    ("xn--bcher-kva.de", None),
    ("1.2.3.4.example.com", None),  # embeds a public address: still public
    ("8.8.8.8", "8.8.8.8"),
    ("134744072", "8.8.8.8"),
    ("0x08080808", "8.8.8.8"),
    ("010.010.010.010", "8.8.8.8"),
    ("1.1.1.1", "1.1.1.1"),
    ("93.184.216.34", "93.184.216.34"),
    ("2606:4700::1111", "2606:4700::1111"),
    ("[2606:4700::1111]", "2606:4700::1111"),
    ("::ffff:8.8.8.8", "8.8.8.8"),
    ("64:ff9b::808:808", "64:ff9b::808:808"),
    ("2002:808:808::", "2002:808:808::"),
]


def test_table_sizes() -> None:
    assert len(NON_PUBLIC) >= 60


@pytest.mark.parametrize(("text", "category", "ip"), NON_PUBLIC)
def test_non_public_encodings(text: str, category: HostCategory, ip: str | None) -> None:
    info = classify_host(text)
    assert info.category is category, info
    assert info.category is not C.PUBLIC
    assert info.ip == (ipaddress.ip_address(ip) if ip else None)
    assert info.text == text


@pytest.mark.parametrize("text", INVALID)
def test_invalid_hosts(text: str) -> None:
    info = classify_host(text)
    assert info.category is C.INVALID, info
    assert info.ip is None and not info.is_public


@pytest.mark.parametrize(("text", "ip"), PUBLIC)
def test_public_hosts(text: str, ip: str | None) -> None:
    info = classify_host(text)
    assert info.category is C.PUBLIC, info
    assert info.is_public
    assert info.ip == (ipaddress.ip_address(ip) if ip else None)


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("API.Stripe.COM.", "api.stripe.com"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("[::1]", "::1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::ffff:7f00:1]", "127.0.0.1"),
        ("fe80::1%eth0", "fe80::1"),
        ("%31%32%37.0.0.1", "127.0.0.1"),
    ],
)
def test_normalized_host(text: str, host: str) -> None:
    assert classify_host(text).host == host


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("2130706433", "decimal IPv4 form"),
        ("0x7f000001", "hex IPv4 form"),
        ("0177.0.0.1", "octal IPv4 form"),
        ("127.1", "short IPv4 form (2 parts)"),
        ("::ffff:127.0.0.1", "IPv4-mapped IPv6"),
        ("64:ff9b::7f00:1", "NAT64 IPv6 (RFC 6052) embeds 127.0.0.1"),
        ("::127.0.0.1", "IPv4-compatible IPv6 embeds 127.0.0.1"),
        ("fe80::1%eth0", "zone id removed"),
        ("localhost.", "trailing dot removed"),
        ("%31%32%37.0.0.1", "percent-decoded"),
    ],
)
def test_notes_explain_the_form(text: str, note: str) -> None:
    assert note in classify_host(text).notes


# --- URLs ------------------------------------------------------------------------

URLS: list[tuple[str, str, str, int | None, str, HostCategory]] = [
    # (url, scheme, normalized host, port, path, category)
    ("http://2130706433/", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("http://[::ffff:127.0.0.1]/", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    (
        "http://metadata.google.internal/x",
        "http",
        "metadata.google.internal",
        None,
        "/x",
        C.METADATA,
    ),
    ("http://evil.com@127.0.0.1/", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("http://user:pw@127.0.0.1:8080/a", "http", "127.0.0.1", 8080, "/a", C.LOOPBACK),
    ("http://127.0.0.1#@evil.com", "http", "127.0.0.1", None, "", C.LOOPBACK),
    ("http://127.0.0.1?@evil.com/", "http", "127.0.0.1", None, "", C.LOOPBACK),
    ("http://127.0.0.1/#@evil.com", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("http://%31%32%37.0.0.1/", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("HTTP://LOCALHOST:80/", "http", "localhost", 80, "/", C.LOCAL_NAME),
    ("http:/127.0.0.1/", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("http:127.0.0.1", "http", "127.0.0.1", None, "", C.LOOPBACK),
    ("http:///127.0.0.1/", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("  http://127.0.0.1/\n", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("http://127.0.\t0.1/", "http", "127.0.0.1", None, "/", C.LOOPBACK),
    ("http://[fe80::1%25eth0]:80/", "http", "fe80::1", 80, "/", C.LINK_LOCAL),
    ("http://[::1]:8080/a?b#c", "http", "::1", 8080, "/a", C.LOOPBACK),
    (
        "http://169.254.169.254/latest/meta-data/",
        "http",
        "169.254.169.254",
        None,
        "/latest/meta-data/",
        C.METADATA,
    ),
    ("gopher://127.0.0.1:6379/_INFO", "gopher", "127.0.0.1", 6379, "/_INFO", C.LOOPBACK),
    ("dict://localhost:11211/stat", "dict", "localhost", 11211, "/stat", C.LOCAL_NAME),
    ("file:///etc/passwd", "file", "localhost", None, "/etc/passwd", C.LOCAL_NAME),
    ("file:/etc/passwd", "file", "localhost", None, "/etc/passwd", C.LOCAL_NAME),
    ("file://127.0.0.1/etc/passwd", "file", "127.0.0.1", None, "/etc/passwd", C.LOOPBACK),
    ("localhost:8080/admin", "", "localhost", 8080, "/admin", C.LOCAL_NAME),
    ("10.0.0.1:22", "", "10.0.0.1", 22, "", C.PRIVATE),
    ("//127.0.0.1/x", "", "127.0.0.1", None, "/x", C.LOOPBACK),
    (
        "https://api.stripe.com/v1/charges",
        "https",
        "api.stripe.com",
        None,
        "/v1/charges",
        C.PUBLIC,
    ),
    ("https://api.stripe.com:443", "https", "api.stripe.com", 443, "", C.PUBLIC),
    ("https://api.stripe.com:/x", "https", "api.stripe.com", None, "/x", C.PUBLIC),
]


@pytest.mark.parametrize(("url", "scheme", "host", "port", "path", "category"), URLS)
def test_parse_url(
    url: str, scheme: str, host: str, port: int | None, path: str, category: HostCategory
) -> None:
    info = parse_url(url)
    assert (info.scheme, info.host.host, info.port, info.path) == (scheme, host, port, path)
    assert info.host.category is category
    assert info.text == url


def test_userinfo_is_reported() -> None:
    assert parse_url("http://evil.com@127.0.0.1/").has_userinfo
    assert parse_url("http://user:pw@example.com/").has_userinfo
    assert not parse_url("http://example.com/a@b").has_userinfo


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.com\\@127.0.0.1/",  # browsers: evil.com; urllib/requests: 127.0.0.1
        "http:\\\\127.0.0.1\\x",  # browsers: 127.0.0.1; urllib: no host
        "http://a@b@127.0.0.1/",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:8o/",
        "http://127.0.0.1:-1/",
        "http://::1/",
        "http://[::1/",
        "http://[::1]x/",
        "http:///",
        "http://",
        "http://@/",
        "mailto:someone@example.com",
        "javascript:alert(1)",
        "gopher:127.0.0.1",
    ],
)
def test_parse_url_rejects(url: str) -> None:
    with pytest.raises(MalformedInputError):
        parse_url(url)


def test_parse_url_invalid_host_is_invalid_not_public() -> None:
    assert parse_url("http://exa mple.com/").host.category is C.INVALID
    assert parse_url("http://1.2.3.999/").host.category is C.INVALID


def test_find_urls() -> None:
    text = (
        "fetch http://a.com/?next=http://127.0.0.1/x), then GOPHER://10.0.0.1:70/_ "
        "or ssh to 10.0.0.2:22. Also (https://[::1]:80/) and 2130706433:80 and "
        "0x7f000001:22, [fe80::1]:8080 at 12:30; not example.com/x."
    )
    assert find_urls(text) == [
        "http://a.com/?next=http://127.0.0.1/x",
        "http://127.0.0.1/x",
        "GOPHER://10.0.0.1:70/_",
        "10.0.0.2:22",
        "https://[::1]:80/",
        "2130706433:80",
        "0x7f000001:22",
        "[fe80::1]:8080",
    ]


@pytest.mark.parametrize(
    "text",
    ["meet at 12:30", "version 1.2.3", "see example.com/x", "ratio 3:2", "", "mailto:x@y.z"],
)
def test_find_urls_ignores_prose(text: str) -> None:
    assert find_urls(text) == []


def test_found_urls_parse_to_the_hidden_targets() -> None:
    text = "try http://0x7f.1:8080/ or dict://[::ffff:a9fe:a9fe]:80/ or 0177.0.0.1:6379"
    found = [parse_url(u).host for u in find_urls(text)]
    assert [h.category for h in found] == [C.LOOPBACK, C.METADATA, C.LOOPBACK]


# --- allow lists ------------------------------------------------------------------

HOST_MATCHES = [
    ("stripe.com", "stripe.com", True),
    ("api.stripe.com", "stripe.com", True),
    ("a.b.api.stripe.com", "stripe.com", True),
    ("evilstripe.com", "stripe.com", False),
    ("stripe.com.evil.io", "stripe.com", False),
    ("api-stripe.com", "stripe.com", False),
    ("stripe.co", "stripe.com", False),
    ("stripe.com", "api.stripe.com", False),
    ("com", "stripe.com", False),
    ("STRIPE.COM.", "stripe.com", True),
    ("api.stripe.com", "STRIPE.com.", True),
    ("ＳＴＲＩＰＥ.com", "stripe.com", True),
    ("ѕtripe.com", "stripe.com", False),  # Cyrillic ѕ: a different domain
    ("faß.de", "fass.de", False),  # a different domain to IDNA 2008 clients
    ("shop.fass.de", "faß.de", False),
    ("xn--bcher-kva.de", "bücher.de", True),
    ("shop.bücher.de", "xn--bcher-kva.de", True),
    ("api.stripe.com", "*.stripe.com", True),
    ("stripe.com", "*.stripe.com", False),
    ("127.0.0.1", "127.0.0.1", True),
    ("2130706433", "127.0.0.1", True),
    ("0x7f.1", "127.0.0.1", True),
    ("::ffff:127.0.0.1", "127.0.0.1", True),
    ("127.0.0.2", "127.0.0.1", False),
    ("127.0.0.1", "127.0.0.0", False),
    ("1.127.0.0.1", "127.0.0.1", False),
    ("[::1]", "::1", True),
    ("0:0:0:0:0:0:0:1", "::1", True),
    ("::2", "::1", False),
    ("127.0.0.1", "localhost", False),
    ("localhost", "127.0.0.1", False),
    ("stripe.com:443", "stripe.com", False),
    ("evil.com@stripe.com", "stripe.com", False),
    ("", "stripe.com", False),
    ("stripe.com", "", False),
    ("stripe.com", ".com", False),
    ("10.0.0.1", "10.0.0.0/8", False),
]


def test_host_matches_table_size() -> None:
    assert len(HOST_MATCHES) >= 25


@pytest.mark.parametrize(("host", "allowed", "expected"), HOST_MATCHES)
def test_host_matches(host: str, allowed: str, expected: bool) -> None:
    assert host_matches(host, allowed) is expected


def test_host_allowed() -> None:
    allow = ["stripe.com", "api.github.com", "10.0.0.5"]
    assert host_allowed("api.stripe.com", allow)
    assert host_allowed("0xa000005", allow)
    assert not host_allowed("github.com", allow)
    assert not host_allowed("evilstripe.com", allow)
    assert not host_allowed("api.stripe.com", [])
    assert host_allowed("api.stripe.com", iter(allow))


# --- hypothesis ------------------------------------------------------------------

SPECIAL_V4 = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "255.255.255.0/24",
    )
]
METADATA_V4 = [V4(a) for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200")]
ipv4s = st.one_of(
    st.integers(0, 2**32 - 1).map(V4),
    st.sampled_from(SPECIAL_V4).flatmap(
        lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i])
    ),
    st.sampled_from(METADATA_V4),
)


def encodings(ip: V4) -> list[str]:
    """Spellings of one address that inet_aton, curl or a browser accept."""
    n, (a, b, c, d) = int(ip), ip.packed
    return [
        str(n),
        hex(n),
        f"0X{n:X}",
        "0" + oct(n)[2:],
        ".".join(f"0{x:o}" for x in (a, b, c, d)),
        ".".join(hex(x) for x in (a, b, c, d)),
        f"{hex(a)}.0{b:o}.{c}.{d}",
        f"{a}.{b}.{c << 8 | d}",
        f"{a}.{b << 16 | c << 8 | d}",
        f"{hex(a)}.{hex(b << 16 | c << 8 | d)}",
        f"{a}.{b}.{c}.{d}.",
        "".join(f"%{ord(ch):02x}" for ch in str(ip)),
        str(ip).translate(str.maketrans("0123456789.", "０１２３４５６７８９．")),
        f"::ffff:{ip}",
        f"[::ffff:{a << 8 | b:x}:{c << 8 | d:x}]",
        f"[0:0:0:0:0:ffff:{ip}]",
    ]


@settings(max_examples=300)
@given(ipv4s)
def test_every_encoding_reaches_the_same_address(ip: V4) -> None:
    dotted = classify_host(str(ip))
    assert dotted.ip == ip
    for text in encodings(ip):
        info = classify_host(text)
        assert (info.ip, info.category) == (ip, dotted.category), text
        authority = f"[{text}]" if text.startswith("::") else text
        url = parse_url(f"http://{authority}:8080/p")
        assert (url.host.ip, url.host.category, url.port) == (ip, dotted.category, 8080)


def reference_v4(ip: V4) -> set[HostCategory]:
    """Naive reference from ipaddress properties: which categories are acceptable."""
    if ip in METADATA_V4:
        return {C.METADATA}
    if ip.is_loopback:
        return {C.LOOPBACK}
    if ip.is_link_local:
        return {C.LINK_LOCAL}
    if ip.is_multicast:
        return {C.MULTICAST}
    if ip == V4("255.255.255.255"):
        return {C.BROADCAST}
    if ip.is_reserved:
        return {C.RESERVED}
    if int(ip) >> 24 == 0:
        return {C.UNSPECIFIED}
    if any(ip in ipaddress.IPv4Network(n) for n in ("192.0.0.0/24", "192.88.99.0/24")):
        return {C.RESERVED, C.METADATA}  # is_global for these differs across Pythons
    if not ip.is_global:
        return {C.PRIVATE, C.RESERVED}
    return {C.PUBLIC, C.METADATA}


RFC1918_AND_SHARED = [
    ipaddress.IPv4Network(n)
    for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]


@settings(max_examples=1000)
@given(ipv4s)
def test_v4_category_agrees_with_ipaddress(ip: V4) -> None:
    category = classify_host(str(ip)).category
    assert category in reference_v4(ip)
    if any(ip in net for net in RFC1918_AND_SHARED) and ip not in METADATA_V4:
        assert category is C.PRIVATE


SPECIAL_V6 = [
    ipaddress.IPv6Network(n)
    for n in (
        "::/120",
        "fe80::/10",
        "fc00::/7",
        "ff00::/8",
        "2001::/23",
        "2001:db8::/32",
        "100::/64",
        "2000::/3",
        "4000::/2",
    )
]
EMBEDDING_V6 = [
    ipaddress.IPv6Network(n)
    for n in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96", "2002::/16")
]
ipv6s = st.one_of(
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    st.sampled_from(SPECIAL_V6).flatmap(
        lambda net: st.integers(0, net.num_addresses - 1).map(lambda i: net[i])
    ),
)


@settings(max_examples=1000)
@given(ipv6s)
def test_v6_category_agrees_with_ipaddress(ip: ipaddress.IPv6Address) -> None:
    info = classify_host(f"[{ip.exploded.upper()}]")
    assert info.ip == (ip.ipv4_mapped or ip)
    if int(ip) > 1 and any(ip in net for net in EMBEDDING_V6):
        return  # classified by the embedded IPv4: covered by the IPv4 tests
    if ip.is_loopback:
        assert info.category is C.LOOPBACK
    elif ip.is_link_local:
        assert info.category is C.LINK_LOCAL
    elif ip.is_multicast:
        assert info.category is C.MULTICAST
    elif ip in ipaddress.IPv6Network("fc00::/7"):
        assert info.category in (C.PRIVATE, C.METADATA)
    if not ip.is_global:
        assert info.category is not C.PUBLIC
    if info.category is C.PUBLIC:
        assert ip.is_global and ip in ipaddress.IPv6Network("2000::/3")


@given(ipv4s, st.sampled_from(["127.0.0.1", "10.0.0.1", "169.254.169.254"]))
def test_ip_literals_match_only_the_same_address(ip: V4, allowed: str) -> None:
    for text in encodings(ip)[:5]:
        assert host_matches(text, allowed) is (ip == V4(allowed))


@given(
    st.lists(
        st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True), min_size=1, max_size=4
    ),
    st.lists(
        st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True), min_size=1, max_size=3
    ),
)
def test_host_matches_agrees_with_label_suffix_reference(
    host_labels: list[str], allowed_labels: list[str]
) -> None:
    host, allowed = ".".join(host_labels), ".".join(allowed_labels)
    if classify_host(host).ip is not None:
        return
    expected = host_labels[-len(allowed_labels) :] == allowed_labels
    assert host_matches(host, allowed) is expected
    assert host_matches(f"{host}.{allowed}", allowed)
    assert not host_matches(f"{host}{allowed}", allowed)
