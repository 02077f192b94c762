"""The event encoding: what a ledger leaf commits to, field by field.

An event is ``(seq, ts, kind, fields)``. Its canonical leaf bytes are the
RFC 8785 JSON object::

    {"canopy": "event/v1", "seq": 42, "ts": "2026-11-21T06:28:00.123456Z",
     "kind": "authorization", "fields": {"avid": "<b64 digest>", ...}}

where each field is replaced by a salted commitment::

    digest = SHA-256("canopy/field/v1" 0x00 || field_salt || name || 0x00 || JCS(value))

The 16-byte field salts are cut from SHAKE-256 of a per-event secret salt, in
sorted field-name order, so one stored secret yields one salt per field and
disclosing one field's salt reveals nothing about the others. A proof can
therefore disclose exactly the fields a predicate needs (value + field salt)
and leave every other field as an opaque, un-guessable digest; redacting a
field later means withholding its value, not rewriting the leaf.

Everything here is pure; storage lives in ``canopy.ledger.store``.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from canopy.canonical import MAX_SAFE_INTEGER, canonical_bytes
from canopy.errors import CanonicalEncodingError, MalformedInputError
from canopy.ledger.merkle import leaf_hash

__all__ = [
    "INDEXED_FIELDS",
    "SALT_SIZE",
    "DisclosedEvent",
    "Event",
    "EventKind",
    "canonical_values",
    "check_fields",
    "check_kind",
    "digests_from_canonical",
    "event_signature_message",
    "field_digest",
    "field_digests",
    "field_salts",
    "leaf_bytes_from_digests",
    "leaf_hash_from_canonical",
    "leaf_hash_from_members",
    "leaf_members",
    "new_salt",
    "now_timestamp",
    "value_bytes",
]

ENCODING_TAG = "event/v1"
SALT_SIZE = 16
_FIELD_DOMAIN = b"canopy/field/v1\x00"
_SALT_DOMAIN = b"canopy/field-salts/v1\x00"
_SIGNATURE_DOMAIN = b"canopy/event-signature/v1\n"

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_VALID_NAMES: set[str] = set()
_sha256 = hashlib.sha256
_encode_json_string = json.encoder.encode_basestring
_TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


class EventKind(StrEnum):
    """Kinds Canopy itself writes. The store accepts any well-formed kind."""

    AUTHORIZATION = "authorization"
    EXECUTION = "execution"
    TOOL_RESULT = "tool_result"
    APPROVAL = "approval"
    INCIDENT = "incident"
    POLICY_ACTIVATED = "policy_activated"
    KILL_SWITCH = "kill_switch"
    KEY_ROTATION = "key_rotation"
    AGENT_REGISTERED = "agent_registered"


#: Fields copied into indexed columns. When present their values are strings.
INDEXED_FIELDS: tuple[str, ...] = (
    "trace_id",
    "avid",
    "authorization_id",
    "action_type",
    "decision",
)


_second_cache: list[Any] = [-1, ""]


def now_timestamp() -> str:
    """UTC now, RFC 3339 with microseconds: the only timestamp form in leaves."""
    micros = time.time_ns() // 1000
    seconds, fraction = divmod(micros, 1_000_000)
    if seconds != _second_cache[0]:
        stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _second_cache[0], _second_cache[1] = seconds, stamp
    return f"{_second_cache[1]}.{fraction:06d}Z"


class _SaltSource(threading.local):
    """Fresh event salts, read from the OS CSPRNG 256 at a time.

    One ``getrandom`` call per event costs more than the rest of an event's
    salt handling, and in a batch each call hands the GIL to the signing
    thread. Buffers are per thread, and dropped in a forked child so parent
    and child never hand out the same bytes.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.offset = 0

    def take(self) -> bytes:
        if self.offset >= len(self.buffer):
            self.buffer, self.offset = os.urandom(SALT_SIZE * 256), 0
        salt = self.buffer[self.offset : self.offset + SALT_SIZE]
        self.offset += SALT_SIZE
        return salt


_SALTS = _SaltSource()


def _forget_salts_in_child() -> None:
    global _SALTS
    _SALTS = _SaltSource()


os.register_at_fork(after_in_child=_forget_salts_in_child)


def new_salt() -> bytes:
    """A fresh, never-reused 16-byte secret salt for one event."""
    return _SALTS.take()


def check_kind(kind: str) -> None:
    if kind not in _VALID_NAMES:
        _check_name(kind, "event kind")


def _check_name(name: object, what: str) -> None:
    """Validate a kind or field name (cached: the same few names repeat forever)."""
    if name in _VALID_NAMES:
        return
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise MalformedInputError(
            f"{what} {name!r} must match [a-z_][a-z0-9_]* (at most 64 characters)"
        )
    if len(_VALID_NAMES) < 4096:
        _VALID_NAMES.add(name)


def check_fields(fields: Mapping[str, Any]) -> None:
    """Reject field names and indexed values the encoding cannot carry."""
    if not isinstance(fields, Mapping):
        raise MalformedInputError(f"event fields must be a mapping, not {type(fields).__name__}")
    for name in fields:
        if name not in _VALID_NAMES:
            _check_name(name, "field name")
    for name in INDEXED_FIELDS:
        if name in fields:
            value = fields[name]
            if type(value) is not str:
                raise MalformedInputError(
                    f"indexed field {name!r} must be a string, not {type(value).__name__}"
                    + ("; omit it instead" if value is None else "")
                )


def value_bytes(value: Any) -> bytes:
    """RFC 8785 bytes of one field value, with fast paths for strings and small ints.

    ``json.encoder.encode_basestring`` escapes exactly what JCS escapes (quote,
    backslash, control characters) and nothing else; the test suite checks
    this against the reference encoder.
    """
    kind = type(value)
    if kind is str:
        try:
            return _encode_json_string(value).encode("utf-8")
        except UnicodeEncodeError as e:
            raise CanonicalEncodingError(f"string is not valid Unicode: {e}") from e
    if kind is int and -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return str(value).encode("ascii")
    return canonical_bytes(value)


def _salt_stream(salt: bytes, count: int) -> bytes:
    """``count`` field salts back to back, in sorted field-name order."""
    return hashlib.shake_256(_SALT_DOMAIN + salt).digest(SALT_SIZE * count or 1)


def field_salts(salt: bytes, names: Iterable[str]) -> dict[str, bytes]:
    """One 16-byte salt per field, derived from the event's secret salt."""
    ordered = sorted(names)
    stream = _salt_stream(salt, len(ordered))
    return {name: stream[i * SALT_SIZE : (i + 1) * SALT_SIZE] for i, name in enumerate(ordered)}


def field_digest(name: str, value: Any, field_salt: bytes) -> bytes:
    """The salted commitment to one field value."""
    return _sha256(
        _FIELD_DOMAIN + field_salt + name.encode("ascii") + b"\x00" + value_bytes(value)
    ).digest()


def canonical_values(fields: Mapping[str, Any]) -> dict[str, bytes]:
    """Each field value's RFC 8785 bytes (validating them), keyed by name."""
    return {name: value_bytes(value) for name, value in fields.items()}


def digests_from_canonical(salt: bytes, canonical: Mapping[str, bytes]) -> dict[str, bytes]:
    """Every field's commitment, in sorted name order."""
    names = sorted(canonical)
    stream = _salt_stream(salt, len(names))
    sha, spellings = _sha256, _NAME_SPELLINGS
    out = {}
    start = 0
    for name in names:
        spelling = spellings.get(name) or _name_spelling(name)
        out[name] = sha(
            _FIELD_DOMAIN + stream[start : start + SALT_SIZE] + spelling[0] + canonical[name]
        ).digest()
        start += SALT_SIZE
    return out


def field_digests(salt: bytes, fields: Mapping[str, Any]) -> dict[str, bytes]:
    """Every field's commitment, in sorted name order."""
    return digests_from_canonical(salt, canonical_values(fields))


def _members(digests: Mapping[str, bytes]) -> bytes:
    """The leaf's ``fields`` members (``"name":"<b64 digest>"``, comma separated)
    from commitments already in sorted name order."""
    b64, spellings = binascii.b2a_base64, _NAME_SPELLINGS
    parts = [
        (spellings.get(name) or _name_spelling(name))[1] + b64(digest, newline=False)
        for name, digest in digests.items()
    ]
    return b'",'.join(parts) + b'"' if parts else b""


def leaf_members(salt: bytes, canonical: Mapping[str, bytes]) -> bytes:
    """The leaf's ``fields`` members for these canonical field values.

    ``_members(digests_from_canonical(salt, canonical))`` in one loop: this is
    the inner loop of append and verify, and the intermediate dict costs about
    8% of verification time.
    """
    names = sorted(canonical)
    stream = _salt_stream(salt, len(names))
    b64, sha, spellings = binascii.b2a_base64, _sha256, _NAME_SPELLINGS
    parts = []
    start = 0
    for name in names:
        spelling = spellings.get(name) or _name_spelling(name)
        digest = sha(
            _FIELD_DOMAIN + stream[start : start + SALT_SIZE] + spelling[0] + canonical[name]
        ).digest()
        start += SALT_SIZE
        parts.append(spelling[1] + b64(digest, newline=False))
    return b'",'.join(parts) + b'"' if parts else b""


def _leaf_bytes(seq: int, ts: str, kind: str, members: bytes) -> bytes:
    """The JCS bytes of the leaf object around its members, written out directly.

    Every part is validated to need no JSON escaping (names and kind match
    ``[a-z_][a-z0-9_]*``, ``ts`` a fixed pattern, digests are base64), so plain
    concatenation in sorted key order is exactly RFC 8785. ``tests/test_events``
    checks it against the reference encoder.
    """
    check_kind(kind)
    if not _TS.fullmatch(ts):
        raise MalformedInputError(f"timestamp {ts!r} is not in canonical form")
    tail = f'}},"kind":"{kind}","seq":{int(seq)},"ts":"{ts}"}}'.encode("ascii")
    return _LEAF_HEAD + members + tail


def leaf_hash_from_members(seq: int, ts: str, kind: str, members: bytes) -> bytes:
    """RFC 9162 leaf hash of the event whose ``leaf_members`` are ``members``."""
    return _sha256(b"\x00" + _leaf_bytes(seq, ts, kind, members)).digest()


def leaf_hash_from_canonical(
    seq: int, ts: str, kind: str, salt: bytes, canonical: Mapping[str, bytes]
) -> bytes:
    """Leaf hash straight from each field's canonical bytes (same bytes as
    ``leaf_bytes_from_digests(seq, ts, kind, digests_from_canonical(salt, canonical))``)."""
    return leaf_hash_from_members(seq, ts, kind, leaf_members(salt, canonical))


#: name -> (its bytes in a field commitment, its key in the leaf's JSON), validated once.
_NAME_SPELLINGS: dict[str, tuple[bytes, bytes]] = {}
#: The leaf object up to its first field.
_LEAF_HEAD = b'{"canopy":"' + ENCODING_TAG.encode("ascii") + b'","fields":{'


def _name_spelling(name: str) -> tuple[bytes, bytes]:
    _check_name(name, "field name")
    spelling = (name.encode("ascii") + b"\x00", b'"' + name.encode("ascii") + b'":"')
    if len(_NAME_SPELLINGS) < 4096:
        _NAME_SPELLINGS[name] = spelling
    return spelling


def leaf_bytes_from_digests(seq: int, ts: str, kind: str, digests: Mapping[str, bytes]) -> bytes:
    """The JCS bytes of the leaf object with these field commitments."""
    return _leaf_bytes(seq, ts, kind, _members({name: digests[name] for name in sorted(digests)}))


def _b64(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).decode("ascii")


def event_signature_message(origin: str, seq: int, leaf: bytes) -> bytes:
    """What an event's witness signature covers: ledger, position and leaf hash."""
    return _SIGNATURE_DOMAIN + origin.encode("utf-8") + b"\n" + seq.to_bytes(8, "big") + leaf


@dataclass(frozen=True, slots=True)
class Event:
    """One ledger event with every field value and its secret salt."""

    seq: int
    ts: str
    kind: str
    fields: Mapping[str, Any]
    salt: bytes

    def digests(self) -> dict[str, bytes]:
        return field_digests(self.salt, self.fields)

    def leaf_bytes(self) -> bytes:
        return leaf_bytes_from_digests(self.seq, self.ts, self.kind, self.digests())

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf_bytes())

    def disclose(self, names: Iterable[str] = ()) -> DisclosedEvent:
        """A view that reveals only ``names``; every other field stays a digest."""
        wanted = set(names)
        unknown = wanted - set(self.fields)
        if unknown:
            raise ValueError(f"event {self.seq} has no field(s) {sorted(unknown)}")
        salts = field_salts(self.salt, self.fields)
        revealed = {n: (self.fields[n], salts[n]) for n in sorted(wanted)}
        hidden = {
            n: field_digest(n, v, salts[n]) for n, v in self.fields.items() if n not in wanted
        }
        return DisclosedEvent(self.seq, self.ts, self.kind, revealed, hidden)


def _check_revealed_value(name: str, value: Any) -> None:
    """A revealed value no event could hold (NaN, an unsafe integer, nesting
    too deep to encode) makes the proof malformed, not the verifier fail."""
    try:
        value_bytes(value)
    except (CanonicalEncodingError, RecursionError) as e:
        raise MalformedInputError(f"revealed field {name!r} is not canonical JSON: {e}") from e


@dataclass(frozen=True, slots=True)
class DisclosedEvent:
    """An event as a proof carries it: some fields revealed, the rest committed."""

    seq: int
    ts: str
    kind: str
    revealed: Mapping[str, tuple[Any, bytes]]
    hidden: Mapping[str, bytes]

    def leaf_bytes(self) -> bytes:
        digests = dict(self.hidden)
        for name, (value, salt) in self.revealed.items():
            if name in digests:
                raise MalformedInputError(f"field {name!r} is both revealed and hidden")
            digests[name] = field_digest(name, value, salt)
        return leaf_bytes_from_digests(self.seq, self.ts, self.kind, digests)

    def leaf_hash(self) -> bytes:
        return leaf_hash(self.leaf_bytes())

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "revealed": {n: {"value": v, "salt": _b64(s)} for n, (v, s) in self.revealed.items()},
            "hidden": {n: _b64(d) for n, d in self.hidden.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DisclosedEvent:
        from canopy.ledger.note import strict_b64decode

        try:
            seq, ts, kind = data["seq"], data["ts"], data["kind"]
            revealed_raw, hidden_raw = data["revealed"], data["hidden"]
        except (KeyError, TypeError) as e:
            raise MalformedInputError(f"disclosed event is missing {e}") from e
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise MalformedInputError("disclosed event seq must be a non-negative integer")
        if not isinstance(ts, str) or not _TS.fullmatch(ts):
            raise MalformedInputError("disclosed event ts is not a canonical timestamp")
        check_kind(kind)
        if not isinstance(revealed_raw, dict) or not isinstance(hidden_raw, dict):
            raise MalformedInputError("disclosed event revealed/hidden must be objects")
        check_fields({name: "" for name in (*revealed_raw, *hidden_raw)})
        revealed: dict[str, tuple[Any, bytes]] = {}
        for name, item in revealed_raw.items():
            if not isinstance(item, dict) or set(item) != {"value", "salt"}:
                raise MalformedInputError(f"revealed field {name!r} needs value and salt")
            salt = strict_b64decode(item["salt"], f"salt of {name}")
            if len(salt) != SALT_SIZE:
                raise MalformedInputError(f"salt of {name!r} is not {SALT_SIZE} bytes")
            if name in INDEXED_FIELDS and not isinstance(item["value"], str):
                raise MalformedInputError(f"indexed field {name!r} must be a string")
            _check_revealed_value(name, item["value"])
            revealed[name] = (item["value"], salt)
        hidden: dict[str, bytes] = {}
        for name, b64 in hidden_raw.items():
            if not isinstance(b64, str):
                raise MalformedInputError(f"digest of {name!r} must be a base64 string")
            digest = strict_b64decode(b64, f"digest of {name}")
            if len(digest) != 32:
                raise MalformedInputError(f"digest of {name!r} is not 32 bytes")
            hidden[name] = digest
        return cls(seq, ts, kind, revealed, hidden)
