"""C2SP signed notes with Ed25519 keys (c2sp.org/signed-note).

A note is UTF-8 text ending in a newline, a blank line, then one or more
signature lines ``— <key name> <base64(key hash || signature)>``. Keys are
written as vkeys (``name+hash+base64(0x01 || public key)``) and, for signing,
as ``PRIVATE+KEY+name+hash+base64(0x01 || seed)`` like Go's ``sumdb/note``.

Parsing is strict (``note.Open`` habits): non-UTF-8 text, control characters,
non-canonical base64, malformed or duplicate signature lines and oversize
input are rejected as malformed; a note with no signature from a known key
raises ``UnknownKeyError``; a known key with a bad signature raises
``SignatureError``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ClassVar, Self

import nacl.bindings
import nacl.exceptions
import nacl.signing

from canopy.errors import MalformedInputError, SignatureError, UnknownKeyError

__all__ = [
    "ALG_ED25519",
    "Note",
    "NoteSignature",
    "Signer",
    "Verifier",
    "generate_signer",
    "open_note",
    "sign_note",
    "strict_b64decode",
]

ALG_ED25519 = 0x01
_PARALLEL_SIGN_MIN = 256
_POOL: list[ThreadPoolExecutor] = []


def _sign_pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="canopy-sign"))
    return _POOL[0]


MAX_NOTE_SIZE = 1 << 20
MAX_SIGNATURES = 100
_SIG_PREFIX = "\u2014 "  # em dash, space
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


def strict_b64decode(text: str, what: str) -> bytes:
    """Standard base64 with padding, rejecting any non-canonical spelling."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise MalformedInputError(f"{what}: invalid base64") from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedInputError(f"{what}: non-canonical base64")
    return raw


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name) or _CONTROL.search(name):
        raise MalformedInputError(f"invalid key name {name!r}: empty, or has '+' or whitespace")


def _key_hash(name: str, alg_and_key: bytes) -> int:
    """C2SP signed-note key ID: first 4 bytes of SHA-256(name || 0x0A || alg || key)."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + alg_and_key).digest()
    return int.from_bytes(digest[:4], "big")


def _parse_key_fields(text: str, fields: int, what: str) -> list[str]:
    # The base64 key may itself contain '+', so split only the leading fields.
    parts = text.strip().split("+", fields - 1)
    if len(parts) != fields:
        raise MalformedInputError(f"malformed {what}: expected {fields} '+'-separated fields")
    return parts


@dataclass(frozen=True)
class NoteVerifierKey:
    """An Ed25519 public key with its note name and key hash (``name+hash+base64``).

    One implementation for every note key type; a subclass fixes the algorithm
    byte (0x01 for note signatures, 0x04 for witness cosignatures) and the
    wording of its errors.
    """

    name: str
    key_hash: int
    public_key: bytes

    ALGORITHM: ClassVar[int] = ALG_ED25519
    KIND: ClassVar[str] = "verifier key"

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> Self:
        _check_name(name)
        if len(public_key) != 32:
            raise MalformedInputError("Ed25519 public key must be 32 bytes")
        key_hash = _key_hash(name, bytes([cls.ALGORITHM]) + public_key)
        return cls(name, key_hash, bytes(public_key))

    @classmethod
    def _wrong_algorithm(cls, raw: bytes) -> str:
        return f"{cls.KIND} is not an Ed25519 key"

    @classmethod
    def from_vkey(cls, vkey: str) -> Self:
        name, hash_hex, key_b64 = _parse_key_fields(vkey, 3, cls.KIND)
        _check_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise MalformedInputError(f"malformed {cls.KIND}: key hash is not 8 hex digits")
        raw = strict_b64decode(key_b64, cls.KIND)
        if len(raw) != 33 or raw[0] != cls.ALGORITHM:
            raise MalformedInputError(cls._wrong_algorithm(raw))
        if _key_hash(name, raw) != int(hash_hex, 16):
            raise MalformedInputError(f"{cls.KIND} hash does not match its name and key")
        return cls(name, int(hash_hex, 16), raw[1:])

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([self.ALGORITHM]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_hash:08x}+{encoded}"

    @property
    def key_id(self) -> str:
        """Short printable id: ``name+hash``."""
        return f"{self.name}+{self.key_hash:08x}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """False for any signature that does not verify, whatever its shape (a
        forged one of the wrong length or type must not raise)."""
        try:
            nacl.signing.VerifyKey(self.public_key).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
            return False
        return True


@dataclass(frozen=True)
class Verifier(NoteVerifierKey):
    """A log's (or any note signer's) public key: algorithm 0x01."""


class Signer:
    """An Ed25519 signing key with its note name."""

    __slots__ = ("_key", "_secret", "name", "verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        _check_name(name)
        if len(seed) != 32:
            raise MalformedInputError("Ed25519 seed must be 32 bytes")
        self._key = nacl.signing.SigningKey(seed)
        self._secret = seed + bytes(self._key.verify_key)  # libsodium's 64-byte secret key
        self.name = name
        public = bytes(self._key.verify_key)
        self.verifier = Verifier.from_public_key(name, public)

    @classmethod
    def from_skey(cls, skey: str) -> Signer:
        private, key_word, name, hash_hex, key_b64 = _parse_key_fields(skey, 5, "signing key")
        if (private, key_word) != ("PRIVATE", "KEY"):
            raise MalformedInputError("malformed signing key: missing PRIVATE+KEY prefix")
        raw = strict_b64decode(key_b64, "signing key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise MalformedInputError("signing key is not an Ed25519 key")
        signer = cls(name, raw[1:])
        if f"{signer.verifier.key_hash:08x}" != hash_hex:
            raise MalformedInputError("signing key hash does not match its name and key")
        return signer

    @property
    def skey(self) -> str:
        encoded = base64.b64encode(bytes([ALG_ED25519]) + bytes(self._key)).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_hash:08x}+{encoded}"

    def sign(self, message: bytes) -> bytes:
        return nacl.bindings.crypto_sign(message, self._secret)[:64]

    def sign_many(self, messages: list[bytes]) -> list[bytes]:
        """Sign a batch, on two threads when it is large (libsodium releases the GIL)."""
        if len(messages) < _PARALLEL_SIGN_MIN:
            return [self.sign(m) for m in messages]
        half = len(messages) // 2
        other = _sign_pool().submit(self._sign_list, messages[half:])
        first = self._sign_list(messages[:half])
        return first + other.result()

    def _sign_list(self, messages: list[bytes]) -> list[bytes]:
        sign, secret = nacl.bindings.crypto_sign, self._secret
        return [sign(m, secret)[:64] for m in messages]


def generate_signer(name: str) -> Signer:
    return Signer(name, bytes(nacl.signing.SigningKey.generate()))


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_hash: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_hash.to_bytes(4, "big") + self.signature
        return f"{_SIG_PREFIX}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures that verified, and the rest."""

    text: str
    verified: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


def _check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise MalformedInputError("note text must end with a newline")
    if "\n\n" in text:
        raise MalformedInputError("note text must not contain a blank line")
    if _CONTROL.search(text):
        raise MalformedInputError("note text contains control characters")


def sign_note(text: str, *signers: Signer) -> str:
    """Return ``text`` followed by a blank line and one signature per signer."""
    _check_text(text)
    if not signers:
        raise ValueError("a signed note needs at least one signer")
    message = text.encode("utf-8")
    lines = [NoteSignature(s.name, s.verifier.key_hash, s.sign(message)).line() for s in signers]
    return text + "\n" + "".join(lines)


def _parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(_SIG_PREFIX):
        raise MalformedInputError("malformed note signature line")
    name, sep, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    if not sep:
        raise MalformedInputError("malformed note signature line")
    _check_name(name)
    blob = strict_b64decode(b64, "note signature")
    if len(blob) < 5:
        raise MalformedInputError("note signature too short")
    return NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:])


def open_note(message: bytes | str, verifiers: Iterable[Verifier]) -> Note:
    """Parse and verify a signed note against the given verifier keys."""
    raw = message.encode("utf-8") if isinstance(message, str) else message
    if len(raw) > MAX_NOTE_SIZE:
        raise MalformedInputError(f"note larger than {MAX_NOTE_SIZE} bytes")
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise MalformedInputError("note is not valid UTF-8") from e
    split = decoded.rfind("\n\n")
    if split < 0:
        raise MalformedInputError("note has no signature block")
    text, sig_block = decoded[: split + 1], decoded[split + 2 :]
    _check_text(text)
    if not sig_block.endswith("\n"):
        raise MalformedInputError("note signature block must end with a newline")
    lines = sig_block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise MalformedInputError(f"note has more than {MAX_SIGNATURES} signatures")
    by_id = {(v.name, v.key_hash): v for v in verifiers}
    message_bytes = text.encode("utf-8")
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[tuple[str, int]] = set()
    for line in lines:
        sig = _parse_signature_line(line)
        ident = (sig.name, sig.key_hash)
        if ident in seen:
            raise MalformedInputError(f"duplicate signature by {sig.name}")
        seen.add(ident)
        verifier = by_id.get(ident)
        if verifier is None:
            unverified.append(sig)
            continue
        if not verifier.verify(message_bytes, sig.signature):
            raise SignatureError(f"invalid signature by {verifier.key_id}")
        verified.append(sig)
    if not verified:
        names = ", ".join(sorted({s.name for s in unverified})) or "none"
        raise UnknownKeyError(f"note has no signature by a trusted key (signed by: {names})")
    return Note(text, tuple(verified), tuple(unverified))
