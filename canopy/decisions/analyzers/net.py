"""Hosts and URLs as a client would interpret them, for SSRF and egress checks.

String comparison lets ``http://2130706433/``, ``http://[::ffff:127.0.0.1]/`` and
``http://metadata.google.internal/`` through. Here a host is decoded the way the
OS resolver and curl/browsers decode it (inet_aton forms, IDNA, percent-encoding,
IPv6 embeddings) and then put in a ``HostCategory``.

Rules that fail closed:

* Where clients disagree (a backslash or a second ``@`` in the authority) we raise
  ``MalformedInputError`` rather than pick one reading.
* Whitespace: as the WHATWG URL parser (and Python's ``urlsplit``) do, leading and
  trailing C0 controls and spaces are stripped and TAB/CR/LF are deleted anywhere;
  any other whitespace or control character in a host makes it ``INVALID``.
  curl rejects such URLs outright, so the browser reading is the dangerous one.
* A host that ends in a number but is not a valid IPv4 address (``1.2.3.999``) is
  ``INVALID`` (WHATWG "ends in a number"), never a public DNS name.
* Names are not resolved. Wildcard DNS names that embed a non-public IPv4 literal
  (``127.0.0.1.nip.io``, ``10-0-0-1.sslip.io``) and a few names known to resolve to
  loopback are categorized by that address, with a note; DNS rebinding still needs
  a connect-time check on the resolved address.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote

from canopy.errors import MalformedInputError

__all__ = [
    "HostCategory",
    "HostInfo",
    "UrlInfo",
    "classify_host",
    "find_urls",
    "host_allowed",
    "host_matches",
    "parse_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostCategory(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link_local"
    METADATA = "metadata"  # cloud instance metadata services: credentials live there
    UNSPECIFIED = "unspecified"  # 0.0.0.0/8 and ::; Linux connects these to the local host
    MULTICAST = "multicast"
    BROADCAST = "broadcast"
    RESERVED = "reserved"
    LOCAL_NAME = "local_name"  # names that only resolve inside a machine or site
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class HostInfo:
    """A host as given, as a client would send it, and what it reaches."""

    text: str
    host: str
    ip: IPAddress | None
    category: HostCategory
    notes: tuple[str, ...] = ()

    @property
    def is_public(self) -> bool:
        return self.category is HostCategory.PUBLIC


@dataclass(frozen=True, slots=True)
class UrlInfo:
    """The parts of a URL that decide where a request goes."""

    text: str
    scheme: str
    host: HostInfo
    port: int | None
    path: str
    has_userinfo: bool


# --- tables ----------------------------------------------------------------

#: Cloud metadata endpoints (AWS IMDS, ECS task metadata, AWS IMDS over IPv6,
#: Alibaba, Oracle, Azure WireServer).
METADATA_IPS: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "192.0.0.192",
        "168.63.129.16",
    )
)
METADATA_NAMES = frozenset(
    {"metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"}
)
#: Suffixes that never resolve on the public Internet: RFC 6761 (localhost),
#: RFC 6762 (local, and the appendix G private TLDs), RFC 8375 (home.arpa), ICANN
#: (internal).
LOCAL_SUFFIXES = (
    "localhost",
    "local",
    "internal",
    "home.arpa",
    "localdomain",
    "intranet",
    "private",
    "corp",
    "home",
    "lan",
    "svc",  # Kubernetes service names: kubernetes.default.svc
)
#: Public names (and all their subdomains) known to resolve to 127.0.0.1.
LOOPBACK_DNS_NAMES = ("localtest.me", "lvh.me", "vcap.me")

#: IPv4 special-purpose blocks, IANA registry / RFC 6890; first match wins, so the
#: broadcast address precedes 240/4. Anything else is PUBLIC.
_V4_TABLE = tuple(
    (ipaddress.IPv4Network(n), c)
    for n, c in (
        ("0.0.0.0/8", HostCategory.UNSPECIFIED),  # "this network", RFC 791
        ("10.0.0.0/8", HostCategory.PRIVATE),  # RFC 1918
        ("100.64.0.0/10", HostCategory.PRIVATE),  # CGNAT, RFC 6598
        ("127.0.0.0/8", HostCategory.LOOPBACK),  # RFC 1122
        ("169.254.0.0/16", HostCategory.LINK_LOCAL),  # RFC 3927
        ("172.16.0.0/12", HostCategory.PRIVATE),  # RFC 1918
        ("192.0.0.0/24", HostCategory.RESERVED),  # IETF protocol assignments, RFC 6890
        ("192.0.2.0/24", HostCategory.RESERVED),  # TEST-NET-1, RFC 5737
        ("192.88.99.0/24", HostCategory.RESERVED),  # 6to4 relay anycast, RFC 7526
        ("192.168.0.0/16", HostCategory.PRIVATE),  # RFC 1918
        ("198.18.0.0/15", HostCategory.RESERVED),  # benchmarking, RFC 2544
        ("198.51.100.0/24", HostCategory.RESERVED),  # TEST-NET-2, RFC 5737
        ("203.0.113.0/24", HostCategory.RESERVED),  # TEST-NET-3, RFC 5737
        ("224.0.0.0/4", HostCategory.MULTICAST),  # RFC 5771
        ("255.255.255.255/32", HostCategory.BROADCAST),  # RFC 919
        ("240.0.0.0/4", HostCategory.RESERVED),  # RFC 1112
    )
)
#: IPv6 special-purpose blocks after embedded IPv4 has been handled. Only global
#: unicast 2000::/3 can be PUBLIC (RFC 4291 §2.4).
_V6_TABLE = tuple(
    (ipaddress.IPv6Network(n), c)
    for n, c in (
        ("::/128", HostCategory.UNSPECIFIED),
        ("::1/128", HostCategory.LOOPBACK),
        ("ff00::/8", HostCategory.MULTICAST),  # RFC 4291
        ("fe80::/10", HostCategory.LINK_LOCAL),  # RFC 4291
        ("fec0::/10", HostCategory.PRIVATE),  # deprecated site-local, RFC 3879
        ("fc00::/7", HostCategory.PRIVATE),  # unique local, RFC 4193
        ("64:ff9b:1::/48", HostCategory.PRIVATE),  # local-use NAT64, RFC 8215
        ("100::/64", HostCategory.RESERVED),  # discard-only, RFC 6666
        ("2001::/23", HostCategory.RESERVED),  # IETF protocol assignments incl. Teredo
        ("2001:db8::/32", HostCategory.RESERVED),  # documentation, RFC 3849
        ("3fff::/20", HostCategory.RESERVED),  # documentation, RFC 9637
        ("5f00::/16", HostCategory.RESERVED),  # SRv6 SIDs, RFC 9602
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64_WKP = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 §2.1
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")  # RFC 3056
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated, RFC 4291 §2.5.5.1
_V4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT, RFC 2765

# --- text clean-up -----------------------------------------------------------

_C0_OR_SPACE = "".join(chr(c) for c in range(0x21))
_TAB_OR_NEWLINE = str.maketrans("", "", "\t\n\r")
_HOSTNAME_CHARS = re.compile(r"[a-z0-9_-]+")
_DEC_PART = re.compile(r"[0-9]+")
_HEX_PART = re.compile(r"0[xX][0-9a-fA-F]*")
_DASHED_QUAD = re.compile(r"(?:^|[-.])(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$")


def _whatwg_strip(text: str) -> str:
    """WHATWG URL §basic URL parser: trim C0 controls and spaces, drop TAB/CR/LF."""
    return text.strip(_C0_OR_SPACE).translate(_TAB_OR_NEWLINE)


def _has_space_or_control(text: str) -> bool:
    """Format characters (soft hyphen, ZWJ) are left to nameprep, which maps them
    to nothing or rejects them (RFC 3454 B.1, C.8)."""
    return any(c.isspace() or unicodedata.category(c) == "Cc" for c in text)


# --- IPv4 in inet_aton forms ---------------------------------------------------


def _parse_ipv4_part(part: str) -> tuple[int, str] | None:
    """One inet_aton component: 0x hex, leading-0 octal, or decimal (and its form)."""
    if _HEX_PART.fullmatch(part):
        return int(part[2:] or "0", 16), "hex"  # "0x" alone is 0 (WHATWG)
    if not _DEC_PART.fullmatch(part):
        return None
    if len(part) > 1 and part[0] == "0":
        return (int(part, 8), "octal") if set(part) <= set("01234567") else None
    return int(part), "decimal"


def _ends_in_number(labels: list[str]) -> bool:
    """WHATWG "ends in a number": such a host must be an IPv4 address or nothing."""
    last = labels[-1]
    return bool(_DEC_PART.fullmatch(last) or _HEX_PART.fullmatch(last))


def _parse_ipv4(labels: list[str]) -> tuple[ipaddress.IPv4Address, tuple[str, ...]] | None:
    """inet_aton(3) semantics: 1-4 parts, the last one fills the remaining bytes."""
    if not 1 <= len(labels) <= 4:
        return None
    parsed = [_parse_ipv4_part(p) for p in labels]
    if any(p is None for p in parsed):
        return None
    values = [p[0] for p in parsed if p]
    forms = {p[1] for p in parsed if p}
    if any(v > 255 for v in values[:-1]) or values[-1] >= 256 ** (5 - len(values)):
        return None
    number = 0
    for v in values[:-1]:
        number = number << 8 | v
    number = number << 8 * (5 - len(values)) | values[-1]
    notes: list[str] = []
    if len(values) == 1:
        notes.append("decimal IPv4 form" if forms == {"decimal"} else f"{forms.pop()} IPv4 form")
    else:
        notes += [f"{form} IPv4 form" for form in sorted(forms - {"decimal"})]
        if len(values) < 4:
            notes.append(f"short IPv4 form ({len(values)} parts)")
    return ipaddress.IPv4Address(number), tuple(notes)


# --- categories ----------------------------------------------------------------


def _v4_category(ip: ipaddress.IPv4Address) -> HostCategory:
    if ip in METADATA_IPS:
        return HostCategory.METADATA
    for network, category in _V4_TABLE:
        if ip in network:
            return category
    return HostCategory.PUBLIC


def _embedded_v4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """IPv4 carried inside an IPv6 address, and the mechanism that carries it."""
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped IPv6"
    if ip in _V4_TRANSLATED:
        return low32, "IPv4-translated IPv6 (RFC 2765)"
    if ip in _NAT64_WKP:
        return low32, "NAT64 IPv6 (RFC 6052)"
    if ip in _SIXTOFOUR:
        assert ip.sixtofour is not None
        return ip.sixtofour, "6to4 IPv6 (RFC 3056)"
    if ip in _V4_COMPATIBLE and int(ip) > 1:
        return low32, "IPv4-compatible IPv6"
    return None


def _v6_category(ip: ipaddress.IPv6Address) -> HostCategory:
    if ip in METADATA_IPS:
        return HostCategory.METADATA
    for network, category in _V6_TABLE:
        if ip in network:
            return category
    return HostCategory.PUBLIC if ip in _GLOBAL_UNICAST_V6 else HostCategory.RESERVED


def _classify_ip(ip: IPAddress) -> tuple[IPAddress, HostCategory, tuple[str, ...]]:
    """Category of an address; IPv4-mapped IPv6 is reported as the IPv4 it is."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip, _v4_category(ip), ()
    embedded = _embedded_v4(ip)
    if embedded is None:
        return ip, _v6_category(ip), ()
    v4, mechanism = embedded
    if ip.ipv4_mapped is not None:
        return v4, _v4_category(v4), (mechanism,)
    return ip, _v4_category(v4), (f"{mechanism} embeds {v4}",)


# --- hosts -----------------------------------------------------------------------


def _invalid(text: str, host: str, *notes: str) -> HostInfo:
    return HostInfo(text, host, None, HostCategory.INVALID, tuple(notes))


def _classify_ipv6_literal(text: str, inner: str, notes: list[str]) -> HostInfo:
    address, zone_sep, zone = inner.partition("%")
    if zone_sep:
        if not zone or _has_space_or_control(zone):
            return _invalid(text, inner, *notes, "empty or malformed zone id")
        notes.append("zone id removed")
    try:
        ip = ipaddress.IPv6Address(address)
    except ValueError:
        return _invalid(text, inner.lower(), *notes, "not an IPv6 address")
    ip_out, category, more = _classify_ip(ip)
    return HostInfo(text, str(ip_out), ip_out, category, (*notes, *more))


#: UTS #46 §4 deviation characters (and capital sharp s): IDNA 2003 (the stdlib
#: codec) maps them away, IDNA 2008 clients keep them, so "faß.de" is "fass.de" to
#: us and "xn--fa-hia.de" to curl. Such hosts are INVALID rather than guessed.
_IDNA_DEVIATIONS = frozenset("\u00df\u1e9e\u03c2\u200c\u200d")


def _to_ascii(host: str) -> str | None:
    """IDNA 2003 ToASCII (RFC 3490, with nameprep's NFKC and case folding), as the
    stdlib codec does; None when a label cannot be encoded."""
    if host.isascii():
        return host.lower()
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None


#: Wildcard DNS services that also read an address from 8 hex digits (``7f000001.nip.io``).
HEX_WILDCARD_DNS = ("nip.io", "sslip.io")
#: ... and services that read it from a dashed label with any prefix (``app-10-0-0-1``).
DASHED_WILDCARD_DNS = ("xip.io", "traefik.me", "localtest.me", "backname.io", "local.gd")
_HEX_LABEL = re.compile(r"(?:^|-)([0-9a-f]{8})$")


def _embedded_name_ipv4(labels: list[str]) -> ipaddress.IPv4Address | None:
    """An IPv4 literal spelled inside a DNS name (nip.io / sslip.io style)."""
    host = ".".join(labels)
    if any(_has_suffix(host, s) for s in HEX_WILDCARD_DNS):
        for label in labels:
            match = _HEX_LABEL.search(label)
            if match:
                return ipaddress.IPv4Address(int(match.group(1), 16))
    for i in range(len(labels) - 3):
        quad = labels[i : i + 4]
        if all(p.isdigit() and len(p) <= 3 for p in quad) and all(int(p) < 256 for p in quad):
            return ipaddress.IPv4Address(".".join(quad))
    wildcard = any(_has_suffix(host, s) for s in (*HEX_WILDCARD_DNS, *DASHED_WILDCARD_DNS))
    for label in labels[:-1]:
        # ``magic-10-0-0-1.nip.io``; elsewhere only a label that is the whole address
        # (``10-0-0-1.example.com``): ``app-10-20-30-40.herokuapp.com`` is an app's name.
        match = _DASHED_QUAD.search(label)
        whole = match is not None and (wildcard or match.group(0).lstrip("-") == label)
        if whole and all(int(p) < 256 for p in match.groups()):
            return ipaddress.IPv4Address(".".join(match.groups()))
    return None


def _has_suffix(host: str, suffix: str) -> bool:
    return host == suffix or host.endswith("." + suffix)


def _name_category(host: str, labels: list[str]) -> tuple[HostCategory, tuple[str, ...]]:
    if host in METADATA_NAMES:
        return HostCategory.METADATA, ("cloud metadata name",)
    if any(_has_suffix(host, s) for s in LOOPBACK_DNS_NAMES):
        return HostCategory.LOOPBACK, ("public name known to resolve to 127.0.0.1",)
    if len(labels) == 1:
        return HostCategory.LOCAL_NAME, ("single-label name",)
    if any(_has_suffix(host, s) for s in LOCAL_SUFFIXES):
        return HostCategory.LOCAL_NAME, ()
    embedded = _embedded_name_ipv4(labels)
    if embedded is not None and _v4_category(embedded) is not HostCategory.PUBLIC:
        note = f"name embeds non-public IPv4 {embedded} (wildcard DNS resolves it)"
        return _v4_category(embedded), (note,)
    return HostCategory.PUBLIC, ()


def classify_host(text: str) -> HostInfo:
    """Where a client would connect for this host text (no DNS lookups).

    Accepts a bare host, a bracketed or bare IPv6 literal (optionally with a zone),
    percent-encoded and Unicode names. Never raises for odd input: it says INVALID.
    """
    host = _whatwg_strip(text)
    notes = ["whitespace/TAB/CR/LF removed"] if host != text else []
    if host.startswith("[") and host.endswith("]"):
        return _classify_ipv6_literal(text, host[1:-1], notes)
    if ":" in host:
        return _classify_ipv6_literal(text, host, notes)
    if "%" in host:
        try:
            host = unquote(host, errors="strict")
        except UnicodeDecodeError:
            return _invalid(text, host, "percent-encoding is not UTF-8")
        notes.append("percent-decoded")
        if "%" in host or ":" in host:
            return _invalid(text, host, *notes, "nested percent-encoding or ':' after decoding")
    if _has_space_or_control(host):
        return _invalid(text, host, "whitespace or control character in host")
    if any(c in _IDNA_DEVIATIONS for c in host):
        return _invalid(text, host, *notes, "IDNA 2003/2008 deviation character")
    ascii_host = _to_ascii(host)
    if ascii_host is None:
        return _invalid(text, host, *notes, "IDNA encoding failed")
    if ascii_host != host.lower():
        notes.append("IDNA/NFKC mapped")
    if ascii_host.endswith("."):
        ascii_host = ascii_host.rstrip(".")
        notes.append("trailing dot removed")
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > 253:
        return _invalid(text, ascii_host, *notes, "empty or overlong name")
    if _ends_in_number(labels):
        parsed = _parse_ipv4(labels)
        if parsed is None:
            return _invalid(text, ascii_host, *notes, "ends in a number but is not IPv4")
        ip, forms = parsed
        ip_out, category, more = _classify_ip(ip)
        return HostInfo(text, str(ip_out), ip_out, category, (*notes, *forms, *more))
    if not all(_HOSTNAME_CHARS.fullmatch(label) and len(label) <= 63 for label in labels):
        return _invalid(text, ascii_host, *notes, "not a valid host name")
    category, more = _name_category(ascii_host, labels)
    return HostInfo(text, ascii_host, None, category, (*notes, *more))


# --- URLs (RFC 3986 §3, with WHATWG leniency where clients are lenient) --------------

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
#: WHATWG "special" schemes: backslash acts as a slash and any number of slashes
#: may follow the colon.
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "file"})
_PORT = re.compile(r"[0-9]{1,5}")


def _split_scheme(text: str) -> tuple[str, str]:
    """(scheme, rest); a missing scheme means a host[:port][/path] reference."""
    match = _SCHEME.match(text)
    if text.startswith("//"):
        return "", text[2:]
    if match is None:
        return "", text
    scheme, rest = match.group(1).lower(), text[match.end() :]
    if scheme in _SPECIAL_SCHEMES and scheme != "file":
        return scheme, rest.lstrip("/\\")
    if rest[:1].isdigit():
        return "", text  # "localhost:8080/x" is host:port, not scheme "localhost"
    if rest.startswith("//"):
        return scheme, rest[2:]
    if scheme == "file":
        return scheme, "/" + rest.lstrip("/")  # "file:/etc/x": no authority at all
    raise MalformedInputError(f"URL has no authority: {text!r}")


def _split_authority(rest: str) -> tuple[str, str]:
    """RFC 3986 §3.2: the authority ends at the first '/', '?' or '#'."""
    end = len(rest)
    for delimiter in "/?#":
        index = rest.find(delimiter)
        if index != -1:
            end = min(end, index)
    authority, tail = rest[:end], rest[end:]
    if "\\" in authority:
        raise MalformedInputError(
            f"backslash in URL authority {authority!r}: clients disagree on the host"
        )
    path = re.split(r"[?#]", tail, maxsplit=1)[0]
    return authority, path


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close == -1:
            raise MalformedInputError(f"unclosed IPv6 literal in {hostport!r}")
        host, after = hostport[: close + 1], hostport[close + 1 :]
        if after and not after.startswith(":"):
            raise MalformedInputError(f"junk after IPv6 literal in {hostport!r}")
        port_text = after[1:] if after else ""
    else:
        host, _, port_text = hostport.partition(":")
        if ":" in port_text:
            raise MalformedInputError(f"IPv6 literal without brackets in {hostport!r}")
    if not port_text:
        return host, None
    if not _PORT.fullmatch(port_text) or int(port_text) > 65535:
        raise MalformedInputError(f"bad port {port_text!r}")
    return host, int(port_text)


def parse_url(text: str) -> UrlInfo:
    """Scheme, host, port and path of a URL or of a bare ``host:port/path``.

    ``file:`` URLs without a host name the local machine (RFC 8089 §2) and are
    reported with host ``localhost``. Raises ``MalformedInputError`` when there is
    no host, the port is bad, or clients would disagree on the host.
    """
    cleaned = _whatwg_strip(text)
    scheme, rest = _split_scheme(cleaned)
    authority, path = _split_authority(rest)
    userinfo, at, hostport = authority.rpartition("@")
    if "@" in userinfo:
        raise MalformedInputError(f"more than one '@' in URL authority {authority!r}")
    host, port = _split_host_port(hostport)
    if host:
        info = classify_host(host)
    elif scheme == "file":
        local = classify_host("localhost")
        info = HostInfo("", local.host, None, local.category, ("file URL names the local host",))
    else:
        raise MalformedInputError(f"URL has no host: {text!r}")
    return UrlInfo(text, scheme, info, port, path, bool(at))


# --- finding URLs in free text ---------------------------------------------------------

_URL_SCHEMES = (
    r"https?|ftps?|wss?|gopher|file|dict|ldaps?|sftp|tftp|smb|telnet|ssh|rediss?"
    r"|mongodb(?:\+srv)?|postgres(?:ql)?|mysql|mariadb|amqps?|mqtts?|nats|clickhouse|bolt"
)
_NUMERIC_PART = r"(?:0[xX][0-9a-fA-F]+|[0-9]+)"
_URL_IN_TEXT = re.compile(
    rf"(?=(\b(?:{_URL_SCHEMES}):[/\\]+[^\s<>\"'`]+))",
    re.IGNORECASE,
)
#: Bare IP literals with a port: dotted or dotless numeric forms, hex, or [IPv6].
#: A dotless decimal needs 8+ digits so clock times ("12:30") are not URLs.
_BARE_IP_IN_TEXT = re.compile(
    r"(?<![\w.:/\\\[%-])"
    rf"((?:\[[0-9a-fA-F:.%\w]+\]|{_NUMERIC_PART}(?:\.{_NUMERIC_PART}){{1,3}}"
    r"|0[xX][0-9a-fA-F]+|[0-9]{8,10})"
    r":[0-9]{1,5}(?:/[^\s<>\"'`]*)?)(?!\w)"
)
_COLON_DIGIT = re.compile(r":[0-9]")
_TRAILING_PUNCT = ".,;:!?'\""
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _trim(url: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets at the end."""
    while url:
        last = url[-1]
        if last in _TRAILING_PUNCT or (
            last in _PAIRS and url.count(last) > url.count(_PAIRS[last])
        ):
            url = url[:-1]
        else:
            break
    return url


#: Every _URL_IN_TEXT match starts with a scheme of at most this many letters
#: that ends right before ":/" or ":\\" (one pattern letter matches one character).
_LONGEST_SCHEME = max(len(scheme.replace("?", "")) for scheme in _URL_SCHEMES.split("|"))
_SCHEME_END = re.compile(r":[/\\]")
#: Where a word starts with a letter: the only places ``_URL_IN_TEXT``'s ``\b``
#: and scheme let a match begin.
_WORD_START = re.compile(r"\b[A-Za-z]", re.IGNORECASE)


def _scheme_urls(text: str) -> Iterator[re.Match[str]]:
    """The matches of ``_URL_IN_TEXT``, in order, trying only the starts a scheme
    can reach: the word starts among the few positions before each ":/" (or ":\\")."""
    starts: set[int] = set()
    for end in _SCHEME_END.finditer(text):
        colon = end.start()
        starts.update(m.start() for m in _WORD_START.finditer(text, colon - _LONGEST_SCHEME, colon))
    for start in sorted(starts):
        match = _URL_IN_TEXT.match(text, start)
        if match:
            yield match


def find_urls(text: str) -> list[str]:
    """URL-like substrings of free text, in order of appearance.

    Scheme URLs (including ones nested in another URL's query) and bare IP
    literals with a port. Scheme-less names (``example.com/x``) are not reported.
    """
    found: list[tuple[int, str]] = []
    # Both patterns need a colon before a slash or a port digit: the patterns run
    # only where those are (a scan of every position costs far more).
    for match in _scheme_urls(text):
        found.append((match.start(1), _trim(match.group(1))))
    if _COLON_DIGIT.search(text):
        for match in _BARE_IP_IN_TEXT.finditer(text):
            found.append((match.start(1), _trim(match.group(1))))
    seen: set[tuple[int, str]] = set()
    out: list[str] = []
    for item in sorted(found):
        if item not in seen and item[1]:
            seen.add(item)
            out.append(item[1])
    return out


# --- allow lists ------------------------------------------------------------------------


def host_matches(host: str, allowed: str) -> bool:
    """True if ``host`` is ``allowed`` or a subdomain of it, label by label.

    ``api.stripe.com`` matches ``stripe.com``; ``evilstripe.com`` and
    ``stripe.com.evil.io`` do not. ``*.stripe.com`` matches subdomains only. Both
    sides are normalized (case, IDNA, trailing dot); IP literals match only the same
    address, in any spelling. Invalid hosts never match.
    """
    subdomains_only = allowed.startswith("*.")
    want = classify_host(allowed[2:] if subdomains_only else allowed)
    have = classify_host(host)
    if HostCategory.INVALID in (want.category, have.category):
        return False
    if want.ip is not None or have.ip is not None:
        return not subdomains_only and want.ip == have.ip
    if have.host.endswith("." + want.host):
        return True
    return not subdomains_only and have.host == want.host


def host_allowed(host: str, allow_list: Iterable[str]) -> bool:
    """True if any entry of ``allow_list`` matches; an empty list allows nothing."""
    return any(host_matches(host, allowed) for allowed in allow_list)
