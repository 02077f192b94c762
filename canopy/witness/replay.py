"""Replay for a witness that can read the ledger: recheck what the log committed to.

Before cosigning a checkpoint that grows the log from ``old`` to ``new``, the
witness rebuilds every new event's leaf from the stored fields and checks that
those leaves take the tree to the signed root, then recomputes every key-index
commitment among the new events from the (now checked) event columns. A log
that commits an index hiding a key cannot get a cosignature, so a keyed
absence proof that demands a witness quorum rests on a recomputed index.

Events before ``old`` were checked by earlier replays of this witness.
"""

from __future__ import annotations

from collections.abc import Callable

from canopy.errors import RootMismatchError, TamperedLedgerError
from canopy.ledger import keyindex
from canopy.ledger.events import INDEXED_FIELDS
from canopy.ledger.merkle import CompactRange, subtree_nodes
from canopy.ledger.store import Ledger, rebuild_leaf

__all__ = ["ledger_replay"]

Replay = Callable[[str, int, int], None]
_COLUMNS = "seq, ts, kind, " + ", ".join(INDEXED_FIELDS) + ", body, salt"


def ledger_replay(ledger: Ledger) -> Replay:
    """A ``replay(origin, old_size, new_size)`` hook reading ``ledger``."""

    def replay(origin: str, old_size: int, new_size: int) -> None:
        if origin != ledger.origin:
            raise TamperedLedgerError(f"replay asked for {origin}, the ledger is {ledger.origin}")
        signed = ledger.checkpoint_at(new_size)
        if signed is None:
            raise TamperedLedgerError(f"the ledger has no checkpoint of size {new_size}")
        tree = CompactRange(old_size, ledger.read_hashes(subtree_nodes(0, old_size)))
        commitments = []
        rows = ledger._conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE seq >= ? AND seq < ? ORDER BY seq",
            (old_size, new_size),
        )
        n = len(INDEXED_FIELDS)
        for row in rows:
            seq, ts, kind = row[0], row[1], row[2]
            fields, leaf = rebuild_leaf(seq, ts, kind, row[3 : 3 + n], row[3 + n], row[4 + n])
            if seq != tree.size:
                raise TamperedLedgerError(f"event {tree.size} is missing")
            tree.append(leaf)
            if kind == "index_commitment":
                commitments.append((seq, fields))
        if tree.size != new_size or tree.root() != signed.root:
            raise RootMismatchError(
                f"stored events {old_size}..{new_size} do not rebuild the signed tree",
                expected=signed.root,
                calculated=tree.root(),
            )
        if not commitments:
            return
        # Recompute the runs at every commitment up to the new size (deterministic
        # from the events) and compare those the new events carry.
        everything = [
            (c.seq, int(c.fields["index_size"]))
            for c in ledger.events_of_kind("index_commitment")
            if c.seq < new_size
        ]
        recomputed = dict(
            zip(
                (seq for seq, _ in everything),
                keyindex.replay_commitments(ledger._conn, everything),
                strict=True,
            )
        )
        for seq, fields in commitments:
            if keyindex.parse_runs(fields.get("index_runs")) != recomputed.get(seq):
                raise TamperedLedgerError(
                    f"the key index committed at event {seq} differs from the events"
                )

    return replay
