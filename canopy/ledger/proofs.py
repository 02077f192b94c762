"""Inclusion and consistency proofs as self-contained JSON documents.

A proof file carries the signed checkpoint(s) it is relative to, so a
recipient needs only the proof and the ledger's verifier key(s). Formats are
described by JSON Schemas in ``schema/`` (inclusion-proof.schema.json,
consistency-proof.schema.json). ``verify_*`` functions raise a
``VerificationError`` subclass naming the failed step and return a small
result on success.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from canopy.errors import MalformedInputError, MalformedProofError, SignatureError
from canopy.ledger.checkpoint import SignedCheckpoint
from canopy.ledger.events import DisclosedEvent, event_signature_message
from canopy.ledger.merkle import (
    HASH_SIZE,
    prove_consistency,
    prove_inclusion,
    verify_consistency,
    verify_inclusion,
)
from canopy.ledger.note import Verifier, strict_b64decode
from canopy.ledger.store import Ledger

__all__ = [
    "CONSISTENCY_FORMAT",
    "INCLUSION_FORMAT",
    "ConsistencyProof",
    "InclusionProof",
    "build_consistency_proof",
    "build_inclusion_proof",
    "verify_consistency_proof",
    "verify_inclusion_proof",
]

INCLUSION_FORMAT = "canopy/inclusion-proof/v1"
CONSISTENCY_FORMAT = "canopy/consistency-proof/v1"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _hash_list(data: Any, what: str) -> list[bytes]:
    if not isinstance(data, list):
        raise MalformedProofError(f"{what} must be a list of base64 hashes")
    out = []
    for i, item in enumerate(data):
        if not isinstance(item, str):
            raise MalformedProofError(f"{what}[{i}] is not a string")
        try:
            raw = strict_b64decode(item, f"{what}[{i}]")
        except MalformedInputError as e:
            raise MalformedProofError(str(e)) from e
        if len(raw) != HASH_SIZE:
            raise MalformedProofError(f"{what}[{i}] is not a {HASH_SIZE}-byte hash")
        out.append(raw)
    return out


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise MalformedProofError(f"{key} must be a non-negative integer")
    return value


def _check_format(data: Any, expected: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedProofError("a proof must be a JSON object")
    if data.get("format") != expected:
        raise MalformedProofError(f"not a {expected} document (format={data.get('format')!r})")
    return data


@dataclass(frozen=True)
class InclusionProof:
    """Event ``leaf_index`` is in the tree committed by ``checkpoint``."""

    origin: str
    leaf_index: int
    tree_size: int
    leaf_hash: bytes
    hashes: list[bytes]
    checkpoint: str
    event: DisclosedEvent | None = None
    event_signature: bytes | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": INCLUSION_FORMAT,
            "origin": self.origin,
            "leaf_index": self.leaf_index,
            "tree_size": self.tree_size,
            "leaf_hash": _b64(self.leaf_hash),
            "hashes": [_b64(h) for h in self.hashes],
            "checkpoint": self.checkpoint,
        }
        if self.event is not None:
            doc["event"] = self.event.to_json()
        if self.event_signature is not None:
            doc["event_signature"] = _b64(self.event_signature)
        return doc

    @classmethod
    def from_json(cls, data: Any) -> InclusionProof:
        data = _check_format(data, INCLUSION_FORMAT)
        origin, note = data.get("origin"), data.get("checkpoint")
        if not isinstance(origin, str) or not isinstance(note, str):
            raise MalformedProofError("origin and checkpoint must be strings")
        leaf = _hash_list([data.get("leaf_hash")], "leaf_hash")[0]
        event = None
        if data.get("event") is not None:
            try:
                event = DisclosedEvent.from_json(data["event"])
            except MalformedInputError as e:
                raise MalformedProofError(f"event: {e}") from e
        signature = None
        if data.get("event_signature") is not None:
            try:
                signature = strict_b64decode(str(data["event_signature"]), "event_signature")
            except MalformedInputError as e:
                raise MalformedProofError(str(e)) from e
        return cls(
            origin,
            _int(data, "leaf_index"),
            _int(data, "tree_size"),
            leaf,
            _hash_list(data.get("hashes"), "hashes"),
            note,
            event,
            signature,
        )


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``new_checkpoint`` extends the tree of ``old_checkpoint``."""

    origin: str
    old_size: int
    new_size: int
    hashes: list[bytes]
    old_checkpoint: str
    new_checkpoint: str

    def to_json(self) -> dict[str, Any]:
        return {
            "format": CONSISTENCY_FORMAT,
            "origin": self.origin,
            "old_size": self.old_size,
            "new_size": self.new_size,
            "hashes": [_b64(h) for h in self.hashes],
            "old_checkpoint": self.old_checkpoint,
            "new_checkpoint": self.new_checkpoint,
        }

    @classmethod
    def from_json(cls, data: Any) -> ConsistencyProof:
        data = _check_format(data, CONSISTENCY_FORMAT)
        origin = data.get("origin")
        old_note, new_note = data.get("old_checkpoint"), data.get("new_checkpoint")
        if not all(isinstance(x, str) for x in (origin, old_note, new_note)):
            raise MalformedProofError("origin and checkpoints must be strings")
        return cls(
            origin,
            _int(data, "old_size"),
            _int(data, "new_size"),
            _hash_list(data.get("hashes"), "hashes"),
            old_note,
            new_note,
        )


def _checkpoint_for(ledger: Ledger, size: int | None) -> SignedCheckpoint:
    if size is None:
        latest = ledger.latest_checkpoint()
        if latest is None:
            raise ValueError(f"ledger {ledger.path} has no checkpoint yet; seal one first")
        return latest
    found = ledger.checkpoint_at(size)
    if found is None:
        raise ValueError(f"ledger {ledger.path} has no checkpoint of size {size}")
    return found


def build_inclusion_proof(
    ledger: Ledger,
    seq: int,
    *,
    checkpoint_size: int | None = None,
    disclose: Iterable[str] | None = None,
) -> InclusionProof:
    """Prove event ``seq`` against a checkpoint (the latest by default).

    ``disclose`` names the fields to reveal; the event's other fields travel
    as digests so the recipient can still recompute its leaf hash.
    """
    signed = _checkpoint_for(ledger, checkpoint_size)
    if not 0 <= seq < signed.size:
        raise ValueError(f"event {seq} is not covered by the checkpoint of size {signed.size}")
    stored = ledger.get(seq)
    hashes = prove_inclusion(seq, signed.size, ledger.read_hashes)
    event = stored.event.disclose(disclose) if disclose is not None else None
    return InclusionProof(
        ledger.origin,
        seq,
        signed.size,
        stored.leaf_hash,
        hashes,
        signed.note,
        event,
        stored.signature,
    )


def build_consistency_proof(
    ledger: Ledger, old_size: int, new_size: int | None = None
) -> ConsistencyProof:
    """Prove that the checkpoint of ``new_size`` (latest by default) extends ``old_size``."""
    old = _checkpoint_for(ledger, old_size)
    new = _checkpoint_for(ledger, new_size)
    if old.size > new.size:
        raise ValueError(f"old size {old.size} is larger than new size {new.size}")
    hashes = (
        [] if old.size == new.size else prove_consistency(old.size, new.size, ledger.read_hashes)
    )
    return ConsistencyProof(ledger.origin, old.size, new.size, hashes, old.note, new.note)


def _open_checkpoint(
    note: str, verifiers: Iterable[Verifier], origin: str, size: int
) -> SignedCheckpoint:
    signed = SignedCheckpoint.open(note, verifiers)
    if signed.origin != origin:
        raise MalformedProofError(
            f"checkpoint is for ledger {signed.origin!r}, proof claims {origin!r}"
        )
    if signed.size != size:
        raise MalformedProofError(f"checkpoint has size {signed.size}, proof claims {size}")
    return signed


@dataclass(frozen=True)
class InclusionResult:
    origin: str
    leaf_index: int
    tree_size: int
    root: bytes
    event_disclosed: bool
    event_signature_checked: bool


def verify_inclusion_proof(
    proof: InclusionProof | Mapping[str, Any], verifiers: Iterable[Verifier]
) -> InclusionResult:
    """Check a proof with nothing but the ledger's verifier key(s).

    Steps: 1. the checkpoint's signature; 2. origin and size agree; 3. a
    disclosed event hashes to the leaf; 4. the event signature, when present;
    5. the inclusion path leads from the leaf to the checkpoint's root.
    """
    if not isinstance(proof, InclusionProof):
        proof = InclusionProof.from_json(proof)
    keys = list(verifiers)
    signed = _open_checkpoint(proof.checkpoint, keys, proof.origin, proof.tree_size)
    if proof.event is not None:
        if proof.event.seq != proof.leaf_index:
            raise MalformedProofError(
                f"disclosed event has seq {proof.event.seq}, proof is for leaf {proof.leaf_index}"
            )
        if proof.event.leaf_hash() != proof.leaf_hash:
            raise MalformedProofError("disclosed event does not hash to the proven leaf")
    signature_checked = False
    if proof.event_signature is not None:
        message = event_signature_message(proof.origin, proof.leaf_index, proof.leaf_hash)
        if not any(k.verify(message, proof.event_signature) for k in keys):
            raise SignatureError(f"event {proof.leaf_index} signature does not verify")
        signature_checked = True
    verify_inclusion(proof.leaf_index, proof.tree_size, proof.leaf_hash, proof.hashes, signed.root)
    return InclusionResult(
        proof.origin,
        proof.leaf_index,
        proof.tree_size,
        signed.root,
        proof.event is not None,
        signature_checked,
    )


@dataclass(frozen=True)
class ConsistencyResult:
    origin: str
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes


def verify_consistency_proof(
    proof: ConsistencyProof | Mapping[str, Any], verifiers: Iterable[Verifier]
) -> ConsistencyResult:
    """Steps: 1. both checkpoints' signatures; 2. origins and sizes; 3. the proof."""
    if not isinstance(proof, ConsistencyProof):
        proof = ConsistencyProof.from_json(proof)
    keys = list(verifiers)
    old = _open_checkpoint(proof.old_checkpoint, keys, proof.origin, proof.old_size)
    new = _open_checkpoint(proof.new_checkpoint, keys, proof.origin, proof.new_size)
    verify_consistency(old.size, new.size, old.root, new.root, proof.hashes)
    return ConsistencyResult(proof.origin, old.size, new.size, old.root, new.root)
