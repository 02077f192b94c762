"""RFC 9162 Merkle tree math: hashing, inclusion, consistency, compact ranges.

Pure functions only: no storage, no I/O. A node is addressed by
``(level, index)``: it covers leaves ``[index * 2**level, (index + 1) * 2**level)``.
Only complete (power-of-two aligned) subtrees have node ids; the hash of any
other subtree is folded from the complete ones it decomposes into.

Provers ask a ``HashReader`` for exactly the node hashes they need, in one
call, and check they got as many as they asked for (the habit of Go's
``sumdb/tlog``). Every ``prove_*`` has a matching ``verify_*``; the
``root_from_*`` functions compute, the ``verify_*`` functions compare and
raise typed errors carrying both values.

See docs/merkle.md for the algorithms and how node ids map to storage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from canopy.errors import MalformedProofError, RootMismatchError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "HashReader",
    "NodeId",
    "consistency_proof_ranges",
    "fold_subtree",
    "inclusion_proof_ranges",
    "leaf_hash",
    "node_hash",
    "prove_consistency",
    "prove_inclusion",
    "root_from_inclusion_proof",
    "roots_from_consistency_proof",
    "subtree_nodes",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
#: RFC 9162 §2.1.1: the hash of an empty tree is the hash of the empty string.
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
HashReader = Callable[[Sequence[NodeId]], Sequence[bytes]]

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d0}) = SHA-256(0x00 || d0)."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 || MTH(left) || MTH(right))."""
    return _sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162 §2.1.1: the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtree_nodes(start: int, end: int) -> list[NodeId]:
    """The complete subtrees that make up leaves ``[start, end)``, left to right.

    For a range that is itself a subtree of the RFC 9162 tree (``start`` aligned
    to a power of two at least ``end - start``), the sizes strictly decrease and
    ``fold_subtree`` of their hashes is that subtree's MTH.
    """
    if not 0 <= start <= end:
        raise ValueError(f"invalid leaf range [{start}, {end})")
    nodes: list[NodeId] = []
    while start < end:
        # Largest aligned block at `start` that fits before `end`.
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold_subtree(hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of ``subtree_nodes(...)`` into the subtree's MTH."""
    if not hashes:
        raise ValueError("cannot fold an empty list of subtree hashes")
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_proof_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PATH(index, D[size]), leaf to root (RFC 9162 §2.1.3.1)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} out of bounds for tree size {size}")
    ranges: list[tuple[int, int]] = []
    start, n, m = 0, size, index
    while n > 1:
        k = _largest_power_of_two_below(n)
        if m < k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, n, m = start + k, n - k, m - k
    ranges.reverse()
    return ranges


def consistency_proof_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """Leaf ranges whose MTHs form PROOF(old_size, D[new_size]) (RFC 9162 §2.1.4.1)."""
    if not 0 < old_size <= new_size:
        raise ValueError(
            f"consistency needs 0 < old size <= new size, got {old_size} and {new_size}"
        )
    ranges: list[tuple[int, int]] = []
    start, n, m, complete = 0, new_size, old_size, True
    while m != n:
        k = _largest_power_of_two_below(n)
        if m <= k:
            ranges.append((start + k, start + n))
            n = k
        else:
            ranges.append((start, start + k))
            start, n, m, complete = start + k, n - k, m - k, False
    if not complete:
        ranges.append((start, start + n))
    ranges.reverse()
    return ranges


def _hash_ranges(ranges: Sequence[tuple[int, int]], read_hashes: HashReader) -> list[bytes]:
    per_range = [subtree_nodes(a, b) for a, b in ranges]
    wanted = [node for nodes in per_range for node in nodes]
    got = list(read_hashes(wanted))
    if len(got) != len(wanted):
        raise AssertionError(f"hash reader returned {len(got)} hashes for {len(wanted)} nodes")
    out: list[bytes] = []
    pos = 0
    for nodes in per_range:
        out.append(fold_subtree(got[pos : pos + len(nodes)]))
        pos += len(nodes)
    return out


def prove_inclusion(index: int, size: int, read_hashes: HashReader) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of ``size`` leaves."""
    return _hash_ranges(inclusion_proof_ranges(index, size), read_hashes)


def prove_consistency(old_size: int, new_size: int, read_hashes: HashReader) -> list[bytes]:
    """The consistency proof that tree ``new_size`` extends tree ``old_size``."""
    return _hash_ranges(consistency_proof_ranges(old_size, new_size), read_hashes)


def tree_root(size: int, read_hashes: HashReader) -> bytes:
    """MTH of the first ``size`` leaves."""
    if size == 0:
        return EMPTY_ROOT
    return _hash_ranges([(0, size)], read_hashes)[0]


def _check_hashes(proof: Sequence[bytes], what: str) -> None:
    for i, item in enumerate(proof):
        if not isinstance(item, bytes | bytearray) or len(item) != HASH_SIZE:
            raise MalformedProofError(f"{what} element {i} is not a {HASH_SIZE}-byte hash")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Recompute the root from an inclusion proof (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise MalformedProofError(f"leaf index {index} out of bounds for tree size {size}")
    if len(leaf) != HASH_SIZE:
        raise MalformedProofError(f"leaf hash is {len(leaf)} bytes, not {HASH_SIZE}")
    _check_hashes(proof, "inclusion proof")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise MalformedProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProofError("inclusion proof is too short for the tree size")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Raise unless ``proof`` shows leaf ``index`` with hash ``leaf`` is in tree ``root``."""
    calculated = root_from_inclusion_proof(index, size, leaf, proof)
    if calculated != root:
        raise RootMismatchError(
            f"inclusion proof for leaf {index} of {size} gives a different root",
            expected=root,
            calculated=calculated,
        )


def roots_from_consistency_proof(
    old_size: int, new_size: int, old_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Recompute (old root, new root) from a consistency proof (RFC 9162 §2.1.4.2).

    Only for ``0 < old_size < new_size``; equal sizes need no proof.
    """
    if not 0 < old_size < new_size:
        raise MalformedProofError(
            f"a consistency proof needs 0 < old size < new size, got {old_size}, {new_size}"
        )
    if not proof:
        raise MalformedProofError("consistency proof is empty")
    _check_hashes(proof, "consistency proof")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is a node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MalformedProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MalformedProofError("consistency proof is too short")
    return fr, sr


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise unless ``proof`` shows tree (new_size, new_root) extends (old_size, old_root)."""
    if old_size > new_size:
        raise MalformedProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0:
        raise MalformedProofError("consistency with an empty tree carries no information")
    if old_size == new_size:
        if proof:
            raise MalformedProofError("trees of equal size need an empty consistency proof")
        if old_root != new_root:
            raise RootMismatchError(
                f"two different roots for tree size {old_size}",
                expected=old_root,
                calculated=new_root,
            )
        return
    old_calc, new_calc = roots_from_consistency_proof(old_size, new_size, old_root, proof)
    if old_calc != old_root:
        raise RootMismatchError(
            f"consistency proof does not match the root of size {old_size}",
            expected=old_root,
            calculated=old_calc,
        )
    if new_calc != new_root:
        raise RootMismatchError(
            f"consistency proof does not match the root of size {new_size}",
            expected=new_root,
            calculated=new_calc,
        )


@dataclass
class CompactRange:
    """The right frontier of a growing tree: one hash per set bit of ``size``.

    ``hashes`` are the roots of ``subtree_nodes(0, size)``, left to right. An
    append returns every node it completed, so a store can persist them and
    serve later proofs from stored nodes instead of recomputing subtrees.
    """

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.hashes) != self.size.bit_count():
            raise MalformedProofError(
                f"compact range of size {self.size} needs {self.size.bit_count()} hashes, "
                f"got {len(self.hashes)}"
            )
        _check_hashes(self.hashes, "compact range")

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf hash; return the completed nodes above level 0."""
        index = self.size
        completed: list[tuple[NodeId, bytes]] = []
        h = leaf
        level = 0
        while index & 1:
            h = node_hash(self.hashes.pop(), h)
            level += 1
            index >>= 1
            completed.append(((level, index), h))
        self.hashes.append(h)
        self.size += 1
        return completed

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        return fold_subtree(self.hashes)

    def copy(self) -> CompactRange:
        clone = object.__new__(CompactRange)  # already validated: skip __post_init__
        clone.size, clone.hashes = self.size, list(self.hashes)
        return clone
