"""One small exception tree for the whole package.

Caller mistakes are ``ValueError`` subclasses; bad evidence is a
``VerificationError``; storage failures are ``LedgerError``. The CLIs map
these families to exit codes in one place (``canopy.cli.errors``).
"""

from __future__ import annotations


class CanopyError(Exception):
    """Base class for every error Canopy raises on purpose."""


# --- caller mistakes -------------------------------------------------------


class CanonicalEncodingError(CanopyError, ValueError):
    """A value cannot be encoded as canonical JSON (NaN, bytes, a set, ...)."""


class MalformedInputError(CanopyError, ValueError):
    """Input that does not have the documented shape (a proof, a note, a key)."""


# --- bad evidence ----------------------------------------------------------


class VerificationError(CanopyError):
    """Evidence does not verify. Subclasses say which check failed."""


class RootMismatchError(VerificationError):
    """A recomputed Merkle root differs from the claimed one."""

    def __init__(self, message: str, *, expected: bytes, calculated: bytes) -> None:
        super().__init__(message)
        self.expected = expected
        self.calculated = calculated


class MalformedProofError(VerificationError):
    """A proof has the wrong length, wrong hash sizes, or impossible indexes."""


class SignatureError(VerificationError):
    """A signature made by a known key does not verify."""


class UnknownKeyError(VerificationError):
    """A signed object carries no signature by any key we trust."""


class RollbackError(VerificationError):
    """A newer state does not extend an older trusted one (truncation, fork)."""


class TamperedLedgerError(VerificationError):
    """Stored ledger content disagrees with what was signed."""


# --- storage ---------------------------------------------------------------


class LedgerError(CanopyError):
    """The ledger cannot be opened or written."""


class NotALedgerError(LedgerError):
    """The file exists but is not a Canopy ledger (or of an unknown version)."""


class LedgerWriteError(LedgerError):
    """An event could not be durably written; nothing was acknowledged."""


class KeyFileError(LedgerError):
    """The signing key file is missing, unreadable, malformed, or too open."""
