"""Timestamped Ed25519 cosignatures of checkpoints (c2sp.org/tlog-cosignature, v1).

A cosignature is a C2SP signed-note signature line added to a checkpoint by a
witness. Its key ID uses algorithm byte 0x04, and the signed message is

    "cosignature/v1\\n" "time <T>\\n" <checkpoint body>

where T is the POSIX time of signing in decimal seconds and the body is the
note text (origin, size, root and any extension lines, each ending in a
newline). The line carries ``base64(key ID (4) || T (8, big-endian) ||
Ed25519 signature (64))``. Witness keys are written as vkeys
``name+hash+base64(0x04 || public key)`` and, for signing, as
``PRIVATE+KEY+name+hash+base64(0x04 || seed)``, the conventions of
:mod:`canopy.ledger.note` with the cosignature algorithm byte.

The Ed25519 v1 message does not commit to the witness name, so one key must
never serve two witness names.
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, cast

import nacl.bindings
import nacl.exceptions
import nacl.signing

from canopy.errors import (
    KeyFileError,
    MalformedInputError,
    SignatureError,
    UnknownKeyError,
)
from canopy.ledger import keys
from canopy.ledger.checkpoint import Checkpoint
from canopy.ledger.note import (
    MAX_NOTE_SIZE,
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    NoteVerifierKey,
    Signer,
    Verifier,
    open_note,
    strict_b64decode,
)

# One definition of the signed-note encoding: key names, key hashes, key fields
# and signature lines are parsed by canopy.ledger.note, never re-implemented.
from canopy.ledger.note import _check_name as check_key_name
from canopy.ledger.note import _check_text as check_note_text
from canopy.ledger.note import _parse_key_fields as parse_key_fields
from canopy.ledger.note import _parse_signature_line as parse_signature_line

__all__ = [
    "ALG_COSIGNATURE_V1",
    "COSIGNATURE_HEADER",
    "DEFAULT_MAX_SKEW",
    "Cosignature",
    "CosignatureSigner",
    "CosignatureVerifier",
    "add_cosignature",
    "cosign",
    "cosignature_message",
    "generate_cosignature_signer",
    "load_cosignature_signer",
    "note_body",
    "verify_cosignatures",
    "write_cosignature_signer",
]

#: c2sp.org/tlog-cosignature: the key ID algorithm byte of Ed25519 cosignatures.
ALG_COSIGNATURE_V1 = 0x04
COSIGNATURE_HEADER = "cosignature/v1"
#: How far in the future a cosignature's timestamp may be (clock skew), seconds.
DEFAULT_MAX_SKEW = 300
_MAX_TIMESTAMP = (1 << 63) - 1  # "It MUST NOT exceed 2^63 - 1"
_TIMESTAMP_SIZE = 8
_SIGNATURE_SIZE = 64


def _check_timestamp(timestamp: int) -> int:
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise ValueError(f"cosignature timestamp must be an integer, got {timestamp!r}")
    if not 0 <= timestamp <= _MAX_TIMESTAMP:
        raise ValueError(f"cosignature timestamp {timestamp} is outside 0..2^63-1")
    return timestamp


def cosignature_message(body: str, timestamp: int) -> bytes:
    """The bytes a witness signs (tlog-cosignature, "Ed25519 signed message")."""
    check_note_text(body)
    _check_timestamp(timestamp)
    return f"{COSIGNATURE_HEADER}\ntime {timestamp}\n{body}".encode()


@dataclass(frozen=True)
class CosignatureVerifier(NoteVerifierKey):
    """A witness's public key, its name and its 0x04 key hash."""

    ALGORITHM: ClassVar[int] = ALG_COSIGNATURE_V1
    KIND: ClassVar[str] = "witness verifier key"

    @classmethod
    def _wrong_algorithm(cls, raw: bytes) -> str:
        alg = f"0x{raw[0]:02x}" if raw else "none"
        return (
            f"witness verifier key has algorithm {alg}, not 0x04 "
            "(timestamped Ed25519 cosignature); a log's note key cannot verify cosignatures"
        )


class CosignatureSigner:
    """A witness's Ed25519 signing key with its name."""

    __slots__ = ("_key", "_secret", "name", "verifier")

    def __init__(self, name: str, seed: bytes) -> None:
        check_key_name(name)
        if len(seed) != 32:
            raise MalformedInputError("Ed25519 seed must be 32 bytes")
        self._key = nacl.signing.SigningKey(seed)
        self._secret = seed + bytes(self._key.verify_key)
        self.name = name
        self.verifier = CosignatureVerifier.from_public_key(name, bytes(self._key.verify_key))

    @classmethod
    def from_skey(cls, skey: str) -> CosignatureSigner:
        private, key_word, name, hash_hex, key_b64 = parse_key_fields(skey, 5, "witness key")
        if (private, key_word) != ("PRIVATE", "KEY"):
            raise MalformedInputError("malformed witness key: missing PRIVATE+KEY prefix")
        raw = strict_b64decode(key_b64, "witness key")
        if len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise MalformedInputError("witness key is not a 0x04 (cosignature) Ed25519 key")
        signer = cls(name, raw[1:])
        if f"{signer.verifier.key_hash:08x}" != hash_hex:
            raise MalformedInputError("witness key hash does not match its name and key")
        return signer

    @property
    def skey(self) -> str:
        encoded = base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + bytes(self._key)).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_hash:08x}+{encoded}"

    def sign(self, message: bytes) -> bytes:
        return nacl.bindings.crypto_sign(message, self._secret)[:_SIGNATURE_SIZE]


def generate_cosignature_signer(name: str) -> CosignatureSigner:
    return CosignatureSigner(name, bytes(nacl.signing.SigningKey.generate()))


def load_cosignature_signer(path: Path) -> CosignatureSigner:
    """Read a witness key file, refusing one that group or others can access."""
    text = keys.read_key_file(path, "witness key")
    try:
        return CosignatureSigner.from_skey(text)
    except MalformedInputError as e:
        raise KeyFileError(f"witness key {path} is malformed: {e}") from e


def write_cosignature_signer(path: Path, signer: CosignatureSigner) -> None:
    """Write a witness key file: mode 0600, atomic, never over an existing file.

    The ledger's key writer only needs ``.skey``, so it is reused as is.
    """
    keys.write_signer(Path(os.fspath(path)), cast(Signer, signer))


# --- cosignature lines -----------------------------------------------------


@dataclass(frozen=True)
class Cosignature:
    """One parsed cosignature line: who, when, and the Ed25519 signature."""

    name: str
    key_hash: int
    timestamp: int
    signature: bytes

    def line(self) -> str:
        payload = self.timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + self.signature
        return NoteSignature(self.name, self.key_hash, payload).line()

    @classmethod
    def from_note_signature(cls, sig: NoteSignature) -> Cosignature:
        """Split a note signature's payload into timestamp and signature."""
        if len(sig.signature) != _TIMESTAMP_SIZE + _SIGNATURE_SIZE:
            raise MalformedInputError(
                f"cosignature by {sig.name} is {len(sig.signature)} bytes after the key ID, "
                f"not {_TIMESTAMP_SIZE + _SIGNATURE_SIZE}"
            )
        timestamp = int.from_bytes(sig.signature[:_TIMESTAMP_SIZE], "big")
        if timestamp > _MAX_TIMESTAMP:
            raise MalformedInputError(f"cosignature by {sig.name} has a timestamp above 2^63-1")
        return cls(sig.name, sig.key_hash, timestamp, sig.signature[_TIMESTAMP_SIZE:])

    @classmethod
    def parse(cls, line: str) -> Cosignature:
        """Parse one line ``— name base64(...)``, with or without its newline."""
        return cls.from_note_signature(parse_signature_line(line.removesuffix("\n")))


def note_body(checkpoint_note: str | bytes) -> str:
    """The checkpoint body of a signed note, or of a bare body (checked either way)."""
    text = checkpoint_note
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    split = text.find("\n\n")
    body = text if split < 0 else text[: split + 1]
    check_note_text(body)
    Checkpoint.parse(body)  # a cosignature is a statement about a checkpoint
    return body


def cosign(
    checkpoint_note_text: str | bytes, signer: CosignatureSigner, timestamp: int | None = None
) -> str:
    """The cosignature line (ending in a newline) of ``signer`` over a checkpoint.

    ``checkpoint_note_text`` is the checkpoint body or the whole signed note
    (whose existing signatures are not part of the message). ``timestamp``
    defaults to now.
    """
    body = note_body(checkpoint_note_text)
    when = int(time.time()) if timestamp is None else _check_timestamp(timestamp)
    signature = signer.sign(cosignature_message(body, when))
    return Cosignature(signer.name, signer.verifier.key_hash, when, signature).line()


def _split_note(note: str) -> tuple[str, list[str]]:
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise MalformedInputError("note has no signature block")
    return note[: split + 1], note[split + 2 : -1].split("\n")


def add_cosignature(note: str, line: str) -> str:
    """Append a cosignature line to a signed note's signature block.

    A line by the same key (name and key ID) replaces the one already there,
    so re-cosigning a checkpoint gives a note with one, fresh, cosignature.
    """
    text, lines = _split_note(note)
    check_note_text(text)
    new = Cosignature.parse(line)
    ident = (new.name, new.key_hash)
    kept = []
    for existing in lines:
        sig = parse_signature_line(existing)
        if (sig.name, sig.key_hash) != ident:
            kept.append(existing)
    kept.append(new.line()[:-1])
    if len(kept) > MAX_SIGNATURES:
        raise MalformedInputError(f"note would have more than {MAX_SIGNATURES} signatures")
    out = text + "\n" + "\n".join(kept) + "\n"
    if len(out.encode("utf-8")) > MAX_NOTE_SIZE:
        raise MalformedInputError(f"note would be larger than {MAX_NOTE_SIZE} bytes")
    return out


def verify_cosignatures(
    note: str | bytes,
    log_verifiers: Iterable[Verifier],
    witness_verifiers: Iterable[CosignatureVerifier],
    *,
    quorum: int,
    now: int | None = None,
    max_skew: int = DEFAULT_MAX_SKEW,
) -> list[str]:
    """Check a cosigned checkpoint and return the names of the witnesses that verified.

    Steps: 1. the note opens with a trusted log key (``UnknownKeyError`` /
    ``SignatureError`` from :func:`canopy.ledger.note.open_note`) and its body
    is a checkpoint; 2. every line by a trusted witness key (name and 0x04 key
    ID) has a valid signature (else ``SignatureError``) and a timestamp no more
    than ``max_skew`` seconds in the future (else ``SignatureError``); lines by
    other keys are ignored; 3. at least ``quorum`` distinct witness names
    verified (else ``UnknownKeyError``).
    """
    witnesses = list(witness_verifiers)
    names = {w.name for w in witnesses}
    if quorum < 1:
        raise ValueError(f"a witness quorum must be at least 1, got {quorum}")
    if quorum > len(names):
        raise ValueError(f"quorum {quorum} exceeds the {len(names)} trusted witness(es)")
    opened: Note = open_note(note, log_verifiers)
    Checkpoint.parse(opened.text)
    by_id = {(w.name, w.key_hash): w for w in witnesses}
    limit = (int(time.time()) if now is None else now) + max_skew
    verified: list[str] = []
    for sig in opened.unverified:
        witness = by_id.get((sig.name, sig.key_hash))
        if witness is None:
            continue  # tlog-witness: "MUST ignore any cosignatures from unknown keys"
        try:
            cosig = Cosignature.from_note_signature(sig)
        except MalformedInputError as e:
            raise SignatureError(f"invalid cosignature by {witness.key_id}: {e}") from e
        message = cosignature_message(opened.text, cosig.timestamp)
        if not witness.verify(message, cosig.signature):
            raise SignatureError(f"invalid cosignature by {witness.key_id}")
        if cosig.timestamp > limit:
            raise SignatureError(
                f"cosignature by {witness.key_id} is dated {cosig.timestamp}, "
                f"{cosig.timestamp - limit + max_skew} s in the future"
            )
        if witness.name not in verified:
            verified.append(witness.name)
    if len(verified) < quorum:
        got = ", ".join(verified) or "none"
        raise UnknownKeyError(
            f"{len(verified)} of the {quorum} required witness cosignatures verified "
            f"(verified: {got})"
        )
    return verified
