"""An attacker with write access edits, deletes, reorders, truncates or re-signs
the ledger file; verification must name the first bad event and the step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ledger_helpers import build, event_fields, tamper

from canopy.audit import HashChainAuditLog
from canopy.errors import NotALedgerError
from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

N = 40


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.log"
    build(path, N).close()
    assert verify_ledger(path).ok
    return path


def first(path: Path, **kwargs):
    report = verify_ledger(path, **kwargs)
    assert not report.ok
    return report.first_problem


def test_untouched_ledger_verifies(ledger_path: Path) -> None:
    report = verify_ledger(ledger_path)
    assert report.ok and report.size == N and report.checkpoints == N // 8
    assert HashChainAuditLog(ledger_path).verify_integrity() is True


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET body = replace(body, 'echo 7', 'rm -rf') WHERE seq = 7",
        "UPDATE events SET trace_id = 'trace-other' WHERE seq = 7",
        "UPDATE events SET avid = NULL WHERE seq = 7",
        "UPDATE events SET decision = 'ALLOW' WHERE seq = 7",
        "UPDATE events SET authorization_id = 'auth-forged' WHERE seq = 7",
        "UPDATE events SET action_type = 'read_file' WHERE seq = 7",
        "UPDATE events SET kind = 'execution' WHERE seq = 7",
        "UPDATE events SET ts = '2020-01-01T00:00:00.000000Z' WHERE seq = 7",
        "UPDATE events SET salt = zeroblob(16) WHERE seq = 7",
    ],
    ids=[
        "body",
        "trace_id",
        "avid",
        "decision",
        "authorization_id",
        "action_type",
        "kind",
        "ts",
        "salt",
    ],
)
def test_edited_event_or_indexed_column_is_caught(ledger_path: Path, statement: str) -> None:
    tamper(ledger_path, statement)
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("events", 7)
    assert HashChainAuditLog(ledger_path).verify_integrity() is False


def test_edit_with_recomputed_leaf_hash_fails_signature(ledger_path: Path) -> None:
    ledger = Ledger(ledger_path, read_only=True)
    event = ledger.get(10).event
    assert event.fields["decision"] != "ALLOW"
    forged = type(event)(
        10, event.ts, event.kind, {**event.fields, "decision": "ALLOW"}, event.salt
    )
    ledger.close()
    tamper(
        ledger_path,
        "UPDATE events SET decision = 'ALLOW', leaf_hash = ? WHERE seq = 10",
        params=(forged.leaf_hash(),),
    )
    report = verify_ledger(ledger_path)
    steps = {(p.step, p.seq) for p in report.problems}
    assert ("sigs", 10) in steps and ("events", 10) not in steps


def test_swapped_signatures_are_caught(ledger_path: Path) -> None:
    tamper(
        ledger_path,
        "UPDATE events SET signature = (SELECT signature FROM events WHERE seq = 4) WHERE seq = 5",
    )
    assert (first(ledger_path).step, first(ledger_path).seq) == ("sigs", 5)


def test_reordered_rows_are_caught(ledger_path: Path) -> None:
    cols = "ts, kind, trace_id, avid, authorization_id, action_type, decision, body, salt"
    tamper(
        ledger_path,
        f"CREATE TEMP TABLE a AS SELECT {cols}, leaf_hash, signature FROM events WHERE seq = 3",
        f"UPDATE events SET ({cols}, leaf_hash, signature) = "
        f"(SELECT {cols}, leaf_hash, signature FROM events WHERE seq = 4) WHERE seq = 3",
        f"UPDATE events SET ({cols}, leaf_hash, signature) = (SELECT * FROM a) WHERE seq = 4",
    )
    problem = first(ledger_path)
    assert problem.seq == 3 and problem.step in {"events", "sigs"}


def test_deleted_event_is_caught(ledger_path: Path) -> None:
    tamper(ledger_path, "DELETE FROM events WHERE seq = 12")
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("events", 12)


def test_truncated_tail_with_checkpoints_left_is_caught(ledger_path: Path) -> None:
    tamper(ledger_path, "DELETE FROM events WHERE seq >= 30")
    report = verify_ledger(ledger_path)
    assert not report.ok
    assert any(p.step == "checkpoints" and "removed" in p.message for p in report.problems)


def test_clean_truncation_needs_an_external_checkpoint(ledger_path: Path) -> None:
    with Ledger(ledger_path) as ledger:
        kept = ledger.checkpoint().note  # the operator keeps this copy elsewhere
    # Cut the last 16 events and everything that mentions them.
    tamper(
        ledger_path,
        "DELETE FROM events WHERE seq >= 24",
        "DELETE FROM checkpoints WHERE size > 24",
    )
    assert verify_ledger(ledger_path).ok  # internally consistent: this is the limit
    problem = first(ledger_path, trusted_checkpoint=kept)
    assert problem.step == "trusted" and "truncated" in problem.message


def test_forged_appended_event_is_caught(ledger_path: Path, tmp_path: Path) -> None:
    other = build(tmp_path / "other.db", N + 1)  # a different key signs event N
    row = other._conn.execute("SELECT * FROM events WHERE seq = ?", (N,)).fetchone()
    other.close()
    tamper(ledger_path, f"INSERT INTO events VALUES ({','.join('?' * len(row))})", params=row)
    problem = first(ledger_path)
    assert problem.seq == N and problem.step in {"sigs", "events"}


def test_edited_tree_node_is_caught(ledger_path: Path) -> None:
    tamper(ledger_path, "UPDATE events SET nodes = zeroblob(32) WHERE seq = 5")
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("tree", 5)


def test_dropped_tree_node_is_caught(ledger_path: Path) -> None:
    tamper(ledger_path, "UPDATE events SET nodes = x'' WHERE seq = 7")
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("tree", 7)


def test_edited_checkpoint_note_is_caught(ledger_path: Path) -> None:
    tamper(ledger_path, "UPDATE checkpoints SET note = replace(note, '\n16\n', '\n17\n')")
    report = verify_ledger(ledger_path)
    assert any(p.step == "checkpoints" for p in report.problems)


def test_edited_checkpoint_root_column_is_caught(ledger_path: Path) -> None:
    tamper(ledger_path, "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 16")
    report = verify_ledger(ledger_path)
    assert any("root column" in p.message for p in report.problems)


def test_injected_key_change_is_caught(ledger_path: Path, tmp_path: Path) -> None:
    other = Ledger(tmp_path / "x.db")
    vkey = other.verifier.vkey
    other.close()
    tamper(ledger_path, "INSERT INTO signing_keys VALUES (20, ?)", params=(vkey,))
    report = verify_ledger(ledger_path)
    assert any(p.step == "rotations" for p in report.problems)
    assert any(p.step == "sigs" for p in report.problems)  # events 20.. now "need" the new key


def _resigned_copy(original: Path, work: Path, *, steal_key: bool) -> Path:
    """Rebuild the whole ledger with event 5 changed, re-signed and re-checkpointed."""
    with Ledger(original, read_only=True) as ledger:
        origin = ledger.origin
        events = [(e.kind, dict(e.fields)) for e in ledger.iter_events()]
    events[5][1]["decision"] = "ALLOW"
    forged = work / "forged.db"
    if steal_key:
        shutil.copy(f"{original}.key", f"{forged}.key")
    Ledger(forged).close()
    tamper(forged, "UPDATE ledger_meta SET value = ? WHERE key = 'origin'", params=(origin,))
    with Ledger(forged, checkpoint_interval=8) as ledger:
        ledger.append_batch(events)
        ledger.checkpoint()
    shutil.copy(forged, original)
    return original


@pytest.mark.parametrize("steal_key", [False, True], ids=["new-key", "stolen-key"])
def test_resigned_rewrite_is_caught_only_by_an_external_anchor(
    ledger_path: Path, tmp_path: Path, steal_key: bool
) -> None:
    with Ledger(ledger_path) as ledger:
        genesis = ledger.genesis_verifier
        kept = ledger.checkpoint().note
    _resigned_copy(ledger_path, tmp_path, steal_key=steal_key)
    assert verify_ledger(ledger_path).ok  # self-consistent forgery
    by_checkpoint = verify_ledger(ledger_path, trusted_checkpoint=kept)
    assert not by_checkpoint.ok
    assert by_checkpoint.first_problem.step == "trusted"
    by_key = verify_ledger(ledger_path, trusted_keys=[genesis])
    assert by_key.ok is steal_key  # a stolen key defeats the key check, not the checkpoint


def test_emptied_or_deleted_ledger_is_not_valid(ledger_path: Path) -> None:
    ledger_path.write_bytes(b"")
    with pytest.raises(NotALedgerError, match="empty"):
        verify_ledger(ledger_path)
    assert HashChainAuditLog(ledger_path).verify_integrity() is False
    ledger_path.unlink()
    with pytest.raises(NotALedgerError):
        verify_ledger(ledger_path)
    assert HashChainAuditLog(ledger_path).verify_integrity() is False


def test_triggers_reject_update_and_delete(ledger_path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(ledger_path)
    for statement in (
        "UPDATE events SET decision = 'ALLOW' WHERE seq = 1",
        "DELETE FROM events WHERE seq = 1",
        "UPDATE checkpoints SET root = zeroblob(32)",
        "DELETE FROM checkpoints",
        "UPDATE ledger_meta SET value = 'x'",
        "DELETE FROM signing_keys",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="canopy ledger"):
            conn.execute(statement)
    conn.close()
    assert verify_ledger(ledger_path).ok


def test_inserted_gap_is_caught(ledger_path: Path) -> None:
    tamper(
        ledger_path,
        "INSERT INTO events (seq, ts, kind, body, salt, leaf_hash, signature, nodes) "
        "SELECT 1000, ts, kind, body, salt, leaf_hash, signature, x'' FROM events WHERE seq = 0",
    )
    report = verify_ledger(ledger_path)
    assert not report.ok
    assert (report.first_problem.step, report.first_problem.seq) == ("events", N)


def test_report_json_names_first_problem(ledger_path: Path) -> None:
    tamper(ledger_path, "UPDATE events SET body = '{}' WHERE seq = 33")
    doc = verify_ledger(ledger_path).to_json()
    assert doc["valid"] is False
    assert doc["first_problem"]["seq"] == 33 and doc["first_problem"]["step"] == "events"


def test_unknown_fields_in_body_are_caught(ledger_path: Path) -> None:
    extra = event_fields(0)["detail"]
    assert extra  # the body holds non-indexed fields; adding one must break the leaf
    tamper(
        ledger_path,
        "UPDATE events SET body = json_set(body, '$.approved', json('true')) WHERE seq = 2",
    )
    assert (first(ledger_path).step, first(ledger_path).seq) == ("events", 2)


@pytest.mark.parametrize("workers", [1, 2])
def test_multi_chunk_verification_combines_chunks(tmp_path: Path, workers: int) -> None:
    """Small chunks exercise the parallel path: chunk roots, high nodes, mid-chunk checkpoints."""
    path = tmp_path / "chunks.db"
    build(path, 77, interval=10).close()
    with Ledger(path) as ledger:
        ledger.checkpoint()
    report = verify_ledger(path, chunk_level=3, workers=workers)
    assert report.ok, report.problems
    assert report.checkpoints == 8
    tamper(path, "UPDATE events SET nodes = zeroblob(160) WHERE seq = 63")  # a high node
    report = verify_ledger(path, chunk_level=3, workers=workers)
    assert not report.ok
    assert (report.first_problem.step, report.first_problem.seq) == ("tree", 63)
    assert not any(p.step == "events" for p in report.problems)
    tamper(path, "UPDATE events SET trace_id = 'x' WHERE seq = 41")
    report = verify_ledger(path, chunk_level=3, workers=workers)
    assert (report.first_problem.step, report.first_problem.seq) == ("events", 41)
