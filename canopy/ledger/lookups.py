"""Lookups by trace, agent and authorization id, indexed in batches as sorted runs.

Why: a SQL index on each of these columns costs every append three more
B-tree inserts and three more pages to write and sync; at a million events the
random trace ids land on a random page each time. Appends therefore leave
these columns unindexed. Each time the ledger crosses a multiple of
``LOOKUP_STRIDE`` events, the writer that crosses it indexes every event not
yet indexed, inside its own transaction (``catch_up``), and records how far the
index reaches in ``lookup_progress``.

Indexing those keys into one big B-tree was still a cost that grew with the
ledger: 3,000 random keys land on ~3,000 different pages of a tree that holds
millions (measured at 1M events: ~60 us more per append, from that alone). So
the index is log-structured: each catch-up writes its keys as a new *run*
(``lookup_runs``, keyed by run first, so a run is written in one place), and
once ``LOOKUP_FANOUT`` runs of one level exist they are merged, in key order,
into one run of the next level, up to ``TOP_LEVEL``, whose runs are never
merged again. A merge advances one bounded step per catch-up
(``lookup_merges`` says how far), paced to finish before its level can fill
again, so no append waits for a whole large merge. Every write is sequential
and the work per event is the same at any ledger size. A lookup seeks each
live run (listed in ``lookup_run_list``): a few dozen seeks at a million
events.

``lookup_keys`` is the single B-tree that ledgers written before runs existed
kept; a writer opening such a file freezes it as the base below the first run.

A lookup reads the index below ``lookup_progress`` and scans the short
unindexed tail above it (``lookup_condition``), so its answer is the same
whether or not the index has caught up. The index is derived data, like any SQL
index: it is not part of the signed record, it is rebuilt from the events, and
a stale or missing ``lookup_progress`` only makes lookups scan more, never miss
an event. A run being built is listed only once complete, in the transaction
that drops its sources: readers never see half a merge. A ledger written before lookups
existed keeps its SQL indexes until a writer opens it (``ensure_lookups``);
readers of such a file use plain predicates.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "KEYS",
    "LOOKUP_FANOUT",
    "LOOKUP_FIELDS",
    "LOOKUP_STRIDE",
    "PLAIN",
    "RUNS",
    "TOP_LEVEL",
    "catch_up",
    "crosses_stride",
    "ensure_lookups",
    "held_keys",
    "lookup_condition",
    "lookup_field",
    "lookup_layout",
    "merge_sources",
    "rebuild",
]

#: Columns looked up through the batch index, most selective first: a query
#: that filters on several uses the index for the first and checks the rest.
LOOKUP_FIELDS = ("authorization_id", "trace_id", "avid")
#: Events between catch-ups; equal to the default checkpoint interval, so with
#: default settings a seal and a catch-up share one transaction.
LOOKUP_STRIDE = 1000
#: Runs of one level merged into one of the next (8: runs of 1k, 8k, 64k events).
LOOKUP_FANOUT = 8
#: Runs of this level are never merged again: lookups seek one run per 64k events.
TOP_LEVEL = 2
#: Keys a merge copies per catch-up at least (or FANOUT times the new run's keys),
#: so no append waits for a whole large merge (~25 ms of work per step).
MERGE_STEP_KEYS = 24_000
#: Indexes that ledgers written before lookups existed have instead.
LEGACY_INDEXES = ("events_by_trace", "events_by_avid", "events_by_authorization")
#: How a file keeps its lookups (``lookup_layout``): plain column predicates
#: (per-column SQL indexes, before lookups existed), one B-tree of keys, or
#: the B-tree frozen as a base below sorted runs.
PLAIN, KEYS, RUNS = "plain", "keys", "runs"

_CODES = {name: code for code, name in enumerate(LOOKUP_FIELDS)}
_KEYS_OF_EVENTS = " UNION ALL ".join(
    f"SELECT {code} AS field, {name} AS value, seq FROM events "
    f"WHERE seq >= :start AND seq < :end AND {name} IS NOT NULL"
    for name, code in _CODES.items()
)
_INSERT_BASE = (
    f"INSERT OR IGNORE INTO lookup_keys (field, value, seq) SELECT * FROM ({_KEYS_OF_EVENTS})"
)
# No ORDER BY: a new run's pages are few and hot, and sorting first measured
# slower (4.7 vs 3.4 us/event); merges, which write many pages, do sort.
_INSERT_RUN = (
    f"INSERT INTO lookup_runs (run, field, value, seq) SELECT :run, * FROM ({_KEYS_OF_EVENTS})"
)
_TABLES = ("lookup_keys", "lookup_progress", "lookup_runs", "lookup_run_list", "lookup_merges")


def lookup_field(names: Sequence[str]) -> str | None:
    """Which of the filtered columns to look up through the index (None: none of them)."""
    for name in LOOKUP_FIELDS:
        if name in names:
            return name
    return None


def crosses_stride(size: int, count: int) -> bool:
    """Whether appending ``count`` events to ``size`` reaches a multiple of the stride."""
    return (size + count) // LOOKUP_STRIDE > size // LOOKUP_STRIDE


def catch_up(conn: sqlite3.Connection, size: int) -> None:
    """Index every event below ``size`` not indexed yet, as a new run, and move
    merges on by one bounded step each (inside the caller's write transaction,
    after its events are inserted)."""
    start = conn.execute("SELECT indexed_size FROM lookup_progress").fetchone()[0]
    if size <= start:
        return
    run = _next_run(conn)
    keys = conn.execute(_INSERT_RUN, {"run": run, "start": start, "end": size}).rowcount
    conn.execute("INSERT INTO lookup_run_list VALUES (?, 0, ?, ?, ?)", (run, start, size, keys))
    conn.execute("UPDATE lookup_progress SET indexed_size = ?", (size,))
    for level in range(1, TOP_LEVEL + 1):  # upwards: a merge done here may fill the next
        merge = _merge_under_way(conn, level) or _start_merge(conn, level)
        if merge is not None:
            _merge_step(conn, merge)


def _next_run(conn: sqlite3.Connection) -> int:
    return conn.execute(
        "SELECT max(coalesce((SELECT max(run) FROM lookup_run_list), 0), "
        "coalesce((SELECT max(run) FROM lookup_merges), 0)) + 1"
    ).fetchone()[0]


@dataclass(frozen=True)
class _Merge:
    """A merge under way: the run it builds, from which runs, and the last key copied."""

    run: int
    level: int
    sources: tuple[int, ...]
    field: int | None = None
    value: str | None = None
    seq: int | None = None

    @property
    def source_list(self) -> str:
        """The sources as SQL text (integers, so safe to splice into a query)."""
        return ", ".join(map(str, self.sources))


def merge_sources(text: object) -> tuple[int, ...]:
    """The runs a ``lookup_merges`` row merges; () unless it is a plain
    comma-separated list of run numbers (as ``_start_merge`` writes it)."""
    parts = str(text).split(",")
    return tuple(int(p) for p in parts) if all(p.isdecimal() for p in parts) else ()


def _merge_under_way(conn: sqlite3.Connection, level: int) -> _Merge | None:
    """The merge into ``level`` in progress, if any. One whose sources are not
    runs listed at the level below (only an edit of the file makes that) is
    abandoned, with the keys it copied: the index is derived data, and an
    append must not fail because of it."""
    row = conn.execute("SELECT * FROM lookup_merges WHERE level = ?", (level,)).fetchone()
    if row is None:
        return None
    sources = merge_sources(row[2])
    listed = conn.execute(
        "SELECT count(*) FROM lookup_run_list WHERE level = ? AND run IN "
        f"({', '.join('?' * len(sources))})",
        (level - 1, *sources),
    ).fetchone()[0]
    if sources and listed == len(sources):
        return _Merge(row[0], level, sources, *row[3:])
    conn.execute("DELETE FROM lookup_runs WHERE run = ?", (row[0],))
    conn.execute("DELETE FROM lookup_merges WHERE run = ?", (row[0],))
    return None


def _start_merge(conn: sqlite3.Connection, level: int) -> _Merge | None:
    """Once ``LOOKUP_FANOUT`` runs of the level below wait, start merging the
    oldest of them into one run of ``level``. Runs of one level cover
    consecutive events, so the merged run covers their union."""
    runs = conn.execute(
        "SELECT run FROM lookup_run_list WHERE level = ? ORDER BY run LIMIT ?",
        (level - 1, LOOKUP_FANOUT),
    ).fetchall()
    if len(runs) < LOOKUP_FANOUT:
        return None
    merge = _Merge(_next_run(conn), level, tuple(run for (run,) in runs))
    conn.execute(
        "INSERT INTO lookup_merges VALUES (?, ?, ?, NULL, NULL, NULL)",
        (merge.run, merge.level, ",".join(map(str, merge.sources))),
    )
    return merge


def _merge_step(conn: sqlite3.Connection, merge: _Merge) -> None:
    """Copy the next share of a merge's keys, in key order; once all are
    copied, list the merged run and drop its sources, in this same transaction.

    A merge into level L is paced to finish in ``LOOKUP_FANOUT ** (L - 1)``
    steps (one per catch-up; at least ``MERGE_STEP_KEYS`` keys each), which is
    sooner than the level below can fill again. Each step ends at a key read
    from the first source, its share of the step past the last key copied, so
    the sort covers only this step's keys. Readers never see a run being
    built: it is listed only once complete."""
    first = merge.sources[0]
    first_keys, total = conn.execute(
        "SELECT sum(keys * (run = ?)), sum(keys) FROM lookup_run_list "
        f"WHERE run IN ({merge.source_list})",
        (first,),
    ).fetchone()
    step = max(MERGE_STEP_KEYS, total // LOOKUP_FANOUT ** (merge.level - 1))
    params: dict[str, Any] = {"field": merge.field, "value": merge.value, "seq": merge.seq}
    after = "" if merge.field is None else "AND (field, value, seq) > (:field, :value, :seq)"
    upper = conn.execute(
        f"SELECT field, value, seq FROM lookup_runs WHERE run = :first {after} "
        "ORDER BY field, value, seq LIMIT 1 OFFSET :offset",
        {**params, "first": first, "offset": step * first_keys // max(total, 1) + 1},
    ).fetchone()
    until = ""
    if upper is not None:
        until = "AND (field, value, seq) <= (:to_field, :to_value, :to_seq)"
        params.update(to_field=upper[0], to_value=upper[1], to_seq=upper[2])
    conn.execute(
        "INSERT INTO lookup_runs (run, field, value, seq) SELECT :run, field, value, seq "
        f"FROM lookup_runs WHERE run IN ({merge.source_list}) {after} {until} "
        "ORDER BY field, value, seq",
        {**params, "run": merge.run},
    )
    if upper is not None:
        conn.execute(
            "UPDATE lookup_merges SET field = ?, value = ?, seq = ? WHERE run = ?",
            (*upper, merge.run),
        )
        return
    span = conn.execute(
        f"SELECT min(from_seq), max(to_seq) FROM lookup_run_list WHERE run IN ({merge.source_list})"
    ).fetchone()
    conn.execute(f"DELETE FROM lookup_runs WHERE run IN ({merge.source_list})")
    conn.execute(f"DELETE FROM lookup_run_list WHERE run IN ({merge.source_list})")
    conn.execute("DELETE FROM lookup_merges WHERE run = ?", (merge.run,))
    conn.execute(
        "INSERT INTO lookup_run_list VALUES (?, ?, ?, ?, ?)",
        (merge.run, merge.level, *span, total),
    )


def lookup_layout(conn: sqlite3.Connection) -> str:
    """``RUNS``, ``KEYS`` (written before runs existed) or ``PLAIN`` (before lookups)."""
    names = {
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name IN ('lookup_progress', 'lookup_run_list')"
        )
    }
    if "lookup_run_list" in names:
        return RUNS
    return KEYS if "lookup_progress" in names else PLAIN


def ensure_lookups(conn: sqlite3.Connection, ddl: Sequence[str]) -> None:
    """Bring a file's lookups to the current layout, in one transaction.

    Runs the statements of ``ddl`` (the schema's lookup statements) whose table
    the file lacks. A ledger written before lookups existed also gets every
    event indexed into the base and its per-column indexes dropped; one written
    before runs existed keeps its base as it is. A no-op on current ledgers;
    safe when several processes open the same old ledger at once. The caller
    holds no transaction."""
    if not _missing_tables(conn) and not _legacy_indexes(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        missing = _missing_tables(conn)  # as it is now that nobody else can migrate it
        for statement in ddl:
            target = re.search(r"\b(?:TABLE|INTO|ON)\s+(lookup_\w+)", statement)
            if target and target.group(1) in missing:
                conn.execute(statement)
        if "lookup_progress" in missing:
            size = conn.execute("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()[0]
            conn.execute(_INSERT_BASE, {"start": 0, "end": size})
            conn.execute("UPDATE lookup_progress SET indexed_size = ?", (size,))
        for name in _legacy_indexes(conn):
            conn.execute(f"DROP INDEX {name}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def rebuild(
    conn: sqlite3.Connection,
    ddl: Sequence[str],
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Rebuild the whole lookup index from the events, in one transaction, and
    return (keys, runs). The index is derived data: no event, proof or
    checkpoint changes. Used when verification reports it damaged; it is
    written as top-level runs, sorted, as the merges would have left it.
    ``progress(done, total)`` is called after each run. The caller holds no
    transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for table in _TABLES:  # triggers go with their tables
            conn.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in ddl:
            conn.execute(statement)
        size = conn.execute("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()[0]
        span = LOOKUP_STRIDE * LOOKUP_FANOUT**TOP_LEVEL
        keys = runs = 0
        for run, start in enumerate(range(0, size, span), start=1):
            end = min(start + span, size)
            added = conn.execute(
                f"{_INSERT_RUN} ORDER BY 2, 3, 4", {"run": run, "start": start, "end": end}
            ).rowcount
            conn.execute(
                "INSERT INTO lookup_run_list VALUES (?, ?, ?, ?, ?)",
                (run, TOP_LEVEL, start, end, added),
            )
            keys, runs = keys + added, run
            if progress is not None:
                progress(end, size)
        conn.execute("UPDATE lookup_progress SET indexed_size = ?", (size,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return keys, runs


def _held_query(table: str, run_test: str) -> str:
    """How many keys of events [:start, :end) ``table`` holds: one pass over the
    events, one seek per key (a pass per field read each event three times)."""
    held = " + ".join(
        f"EXISTS (SELECT 1 FROM {table} k WHERE {run_test}k.field = {code} "
        f"AND k.value = e.{name} AND k.seq = e.seq)"
        for name, code in _CODES.items()
    )
    return f"SELECT coalesce(sum({held}), 0) FROM events e WHERE e.seq >= :start AND e.seq < :end"


_HELD_IN_BASE = _held_query("lookup_keys", "")
_HELD_IN_RUN = _held_query("lookup_runs", "k.run = :run AND ")


def held_keys(conn: sqlite3.Connection, layout: str, start: int, end: int) -> int:
    """How many keys of events ``[start, end)`` the index holds where a lookup
    reads them: in the base below the first live run, else in the live run
    whose range holds the event.

    With as many stored keys as the events have (which the verifier counts),
    this equals that number only if every stored key is true: an edited value
    or sequence number hides one event and shows another with equal counts.
    Merges move keys between runs but never change which keys are held, so
    the answer is the same in every snapshot. The caller holds a read
    transaction (the run list and the runs must be read together).
    """
    if layout == PLAIN or start >= end:
        return 0
    runs: list[tuple[int, int, int]] = []
    base_end = end
    if layout == RUNS:
        runs = conn.execute(
            "SELECT run, from_seq, to_seq FROM lookup_run_list ORDER BY from_seq"
        ).fetchall()
        base_end = runs[0][1] if runs else end
    held = 0
    if start < base_end:
        params = {"start": start, "end": min(end, base_end)}
        held += conn.execute(_HELD_IN_BASE, params).fetchone()[0]
    for run, from_seq, to_seq in runs:
        low, high = max(start, from_seq), min(end, to_seq)
        if low < high:
            params = {"start": low, "end": high, "run": run}
            held += conn.execute(_HELD_IN_RUN, params).fetchone()[0]
    return held


def _missing_tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return set(_TABLES) - {name for (name,) in rows}


def _legacy_indexes(conn: sqlite3.Connection) -> list[str]:
    marks = ", ".join("?" * len(LEGACY_INDEXES))
    rows = conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ({marks})",
        LEGACY_INDEXES,
    )
    return [name for (name,) in rows]


def lookup_condition(
    column: str, values: Sequence[str], *, layout: str
) -> tuple[str, tuple[str, ...]]:
    """A ``WHERE`` condition: ``column`` equals one of ``values``.

    With lookups (``layout`` KEYS or RUNS) the matching sequence numbers come
    from the index below ``lookup_progress`` (the base B-tree and each live
    run) and from a scan of the unindexed tail above it; with ``PLAIN`` it is
    the plain predicate, which the legacy per-column indexes serve.
    """
    if column not in _CODES:
        raise ValueError(f"no lookup index for {column!r}")
    test = "= ?" if len(values) == 1 else f"IN ({', '.join('?' * len(values))})"
    if layout == PLAIN:
        return f'"{column}" {test}', tuple(values)
    code = _CODES[column]
    branches = [f"SELECT seq FROM lookup_keys WHERE field = {code} AND value {test}"]
    if layout == RUNS:
        branches.append(
            "SELECT seq FROM lookup_runs WHERE run IN (SELECT run FROM lookup_run_list) "
            f"AND field = {code} AND value {test}"
        )
    branches.append(
        "SELECT seq FROM events "
        f'WHERE seq >= (SELECT indexed_size FROM lookup_progress) AND "{column}" {test}'
    )
    return f"seq IN ({' UNION ALL '.join(branches)})", tuple(values) * len(branches)
