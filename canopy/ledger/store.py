"""The append-only SQLite ledger: events, tree nodes, checkpoints, keys.

Writes take SQLite's write lock first (``BEGIN IMMEDIATE``), learn the current
size inside that transaction, and commit the events and the tree nodes they
complete together. So threads and processes (through any path or symlink to
the same file) append with no gap, duplicate or fork. Threads of one process
that append at once share a commit (group commit).

Durability is ``fsync`` by default (``synchronous=FULL``: an acknowledged
append survives a power cut) or ``commit`` (it survives the process being
killed). Checkpoints and control events are fsync'd in both modes; a
checkpoint is never visible before the events it covers are on disk.
Anything that stops an event from being written raises ``LedgerWriteError``;
nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from canopy.canonical import MAX_SAFE_INTEGER
from canopy.errors import (
    CanonicalEncodingError,
    CanopyError,
    KeyFileError,
    LedgerError,
    LedgerWriteError,
    MalformedInputError,
    NotALedgerError,
)
from canopy.ledger import keys, lookups, wal
from canopy.ledger.bodies import decode_body, encode_body
from canopy.ledger.checkpoint import Checkpoint, SignedCheckpoint
from canopy.ledger.events import (
    INDEXED_FIELDS,
    Event,
    EventKind,
    canonical_values,
    check_fields,
    check_kind,
    event_signature_message,
    leaf_hash_from_canonical,
    leaf_hash_from_members,
    leaf_members,
    new_salt,
    now_timestamp,
    value_bytes,
)
from canopy.ledger.files import link_into_place
from canopy.ledger.merkle import (
    HASH_SIZE,
    CompactRange,
    NodeId,
    subtree_nodes,
    tree_root,
)
from canopy.ledger.note import Signer, Verifier

log = logging.getLogger("canopy")

__all__ = [
    "APPLICATION_ID",
    "DURABILITY_ENV",
    "DURABILITY_MODES",
    "SCHEMA_VERSION",
    "STORED_EVENT_COLUMNS",
    "AppendReceipt",
    "Ledger",
    "StoredEvent",
    "stored_event_from_row",
]

SCHEMA_VERSION = 1
APPLICATION_ID = 0x434E5059  # 'CNPY'
DEFAULT_CHECKPOINT_INTERVAL = 1000
_SQLITE_HEADER = b"SQLite format 3\x00"
#: Kinds with a partial index events_<kind> (schema/ledger.sql).
_INDEXED_KINDS = frozenset(
    {
        "kill_switch",
        "key_rotation",
        "policy_activated",
        "approval",
        "incident",
        "index_commitment",
        "agent_registered",
    }
)
_INDEXED = frozenset(INDEXED_FIELDS)
_BUSY_TIMEOUT_MS = 60_000
DURABILITY_ENV = "CANOPY_DURABILITY"
#: "fsync" (default): an append returns once its event is on disk, so it
#: survives a power cut. "commit": once committed to the WAL, so it survives the
#: process being killed, but a power cut may lose the last moments' events. In
#: both modes checkpoints and the rare control events (kill switch, key rotation,
#: policy activation, approval, incident, index commitment) are fsync'd, and with
#: them every event before them.
DURABILITY_MODES = ("fsync", "commit")
#: A writer extends the WAL to its reuse size (canopy/ledger/wal.py) at its
#: commit number this: a process that writes once never pays for it.
_EXTEND_WAL_AT_COMMIT = 16

STORED_EVENT_COLUMNS = (
    "seq, ts, kind, " + ", ".join(INDEXED_FIELDS) + ", body, salt, leaf_hash, signature"
)
_INSERT_EVENT = (
    f"INSERT INTO events ({STORED_EVENT_COLUMNS}, nodes) "
    f"VALUES ({', '.join('?' * (8 + len(INDEXED_FIELDS)))})"
)


def completing_seq(node: NodeId) -> int:
    """The leaf whose append completed ``node``: its row stores the node's hash."""
    level, index = node
    return ((index + 1) << level) - 1


def node_from_row(node: NodeId, leaf: bytes, nodes: bytes) -> bytes | None:
    """A node's hash out of its completing row (level 0 is the leaf itself)."""
    level = node[0]
    if level == 0:
        return leaf
    h = nodes[(level - 1) * HASH_SIZE : level * HASH_SIZE]
    return h if len(h) == HASH_SIZE else None


@dataclass(frozen=True, slots=True)
class AppendReceipt:
    """What an append returns once the event is durably committed."""

    seq: int
    ts: str
    leaf_hash: bytes
    signature: bytes
    key_id: str
    checkpoint: SignedCheckpoint | None = None


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as stored, with its leaf hash and witness signature."""

    event: Event
    leaf_hash: bytes
    signature: bytes

    @property
    def seq(self) -> int:
        return self.event.seq

    @property
    def kind(self) -> str:
        return self.event.kind

    @property
    def ts(self) -> str:
        return self.event.ts

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.event.fields


def fields_from_storage(
    columns: Mapping[str, str | None], stored_body: str | bytes
) -> dict[str, Any]:
    """Rebuild an event's fields from its indexed columns and stored body."""
    try:
        fields = json.loads(decode_body(stored_body), parse_int=_decode_int)
    except ValueError as e:
        raise CanonicalEncodingError(f"stored event body is not JSON: {e}") from e
    if not isinstance(fields, dict):
        raise CanonicalEncodingError("stored event body is not a JSON object")
    for name, value in columns.items():
        if value is not None:
            fields[name] = value
    return fields


def _decode_int(literal: str) -> int | float:
    """JCS writes integral floats without a point (2**53 as 9007199254740992):
    an integer outside the safe range can only have been such a float."""
    value = int(literal)
    return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else float(literal)


_encode_column = json.encoder.encode_basestring  # JCS for strings (see events.value_bytes)
#: One decoder for every stored body (building one per call costs more than decoding).
_BODY_DECODER = json.JSONDecoder(parse_int=_decode_int)
_scan_value = _BODY_DECODER.scan_once  # C scanner: (value, end index) from an index
_scan_key = json.decoder.scanstring  # (string, end index) from after its opening quote
_SCAN_ERRORS = (StopIteration, IndexError, ValueError)


def split_body(text: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A stored body's members: each value decoded, and its exact stored bytes.

    The leaf commits to every field's canonical bytes, so the verifier hashes
    the stored slice itself: any other spelling of a value (spaces, escapes,
    number forms, key order) changes a digest and is caught, with no
    re-encoding. Only the canonical layout is accepted around the values: no
    whitespace, plain keys in strictly increasing order, nothing after ``}``.
    """
    values: dict[str, Any] = {}
    raw: dict[str, bytes] = {}
    if text == "{}":
        return values, raw
    last = len(text) - 1
    if text[:2] != '{"' or text[last] != "}":
        raise CanonicalEncodingError("stored event body is not a canonical JSON object")
    index, previous = 1, ""
    try:
        while True:
            if text[index] != '"':
                raise ValueError("expected a member name")
            name, after = _scan_key(text, index + 1)
            if after != index + len(name) + 2 or text[after] != ":" or name <= previous:
                raise ValueError(f"member {name!r} is not in canonical form or order")
            value, index = _scan_value(text, after + 1)
            values[name] = value
            raw[name] = text[after + 1 : index].encode("utf-8")
            previous = name
            if text[index] == ",":
                index += 1
            elif index == last:
                return values, raw
            else:
                raise ValueError(f"unexpected {text[index]!r} after member {name!r}")
    except _SCAN_ERRORS as e:
        raise CanonicalEncodingError(f"stored event body is not canonical JSON: {e}") from e


def rebuild_leaf(
    seq: int,
    ts: str,
    kind: str,
    column_values: Sequence[str | None],
    stored_body: str | bytes,
    salt: bytes,
) -> tuple[dict[str, Any], bytes]:
    """A stored row's fields and the leaf hash they rebuild (the verifier's hot path).

    ``column_values`` are the row's indexed columns, in ``INDEXED_FIELDS`` order.
    An indexed field is never stored in the body: moved there, it would hash
    the same while every lookup by that field (and the key index) missed it.
    """
    fields, canonical = split_body(decode_body(stored_body))
    if not _INDEXED.isdisjoint(canonical):
        misplaced = sorted(_INDEXED.intersection(canonical))
        raise CanonicalEncodingError(
            f"indexed field(s) {', '.join(misplaced)} stored in the body, not in their column"
        )
    for name, value in zip(INDEXED_FIELDS, column_values, strict=True):
        if value is not None:
            fields[name] = value
            canonical[name] = (
                _encode_column(value).encode("utf-8") if type(value) is str else value_bytes(value)
            )
    return fields, leaf_hash_from_canonical(seq, ts, kind, salt, canonical)


def stored_event_from_row(row: Sequence[Any]) -> StoredEvent:
    seq, ts, kind = row[0], row[1], row[2]
    n = len(INDEXED_FIELDS)
    columns = dict(zip(INDEXED_FIELDS, row[3 : 3 + n], strict=True))
    body, salt, leaf, signature = row[3 + n : 7 + n]
    fields = fields_from_storage(columns, body)
    return StoredEvent(Event(seq, ts, kind, fields, bytes(salt)), bytes(leaf), bytes(signature))


_MEMBER_KEYS: dict[str, bytes] = {}  # name -> b'"name":' (names are validated first)


def _member_key(name: str) -> bytes:
    key = b'"' + name.encode("ascii") + b'":'
    if len(_MEMBER_KEYS) < 4096:
        _MEMBER_KEYS[name] = key
    return key


@dataclass(slots=True)
class _Ticket:
    """One caller's place in a group commit."""

    item: _Prepared
    done: bool = False
    receipt: AppendReceipt | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Prepared:
    """An event's seq-independent work, done before taking the write lock."""

    kind: str
    columns: tuple[str | None, ...]
    body: str | bytes  # stored form (bodies.encode_body) of the non-indexed fields' JCS
    salt: bytes
    members: bytes  # the leaf's field commitments (events.leaf_members)


def _prepare(
    kind: str, fields: Mapping[str, Any], encoded: Mapping[str, bytes] | None = None
) -> _Prepared:
    """``encoded`` may carry fields the caller already canonicalized (``canonical_bytes``
    output): the event then commits to exactly those bytes, and is stored as them."""
    check_kind(kind)
    check_fields(fields)
    if encoded:
        canonical = {
            name: encoded[name] if name in encoded else value_bytes(value)
            for name, value in fields.items()
        }
    else:
        canonical = canonical_values(fields)  # validates every value once
    salt = new_salt()
    members = leaf_members(salt, canonical)
    # JCS of the non-indexed fields, as bytes: names are plain identifiers.
    body = (
        b"{"
        + b",".join(
            (_MEMBER_KEYS.get(name) or _member_key(name)) + canonical[name]
            for name in sorted(canonical)
            if name not in _INDEXED
        )
        + b"}"
    )
    columns = tuple(fields.get(name) for name in INDEXED_FIELDS)
    return _Prepared(kind, columns, encode_body(body), salt, members)


def _event_row(
    item: _Prepared, stamp: tuple[int, str, bytes, bytes], signature: bytes
) -> tuple[Any, ...]:
    """The events row of a prepared, stamped and signed event (_INSERT_EVENT's order)."""
    seq, ts, leaf, nodes = stamp
    return (seq, ts, item.kind, *item.columns, item.body, item.salt, leaf, signature, nodes)


def _stamp(
    chunk: Sequence[_Prepared],
    tree: CompactRange,
    interval: int,
    seals: list[tuple[int, int, bytes]],
    first_seq: int,
) -> list[tuple[int, str, bytes, bytes]]:
    """Give each event its seq, timestamp and leaf, grow ``tree`` by them, and
    note in ``seals`` (offset from ``first_seq``, size, root) every checkpoint due."""
    stamped = []
    for item in chunk:
        seq = tree.size
        ts = now_timestamp()
        leaf = leaf_hash_from_members(seq, ts, item.kind, item.members)
        nodes = b"".join(h for _, h in tree.append(leaf))
        if interval and tree.size % interval == 0:
            seals.append((seq - first_seq, tree.size, tree.root()))
        stamped.append((seq, ts, leaf, nodes))
    return stamped


@functools.lru_cache(maxsize=1)
def _schema_statements() -> tuple[str, ...]:
    sql = resources.files("canopy._schema").joinpath("ledger.sql").read_text(encoding="utf-8")
    statements, current = [], ""
    for line in sql.splitlines(keepends=True):
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return tuple(statements)


def _lookup_statements() -> list[str]:
    return [s for s in _schema_statements() if "lookup_" in s]


def sqlite_file_header(path: Path) -> tuple[int, bytes, bool]:
    """(size, first bytes, is SQLite) of a file; raises OSError if unreadable.

    This opens and closes a descriptor on the file, and closing any descriptor
    drops every POSIX lock this process holds on it, SQLite's included (another
    open connection would then lose its read locks and a closing one could
    delete the -shm under it). Call it only once SQLite has failed to read
    the file, to say why; ``file_size`` (a stat) is safe at any time.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        header = f.read(len(_SQLITE_HEADER))
    return size, header, header == _SQLITE_HEADER


def file_size(path: Path, error: type[CanopyError]) -> int:
    """The file's size by ``stat`` (no descriptor is opened: see ``sqlite_file_header``)."""
    try:
        return path.stat().st_size
    except OSError as e:
        raise error(f"cannot read {path}: {e}") from e


def _refuse_empty_ledger(path: Path) -> None:
    if file_size(path, NotALedgerError) == 0:
        raise NotALedgerError(
            f"{path} is empty: not a Canopy ledger (an emptied ledger must be investigated, "
            "not silently re-created; move it aside to start a new one)"
        )


def _explain_unreadable_ledger(path: Path) -> None:
    """Raise the specific reason a file SQLite could not read is no ledger, if there is one."""
    try:
        _size, header, is_sqlite = sqlite_file_header(path)
    except OSError as e:
        raise NotALedgerError(f"cannot read {path}: {e}") from e
    if not is_sqlite:
        hint = ""
        if header[:1] in (b"{", b"["):
            hint = " (it looks like a canopy-runtime 0.x JSONL audit log)"
        raise NotALedgerError(f"{path} is not a Canopy ledger{hint}")


def _refuse_damaged_ledger(path: Path, error: BaseException) -> None:
    """A file SQLite finds malformed is no ledger to open (a clear error, not a
    traceback); a busy or unreachable one keeps its own error."""
    if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
        raise NotALedgerError(f"{path} is damaged: SQLite cannot read it ({error})") from error


def _connect(path: Path, *, read_only: bool) -> sqlite3.Connection:
    if read_only:
        uri = f"file:{path.as_posix()}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: index pages stay hot
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass(frozen=True)
class FileKind:
    """How a Canopy SQLite file identifies itself (the ledger, a witness state, ...)."""

    name: str  # "ledger", "witness state"
    short: str  # "ledger", "witness"
    application_id: int
    schema_version: int
    meta_table: str
    required: tuple[str, ...]
    error: type[CanopyError]
    foreign: tuple[tuple[int, str], ...] = ()  # other Canopy files' ids -> explanation


def read_identity(conn: sqlite3.Connection, path: Path, kind: FileKind) -> dict[str, str]:
    """Check the file's application id and schema version; return its metadata."""
    try:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as e:
        raise kind.error(f"{path} is not a readable SQLite database: {e}") from e
    for other_id, explanation in kind.foreign:
        if app_id == other_id:
            raise kind.error(f"{path} {explanation}")
    if app_id != kind.application_id:
        raise kind.error(f"{path} is a SQLite database but not a Canopy {kind.name}")
    if version != kind.schema_version:
        raise kind.error(
            f"{path} has {kind.short} schema version {version}; this Canopy reads version "
            f"{kind.schema_version}"
        )
    try:
        meta = dict(conn.execute(f'SELECT key, value FROM "{kind.meta_table}"').fetchall())
    except sqlite3.DatabaseError as e:
        raise kind.error(f"{path}: {kind.short} metadata unreadable: {e}") from e
    for required in kind.required:
        if required not in meta:
            raise kind.error(f"{path}: {kind.short} metadata lacks {required!r}")
    return meta


LEDGER_FILE = FileKind(
    "ledger",
    "ledger",
    APPLICATION_ID,
    SCHEMA_VERSION,
    "ledger_meta",
    ("origin", "genesis_vkey", "created_at"),
    NotALedgerError,
)


def _create_ledger_file(path: Path, signer: Signer, origin: str) -> None:
    """Build a complete ledger beside ``path`` and link it into place atomically.

    Nobody ever sees a half-initialised ledger: the path either does not exist
    or holds the schema and metadata. If another process won the race, its
    ledger stands and ours is discarded.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.creating")
    conn = sqlite3.connect(tmp, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN")
        for statement in _schema_statements():
            conn.execute(statement)
        meta = {
            "format": "canopy-ledger",
            "schema_version": str(SCHEMA_VERSION),
            "origin": origin,
            "genesis_vkey": signer.verifier.vkey,
            "created_at": now_timestamp(),
        }
        conn.executemany("INSERT INTO ledger_meta (key, value) VALUES (?, ?)", meta.items())
        conn.execute(
            "INSERT INTO signing_keys (from_seq, vkey) VALUES (0, ?)", (signer.verifier.vkey,)
        )
        conn.execute("COMMIT")
    finally:
        conn.close()
    link_into_place(tmp, path)  # if another process won the race, its ledger stands


def new_origin() -> str:
    """A unique, C2SP-style origin line for a new ledger."""
    return f"canopy.ledger/{secrets.token_hex(8)}"


class Ledger:
    """An open Canopy ledger.

    ``Ledger(path)`` opens (or, with ``create=True``, creates) the ledger at
    ``path``; a signing key is created on first use beside it (or read from
    ``CANOPY_SIGNING_KEY``). ``read_only=True`` needs no key and never writes.
    One object may be shared by threads; separate objects and processes
    coordinate through SQLite's locks.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        read_only: bool = False,
        key_path: str | os.PathLike[str] | None = None,
        checkpoint_interval: int = DEFAULT_CHECKPOINT_INTERVAL,
        durability: str | None = None,
    ) -> None:
        if checkpoint_interval < 1:
            raise ValueError(f"checkpoint interval must be positive, got {checkpoint_interval}")
        self.durability = durability or os.environ.get(DURABILITY_ENV) or "fsync"
        if self.durability not in DURABILITY_MODES:
            raise ValueError(
                f"durability must be one of {', '.join(DURABILITY_MODES)}, "
                f"not {self.durability!r} (from {'the argument' if durability else DURABILITY_ENV})"
            )
        self.path = Path(os.path.realpath(os.fspath(path)))
        self.read_only = read_only
        self.checkpoint_interval = checkpoint_interval
        self._key_path = Path(key_path) if key_path else keys.default_key_path(self.path)
        self._lock = threading.RLock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._signer: Signer | None = None
        self._signer_from_seq = -1
        self._synchronous_full = False
        self._rare_commits = 0  # commits by this object that held a rare kind
        self._commits = 0
        # SQLite's data_version when this object last read the size under the
        # write lock; it moves only when another connection commits.
        self._version_seen: int | None = None
        self._tree = CompactRange()
        if not self.path.exists():
            if read_only or not create:
                raise NotALedgerError(f"{self.path} does not exist")
            self._create()
        self._refuse_hard_links()
        _refuse_empty_ledger(self.path)
        try:
            self._conn = _connect(self.path, read_only=read_only)
        except sqlite3.DatabaseError as e:
            _explain_unreadable_ledger(self.path)
            _refuse_damaged_ledger(self.path, e)
            raise
        try:
            if not read_only:
                self._conn.execute("PRAGMA journal_mode = WAL")
                self._conn.execute("PRAGMA synchronous = FULL")
                self._synchronous_full = True
            self.meta = read_identity(self._conn, self.path, LEDGER_FILE)
            self.origin = self.meta["origin"]
            if not read_only:
                self._ensure_indexes()
                self._load_signer()
            self._lookups = lookups.lookup_layout(self._conn)
        except (NotALedgerError, sqlite3.DatabaseError) as e:
            self._conn.close()
            _explain_unreadable_ledger(self.path)  # closed first: see sqlite_file_header
            _refuse_damaged_ledger(self.path, e)
            raise e
        except BaseException:
            self._conn.close()
            raise

    # --- opening ----------------------------------------------------------

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        origin = new_origin()
        signer = self._signer_for_new_ledger(origin)
        _create_ledger_file(self.path, signer, origin)

    def _signer_for_new_ledger(self, origin: str) -> Signer:
        try:
            return keys.create_signer(self._key_path, origin)
        except KeyFileError:
            pass  # it exists: ours from before, or another creator's right now
        for _ in range(50):
            try:
                return keys.load_signer(self._key_path)
            except KeyFileError as e:
                last = e
                time.sleep(0.01)
        raise last

    def _refuse_hard_links(self) -> None:
        # SQLite names the WAL after the path: two hard links to one file would
        # get two WALs and corrupt it. (A link exists briefly while creating.)
        for _ in range(50):
            try:
                if self.path.stat().st_nlink == 1:
                    return
            except FileNotFoundError:
                return
            time.sleep(0.01)
        raise LedgerError(
            f"{self.path} has several hard links; open the ledger through one path only"
        )

    def _ensure_indexes(self) -> None:
        """Add any index of the current schema that this file lacks (indexes are
        derived data: adding one changes no event and no proof)."""
        for statement in _schema_statements():
            if statement.upper().startswith("CREATE INDEX "):
                self._conn.execute(
                    "CREATE INDEX IF NOT EXISTS " + statement[len("CREATE INDEX ") :]
                )
        lookups.ensure_lookups(self._conn, _lookup_statements())

    def rebuild_lookups(
        self, progress: Callable[[int, int], None] | None = None
    ) -> tuple[int, int]:
        """Rebuild the lookup index from the events; return (keys, runs).

        Derived data only (see ``lookups.rebuild``): for a file whose
        verification reports its lookups damaged."""
        self._writable()
        with self._lock:
            result = lookups.rebuild(self._conn, _lookup_statements(), progress)
            self._lookups = lookups.RUNS
        return result

    def _load_signer(self) -> None:
        from_seq, vkey = self._conn.execute(
            "SELECT from_seq, vkey FROM signing_keys ORDER BY from_seq DESC LIMIT 1"
        ).fetchone()
        signer = keys.load_signer(self._key_path)
        if signer.verifier.vkey != vkey:
            pending = self._pending_key_path()
            if pending.exists() and keys.load_signer(pending).verifier.vkey == vkey:
                os.replace(pending, self._key_path)  # finish an interrupted rotation
                signer = keys.load_signer(self._key_path)
            else:
                raise KeyFileError(
                    f"signing key {self._key_path} ({signer.verifier.key_id}) is not the key "
                    f"of ledger {self.path} ({Verifier.from_vkey(vkey).key_id})"
                )
        self._signer, self._signer_from_seq = signer, from_seq

    def _pending_key_path(self) -> Path:
        return self._key_path.with_name(self._key_path.name + ".next")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- keys -------------------------------------------------------------

    @property
    def verifier(self) -> Verifier:
        """The key that signs new events and checkpoints now."""
        vkey = self._conn.execute(
            "SELECT vkey FROM signing_keys ORDER BY from_seq DESC LIMIT 1"
        ).fetchone()[0]
        return Verifier.from_vkey(vkey)

    @property
    def genesis_verifier(self) -> Verifier:
        return Verifier.from_vkey(self.meta["genesis_vkey"])

    def key_schedule(self) -> list[tuple[int, Verifier]]:
        """(first seq signed, key) for every key this ledger has used."""
        rows = self._conn.execute("SELECT from_seq, vkey FROM signing_keys ORDER BY from_seq")
        return [(seq, Verifier.from_vkey(vkey)) for seq, vkey in rows]

    # --- appending --------------------------------------------------------

    def append(
        self,
        kind: str,
        fields: Mapping[str, Any],
        *,
        encoded: Mapping[str, bytes] | None = None,
    ) -> AppendReceipt:
        """Durably append one event and return its receipt.

        ``encoded`` optionally maps field names to their RFC 8785 bytes when the
        caller already has them (saves encoding large values twice).
        """
        return self._commit_grouped(_prepare(kind, fields, encoded))

    def append_batch(self, events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[AppendReceipt]:
        """Append many events in one transaction: all of them or none."""
        prepared = [_prepare(kind, fields) for kind, fields in events]
        return self._append(prepared) if prepared else []

    def _commit_grouped(self, item: _Prepared) -> AppendReceipt:
        """Group commit: threads appending at once share one transaction and one fsync.

        Each caller queues its prepared event, then waits for the write lock.
        Whoever gets it first commits everything queued so far (its own event
        and those of threads that queued while the previous commit was
        syncing), so N concurrent appenders pay for about one fsync, not N.
        Every caller still returns only once its own event is durable, and a
        failed commit fails every event in it.
        """
        if not self._queue and self._lock.acquire(blocking=False):
            try:  # nobody to group with: commit alone, no ticket
                if not self._queue:  # errors as a group's leader sees them
                    return self._append([item])[0]
            finally:
                self._lock.release()
        ticket = _Ticket(item)
        with self._queue_lock:
            self._queue.append(ticket)
        with self._lock:
            if not ticket.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                try:
                    receipts = self._append([t.item for t in group])
                except BaseException as e:
                    for t in group:
                        t.error, t.done = e, True
                    raise  # the leader sees its own error as is
                for t, receipt in zip(group, receipts, strict=True):
                    t.receipt, t.done = receipt, True
        if ticket.error is not None:
            raise LedgerWriteError(
                f"event not written to {self.path}: {ticket.error}"
            ) from ticket.error
        assert ticket.receipt is not None
        return ticket.receipt

    def _writable(self) -> Signer:
        if self.read_only or self._signer is None:
            raise LedgerWriteError(f"ledger {self.path} is open read-only")
        return self._signer

    def _begin_write(self, *, fsync: bool = True) -> tuple[int, Signer]:
        """Take the write lock; return the committed size and the current signer.

        ``fsync``: whether this transaction's commit waits for the disk (SQLite
        applies ``synchronous`` per transaction, so it is set before BEGIN).
        """
        self._writable()
        if fsync != self._synchronous_full:
            self._conn.execute(f"PRAGMA synchronous = {'FULL' if fsync else 'NORMAL'}")
            self._synchronous_full = fsync
        self._conn.execute("BEGIN IMMEDIATE")
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version == self._version_seen and self._signer is not None:
            # No other connection has committed since our last write: the size
            # and the signing key are still the ones this object knows.
            return self._tree.size, self._signer
        size, key_from = self._conn.execute(
            "SELECT (SELECT coalesce(max(seq) + 1, 0) FROM events), "
            "(SELECT max(from_seq) FROM signing_keys)"
        ).fetchone()
        if key_from != self._signer_from_seq:
            self._load_signer()  # another process rotated the key
        if self._tree.size != size:
            self._tree = self._load_frontier(size)
        self._version_seen = version
        assert self._signer is not None
        return size, self._signer

    def _append(
        self,
        prepared: Sequence[_Prepared],
        extra: Callable[[int], None] | None = None,
        *,
        seal: bool = True,
    ) -> list[AppendReceipt]:
        """Write prepared events in one transaction; ``extra(size)`` joins it.

        With ``durability="commit"`` plain events commit without an fsync; a
        checkpoint they make due is then sealed in a transaction of its own that
        is fsync'd (and with it every event before it), so no checkpoint can be
        seen by anyone before the events it covers are on disk.
        """
        interval = self.checkpoint_interval if seal else 0
        rare = any(item.kind in _INDEXED_KINDS for item in prepared)
        fsync = self.durability == "fsync" or extra is not None or rare
        with self._lock:
            if len(prepared) == 1 and extra is None and not rare:
                receipt = self._append_in_one_statement(prepared[0], interval, fsync)
                if receipt is not None:
                    return [receipt]
            try:
                size, signer = self._begin_write(fsync=fsync)
                tree = self._tree.copy()
                seals: list[tuple[int, int, bytes]] = []  # (offset, tree size, root)
                stamped = _stamp(prepared, tree, interval, seals, size)
                signatures = signer.sign_many(
                    [event_signature_message(self.origin, seq, leaf) for seq, _, leaf, _ in stamped]
                )
                self._conn.executemany(
                    _INSERT_EVENT,
                    [
                        _event_row(item, stamp, sig)
                        for stamp, item, sig in zip(stamped, prepared, signatures, strict=True)
                    ],
                )
                key_id = signer.verifier.key_id
                receipts = [
                    AppendReceipt(seq, ts, leaf, sig, key_id)
                    for (seq, ts, leaf, _), sig in zip(stamped, signatures, strict=True)
                ]
                if lookups.crosses_stride(size, len(prepared)):
                    lookups.catch_up(self._conn, size + len(prepared))
                if extra is not None:
                    extra(size)
                if fsync:
                    self._seal(seals, receipts, signer)
                if self._commits == _EXTEND_WAL_AT_COMMIT:
                    wal.extend_wal(self._conn, self.path)
                self._conn.execute("COMMIT")
            except BaseException as e:
                self._rollback()
                if isinstance(e, sqlite3.Error | OSError):
                    raise LedgerWriteError(f"event not written to {self.path}: {e}") from e
                raise
            self._commits += 1
            self._tree = tree
            self._rare_commits += rare
            if seals and not fsync:
                self._seal_after_commit(seals, receipts, signer)
        return receipts

    def _append_in_one_statement(
        self, item: _Prepared, interval: int, fsync: bool
    ) -> AppendReceipt | None:
        """The common case in one statement: insert at the size this object
        knows, as SQLite's own implicit transaction (it takes the write lock
        and commits), with no BEGIN and no size query.

        Safe because seq is the primary key and events are contiguous: if any
        other connection appended since this object last wrote, seq ``size``
        is taken, the insert fails on the key and nothing is written; the
        caller then takes the full path, which reloads size, tree and key.
        Returns None when the full path is needed: nothing known yet, a mode
        switch, a checkpoint or lookup batch due, the WAL to extend.
        """
        signer = self._signer
        size = self._tree.size
        if (
            signer is None
            or self._version_seen is None
            or fsync != self._synchronous_full
            or (interval and (size + 1) % interval == 0)
            or lookups.crosses_stride(size, 1)
            or self._commits == _EXTEND_WAL_AT_COMMIT
        ):
            return None
        tree = self._tree.copy()
        ((seq, ts, leaf, nodes),) = _stamp((item,), tree, 0, [], size)
        signature = signer.sign(event_signature_message(self.origin, seq, leaf))
        try:
            self._conn.execute(_INSERT_EVENT, _event_row(item, (seq, ts, leaf, nodes), signature))
        except sqlite3.IntegrityError:
            self._version_seen = None  # another writer took seq: reload, full path
            return None
        except (sqlite3.Error, OSError) as e:
            self._rollback()
            raise LedgerWriteError(f"event not written to {self.path}: {e}") from e
        self._commits += 1
        self._tree = tree
        return AppendReceipt(seq, ts, leaf, signature, signer.verifier.key_id)

    def _seal_after_commit(
        self,
        seals: Sequence[tuple[int, int, bytes]],
        receipts: list[AppendReceipt],
        signer: Signer,
    ) -> None:
        """Seal checkpoints due by events already committed, in an fsync'd
        transaction. The events stand either way: a failure here is logged, and
        ``checkpoint()`` or the next interval seals them."""
        try:
            self._begin_write(fsync=True)
            self._seal(seals, receipts, signer)
            self._conn.execute("COMMIT")
        except (sqlite3.Error, OSError, CanopyError) as e:
            self._rollback()
            sizes = [size for _, size, _ in seals]
            log.warning("checkpoint(s) %s not sealed in %s: %s", sizes, self.path, e)

    def _seal(
        self,
        seals: Sequence[tuple[int, int, bytes]],
        receipts: list[AppendReceipt],
        signer: Signer,
    ) -> None:
        """Insert the checkpoints due (inside the caller's transaction) and attach
        each to the receipt of the event that completed it."""
        for offset, tree_size, root in seals:
            signed = self._seal_at(tree_size, root, signer)
            receipts[offset] = dataclasses.replace(receipts[offset], checkpoint=signed)

    def _seal_at(self, size: int, root: bytes, signer: Signer) -> SignedCheckpoint:
        """The checkpoint of ``size``: the stored one if sealed already, else a
        new one inserted in the caller's transaction (sealing is idempotent)."""
        stored = self._conn.execute(
            "SELECT note FROM checkpoints WHERE size = ?", (size,)
        ).fetchone()
        if stored:
            return self._parse_stored_checkpoint(stored[0])
        return self._insert_checkpoint(size, root, signer)

    def _rollback(self) -> None:
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
        self._tree = CompactRange()  # reload from storage on the next write
        self._version_seen = None

    def _load_frontier(self, size: int) -> CompactRange:
        nodes = subtree_nodes(0, size)
        return CompactRange(size, list(self.read_hashes(nodes)))

    # --- checkpoints ------------------------------------------------------

    def _insert_checkpoint(self, size: int, root: bytes, signer: Signer) -> SignedCheckpoint:
        signed = SignedCheckpoint.sign(Checkpoint(self.origin, size, root), signer)
        self._conn.execute(
            "INSERT INTO checkpoints (size, root, note, sealed_at) VALUES (?, ?, ?, ?)",
            (size, root, signed.note, now_timestamp()),
        )
        return signed

    def checkpoint(self) -> SignedCheckpoint:
        """Seal a checkpoint over every committed event now (idempotent)."""
        with self._lock:
            try:
                size, signer = self._begin_write()
                signed = self._seal_at(size, self._tree.root(), signer)
                self._conn.execute("COMMIT")
                return signed
            except BaseException as e:
                self._rollback()
                if isinstance(e, sqlite3.Error | OSError):
                    raise LedgerWriteError(f"checkpoint not written to {self.path}: {e}") from e
                raise

    def _parse_stored_checkpoint(self, note: str) -> SignedCheckpoint:
        body = note[: note.rfind("\n\n") + 1]
        return SignedCheckpoint(Checkpoint.parse(body), note)

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        row = self._conn.execute(
            "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1"
        ).fetchone()
        return self._parse_stored_checkpoint(row[0]) if row else None

    def checkpoint_at(self, size: int) -> SignedCheckpoint | None:
        row = self._conn.execute("SELECT note FROM checkpoints WHERE size = ?", (size,)).fetchone()
        return self._parse_stored_checkpoint(row[0]) if row else None

    def checkpoints(self) -> list[SignedCheckpoint]:
        rows = self._conn.execute("SELECT note FROM checkpoints ORDER BY size")
        return [self._parse_stored_checkpoint(note) for (note,) in rows]

    # --- key rotation -----------------------------------------------------

    def rotate_key(self, new_signer: Signer | None = None) -> AppendReceipt:
        """Switch to a new signing key with a ``key_rotation`` event signed by the old one.

        The new key is written to ``<key>.next`` first and moved over the key
        file only after the event commits, so a crash leaves a state that the
        next open completes.
        """
        from canopy.ledger.note import generate_signer

        with self._lock:
            old = self._writable()
            new = new_signer or generate_signer(old.name)
            pending = self._pending_key_path()
            pending.unlink(missing_ok=True)
            keys.write_signer(pending, new)
            statement = rotation_statement(self.origin, old.verifier.vkey, new.verifier.vkey)
            fields = {
                "old_vkey": old.verifier.vkey,
                "new_vkey": new.verifier.vkey,
                "new_key_signature": new.sign(statement).hex(),
            }

            def register(size: int) -> None:
                self._conn.execute(
                    "INSERT INTO signing_keys (from_seq, vkey) VALUES (?, ?)",
                    (size + 1, new.verifier.vkey),
                )

            # The rotation's own checkpoint must be signed by the new key (a
            # checkpoint of size s is signed by the newest key starting <= s).
            receipt = self._append(
                [_prepare(EventKind.KEY_ROTATION, fields)], extra=register, seal=False
            )[0]
            self._version_seen = None  # the next write re-reads the key schedule
            os.replace(pending, self._key_path)
            self._signer, self._signer_from_seq = new, receipt.seq + 1
            if (receipt.seq + 1) % self.checkpoint_interval == 0:
                receipt = dataclasses.replace(receipt, checkpoint=self.checkpoint())
            return receipt

    # --- reading ----------------------------------------------------------

    def size(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()[0]

    def __len__(self) -> int:
        return self.size()

    def get(self, seq: int) -> StoredEvent:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {STORED_EVENT_COLUMNS} FROM events WHERE seq = ?", (seq,)
            ).fetchone()
        if row is None:
            raise IndexError(f"no event {seq} in ledger of size {self.size()}")
        return stored_event_from_row(row)

    def iter_events(
        self, start: int = 0, end: int | None = None, *, batch: int = 4096
    ) -> Iterator[StoredEvent]:
        """Events with ``start <= seq < end`` in ledger order."""
        stop = self.size() if end is None else end
        position = start
        while position < stop:
            upper = min(position + batch, stop)
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {STORED_EVENT_COLUMNS} FROM events "
                    "WHERE seq >= ? AND seq < ? ORDER BY seq",
                    (position, upper),
                ).fetchall()
            for row in rows:
                yield stored_event_from_row(row)
            position = upper

    def find(self, **criteria: str) -> list[StoredEvent]:
        """Events whose indexed fields equal the given values, in ledger order."""
        unknown = set(criteria) - set(INDEXED_FIELDS) - {"kind"}
        if unknown or not criteria:
            raise MalformedInputError(
                f"find() filters on {', '.join((*INDEXED_FIELDS, 'kind'))}; got {sorted(unknown)}"
            )
        looked_up = lookups.lookup_field(list(criteria))
        conditions, params = [], []
        for name, value in criteria.items():
            if name == looked_up:
                sql, values = lookups.lookup_condition(name, [value], layout=self._lookups)
            else:
                sql, values = f"{name} = ?", (value,)
            conditions.append(sql)
            params.extend(values)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {STORED_EVENT_COLUMNS} FROM events WHERE {' AND '.join(conditions)} "
                "ORDER BY seq",
                params,
            ).fetchall()
        return [stored_event_from_row(row) for row in rows]

    def rare_events_token(self) -> tuple[int, int]:
        """A value that changes whenever events of a rare kind (kill switch, key
        rotation, policy activation, approval, incident, index commitment) may
        have been added: SQLite's ``data_version`` (commits by any other
        connection or process) and this object's own commits of such events.
        Cheaper than asking ``events_of_kind`` on every decision."""
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            return version, self._rare_commits

    def events_of_kind(self, kind: str, *, after: int = -1) -> list[StoredEvent]:
        """Events of a rare kind (kill switch, key rotation, policy activation,
        approval, incident) after ``after``, through the kind's partial index.

        The query names the kind literally: SQLite uses a partial index only
        when the query repeats its predicate.
        """
        if kind not in _INDEXED_KINDS:
            raise ValueError(f"{kind!r} has no kind index ({sorted(_INDEXED_KINDS)})")
        query = f"SELECT {STORED_EVENT_COLUMNS} FROM events {{}} WHERE kind = '{kind}' AND seq > ? "
        with self._lock:
            try:
                rows = self._conn.execute(
                    query.format(f"INDEXED BY events_{kind}") + "ORDER BY seq", (after,)
                ).fetchall()
            except sqlite3.OperationalError:
                # A ledger opened read-only that predates this kind's index: scan.
                rows = self._conn.execute(query.format("") + "ORDER BY seq", (after,)).fetchall()
        return [stored_event_from_row(row) for row in rows]

    def read_hashes(self, nodes: Sequence[NodeId]) -> list[bytes]:
        """Stored hashes of the given complete subtrees (the prover's reader)."""
        seqs = sorted({completing_seq(node) for node in nodes})
        rows: dict[int, tuple[bytes, bytes]] = {}
        with self._lock:
            for chunk in _chunks(seqs, 500):
                marks = ",".join("?" * len(chunk))
                for seq, leaf, stored in self._conn.execute(
                    f"SELECT seq, leaf_hash, nodes FROM events WHERE seq IN ({marks})", chunk
                ):
                    rows[seq] = (bytes(leaf), bytes(stored))
        out = []
        for node in nodes:
            row = rows.get(completing_seq(node))
            h = node_from_row(node, *row) if row else None
            if h is None:
                raise LedgerError(f"ledger {self.path} lacks tree node {node}")
            out.append(h)
        return out

    def stored_node(self, node: NodeId) -> bytes | None:
        """One stored node hash, or None (for verification, which must not raise)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT leaf_hash, nodes FROM events WHERE seq = ?", (completing_seq(node),)
            ).fetchone()
        return node_from_row(node, bytes(row[0]), bytes(row[1])) if row else None

    def root(self, size: int | None = None) -> bytes:
        return tree_root(self.size() if size is None else size, self.read_hashes)


def rotation_statement(origin: str, old_vkey: str, new_vkey: str) -> bytes:
    """What the new key signs to prove the rotation was made by its holder."""
    return f"canopy/key-rotation/v1\n{origin}\n{old_vkey}\n{new_vkey}\n".encode()


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
