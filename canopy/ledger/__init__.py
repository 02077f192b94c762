"""The signed event ledger: store, Merkle tree, checkpoints, keys, proofs."""

from canopy.ledger.store import AppendReceipt, Ledger, StoredEvent

__all__ = ["AppendReceipt", "Ledger", "StoredEvent"]
