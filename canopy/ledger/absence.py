"""Negative proofs: "among events [a, b) of this ledger, no event matches QUERY".

A window-disclosure proof carries the compact range of the tree at ``a`` (the
roots of ``subtree_nodes(0, a)``) and every event of ``[a, b)`` as a disclosed
event that reveals only the fields the query needs; every other field stays a
salted digest, so unrelated payloads do not leak. The verifier rebuilds each
leaf, extends the compact range with them, and must reach the root of the
signed checkpoint of size ``b`` (which also proves ``b`` extends ``a``); then
it evaluates the query on each disclosed event.

What such a proof states, exactly (printed by the verifier and stored in the
proof): absence is relative to signed checkpoints. It says nothing about
actions that never reached the runtime, and it is only as strong as the
checkpoints that left the machine (the verifier key, and witness cosignatures
when demanded).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from canopy.canonical import canonical_text
from canopy.errors import MalformedInputError, MalformedProofError, RootMismatchError
from canopy.ledger.checkpoint import SignedCheckpoint
from canopy.ledger.events import DisclosedEvent
from canopy.ledger.merkle import CompactRange, fold_subtree, subtree_nodes
from canopy.ledger.note import Verifier, strict_b64decode
from canopy.ledger.store import Ledger, StoredEvent

__all__ = [
    "ABSENCE_FORMAT",
    "AbsenceQuery",
    "AbsenceResult",
    "EventsPresentError",
    "build_absence_proof",
    "build_keyed_proof",
    "build_window_proof",
    "statement_for",
    "verify_absence_proof",
]

ABSENCE_FORMAT = "canopy/absence-proof/v1"
_KINDS = ("execution", "tool_result", "approval", "any")


class EventsPresentError(MalformedInputError):
    """Matching events exist: an absence proof must be impossible to produce."""

    def __init__(self, seqs: Sequence[int]) -> None:
        shown = ", ".join(map(str, seqs[:20])) + (" ..." if len(seqs) > 20 else "")
        super().__init__(f"{len(seqs)} matching event(s) present: seq {shown}")
        self.seqs = list(seqs)


@dataclass(frozen=True)
class AbsenceQuery:
    """One of the documented query forms; evaluated on disclosed events only."""

    trace_id: str | None = None
    authorization_id: str | None = None
    kind: str | None = None  # with authorization_id: execution | tool_result | approval | any
    avid: str | None = None
    action_type: str | None = None
    payload_contains: str | None = None
    payload_regex: str | None = None

    def __post_init__(self) -> None:
        chosen = [
            self.trace_id is not None,
            self.authorization_id is not None,
            self.avid is not None,
            self.action_type is not None,
        ]
        if sum(chosen) != 1:
            raise MalformedInputError(
                "a query names exactly one of trace_id, authorization_id, avid, action_type"
            )
        if self.kind is not None and (self.authorization_id is None or self.kind not in _KINDS):
            raise MalformedInputError(f"kind goes with authorization_id and is one of {_KINDS}")
        if (self.payload_contains or self.payload_regex) and self.action_type is None:
            raise MalformedInputError("payload predicates go with action_type")
        if self.payload_contains is not None and self.payload_regex is not None:
            raise MalformedInputError("use payload_contains or payload_regex, not both")
        if self.payload_regex is not None:
            _compile(self.payload_regex)

    # --- what to disclose, and how to judge ---------------------------------

    def _key_field(self) -> str:
        for name in ("trace_id", "authorization_id", "avid", "action_type"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("unreachable: __post_init__ checks one key")

    def _value(self) -> str:
        return str(getattr(self, self._key_field()))

    def _kind_applies(self, kind: str) -> bool:
        if self.authorization_id is None or self.kind in (None, "any"):
            return True
        return kind == self.kind

    def disclose(self, event: StoredEvent) -> list[str]:
        """The fields of ``event`` a proof must reveal to show it does not match."""
        key = self._key_field()
        if key not in event.fields or not self._kind_applies(event.kind):
            return []
        names = [key]
        has_payload_test = self.payload_contains is not None or self.payload_regex is not None
        if has_payload_test and event.fields.get(key) == self.action_type:
            names.append("payload")
        return [n for n in names if n in event.fields]

    def matches_stored(self, event: StoredEvent) -> bool:
        return self._judge(event.kind, dict(event.fields), set(event.fields))

    def matches_disclosed(self, event: DisclosedEvent) -> bool:
        """True if it matches; raises if the disclosure is insufficient to decide."""
        revealed = {name: value for name, (value, _salt) in event.revealed.items()}
        present = set(event.revealed) | set(event.hidden)
        key = self._key_field()
        if key in present and self._kind_applies(event.kind) and key not in revealed:
            raise MalformedProofError(f"event {event.seq} hides {key!r}, which the query needs")
        return self._judge(event.kind, revealed, present)

    def _judge(self, kind: str, values: Mapping[str, Any], present: set[str]) -> bool:
        key = self._key_field()
        if key not in present or not self._kind_applies(kind):
            return False
        if values.get(key) != self._value():
            return False
        if self.payload_contains is None and self.payload_regex is None:
            return True
        if "payload" not in present:
            return False
        if "payload" not in values:
            raise MalformedProofError("an event of the queried action type hides its payload")
        text = canonical_text(values["payload"])
        if self.payload_contains is not None:
            return self.payload_contains.casefold() in text.casefold()
        assert self.payload_regex is not None
        return _compile(self.payload_regex).search(text) is not None

    def index_key(self) -> str | None:
        """The key-index key that decides this query, or None (window proofs only)."""
        if self.payload_contains is not None or self.payload_regex is not None:
            return None
        prefix = {"trace_id": "t:", "avid": "v:", "action_type": "y:", "authorization_id": "a:"}
        return prefix[self._key_field()] + self._value()

    def index_kind_bit(self) -> int | None:
        """For authorization queries with a kind: the kind's bit in the key's leaf."""
        from canopy.ledger.keyindex import KIND_BITS

        if self.authorization_id is None or self.kind in (None, "any"):
            return None
        return KIND_BITS[str(self.kind)]

    def describe(self) -> str:
        key = self._key_field()
        text = f"{key} == {self._value()!r}"
        if self.kind not in (None, "any"):
            text = f"kind == {self.kind!r} and {text}"
        elif self.authorization_id is not None:
            text = f"(any kind) {text}"
        if self.payload_contains is not None:
            text += f" and payload contains {self.payload_contains!r}"
        if self.payload_regex is not None:
            text += f" and payload matches /{self.payload_regex}/"
        return text

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @classmethod
    def from_json(cls, data: Any) -> AbsenceQuery:
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise MalformedProofError("query must be an object of strings")
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise MalformedProofError(f"unknown query fields {sorted(unknown)}")
        try:
            return cls(**data)
        except MalformedInputError as e:
            raise MalformedProofError(f"query: {e}") from e


def _compile(pattern: str) -> Any:
    """RE2 when available (linear time; proofs come from strangers), else ``re``."""
    try:
        import re2

        return re2.compile(pattern)
    except ImportError:  # pragma: no cover - google-re2 is a dependency
        return re.compile(pattern)
    except Exception as e:
        raise MalformedInputError(f"payload regex does not compile: {e}") from e


def statement_for(
    origin: str,
    start: int,
    end: int,
    root: bytes,
    key_id: str,
    witnesses: Iterable[str],
    query: AbsenceQuery,
    checkpoint_size: int | None = None,
) -> str:
    cosigned = ", ".join(witnesses) or "none"
    size = end if checkpoint_size is None else checkpoint_size
    return (
        f"Among events [{start}, {end}) of ledger {origin}, committed by checkpoint "
        f"(size {size}, root {base64.b64encode(root).decode()}, signed by key {key_id}, "
        f"cosigned by witnesses {cosigned}), no event matches {query.describe()}. "
        "Absence is relative to signed checkpoints: it says nothing about actions that "
        "never reached the runtime, and it is only as strong as the checkpoints that "
        "left the machine."
    )


def build_window_proof(
    ledger: Ledger,
    query: AbsenceQuery,
    *,
    start: int = 0,
    end: int | None = None,
) -> dict[str, Any]:
    """A window-disclosure proof over ``[start, end)``; ``end`` must be a checkpoint size.

    Raises ``EventsPresentError`` naming the matching events if any exist.
    """
    checkpoint = ledger.latest_checkpoint() if end is None else ledger.checkpoint_at(end)
    if checkpoint is None:
        raise MalformedInputError(
            "no checkpoint covers the window; seal one first (canopy checkpoint)"
        )
    end = checkpoint.size
    if not 0 <= start <= end:
        raise MalformedInputError(f"window [{start}, {end}) is empty or reversed")
    events = list(ledger.iter_events(start, end))
    present = [e.seq for e in events if query.matches_stored(e)]
    if present:
        raise EventsPresentError(present)
    compact = ledger.read_hashes(subtree_nodes(0, start)) if start else []
    start_note = ledger.checkpoint_at(start) if start else None
    return {
        "format": ABSENCE_FORMAT,
        "method": "window",
        "origin": ledger.origin,
        "query": query.to_json(),
        "window": {"from": start, "to": end},
        "checkpoint": checkpoint.note,
        "start_checkpoint": start_note.note if start_note else None,
        "compact_range": [base64.b64encode(h).decode("ascii") for h in compact],
        "events": [e.event.disclose(query.disclose(e)).to_json() for e in events],
        "statement": statement_for(
            ledger.origin,
            start,
            end,
            checkpoint.root,
            _signing_key_id(checkpoint.note, [v for _, v in ledger.key_schedule()]),
            (),
            query,
        ),
    }


def build_keyed_proof(
    ledger: Ledger, query: AbsenceQuery, *, start: int = 0, end: int | None = None
) -> dict[str, Any] | None:
    """A compact proof from the latest committed key index, or None when the index
    cannot decide (no usable commitment, or the key occurs in the window)."""
    from canopy.ledger import keyindex
    from canopy.ledger.proofs import build_inclusion_proof

    key = query.index_key()
    checkpoint = ledger.latest_checkpoint()
    if key is None or checkpoint is None:
        return None
    commitments = [
        c
        for c in ledger.events_of_kind("index_commitment")
        if c.seq < checkpoint.size and int(c.fields["index_size"]) >= (end or 0)
    ]
    if not commitments:
        return None
    commitment = commitments[-1]
    size = int(commitment.fields["index_size"])
    if not start <= size:
        return None
    kh = keyindex.key_hash(key)
    bit = query.index_kind_bit()
    directory = keyindex.index_dir_for(ledger.path)
    evidence = []
    for summary in keyindex.parse_runs(commitment.fields["index_runs"]):
        try:
            index = keyindex.IndexFile(keyindex.run_path(directory, summary.root))
        except (OSError, ValueError, MalformedProofError):
            return None  # run files missing: the caller falls back to a window proof
        try:
            if index.root != summary.root or index.count != summary.count:
                return None
            position = index.find(kh)
            leaf = index.leaf(position)
            if leaf.key_hash == kh:
                if not (leaf.last_seq < start or (bit is not None and not leaf.kinds & bit)):
                    return None
                evidence.append({"found": index.prove(position)})
            else:
                evidence.append({"left": index.prove(position - 1), "right": index.prove(position)})
        finally:
            index.close()
    inclusion = build_inclusion_proof(
        ledger,
        commitment.seq,
        checkpoint_size=checkpoint.size,
        disclose=["index_format", "index_size", "index_runs"],
    ).to_json()
    key_id = _signing_key_id(checkpoint.note, [v for _, v in ledger.key_schedule()])
    return {
        "format": ABSENCE_FORMAT,
        "method": "keyed",
        "origin": ledger.origin,
        "query": query.to_json(),
        "window": {"from": start, "to": size},
        "checkpoint": checkpoint.note,
        "commitment": inclusion,
        "index": evidence,
        "statement": statement_for(
            ledger.origin, start, size, checkpoint.root, key_id, (), query, checkpoint.size
        ),
    }


def build_absence_proof(
    ledger: Ledger, query: AbsenceQuery, *, start: int = 0, end: int | None = None
) -> dict[str, Any]:
    """The compact keyed proof when the index can decide, else a window proof."""
    if end is None or end >= start:
        keyed = build_keyed_proof(ledger, query, start=start, end=end)
        if keyed is not None:
            return keyed
    return build_window_proof(ledger, query, start=start, end=end)


def _verify_keyed(
    proof: Mapping[str, Any],
    query: AbsenceQuery,
    signed: SignedCheckpoint,
    log_keys: Sequence[Verifier],
    start: int,
    end: int,
) -> None:
    """Steps for keyed proofs: the commitment event is in the signed tree; the
    index evidence for the query's key is in the committed index and shows absence."""
    from canopy.ledger import keyindex
    from canopy.ledger.proofs import verify_inclusion_proof

    commitment = proof.get("commitment")
    evidence = proof.get("index")
    if not isinstance(commitment, Mapping) or not isinstance(evidence, list):
        raise MalformedProofError("keyed proof needs commitment and index evidence")
    # The commitment must be proven against this very checkpoint (cosignatures aside).
    if commitment.get("checkpoint") != proof.get("checkpoint") and (
        SignedCheckpoint.open(str(commitment.get("checkpoint")), log_keys).checkpoint
        != signed.checkpoint
    ):
        raise MalformedProofError("the commitment is proven against another checkpoint")
    verify_inclusion_proof(commitment, log_keys)
    event = commitment.get("event")
    if not isinstance(event, Mapping) or event.get("kind") != "index_commitment":
        raise MalformedProofError("the committed event is not an index commitment")
    revealed = event.get("revealed")
    if not isinstance(revealed, Mapping):
        raise MalformedProofError("the index commitment's fields are not disclosed")
    try:
        fmt = revealed["index_format"]["value"]
        size = revealed["index_size"]["value"]
        runs = keyindex.parse_runs(revealed["index_runs"]["value"])
    except (KeyError, TypeError) as e:
        raise MalformedProofError(f"index commitment lacks {e}") from e
    if fmt != keyindex.INDEX_FORMAT or not isinstance(size, int) or isinstance(size, bool):
        raise MalformedProofError("unknown index format")
    if size != end or not start <= size:
        raise MalformedProofError(f"index covers {size} events, the proof claims [{start}, {end})")
    key = query.index_key()
    if key is None:
        raise MalformedProofError("this query cannot be decided by the key index")
    if not isinstance(evidence, list) or len(evidence) != len(runs):
        raise MalformedProofError(f"the index has {len(runs)} runs: one piece of evidence each")
    kh = keyindex.key_hash(key)
    bit = query.index_kind_bit()
    for run, piece in zip(runs, evidence, strict=True):
        _check_run(run, piece, kh, bit, start)


def _check_run(run: Any, piece: Any, kh: bytes, bit: int | None, start: int) -> None:
    """One run shows the key absent from the window: bracketed, or seen only before it
    (or never with the queried kind)."""
    from canopy.ledger import keyindex

    if not isinstance(piece, Mapping):
        raise MalformedProofError("index evidence must be an object")
    if "found" in piece:
        leaf = keyindex.check_index_path(run.root, run.count, piece["found"])
        if leaf.key_hash != kh:
            raise MalformedProofError("the index leaf is for another key")
        if not (leaf.last_seq < start or (bit is not None and not leaf.kinds & bit)):
            raise MalformedProofError("the index leaf shows the key inside the window")
        return
    try:
        left_raw, right_raw = piece["left"], piece["right"]
    except KeyError as e:
        raise MalformedProofError(f"index evidence lacks {e}") from e
    left = keyindex.check_index_path(run.root, run.count, left_raw)
    right = keyindex.check_index_path(run.root, run.count, right_raw)
    if right_raw["index"] != left_raw["index"] + 1:
        raise MalformedProofError("the bracketing index leaves are not adjacent")
    if not left.key_hash < kh < right.key_hash:
        raise MalformedProofError("the bracketing leaves do not enclose the key")


@dataclass(frozen=True)
class AbsenceResult:
    origin: str
    start: int
    end: int
    root: bytes
    query: AbsenceQuery
    signed_by: str
    witnesses: tuple[str, ...] = field(default=())
    statement: str = ""


def verify_absence_proof(
    proof: Mapping[str, Any],
    log_keys: Sequence[Verifier],
    *,
    witness_keys: Sequence[Any] = (),
    quorum: int = 0,
    trusted_checkpoint: str | None = None,
) -> AbsenceResult:
    """Check an absence proof offline. Raises a ``VerificationError`` if invalid.

    Steps: 1. the format and query; 2. the end checkpoint's signature (and the
    witness quorum); 3. a trusted checkpoint, if given, is consistent with the
    proof's prefix; 4. the compact range matches the start checkpoint, if one is
    named; 5. every disclosed event rebuilds a leaf and together they extend the
    compact range to the signed root; 6. no disclosed event matches the query;
    7. the stated text is exactly what was proved.
    """
    if not isinstance(proof, Mapping) or proof.get("format") != ABSENCE_FORMAT:
        raise MalformedProofError(f"not a {ABSENCE_FORMAT} document")
    method = proof.get("method")
    if method not in ("window", "keyed"):
        raise MalformedProofError(f"unsupported absence proof method {method!r}")
    query = AbsenceQuery.from_json(proof.get("query"))
    origin = proof.get("origin")
    window = proof.get("window")
    if not isinstance(origin, str) or not isinstance(window, Mapping):
        raise MalformedProofError("origin and window are required")
    start, end = window.get("from"), window.get("to")
    if not all(isinstance(b, int) and not isinstance(b, bool) for b in (start, end)):
        raise MalformedProofError("window bounds must be integers")
    if not 0 <= start <= end:
        raise MalformedProofError(f"window [{start}, {end}) is reversed")
    note = proof.get("checkpoint")
    if not isinstance(note, str):
        raise MalformedProofError("the end checkpoint is missing")
    signed = SignedCheckpoint.open(note, log_keys)
    covered = signed.size > end if method == "keyed" else signed.size == end
    if signed.origin != origin or not covered:
        raise MalformedProofError(
            f"checkpoint is for {signed.origin} size {signed.size}, proof claims {origin} {end}"
        )
    witnesses: tuple[str, ...] = ()
    if quorum or witness_keys:
        from canopy.witness.cosignature import verify_cosignatures

        witnesses = tuple(
            verify_cosignatures(note, list(log_keys), list(witness_keys), quorum=quorum)
        )
    if method == "keyed":
        _verify_keyed(proof, query, signed, log_keys, start, end)
        if trusted_checkpoint is not None:
            _check_trusted_head(trusted_checkpoint, log_keys, signed)
        return _result(proof, origin, start, end, signed, log_keys, query, witnesses)
    hashes = _hashes(proof.get("compact_range"), start)
    if start and proof.get("start_checkpoint") is not None:
        first = SignedCheckpoint.open(str(proof["start_checkpoint"]), log_keys)
        if first.origin != origin or first.size != start:
            raise MalformedProofError("start checkpoint does not match the window")
        if fold_subtree(hashes) != first.root:
            raise RootMismatchError(
                "compact range does not match the start checkpoint",
                expected=first.root,
                calculated=fold_subtree(hashes),
            )
    events = proof.get("events")
    if not isinstance(events, list) or len(events) != end - start:
        raise MalformedProofError(f"the window needs {end - start} disclosed events")
    tree = CompactRange(start, list(hashes))  # append mutates its list
    matches = []
    for offset, raw in enumerate(events):
        try:
            event = DisclosedEvent.from_json(raw)
        except MalformedInputError as e:
            raise MalformedProofError(f"event {start + offset}: {e}") from e
        if event.seq != start + offset:
            raise MalformedProofError(f"event {start + offset} is out of order ({event.seq})")
        tree.append(event.leaf_hash())
        if query.matches_disclosed(event):
            matches.append(event.seq)
    if tree.root() != signed.root:
        raise RootMismatchError(
            "disclosed events do not rebuild the signed tree",
            expected=signed.root,
            calculated=tree.root(),
        )
    if matches:
        raise MalformedProofError(f"the proof discloses matching events {matches}")
    if trusted_checkpoint is not None:
        _check_trusted(trusted_checkpoint, log_keys, origin, start, end, hashes, events)
    return _result(proof, origin, start, end, signed, log_keys, query, witnesses)


def _result(
    proof: Mapping[str, Any],
    origin: str,
    start: int,
    end: int,
    signed: SignedCheckpoint,
    log_keys: Sequence[Verifier],
    query: AbsenceQuery,
    witnesses: tuple[str, ...],
) -> AbsenceResult:
    """Last step: the stated text must be exactly what was proved."""
    key_id = _signing_key_id(signed.note, log_keys)
    size = signed.size
    stated = proof.get("statement")
    if stated != statement_for(origin, start, end, signed.root, key_id, (), query, size):
        raise MalformedProofError("the proof's stated text differs from what it proves")
    statement = statement_for(origin, start, end, signed.root, key_id, witnesses, query, size)
    return AbsenceResult(origin, start, end, signed.root, query, key_id, witnesses, statement)


def _signing_key_id(note: str, log_keys: Sequence[Verifier]) -> str:
    for key in log_keys:
        try:
            SignedCheckpoint.open(note, [key])
        except Exception:
            continue
        return key.key_id
    raise AssertionError("unreachable: the note verified with one of these keys")


def _hashes(data: Any, start: int) -> list[bytes]:
    if not isinstance(data, list):
        raise MalformedProofError("compact_range must be a list")
    try:
        hashes = [strict_b64decode(str(h), "compact range hash") for h in data]
    except MalformedInputError as e:
        raise MalformedProofError(str(e)) from e
    if len(hashes) != start.bit_count() or any(len(h) != 32 for h in hashes):
        raise MalformedProofError(f"compact range of size {start} needs {start.bit_count()} hashes")
    return hashes


def _check_trusted_head(note: str, log_keys: Sequence[Verifier], signed: SignedCheckpoint) -> None:
    """A keyed proof carries only its end checkpoint: a checkpoint kept elsewhere
    must be the log's, of this ledger, and agree with it at the same size
    (of another size there is nothing in the proof to compare it with)."""
    trusted = SignedCheckpoint.open(note, log_keys)
    if trusted.origin != signed.origin:
        raise MalformedProofError("the trusted checkpoint is for another ledger")
    if trusted.size == signed.size and trusted.root != signed.root:
        raise RootMismatchError(
            f"the proof's tree at size {trusted.size} differs from the trusted checkpoint",
            expected=trusted.root,
            calculated=signed.root,
        )


def _check_trusted(
    note: str,
    log_keys: Sequence[Verifier],
    origin: str,
    start: int,
    end: int,
    hashes: list[bytes],
    events: list[Any],
) -> None:
    """A checkpoint kept elsewhere must agree with the proof where they overlap."""
    trusted = SignedCheckpoint.open(note, log_keys)
    if trusted.origin != origin:
        raise MalformedProofError("the trusted checkpoint is for another ledger")
    if not start <= trusted.size <= end:
        return  # outside the window: nothing in the proof to compare with
    tree = CompactRange(start, list(hashes))
    for raw in events[: trusted.size - start]:
        tree.append(DisclosedEvent.from_json(raw).leaf_hash())
    if tree.root() != trusted.root:
        raise RootMismatchError(
            f"the proof's tree at size {trusted.size} differs from the trusted checkpoint",
            expected=trusted.root,
            calculated=tree.root(),
        )
