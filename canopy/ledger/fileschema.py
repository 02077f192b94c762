"""What a ledger file may define: exactly Canopy's tables, indexes and triggers.

Why: whoever can edit the file can change what every reader sees without
touching a row. A view or a trigger where a table was, a column collation,
default or generated column, an extra index, a trigger that silently drops
later appends, or (with ``PRAGMA writable_schema``) an index definition
rewritten so it no longer describes its content: the rows still verify, yet
lookups, kill-switch checks and future appends go wrong. Rows are checked
against signatures; this module checks the SQL that interprets them.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from dataclasses import dataclass, field

__all__ = [
    "CORE_TABLES",
    "SchemaFindings",
    "check_file_schema",
    "kind_index_disagreements",
    "legacy_index_disagreements",
]

#: Tables every reader depends on: if one is not Canopy's, nothing read from it is.
CORE_TABLES = ("ledger_meta", "events", "checkpoints", "signing_keys")
#: Objects older Canopy versions created, which files they wrote may still hold.
_LEGACY: dict[str, tuple[str, str]] = {
    "events_by_trace": (
        "index",
        "CREATE INDEX events_by_trace ON events (trace_id) WHERE trace_id IS NOT NULL",
    ),
    "events_by_avid": (
        "index",
        "CREATE INDEX events_by_avid ON events (avid) WHERE avid IS NOT NULL",
    ),
    "events_by_authorization": (
        "index",
        "CREATE INDEX events_by_authorization ON events (authorization_id) "
        "WHERE authorization_id IS NOT NULL",
    ),
    "events_contiguous": (
        "trigger",
        "CREATE TRIGGER events_contiguous BEFORE INSERT ON events "
        "WHEN NEW.seq IS NOT (SELECT coalesce(max(seq) + 1, 0) FROM events) "
        "BEGIN SELECT RAISE(ABORT, 'canopy ledger: event sequence must be contiguous'); END",
    ),
    "lookup_run_list": (
        "table",
        "CREATE TABLE lookup_run_list ( run INTEGER PRIMARY KEY, level INTEGER NOT NULL, "
        "from_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL )",
    ),
}
#: SQLite's own tables a file may hold: ANALYZE statistics (planner hints only).
_SQLITE_INTERNAL = frozenset({"sqlite_stat1", "sqlite_stat4"})
_CREATE = re.compile(r"CREATE (TABLE|INDEX|TRIGGER|VIEW) (\w+)")


def normalize_sql(sql: str) -> str:
    """SQL text compared modulo ``--`` comments, spacing and ``IF NOT EXISTS``.

    Stripping a ``--`` that sits inside a string literal can only make the text
    differ from Canopy's (whose literals hold no ``--``), never match it.
    """
    text = re.sub(r"--[^\n]*", " ", sql)
    text = re.sub(r"\s+", " ", text).strip().rstrip(";").strip()
    text = text.replace("( ", "(").replace(" )", ")")
    return text.replace(" IF NOT EXISTS ", " ")


@functools.lru_cache(maxsize=1)
def _expected() -> dict[str, set[tuple[str, str]]]:
    """name -> the (type, normalized SQL) forms Canopy ever gave that object."""
    from canopy.ledger.store import _schema_statements

    forms: dict[str, set[tuple[str, str]]] = {}
    for statement in _schema_statements():
        found = _CREATE.match(normalize_sql(statement))
        if found:
            kind, name = found.group(1).lower(), found.group(2)
            forms.setdefault(name, set()).add((kind, normalize_sql(statement)))
    for name, (kind, sql) in _LEGACY.items():
        forms.setdefault(name, set()).add((kind, normalize_sql(sql)))
    return forms


def _current_triggers() -> list[str]:
    from canopy.ledger.store import _schema_statements

    names = (_CREATE.match(normalize_sql(s)) for s in _schema_statements())
    return [m.group(2) for m in names if m and m.group(1) == "TRIGGER"]


@dataclass
class SchemaFindings:
    """Problems (the file defines something Canopy does not), the append-only
    triggers that are gone (worth a warning: content is still verified), and
    whether the core tables are Canopy's (if not, verification stops)."""

    problems: list[str] = field(default_factory=list)
    missing_triggers: list[str] = field(default_factory=list)
    core_intact: bool = True


def check_file_schema(conn: sqlite3.Connection) -> SchemaFindings:
    """Compare every object the file defines with what Canopy defines."""
    findings = SchemaFindings()
    expected = _expected()
    present: set[str] = set()
    rows = conn.execute("SELECT type, name, sql FROM sqlite_master").fetchall()
    for kind, name, sql in rows:
        present.add(name)
        if kind == "table" and name in _SQLITE_INTERNAL:
            continue
        forms = expected.get(name)
        if forms is None:
            findings.problems.append(f"unexpected {kind} {name!r}: {_excerpt(sql)}")
        elif (kind, normalize_sql(sql or "")) not in forms:
            findings.problems.append(
                f"{kind} {name!r} is not defined as Canopy defines it: {_excerpt(sql)}"
            )
        else:
            continue
        if name in CORE_TABLES:
            findings.core_intact = False
    for name in CORE_TABLES:
        if name not in present:
            findings.problems.append(f"table {name!r} is missing")
            findings.core_intact = False
    findings.missing_triggers = [t for t in _current_triggers() if t not in present]
    return findings


def _excerpt(sql: str | None) -> str:
    text = normalize_sql(sql) if isinstance(sql, str) else repr(sql)
    return text if len(text) <= 160 else text[:157] + "..."


def kind_index_disagreements(conn: sqlite3.Connection, scanned: dict[str, list[int]]) -> list[str]:
    """Kind indexes (``events_<kind>``) that list other events than the rows of
    that kind (``scanned``, from reading every row). Rebuilt or redefined
    behind SQLite's back, one would make the kill switch or an approval
    invisible to the lookups that go through it, while the rows still verify."""
    from canopy.ledger.store import _INDEXED_KINDS

    names = {
        name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    found = []
    for kind in sorted(_INDEXED_KINDS):
        if f"events_{kind}" not in names:
            continue  # an older file: readers scan instead
        try:
            listed = conn.execute(
                f"SELECT seq FROM events INDEXED BY events_{kind} WHERE kind = '{kind}' "
                "ORDER BY seq"
            ).fetchall()
        except sqlite3.OperationalError as e:  # redefined so it cannot serve (reported too)
            found.append(f"index events_{kind} cannot list the {kind} events ({e})")
            continue
        if [seq for (seq,) in listed] != scanned.get(kind, []):
            found.append(f"index events_{kind} does not list exactly the {kind} events")
    return found


def legacy_index_disagreements(conn: sqlite3.Connection, limit: int = 5) -> list[str]:
    """For a file that still has the per-column indexes of old Canopy versions
    (its lookups go through them): SQLite's own check that every index on
    ``events`` holds exactly the rows its definition selects."""
    legacy = [name for name, (kind, _) in _LEGACY.items() if kind == "index"]
    marks = ", ".join("?" * len(legacy))
    present = conn.execute(
        f"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ({marks})", legacy
    ).fetchone()[0]
    if not present:
        return []
    rows = conn.execute("PRAGMA integrity_check(events)").fetchmany(limit)
    found = [str(line) for (line,) in rows]
    return [] if found == ["ok"] else found
