"""The witness's own state: one SQLite file, separate from any ledger it witnesses.

A witness must remember, per log, the latest checkpoint it cosigned: that
memory is what lets it refuse a rollback or a fork later, so it lives in a
file the log's operator does not write. The file is SQLite in WAL mode with
``synchronous=FULL`` (a cosignature is returned only after its state is on
disk), marked by ``PRAGMA application_id`` ('CNPW', distinct from the
ledger's 'CNPY') and ``PRAGMA user_version`` (the schema version), both
checked on open so a ledger and a witness state are never mistaken for each
other. Writers take SQLite's write lock first (``BEGIN IMMEDIATE``) through
:meth:`WitnessState.atomic`, the one transaction primitive.

Tables:

- ``witness_meta``: format, schema version, the witness's name and vkey, creation time.
- ``logs`` / ``log_keys``: the logs this witness trusts, by origin, with their note vkeys.
- ``latest``: per origin, the latest cosigned checkpoint (size, root, cosigned note, time).
- ``forks``: checkpoints signed by a trusted log key that contradict ``latest``
  at the same size, kept as evidence of log misbehaviour (tlog-witness allows it).
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from canopy.errors import LedgerError
from canopy.ledger import store as ledger_store
from canopy.ledger.events import now_timestamp
from canopy.ledger.files import link_into_place
from canopy.ledger.note import Verifier

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "ForkEvidence",
    "LogStatus",
    "NotAWitnessStateError",
    "WitnessState",
    "WitnessStateError",
    "Witnessed",
]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x434E5057  # 'CNPW'; the ledger is 'CNPY'
_FORMAT = "canopy-witness"
_BUSY_TIMEOUT_MS = 60_000

_SCHEMA = (
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
    "CREATE TABLE witness_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE logs (origin TEXT PRIMARY KEY, added_at TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE log_keys (
        origin   TEXT NOT NULL REFERENCES logs (origin),
        vkey     TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (origin, vkey)
    ) WITHOUT ROWID""",
    """CREATE TABLE latest (
        origin      TEXT PRIMARY KEY REFERENCES logs (origin),
        size        INTEGER NOT NULL CHECK (size >= 0),
        root        BLOB NOT NULL CHECK (length(root) = 32),
        note        TEXT NOT NULL,
        cosigned_at INTEGER NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE forks (
        id            INTEGER PRIMARY KEY,
        origin        TEXT NOT NULL REFERENCES logs (origin),
        size          INTEGER NOT NULL,
        cosigned_note TEXT NOT NULL,
        offered_note  TEXT NOT NULL,
        seen_at       TEXT NOT NULL
    )""",
)


class WitnessStateError(LedgerError):
    """The witness state cannot be opened or written."""


class NotAWitnessStateError(WitnessStateError):
    """The file exists but is not a Canopy witness state (or of an unknown version)."""


class Witnessed(NamedTuple):
    """The latest checkpoint a witness cosigned for one log."""

    size: int
    root: bytes
    note: str  # the log-signed checkpoint with this witness's cosignature appended


@dataclass(frozen=True)
class ForkEvidence:
    """Two checkpoints of one size, both signed by a trusted log key, with different roots."""

    origin: str
    size: int
    cosigned_note: str  # the one this witness cosigned
    offered_note: str  # the contradicting one it refused
    seen_at: str


@dataclass(frozen=True)
class LogStatus:
    """A trusted log, its keys, and what the witness last cosigned for it."""

    origin: str
    log_keys: tuple[Verifier, ...]
    size: int | None
    cosigned_at: int | None
    forks: int


def _refuse_empty(path: Path) -> None:
    if ledger_store.file_size(path, NotAWitnessStateError) == 0:
        raise NotAWitnessStateError(
            f"{path} is empty: not a Canopy witness state (a witness that lost its state "
            "must not silently start over; move the file aside to start a new witness)"
        )


def _explain_unreadable(path: Path) -> None:
    """Raise the specific reason a file SQLite could not read is no witness state."""
    try:
        _size, _header, is_sqlite = ledger_store.sqlite_file_header(path)
    except OSError as e:
        raise NotAWitnessStateError(f"cannot read {path}: {e}") from e
    if not is_sqlite:
        raise NotAWitnessStateError(f"{path} is not a Canopy witness state (not SQLite)")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    return conn


_WITNESS_FILE = ledger_store.FileKind(
    "witness state",
    "witness",
    APPLICATION_ID,
    SCHEMA_VERSION,
    "witness_meta",
    ("format", "name", "vkey", "created_at"),
    NotAWitnessStateError,
    foreign=(
        (
            ledger_store.APPLICATION_ID,
            "is a Canopy ledger, not a witness state: a witness keeps its own state file, "
            "apart from the ledgers it witnesses",
        ),
    ),
)


def _check_schema(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
    meta = ledger_store.read_identity(conn, path, _WITNESS_FILE)
    if meta["format"] != _FORMAT:
        raise NotAWitnessStateError(f"{path}: format {meta['format']!r} is not {_FORMAT!r}")
    return meta


def _create_file(path: Path, name: str, vkey: str) -> None:
    """Build a complete state file beside ``path`` and link it into place atomically.

    If another process created the state first, its file stands and ours is
    discarded (the caller then checks the key matches).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.creating")
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN")
        for statement in _SCHEMA:
            conn.execute(statement)
        meta = {
            "format": _FORMAT,
            "schema_version": str(SCHEMA_VERSION),
            "name": name,
            "vkey": vkey,
            "created_at": now_timestamp(),
        }
        conn.executemany("INSERT INTO witness_meta (key, value) VALUES (?, ?)", meta.items())
        conn.execute("COMMIT")
    finally:
        conn.close()
    link_into_place(tmp, path)


class WitnessState:
    """An open witness state file. Safe to share between threads."""

    def __init__(self, path: Path, conn: sqlite3.Connection, meta: dict[str, str]) -> None:
        self.path = path
        self.meta = meta
        self._conn = conn
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> WitnessState:
        resolved = Path(os.path.realpath(os.fspath(path)))
        if not resolved.exists():
            raise NotAWitnessStateError(f"{resolved} does not exist")
        _refuse_empty(resolved)
        conn = _connect(resolved)
        try:
            meta = _check_schema(conn, resolved)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except (NotAWitnessStateError, sqlite3.DatabaseError) as e:
            conn.close()
            _explain_unreadable(resolved)  # closed first: see sqlite_file_header
            raise e
        except BaseException:
            conn.close()
            raise
        return cls(resolved, conn, meta)

    @classmethod
    def create(cls, path: str | os.PathLike[str], *, name: str, vkey: str) -> WitnessState:
        """Create the state file (if nobody else just did) and open it."""
        resolved = Path(os.path.realpath(os.fspath(path)))
        if not resolved.exists():
            _create_file(resolved, name, vkey)
        return cls.open(resolved)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def vkey(self) -> str:
        return self.meta["vkey"]

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One write transaction holding SQLite's write lock from its first statement.

        ``BEGIN IMMEDIATE`` makes the read-check-write of add-checkpoint atomic
        across threads and processes: two requests from the same old size
        cannot both pass the check.
        """
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as e:
                raise WitnessStateError(f"cannot lock witness state {self.path}: {e}") from e
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as e:
                try:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(e, sqlite3.Error):
                    raise WitnessStateError(f"witness state {self.path} not written: {e}") from e
                raise

    # --- reading (inside or outside a transaction) -----------------------

    def log_keys(self, origin: str, conn: sqlite3.Connection | None = None) -> list[Verifier]:
        """The note keys trusted for ``origin`` (empty if the log is unknown)."""
        with self._lock:
            rows = (
                (conn or self._conn)
                .execute(
                    "SELECT vkey FROM log_keys WHERE origin = ? ORDER BY added_at, vkey", (origin,)
                )
                .fetchall()
            )
        return [Verifier.from_vkey(vkey) for (vkey,) in rows]

    def latest(
        self, origin: str, conn: sqlite3.Connection | None = None
    ) -> tuple[Witnessed, int] | None:
        """(latest cosigned checkpoint, its cosignature time) for ``origin``, or None."""
        with self._lock:
            row = (
                (conn or self._conn)
                .execute(
                    "SELECT size, root, note, cosigned_at FROM latest WHERE origin = ?", (origin,)
                )
                .fetchone()
            )
        if row is None:
            return None
        size, root, note, cosigned_at = row
        return Witnessed(size, bytes(root), note), cosigned_at

    def logs(self) -> list[LogStatus]:
        with self._lock:
            origins = [o for (o,) in self._conn.execute("SELECT origin FROM logs ORDER BY origin")]
            forks = dict(
                self._conn.execute("SELECT origin, count(*) FROM forks GROUP BY origin").fetchall()
            )
            out = []
            for origin in origins:
                found = self.latest(origin)
                out.append(
                    LogStatus(
                        origin,
                        tuple(self.log_keys(origin)),
                        found[0].size if found else None,
                        found[1] if found else None,
                        forks.get(origin, 0),
                    )
                )
        return out

    def forks(self, origin: str) -> list[ForkEvidence]:
        """The forks of ``origin`` this witness refused, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT origin, size, cosigned_note, offered_note, seen_at FROM forks "
                "WHERE origin = ? ORDER BY id",
                (origin,),
            ).fetchall()
        return [ForkEvidence(*row) for row in rows]

    # --- writing (inside atomic()) ---------------------------------------

    @staticmethod
    def insert_log(conn: sqlite3.Connection, origin: str, vkeys: list[str]) -> None:
        now = now_timestamp()
        conn.execute("INSERT OR IGNORE INTO logs (origin, added_at) VALUES (?, ?)", (origin, now))
        conn.executemany(
            "INSERT OR IGNORE INTO log_keys (origin, vkey, added_at) VALUES (?, ?, ?)",
            [(origin, vkey, now) for vkey in vkeys],
        )

    @staticmethod
    def store_latest(
        conn: sqlite3.Connection,
        origin: str,
        witnessed: Witnessed,
        cosigned_at: int,
    ) -> None:
        conn.execute(
            "INSERT INTO latest (origin, size, root, note, cosigned_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, "
            "note = excluded.note, cosigned_at = excluded.cosigned_at",
            (origin, witnessed.size, witnessed.root, witnessed.note, cosigned_at),
        )

    @staticmethod
    def record_fork(
        conn: sqlite3.Connection, origin: str, size: int, cosigned_note: str, offered_note: str
    ) -> None:
        seen = conn.execute(
            "SELECT 1 FROM forks WHERE origin = ? AND size = ? AND offered_note = ?",
            (origin, size, offered_note),
        ).fetchone()
        if seen is None:
            conn.execute(
                "INSERT INTO forks (origin, size, cosigned_note, offered_note, seen_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (origin, size, cosigned_note, offered_note, now_timestamp()),
            )
