"""The WAL is extended with zeros to its reuse size, and SQLite still reads it right.

Real ledgers, real WAL files: a padded WAL must recover every committed event
(also without its shared-memory index, as after a crash), a WAL padded before
its header is written must read as empty, and a one-shot writer pays nothing.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from canopy.ledger import wal
from canopy.ledger.store import _EXTEND_WAL_AT_COMMIT, Ledger
from canopy.ledger.verify import verify_ledger

KIND = "wal_test"


def wal_size(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


def expected_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    finally:
        conn.close()
    return wal.reuse_size(page_size, pages)


def test_reuse_size_is_the_checkpoint_threshold_plus_slack_in_frames() -> None:
    assert wal.reuse_size(4096, 1000) == wal.WAL_HEADER + 1064 * (wal.WAL_FRAME_HEADER + 4096)
    assert wal.reuse_size(1024, 10) == wal.WAL_HEADER + 74 * (wal.WAL_FRAME_HEADER + 1024)
    assert wal.reuse_size(4096, 0) == 0  # automatic checkpoints off: nothing to aim for


def test_a_writer_extends_the_wal_once_it_has_committed_enough(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    target = None
    with Ledger(path) as ledger:
        target = expected_size(path)
        for i in range(_EXTEND_WAL_AT_COMMIT):
            ledger.append(KIND, {"n": i})
        assert wal_size(path) < target, "a short-lived writer must not pay for the extension"
        ledger.append(KIND, {"n": _EXTEND_WAL_AT_COMMIT})
        assert wal_size(path) == target
        for i in range(50):
            ledger.append(KIND, {"n": 100 + i})
        assert wal_size(path) == target, "appends now overwrite, the file no longer grows"
        # Another connection (its own wal-index read) sees every event.
        with Ledger(path, read_only=True) as reader:
            assert reader.size() == _EXTEND_WAL_AT_COMMIT + 51
    assert verify_ledger(path).ok


def test_a_padded_wal_recovers_every_committed_event_without_its_index(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        leaves = [ledger.append(KIND, {"n": i}).leaf_hash for i in range(40)]
        assert wal_size(path) == expected_size(path)
        # As after a crash: the database and its WAL, no shared-memory index,
        # so SQLite rebuilds the index by reading frames until the zeros.
        copy = tmp_path / "copy" / "ledger.db"
        copy.parent.mkdir()
        shutil.copyfile(path, copy)
        shutil.copyfile(f"{path}-wal", f"{copy}-wal")
        shutil.copy(ledger._key_path, copy.parent / ledger._key_path.name)
    with Ledger(copy) as recovered:
        assert [recovered.get(i).leaf_hash for i in range(40)] == leaves
        assert recovered.size() == 40
        recovered.append(KIND, {"n": 40})
    report = verify_ledger(copy)
    assert report.ok, [str(p) for p in report.problems]


def test_a_wal_padded_before_its_header_is_written_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        for i in range(5):
            ledger.append(KIND, {"n": i})
        key = ledger._key_path
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert wal_size(path) == 0
    conn.execute("BEGIN IMMEDIATE")
    added = wal.extend_wal(conn, path)
    conn.execute("COMMIT")
    assert added == expected_size(path) > 0
    assert Path(f"{path}-wal").read_bytes().count(0) == added  # zeros only
    # Opened fresh (no shared-memory index), the all-zero WAL must read as empty.
    copy = tmp_path / "copy" / "ledger.db"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    shutil.copyfile(f"{path}-wal", f"{copy}-wal")
    shutil.copy(key, copy.parent / key.name)
    conn.close()
    with Ledger(copy) as ledger:
        assert ledger.size() == 5
        assert ledger.append(KIND, {"n": 5}).seq == 5
    report = verify_ledger(copy)
    assert report.ok, [str(p) for p in report.problems]


def test_extending_a_missing_wal_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    conn = sqlite3.connect(path, isolation_level=None)  # rollback journal: no WAL
    conn.execute("CREATE TABLE t (x)")
    assert wal.extend_wal(conn, path) == 0
    assert not Path(f"{path}-wal").exists()
    conn.close()
