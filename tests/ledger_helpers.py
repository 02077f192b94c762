"""Shared builders for ledger tests: realistic events and raw-SQL tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from canopy.ledger.store import Ledger


def event_fields(i: int) -> dict[str, Any]:
    """An authorization-shaped event, varied by ``i``."""
    return {
        "trace_id": f"trace-{i % 5}",
        "avid": f"AVID-{i % 3:032x}",
        "authorization_id": f"auth-{i:06d}",
        "action_type": ["execute_shell", "modify_file", "call_external_api"][i % 3],
        "decision": ["ALLOW", "DENY", "REQUIRE_APPROVAL"][i % 3],
        "payload": {"command": f"echo {i}", "n": i, "price": i / 4},
        "detail": {"reason": "test", "rule_id": f"R{i % 7}"},
    }


def build(path: Path, n: int, *, interval: int = 8) -> Ledger:
    """A ledger of ``n`` events with a checkpoint every ``interval`` events."""
    ledger = Ledger(path, checkpoint_interval=interval)
    ledger.append_batch([("authorization", event_fields(i)) for i in range(n)])
    return ledger


def tamper(path: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    """Edit the file as an attacker with write access would: triggers first."""
    conn = sqlite3.connect(path)
    try:
        triggers = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        ]
        for name in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        for statement in statements:
            conn.execute(statement, params if "?" in statement else ())
        conn.commit()
    finally:
        conn.close()


def sql_value(path: Path, sql: str) -> Any:
    """One value read straight from the SQLite file (not through Ledger)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()
