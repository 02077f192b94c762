"""Verify a whole ledger: every leaf, signature, tree node, checkpoint and key.

Steps (the report names the first that fails, with the sequence number):

1. open    the file is a Canopy ledger of a known schema version
   schema  the file defines exactly Canopy's tables, indexes and triggers (no
           view, trigger, collation or index that changes what readers see),
           and its SQL indexes agree with the rows they index
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
10. lookups the lookup index holds exactly the keys of the events it covers
    file   SQLite could not read what is stored (a damaged or foreign file)

The parent reads everything it checks in one snapshot, so a ledger that is
being appended to verifies as it was when verification began. The leaf range
is cut into power-of-two chunks that worker processes check in parallel; the
parent combines chunk roots into checkpoint roots. Later steps use only
content whose leaf (and signature) verified.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from canopy.errors import CanopyError, LedgerError, VerificationError
from canopy.ledger import fileschema, lookups
from canopy.ledger.checkpoint import Checkpoint, SignedCheckpoint
from canopy.ledger.events import (
    INDEXED_FIELDS,
    EventKind,
    event_signature_message,
)
from canopy.ledger.lookups import LOOKUP_FIELDS, PLAIN, RUNS, lookup_layout, merge_sources
from canopy.ledger.merkle import HASH_SIZE, CompactRange, fold_subtree, node_hash, subtree_nodes
from canopy.ledger.note import Verifier
from canopy.ledger.store import (
    _INDEXED_KINDS,
    SCHEMA_VERSION,
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
_INDEX_COMMITMENT = "index_commitment"
#: What rebuilding a leaf from edited storage can raise besides CanopyError:
#: values of the wrong SQLite type, text that is not UTF-8, absurd nesting.
_DAMAGE = (CanopyError, TypeError, ValueError, OverflowError, RecursionError)
#: Stand-in leaf for a row whose stored leaf hash is not even a hash.
_NO_LEAF = bytes(HASH_SIZE)
#: Rows fetched at a time by a chunk worker.
_ROW_BATCH = 512


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
    #: Worth knowing, not evidence of tampering (e.g. dropped append-only triggers).
    warnings: list[str] = field(default_factory=list)

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
            "warnings": self.warnings,
        }


# --- chunk worker (runs in a subprocess) ------------------------------------

_COLUMNS = (
    "seq, ts, kind, " + ", ".join(INDEXED_FIELDS) + ", body, salt, leaf_hash, signature, nodes"
)
#: The same row with every text column as bytes: for a row whose text is not UTF-8.
_RAW_COLUMNS = (
    "seq, "
    + ", ".join(f"CAST({name} AS BLOB)" for name in ("ts", "kind", *INDEXED_FIELDS, "body"))
    + ", salt, leaf_hash, signature, nodes"
)


@dataclass(frozen=True)
class _Job:
    """One chunk of events for a worker, and what it needs to check them."""

    path: str
    origin: str
    start: int
    end: int
    schedule: Sequence[tuple[int, bytes]]
    check_signatures: bool
    prefix_sizes: Sequence[int]
    chunk_level: int
    lookup_layout: str
    lookup_bound: int | None  # events below it are in the lookup index (None: unchecked)


@dataclass
class _ChunkResult:
    start: int
    end: int
    problems: list[Problem]
    rotations: list[tuple[int, dict[str, Any]]]  # authenticated key_rotation events
    commitments: list[tuple[int, dict[str, Any]]]  # authenticated index commitments
    kinds: dict[str, list[int]]  # seqs of the kinds that have a kind index
    root: bytes | None
    prefix_parts: dict[int, list[bytes]]
    high_nodes: bytes  # nodes above the chunk level stored in the chunk's last row
    rows: int = 0
    held_keys: int | None = 0  # lookup keys found where lookups read them (None: unreadable)
    keys: int = 0  # lookup keys the events below the lookup progress mark have


def _key_for(schedule: Sequence[tuple[int, bytes]], seq: int) -> bytes:
    key = schedule[0][1]
    for from_seq, public in schedule:
        if from_seq <= seq:
            key = public
        else:
            break
    return key


def _event_rows(
    conn: sqlite3.Connection, start: int, end: int, problems: list[Problem]
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of events ``[start, end)`` in order, in batches (a generator step per
    row costs more than its leaf's SHA-256s). SQLite cannot hand over text
    that is not UTF-8: such a row is reported and comes back with its text
    columns as bytes, so its leaf fails to rebuild like any other damage."""
    query = "FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq"  # end - 1 fits in SQLite
    cursor = conn.execute(f"SELECT {_COLUMNS} {query}", (start, end - 1))
    position = start
    try:
        while batch := cursor.fetchmany(_ROW_BATCH):
            position = batch[-1][0] + 1
            yield batch
        return
    except sqlite3.OperationalError:
        pass  # a row that cannot be read: go on row by row from the last batch
    while position < end:
        cursor = conn.execute(f"SELECT {_COLUMNS} {query}", (position, end - 1))
        try:
            for row in cursor:
                position = row[0] + 1
                yield [row]
            return
        except sqlite3.OperationalError as e:
            raw = conn.execute(f"SELECT {_RAW_COLUMNS} {query} LIMIT 1", (position, end - 1))
            row = raw.fetchone()
            if row is None:
                raise
            problems.append(Problem("events", row[0], f"stored event is unreadable: {e}"))
            position = row[0] + 1
            yield [row]


def _check_chunk(job: _Job) -> _ChunkResult:
    import nacl.bindings

    conn = sqlite3.connect(f"file:{job.path}?mode=ro", uri=True, isolation_level=None)
    start, end, chunk_level = job.start, job.end, job.chunk_level
    problems: list[Problem] = []
    rotations: list[tuple[int, dict[str, Any]]] = []
    commitments: list[tuple[int, dict[str, Any]]] = []
    kinds: dict[str, list[int]] = {}
    leaves: list[bytes] = []
    stored_nodes: list[bytes] = []
    n_idx = len(INDEXED_FIELDS)
    verify_sig = nacl.bindings.crypto_sign_open
    schedule, origin, check_signatures = job.schedule, job.origin, job.check_signatures
    lookup_columns = [3 + INDEXED_FIELDS.index(name) for name in LOOKUP_FIELDS]
    key_bound = start if job.lookup_bound is None else min(end, job.lookup_bound)
    keys = 0  # lookup keys of the events below key_bound (what the index must hold)
    try:
        conn.execute("BEGIN")  # one snapshot: the lookup runs are read together
        expected = start
        for batch in _event_rows(conn, start, end, problems):
            if batch[-1][0] < key_bound:
                keys += sum(row[i] is not None for row in batch for i in lookup_columns)
            elif batch[0][0] < key_bound:
                below = [row for row in batch if row[0] < key_bound]
                keys += sum(row[i] is not None for row in below for i in lookup_columns)
            for row in batch:
                seq = row[0]
                if seq != expected:
                    problems.append(Problem("events", expected, f"event {expected} is missing"))
                    break
                expected += 1
                body, salt, stored_leaf, signature, nodes = row[3 + n_idx : 8 + n_idx]
                if type(nodes) is not bytes:
                    problems.append(Problem("tree", seq, "tree nodes are not stored as a blob"))
                    nodes = b""
                stored_nodes.append(nodes)
                authentic = True
                try:
                    fields, leaf = rebuild_leaf(seq, row[1], row[2], row[3 : 3 + n_idx], body, salt)
                except _DAMAGE as e:
                    problems.append(Problem("events", seq, f"stored event cannot be decoded: {e}"))
                    stored_ok = type(stored_leaf) is bytes and len(stored_leaf) == HASH_SIZE
                    leaf = stored_leaf if stored_ok else _NO_LEAF
                    fields = {}
                    authentic = False
                if leaf != stored_leaf:
                    authentic = False
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
                        authentic = False
                        problems.append(
                            Problem(
                                "sigs", seq, "witness signature does not verify for this content"
                            )
                        )
                kind = row[2]
                if kind in _INDEXED_KINDS:
                    kinds.setdefault(kind, []).append(seq)
                if authentic and kind == _KEY_ROTATION:
                    rotations.append((seq, dict(fields)))
                elif authentic and kind == _INDEX_COMMITMENT:
                    commitments.append((seq, dict(fields)))
                leaves.append(leaf)
            else:
                continue
            break  # a gap: the rest of the chunk is not checked against this one
        if expected < end and not any(p.step == "events" and p.seq == expected for p in problems):
            problems.append(Problem("events", expected, f"event {expected} is missing"))
        held = _held_keys(conn, job)
        bad_leaves = {p.seq for p in problems if p.seq is not None}
        levels = [leaves]
        while len(levels[-1]) > 1:
            below = levels[-1]
            levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
        problems.extend(_check_stored_nodes(start, stored_nodes, levels, bad_leaves, chunk_level))
        full = len(leaves) == 1 << chunk_level
        root = levels[-1][0] if full else None
        parts: dict[int, list[bytes]] = {}
        for size in job.prefix_sizes:
            if start < size <= start + len(leaves):
                parts[size] = [
                    levels[level][index - (start >> level)]
                    for level, index in subtree_nodes(start, size)
                ]
        high = stored_nodes[-1][chunk_level * HASH_SIZE :] if full else b""
        return _ChunkResult(
            start,
            end,
            problems,
            rotations,
            commitments,
            kinds,
            root,
            parts,
            high,
            len(leaves),
            held,
            keys,
        )
    finally:
        conn.close()


def _held_keys(conn: sqlite3.Connection, job: _Job) -> int | None:
    """Lookup keys of this chunk's indexed events found where lookups read them."""
    if job.lookup_bound is None:
        return 0
    try:
        return lookups.held_keys(conn, job.lookup_layout, job.start, min(job.end, job.lookup_bound))
    except sqlite3.Error:
        return None


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


# --- the parent ---------------------------------------------------------------


@dataclass(frozen=True)
class _Options:
    trusted_keys: Sequence[Verifier]
    trusted_note: str | None
    check_signatures: bool
    workers: int | None
    progress: Callable[[int, int], None] | None
    chunk_level: int


@dataclass(frozen=True)
class _StoredCheckpoint:
    """A checkpoints row whose note parses (its signature is checked later)."""

    row_size: int
    row_root: Any
    note: str
    checkpoint: Checkpoint


@dataclass
class _Combined:
    """What the chunk checks add up to."""

    roots: dict[int, bytes] = field(default_factory=dict)
    rotations: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    commitments: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    kinds: dict[str, list[int]] = field(default_factory=dict)
    rows: int = 0
    held_keys: int | None = 0
    keys: int = 0


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
        ledger._conn.execute("BEGIN")  # one snapshot for everything the parent reads
        _verify(ledger, report, options)
    except sqlite3.DatabaseError as e:
        if _environmental(e):
            raise LedgerError(f"cannot read {ledger.path} now: {e}") from e
        report.problems.append(
            Problem(
                "file",
                None,
                f"SQLite cannot read what the file stores ({e}): damaged, or edited outside Canopy",
            )
        )
    finally:
        _end_snapshot(ledger._conn)
        ledger.close()
    return report


#: SQLITE_BUSY, SQLITE_LOCKED, SQLITE_IOERR, SQLITE_CANTOPEN: the machine, not the file's content.
_ENVIRONMENTAL_CODES = frozenset({5, 6, 10, 14})


def _environmental(error: sqlite3.DatabaseError) -> bool:
    """A lock or an I/O failure says nothing about tampering: an error, not a problem."""
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _ENVIRONMENTAL_CODES


def _end_snapshot(conn: sqlite3.Connection) -> None:
    """End the parent's read transaction (nothing was written: roll it back)."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # a failed read may have ended it already


def _verify(ledger: Ledger, report: VerificationReport, options: _Options) -> None:
    conn = ledger._conn
    problems = report.problems

    # 1. open, schema
    if not _check_schema(conn, report):
        return
    _check_meta(ledger.meta, problems)
    size = _check_seq_range(conn, problems)
    report.size = size

    # 2. keys
    schedule = _read_schedule(conn, problems)
    if schedule is None:
        return
    report.keys = [v.vkey for _, v in schedule]
    if not _check_keys(ledger, schedule, options.trusted_keys, report):
        return

    # 3-5. events, signatures, tree (in parallel chunks); checkpoints parsed first
    stored_checkpoints = _read_checkpoints(conn, problems)
    report.checkpoints = len(stored_checkpoints)
    report.latest_checkpoint = max((c.checkpoint.size for c in stored_checkpoints), default=None)
    trusted = _open_trusted(ledger, schedule, size, options, report)
    sizes = sorted(
        {c.checkpoint.size for c in stored_checkpoints if 0 < c.checkpoint.size <= size}
        | ({trusted.size} if trusted and 0 < trusted.size <= size else set())
        | ({size} if size else set())
    )
    jobs = _jobs(ledger, conn, size, schedule, sizes, options, problems)
    combined = _combine(jobs, size, problems, options)
    missing = size - combined.rows
    if missing > 0:
        problems.append(Problem("events", None, f"{missing} events are missing"))
    else:  # every row was read: the kind indexes can be compared with them
        _check_sql_indexes(conn, combined.kinds, problems)

    # 6. rotations
    _check_rotations(ledger, schedule, combined.rotations, problems)

    # 7. stored checkpoints
    for stored in stored_checkpoints:
        _check_stored_checkpoint(conn, ledger.origin, schedule, stored, size, combined, problems)

    # 8. trusted checkpoint
    if (
        trusted is not None
        and 0 < trusted.size <= size
        and trusted.origin == ledger.origin
        and combined.roots.get(trusted.size) != trusted.root
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
    _check_index_commitments(conn, combined.commitments, problems)

    # 10. lookups (derived data: a gap would hide events from forensic lookups)
    keys = combined.keys if missing <= 0 else None  # every row read: the workers counted
    _check_lookups(ledger, size, combined.held_keys, keys, problems)


def _check_schema(conn: sqlite3.Connection, report: VerificationReport) -> bool:
    """Step 1 (schema); False when the core tables are not Canopy's, since
    nothing read through them could be trusted."""
    findings = fileschema.check_file_schema(conn)
    report.problems += [Problem("schema", None, message) for message in findings.problems]
    if findings.missing_triggers:
        report.warnings.append(
            f"append-only trigger(s) {', '.join(findings.missing_triggers)} are missing: the "
            "file was changed outside Canopy (its content is verified all the same)"
        )
    return findings.core_intact


def _check_sql_indexes(
    conn: sqlite3.Connection, kinds: dict[str, list[int]], problems: list[Problem]
) -> None:
    """An index on events that disagrees with the rows (rebuilt or redefined
    through ``PRAGMA writable_schema``) makes lookups through it, such as the
    kill switch's, miss or invent events that the rows themselves do not."""
    found = fileschema.kind_index_disagreements(conn, kinds)
    found += fileschema.legacy_index_disagreements(conn)
    if found:
        problems.append(
            Problem(
                "schema",
                None,
                f"SQL indexes on events disagree with the rows ({'; '.join(found)}): "
                "queries through them miss or invent events",
            )
        )


def _check_meta(meta: dict[str, str], problems: list[Problem]) -> None:
    expected = {"format": "canopy-ledger", "schema_version": str(SCHEMA_VERSION)}
    for key, value in expected.items():
        if meta.get(key) != value:
            problems.append(
                Problem("open", None, f"ledger metadata {key} is {meta.get(key)!r}, not {value!r}")
            )


def _check_seq_range(conn: sqlite3.Connection, problems: list[Problem]) -> int:
    """The ledger's size (one past the highest seq, computed without SQLite's
    integer overflow); rows below 0 are reported, since no reader expects them."""
    # Two subqueries: SQLite seeks for a lone min() or max(), but scans for both.
    low, high = conn.execute(
        "SELECT (SELECT min(seq) FROM events), (SELECT max(seq) FROM events)"
    ).fetchone()
    if low is not None and low < 0:
        below = conn.execute("SELECT count(*) FROM events WHERE seq < 0").fetchone()[0]
        problems.append(
            Problem("events", None, f"{below} rows have negative sequence numbers (from {low})")
        )
    return 0 if high is None or high < 0 else high + 1


def _read_schedule(
    conn: sqlite3.Connection, problems: list[Problem]
) -> list[tuple[int, Verifier]] | None:
    """The key schedule, or None (reported) when a stored key is malformed."""
    schedule = []
    for from_seq, vkey in conn.execute("SELECT from_seq, vkey FROM signing_keys ORDER BY from_seq"):
        try:
            schedule.append((from_seq, Verifier.from_vkey(vkey)))
        except (CanopyError, TypeError, ValueError, AttributeError) as e:
            problems.append(
                Problem("keys", None, f"the signing key from event {from_seq} on is malformed: {e}")
            )
            return None
    return schedule


def _check_keys(
    ledger: Ledger,
    schedule: list[tuple[int, Verifier]],
    trusted_keys: Sequence[Verifier],
    report: VerificationReport,
) -> bool:
    """Step 2; False when nothing else is worth checking."""
    problems = report.problems
    if not schedule or schedule[0][0] != 0:
        problems.append(Problem("keys", None, "the key schedule does not start at event 0"))
        return False
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
            return False
    return True


def _read_checkpoints(conn: sqlite3.Connection, problems: list[Problem]) -> list[_StoredCheckpoint]:
    """Every checkpoints row whose note is text and parses; the others reported.

    Read as bytes: a note that is not UTF-8 must be reported, not stop the read.
    """
    stored = []
    rows = conn.execute(
        "SELECT size, root, typeof(note), CAST(note AS BLOB) FROM checkpoints ORDER BY size"
    )
    for row_size, row_root, note_type, raw in rows:
        where = f"checkpoint row {row_size}"
        if note_type != "text":
            problems.append(Problem("checkpoints", None, f"{where}: its note is a {note_type}"))
            continue
        try:
            note = bytes(raw).decode("utf-8")
            checkpoint = Checkpoint.parse(note[: note.rfind("\n\n") + 1])
        except (UnicodeDecodeError, CanopyError) as e:
            problems.append(Problem("checkpoints", None, f"{where}: malformed note: {e}"))
            continue
        if checkpoint.size != row_size:
            problems.append(
                Problem(
                    "checkpoints",
                    None,
                    f"{where} holds the note of size {checkpoint.size} "
                    "(lookups by size would return another checkpoint)",
                )
            )
        stored.append(_StoredCheckpoint(row_size, row_root, note, checkpoint))
    return stored


def _open_trusted(
    ledger: Ledger,
    schedule: list[tuple[int, Verifier]],
    size: int,
    options: _Options,
    report: VerificationReport,
) -> SignedCheckpoint | None:
    """The external checkpoint, opened and compared with the ledger's origin and size."""
    if options.trusted_note is None:
        return None
    problems = report.problems
    anchor_keys = list(options.trusted_keys) or [v for _, v in schedule]
    try:
        trusted = SignedCheckpoint.open(options.trusted_note, anchor_keys)
    except VerificationError as e:
        problems.append(Problem("trusted", None, f"trusted checkpoint rejected: {e}"))
        return None
    except CanopyError as e:
        problems.append(Problem("trusted", None, f"trusted checkpoint is malformed: {e}"))
        return None
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
    return trusted


def _jobs(
    ledger: Ledger,
    conn: sqlite3.Connection,
    size: int,
    schedule: list[tuple[int, Verifier]],
    sizes: list[int],
    options: _Options,
    problems: list[Problem],
) -> list[_Job]:
    """One job per chunk that holds events; chunks with none are reported missing."""
    chunk = 1 << options.chunk_level
    layout = lookup_layout(conn)
    bound = _lookup_bound(conn, layout, size)
    key_bytes = [(seq, v.public_key) for seq, v in schedule]
    jobs = []
    expected = 0
    for start in _chunk_starts(conn, size, chunk):
        if start > expected:
            problems.append(
                Problem("events", expected, f"events {expected} to {start - 1} are missing")
            )
        expected = start + chunk
        jobs.append(
            _Job(
                str(ledger.path),
                ledger.origin,
                start,
                min(start + chunk, size),
                key_bytes,
                options.check_signatures,
                [s for s in sizes if start < s <= start + chunk],
                options.chunk_level,
                layout,
                bound,
            )
        )
    return jobs


_FIRST_FROM = "SELECT min(seq) FROM events WHERE seq >= ?"


def _chunk_starts(conn: sqlite3.Connection, size: int, chunk: int) -> list[int]:
    """Starts of the chunks that hold events: normally every chunk below the
    size; a row planted far beyond the others adds one chunk, not billions of
    empty ones (one indexed seek per chunk)."""
    starts = []
    position = 0
    while position < size:
        (first,) = conn.execute(
            "SELECT min(seq) FROM events WHERE seq >= ?", (position,)
        ).fetchone()
        if first is None:
            break
        start = first - first % chunk
        starts.append(start)
        position = start + chunk
    return starts


def _lookup_bound(conn: sqlite3.Connection, layout: str, size: int) -> int | None:
    """The lookup progress mark, if the lookups are to be checked against it."""
    if layout == PLAIN:
        return None
    row = conn.execute("SELECT indexed_size FROM lookup_progress").fetchone()
    if row is None or type(row[0]) is not int or not 0 <= row[0] <= size:
        return None  # reported by the lookups step
    return row[0]


def _check_stored_checkpoint(
    conn: sqlite3.Connection,
    origin: str,
    schedule: list[tuple[int, Verifier]],
    stored: _StoredCheckpoint,
    size: int,
    combined: _Combined,
    problems: list[Problem],
) -> None:
    """Step 7 for one row: signed by the key in force, of this ledger, within it,
    with the recomputed root, and the root column saying the same."""
    note_size = stored.checkpoint.size
    key = _verifier_for(schedule, note_size)
    try:
        reopened = SignedCheckpoint.open(stored.note, [key])
    except CanopyError as e:
        problems.append(Problem("checkpoints", None, f"checkpoint {note_size}: {e}"))
        return
    if reopened.origin != origin:
        problems.append(
            Problem("checkpoints", None, f"checkpoint {note_size} has origin {reopened.origin}")
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
    elif reopened.size and combined.roots.get(reopened.size) != reopened.root:
        problems.append(
            Problem(
                "checkpoints",
                reopened.size - 1,
                f"checkpoint {reopened.size} root differs from the recomputed tree",
            )
        )
    if stored.row_root != reopened.root:
        problems.append(
            Problem(
                "checkpoints",
                None,
                f"checkpoint {note_size}: root column disagrees with the signed note",
            )
        )


_REINDEX_HINT = " (derived data: `canopy reindex` rebuilds it from the events)"


def _check_lookups(
    ledger: Ledger,
    size: int,
    held_keys: int | None,
    keys_of_events: int | None,
    problems: list[Problem],
) -> None:
    """Step 10, with the remedy named in whatever it reports."""
    found: list[Problem] = []
    _check_lookup_index(ledger._conn, size, held_keys, keys_of_events, found)
    problems += [Problem(p.step, p.seq, p.message + _REINDEX_HINT) for p in found]


def _check_lookup_index(
    conn: sqlite3.Connection,
    size: int,
    held_keys: int | None,
    keys_of_events: int | None,
    problems: list[Problem],
) -> None:
    """The lookup index must stay within the ledger and hold exactly the keys of
    the events below its progress mark: the base for the events below the
    first run, the live runs (consecutive, from there to the mark) for the rest.
    Counted first (a deleted or added row shows; so does a lowered or raised
    progress mark, a dropped, overlapping or orphaned run), then every key of
    those events is looked for where lookups read it (``held_keys``, from the
    chunk workers): an edited value or sequence number keeps the counts.
    ``keys_of_events`` is how many keys the events below the mark have, counted
    by the chunk workers as they read them (None: counted here)."""
    layout = lookup_layout(conn)
    if layout == PLAIN:
        return
    row = conn.execute("SELECT indexed_size FROM lookup_progress").fetchone()
    if row is None or type(row[0]) is not int or not 0 <= row[0] <= size:
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
    if not _runs_are_consecutive(runs, base_end, indexed, problems):
        return
    expected = _check_lookup_counts(conn, layout, runs, base_end, indexed, keys_of_events, problems)
    if expected is None:
        return
    if held_keys != expected:
        problems.append(
            Problem(
                "lookups",
                None,
                f"the lookup index holds {expected} keys but only "
                f"{'an unknown number' if held_keys is None else held_keys} of them are keys "
                "of the events they point to: lookups would miss or invent events",
            )
        )
        return
    if layout == RUNS:
        _check_merge_contents(conn, problems)


def _runs_are_consecutive(
    runs: list[tuple[int, int, int]], base_end: int, indexed: int, problems: list[Problem]
) -> bool:
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
            return False
    if ranges[-1][2] != indexed:
        problems.append(
            Problem(
                "lookups",
                None,
                f"lookup runs end at {ranges[-1][2]}, the progress mark is {indexed}",
            )
        )
        return False
    return True


def _check_lookup_counts(
    conn: sqlite3.Connection,
    layout: str,
    runs: list[tuple[int, int, int]],
    base_end: int,
    indexed: int,
    keys_of_events: int | None,
    problems: list[Problem],
) -> int | None:
    """The keys the live index must hold (None, reported, when the stored counts differ).

    The events' keys are counted here, section by section, only when the
    workers' total is unknown or disagrees with the stored total (to say which
    section is wrong): otherwise that second pass over every event is skipped.
    """
    sections = [
        ("base", conn.execute("SELECT count(*) FROM lookup_keys").fetchone()[0], 0, base_end)
    ]
    others: list[tuple[str, int, int]] = []
    if layout == RUNS:
        outside = _rows_outside_runs(conn, [run for run, _, _ in runs])
        live = conn.execute("SELECT count(*) FROM lookup_runs").fetchone()[0] - outside
        sections.append(("runs", live, base_end, indexed))
        others = _merge_counts(conn, {run for run, _, _ in runs})
        others.append(("rows outside listed runs", outside, sum(c[1] for c in others)))
    stored = sum(count for _, count, _, _ in sections)
    if keys_of_events is not None and keys_of_events == stored:
        counts = [("all", stored, keys_of_events)]
    else:
        columns = " + ".join(f"count({name})" for name in LOOKUP_FIELDS)
        keys_in = f"SELECT {columns} FROM events WHERE seq >= ? AND seq < ?"
        counts = [
            (name, count, conn.execute(keys_in, (low, high)).fetchone()[0])
            for name, count, low, high in sections
        ]
    for name, count, expected in counts + others:
        if count != expected:
            problems.append(
                Problem(
                    "lookups",
                    None,
                    f"lookup {name} holds {count} keys, the events it covers have "
                    f"{expected}: lookups would miss or invent events",
                )
            )
            return None
    return sum(expected for _, _, expected in counts)


def _rows_outside_runs(conn: sqlite3.Connection, listed: list[int]) -> int:
    """Rows of lookup_runs whose run is not listed: a range count per gap between
    listed run numbers (a run-by-run count reads every row, this reads few)."""
    bounds: list[int | None] = sorted(listed)
    outside = 0
    for low, high in zip([None, *bounds], [*bounds, None], strict=True):
        tests = (["run > :low"] if low is not None else []) + (
            ["run < :high"] if high is not None else []
        )
        outside += conn.execute(
            f"SELECT count(*) FROM lookup_runs WHERE {' AND '.join(tests) or 'true'}",
            {"low": low, "high": high},
        ).fetchone()[0]
    return outside


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


def _check_merge_contents(conn: sqlite3.Connection, problems: list[Problem]) -> None:
    """Every key a merge under way has copied is one of its sources' keys (a key
    edited there would be read once the merge completes and lists its run)."""
    merges = conn.execute("SELECT run, sources FROM lookup_merges").fetchall()
    for run, sources in merges:
        numbers = merge_sources(sources)
        marks = ", ".join("?" * len(numbers))
        built, copied = conn.execute(
            "SELECT count(*), coalesce(sum(EXISTS (SELECT 1 FROM lookup_runs s "
            f"WHERE s.run IN ({marks}) AND s.field = b.field AND s.value = b.value "
            "AND s.seq = b.seq)), 0) FROM lookup_runs b WHERE b.run = ?",
            (*numbers, run),
        ).fetchone()
        if built != copied:
            problems.append(
                Problem(
                    "lookups",
                    None,
                    f"merge into run {run} holds {built - copied} keys its sources do not: "
                    "lookups would invent events once it completes",
                )
            )
            return


def _check_index_commitments(
    conn: sqlite3.Connection,
    commitments: list[tuple[int, dict[str, Any]]],
    problems: list[Problem],
) -> None:
    """Recompute every committed key index (all its runs) from the events it
    covers. ``commitments`` are the authenticated index_commitment events."""
    from canopy.errors import MalformedProofError
    from canopy.ledger import keyindex

    parsed = []
    for seq, fields in commitments:
        try:
            size = int(fields["index_size"])
            runs = keyindex.parse_runs(fields["index_runs"])
            fmt = fields["index_format"]
        except (KeyError, TypeError, ValueError, OverflowError, MalformedProofError):
            problems.append(Problem("index", seq, "malformed index commitment"))
            return
        if fmt != keyindex.INDEX_FORMAT or size > seq:
            problems.append(Problem("index", seq, f"index over {size} events is impossible"))
            return
        parsed.append((seq, size, runs))
    try:
        expected = keyindex.replay_commitments(conn, [(s, n) for s, n, _ in parsed])
    except MalformedProofError as e:
        problems.append(Problem("index", None, str(e)))
        return
    for (seq, _size, runs), recomputed in zip(parsed, expected, strict=True):
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
    jobs: list[_Job],
    size: int,
    problems: list[Problem],
    options: _Options,
) -> _Combined:
    """Run chunk checks and turn chunk roots into the roots at requested sizes."""
    combined = _Combined()
    chunk_tree = CompactRange()
    done = 0
    workers = options.workers or os.cpu_count() or 1
    parallel = len(jobs) > 1 and workers > 1
    if options.workers is None:
        parallel = parallel and size >= _PARALLEL_THRESHOLD
    pool = ProcessPoolExecutor(max_workers=workers) if parallel else None
    results = pool.map(_check_chunk, jobs) if pool else map(_check_chunk, jobs)
    try:
        for result in results:
            problems.extend(result.problems)
            combined.rotations.extend(result.rotations)
            combined.commitments.extend(result.commitments)
            for kind, seqs in result.kinds.items():
                combined.kinds.setdefault(kind, []).extend(seqs)
            combined.rows += result.rows
            combined.keys += result.keys
            if combined.held_keys is not None and result.held_keys is not None:
                combined.held_keys += result.held_keys
            else:
                combined.held_keys = None
            # Chunk roots combine only while the chunks before are complete.
            if result.start == chunk_tree.size << options.chunk_level:
                _add_chunk(result, chunk_tree, combined, problems, options.chunk_level)
            done += result.end - result.start
            if options.progress:
                options.progress(done, size)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return combined


def _add_chunk(
    result: _ChunkResult,
    chunk_tree: CompactRange,
    combined: _Combined,
    problems: list[Problem],
    chunk_level: int,
) -> None:
    """Roots at the sizes this chunk ends, and the stored nodes above the chunk level."""
    for prefix, parts in result.prefix_parts.items():
        combined.roots[prefix] = fold_subtree(chunk_tree.hashes + parts)
    if result.root is None:
        return
    for (level, index), h in chunk_tree.append(result.root):
        node = (level + chunk_level, index)
        got = result.high_nodes[(level - 1) * HASH_SIZE : level * HASH_SIZE]
        if got != h:
            problems.append(
                Problem(
                    "tree",
                    completing_seq(node),
                    f"stored tree node {node} is wrong or missing",
                )
            )


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
