"""The key index: a sorted Merkle tree over the keys every event carries.

Absence of a key is shown by two adjacent leaves that bracket its hash (or by
its own leaf, which says when the key was last seen and with which kinds), each
with an RFC 9162 inclusion proof against an index root that the ledger itself
commits in an ``index_commitment`` event, covered by a signed checkpoint. The
index is cumulative (events ``[0, n)``), so a whole-history proof stays a few
kilobytes at any ledger size, and its root is a deterministic function of the
events, so an auditor or a witness can recompute it.

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
    "key_hash",
    "keys_of",
    "leaf_bytes",
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


# --- committing an index to a ledger --------------------------------------------

INDEX_FORMAT = "canopy/key-index/v1"
_KEY_COLUMNS = "seq, kind, trace_id, avid, action_type, authorization_id"


def index_path_for(ledger_path: Path | str) -> Path:
    return Path(f"{os.fspath(ledger_path)}.index")


def table_for(conn: Any, size: int, start: int = 0, table: dict | None = None) -> dict:
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


def _previous_table(ledger: Any) -> tuple[dict[bytes, list[int]], int]:
    """Start from the stored index when it is the one the ledger last committed
    (same size and root), so a commit only scans the events added since."""
    import base64

    commitments = ledger.events_of_kind("index_commitment")
    path = index_path_for(ledger.path)
    if not commitments or not path.exists():
        return {}, 0
    last = commitments[-1].fields
    try:
        index = IndexFile(path)
    except (OSError, ValueError, MalformedProofError):
        return {}, 0
    try:
        if index.index_size != last.get("index_size") or base64.b64encode(index.root).decode(
            "ascii"
        ) != last.get("index_root"):
            return {}, 0
        table = {}
        for position in range(1, index.count - 1):  # skip the two sentinels
            leaf = index.leaf(position)
            table[leaf.key_hash] = [leaf.kinds, leaf.last_seq]
        return table, index.index_size
    finally:
        index.close()


def commit_index(ledger: Any) -> dict[str, Any]:
    """Build the index over every committed event, store it, record its root.

    Returns the ``index_commitment`` event's fields (with its ``seq``). The
    commitment becomes usable for proofs once a checkpoint covers it.
    """
    import base64

    size = ledger.size()
    table, start = _previous_table(ledger)
    table_for(ledger._conn, size, start, table)
    leaves = build_index(table)
    root = IndexFile.write(index_path_for(ledger.path), size, leaves)
    fields = {
        "index_format": INDEX_FORMAT,
        "index_size": size,
        "index_root": base64.b64encode(root).decode("ascii"),
        "index_count": len(leaves),
    }
    receipt = ledger.append("index_commitment", fields)
    return {**fields, "seq": receipt.seq}
