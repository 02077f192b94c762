"""Lookups by trace, agent and authorization id, indexed in batches.

Why: a SQL index on each of these columns costs every append three more
B-tree inserts and three more pages to write and sync; at a million events the
random trace ids land on a random page each time. Measured on the append path
that was a third of SQLite's work per event and the whole of the slowdown at
1M events. Appends therefore leave these columns unindexed. Each time the
ledger crosses a multiple of ``LOOKUP_STRIDE`` events, the writer that crosses
it indexes every event not yet indexed, in one statement inside its own
transaction (``catch_up``), and records how far the index reaches in
``lookup_progress``.

A lookup reads the index below that point and scans the short unindexed tail
above it (``lookup_condition``), so its answer is the same whether or not the
index has caught up. The index is derived data, like any SQL index: it is not
part of the signed record, it is rebuilt from the events, and a stale or
missing ``lookup_progress`` only makes lookups scan more, never miss an event.
A ledger written before lookups existed keeps its SQL indexes until a writer
opens it (``ensure_lookups``); readers of such a file use plain predicates.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

__all__ = [
    "LOOKUP_FIELDS",
    "LOOKUP_STRIDE",
    "catch_up",
    "crosses_stride",
    "ensure_lookups",
    "has_lookups",
    "lookup_condition",
    "lookup_field",
]

#: Columns looked up through the batch index, most selective first: a query
#: that filters on several uses the index for the first and checks the rest.
LOOKUP_FIELDS = ("authorization_id", "trace_id", "avid")
#: Events between catch-ups; equal to the default checkpoint interval, so with
#: default settings a seal and a catch-up share one transaction.
LOOKUP_STRIDE = 1000
#: Indexes that ledgers written before lookups existed have instead.
LEGACY_INDEXES = ("events_by_trace", "events_by_avid", "events_by_authorization")

_CODES = {name: code for code, name in enumerate(LOOKUP_FIELDS)}
_INSERT_KEYS = "INSERT OR IGNORE INTO lookup_keys (field, value, seq) " + " UNION ALL ".join(
    f"SELECT {code}, {name}, seq FROM events WHERE seq >= ?1 AND seq < ?2 AND {name} IS NOT NULL"
    for name, code in _CODES.items()
)


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
    """Index every event below ``size`` not indexed yet (inside the caller's write
    transaction, after its events are inserted)."""
    start = conn.execute("SELECT indexed_size FROM lookup_progress").fetchone()[0]
    if size > start:
        conn.execute(_INSERT_KEYS, (start, size))
        conn.execute("UPDATE lookup_progress SET indexed_size = ?", (size,))


def has_lookups(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lookup_progress'"
    ).fetchone()
    return row is not None


def ensure_lookups(conn: sqlite3.Connection, ddl: Sequence[str]) -> None:
    """Give a ledger written before lookups existed its batch index: in one
    transaction, run ``ddl`` (the schema's lookup statements), index every
    event, drop the per-column indexes. A no-op on current ledgers; safe
    when several processes open the same old ledger at once. The caller
    holds no transaction."""
    if has_lookups(conn) and not _legacy_indexes(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not has_lookups(conn):  # nobody migrated it while we waited for the lock
            for statement in ddl:
                conn.execute(statement)
            size = conn.execute("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()[0]
            catch_up(conn, size)
        for name in _legacy_indexes(conn):
            conn.execute(f"DROP INDEX {name}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _legacy_indexes(conn: sqlite3.Connection) -> list[str]:
    marks = ", ".join("?" * len(LEGACY_INDEXES))
    rows = conn.execute(
        f"SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ({marks})",
        LEGACY_INDEXES,
    )
    return [name for (name,) in rows]


def lookup_condition(
    column: str, values: Sequence[str], *, indexed: bool
) -> tuple[str, tuple[str, ...]]:
    """A ``WHERE`` condition: ``column`` equals one of ``values``.

    With ``indexed`` (the ledger has lookups) the matching sequence numbers
    come from the index below ``lookup_progress`` and from a scan of the
    unindexed tail above it; otherwise it is the plain predicate, which the
    legacy per-column indexes serve.
    """
    if column not in _CODES:
        raise ValueError(f"no lookup index for {column!r}")
    test = "= ?" if len(values) == 1 else f"IN ({', '.join('?' * len(values))})"
    if not indexed:
        return f'"{column}" {test}', tuple(values)
    sql = (
        f"seq IN (SELECT seq FROM lookup_keys WHERE field = {_CODES[column]} AND value {test} "
        "UNION ALL SELECT seq FROM events "
        f'WHERE seq >= (SELECT indexed_size FROM lookup_progress) AND "{column}" {test})'
    )
    return sql, (*values, *values)
