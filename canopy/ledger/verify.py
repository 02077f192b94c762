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
9. index   every key-index commitment's root is the index recomputed from the
           events it covers (so keyed absence proofs rest on a correct index)

The leaf range is cut into power-of-two chunks that worker processes check in
parallel; the parent combines chunk roots into checkpoint roots.
"""

from __future__ import annotations

import itertools
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
    EventKind,
    event_signature_message,
)
from canopy.ledger.lookups import LOOKUP_FIELDS, PLAIN, RUNS, lookup_layout, merge_sources
from canopy.ledger.merkle import HASH_SIZE, CompactRange, fold_subtree, node_hash, subtree_nodes
from canopy.ledger.note import Verifier
from canopy.ledger.store import (
    Ledger,
    completing_seq,
    rebuild_leaf,
    rotation_statement,
)

__all__ = ["CHUNK", "Problem", "VerificationReport", "verify_ledger"]

CHUNK_LEVEL = 14
CHUNK = 1 << CHUNK_LEVEL
_PARALLEL_THRESHOLD = 2 * CHUNK
_KEY_ROTATION = EventKind.KEY_ROTATION.value


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

_COLUMNS = (
    "seq, ts, kind, " + ", ".join(INDEXED_FIELDS) + ", body, salt, leaf_hash, signature, nodes"
)


@dataclass
class _ChunkResult:
    start: int
    end: int
    problems: list[Problem]
    rotations: list[tuple[int, dict[str, Any]]]
    root: bytes | None
    prefix_parts: dict[int, list[bytes]]
    high_nodes: bytes  # nodes above the chunk level stored in the chunk's last row


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
    chunk_level: int = CHUNK_LEVEL,
) -> _ChunkResult:
    import nacl.bindings

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    problems: list[Problem] = []
    rotations: list[tuple[int, dict[str, Any]]] = []
    leaves: list[bytes] = []
    stored_nodes: list[bytes] = []
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
            body, salt, stored_leaf, signature, nodes = row[3 + n_idx : 8 + n_idx]
            stored_nodes.append(nodes)
            try:
                fields, leaf = rebuild_leaf(seq, row[1], row[2], row[3 : 3 + n_idx], body, salt)
            except CanopyError as e:
                problems.append(Problem("events", seq, f"stored event cannot be decoded: {e}"))
                leaf = stored_leaf
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
                    verify_sig(signature + message, _key_for(schedule, seq))
                except Exception:
                    problems.append(
                        Problem("sigs", seq, "witness signature does not verify for this content")
                    )
            if row[2] == _KEY_ROTATION:
                rotations.append((seq, dict(fields)))
            leaves.append(leaf)
        if expected < end and not any(p.step == "events" and p.seq == expected for p in problems):
            problems.append(Problem("events", expected, f"event {expected} is missing"))
        bad_leaves = {p.seq for p in problems if p.seq is not None}
        levels = [leaves]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        problems.extend(_check_stored_nodes(start, stored_nodes, levels, bad_leaves, chunk_level))
        full = len(leaves) == 1 << chunk_level
        root = levels[-1][0] if full else None
        parts: dict[int, list[bytes]] = {}
        for size in prefix_sizes:
            if start < size <= start + len(leaves):
                parts[size] = [
                    levels[level][index - (start >> level)]
                    for level, index in subtree_nodes(start, size)
                ]
        high = stored_nodes[-1][chunk_level * HASH_SIZE :] if full else b""
        return _ChunkResult(start, end, problems, rotations, root, parts, high)
    finally:
        conn.close()


def _trailing_ones(n: int) -> int:
    return (~n & (n + 1)).bit_length() - 1


def _check_stored_nodes(
    start: int,
    stored: list[bytes],
    levels: list[list[bytes]],
    bad_leaves: set[int],
    chunk_level: int,
) -> list[Problem]:
    """Each row must store exactly the nodes its leaf completed (within the chunk)."""
    problems = []
    for i, blob in enumerate(stored):
        seq = start + i
        if not seq & 1 and not blob:
            continue  # an even leaf completes no node: the common case, checked cheaply
        completed = _trailing_ones(seq)
        if len(blob) != completed * HASH_SIZE:
            problems.append(
                Problem(
                    "tree",
                    seq,
                    f"stores {len(blob) // HASH_SIZE} tree nodes, its leaf completes {completed}",
                )
            )
            continue
        for level in range(1, min(completed, chunk_level) + 1):
            index = ((seq + 1) >> level) - 1
            covers = range(index << level, (index + 1) << level)
            expected = levels[level][index - (start >> level)]
            got = blob[(level - 1) * HASH_SIZE : level * HASH_SIZE]
            if got != expected and not any(s in covers for s in bad_leaves):
                problems.append(
                    Problem(
                        "tree", seq, f"stored tree node (level {level}, index {index}) is wrong"
                    )
                )
                break
    return problems


def _run_chunk(args: tuple[Any, ...]) -> _ChunkResult:
    return _check_chunk(*args)


# --- the parent ---------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    trusted_keys: Sequence[Verifier]
    trusted_note: str | None
    check_signatures: bool
    workers: int | None
    progress: Callable[[int, int], None] | None
    chunk_level: int


def verify_ledger(
    path: str | os.PathLike[str],
    *,
    trusted_keys: Sequence[Verifier] = (),
    trusted_checkpoint: str | None = None,
    check_signatures: bool = True,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk_level: int = CHUNK_LEVEL,
) -> VerificationReport:
    """Verify the ledger at ``path``. Never raises for bad evidence: see ``problems``.

    ``workers`` processes check chunks of ``2**chunk_level`` events (default:
    one per core for ledgers of two chunks or more). Raises ``NotALedgerError``
    when the file cannot be opened as a ledger.
    """
    options = _Options(
        trusted_keys, trusted_checkpoint, check_signatures, workers, progress, chunk_level
    )
    ledger = Ledger(path, read_only=True)
    report = VerificationReport(str(ledger.path), origin=ledger.origin)
    report.signatures_checked = check_signatures
    try:
        _verify(ledger, report, options)
    finally:
        ledger.close()
    return report


def _verify(ledger: Ledger, report: VerificationReport, options: _Options) -> None:
    trusted_keys, trusted_note = options.trusted_keys, options.trusted_note
    chunk_level, chunk = options.chunk_level, 1 << options.chunk_level
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
            min(start + chunk, size),
            key_bytes,
            options.check_signatures,
            [s for s in sizes if start < s <= start + chunk],
            chunk_level,
        )
        for start in range(0, size, chunk)
    ]
    roots = _combine(jobs, size, problems, options)
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

    # 9. key-index commitments
    _check_index_commitments(ledger, problems)

    # 10. lookups (derived data: a gap would hide events from forensic lookups)
    _check_lookups(ledger, size, problems)


_REINDEX_HINT = " (derived data: `canopy reindex` rebuilds it from the events)"


def _check_lookups(ledger: Ledger, size: int, problems: list[Problem]) -> None:
    """Step 10, with the remedy named in whatever it reports."""
    found: list[Problem] = []
    _check_lookup_index(ledger, size, found)
    problems += [Problem(p.step, p.seq, p.message + _REINDEX_HINT) for p in found]


def _check_lookup_index(ledger: Ledger, size: int, problems: list[Problem]) -> None:
    """The lookup index must stay within the ledger and hold one row per key of
    every event below its progress mark: the base for the events below the
    first run, the live runs (consecutive, from there to the mark) for the rest.
    Counted, not compared row by row: a deleted or added row shows; so does a
    lowered or raised progress mark, a dropped, overlapping or orphaned run."""
    conn = ledger._conn
    layout = lookup_layout(conn)
    if layout == PLAIN:
        return
    row = conn.execute("SELECT indexed_size FROM lookup_progress").fetchone()
    if row is None or not 0 <= row[0] <= size:
        problems.append(
            Problem("lookups", None, f"lookup progress {row and row[0]} is outside the ledger")
        )
        return
    indexed = row[0]
    runs = []
    if layout == RUNS:
        runs = conn.execute(
            "SELECT run, from_seq, to_seq FROM lookup_run_list ORDER BY from_seq"
        ).fetchall()
    base_end = runs[0][1] if runs else indexed
    ranges = [("lookup base", 0, base_end)]
    ranges += [(f"lookup run {run}", start, end) for run, start, end in runs]
    for (_, _, end), (name, start, _) in itertools.pairwise(ranges):
        if start != end:
            problems.append(
                Problem(
                    "lookups",
                    None,
                    f"{name} starts at {start}, not at {end}: runs overlap or miss events",
                )
            )
            return
    if ranges[-1][2] != indexed:
        problems.append(
            Problem(
                "lookups",
                None,
                f"lookup runs end at {ranges[-1][2]}, the progress mark is {indexed}",
            )
        )
        return
    columns = " + ".join(f"count({name})" for name in LOOKUP_FIELDS)
    keys_in = f"SELECT {columns} FROM events WHERE seq >= ? AND seq < ?"
    stored_base = conn.execute("SELECT count(*) FROM lookup_keys").fetchone()[0]
    counts = [("base", stored_base, conn.execute(keys_in, (0, base_end)).fetchone()[0])]
    if layout == RUNS:
        live = conn.execute(
            "SELECT count(*) FROM lookup_runs WHERE run IN (SELECT run FROM lookup_run_list)"
        ).fetchone()[0]
        counts.append(("runs", live, conn.execute(keys_in, (base_end, indexed)).fetchone()[0]))
        counts += _merge_counts(conn, {run for run, _, _ in runs})
        total = conn.execute("SELECT count(*) FROM lookup_runs").fetchone()[0]
        counts.append(("rows outside listed runs", total - live, sum(c[1] for c in counts[2:])))
    for name, stored, expected in counts:
        if stored != expected:
            problems.append(
                Problem(
                    "lookups",
                    None,
                    f"lookup {name} holds {stored} keys, the events it covers have "
                    f"{expected}: lookups would miss or invent events",
                )
            )
            return


def _merge_counts(conn: sqlite3.Connection, listed: set[int]) -> list[tuple[str, int, int]]:
    """(name, stored, expected) for each merge under way: the run it builds holds
    exactly its sources' keys up to its last copied key (a run invented or
    padded there would be listed, and read, once the merge completes)."""
    counts = []
    merges = conn.execute("SELECT run, sources, field, value, seq FROM lookup_merges").fetchall()
    for run, sources, *last in merges:
        numbers = merge_sources(sources)
        if not numbers or not set(numbers) <= listed:
            counts.append((f"merge into run {run} (sources {sources})", -1, 0))
            continue
        marks = ", ".join("?" * len(numbers))
        built = conn.execute("SELECT count(*) FROM lookup_runs WHERE run = ?", (run,)).fetchone()
        expected = 0
        if last[0] is not None:
            expected = conn.execute(
                f"SELECT count(*) FROM lookup_runs WHERE run IN ({marks}) "
                "AND (field, value, seq) <= (?, ?, ?)",
                (*numbers, *last),
            ).fetchone()[0]
        counts.append((f"merge into run {run}", built[0], expected))
    return counts


def _check_index_commitments(ledger: Ledger, problems: list[Problem]) -> None:
    """Recompute every committed key index (all its runs) from the events it covers."""
    from canopy.errors import MalformedProofError
    from canopy.ledger import keyindex

    commitments = []
    for event in ledger.events_of_kind("index_commitment"):
        try:
            size = int(event.fields["index_size"])
            runs = keyindex.parse_runs(event.fields["index_runs"])
            fmt = event.fields["index_format"]
        except (KeyError, TypeError, ValueError, MalformedProofError):
            problems.append(Problem("index", event.seq, "malformed index commitment"))
            return
        if fmt != keyindex.INDEX_FORMAT or size > event.seq:
            problems.append(Problem("index", event.seq, f"index over {size} events is impossible"))
            return
        commitments.append((event.seq, size, runs))
    try:
        expected = keyindex.replay_commitments(ledger._conn, [(s, n) for s, n, _ in commitments])
    except MalformedProofError as e:
        problems.append(Problem("index", None, str(e)))
        return
    for (seq, _size, runs), recomputed in zip(commitments, expected, strict=True):
        if runs != recomputed:
            problems.append(Problem("index", seq, "committed key index differs from the events"))


def _verifier_for(schedule: Sequence[tuple[int, Verifier]], size: int) -> Verifier:
    """A checkpoint of ``size`` is signed by the newest key whose first seq <= size."""
    key = schedule[0][1]
    for from_seq, verifier in schedule:
        if from_seq <= size:
            key = verifier
    return key


def _combine(
    jobs: list[tuple[Any, ...]], size: int, problems: list[Problem], options: _Options
) -> dict[Any, Any]:
    """Run chunk checks and turn chunk roots into the roots at requested sizes."""
    roots: dict[Any, Any] = {}
    rotations: list[tuple[int, dict[str, Any]]] = []
    chunk_tree = CompactRange()
    done = 0
    workers = options.workers or os.cpu_count() or 1
    parallel = len(jobs) > 1 and workers > 1
    if options.workers is None:
        parallel = parallel and size >= _PARALLEL_THRESHOLD
    pool = ProcessPoolExecutor(max_workers=workers) if parallel else None
    results = pool.map(_run_chunk, jobs) if pool else map(_run_chunk, jobs)
    try:
        for result in results:
            problems.extend(result.problems)
            rotations.extend(result.rotations)
            for prefix, parts in result.prefix_parts.items():
                roots[prefix] = fold_subtree(chunk_tree.hashes + parts)
            if result.root is not None:
                for (level, index), h in chunk_tree.append(result.root):
                    node = (level + options.chunk_level, index)
                    got = result.high_nodes[(level - 1) * HASH_SIZE : level * HASH_SIZE]
                    if got != h:
                        problems.append(
                            Problem(
                                "tree",
                                completing_seq(node),
                                f"stored tree node {node} is wrong or missing",
                            )
                        )
            done += result.end - result.start
            if options.progress:
                options.progress(done, size)
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
