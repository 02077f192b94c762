"""An independent witness for Canopy ledgers (c2sp.org/tlog-witness, add-checkpoint).

A signed checkpoint only proves what the log's own key signed: whoever holds
that key can truncate or rewrite the ledger and sign again. A witness has its
own key and its own state; it cosigns a checkpoint only if it extends the last
checkpoint it cosigned for that log, so evidence that demands a quorum of
witness cosignatures (:func:`canopy.witness.cosignature.verify_cosignatures`)
cannot be satisfied by a rewritten ledger.

The request body is the tlog-witness one::

    old <size>\\n
    <base64 consistency proof hash>\\n   (zero to 63 lines)
    \\n
    <signed checkpoint note>

and :meth:`Witness.add_checkpoint` runs the spec's checks in order, raising
the first that fails: 1. the request parses (``MalformedInputError``, HTTP
400); 2. the origin is a configured log (``UnknownLogError``, 404); 3. the
checkpoint is signed by a key trusted for it (``UnknownKeyError`` 403,
``SignatureError``); 4. it is not smaller than the checkpoint already
cosigned (``RollbackError``); 5. ``old`` is not larger than the checkpoint
(``MalformedInputError``, 400); 6. ``old`` is the size last cosigned, 0 if
none (``ConflictError`` carrying that size, 409); 7. at the same size the
root is the same (else a fork: ``RollbackError``, and the contradicting
checkpoint is kept as evidence), otherwise the consistency proof verifies
(``MalformedProofError`` / ``RootMismatchError``, 422); 8. the optional
``replay`` hook does not veto. Only then is the new checkpoint durably stored
and the cosignature line returned, all inside one ``BEGIN IMMEDIATE``
transaction, so two requests from the same old size cannot both succeed.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from canopy.errors import (
    KeyFileError,
    MalformedInputError,
    MalformedProofError,
    RollbackError,
    RootMismatchError,
    UnknownKeyError,
    VerificationError,
)
from canopy.ledger.checkpoint import Checkpoint, SignedCheckpoint
from canopy.ledger.merkle import HASH_SIZE, prove_consistency, verify_consistency
from canopy.ledger.note import MAX_NOTE_SIZE, Verifier, strict_b64decode
from canopy.ledger.store import Ledger
from canopy.witness.cosignature import (
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignature,
    cosign,
    generate_cosignature_signer,
    load_cosignature_signer,
    note_body,
    write_cosignature_signer,
)
from canopy.witness.state import (
    ForkEvidence,
    LogStatus,
    NotAWitnessStateError,
    Witnessed,
    WitnessState,
)

__all__ = [
    "MAX_PROOF_LINES",
    "WITNESS_KEY_ENV",
    "AddCheckpointRequest",
    "ConflictError",
    "Replay",
    "UnknownLogError",
    "Witness",
    "default_witness_key_path",
    "request_for",
]

WITNESS_KEY_ENV = "CANOPY_WITNESS_KEY"
#: tlog-witness: "The client MUST NOT send more than 63 consistency proof lines."
MAX_PROOF_LINES = 63
_MAX_REQUEST_SIZE = MAX_NOTE_SIZE + 64 * (MAX_PROOF_LINES + 1)
_OLD_LINE = re.compile(r"old (0|[1-9][0-9]{0,18})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: ``replay(origin, old_size, new_size)``: a last check that may veto a cosignature by raising.
Replay = Callable[[str, int, int], None]


class ConflictError(VerificationError):
    """The request's old size is not the size this witness last cosigned (HTTP 409).

    ``latest_size`` is that size: a client with a stale view resubmits from it.
    """

    def __init__(self, message: str, *, latest_size: int) -> None:
        super().__init__(message)
        self.latest_size = latest_size


class UnknownLogError(UnknownKeyError):
    """The checkpoint's origin is not a log this witness is configured for (HTTP 404)."""


def default_witness_key_path(state_path: str | os.PathLike[str]) -> Path:
    """``CANOPY_WITNESS_KEY`` if set, else ``<state>.key`` beside the state file."""
    configured = os.environ.get(WITNESS_KEY_ENV)
    if configured:
        return Path(configured)
    return Path(f"{os.fspath(state_path)}.key")


@dataclass(frozen=True)
class AddCheckpointRequest:
    """The body of a tlog-witness add-checkpoint request."""

    old_size: int
    proof: tuple[bytes, ...]
    checkpoint: str  # the signed checkpoint note

    def encode(self) -> bytes:
        lines = [f"old {self.old_size}"]
        lines.extend(_b64(h) for h in self.proof)
        return ("\n".join(lines) + "\n\n" + self.checkpoint).encode("utf-8")

    @classmethod
    def parse(cls, body: bytes | str) -> AddCheckpointRequest:
        """Strictly parse a request body (``MalformedInputError`` on any deviation)."""
        raw = body.encode("utf-8") if isinstance(body, str) else body
        if len(raw) > _MAX_REQUEST_SIZE:
            raise MalformedInputError(f"request larger than {_MAX_REQUEST_SIZE} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedInputError("request is not valid UTF-8") from e
        first, sep, rest = text.partition("\n")
        match = _OLD_LINE.fullmatch(first)
        if not sep or match is None or int(match.group(1)) >= 1 << 63:
            raise MalformedInputError("request must start with a canonical 'old <size>' line")
        proof: list[bytes] = []
        while True:
            line, sep, rest = rest.partition("\n")
            if not sep:
                raise MalformedInputError("request has no blank line before the checkpoint")
            if not line:
                break
            if len(proof) == MAX_PROOF_LINES:
                raise MalformedInputError(
                    f"request has more than {MAX_PROOF_LINES} consistency proof lines"
                )
            digest = strict_b64decode(line, f"consistency proof line {len(proof) + 1}")
            if len(digest) != HASH_SIZE:
                raise MalformedInputError(
                    f"consistency proof line {len(proof) + 1} is not a {HASH_SIZE}-byte hash"
                )
            proof.append(digest)
        if not rest:
            raise MalformedInputError("request has no checkpoint")
        return cls(int(match.group(1)), tuple(proof), rest)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def request_for(ledger: Ledger, old_size: int, new_size: int | None = None) -> bytes:
    """The add-checkpoint body taking a witness from ``old_size`` to a checkpoint of ``ledger``.

    The checkpoint is the latest one (or the one of ``new_size``); the proof
    is the RFC 9162 consistency proof from ``old_size``, empty when
    ``old_size`` is 0 or equal to the checkpoint's size.
    """
    signed = ledger.latest_checkpoint() if new_size is None else ledger.checkpoint_at(new_size)
    if signed is None:
        which = "yet; seal one first" if new_size is None else f"of size {new_size}"
        raise ValueError(f"ledger {ledger.path} has no checkpoint {which}")
    if not 0 <= old_size <= signed.size:
        raise ValueError(f"old size {old_size} is outside 0..{signed.size} (the checkpoint's size)")
    proof = (
        []
        if old_size in (0, signed.size)
        else prove_consistency(old_size, signed.size, ledger.read_hashes)
    )
    return AddCheckpointRequest(old_size, tuple(proof), signed.note).encode()


def _origin_of(note: str) -> str:
    split = note.find("\n\n")
    if split < 0:
        raise MalformedInputError("checkpoint note has no signature block")
    return Checkpoint.parse(note[: split + 1]).origin


def _check_origin(origin: str) -> None:
    if not origin or _CONTROL.search(origin) or origin != origin.strip():
        raise ValueError(
            f"invalid log origin {origin!r}: must be one non-empty line without control "
            "characters or surrounding spaces"
        )


class Witness:
    """A witness: its own key, its own SQLite state, and the logs it trusts.

    ``Witness(state_path)`` opens the state (creating it, and the witness key,
    on first use). The key is read from ``key_path``, else from
    ``CANOPY_WITNESS_KEY``, else from ``<state_path>.key``; a new key file is
    written with mode 0600. ``name`` names a new witness (a schema-less URL is
    recommended; default ``canopy.witness/<random>``) and, for an existing
    one, must match.

    ``replay`` is a hook for a deeper check: when given, it is called as
    ``replay(origin, old_size, new_size)`` after every protocol check passed
    and before the checkpoint is cosigned or stored, inside the witness's
    write transaction. If it raises (say, an index-root recheck that replays
    the log's events between the two sizes disagrees), nothing is cosigned or
    stored and the exception propagates. Nothing beyond calling it is
    implemented here.
    """

    def __init__(
        self,
        state_path: str | os.PathLike[str],
        *,
        key_path: str | os.PathLike[str] | None = None,
        name: str | None = None,
        create: bool = True,
        replay: Replay | None = None,
    ) -> None:
        self._key_path = Path(key_path) if key_path else default_witness_key_path(state_path)
        self._replay = replay
        path = Path(os.path.realpath(os.fspath(state_path)))
        if path.exists():
            # The file is checked before any key is touched: a ledger given by
            # mistake is refused without creating a key beside it.
            state = WitnessState.open(path)
        elif create:
            signer = self._key_for_new_state(name)
            state = WitnessState.create(path, name=signer.name, vkey=signer.verifier.vkey)
        else:
            raise NotAWitnessStateError(f"{path} does not exist")
        try:
            if name is not None and name != state.name:
                raise ValueError(f"witness {path} is named {state.name!r}, not {name!r}")
            self._signer = load_cosignature_signer(self._key_path)
            if self._signer.verifier.vkey != state.vkey:
                raise KeyFileError(
                    f"witness key {self._key_path} ({self._signer.verifier.key_id}) is not the "
                    f"key of witness {path} ({CosignatureVerifier.from_vkey(state.vkey).key_id})"
                )
        except BaseException:
            state.close()
            raise
        self._state = state
        self.path = path

    def _key_for_new_state(self, name: str | None) -> CosignatureSigner:
        if self._key_path.exists():
            signer = load_cosignature_signer(self._key_path)
            if name is not None and signer.name != name:
                raise ValueError(
                    f"witness key {self._key_path} is named {signer.name!r}, not {name!r}"
                )
            return signer
        signer = generate_cosignature_signer(name or f"canopy.witness/{secrets.token_hex(8)}")
        try:
            write_cosignature_signer(self._key_path, signer)
        except KeyFileError:
            if not self._key_path.exists():
                raise
            return load_cosignature_signer(self._key_path)  # another creator won the race
        return signer

    def close(self) -> None:
        self._state.close()

    def __enter__(self) -> Witness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- identity ----------------------------------------------------------

    @property
    def name(self) -> str:
        return self._signer.name

    @property
    def verifier(self) -> CosignatureVerifier:
        """The witness's public key; ``.vkey`` is what log clients configure."""
        return self._signer.verifier

    @property
    def key_path(self) -> Path:
        return self._key_path

    # --- configuration ---------------------------------------------------------

    def add_log(self, origin: str, log_vkeys: Iterable[str | Verifier]) -> None:
        """Trust the log ``origin`` with these note verifier keys (adds to any already trusted)."""
        _check_origin(origin)
        vkeys = [(v if isinstance(v, Verifier) else Verifier.from_vkey(v)).vkey for v in log_vkeys]
        if not vkeys:
            raise ValueError(f"log {origin!r} needs at least one verifier key")
        with self._state.atomic() as conn:
            WitnessState.insert_log(conn, origin, vkeys)

    def logs(self) -> list[LogStatus]:
        return self._state.logs()

    def latest(self, origin: str) -> Witnessed | None:
        """(size, root, cosigned note) of the latest checkpoint cosigned for ``origin``."""
        found = self._state.latest(origin)
        return found[0] if found else None

    def forks(self, origin: str) -> list[ForkEvidence]:
        """Checkpoints signed by ``origin``'s key that contradicted one this witness cosigned."""
        return self._state.forks(origin)

    # --- the protocol ------------------------------------------------------------

    def add_checkpoint(self, request: bytes | str, *, replay: Replay | None = None) -> str:
        """Handle one add-checkpoint request; return the cosignature line (see module doc).

        ``replay`` is an extra check for this request, run after the witness's own hook.
        """
        req = AddCheckpointRequest.parse(request)
        origin = _origin_of(req.checkpoint)
        refusal: VerificationError | None = None
        line: str | None = None
        with self._state.atomic() as conn:
            trusted = self._state.log_keys(origin, conn)
            if not trusted:
                raise UnknownLogError(
                    f"unknown log {origin!r}: this witness is not configured for it (add-log)"
                )
            signed = SignedCheckpoint.open(req.checkpoint, trusted)
            new = signed.checkpoint
            found = self._state.latest(origin, conn)
            previous, previous_time = found if found else (None, 0)
            cosigned_size = previous.size if previous else 0
            if previous is not None and new.size < previous.size:
                raise RollbackError(
                    f"ledger rolled back from {previous.size} to {new.size}: witness "
                    f"{self.name} already cosigned size {previous.size} of {origin}"
                )
            if req.old_size > new.size:
                raise MalformedInputError(
                    f"old size {req.old_size} is larger than the checkpoint's size {new.size}"
                )
            if req.old_size != cosigned_size:
                raise ConflictError(
                    f"witness {self.name} last cosigned size {cosigned_size} of {origin}, "
                    f"the request is from old size {req.old_size}",
                    latest_size=cosigned_size,
                )
            if previous is not None and new.size == previous.size and new.root != previous.root:
                WitnessState.record_fork(conn, origin, new.size, previous.note, req.checkpoint)
                refusal = RollbackError(
                    f"fork: log {origin} signed two different roots for size {new.size}; "
                    f"witness {self.name} cosigned {_b64(previous.root)}, this checkpoint has "
                    f"{_b64(new.root)} (kept as evidence)"
                )
            else:
                self._check_consistency(req, new, previous)
                for check in (self._replay, replay):
                    if check is not None:
                        check(origin, req.old_size, new.size)
                timestamp = max(int(time.time()), previous_time)
                line = cosign(note_body(req.checkpoint), self._signer, timestamp)
                cosigned = Witnessed(new.size, new.root, add_cosignature(req.checkpoint, line))
                WitnessState.store_latest(conn, origin, cosigned, timestamp)
        if refusal is not None:
            raise refusal  # after the commit that kept the evidence
        assert line is not None
        return line

    @staticmethod
    def _check_consistency(
        req: AddCheckpointRequest, new: Checkpoint, previous: Witnessed | None
    ) -> None:
        if req.old_size == 0:
            if req.proof:
                raise MalformedProofError("a consistency proof from old size 0 must be empty")
            return
        assert previous is not None and previous.size == req.old_size
        context = f"checkpoint {new.size} of {new.origin} vs cosigned size {previous.size}"
        try:
            verify_consistency(previous.size, new.size, previous.root, new.root, req.proof)
        except RootMismatchError as e:
            raise RootMismatchError(
                f"{context}: {e}", expected=e.expected, calculated=e.calculated
            ) from e
        except MalformedProofError as e:
            raise MalformedProofError(f"{context}: {e}") from e

    def cosign_ledger(self, ledger: Ledger, *, replay: bool = True) -> str:
        """Cosign ``ledger``'s latest checkpoint; return its note with the cosignature added.

        Builds the request from the size this witness last cosigned for the
        ledger's origin. A ledger whose latest checkpoint is smaller than that
        gets a request the witness refuses as a rollback. With ``replay`` (the
        default) the new events are rebuilt and every key-index commitment
        among them recomputed before cosigning (``canopy.witness.replay``).
        """
        from canopy.witness.replay import ledger_replay

        signed = ledger.latest_checkpoint()
        if signed is None:
            raise ValueError(f"ledger {ledger.path} has no checkpoint yet; seal one first")
        previous = self.latest(ledger.origin)
        old = previous.size if previous else 0
        if old > signed.size:
            body = AddCheckpointRequest(old, (), signed.note).encode()
        else:
            body = request_for(ledger, old, signed.size)
        hook = ledger_replay(ledger) if replay else None
        return add_cosignature(signed.note, self.add_checkpoint(body, replay=hook))
