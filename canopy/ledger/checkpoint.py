"""Signed tree heads in the C2SP tlog-checkpoint format (c2sp.org/tlog-checkpoint).

The body is three lines, origin, decimal tree size and base64 root hash,
optionally followed by extension lines; it is the text of a C2SP signed note.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass

from canopy.errors import MalformedInputError
from canopy.ledger.merkle import HASH_SIZE
from canopy.ledger.note import Note, Signer, Verifier, open_note, sign_note, strict_b64decode

__all__ = ["Checkpoint", "SignedCheckpoint"]

_SIZE = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        lines.extend(self.extensions)
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Strictly parse a checkpoint body (the note text)."""
        if not text.endswith("\n"):
            raise MalformedInputError("checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise MalformedInputError("checkpoint body needs origin, size and root lines")
        origin, size_text, root_text, *extensions = lines
        if not origin:
            raise MalformedInputError("checkpoint origin line is empty")
        if not _SIZE.fullmatch(size_text) or int(size_text) >= 1 << 63:
            raise MalformedInputError(f"checkpoint tree size {size_text!r} is not canonical")
        root = strict_b64decode(root_text, "checkpoint root")
        if len(root) != HASH_SIZE:
            raise MalformedInputError(f"checkpoint root is {len(root)} bytes, not {HASH_SIZE}")
        if any(not line for line in extensions):
            raise MalformedInputError("checkpoint has an empty extension line")
        return cls(origin, int(size_text), root, tuple(extensions))


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint with its signed-note text (the form that leaves the machine)."""

    checkpoint: Checkpoint
    note: str

    @classmethod
    def sign(cls, checkpoint: Checkpoint, signer: Signer) -> SignedCheckpoint:
        return cls(checkpoint, sign_note(checkpoint.body(), signer))

    @classmethod
    def open(cls, note_text: str | bytes, verifiers: Iterable[Verifier]) -> SignedCheckpoint:
        """Verify the note's signature, then parse its body."""
        note: Note = open_note(note_text, verifiers)
        raw = note_text if isinstance(note_text, str) else note_text.decode("utf-8")
        return cls(Checkpoint.parse(note.text), raw)

    def to_json(self) -> dict[str, object]:
        """The JSON rendering of schema/checkpoint.schema.json."""
        return {
            "origin": self.origin,
            "size": self.size,
            "root": base64.b64encode(self.root).decode("ascii"),
            "note": self.note,
        }

    @property
    def origin(self) -> str:
        return self.checkpoint.origin

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root
