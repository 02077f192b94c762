"""Red-team regressions: tampering that verification used to call VALID, or that
crashed it with a traceback, now gives a named problem and exit code 1.

The attacker can write the ledger file and its directory but holds no signing
key. Each test states the attack, then the exact detection. (tests/test_tamper.py
and friends cover the plain row edits; this file covers what got past them.)
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import build, event_fields, sql_value, tamper

from canopy.errors import (
    MalformedProofError,
    RootMismatchError,
    SignatureError,
    VerificationError,
)
from canopy.ledger import bodies, lookups
from canopy.ledger.absence import AbsenceQuery, build_keyed_proof, verify_absence_proof
from canopy.ledger.bodies import decode_body
from canopy.ledger.keyindex import commit_index
from canopy.ledger.note import generate_signer, sign_note
from canopy.ledger.proofs import build_inclusion_proof, verify_inclusion_proof
from canopy.ledger.store import Ledger
from canopy.ledger.verify import CHUNK, Problem, VerificationReport, verify_ledger

N = 40
BIN = Path(sys.executable).parent


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    build(path, N).close()
    assert verify_ledger(path).ok
    return path


@pytest.fixture
def small_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lookup run every few events, so a small ledger has several."""
    monkeypatch.setattr(lookups, "LOOKUP_STRIDE", 4)


@pytest.fixture
def small_merges(small_runs: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs merged two at a time, a key per step: merges stay under way a while."""
    monkeypatch.setattr(lookups, "LOOKUP_FANOUT", 2)
    monkeypatch.setattr(lookups, "MERGE_STEP_KEYS", 1)


@pytest.fixture
def control_path(tmp_path: Path, small_runs: None) -> Path:
    """Events, a kill switch (40), an index commitment (41) and a key rotation (42)."""
    path = tmp_path / "control.db"
    with Ledger(path, checkpoint_interval=8) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(N)])
        ledger.append("kill_switch", {"avid": event_fields(1)["avid"], "active": True})
        commit_index(ledger)
        ledger.rotate_key()
        ledger.append_batch([("authorization", event_fields(i)) for i in range(N, N + 10)])
        ledger.checkpoint()
    assert verify_ledger(path).ok
    return path


def problems(path: Path, **kwargs: Any) -> list[Problem]:
    report = verify_ledger(path, **kwargs)
    assert not report.ok
    return report.problems


def first(path: Path, **kwargs: Any) -> Problem:
    report = verify_ledger(path, **kwargs)
    assert not report.ok
    assert report.first_problem is not None
    return report.first_problem


def canopy(*args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which("canopy", path=str(BIN)) or shutil.which("canopy")
    assert found, "canopy is not installed (pip install -e .)"
    env = {**os.environ, "COLUMNS": "300"}
    return subprocess.run([found, *args], capture_output=True, text=True, env=env, timeout=120)


def assert_tampered(path: Path, fragment: str) -> None:
    """`canopy verify` exits 1 and says TAMPERED (not a traceback) naming ``fragment``."""
    out = canopy("verify", str(path))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert "TAMPERED" in out.stdout and fragment in out.stdout, out.stdout


def rewrite_schema(path: Path, name: str, sql: str) -> None:
    """What PRAGMA writable_schema allows: a new definition over the stored b-tree."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = ?", (sql, name))
        conn.commit()
    finally:
        conn.close()


def edit_body(path: Path, seq: int, new_body: str) -> None:
    tamper(path, "UPDATE events SET body = ? WHERE seq = ?", params=(new_body, seq))


def body_of(path: Path, seq: int) -> dict[str, Any]:
    return json.loads(decode_body(sql_value(path, f"SELECT body FROM events WHERE seq = {seq}")))


def jcs(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# --- values SQLite stores that Python cannot take as they are (used to crash) ---


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET ts = CAST(x'ff32' AS TEXT) WHERE seq = 5",
        "UPDATE events SET body = CAST(x'7bff7d' AS TEXT) WHERE seq = 5",
        "UPDATE events SET trace_id = CAST(x'c3' AS TEXT) WHERE seq = 5",
    ],
    ids=["ts", "body", "indexed-column"],
)
def test_text_that_is_not_utf8_is_reported_at_its_event(ledger_path: Path, statement: str) -> None:
    tamper(ledger_path, statement)
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("events", 5)
    assert "unreadable" in problem.message
    assert_tampered(ledger_path, "event 5: stored event is unreadable")


def test_unreadable_rows_inside_a_batch_spare_the_rows_around_them(tmp_path: Path) -> None:
    """Workers fetch rows in batches: a batch that fails mid-way is re-read row by
    row, so exactly the unreadable events are reported, not their neighbours."""
    path = tmp_path / "audit.db"
    build(path, 1300, interval=1000).close()
    tamper(
        path,
        "UPDATE events SET body = CAST(x'7bff7d' AS TEXT) WHERE seq = 700",
        "UPDATE events SET ts = CAST(x'ff32' AS TEXT) WHERE seq = 1100",
    )
    report = verify_ledger(path, workers=1)
    assert [(p.step, p.seq) for p in report.problems if p.step != "lookups"] == [
        ("events", 700),
        ("events", 700),
        ("events", 1100),
        ("events", 1100),
    ]
    assert all(
        "unreadable" in p.message or "cannot be decoded" in p.message
        for p in report.problems
        if p.step == "events"
    ), report.problems


@pytest.mark.parametrize(
    ("statement", "step", "seq"),
    [
        ("UPDATE events SET salt = 5 WHERE seq = 7", "events", 7),
        ("UPDATE events SET salt = 'abcdefghijklmnop' WHERE seq = 7", "events", 7),
        ("UPDATE events SET nodes = 7 WHERE seq = 8", "tree", 8),
        ("UPDATE events SET nodes = 7 WHERE seq = 9", "tree", 9),
    ],
    ids=["salt-int", "salt-text", "nodes-int-even", "nodes-int-odd"],
)
def test_values_of_the_wrong_type_are_reported_not_crashing(
    ledger_path: Path, statement: str, step: str, seq: int
) -> None:
    tamper(ledger_path, statement)
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == (step, seq)


def test_wrong_types_through_the_cli_exit_1(ledger_path: Path) -> None:
    tamper(ledger_path, "UPDATE events SET salt = 5 WHERE seq = 7")
    assert_tampered(ledger_path, "event 7: stored event cannot be decoded")


def test_a_deflate_bomb_is_refused_before_it_inflates(
    ledger_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bodies, "MAX_BODY_BYTES", 1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -12)
    bomb = b"\x02" + packer.compress(b'{"a":"' + b"A" * (8 << 20) + b'"}') + packer.flush()
    tamper(ledger_path, "UPDATE events SET body = ? WHERE seq = 11", params=(bomb,))
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("events", 11)
    assert f"inflates to more than {1 << 20} bytes" in problem.message


def test_absurdly_nested_body_is_reported(ledger_path: Path) -> None:
    edit_body(ledger_path, 12, '{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("events", 12)
    assert "recursion" in problem.message


# --- an indexed field moved between column and body hashes the same -------------


def test_indexed_field_moved_into_the_body_is_caught(ledger_path: Path) -> None:
    """Same leaf, but every lookup by trace (and the key index) now misses the event."""
    fields = body_of(ledger_path, 20)
    trace = sql_value(ledger_path, "SELECT trace_id FROM events WHERE seq = 20")
    edit_body(ledger_path, 20, jcs({**fields, "trace_id": trace}))
    tamper(ledger_path, "UPDATE events SET trace_id = NULL WHERE seq = 20")
    with Ledger(ledger_path, read_only=True) as ledger:
        assert 20 not in [e.seq for e in ledger.find(trace_id=trace)]  # the harm
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("events", 20)
    assert "trace_id stored in the body, not in their column" in problem.message
    assert_tampered(ledger_path, "stored in the body")


def test_indexed_field_repeated_in_the_body_is_caught(ledger_path: Path) -> None:
    edit_body(ledger_path, 21, jcs({**body_of(ledger_path, 21), "decision": "ALLOW"}))
    problem = first(ledger_path)
    assert (problem.step, problem.seq) == ("events", 21)
    assert "decision stored in the body" in problem.message


# --- lookups: edits that keep every count ---------------------------------------


def runs_ledger(path: Path, batches: int = 2) -> Path:
    with Ledger(path, checkpoint_interval=8) as ledger:
        for b in range(batches):
            ledger.append_batch(
                [("authorization", event_fields(i)) for i in range(b * N, b * N + N)]
            )
    assert sql_value(path, "SELECT count(*) FROM lookup_run_list") >= batches
    assert verify_ledger(path).ok
    return path


@pytest.mark.parametrize(
    "statements",
    [
        # a trace lookup now returns event 17 for another trace (and misses it for its own)
        ["UPDATE lookup_runs SET value = 'trace-forged' WHERE field = 1 AND seq = 17"],
        ["UPDATE lookup_runs SET seq = 18 WHERE field = 0 AND seq = 17"],
        # a key copied into the other run, and one of that run's keys dropped
        [
            "INSERT INTO lookup_runs SELECT (SELECT max(run) FROM lookup_run_list), field, "
            "value, seq FROM lookup_runs WHERE field = 1 AND seq = 17",
            "DELETE FROM lookup_runs WHERE field = 1 AND seq = 60",
        ],
    ],
    ids=["value", "seq", "moved-across-runs"],
)
def test_count_preserving_lookup_edits_are_caught(
    tmp_path: Path, small_runs: None, statements: list[str]
) -> None:
    path = runs_ledger(tmp_path / "runs.db")
    tamper(path, *statements)
    found = problems(path)
    assert [p.step for p in found] == ["lookups"], found
    assert "are keys of the events they point to" in found[0].message
    assert_tampered(path, "lookups would miss or invent events")


def test_count_preserving_edit_of_a_base_only_index_is_caught(ledger_path: Path) -> None:
    """A file written before lookup runs existed keeps all keys in one base B-tree."""
    tamper(
        ledger_path,
        "DROP TABLE lookup_runs",
        "DROP TABLE lookup_run_list",
        "DROP TABLE lookup_merges",
        "INSERT INTO lookup_keys SELECT 0, authorization_id, seq FROM events",
        "INSERT INTO lookup_keys SELECT 1, trace_id, seq FROM events",
        "INSERT INTO lookup_keys SELECT 2, avid, seq FROM events",
        f"UPDATE lookup_progress SET indexed_size = {N}",
    )
    assert verify_ledger(ledger_path).ok
    tamper(ledger_path, "UPDATE lookup_keys SET value = 'trace-forged' WHERE field = 1 AND seq = 3")
    found = problems(ledger_path)
    assert [p.step for p in found] == ["lookups"], found


def test_a_key_edited_in_a_merge_under_way_is_caught(tmp_path: Path, small_merges: None) -> None:
    """Not read yet, but read as soon as the merge completes and lists its run."""
    path = tmp_path / "merging.db"
    ledger = Ledger(path, checkpoint_interval=5)
    for i in range(200):
        ledger.append("authorization", event_fields(i))
        if sql_value(path, "SELECT count(*) FROM lookup_merges WHERE field IS NOT NULL"):
            break
    ledger.close()
    assert verify_ledger(path).ok
    building = "(SELECT run FROM lookup_merges LIMIT 1)"
    tamper(
        path,
        f"UPDATE lookup_runs SET value = value || '-x' WHERE run = {building} AND "
        f"(field, value, seq) = (SELECT field, value, seq FROM lookup_runs "
        f"WHERE run = {building} LIMIT 1)",
    )
    found = problems(path)
    assert [p.step for p in found] == ["lookups"], found
    assert "keys its sources do not" in found[0].message


# --- the SQL that interprets the rows -------------------------------------------


KILL_SWITCH_INDEX = "CREATE INDEX events_kill_switch ON events (seq) WHERE kind = 'kill_switch'"


@pytest.mark.parametrize(
    "built_as",
    [
        "WHERE kind = 'kill_switch' AND seq < 0",  # hides the kill switch
        "WHERE kind = 'kill_switch' OR seq = 5",  # invents one
    ],
    ids=["hides", "invents"],
)
def test_kind_index_redefined_behind_sqlites_back_is_caught(
    control_path: Path, built_as: str
) -> None:
    tamper(
        control_path,
        "DROP INDEX events_kill_switch",
        f"CREATE INDEX events_kill_switch ON events (seq) {built_as}",
    )
    rewrite_schema(control_path, "events_kill_switch", KILL_SWITCH_INDEX)
    with Ledger(control_path, read_only=True) as ledger:
        assert [e.seq for e in ledger.events_of_kind("kill_switch")] != [N]  # the harm
    found = problems(control_path)
    assert [p.step for p in found] == ["schema"], found
    assert "index events_kill_switch does not list exactly the kill_switch events" in (
        found[0].message
    )
    assert_tampered(control_path, "SQL indexes on events disagree with the rows")


def test_legacy_column_index_redefined_behind_sqlites_back_is_caught(ledger_path: Path) -> None:
    """A pre-lookups file: find() by trace goes through events_by_trace."""
    tamper(
        ledger_path,
        *(f"DROP TABLE {t}" for t in lookups._TABLES),
        "CREATE INDEX events_by_trace ON events (trace_id) WHERE trace_id IS NOT NULL AND seq > 9",
        "CREATE INDEX events_by_avid ON events (avid) WHERE avid IS NOT NULL",
        "CREATE INDEX events_by_authorization ON events (authorization_id) "
        "WHERE authorization_id IS NOT NULL",
    )
    rewrite_schema(
        ledger_path,
        "events_by_trace",
        "CREATE INDEX events_by_trace ON events (trace_id) WHERE trace_id IS NOT NULL",
    )
    with Ledger(ledger_path, read_only=True) as ledger:
        assert all(e.seq > 9 for e in ledger.find(trace_id="trace-1"))  # the harm
    found = problems(ledger_path)
    assert [p.step for p in found] == ["schema"], found
    assert "missing from index events_by_trace" in found[0].message


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        (
            "CREATE TRIGGER drop_denials BEFORE INSERT ON events "
            "WHEN NEW.decision = 'DENY' BEGIN SELECT RAISE(IGNORE); END",
            "unexpected trigger 'drop_denials'",
        ),
        (
            "CREATE VIEW audit AS SELECT * FROM events WHERE decision != 'DENY'",
            "unexpected view 'audit'",
        ),
        ("CREATE INDEX by_decision ON events (decision)", "unexpected index 'by_decision'"),
        (
            "CREATE TRIGGER events_no_delete BEFORE INSERT ON events "
            "WHEN NEW.decision = 'DENY' BEGIN SELECT RAISE(IGNORE); END",
            "trigger 'events_no_delete' is not defined as Canopy defines it",
        ),
    ],
    ids=["trigger", "view", "index", "canopy-trigger-rewritten"],
)
def test_planted_schema_objects_are_caught(
    ledger_path: Path, statement: str, fragment: str
) -> None:
    tamper(ledger_path, statement)  # (tamper drops Canopy's triggers first)
    found = problems(ledger_path)
    assert [p.step for p in found] == ["schema"], found
    assert fragment in found[0].message
    assert_tampered(ledger_path, fragment)


def test_events_replaced_by_a_view_stops_verification(ledger_path: Path) -> None:
    tamper(
        ledger_path,
        "ALTER TABLE events RENAME TO events_real",
        "CREATE VIEW events AS SELECT * FROM events_real",
    )
    found = problems(ledger_path)
    assert {p.step for p in found} == {"schema"}, found
    messages = " | ".join(p.message for p in found)
    assert "unexpected table 'events_real'" in messages
    assert "view 'events' is not defined as Canopy defines it" in messages


EVENTS_COLUMNS = (
    "ts TEXT, kind TEXT, trace_id TEXT, avid TEXT, authorization_id TEXT, action_type TEXT, "
    "decision TEXT, body TEXT, salt BLOB, leaf_hash BLOB, signature BLOB, nodes BLOB"
)


@pytest.mark.parametrize(
    "seq_column",
    ["seq REAL PRIMARY KEY", "seq INTEGER"],  # (used to crash / hid duplicate rows)
    ids=["real-seq", "no-primary-key"],
)
def test_events_table_redefined_is_reported_not_crashing(
    ledger_path: Path, seq_column: str
) -> None:
    tamper(
        ledger_path,
        "ALTER TABLE events RENAME TO events_old",
        f"CREATE TABLE events ({seq_column}, {EVENTS_COLUMNS})",
        "INSERT INTO events SELECT * FROM events_old",
        "DROP TABLE events_old",
    )
    found = problems(ledger_path)  # (and, for a non-integer key, its autoindex)
    assert {p.step for p in found} == {"schema"}, found
    assert "table 'events' is not defined as Canopy defines it" in found[0].message
    assert_tampered(ledger_path, "table 'events' is not defined as Canopy defines it")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("decision         TEXT,", "decision         TEXT COLLATE NOCASE,"),
        ("nodes            BLOB NOT NULL", "nodes BLOB NOT NULL, fake TEXT AS ('x') VIRTUAL"),
    ],
    ids=["collation", "generated-column"],
)
def test_events_definition_rewritten_through_writable_schema_is_caught(
    ledger_path: Path, old: str, new: str
) -> None:
    ddl = sql_value(ledger_path, "SELECT sql FROM sqlite_master WHERE name = 'events'")
    assert old in ddl
    rewrite_schema(ledger_path, "events", ddl.replace(old, new))
    found = problems(ledger_path)
    assert [p.step for p in found] == ["schema"], found
    assert "table 'events' is not defined as Canopy defines it" in found[0].message


def test_dropped_triggers_alone_are_a_warning_not_tampering(ledger_path: Path) -> None:
    tamper(ledger_path)  # drops every trigger, changes nothing else
    report = verify_ledger(ledger_path)
    assert report.ok
    assert len(report.warnings) == 1 and "events_no_update" in report.warnings[0]
    out = canopy("verify", str(ledger_path), "--json")
    assert out.returncode == 0
    assert "events_no_delete" in json.loads(out.stdout)["warnings"][0]


# --- sequence numbers ---------------------------------------------------------------


COPY_OF_EVENT_0 = (
    "INSERT INTO events SELECT {seq}, ts, kind, trace_id, avid, authorization_id, action_type, "
    "decision, body, salt, leaf_hash, signature, nodes FROM events WHERE seq = 0"
)


@pytest.mark.parametrize("seq", [10**12, 2**63 - 1], ids=["far", "max-int64"])
def test_a_row_planted_far_away_is_one_gap_not_a_hang(ledger_path: Path, seq: int) -> None:
    """Used to build a job per empty chunk up to it (memory exhaustion) or overflow."""
    tamper(ledger_path, COPY_OF_EVENT_0.format(seq=seq))
    report = verify_ledger(ledger_path)
    assert report.size == seq + 1
    assert report.first_problem == Problem("events", N, f"event {N} is missing")
    far_chunk = seq - seq % CHUNK
    gap = Problem("events", CHUNK, f"events {CHUNK} to {far_chunk - 1} are missing")
    assert gap in report.problems


def test_rows_below_zero_are_reported(ledger_path: Path) -> None:
    tamper(ledger_path, COPY_OF_EVENT_0.format(seq=-1))
    found = problems(ledger_path)
    assert found == [Problem("events", None, "1 rows have negative sequence numbers (from -1)")]


# --- metadata, keys, checkpoints ----------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"), [("schema_version", "7"), ("format", "other")], ids=["version", "format"]
)
def test_edited_metadata_rows_are_caught(ledger_path: Path, key: str, value: str) -> None:
    tamper(ledger_path, f"UPDATE ledger_meta SET value = '{value}' WHERE key = '{key}'")
    found = problems(ledger_path)
    assert [(p.step, p.seq) for p in found] == [("open", None)]
    assert f"ledger metadata {key} is {value!r}" in found[0].message


def test_garbage_signing_key_row_is_tampering_not_a_usage_error(control_path: Path) -> None:
    tamper(control_path, "UPDATE signing_keys SET vkey = 'garbage' WHERE from_seq > 0")
    found = problems(control_path)
    assert [p.step for p in found] == ["keys"]
    assert "the signing key from event 43 on is malformed" in found[0].message
    assert_tampered(control_path, "is malformed")  # was exit 2, "error:"


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        (  # used to crash: the root column was looked up by the note's size
            "UPDATE checkpoints SET size = 100000 WHERE size = 16",
            "checkpoint row 100000 holds the note of size 16",
        ),
        (  # used to pass: checkpoint_at(16) then returned the checkpoint of 24
            "UPDATE checkpoints SET note = (SELECT note FROM checkpoints WHERE size = 24) "
            "WHERE size = 16",
            "checkpoint row 16 holds the note of size 24",
        ),
        ("UPDATE checkpoints SET note = 'garbage' WHERE size = 16", "checkpoint row 16: malformed"),
        (
            "UPDATE checkpoints SET note = CAST(note AS BLOB) WHERE size = 16",
            "checkpoint row 16: its note is a blob",
        ),
        (
            "UPDATE checkpoints SET note = CAST(x'ff0a' AS TEXT) WHERE size = 16",
            "checkpoint row 16: malformed note",
        ),
    ],
    ids=["size-column", "other-note", "garbage", "blob", "not-utf8"],
)
def test_damaged_checkpoint_rows_are_reported(
    ledger_path: Path, statement: str, fragment: str
) -> None:
    tamper(ledger_path, statement)
    found = problems(ledger_path)
    assert {p.step for p in found} == {"checkpoints"}, found
    assert fragment in found[0].message
    assert_tampered(ledger_path, fragment)


def test_unauthenticated_rotation_fields_do_not_crash_later_steps(control_path: Path) -> None:
    edit_body(control_path, 42, jcs(body_of(control_path, 42) | {"new_key_signature": "abcd"}))
    problem = first(control_path)
    assert (problem.step, problem.seq) == ("events", 42)
    assert_tampered(control_path, "event 42")  # was exit 2: "signature must be 64 bytes"


def test_unauthenticated_index_commitment_does_not_crash_later_steps(control_path: Path) -> None:
    raw = decode_body(sql_value(control_path, "SELECT body FROM events WHERE seq = 41"))
    edit_body(control_path, 41, raw.replace(f'"index_size":{N + 1}', '"index_size":Infinity'))
    problem = first(control_path)
    assert (problem.step, problem.seq) == ("events", 41)
    assert_tampered(control_path, "event 41")  # was a traceback (OverflowError)


def test_wrong_verifier_key_is_rejected_clearly(ledger_path: Path) -> None:
    """(Already so before: kept as the explicit check of the CLI's answer.)"""
    stranger = generate_signer("canopy.ledger/stranger").verifier
    report = verify_ledger(ledger_path, trusted_keys=[stranger])
    assert report.problems == [
        Problem("keys", None, "the ledger is not signed by any of the given public keys")
    ]
    out = canopy("verify", str(ledger_path), "--public-key", stranger.vkey, "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["first_problem"]["step"] == "keys"


def test_a_public_key_file_beside_the_ledger_is_flagged(ledger_path: Path) -> None:
    """Whoever swaps the ledger for a re-signed one can swap that file too."""
    with Ledger(ledger_path, read_only=True) as ledger:
        (ledger_path.parent / "ledger.vkey").write_text(ledger.verifier.vkey + "\n")
    out = canopy(
        "verify", str(ledger_path), "--public-key", str(ledger_path.parent / "ledger.vkey")
    )
    assert out.returncode == 0
    assert "sit beside the ledger" in out.stdout


# --- a live ledger --------------------------------------------------------------------


def test_appends_during_verification_are_not_tampering(tmp_path: Path) -> None:
    """The parent used to read size, checkpoints and lookups at different moments:
    a writer crossing a lookup stride meanwhile made it report TAMPERED."""
    path = tmp_path / "live.db"
    with Ledger(path, checkpoint_interval=10) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(990)])
    writer = Ledger(path, checkpoint_interval=10)

    def append_once(done: int, _total: int) -> None:
        if writer.size() == 990:
            writer.append_batch([("authorization", event_fields(i)) for i in range(990, 1025)])

    report: VerificationReport = verify_ledger(path, progress=append_once, chunk_level=4, workers=1)
    writer.close()
    assert report.ok, report.problems
    assert report.size == 990
    assert verify_ledger(path).size == 1025


# --- proofs an auditor checks with the verifier key alone -----------------------------


@pytest.fixture
def inclusion(ledger_path: Path) -> tuple[dict[str, Any], list]:
    with Ledger(ledger_path, read_only=True) as ledger:
        doc = build_inclusion_proof(ledger, 3, disclose=["decision"]).to_json()
        return doc, [ledger.verifier]


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("value", [float("nan"), 2**80, nested(5000)], ids=["nan", "huge", "deep"])
def test_revealed_values_no_event_can_hold_are_malformed_proofs(
    inclusion: tuple[dict[str, Any], list], value: Any
) -> None:
    doc, keys = inclusion
    doc = copy.deepcopy(doc)
    doc["event"]["revealed"]["extra"] = {"value": value, "salt": "A" * 22 + "=="}
    with pytest.raises(MalformedProofError, match="not canonical JSON"):
        verify_inclusion_proof(doc, keys)  # was CanonicalEncodingError: exit 2


def test_event_signature_of_the_wrong_length_is_a_signature_error(
    inclusion: tuple[dict[str, Any], list],
) -> None:
    doc, keys = inclusion
    doc = {**doc, "event_signature": "AAAA"}
    with pytest.raises(SignatureError, match="signature does not verify"):
        verify_inclusion_proof(doc, keys)  # was nacl ValueError: exit 2


def test_deeply_nested_proof_file_is_refused_without_a_traceback(
    inclusion: tuple[dict[str, Any], list], tmp_path: Path
) -> None:
    doc, keys = inclusion
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(doc)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    for command in (("proof", "verify"), ("prove-absent", "--verify")):
        out = canopy(*command, str(proof), "--public-key", keys[0].vkey)
        assert out.returncode == 2, out.stderr
        assert "Traceback" not in out.stderr and "not JSON a proof can be" in out.stderr


@pytest.fixture
def keyed_proof(tmp_path: Path) -> tuple[Path, dict[str, Any], list]:
    path = tmp_path / "keyed.db"
    with Ledger(path, checkpoint_interval=8) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(N)])
        commit_index(ledger)
        ledger.checkpoint()
        proof = build_keyed_proof(ledger, AbsenceQuery(trace_id="trace-none"))
        keys = [ledger.verifier]
    assert proof is not None and verify_absence_proof(proof, keys)
    return path, proof, keys


def test_keyed_absence_proof_checks_the_trusted_checkpoint(
    keyed_proof: tuple[Path, dict[str, Any], list],
) -> None:
    """It used to ignore it: any text passed, even one signed by a stranger."""
    path, proof, keys = keyed_proof
    size = int(proof["checkpoint"].split("\n")[1])
    stranger = generate_signer(keys[0].name)
    foreign = sign_note(f"{keys[0].name}\n{size}\n{'A' * 43}=\n", stranger)
    with pytest.raises(VerificationError, match="no signature by a trusted key"):
        verify_absence_proof(proof, keys, trusted_checkpoint=foreign)
    with Ledger(path, read_only=True) as ledger:
        genuine = ledger.checkpoint_at(size)
    assert genuine is not None
    assert verify_absence_proof(proof, keys, trusted_checkpoint=genuine.note)


def test_keyed_absence_proof_from_a_resigned_rewrite_fails_the_trusted_checkpoint(
    keyed_proof: tuple[Path, dict[str, Any], list], tmp_path: Path
) -> None:
    """Same (stolen) key, same origin, same size, other events: roots differ."""
    path, proof, keys = keyed_proof
    size = int(proof["checkpoint"].split("\n")[1])
    with Ledger(path, read_only=True) as ledger:
        kept = ledger.checkpoint_at(size)
        origin = ledger.origin
    assert kept is not None
    forged = tmp_path / "forged.db"
    shutil.copy(f"{path}.key", f"{forged}.key")
    Ledger(forged).close()
    tamper(forged, "UPDATE ledger_meta SET value = ? WHERE key = 'origin'", params=(origin,))
    with Ledger(forged, checkpoint_interval=8) as ledger:
        ledger.append_batch([("authorization", {**event_fields(i), "n": 1}) for i in range(N)])
        commit_index(ledger)
        ledger.checkpoint()
        rewritten = build_keyed_proof(ledger, AbsenceQuery(trace_id="trace-none"))
    assert rewritten is not None and verify_absence_proof(rewritten, keys)
    with pytest.raises(RootMismatchError, match="differs from the trusted checkpoint"):
        verify_absence_proof(rewritten, keys, trusted_checkpoint=kept.note)


def test_window_bounds_must_be_integers_not_booleans(
    keyed_proof: tuple[Path, dict[str, Any], list],
) -> None:
    _path, proof, keys = keyed_proof
    bad = {**proof, "window": {"from": 0, "to": True}}
    with pytest.raises(MalformedProofError, match="window bounds must be integers"):
        verify_absence_proof(bad, keys)


# --- raw bytes of the file --------------------------------------------------------


def garble_page(path: Path, page_number: int) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with path.open("r+b") as f:
        f.seek(page_size * (page_number - 1))
        f.write(bytes(range(256)) * (page_size // 256))


def test_a_garbled_events_page_is_reported_not_a_traceback(ledger_path: Path) -> None:
    root = sql_value(ledger_path, "SELECT rootpage FROM sqlite_master WHERE name = 'events'")
    garble_page(ledger_path, root)
    found = problems(ledger_path)
    assert [p.step for p in found] == ["file"], found
    assert "SQLite cannot read what the file stores" in found[0].message
    assert_tampered(ledger_path, "SQLite cannot read what the file stores")


def test_a_garbled_header_is_a_clear_unreadable_file_error(ledger_path: Path) -> None:
    garble_page(ledger_path, 1)
    out = canopy("verify", str(ledger_path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "error:" in out.stderr
