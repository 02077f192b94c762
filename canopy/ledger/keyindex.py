"""The key index: log-structured sorted Merkle trees over the keys events carry.

The index over events ``[0, n)`` is a short list of runs, each a sorted Merkle
tree of keys. A commitment adds one run for the keys of the events since the
last commitment and merges runs whose sizes come within a factor of four, so
there are about log4(keys) runs and a key is rewritten about log4 times over
its life. The ledger records every run root in an ``index_commitment`` event,
covered by a signed checkpoint. Absence of a key is shown, in every run, by two
adjacent leaves that bracket its hash (or by its own leaf, which says when the
key was last seen and with which kinds), each with an RFC 9162 inclusion proof:
a whole-history proof stays a few kilobytes at any ledger size. The runs are a
deterministic function of the events and the commitment sizes, so an auditor
or a witness can recompute them (``replay_commitments``).

Keys of an event (all optional): ``t:<trace_id>``, ``v:<avid>``,
``y:<action_type>`` and ``a:<authorization_id>``; the leaf of an authorization
key also records which event kinds carried it (a bit per kind), so "the tool of
authorization X never ran" is a leaf whose execution bit is clear.

Leaf bytes: ``"canopy/key-index/v1" 0x00 || key_hash (32) || kinds (2, big
endian) || last_seq (8, big endian)``; leaf hash = SHA-256(0x00 || leaf bytes);
the tree is RFC 9162 over the leaves sorted by key hash, between two sentinel
leaves with key hashes 0x00..00 and 0xff..ff.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canopy.errors import MalformedProofError, RootMismatchError
from canopy.ledger.merkle import (
    HASH_SIZE,
    leaf_hash,
    node_hash,
    prove_inclusion,
    root_from_inclusion_proof,
)

__all__ = [
    "KIND_BITS",
    "IndexFile",
    "IndexLeaf",
    "build_index",
    "commit_index",
    "key_hash",
    "keys_of",
    "leaf_bytes",
    "replay_commitments",
]

_LEAF_DOMAIN = b"canopy/key-index/v1\x00"
_KEY_DOMAIN = b"canopy/index-key/v1\x00"
LOW = b"\x00" * 32
HIGH = b"\xff" * 32
#: Bit per event kind in an authorization key's leaf (unknown kinds share "other").
KIND_BITS = {
    "authorization": 1 << 0,
    "execution": 1 << 1,
    "tool_result": 1 << 2,
    "approval": 1 << 3,
    "incident": 1 << 4,
    "other": 1 << 15,
}
_LEAF = struct.Struct(">32sHQ")  # key hash, kinds, last seq
_MAGIC = b"CNPYIDX1"
_HEADER = struct.Struct(">8sQQ32s")  # magic, index size (events), leaf count, root


def key_hash(key: str) -> bytes:
    return hashlib.sha256(_KEY_DOMAIN + key.encode("utf-8")).digest()


def keys_of(kind: str, fields: Mapping[str, Any]) -> list[str]:
    """The index keys an event carries (strings; hashed with ``key_hash``)."""
    keys = []
    for prefix, name in (("t:", "trace_id"), ("v:", "avid"), ("y:", "action_type")):
        value = fields.get(name)
        if isinstance(value, str):
            keys.append(prefix + value)
    auth = fields.get("authorization_id")
    if isinstance(auth, str):
        keys.append("a:" + auth)
    return keys


@dataclass(frozen=True, slots=True)
class IndexLeaf:
    key_hash: bytes
    kinds: int
    last_seq: int

    def to_bytes(self) -> bytes:
        return _LEAF.pack(self.key_hash, self.kinds, self.last_seq)

    def hash(self) -> bytes:
        return leaf_hash(_LEAF_DOMAIN + self.to_bytes())

    @classmethod
    def from_bytes(cls, raw: bytes) -> IndexLeaf:
        if len(raw) != _LEAF.size:
            raise MalformedProofError(f"index leaf is {len(raw)} bytes, not {_LEAF.size}")
        kh, kinds, seq = _LEAF.unpack(raw)
        return cls(kh, kinds, seq)


def leaf_bytes(leaf: IndexLeaf) -> bytes:
    return leaf.to_bytes()


def kind_bit(kind: str) -> int:
    return KIND_BITS.get(kind, KIND_BITS["other"])


def accumulate(
    table: dict[bytes, list[int]], events: Iterable[tuple[int, str, Mapping[str, Any]]]
) -> None:
    """Fold events (seq, kind, fields) into ``key hash -> [kinds, last seq]``."""
    for seq, kind, fields in events:
        bit = kind_bit(kind)
        for key in keys_of(kind, fields):
            kh = key_hash(key)
            entry = table.get(kh)
            if entry is None:
                table[kh] = [bit if key.startswith("a:") else 0, seq]
            else:
                if key.startswith("a:"):
                    entry[0] |= bit
                entry[1] = max(entry[1], seq)


def build_index(table: Mapping[bytes, list[int]]) -> list[IndexLeaf]:
    """Sorted leaves with both sentinels."""
    leaves = [IndexLeaf(LOW, 0, 0)]
    leaves.extend(IndexLeaf(kh, entry[0], entry[1]) for kh, entry in sorted(table.items()))
    leaves.append(IndexLeaf(HIGH, 0, 0))
    return leaves


def tree_levels(leaf_hashes: list[bytes]) -> list[list[bytes]]:
    """Complete-subtree hashes per level (level l holds floor(n / 2**l) nodes)."""
    levels = [leaf_hashes]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels


def root_of_levels(levels: list[list[bytes]], count: int) -> bytes:
    from canopy.ledger.merkle import fold_subtree, subtree_nodes

    return fold_subtree([levels[lv][ix] for lv, ix in subtree_nodes(0, count)])


class IndexFile:
    """The derived on-disk index: header, leaves, then every level's node hashes.

    Memory-mapped, so a proof reads a few dozen hashes at computed offsets.
    It is rebuildable from the ledger at any time and never trusted on its
    own: proofs are checked against the root committed in the ledger.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = path.open("rb")
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        magic, self.index_size, self.count, self.root = _HEADER.unpack_from(self._map, 0)
        if magic != _MAGIC:
            raise MalformedProofError(f"{path} is not a Canopy key index")
        self._leaves_at = _HEADER.size
        self._level_at = [self._leaves_at + self.count * _LEAF.size]
        width = self.count
        while width > 1:
            self._level_at.append(self._level_at[-1] + width * HASH_SIZE)
            width //= 2

    def close(self) -> None:
        self._map.close()
        self._file.close()

    def leaf(self, index: int) -> IndexLeaf:
        start = self._leaves_at + index * _LEAF.size
        return IndexLeaf.from_bytes(self._map[start : start + _LEAF.size])

    def node(self, level: int, index: int) -> bytes:
        start = self._level_at[level] + index * HASH_SIZE
        return self._map[start : start + HASH_SIZE]

    def read_hashes(self, nodes: Iterable[tuple[int, int]]) -> list[bytes]:
        return [self.node(level, index) for level, index in nodes]

    def find(self, kh: bytes) -> int:
        """Index of the first leaf whose key hash is >= ``kh`` (binary search)."""
        lo, hi = 0, self.count
        while lo < hi:
            mid = (lo + hi) // 2
            start = self._leaves_at + mid * _LEAF.size
            if self._map[start : start + 32] < kh:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def prove(self, index: int) -> dict[str, Any]:
        import base64

        leaf = self.leaf(index)
        path = prove_inclusion(index, self.count, self.read_hashes)
        return {
            "index": index,
            "leaf": base64.b64encode(leaf.to_bytes()).decode("ascii"),
            "path": [base64.b64encode(h).decode("ascii") for h in path],
        }

    @staticmethod
    def write(path: Path, index_size: int, leaves: list[IndexLeaf]) -> bytes:
        """Write atomically; return the root."""
        hashes = [leaf.hash() for leaf in leaves]
        levels = tree_levels(hashes)
        root = root_of_levels(levels, len(leaves))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            f.write(_HEADER.pack(_MAGIC, index_size, len(leaves), root))
            f.write(b"".join(leaf.to_bytes() for leaf in leaves))
            for level in levels:
                f.write(b"".join(level))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return root


def check_index_path(root: bytes, count: int, proof: Mapping[str, Any]) -> IndexLeaf:
    """Verify one leaf's inclusion in the committed index; return the leaf."""
    from canopy.ledger.note import strict_b64decode

    try:
        index = proof["index"]
        leaf = IndexLeaf.from_bytes(strict_b64decode(str(proof["leaf"]), "index leaf"))
        path = [strict_b64decode(str(h), "index path") for h in proof["path"]]
    except (KeyError, TypeError, ValueError) as e:
        raise MalformedProofError(f"malformed index path: {e}") from e
    if not isinstance(index, int) or isinstance(index, bool):
        raise MalformedProofError("index position must be an integer")
    calculated = root_from_inclusion_proof(index, count, leaf.hash(), path)
    if calculated != root:
        raise RootMismatchError(
            "index leaf is not in the committed index", expected=root, calculated=calculated
        )
    return leaf


# --- committing the index to a ledger: a log-structured set of runs -----------------

INDEX_FORMAT = "canopy/key-index/v2"
#: A new run is merged into the one before it while it holds at least a quarter
#: as many keys: run sizes then shrink at least fourfold, so a ledger has about
#: log4(keys) runs (a small proof) and each key is rewritten about log4 times
#: over its life (cheap maintenance), instead of the whole index per commit.
MERGE_RATIO = 4
_KEY_COLUMNS = "seq, kind, trace_id, avid, action_type, authorization_id"

Table = dict[bytes, list[int]]


@dataclass(frozen=True, slots=True)
class RunSummary:
    root: bytes
    count: int  # leaves, sentinels included

    def to_json(self) -> dict[str, Any]:
        import base64

        return {"root": base64.b64encode(self.root).decode("ascii"), "count": self.count}


def index_dir_for(ledger_path: Path | str) -> Path:
    return Path(f"{os.fspath(ledger_path)}.index.d")


def run_path(directory: Path, root: bytes) -> Path:
    return directory / f"{root.hex()}.idx"


def table_for(conn: Any, size: int, start: int = 0, table: Table | None = None) -> Table:
    """Key table of events ``[start, size)`` from their columns (no body decoding)."""
    table = {} if table is None else table
    rows = conn.execute(
        f"SELECT {_KEY_COLUMNS} FROM events WHERE seq >= ? AND seq < ? ORDER BY seq",
        (start, size),
    )
    names = ("trace_id", "avid", "action_type", "authorization_id")
    accumulate(
        table,
        (
            (row[0], row[1], {n: v for n, v in zip(names, row[2:], strict=True) if v is not None})
            for row in rows
        ),
    )
    return table


def merge_tables(older: Table, newer: Table) -> Table:
    merged = {kh: list(entry) for kh, entry in older.items()}
    for kh, (kinds, seq) in newer.items():
        entry = merged.get(kh)
        if entry is None:
            merged[kh] = [kinds, seq]
        else:
            entry[0] |= kinds
            entry[1] = max(entry[1], seq)
    return merged


def add_run(runs: list[Table], new: Table) -> list[Table]:
    """The run list after a commitment that adds ``new`` (deterministic)."""
    runs = [*runs, new]
    while len(runs) >= 2 and len(runs[-1]) * MERGE_RATIO >= len(runs[-2]):
        newer = runs.pop()
        runs[-1] = merge_tables(runs[-1], newer)
    return runs


def summarize(table: Table) -> tuple[RunSummary, list[IndexLeaf]]:
    leaves = build_index(table)
    levels = tree_levels([leaf.hash() for leaf in leaves])
    return RunSummary(root_of_levels(levels, len(leaves)), len(leaves)), leaves


def parse_runs(value: Any) -> list[RunSummary]:
    """The ``index_runs`` field of a commitment, strictly."""
    from canopy.ledger.note import strict_b64decode

    if not isinstance(value, list) or not value:
        raise MalformedProofError("index_runs must be a non-empty list")
    runs = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"root", "count"}:
            raise MalformedProofError("each index run needs exactly root and count")
        count = item["count"]
        if not isinstance(count, int) or isinstance(count, bool) or count < 2:
            raise MalformedProofError("index run count must be an integer >= 2")
        root = strict_b64decode(str(item["root"]), "index run root")
        if len(root) != HASH_SIZE:
            raise MalformedProofError("index run root is not 32 bytes")
        runs.append(RunSummary(root, count))
    return runs


def replay_commitments(conn: Any, commitments: list[tuple[int, int]]) -> list[list[RunSummary]]:
    """Recompute the runs at each commitment ``(seq, index_size)`` from the events."""
    runs: list[Table] = []
    covered = 0
    out = []
    for _seq, size in commitments:
        if size < covered:
            raise MalformedProofError(f"index size {size} goes backwards from {covered}")
        runs = add_run(runs, table_for(conn, size, covered))
        covered = size
        out.append([summarize(table)[0] for table in runs])
    return out


def _load_run(directory: Path, summary: RunSummary) -> Table | None:
    path = run_path(directory, summary.root)
    try:
        index = IndexFile(path)
    except (OSError, ValueError, MalformedProofError):
        return None
    try:
        if index.root != summary.root or index.count != summary.count:
            return None
        table: Table = {}
        for position in range(1, index.count - 1):  # skip the two sentinels
            leaf = index.leaf(position)
            table[leaf.key_hash] = [leaf.kinds, leaf.last_seq]
        return table
    finally:
        index.close()


@dataclass
class _StoredRun:
    """A run of the last commitment, left on disk unless a merge needs its keys."""

    summary: RunSummary
    directory: Path

    @property
    def keys(self) -> int:
        return self.summary.count - 2  # the two sentinels

    def load(self) -> Table | None:
        return _load_run(self.directory, self.summary)


def _current_runs(ledger: Any) -> tuple[list[_StoredRun | Table], int]:
    """The runs of the last commitment: as stored run files when they are all there,
    else recomputed from the events (slow, but always possible)."""
    commitments = ledger.events_of_kind("index_commitment")
    if not commitments:
        return [], 0
    last = commitments[-1].fields
    directory = index_dir_for(ledger.path)
    stored = [_StoredRun(s, directory) for s in parse_runs(last["index_runs"])]
    if all(run_path(directory, run.summary.root).exists() for run in stored):
        return list(stored), int(last["index_size"])
    runs: list[Table] = []
    covered = 0
    for event in commitments:
        boundary = int(event.fields["index_size"])
        runs = add_run(runs, table_for(ledger._conn, boundary, covered))
        covered = boundary
    return list(runs), covered


def _keys(run: _StoredRun | Table) -> int:
    return run.keys if isinstance(run, _StoredRun) else len(run)


def _table(run: _StoredRun | Table) -> Table:
    if isinstance(run, _StoredRun):
        table = run.load()
        if table is None:
            raise MalformedProofError(f"index run {run.summary.root.hex()} is unreadable")
        return table
    return run


def commit_index(ledger: Any) -> dict[str, Any]:
    """Index the events added since the last commitment, merge runs, record the roots.

    Returns the ``index_commitment`` event's fields (with its ``seq``). The
    commitment becomes usable for proofs once a checkpoint covers it.
    """
    size = ledger.size()
    runs, covered = _current_runs(ledger)
    runs.append(table_for(ledger._conn, size, covered))
    # The same merge rule as ``add_run``; stored runs are read only when merged.
    while len(runs) >= 2 and _keys(runs[-1]) * MERGE_RATIO >= _keys(runs[-2]):
        newer = _table(runs.pop())
        runs[-1] = merge_tables(_table(runs[-1]), newer)
    directory = index_dir_for(ledger.path)
    directory.mkdir(exist_ok=True)
    summaries = []
    for run in runs:
        if isinstance(run, _StoredRun):
            summaries.append(run.summary)  # untouched: already on disk
            continue
        summary, leaves = summarize(run)
        path = run_path(directory, summary.root)
        if not path.exists():
            IndexFile.write(path, size, leaves)
        summaries.append(summary)
    fields = {
        "index_format": INDEX_FORMAT,
        "index_size": size,
        "index_runs": [s.to_json() for s in summaries],
    }
    receipt = ledger.append("index_commitment", fields)
    return {**fields, "seq": receipt.seq}
