"""Verify a whole ledger: every leaf, signature, tree node, checkpoint and key.

Steps (the report names the first that fails, with the sequence number):

1. open    the file is a Canopy ledger of a known schema version
2. keys    the key schedule starts at the genesis key and matches the trust anchor
3. events  sequence numbers are contiguous; each event's stored fields, indexed
           columns and salt rebuild exactly the leaf that was hashed
4. sigs    each event's witness signature verifies under the key in force
5. tree    every stored tree node equals the node recomputed from the leaves
6. rotations  every key change is a key_rotation event signed by the old key
7. checkpoints  each stored checkpoint is signed by the key in force and its
           root equals the recomputed root at its size
8. trusted an external checkpoint (kept off this machine) is signed by a trusted
           key and the ledger still contains exactly that tree as a prefix

The leaf range is cut into power-of-two chunks that worker processes check in
parallel; the parent combines chunk roots into checkpoint roots.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from canopy.errors import CanopyError, VerificationError
from canopy.ledger.checkpoint import SignedCheckpoint
from canopy.ledger.events import (
    INDEXED_FIELDS,
    Event,
    EventKind,
    event_signature_message,
)
from canopy.ledger.merkle import CompactRange, fold_subtree, node_hash, subtree_nodes
from canopy.ledger.note import Verifier
from canopy.ledger.store import Ledger, fields_from_storage, node_key, rotation_statement

__all__ = ["CHUNK", "Problem", "VerificationReport", "verify_ledger"]

CHUNK_LEVEL = 14
CHUNK = 1 << CHUNK_LEVEL
_PARALLEL_THRESHOLD = 2 * CHUNK


@dataclass(frozen=True)
class Problem:
    step: str
    seq: int | None
    message: str

    def __str__(self) -> str:
        where = f"event {self.seq}: " if self.seq is not None else ""
        return f"[{self.step}] {where}{self.message}"


@dataclass
class VerificationReport:
    path: str
    origin: str = ""
    size: int = 0
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    signatures_checked: bool = True
    trust_anchor: str = "self-declared key (no --public-key given)"
    trusted_checkpoint: int | None = None
    keys: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsealed(self) -> int:
        return self.size - (self.latest_checkpoint or 0)

    @property
    def first_problem(self) -> Problem | None:
        with_seq = [p for p in self.problems if p.seq is not None]
        if with_seq:
            return min(with_seq, key=lambda p: p.seq or 0)
        return self.problems[0] if self.problems else None

    def to_json(self) -> dict[str, Any]:
        first = self.first_problem
        return {
            "ledger": self.path,
            "valid": self.ok,
            "origin": self.origin,
            "size": self.size,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "unsealed_events": self.unsealed,
            "signatures_checked": self.signatures_checked,
            "trust_anchor": self.trust_anchor,
            "trusted_checkpoint": self.trusted_checkpoint,
            "keys": self.keys,
            "first_problem": None
            if first is None
            else {"step": first.step, "seq": first.seq, "message": first.message},
            "problems": [
                {"step": p.step, "seq": p.seq, "message": p.message} for p in self.problems
            ],
        }


# --- chunk worker (runs in a subprocess) ------------------------------------

_COLUMNS = "seq, ts, kind, " + ", ".join(INDEXED_FIELDS) + ", body, salt, leaf_hash, signature"


@dataclass
class _ChunkResult:
    start: int
    end: int
    problems: list[Problem]
    rotations: list[tuple[int, dict[str, Any]]]
    root: bytes | None
    prefix_parts: dict[int, list[bytes]]


def _key_for(schedule: Sequence[tuple[int, bytes]], seq: int) -> bytes:
    key = schedule[0][1]
    for from_seq, public in schedule:
        if from_seq <= seq:
            key = public
        else:
            break
    return key


def _check_chunk(
    path: str,
    origin: str,
    start: int,
    end: int,
    schedule: Sequence[tuple[int, bytes]],
    check_signatures: bool,
    prefix_sizes: Sequence[int],
) -> _ChunkResult:
    import nacl.bindings

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    problems: list[Problem] = []
    rotations: list[tuple[int, dict[str, Any]]] = []
    leaves: list[bytes] = []
    n_idx = len(INDEXED_FIELDS)
    verify_sig = nacl.bindings.crypto_sign_open
    try:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE seq >= ? AND seq < ? ORDER BY seq", (start, end)
        )
        expected = start
        for row in rows:
            seq = row[0]
            if seq != expected:
                problems.append(Problem("events", expected, f"event {expected} is missing"))
                break
            expected += 1
            body, salt, stored_leaf, signature = row[3 + n_idx : 7 + n_idx]
            try:
                fields = fields_from_storage(
                    dict(zip(INDEXED_FIELDS, row[3 : 3 + n_idx], strict=True)), body
                )
                leaf = Event(seq, row[1], row[2], fields, bytes(salt)).leaf_hash()
            except CanopyError as e:
                problems.append(Problem("events", seq, f"stored event cannot be decoded: {e}"))
                leaf = bytes(stored_leaf)
                fields = {}
            if leaf != stored_leaf:
                problems.append(
                    Problem(
                        "events",
                        seq,
                        "stored fields or indexed columns do not rebuild the signed leaf "
                        "(the event was edited)",
                    )
                )
            if check_signatures:
                message = event_signature_message(origin, seq, leaf)
                try:
                    verify_sig(bytes(signature) + message, _key_for(schedule, seq))
                except Exception:
                    problems.append(
                        Problem("sigs", seq, "witness signature does not verify for this content")
                    )
            if row[2] == EventKind.KEY_ROTATION:
                rotations.append((seq, dict(fields)))
            leaves.append(leaf)
        if expected < end and not any(p.step == "events" and p.seq == expected for p in problems):
            problems.append(Problem("events", expected, f"event {expected} is missing"))
        bad_leaves = {p.seq for p in problems if p.seq is not None}
        levels = [leaves]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
            level = len(levels) - 1
            first = start >> level
            lo, hi = node_key((level, first)), node_key((level, first + len(levels[-1])))
            stored = dict(
                conn.execute("SELECT id, hash FROM tree_nodes WHERE id >= ? AND id < ?", (lo, hi))
            )
            for i, h in enumerate(levels[-1]):
                key = node_key((level, first + i))
                covers = range((first + i) << level, (first + i + 1) << level)
                if stored.get(key) != h and not any(s in covers for s in bad_leaves):
                    problems.append(
                        Problem(
                            "tree",
                            ((first + i) << level),
                            f"stored tree node (level {level}, index {first + i}) is "
                            + ("missing" if key not in stored else "wrong"),
                        )
                    )
                    break
        full = len(leaves) == CHUNK
        root = levels[-1][0] if full else None
        parts: dict[int, list[bytes]] = {}
        for size in prefix_sizes:
            if start < size <= start + len(leaves):
                parts[size] = [
                    levels[level][index - (start >> level)]
                    for level, index in subtree_nodes(start, size)
                ]
        return _ChunkResult(start, end, problems, rotations, root, parts)
    finally:
        conn.close()


def _run_chunk(args: tuple[Any, ...]) -> _ChunkResult:
    return _check_chunk(*args)


# --- the parent ---------------------------------------------------------------


def verify_ledger(
    path: str | os.PathLike[str],
    *,
    trusted_keys: Sequence[Verifier] = (),
    trusted_checkpoint: str | None = None,
    check_signatures: bool = True,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerificationReport:
    """Verify the ledger at ``path``. Never raises for bad evidence: see ``problems``.

    Raises ``NotALedgerError`` when the file cannot be opened as a ledger.
    """
    ledger = Ledger(path, read_only=True)
    report = VerificationReport(str(ledger.path), origin=ledger.origin)
    report.signatures_checked = check_signatures
    try:
        _verify(
            ledger, report, trusted_keys, trusted_checkpoint, check_signatures, workers, progress
        )
    finally:
        ledger.close()
    return report


def _verify(
    ledger: Ledger,
    report: VerificationReport,
    trusted_keys: Sequence[Verifier],
    trusted_note: str | None,
    check_signatures: bool,
    workers: int | None,
    progress: Callable[[int, int], None] | None,
) -> None:
    conn = ledger._conn
    problems = report.problems
    size = ledger.size()
    report.size = size
    count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    if count != size:
        problems.append(Problem("events", None, f"{size - count} events are missing"))

    # 2. keys
    schedule = ledger.key_schedule()
    report.keys = [v.vkey for _, v in schedule]
    if not schedule or schedule[0][0] != 0:
        problems.append(Problem("keys", None, "the key schedule does not start at event 0"))
        return
    if schedule[0][1].vkey != ledger.meta["genesis_vkey"]:
        problems.append(Problem("keys", None, "the first signing key is not the genesis key"))
    if trusted_keys:
        known = {v.vkey for _, v in schedule}
        given = [k.vkey for k in trusted_keys]
        if schedule[0][1].vkey in given:
            report.trust_anchor = f"genesis key {schedule[0][1].key_id} (given)"
        elif known & set(given):
            report.trust_anchor = "a later key of this ledger (given); earlier keys not vouched"
        else:
            problems.append(
                Problem("keys", None, "the ledger is not signed by any of the given public keys")
            )
            return

    # 3-5. events, signatures, tree (in parallel chunks)
    stored_checkpoints = ledger.checkpoints()
    report.checkpoints = len(stored_checkpoints)
    report.latest_checkpoint = stored_checkpoints[-1].size if stored_checkpoints else None
    trusted: SignedCheckpoint | None = None
    if trusted_note is not None:
        anchor_keys = list(trusted_keys) or [v for _, v in schedule]
        try:
            trusted = SignedCheckpoint.open(trusted_note, anchor_keys)
        except VerificationError as e:
            problems.append(Problem("trusted", None, f"trusted checkpoint rejected: {e}"))
        except CanopyError as e:
            problems.append(Problem("trusted", None, f"trusted checkpoint is malformed: {e}"))
        if trusted is not None:
            report.trusted_checkpoint = trusted.size
            if trusted.origin != ledger.origin:
                problems.append(
                    Problem(
                        "trusted",
                        None,
                        f"trusted checkpoint is for ledger {trusted.origin}, "
                        f"this ledger is {ledger.origin} (replaced or re-created)",
                    )
                )
            if trusted.size > size:
                problems.append(
                    Problem(
                        "trusted",
                        size,
                        f"ledger truncated: trusted checkpoint covers "
                        f"{trusted.size} events, the ledger has {size}",
                    )
                )
    sizes = sorted(
        {c.size for c in stored_checkpoints if 0 < c.size <= size}
        | ({trusted.size} if trusted and 0 < trusted.size <= size else set())
        | ({size} if size else set())
    )
    key_bytes = [(seq, v.public_key) for seq, v in schedule]
    jobs = [
        (
            str(ledger.path),
            ledger.origin,
            start,
            min(start + CHUNK, size),
            key_bytes,
            check_signatures,
            [s for s in sizes if start < s <= start + CHUNK],
        )
        for start in range(0, size, CHUNK)
    ]
    roots = _combine(jobs, workers, size, progress, problems, ledger)
    rotations = roots.pop("rotations")

    # 6. rotations
    _check_rotations(ledger, schedule, rotations, problems)

    # 7. stored checkpoints
    for signed in stored_checkpoints:
        key = _verifier_for(schedule, signed.size)
        try:
            reopened = SignedCheckpoint.open(signed.note, [key])
        except CanopyError as e:
            problems.append(Problem("checkpoints", None, f"checkpoint {signed.size}: {e}"))
            continue
        if reopened.origin != ledger.origin:
            problems.append(
                Problem(
                    "checkpoints", None, f"checkpoint {signed.size} has origin {reopened.origin}"
                )
            )
        if reopened.size > size:
            problems.append(
                Problem(
                    "checkpoints",
                    size,
                    f"checkpoint covers {reopened.size} "
                    f"events but the ledger has {size} (events were removed)",
                )
            )
        elif reopened.size and roots.get(reopened.size) != reopened.root:
            problems.append(
                Problem(
                    "checkpoints",
                    reopened.size - 1,
                    f"checkpoint {reopened.size} root differs from the recomputed tree",
                )
            )
        stored_root = conn.execute(
            "SELECT root FROM checkpoints WHERE size = ?", (signed.size,)
        ).fetchone()[0]
        if stored_root != reopened.root:
            problems.append(
                Problem(
                    "checkpoints",
                    None,
                    f"checkpoint {signed.size}: root column disagrees with the signed note",
                )
            )

    # 8. trusted checkpoint
    if (
        trusted is not None
        and 0 < trusted.size <= size
        and trusted.origin == ledger.origin
        and roots.get(trusted.size) != trusted.root
    ):
        problems.append(
            Problem(
                "trusted",
                trusted.size - 1,
                f"ledger rewritten: its first {trusted.size} events no "
                "longer hash to the trusted checkpoint's root",
            )
        )

    n_nodes = conn.execute("SELECT count(*) FROM tree_nodes").fetchone()[0]
    expected_nodes = size - size.bit_count()
    if n_nodes != expected_nodes:
        problems.append(
            Problem("tree", None, f"{n_nodes} stored tree nodes, expected {expected_nodes}")
        )


def _verifier_for(schedule: Sequence[tuple[int, Verifier]], size: int) -> Verifier:
    """A checkpoint of ``size`` is signed by the newest key whose first seq <= size."""
    key = schedule[0][1]
    for from_seq, verifier in schedule:
        if from_seq <= size:
            key = verifier
    return key


def _combine(
    jobs: list[tuple[Any, ...]],
    workers: int | None,
    size: int,
    progress: Callable[[int, int], None] | None,
    problems: list[Problem],
    ledger: Ledger,
) -> dict[Any, Any]:
    """Run chunk checks and turn chunk roots into the roots at requested sizes."""
    roots: dict[Any, Any] = {}
    rotations: list[tuple[int, dict[str, Any]]] = []
    chunk_tree = CompactRange()
    done = 0
    if size >= _PARALLEL_THRESHOLD and (workers is None or workers > 1):
        pool = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        results = pool.map(_run_chunk, jobs)
    else:
        pool = None
        results = map(_run_chunk, jobs)
    try:
        for result in results:
            problems.extend(result.problems)
            rotations.extend(result.rotations)
            for prefix, parts in result.prefix_parts.items():
                roots[prefix] = fold_subtree(chunk_tree.hashes + parts)
            if result.root is not None:
                for (level, index), h in chunk_tree.append(result.root):
                    node = (level + CHUNK_LEVEL, index)
                    if ledger.stored_node(node) != h:
                        problems.append(
                            Problem(
                                "tree",
                                index << node[0],
                                f"stored tree node {node} is wrong or missing",
                            )
                        )
            done += result.end - result.start
            if progress:
                progress(done, size)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    roots["rotations"] = rotations
    return roots


def _check_rotations(
    ledger: Ledger,
    schedule: Sequence[tuple[int, Verifier]],
    rotations: list[tuple[int, dict[str, Any]]],
    problems: list[Problem],
) -> None:
    changes = {from_seq: v for from_seq, v in schedule[1:]}
    seen = set()
    for seq, fields in rotations:
        new = changes.get(seq + 1)
        old = _verifier_for(schedule, seq)
        if new is None:
            problems.append(Problem("rotations", seq, "key_rotation event without a key change"))
            continue
        seen.add(seq + 1)
        if fields.get("old_vkey") != old.vkey or fields.get("new_vkey") != new.vkey:
            problems.append(Problem("rotations", seq, "key_rotation event names other keys"))
            continue
        try:
            signature = bytes.fromhex(str(fields.get("new_key_signature", "")))
        except ValueError:
            signature = b""
        if not new.verify(rotation_statement(ledger.origin, old.vkey, new.vkey), signature):
            problems.append(Problem("rotations", seq, "new key did not sign the rotation"))
    for from_seq in sorted(set(changes) - seen):
        problems.append(Problem("rotations", from_seq, "key change without a key_rotation event"))
