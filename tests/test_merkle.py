"""canopy.ledger.merkle against the naive RFC 9162 reference in merkle_reference.py.

Exhaustive at small sizes (every size, index and old size), every single-bit
flip, truncation and extension of a proof at a representative set of sizes,
and hypothesis round trips on random trees.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from merkle_reference import consistency, mth, path

from canopy.errors import MalformedProofError, RootMismatchError, VerificationError
from canopy.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    NodeId,
    consistency_proof_ranges,
    fold_subtree,
    inclusion_proof_ranges,
    leaf_hash,
    node_hash,
    prove_consistency,
    prove_inclusion,
    roots_from_consistency_proof,
    subtree_nodes,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

MAX_SIZE = 128
#: Sizes for the mutation tests: every size up to 33, and a few around 2**7.
MUTATION_SIZES = [*range(1, 34), 100, 127, 128, 129]

#: Leaf data; one more than the largest tested size so "the next tree" exists.
DATA = [f"leaf {i}".encode() for i in range(max(MUTATION_SIZES) + 2)]
LEAF_HASHES = [leaf_hash(d) for d in DATA]
#: ROOTS[n] is the reference MTH of DATA[:n].
ROOTS = [mth(DATA[:n]) for n in range(len(DATA) + 1)]

#: Mutation error types: the two kinds of bad evidence a proof can be.
PROOF_ERRORS = (MalformedProofError, RootMismatchError)


class Store:
    """The nodes a ledger would persist while appending ``leaves``."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.cr = CompactRange()
        self.nodes: dict[NodeId, bytes] = {}
        for i, data in enumerate(leaves):
            h = leaf_hash(data)
            self.nodes[(0, i)] = h
            for node, value in self.cr.append(h):
                assert node not in self.nodes, f"node {node} completed twice"
                self.nodes[node] = value
        self.requests: list[list[NodeId]] = []

    def read_hashes(self, ids):
        self.requests.append(list(ids))
        return [self.nodes[i] for i in ids]


def _stores() -> dict[int, Store]:
    return {n: Store(DATA[:n]) for n in range(max(MUTATION_SIZES) + 2)}


STORES = _stores()


def _positions(n: int) -> list[int]:
    """Representative positions in ``range(n)``: first, middle, last."""
    return sorted({0, n // 2, n - 1})


def _flips(item: bytes):
    for byte in range(len(item)):
        for bit in range(8):
            flipped = bytearray(item)
            flipped[byte] ^= 1 << bit
            yield bytes(flipped)


# --- hashing and the empty tree ---------------------------------------------


def test_leaf_and_node_hash_domain_separation():
    assert leaf_hash(b"") == mth([b""])
    assert node_hash(leaf_hash(b"a"), leaf_hash(b"b")) == mth([b"a", b"b"])
    assert leaf_hash(b"\x01" + leaf_hash(b"a") + leaf_hash(b"b")) != mth([b"a", b"b"])


def test_empty_tree():
    store = STORES[0]
    assert mth([]) == EMPTY_ROOT
    assert CompactRange().root() == mth([])
    assert store.cr.root() == EMPTY_ROOT
    assert tree_root(0, store.read_hashes) == EMPTY_ROOT
    assert store.requests == []


# --- exhaustive: every size, index and old size -------------------------------


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_compact_range_nodes_are_the_complete_subtrees(size):
    store = STORES[size]
    expected = {(0, i) for i in range(size)}
    for level in range(1, size.bit_length()):
        expected |= {(level, i) for i in range(size >> level)}
    assert set(store.nodes) == expected
    for (level, index), value in store.nodes.items():
        assert value == mth(DATA[index << level : (index + 1) << level]), (level, index)
    assert store.cr.size == size
    assert len(store.cr.hashes) == size.bit_count()


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_root_and_inclusion_match_reference(size):
    leaves = DATA[:size]
    store = STORES[size]
    root = mth(leaves)
    assert store.cr.root() == root
    assert tree_root(size, store.read_hashes) == root
    for index in range(size):
        proof = prove_inclusion(index, size, store.read_hashes)
        assert proof == path(index, leaves), index
        verify_inclusion(index, size, LEAF_HASHES[index], proof, root)


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_consistency_matches_reference(size):
    leaves = DATA[:size]
    store = STORES[size]
    new_root = mth(leaves)
    for old_size in range(1, size + 1):
        proof = prove_consistency(old_size, size, store.read_hashes)
        assert proof == consistency(old_size, leaves), old_size
        old_root = ROOTS[old_size]  # the reference MTH of leaves[:old_size]
        verify_consistency(old_size, size, old_root, new_root, proof)
        if old_size < size:
            old_calc, new_calc = roots_from_consistency_proof(old_size, size, old_root, proof)
            assert (old_calc, new_calc) == (old_root, new_root)


@pytest.mark.parametrize("size", range(1, MAX_SIZE + 1))
def test_provers_ask_only_for_stored_nodes_in_one_call(size):
    store = Store(DATA[:size])
    prove_inclusion(size - 1, size, store.read_hashes)
    prove_consistency(max(size - 1, 1), size, store.read_hashes)
    tree_root(size, store.read_hashes)
    assert len(store.requests) == 3
    for ids in store.requests:
        assert all(node in store.nodes for node in ids)


def test_compact_range_resumes_from_its_frontier():
    more = [b"resumed %d" % i for i in range(5)]
    for size in range(MAX_SIZE + 1):
        resumed = CompactRange(size, list(STORES[size].cr.hashes))
        for n, data in enumerate(more, start=1):
            resumed.append(leaf_hash(data))
            assert resumed.root() == mth(DATA[:size] + more[:n]), (size, n)


def test_compact_range_copy_is_independent():
    original = STORES[5].cr.copy()
    clone = original.copy()
    clone.append(LEAF_HASHES[5])
    assert original.size == 5
    assert original.root() == ROOTS[5]
    assert clone.root() == ROOTS[6]


def test_compact_range_extend():
    cr = CompactRange()
    cr.extend(LEAF_HASHES[:77])
    assert (cr.size, cr.root()) == (77, ROOTS[77])


def test_hash_reader_returning_too_few_hashes_is_an_internal_error():
    store = STORES[8]

    def short_reader(ids):
        return store.read_hashes(ids)[:-1]

    with pytest.raises(AssertionError, match=r"returned 2 hashes for 3 nodes"):
        prove_inclusion(0, 8, short_reader)


# --- mutations of inclusion proofs ---------------------------------------------


@pytest.mark.parametrize("size", MUTATION_SIZES)
def test_inclusion_every_bit_flip_fails(size):
    store = STORES[size]
    root = ROOTS[size]
    for index in _positions(size):
        proof = prove_inclusion(index, size, store.read_hashes)
        for pos, item in enumerate(proof):
            for bad in _flips(item):
                mutated = [*proof[:pos], bad, *proof[pos + 1 :]]
                with pytest.raises(RootMismatchError) as info:
                    verify_inclusion(index, size, LEAF_HASHES[index], mutated, root)
                assert info.value.expected == root
                assert info.value.calculated != root


@pytest.mark.parametrize("size", MUTATION_SIZES)
def test_inclusion_truncation_and_extension_fail(size):
    store = STORES[size]
    root = ROOTS[size]
    extra = leaf_hash(b"extra")
    for index in range(size):
        leaf = LEAF_HASHES[index]
        proof = prove_inclusion(index, size, store.read_hashes)
        for pos in range(len(proof)):
            with pytest.raises(MalformedProofError):
                verify_inclusion(index, size, leaf, proof[:pos] + proof[pos + 1 :], root)
        for pos in range(len(proof) + 1):
            with pytest.raises(MalformedProofError):
                verify_inclusion(index, size, leaf, [*proof[:pos], extra, *proof[pos:]], root)
        # Repeating an element is an extension too.
        if proof:
            with pytest.raises(MalformedProofError):
                verify_inclusion(index, size, leaf, [*proof, proof[-1]], root)


@pytest.mark.parametrize("size", MUTATION_SIZES)
def test_inclusion_wrong_index_leaf_root_fail(size):
    store = STORES[size]
    root = ROOTS[size]
    for index in range(size):
        leaf = LEAF_HASHES[index]
        proof = prove_inclusion(index, size, store.read_hashes)
        for other in range(size):
            if other != index:
                with pytest.raises(PROOF_ERRORS):
                    verify_inclusion(other, size, leaf, proof, root)
        for other in (-1, size, size + 1):
            with pytest.raises(MalformedProofError, match=str(other)):
                verify_inclusion(other, size, leaf, proof, root)
        for wrong_leaf in (LEAF_HASHES[index + 1], leaf_hash(b"not a leaf"), DATA[index][:1] * 32):
            with pytest.raises(RootMismatchError):
                verify_inclusion(index, size, wrong_leaf, proof, root)
        with pytest.raises(RootMismatchError):
            verify_inclusion(index, size, leaf, proof, ROOTS[size + 1])
        with pytest.raises(RootMismatchError):
            verify_inclusion(index, size, leaf, proof, bytes([root[0] ^ 0x80]) + root[1:])


@pytest.mark.parametrize("size", MUTATION_SIZES)
def test_inclusion_wrong_size_fails(size):
    # The proof for `size`, checked against a genuine root of another size.
    store = STORES[size]
    for index in range(size):
        proof = prove_inclusion(index, size, store.read_hashes)
        for other in {size - 1, size + 1, 2 * size, size // 2}:
            if index < other and other < len(DATA) and other != size:
                with pytest.raises(PROOF_ERRORS):
                    verify_inclusion(index, other, LEAF_HASHES[index], proof, ROOTS[other])
        with pytest.raises(MalformedProofError, match=r"out of bounds for tree size 0"):
            verify_inclusion(index, 0, LEAF_HASHES[index], proof, ROOTS[size])


@pytest.mark.parametrize("bad_len", [0, 1, HASH_SIZE - 1, HASH_SIZE + 1, 64])
def test_inclusion_wrong_hash_lengths_are_malformed(bad_len):
    size = 13
    root = ROOTS[size]
    proof = prove_inclusion(6, size, STORES[size].read_hashes)
    with pytest.raises(MalformedProofError, match=r"leaf hash"):
        verify_inclusion(6, size, b"\x00" * bad_len, proof, root)
    for pos in range(len(proof)):
        mutated = [*proof[:pos], b"\x00" * bad_len, *proof[pos + 1 :]]
        with pytest.raises(MalformedProofError, match=rf"element {pos}"):
            verify_inclusion(6, size, LEAF_HASHES[6], mutated, root)


# --- mutations of consistency proofs -------------------------------------------


@pytest.mark.parametrize("size", MUTATION_SIZES)
def test_consistency_every_bit_flip_fails(size):
    store = STORES[size]
    new_root = ROOTS[size]
    for old_size in _positions(size):
        old_size += 1
        old_root = ROOTS[old_size]
        proof = prove_consistency(old_size, size, store.read_hashes)
        for pos, item in enumerate(proof):
            for bad in _flips(item):
                mutated = [*proof[:pos], bad, *proof[pos + 1 :]]
                with pytest.raises(RootMismatchError):
                    verify_consistency(old_size, size, old_root, new_root, mutated)
        for bad in _flips(old_root):
            with pytest.raises(RootMismatchError):
                verify_consistency(old_size, size, bad, new_root, proof)
        for bad in _flips(new_root):
            with pytest.raises(RootMismatchError):
                verify_consistency(old_size, size, old_root, bad, proof)


@pytest.mark.parametrize("size", MUTATION_SIZES)
def test_consistency_truncation_and_extension_fail(size):
    store = STORES[size]
    new_root = ROOTS[size]
    extra = leaf_hash(b"extra")
    for old_size in range(1, size + 1):
        old_root = ROOTS[old_size]
        proof = prove_consistency(old_size, size, store.read_hashes)
        for pos in range(len(proof)):
            with pytest.raises(MalformedProofError):
                verify_consistency(
                    old_size, size, old_root, new_root, proof[:pos] + proof[pos + 1 :]
                )
        for pos in range(len(proof) + 1):
            mutated = [*proof[:pos], extra, *proof[pos:]]
            with pytest.raises(MalformedProofError):
                verify_consistency(old_size, size, old_root, new_root, mutated)
        # Prepending the old root is a classic mistake for power-of-two old sizes.
        with pytest.raises(MalformedProofError):
            verify_consistency(old_size, size, old_root, new_root, [old_root, *proof])


@pytest.mark.parametrize("size", MUTATION_SIZES)
def test_consistency_wrong_sizes_and_roots_fail(size):
    store = STORES[size]
    new_root = ROOTS[size]
    for old_size in range(1, size + 1):
        old_root = ROOTS[old_size]
        proof = prove_consistency(old_size, size, store.read_hashes)
        for other_old in range(1, size + 1):
            if other_old != old_size:
                with pytest.raises(PROOF_ERRORS):
                    verify_consistency(other_old, size, ROOTS[other_old], new_root, proof)
        other_new = size + 1
        with pytest.raises(PROOF_ERRORS):
            verify_consistency(old_size, other_new, old_root, ROOTS[other_new], proof)
        if old_size < size:
            # The roots of other trees, right sizes.
            with pytest.raises(RootMismatchError):
                verify_consistency(old_size, size, mth(DATA[1 : old_size + 1]), new_root, proof)
            with pytest.raises(RootMismatchError):
                verify_consistency(old_size, size, old_root, mth(DATA[1 : size + 1]), proof)
            with pytest.raises(RootMismatchError):
                verify_consistency(old_size, size, new_root, old_root, proof)


def test_consistency_equal_sizes():
    root = ROOTS[9]
    verify_consistency(9, 9, root, root, [])
    with pytest.raises(MalformedProofError, match=r"empty consistency proof"):
        verify_consistency(9, 9, root, root, [root])
    with pytest.raises(RootMismatchError, match=r"size 9") as info:
        verify_consistency(9, 9, root, ROOTS[8], [])
    assert (info.value.expected, info.value.calculated) == (root, ROOTS[8])


def test_consistency_impossible_sizes_are_malformed():
    root = ROOTS[4]
    with pytest.raises(MalformedProofError, match=r"old size 5 is larger than new size 4"):
        verify_consistency(5, 4, root, root, [])
    with pytest.raises(MalformedProofError):
        verify_consistency(0, 4, EMPTY_ROOT, root, [])
    with pytest.raises(MalformedProofError):
        verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(MalformedProofError, match=r"empty"):
        verify_consistency(3, 4, ROOTS[3], root, [])
    with pytest.raises(MalformedProofError, match=r"got 4, 4"):
        roots_from_consistency_proof(4, 4, root, [root])
    with pytest.raises(MalformedProofError, match=r"element 1"):
        verify_consistency(3, 4, ROOTS[3], root, [root, b"short"])


def test_mutation_errors_are_verification_errors():
    assert issubclass(MalformedProofError, VerificationError)
    assert issubclass(RootMismatchError, VerificationError)
    assert not issubclass(MalformedProofError, ValueError)


# --- hypothesis round trips -----------------------------------------------------


@st.composite
def tree_and_position(draw):
    size = draw(st.integers(min_value=1, max_value=300))
    leaves = draw(st.lists(st.binary(max_size=8), min_size=size, max_size=size))
    position = draw(st.integers(min_value=0, max_value=len(leaves) - 1))
    return leaves, position


@settings(max_examples=60, deadline=None)
@given(tree_and_position())
def test_random_inclusion_round_trip(case):
    leaves, index = case
    size = len(leaves)
    store = Store(leaves)
    root = mth(leaves)
    assert store.cr.root() == root
    assert tree_root(size, store.read_hashes) == root
    proof = prove_inclusion(index, size, store.read_hashes)
    assert proof == path(index, leaves)
    verify_inclusion(index, size, leaf_hash(leaves[index]), proof, root)
    if proof:
        with pytest.raises(MalformedProofError):
            verify_inclusion(index, size, leaf_hash(leaves[index]), proof[:-1], root)


@settings(max_examples=60, deadline=None)
@given(tree_and_position())
def test_random_consistency_round_trip(case):
    leaves, old_index = case
    old_size, size = old_index + 1, len(leaves)
    store = Store(leaves)
    old_root, new_root = mth(leaves[:old_size]), mth(leaves)
    proof = prove_consistency(old_size, size, store.read_hashes)
    assert proof == consistency(old_size, leaves)
    verify_consistency(old_size, size, old_root, new_root, proof)
    if old_size < size:
        with pytest.raises(RootMismatchError):
            verify_consistency(old_size, size, old_root, leaf_hash(b"other"), proof)


# --- subtree decomposition ------------------------------------------------------


def _is_rfc_subtree(start: int, end: int) -> bool:
    """A range that is MTH of some node of an RFC 9162 tree: aligned to its size rounded up."""
    return start % (1 << (end - start - 1).bit_length()) == 0


@pytest.mark.parametrize("start", range(0, 65))
def test_subtree_nodes_cover_the_range_with_aligned_blocks(start):
    for end in range(start, 65):
        nodes = subtree_nodes(start, end)
        pos = start
        for level, index in nodes:
            assert level >= 0 and index >= 0
            assert index << level == pos, (start, end, nodes)
            pos += 1 << level
        assert pos == end, (start, end, nodes)
        # Minimal: no two neighbours of one size could have been one aligned block.
        for (l1, i1), (l2, i2) in itertools.pairwise(nodes):
            assert not (l1 == l2 and i1 % 2 == 0 and i2 == i1 + 1), (start, end, nodes)
        if end > start and _is_rfc_subtree(start, end):
            levels = [level for level, _ in nodes]
            assert levels == sorted(set(levels), reverse=True), (start, end, nodes)
            hashes = [STORES[end].nodes[node] for node in nodes]
            assert fold_subtree(hashes) == mth(DATA[start:end]), (start, end)


def test_subtree_nodes_examples():
    assert subtree_nodes(0, 0) == []
    assert subtree_nodes(5, 5) == []
    assert subtree_nodes(0, 7) == [(2, 0), (1, 2), (0, 6)]
    assert subtree_nodes(1, 7) == [(0, 1), (1, 1), (1, 2), (0, 6)]
    assert subtree_nodes(8, 13) == [(2, 2), (0, 12)]


def test_proof_ranges_are_rfc_subtrees():
    for size in range(1, 65):
        for index in range(size):
            for a, b in inclusion_proof_ranges(index, size):
                assert 0 <= a < b <= size and _is_rfc_subtree(a, b), (index, size, a, b)
        for old_size in range(1, size + 1):
            for a, b in consistency_proof_ranges(old_size, size):
                assert 0 <= a < b <= size and _is_rfc_subtree(a, b), (old_size, size, a, b)


# --- caller mistakes ------------------------------------------------------------


def _never_called(ids):
    raise AssertionError(f"reader called with {ids}")


@pytest.mark.parametrize(("index", "size"), [(5, 5), (6, 5), (-1, 5), (0, 0), (-1, 0)])
def test_prove_inclusion_index_out_of_bounds(index, size):
    with pytest.raises(ValueError, match=rf"leaf index {index} out of bounds for tree size {size}"):
        prove_inclusion(index, size, _never_called)


@pytest.mark.parametrize(("old_size", "new_size"), [(0, 5), (6, 5), (-1, 3), (0, 0), (2, 1)])
def test_prove_consistency_bad_sizes(old_size, new_size):
    with pytest.raises(ValueError, match=rf"got {old_size} and {new_size}"):
        prove_consistency(old_size, new_size, _never_called)


@pytest.mark.parametrize(("start", "end"), [(3, 2), (-1, 4), (-2, -1)])
def test_subtree_nodes_bad_range(start, end):
    with pytest.raises(ValueError, match=rf"\[{start}, {end}\)"):
        subtree_nodes(start, end)


def test_fold_subtree_of_nothing():
    with pytest.raises(ValueError, match=r"empty"):
        fold_subtree([])


def test_caller_mistakes_are_not_verification_errors():
    with pytest.raises(ValueError) as info:
        prove_inclusion(3, 2, _never_called)
    assert not isinstance(info.value, VerificationError)


@pytest.mark.parametrize(("size", "count"), [(0, 1), (1, 0), (3, 1), (3, 3), (8, 2), (7, 2)])
def test_compact_range_wrong_hash_count(size, count):
    with pytest.raises(MalformedProofError, match=rf"size {size} needs {size.bit_count()} hashes"):
        CompactRange(size, [LEAF_HASHES[i] for i in range(count)])


def test_compact_range_wrong_hash_length():
    with pytest.raises(MalformedProofError, match=r"compact range element 1"):
        CompactRange(3, [LEAF_HASHES[0], b"short"])
