"""Filters and read-only SQL for the forensic frames (no pandas here).

A filter becomes one ``WHERE`` clause over the ``events`` table, so SQLite
does the selecting: equality on ``trace_id``, ``avid`` or
``authorization_id`` goes through the ledger's lookups (the most selective
one; canopy/ledger/lookups.py), a rare ``kind``
(approval, incident, ...) through its ``events_<kind>`` index, and a time
window compares the stored RFC 3339 text, which sorts like the instants it
names. Every frame reads inside one read transaction, so it describes one
committed state of the ledger even while agents keep appending.
"""

from __future__ import annotations

import os
import re
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from typing import Any

from canopy.ledger.events import INDEXED_FIELDS
from canopy.ledger.lookups import lookup_condition, lookup_field, lookup_layout
from canopy.ledger.store import Ledger

__all__ = ["Filters", "LedgerLike", "Values", "Where", "read_transaction", "timestamp_text"]

LedgerLike = str | os.PathLike[str] | Ledger
Values = str | Iterable[str] | None

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_COLUMNS = frozenset((*INDEXED_FIELDS, "kind"))
_MMAP_BYTES = 1 << 30


def quote(name: str) -> str:
    """The one place identifiers enter SQL: only known column names, double-quoted."""
    assert name in _COLUMNS or name in {"seq", "ts"}, name
    return f'"{name}"'


def timestamp_text(value: datetime | date | str) -> str:
    """A bound of a time window in the ledger's stored form (UTC, microseconds, ``Z``).

    A naive datetime (or a string without an offset) is taken as UTC; a
    ``date`` means its midnight UTC.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError as e:
            raise ValueError(f"not an ISO 8601 time: {value!r}") from e
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    elif not isinstance(value, datetime):
        raise ValueError(f"a time bound must be a datetime or ISO string, not {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _values(name: str, value: Values) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        items: tuple[Any, ...] = (value,)
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        items = tuple(value)
    else:
        raise ValueError(f"filter {name} takes a string or strings, got {value!r}")
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"filter {name} takes strings, got {item!r}")
    if not items:
        raise ValueError(f"filter {name} was given no values")
    return tuple(str(item) for item in items)  # StrEnum members become plain values


@dataclass(frozen=True, slots=True)
class Where:
    """A ``WHERE`` clause (empty for none) and its parameters."""

    sql: str
    params: tuple[Any, ...]

    def and_(self, sql: str, *params: Any) -> Where:
        joined = f"{self.sql} AND {sql}" if self.sql else sql
        return Where(joined, self.params + params)

    def clause(self) -> str:
        return f"WHERE {self.sql}" if self.sql else ""


@dataclass(frozen=True, slots=True)
class Filters:
    """What an investigation asks for. Each equality filter takes one value or several.

    ``since`` is inclusive and ``until`` exclusive, so consecutive windows
    never count an event twice. ``limit`` keeps the first events in ledger order.
    """

    trace_id: Values = None
    avid: Values = None
    authorization_id: Values = None
    kind: Values = None
    action_type: Values = None
    decision: Values = None
    since: datetime | date | str | None = None
    until: datetime | date | str | None = None
    limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("trace_id", "avid", "authorization_id", "kind", "action_type", "decision"):
            object.__setattr__(self, name, _values(name, getattr(self, name)))
        if self.limit is not None and (
            not isinstance(self.limit, int) or isinstance(self.limit, bool) or self.limit < 0
        ):
            raise ValueError(f"limit must be a non-negative integer, got {self.limit!r}")
        if self.since is not None and self.until is not None:
            start, end = timestamp_text(self.since), timestamp_text(self.until)
            if start > end:
                raise ValueError(f"since {start} is after until {end}")

    def equalities(self) -> dict[str, tuple[str, ...]]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name in _COLUMNS and getattr(self, f.name) is not None
        }

    def where(self, conn: sqlite3.Connection) -> Where:
        """The clause selecting these events; equalities first, so indexes apply."""
        where = Where("", ())
        equalities = self.equalities()
        looked_up = lookup_field(list(equalities))
        for name, values in equalities.items():
            if name == looked_up:
                sql, params = lookup_condition(name, values, layout=lookup_layout(conn))
                where = where.and_(sql, *params)
            elif name == "kind" and len(values) == 1 and _has_kind_index(conn, values[0]):
                # A partial index is used only when the query repeats its
                # predicate literally; the kind is a checked identifier.
                where = where.and_(f"kind = '{values[0]}'")
            elif len(values) == 1:
                where = where.and_(f"{quote(name)} = ?", values[0])
            else:
                marks = ", ".join("?" * len(values))
                where = where.and_(f"{quote(name)} IN ({marks})", *values)
        if self.since is not None:
            where = where.and_("ts >= ?", timestamp_text(self.since))
        if self.until is not None:
            where = where.and_("ts < ?", timestamp_text(self.until))
        return where

    def limit_clause(self) -> str:
        return "" if self.limit is None else f"LIMIT {int(self.limit)}"


def _has_kind_index(conn: sqlite3.Connection, kind: str) -> bool:
    """Whether the schema has a partial index ``events_<kind> ... WHERE kind = '<kind>'``."""
    if not _IDENTIFIER.fullmatch(kind):
        return False
    row = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (f"events_{kind}",)
    ).fetchone()
    return row is not None and f"WHERE kind = '{kind}'" in (row[0] or "")


@contextmanager
def read_transaction(ledger: LedgerLike) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the ledger, inside one read transaction.

    ``ledger`` is a path or an open :class:`Ledger`; either way the file is
    first checked to be a Canopy ledger, and a separate read-only connection
    does the reading, so an investigation never writes and never holds the
    writers' lock.
    """
    if isinstance(ledger, Ledger):
        path = ledger.path
    else:
        with Ledger(ledger, read_only=True) as opened:  # checks header, app id, schema
            path = opened.path
    uri = f"file:{urllib.parse.quote(path.as_posix())}?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout = 60000")
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")  # whole-ledger scans read less
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("ROLLBACK")
    finally:
        conn.close()
