"""``GET /v1/audit``: pages of ledger events, filtered, each with its evidence.

Filters are the forensic ones (canopy/forensics/query.py), so SQLite selects
through the lookups and kind indexes; pages follow ``seq`` (``after`` is the
last seq of the previous page), which stays right while agents append.
Every event comes with its leaf hash and signature: a client holding the
verifier key can check each one without trusting the gateway.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from canopy.forensics.query import Filters
from canopy.ledger.store import STORED_EVENT_COLUMNS, stored_event_from_row

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "audit_page"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


def audit_page(
    conn: sqlite3.Connection,
    *,
    equalities: Mapping[str, Sequence[str]],
    since: str | None = None,
    until: str | None = None,
    after: int = -1,
    limit: int = DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Events matching every filter with ``seq > after``, at most ``limit``,
    in ledger order; ``next_after`` is set when more may follow."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if after < -1:
        raise ValueError(f"after must be a sequence number (or -1), got {after}")
    filters = Filters(**{k: tuple(v) for k, v in equalities.items()}, since=since, until=until)
    where = filters.where(conn).and_("seq > ?", after)
    rows = conn.execute(
        f"SELECT {STORED_EVENT_COLUMNS} FROM events {where.clause()} ORDER BY seq LIMIT ?",
        (*where.params, limit + 1),
    ).fetchall()
    events = [_event_json(row) for row in rows[:limit]]
    more = len(rows) > limit
    return {
        "events": events,
        "count": len(events),
        "next_after": events[-1]["seq"] if more else None,
    }


def _event_json(row: Sequence[Any]) -> dict[str, Any]:
    stored = stored_event_from_row(row)
    return {
        "seq": stored.seq,
        "ts": stored.ts,
        "kind": stored.kind,
        "fields": dict(stored.fields),
        "leaf_hash": stored.leaf_hash.hex(),
        "signature": base64.b64encode(stored.signature).decode("ascii"),
    }
