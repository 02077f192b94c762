"""The SQLite store: creation, reopening, schema checks, keys, appends, rotation."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_helpers import build, event_fields, sql_value, tamper
from merkle_reference import mth

from canopy.errors import (
    CanonicalEncodingError,
    KeyFileError,
    LedgerWriteError,
    MalformedInputError,
    NotALedgerError,
)
from canopy.ledger.events import Event, event_signature_message
from canopy.ledger.keys import SIGNING_KEY_ENV
from canopy.ledger.merkle import leaf_hash
from canopy.ledger.note import Verifier, generate_signer
from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger


def test_created_on_first_use_with_private_key(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "audit.log"
    with Ledger(path) as ledger:
        assert ledger.size() == 0
        receipt = ledger.append("authorization", event_fields(0))
        vkey = Verifier.from_vkey(ledger.verifier.vkey)
        origin = ledger.origin
    key = Path(f"{path}.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert receipt.seq == 0 and len(receipt.signature) == 64
    assert vkey.name == origin  # a key created for a ledger is named after its origin


def test_reopen_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with build(path, 13) as ledger:
        origin, root = ledger.origin, ledger.root()
    with Ledger(path) as again:
        assert (again.origin, again.size(), again.root()) == (origin, 13, root)
        assert again.append("x", {}).seq == 13


def test_root_matches_reference_and_leaves_match_events(tmp_path: Path) -> None:
    with build(tmp_path / "l.db", 21) as ledger:
        events = list(ledger.iter_events())
        leaves = [e.event.leaf_bytes() for e in events]
        assert [leaf_hash(b) for b in leaves] == [e.leaf_hash for e in events]
        assert ledger.root() == mth(leaves)
        for size in range(1, 22):
            assert ledger.root(size) == mth(leaves[:size])


def test_fields_round_trip_exactly(tmp_path: Path) -> None:
    fields = {
        **event_fields(3),
        "nested": {"a": [1, 2.5, None, True, "ü"], "z": {}},
        "big": 2**53 - 1,
        "text": "line\nbreak \u2028 \U0001f600",
    }
    with Ledger(tmp_path / "l.db") as ledger:
        seq = ledger.append("tool_result", fields).seq
        stored = ledger.get(seq)
    assert stored.kind == "tool_result"
    assert dict(stored.fields) == fields
    assert stored.event.leaf_hash() == stored.leaf_hash


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"x": float("nan")}, CanonicalEncodingError),
        ({"x": float("inf")}, CanonicalEncodingError),
        ({"x": b"bytes"}, CanonicalEncodingError),
        ({"x": {1, 2}}, CanonicalEncodingError),
        ({"x": 2**60}, CanonicalEncodingError),
        ({"trace_id": 5}, MalformedInputError),
        ({"trace_id": None}, MalformedInputError),
        ({"Bad-Name": 1}, MalformedInputError),
    ],
)
def test_bad_values_are_refused_and_nothing_is_written(
    tmp_path: Path, fields: dict, error: type[Exception]
) -> None:
    with build(tmp_path / "l.db", 3) as ledger:
        with pytest.raises(error):
            ledger.append("authorization", fields)
        with pytest.raises(error):
            ledger.append_batch([("x", {}), ("authorization", fields)])
        assert ledger.size() == 3
    assert verify_ledger(tmp_path / "l.db").ok


def test_bad_kind_is_refused(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger, pytest.raises(MalformedInputError):
        ledger.append("Not A Kind", {})


def test_store_accepts_any_kind(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.append("something_new_later", {"a": 1})
        assert ledger.find(kind="something_new_later")[0].fields == {"a": 1}


def test_checkpoints_every_interval_and_on_demand(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path, checkpoint_interval=5) as ledger:
        receipts = ledger.append_batch([("x", {"i": i}) for i in range(12)])
        assert [c.size for c in ledger.checkpoints()] == [5, 10]
        assert receipts[4].checkpoint is not None and receipts[4].checkpoint.size == 5
        assert receipts[5].checkpoint is None
        single = [ledger.append("x", {}) for _ in range(3)]
        assert single[-1].checkpoint is not None and single[-1].checkpoint.size == 15
        now = ledger.checkpoint()
        assert now.size == 15 and ledger.checkpoint() == now  # idempotent
        ledger.append("x", {})
        assert ledger.checkpoint().size == 16
        assert ledger.latest_checkpoint().size == 16


def test_large_batches_are_written_in_order_with_valid_receipts(tmp_path: Path) -> None:
    """A batch large enough to be signed on two threads lands in order, seals
    every interval, and each receipt's signature is the stored one and verifies."""
    path = tmp_path / "l.db"
    n = 1000
    with Ledger(path, checkpoint_interval=300) as ledger:
        ledger.append("x", {"first": True})
        receipts = ledger.append_batch(
            ("authorization", {**event_fields(i), "note": "n" * (i % 300)}) for i in range(n)
        )
        assert [r.seq for r in receipts] == list(range(1, n + 1))
        assert [r.seq for r in receipts if r.checkpoint] == [299, 599, 899]
        verifier = ledger.verifier
        for r in receipts[::97]:
            stored = ledger.get(r.seq)
            assert (stored.leaf_hash, stored.signature) == (r.leaf_hash, r.signature)
            assert stored.fields["note"] == "n" * ((r.seq - 1) % 300)
            message = event_signature_message(ledger.origin, r.seq, r.leaf_hash)
            assert verifier.verify(message, r.signature)
    assert verify_ledger(path).ok


def test_a_bad_event_deep_in_a_large_batch_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with build(path, 3) as ledger:
        events = [("authorization", event_fields(i)) for i in range(900)]
        events[700] = ("authorization", {"amount": float("nan")})
        with pytest.raises(CanonicalEncodingError):
            ledger.append_batch(events)
        assert ledger.size() == 3
        ledger.append_batch(events[:5])
        assert ledger.size() == 8
    assert verify_ledger(path).ok


def test_commit_durability_still_seals_every_interval(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path, checkpoint_interval=5, durability="commit") as ledger:
        assert ledger.durability == "commit"
        singles = [ledger.append("x", {"i": i}) for i in range(7)]
        assert singles[4].checkpoint is not None and singles[4].checkpoint.size == 5
        batch = ledger.append_batch([("x", {"i": i}) for i in range(9)])
        assert [r.checkpoint.size for r in batch if r.checkpoint] == [10, 15]
        assert [c.size for c in ledger.checkpoints()] == [5, 10, 15]
        assert ledger.checkpoint().size == 16
    assert verify_ledger(path).ok


def test_durability_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="durability must be one of fsync, commit"):
        Ledger(tmp_path / "a.db", durability="sometimes")
    monkeypatch.setenv("CANOPY_DURABILITY", "never")
    with pytest.raises(ValueError, match="CANOPY_DURABILITY"):
        Ledger(tmp_path / "b.db")
    monkeypatch.setenv("CANOPY_DURABILITY", "commit")
    with Ledger(tmp_path / "c.db") as ledger:
        assert ledger.durability == "commit"


_COUNT_SYNCS = r"""
import sys
from canopy.ledger.store import Ledger
ledger = Ledger(sys.argv[1], durability=sys.argv[2], checkpoint_interval=10_000)
ledger.append("x", {"warm": True})
print("plain", flush=True)
sys.stdin.readline()
for i in range(40):
    ledger.append("authorization", {"i": i})
print("control", flush=True)
sys.stdin.readline()
ledger.append("kill_switch", {"state": "on", "scope": "*"})
print("done", flush=True)
sys.stdin.readline()
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize(("durability", "plain_syncs"), [("fsync", 40), ("commit", 0)])
def test_what_each_durability_mode_fsyncs(
    tmp_path: Path, durability: str, plain_syncs: int
) -> None:
    """Counted in the kernel: fsync mode syncs every event; commit mode syncs no
    plain event but still syncs a control event (and so everything before it)."""
    import subprocess
    import sys

    log = tmp_path / "syncs.log"
    proc = subprocess.Popen(
        [
            "strace",
            "-f",
            "-e",
            "trace=fsync,fdatasync",
            "-o",
            str(log),
            sys.executable,
            "-c",
            _COUNT_SYNCS,
            str(tmp_path / "l.db"),
            durability,
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    counts = []
    for _ in ("plain", "control", "done"):
        proc.stdout.readline()
        counts.append(log.read_text().count("sync("))
        proc.stdin.write("\n")
        proc.stdin.flush()
    proc.wait(timeout=30)
    assert counts[1] - counts[0] == plain_syncs
    assert counts[2] - counts[1] >= 1


def test_checkpoint_is_a_c2sp_note_signed_by_the_ledger_key(tmp_path: Path) -> None:
    from canopy.ledger.checkpoint import SignedCheckpoint

    with build(tmp_path / "l.db", 9) as ledger:
        signed = ledger.checkpoint()
        opened = SignedCheckpoint.open(signed.note, [ledger.verifier])
        assert opened.checkpoint == signed.checkpoint
        lines = signed.note.split("\n")
        assert lines[0] == ledger.origin and lines[1] == "9" and lines[3] == ""
        assert lines[4].startswith("\u2014 " + ledger.verifier.name + " ")


def test_find_uses_indexed_fields(tmp_path: Path) -> None:
    with build(tmp_path / "l.db", 30) as ledger:
        hits = ledger.find(trace_id="trace-2")
        assert [h.seq for h in hits] == [i for i in range(30) if i % 5 == 2]
        assert ledger.find(trace_id="trace-2", decision="ALLOW")[0].seq == 12
        with pytest.raises(MalformedInputError):
            ledger.find(payload="x")


def test_not_a_ledger_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "audit.log"
    text.write_text('{"event": "legacy jsonl"}\n')
    with pytest.raises(NotALedgerError, match="JSONL"):
        Ledger(text)
    assert text.read_text() == '{"event": "legacy jsonl"}\n'  # untouched
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(NotALedgerError, match="not a Canopy ledger"):
        Ledger(other)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(NotALedgerError, match="empty"):
        Ledger(empty)
    assert empty.stat().st_size == 0
    with pytest.raises(NotALedgerError, match="does not exist"):
        Ledger(tmp_path / "missing.db", create=False)


def test_unknown_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path, 2).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(NotALedgerError, match="version 99"):
        Ledger(path)


def test_wrong_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path, 2).close()
    key = Path(f"{path}.key")
    key.unlink()
    key.write_text(generate_signer("intruder").skey + "\n")
    key.chmod(0o600)
    with pytest.raises(KeyFileError, match="is not the key"):
        Ledger(path)
    with Ledger(path, read_only=True) as ledger:  # reading needs no key
        assert ledger.size() == 2


def test_open_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path, 1).close()
    os.chmod(f"{path}.key", 0o644)
    with pytest.raises(KeyFileError, match="chmod 600"):
        Ledger(path)


def test_signing_key_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_path = tmp_path / "keys" / "canopy.key"
    key_path.parent.mkdir()
    monkeypatch.setenv(SIGNING_KEY_ENV, str(key_path))
    with Ledger(tmp_path / "a.db") as a:
        a.append("x", {})
        vkey = a.verifier.vkey
    assert key_path.exists() and not Path(f"{tmp_path / 'a.db'}.key").exists()
    with Ledger(tmp_path / "b.db") as b:  # the same key serves another ledger
        assert b.verifier.vkey == vkey and b.origin != a.origin


def test_key_rotation_is_signed_by_the_old_key(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with build(path, 10, interval=4) as ledger:
        old = ledger.verifier
        receipt = ledger.rotate_key()
        new = ledger.verifier
        assert new != old
        assert receipt.key_id == old.key_id  # the rotation event itself: old key
        after = ledger.append_batch([("x", {"i": i}) for i in range(6)])
        assert all(r.key_id == new.key_id for r in after)
        rotation = ledger.get(receipt.seq)
        assert rotation.fields["old_vkey"] == old.vkey
        assert rotation.fields["new_vkey"] == new.vkey
        assert [s for s, _ in ledger.key_schedule()] == [0, receipt.seq + 1]
    report = verify_ledger(path, trusted_keys=[old])
    assert report.ok, report.problems
    assert "genesis" in report.trust_anchor
    with Ledger(path) as reopened:  # the key file now holds the new key
        assert reopened.append("x", {}).key_id == new.key_id


def test_interrupted_rotation_is_completed_on_open(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    key = Path(f"{path}.key")
    with build(path, 3) as ledger:
        old_skey = key.read_text()
        ledger.rotate_key()
        new_vkey = ledger.verifier.vkey
    # A crash after the rotation committed but before the new key replaced the
    # old one leaves: old key in place, new key in <key>.next.
    os.replace(key, Path(f"{path}.key.next"))
    key.write_text(old_skey)
    key.chmod(0o600)
    with Ledger(path) as ledger:
        assert ledger.verifier.vkey == new_vkey
        assert ledger.append("x", {}).seq == 4
    assert not Path(f"{path}.key.next").exists()
    assert verify_ledger(path).ok


def test_disclosure_rebuilds_the_leaf(tmp_path: Path) -> None:
    with build(tmp_path / "l.db", 4) as ledger:
        stored = ledger.get(2)
    view = stored.event.disclose(["trace_id"])
    assert set(view.revealed) == {"trace_id"}
    assert "payload" in view.hidden and "trace_id" not in view.hidden
    assert view.leaf_hash() == stored.leaf_hash
    again = type(view).from_json(view.to_json())
    assert again.leaf_hash() == stored.leaf_hash
    lied = view.to_json()
    lied["revealed"]["trace_id"]["value"] = "trace-4"
    assert type(view).from_json(lied).leaf_hash() != stored.leaf_hash


def test_field_salts_hide_values(tmp_path: Path) -> None:
    """Two events with the same field value commit to it with different digests."""
    with Ledger(tmp_path / "l.db") as ledger:
        a = ledger.append("x", {"decision": "ALLOW"})
        b = ledger.append("x", {"decision": "ALLOW"})
        ea, eb = ledger.get(a.seq).event, ledger.get(b.seq).event
    assert ea.digests()["decision"] != eb.digests()["decision"]
    assert Event(0, ea.ts, "x", {"decision": "ALLOW"}, ea.salt).digests() == {
        "decision": ea.digests()["decision"]
    }


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    build(path, 2).close()
    with Ledger(path, read_only=True) as ledger, pytest.raises(LedgerWriteError):
        ledger.append("x", {})


def test_tampered_frontier_does_not_poison_new_appends(tmp_path: Path) -> None:
    """A write that fails leaves the in-memory tree untouched."""
    path = tmp_path / "l.db"
    with build(path, 5) as ledger:
        tamper(
            path,
            "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.seq = 6 "
            "BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
        )
        with pytest.raises(LedgerWriteError, match="disk says no"):
            ledger.append_batch([("x", {}), ("x", {})])  # completes a node at 6
        assert ledger.size() == 5
        conn = sqlite3.connect(path)
        conn.execute("DROP TRIGGER boom")
        conn.commit()
        conn.close()
        ledger.append_batch([("x", {}), ("x", {})])
    report = verify_ledger(path)
    assert not any(p.step in {"events", "sigs", "tree"} for p in report.problems)


def test_large_bodies_are_stored_deflated_and_round_trip(tmp_path: Path) -> None:
    from canopy.ledger.bodies import decode_body, encode_body

    big = {**event_fields(1), "detail": {"reason": "x" * 300, "policy_hash": "ab" * 32}}
    with Ledger(tmp_path / "l.db") as ledger:
        seq = ledger.append("authorization", big).seq
        stored = ledger._conn.execute("SELECT body FROM events WHERE seq = ?", (seq,)).fetchone()
        assert isinstance(stored[0], bytes) and len(stored[0]) < 300
        assert dict(ledger.get(seq).fields) == big
    assert encode_body("{}") == "{}"
    assert decode_body(encode_body('{"a":"' + "b" * 400 + '"}')) == '{"a":"' + "b" * 400 + '"}'
    assert verify_ledger(tmp_path / "l.db").ok


def test_bodies_of_every_container_version_still_decode() -> None:
    """Ledgers written with container version 1 (window 2^10) stay readable
    after version 2 (window 2^12, new dictionary) became the one written."""
    import zlib

    from canopy.ledger import bodies

    text = '{"detail":{"reason":"' + "z" * 200 + '","severity":"low"}}'
    v1 = zlib.compressobj(6, zlib.DEFLATED, -10, 4, zlib.Z_DEFAULT_STRATEGY, bodies._DICTIONARY_V1)
    container_v1 = b"\x01" + v1.compress(text.encode()) + v1.flush()
    assert bodies.decode_body(container_v1) == text
    written = bodies.encode_body(text)
    assert isinstance(written, bytes) and written[0] == 2
    assert bodies.decode_body(written) == text
    # A version-2 stream read as version 1 (or any unknown version) is an error.
    with pytest.raises(CanonicalEncodingError):
        bodies.decode_body(b"\x07" + written[1:])


def test_damaged_deflated_body_is_reported_not_crashing(tmp_path: Path) -> None:
    big = {**event_fields(1), "detail": {"reason": "y" * 300}}
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        ledger.append("authorization", big)
    tamper(path, "UPDATE events SET body = substr(body, 1, 20) WHERE seq = 0")
    report = verify_ledger(path)
    assert (report.first_problem.step, report.first_problem.seq) == ("events", 0)
    assert "decompress" in report.first_problem.message or "decoded" in report.first_problem.message


def test_control_events_use_their_partial_index(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.db") as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(50)])
        on = ledger.append("kill_switch", {"state": "on"})
        ledger.append_batch([("authorization", event_fields(i)) for i in range(5)])
        assert [e.seq for e in ledger.events_of_kind("kill_switch")] == [on.seq]
        assert ledger.events_of_kind("kill_switch", after=on.seq) == []
        plan = ledger._conn.execute(
            "EXPLAIN QUERY PLAN SELECT seq FROM events INDEXED BY events_kill_switch "
            "WHERE kind = 'kill_switch' AND seq > -1 ORDER BY seq"
        ).fetchall()
        assert "events_kill_switch" in str(plan)
        with pytest.raises(ValueError):
            ledger.events_of_kind("authorization")


def test_missing_kind_index_is_rebuilt_or_scanned(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as ledger:
        ledger.append("incident", {"incident_id": "inc-1", "description": "x"})
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX events_incident")
    conn.commit()
    conn.close()
    with Ledger(path, read_only=True) as reader:  # cannot add it: scans instead
        assert [e.fields["incident_id"] for e in reader.events_of_kind("incident")] == ["inc-1"]
    with Ledger(path) as writer:  # a writable open adds it back
        names = {r[0] for r in writer._conn.execute("SELECT name FROM sqlite_master")}
        assert "events_incident" in names
    assert verify_ledger(path).ok


def test_rare_events_token_moves_only_when_rare_events_may_exist(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with Ledger(path) as ledger, Ledger(path) as other:
        start = ledger.rare_events_token()
        ledger.append("authorization", {"i": 1})
        assert ledger.rare_events_token() == start  # our own plain events: no change
        ledger.append("kill_switch", {"state": "on", "scope": "*"})
        mine = ledger.rare_events_token()
        assert mine != start
        other.append("authorization", {"i": 2})  # another connection: may be anything
        assert ledger.rare_events_token() != mine


def test_a_plain_append_is_one_statement_once_the_size_is_known(tmp_path: Path) -> None:
    """The common append is a single INSERT in SQLite's implicit transaction:
    no BEGIN, no size query, no separate COMMIT (see Ledger._append_in_one_statement)."""
    with Ledger(tmp_path / "l.db", checkpoint_interval=1000) as ledger:
        ledger.append("authorization", event_fields(0))  # learns size, tree and key
        statements: list[str] = []
        ledger._conn.set_trace_callback(statements.append)
        receipt = ledger.append("authorization", event_fields(1))
        ledger._conn.set_trace_callback(None)
        assert receipt.seq == 1
        assert len(statements) == 1 and statements[0].startswith("INSERT INTO events")
    assert verify_ledger(tmp_path / "l.db").ok


def test_two_writers_taking_turns_never_fork_the_ledger(tmp_path: Path) -> None:
    """Each writer's known size goes stale at every turn: its one-statement insert
    collides on seq, nothing is written, and the full path reloads size and tree."""
    path = tmp_path / "l.db"
    first, second = Ledger(path, checkpoint_interval=7), Ledger(path, checkpoint_interval=7)
    with first, second:
        seqs = []
        for i in range(60):
            writer = first if i % 3 else second
            seqs.append(writer.append("authorization", event_fields(i)).seq)
        assert seqs == list(range(60))
        assert first.root() == second.root()
    report = verify_ledger(path)
    assert report.ok, [str(p) for p in report.problems]
    assert sql_value(path, "SELECT count(*) FROM events") == 60


def test_opening_a_ledger_again_keeps_the_open_connections_locks(tmp_path: Path) -> None:
    """A second open in the same process must not drop the first one's SQLite locks.

    Closing any descriptor on a database file releases all of the process's POSIX
    locks on it; an open that read the header with a plain file descriptor made
    the next closing connection believe it was the last and delete the -shm
    under the writer (seen as "disk I/O error" on a later open).
    """
    path = tmp_path / "audit.log"
    writer = Ledger(path)
    writer.append("authorization", {"decision": "ALLOW", "n": 0})
    shm = Path(f"{path}-shm")
    assert shm.exists()
    for read_only in (True, False, True):
        with Ledger(path, read_only=read_only) as other:
            assert other.size() == 1
        assert shm.exists(), f"-shm deleted after closing a read_only={read_only} ledger"
    script = (
        "import sys; from canopy.ledger.store import Ledger\n"
        "with Ledger(sys.argv[1]) as l: l.append('authorization', {'decision': 'DENY'})\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    writer.append("authorization", {"decision": "ALLOW", "n": 2})
    with Ledger(path, read_only=True) as reader:
        assert [e.fields["decision"] for e in reader.iter_events()] == ["ALLOW", "DENY", "ALLOW"]
    writer.close()
    assert verify_ledger(path).ok
