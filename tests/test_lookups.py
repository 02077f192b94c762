"""Lookups by trace, agent and authorization id (canopy/ledger/lookups.py).

Whatever the index has caught up with, a lookup must return exactly the events
a full scan of the columns returns: before and after each catch-up, after a
migration from per-column indexes, and when the derived tables are stale.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_helpers import event_fields, sql_value, tamper

from canopy.forensics import frames as fx
from canopy.ledger import lookups
from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

LEGACY_DDL = (
    "CREATE INDEX events_by_trace ON events (trace_id) WHERE trace_id IS NOT NULL",
    "CREATE INDEX events_by_avid ON events (avid) WHERE avid IS NOT NULL",
    "CREATE INDEX events_by_authorization ON events (authorization_id) "
    "WHERE authorization_id IS NOT NULL",
)


def scan(path: Path, column: str, value: str) -> list[int]:
    """The reference: every event whose column equals value, by a full scan."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            f"SELECT seq FROM events NOT INDEXED WHERE {column} = ? ORDER BY seq", (value,)
        )
        return [seq for (seq,) in rows]
    finally:
        conn.close()


def progress(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT indexed_size FROM lookup_progress").fetchone()[0]
    finally:
        conn.close()


def assert_lookups_agree(ledger: Ledger, values: dict[str, list[str]]) -> None:
    for column, candidates in values.items():
        for value in candidates:
            expected = scan(ledger.path, column, value)
            assert [e.seq for e in ledger.find(**{column: value})] == expected, (column, value)
            frame = fx.events(ledger.path, **{column: value})
            assert list(frame["seq"]) == expected, (column, value)


VALUES = {
    "trace_id": [f"trace-{i}" for i in range(6)],
    "avid": [f"AVID-{i:032x}" for i in range(4)],
    "authorization_id": [f"auth-{i:06d}" for i in (0, 3, 7, 8, 20, 41, 99)],
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=8))
def test_lookups_equal_a_full_scan_at_every_step(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch, batches: list[int]
) -> None:
    monkeypatch.setattr(lookups, "LOOKUP_STRIDE", 4)
    monkeypatch.setattr(lookups, "LOOKUP_FANOUT", 2)  # merges of every level, early
    monkeypatch.setattr(lookups, "MERGE_STEP_KEYS", 1)  # ... in several steps each
    path = tmp_path_factory.mktemp("lookups") / "ledger.db"
    with Ledger(path, checkpoint_interval=5) as ledger:
        n = indexed = 0
        for count in batches:
            events = [("authorization", event_fields(n + i)) for i in range(count)]
            if count == 1:
                ledger.append(*events[0])
            else:
                ledger.append_batch(events)
            if (n + count) // 4 > n // 4:  # this transaction reached a multiple of 4
                indexed = n + count
            n += count
            assert progress(path) == indexed
            assert_lookups_agree(ledger, VALUES)
            assert_runs_are_consistent(path)
    assert verify_ledger(path).ok


def run_list(path: Path) -> list[tuple[int, int, int, int]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT run, level, from_seq, to_seq FROM lookup_run_list").fetchall()
    finally:
        conn.close()


def assert_runs_are_consistent(path: Path) -> None:
    """Listed runs cover the indexed events once, in order, oldest at the highest
    level; a level below the top holds a full set of runs only while a merge
    of it is under way; a run being built holds exactly the first keys, in
    key order, of the runs it merges, up to its last copied key."""
    runs = sorted(run_list(path), key=lambda r: r[2])
    assert [r[2] for r in runs[1:]] == [r[3] for r in runs[:-1]]
    assert (runs[-1][3] if runs else 0) == progress(path)
    assert [r[1] for r in runs] == sorted((r[1] for r in runs), reverse=True)
    conn = sqlite3.connect(path)
    try:
        merges = conn.execute("SELECT run, level, sources, field, value, seq FROM lookup_merges")
        merging = set()
        for run, level, sources, *last in merges.fetchall():
            merging.add(level - 1)
            numbers = [int(n) for n in sources.split(",")]
            assert all(r[0] in numbers and r[1] == level - 1 for r in runs if r[0] in numbers)
            assert len(numbers) == lookups.LOOKUP_FANOUT and run not in {r[0] for r in runs}
            keys = "SELECT field, value, seq FROM lookup_runs WHERE run "
            source_keys = sorted(conn.execute(f"{keys} IN ({sources})").fetchall())
            built = conn.execute(f"{keys} = ? ORDER BY field, value, seq", (run,)).fetchall()
            assert built == source_keys[: len(built)]
            assert (built[-1] if built else (None, None, None)) == tuple(last)
        for level in range(lookups.TOP_LEVEL):
            waiting = sum(r[1] == level for r in runs) - lookups.LOOKUP_FANOUT * (level in merging)
            assert waiting < lookups.LOOKUP_FANOUT
    finally:
        conn.close()


def test_catch_up_indexes_each_key_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lookups, "LOOKUP_STRIDE", 10)
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        for i in range(25):
            ledger.append("authorization", event_fields(i))
        ledger.append("kill_switch", {"active": True})  # no keys at all
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT field, value, seq FROM lookup_runs ORDER BY seq, field").fetchall()
    assert conn.execute("SELECT count(*) FROM lookup_keys").fetchone()[0] == 0  # no base
    conn.close()
    assert run_list(path) == [(1, 0, 0, 10), (2, 0, 10, 20)]
    assert progress(path) == 20
    expected = sorted(
        (code, event_fields(seq)[name], seq)
        for seq in range(20)
        for code, name in enumerate(lookups.LOOKUP_FIELDS)
    )
    assert sorted(rows) == expected


def make_legacy(path: Path, n: int) -> None:
    """A ledger as written before lookups existed: per-column indexes, no lookup tables."""
    with Ledger(path, checkpoint_interval=7) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(n)])
    conn = sqlite3.connect(path)  # dropping a table drops its triggers
    try:
        tables = ("lookup_keys", "lookup_progress", "lookup_runs", "lookup_run_list")
        for statement in (*(f"DROP TABLE {t}" for t in tables), *LEGACY_DDL):
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def table_names(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


def test_a_writer_migrates_a_legacy_ledger(tmp_path: Path) -> None:
    path = tmp_path / "legacy.db"
    make_legacy(path, 57)
    with Ledger(path, read_only=True) as reader:  # readers use the legacy indexes as they are
        assert [e.seq for e in reader.find(trace_id="trace-2")] == scan(path, "trace_id", "trace-2")
    assert "lookup_keys" not in table_names(path)
    with Ledger(path) as ledger:
        names = table_names(path)
        assert {"lookup_keys", "lookup_progress", "lookup_runs", "lookup_run_list"} <= names
        assert not names & {"events_by_trace", "events_by_avid", "events_by_authorization"}
        assert progress(path) == 57
        assert_lookups_agree(ledger, VALUES)
        ledger.append("authorization", event_fields(57))
        assert_lookups_agree(ledger, VALUES)
    assert verify_ledger(path).ok


def test_processes_opening_a_legacy_ledger_at_once_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "legacy.db"
    make_legacy(path, 40)
    code = (
        "import sys; from canopy.ledger.store import Ledger; "
        "from ledger_helpers import event_fields; "
        "led = Ledger(sys.argv[1]); "
        "[led.append('authorization', event_fields(100 + i)) for i in range(5)]; led.close()"
    )
    tests_dir = str(Path(__file__).parent)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=tests_dir) for _ in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    with Ledger(path) as ledger:
        assert ledger.size() == 55
        assert_lookups_agree(
            ledger, {"authorization_id": [f"auth-{i:06d}" for i in (0, 39, 100, 104)]}
        )
        assert_lookups_agree(ledger, VALUES)


def test_stale_or_rewound_progress_only_costs_speed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(2500)])
    assert progress(path) == 2500  # the batch crossed 1000 and 2000: indexed to its end
    tamper(path, "UPDATE lookup_progress SET indexed_size = 0")
    with Ledger(path) as ledger:
        assert_lookups_agree(ledger, VALUES)
        # The next catch-up re-inserts keys already there: ignored, no failure.
        ledger.append_batch([("authorization", event_fields(i)) for i in range(2500, 3000)])
        assert progress(path) == 3000
        assert_lookups_agree(ledger, VALUES)


def test_progress_cannot_move_back_or_past_the_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(1500)])
    conn = sqlite3.connect(path)
    try:
        for size in (999, 1501):
            with pytest.raises(sqlite3.IntegrityError, match="lookup progress"):
                conn.execute("UPDATE lookup_progress SET indexed_size = ?", (size,))
        with pytest.raises(sqlite3.IntegrityError, match="lookups only grow"):
            conn.execute("DELETE FROM lookup_progress")
    finally:
        conn.close()


def test_legacy_readers_fall_back_to_plain_predicates() -> None:
    sql, params = lookups.lookup_condition("avid", ["a", "b"], layout=lookups.PLAIN)
    assert (sql, params) == ('"avid" IN (?, ?)', ("a", "b"))
    sql, params = lookups.lookup_condition("trace_id", ["t"], layout=lookups.KEYS)
    assert params == ("t", "t") and "lookup_keys WHERE field = 1" in sql
    assert "lookup_runs" not in sql
    sql, params = lookups.lookup_condition("trace_id", ["t"], layout=lookups.RUNS)
    assert params == ("t", "t", "t") and "lookup_runs WHERE run IN" in sql
    with pytest.raises(ValueError, match="no lookup index"):
        lookups.lookup_condition("decision", ["DENY"], layout=lookups.RUNS)


def make_keys_only(path: Path, n: int) -> None:
    """A ledger as written after lookups existed but before runs: one B-tree of keys."""
    make_legacy(path, n)
    Ledger(path).close()  # a writer indexes every event into the base
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM lookup_run_list").fetchone()[0] == 0
        for table in ("lookup_runs", "lookup_run_list"):
            conn.execute(f"DROP TABLE {table}")
        conn.commit()
    finally:
        conn.close()


def test_the_base_of_a_keys_only_ledger_stays_below_the_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lookups, "LOOKUP_STRIDE", 10)
    monkeypatch.setattr(lookups, "LOOKUP_FANOUT", 2)
    path = tmp_path / "keys.db"
    make_keys_only(path, 57)
    with Ledger(path, read_only=True) as reader:  # a reader uses the base as it is
        assert reader._lookups == lookups.KEYS
        assert_lookups_agree(reader, VALUES)
    with Ledger(path) as ledger:
        assert ledger._lookups == lookups.RUNS
        for i in range(57, 120):
            ledger.append("authorization", event_fields(i))
        assert_lookups_agree(ledger, VALUES)
    runs = sorted(run_list(path), key=lambda r: r[2])
    assert runs[0][2] == 57 and runs[-1][3] == 120  # the base keeps [0, 57)
    assert_runs_are_consistent(path)
    assert verify_ledger(path).ok


@pytest.mark.parametrize(
    "attack",
    [
        "DELETE FROM lookup_runs WHERE seq = 17 AND field = 1",  # hide an event of a trace
        "INSERT INTO lookup_runs VALUES (1, 1, 'trace-x', 3)",  # invent one
        "INSERT INTO lookup_runs VALUES (99, 1, 'trace-x', 3)",  # ... in a run nobody lists
        "INSERT INTO lookup_keys VALUES (1, 'trace-x', 3)",  # ... in the base
        "DELETE FROM lookup_run_list",  # drop every run
        "UPDATE lookup_run_list SET from_seq = 10",  # a run that claims less
        "INSERT INTO lookup_run_list VALUES (50, 0, 1000, 1200, 600)",  # overlapping runs
        "UPDATE lookup_progress SET indexed_size = 1000",  # rewind the mark
        "UPDATE lookup_progress SET indexed_size = 1300",  # hide the tail
        "UPDATE lookup_progress SET indexed_size = 5000",  # beyond the ledger
    ],
)
def test_verify_reports_tampered_lookups(tmp_path: Path, attack: str) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(1200)])
        ledger.append_batch([("authorization", event_fields(i)) for i in range(1200, 1400)])
    assert progress(path) == 1200
    assert verify_ledger(path).ok
    tamper(path, attack)
    report = verify_ledger(path)
    assert not report.ok
    assert [p.step for p in report.problems] == ["lookups"], report.problems


@pytest.mark.parametrize("workers", [1, 2])
def test_a_missing_key_is_counted_in_the_section_that_lost_it(tmp_path: Path, workers: int) -> None:
    """The workers count the events' keys as they read them; when the stored
    total differs, the section that is wrong is named with both counts."""
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.append_batch([("authorization", event_fields(i)) for i in range(1200)])
    keys = sql_value(path, "SELECT count(*) FROM lookup_runs")
    tamper(path, "DELETE FROM lookup_runs WHERE seq = 17 AND field = 1")
    report = verify_ledger(path, workers=workers, chunk_level=9)
    assert [p.message.split(":")[0] for p in report.problems] == [
        f"lookup runs holds {keys - 1} keys, the events it covers have {keys}"
    ]


def mid_merge_ledger(path: Path, monkeypatch: pytest.MonkeyPatch) -> Ledger:
    """A ledger whose top-level merge is under way (several steps, one per catch-up)."""
    monkeypatch.setattr(lookups, "LOOKUP_STRIDE", 4)
    monkeypatch.setattr(lookups, "LOOKUP_FANOUT", 2)
    monkeypatch.setattr(lookups, "MERGE_STEP_KEYS", 1)
    ledger = Ledger(path, checkpoint_interval=5)
    for i in range(200):
        ledger.append("authorization", event_fields(i))
        if sql_value(path, "SELECT count(*) FROM lookup_merges WHERE field IS NOT NULL"):
            return ledger
    raise AssertionError("no merge was ever seen half done")


def test_a_merge_spreads_over_catch_ups_and_lookups_stay_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ledger.db"
    steps_seen = 0
    with mid_merge_ledger(path, monkeypatch) as ledger:
        assert verify_ledger(path).ok
        for i in range(ledger.size(), ledger.size() + 60):
            ledger.append("authorization", event_fields(i))
            steps_seen += sql_value(path, "SELECT count(*) FROM lookup_merges") > 0
            assert_lookups_agree(ledger, VALUES)
            assert_runs_are_consistent(path)
        assert verify_ledger(path).ok
    assert steps_seen >= 10
    # Top-level runs are never merged: their count grows with the ledger.
    top = [r for r in run_list(path) if r[1] == lookups.TOP_LEVEL]
    assert len(top) >= 2


@pytest.mark.parametrize(
    "attack",
    [
        # keys slipped into the run being built: read once the merge completes
        "INSERT INTO lookup_runs SELECT run, 1, 'trace-x', 3 FROM lookup_merges",
        "DELETE FROM lookup_runs WHERE run IN (SELECT run FROM lookup_merges) AND field = 1",
        "UPDATE lookup_merges SET sources = '1,2'",  # merging runs that are not listed
    ],
)
def test_verify_reports_a_tampered_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    path = tmp_path / "ledger.db"
    mid_merge_ledger(path, monkeypatch).close()
    assert verify_ledger(path).ok
    tamper(path, attack)
    report = verify_ledger(path)
    assert [p.step for p in report.problems] == ["lookups"], report.problems


#: Subprocess writers' preamble: the same small stride, fanout and merge steps.
SMALL_RUNS_WRITER = (
    "import sys; from canopy.ledger import lookups; from canopy.ledger.store import Ledger; "
    "from ledger_helpers import event_fields; "
    "lookups.LOOKUP_STRIDE, lookups.LOOKUP_FANOUT, lookups.MERGE_STEP_KEYS = 4, 2, 1; "
)


def small_runs_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A new ledger, and this process's constants as SMALL_RUNS_WRITER sets them
    (so the checks here read runs and merges as the writers made them)."""
    for name, value in (("LOOKUP_STRIDE", 4), ("LOOKUP_FANOUT", 2), ("MERGE_STEP_KEYS", 1)):
        monkeypatch.setattr(lookups, name, value)
    path = tmp_path / "ledger.db"
    Ledger(path).close()
    return path


def test_processes_appending_at_once_keep_runs_and_merges_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catch-ups and merge steps run in whichever writer crosses the stride:
    three processes interleaving single appends and batches still leave runs
    that cover every event once and merges that verify."""
    path = small_runs_ledger(tmp_path, monkeypatch)
    code = (
        SMALL_RUNS_WRITER + "base = int(sys.argv[2]); led = Ledger(sys.argv[1]); "
        "[led.append('authorization', event_fields(base + i)) if i % 3 else "
        "led.append_batch([('authorization', event_fields(base + i + 500 + j)) for j in range(3)]) "
        "for i in range(60)]; led.close()"
    )
    tests_dir = str(Path(__file__).parent)
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), str(base)], cwd=tests_dir)
        for base in (0, 1000, 2000)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert sql_value(path, "SELECT count(*) FROM lookup_run_list WHERE level = 2") > 5  # merged
    assert_runs_are_consistent(path)
    assert verify_ledger(path).ok
    with Ledger(path, read_only=True) as ledger:
        assert ledger.size() == 3 * (40 + 20 * 3)
        values = {
            "authorization_id": [f"auth-{i:06d}" for i in (0, 5, 1007, 1503, 2059, 2560)],
            "trace_id": VALUES["trace_id"],
            "avid": VALUES["avid"],
        }
        assert_lookups_agree(ledger, values)


def test_a_writer_killed_at_any_moment_leaves_exact_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Catch-ups and merge steps commit with the events that make them due: a
    writer killed (SIGKILL) at any point leaves runs, merges and lookups that
    agree with the events, and the next writer carries on from there."""
    path = small_runs_ledger(tmp_path, monkeypatch)
    code = (
        SMALL_RUNS_WRITER + "led = Ledger(sys.argv[1]); i = led.size(); "
        "print('ready', flush=True)\n"
        "while True:\n"
        "    led.append_batch([('authorization', event_fields(i + j)) for j in range(i % 3 + 1)])\n"
        "    i += i % 3 + 1"
    )
    tests_dir = str(Path(__file__).parent)
    for delay in (0.05, 0.13, 0.21, 0.34):
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(path)],
            cwd=tests_dir,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert verify_ledger(path).ok
        assert_runs_are_consistent(path)
        with Ledger(path, read_only=True) as ledger:
            assert_lookups_agree(ledger, VALUES)
    assert sql_value(path, "SELECT count(*) FROM lookup_run_list WHERE level = 2") > 0


def test_runs_without_keys_merge_like_any_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events that carry none of the looked-up fields make empty runs; merging
    them must not divide by their zero keys."""
    path = small_runs_ledger(tmp_path, monkeypatch)
    with Ledger(path) as ledger:
        for i in range(40):
            ledger.append("note", {"n": i})
        ledger.append("authorization", event_fields(40))
        assert_lookups_agree(ledger, {"authorization_id": ["auth-000040"]})
    assert sql_value(path, "SELECT count(*) FROM lookup_run_list WHERE level = 2") > 0
    assert_runs_are_consistent(path)
    assert verify_ledger(path).ok


def test_a_tampered_merge_is_abandoned_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A merge row naming runs that are not its sources (here: an attempt to
    smuggle SQL into the run list) is dropped with its copied keys; appends go
    on, and the next merge is rebuilt from the listed runs."""
    path = tmp_path / "ledger.db"
    mid_merge_ledger(path, monkeypatch).close()
    tamper(path, "UPDATE lookup_merges SET sources = '1) OR (1 = 1'")
    assert not verify_ledger(path).ok
    with Ledger(path) as ledger:
        for i in range(ledger.size(), ledger.size() + 40):
            ledger.append("authorization", event_fields(i))
        assert_lookups_agree(ledger, VALUES)
    assert_runs_are_consistent(path)
    assert verify_ledger(path).ok


@pytest.mark.parametrize(
    "attack",
    [
        "DELETE FROM lookup_runs WHERE seq = 5 AND field = 1",
        "INSERT INTO lookup_runs SELECT run, 1, 'trace-x', 3 FROM lookup_run_list",
        "DELETE FROM lookup_run_list",
        "UPDATE lookup_merges SET field = 0",
    ],
)
def test_canopy_reindex_repairs_a_damaged_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attack: str
) -> None:
    """Verification names the remedy; ``canopy reindex`` (a real process)
    rebuilds the index from the events, changing no event, and the ledger
    verifies again with lookups that equal a full scan."""
    path = tmp_path / "ledger.db"
    with mid_merge_ledger(path, monkeypatch) as ledger:  # runs, merges and a tail
        ledger.append_batch([("authorization", event_fields(i)) for i in range(300, 302)])
        leaves = [ledger.get(seq).leaf_hash for seq in range(ledger.size())]
    tamper(path, attack)
    problems = verify_ledger(path).problems
    assert problems and all("canopy reindex" in p.message for p in problems)
    canopy = str(Path(sys.executable).parent / "canopy")
    done = subprocess.run([canopy, "reindex", str(path), "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["events"] == len(leaves) and report["runs"] >= 1
    assert report["keys"] == sql_value(path, "SELECT count(*) FROM lookup_runs")
    assert verify_ledger(path).ok
    with Ledger(path) as ledger:
        assert [ledger.get(seq).leaf_hash for seq in range(ledger.size())] == leaves
        assert_lookups_agree(ledger, VALUES)
        ledger.append_batch([("authorization", event_fields(i)) for i in range(400, 410)])
        assert_lookups_agree(ledger, VALUES)
    assert_runs_are_consistent(path)
    assert verify_ledger(path).ok


def test_canopy_reindex_refuses_what_is_not_a_ledger(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a ledger")
    canopy = str(Path(sys.executable).parent / "canopy")
    for target in (junk, tmp_path / "missing.db"):
        done = subprocess.run([canopy, "reindex", str(target)], capture_output=True, text=True)
        assert done.returncode == 2, done
        assert "error" in done.stderr
    assert not (tmp_path / "missing.db").exists()
