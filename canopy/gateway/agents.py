"""Agent registration: an agent's identity recorded once, as a signed event.

A registration is an ``agent_registered`` event carrying the AVID, the
identity it was derived from, optional metadata and the caller that
registered it. Registering the same identity again changes nothing and
answers with the first registration, so a fleet can register at every start.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from canopy.decisions.identity import IDENTITY_KEYS, avid_for, identity_of
from canopy.errors import MalformedInputError
from canopy.ledger.events import EventKind
from canopy.ledger.lookups import lookup_condition, lookup_layout
from canopy.ledger.store import Ledger, StoredEvent

__all__ = ["AgentActivity", "agent_activity", "list_agents", "register_agent"]

#: Agents per lookup query (each value is bound three times; SQLite allows 32766).
_CHUNK = 200


def _registration_record(event: StoredEvent) -> dict[str, Any]:
    fields = event.fields
    return {
        "avid": fields.get("avid"),
        "identity": fields.get("identity"),
        "metadata": fields.get("metadata") or {},
        "registered_by": fields.get("registered_by"),
        "registered_at": event.ts,
        "registration_seq": event.seq,
    }


def _identity_from(body: Mapping[str, Any]) -> dict[str, Any]:
    source = body.get("agent_ctx", body)
    if not isinstance(source, Mapping):
        raise MalformedInputError("agent_ctx must be an object")
    given = {k: source[k] for k in IDENTITY_KEYS if source.get(k) is not None}
    for name, value in given.items():
        if not isinstance(value, str) or not value.strip():
            raise MalformedInputError(f"{name} must be a non-empty string")
    if not any(k in given for k in ("public_key", "agent_id", "agent_name", "name")):
        raise MalformedInputError(
            "an agent identity needs public_key (ideally with created_at), agent_id, "
            "agent_name or name"
        )
    return given


def register_agent(
    ledger: Ledger, body: Mapping[str, Any], registered_by: str
) -> tuple[dict[str, Any], bool]:
    """Record the agent described by ``body``; return (registration, created).

    ``body`` holds the identity keys (``public_key``, ``created_at``,
    ``agent_id``, ``agent_name``, ``name``) at top level or under ``agent_ctx``,
    and optionally ``metadata`` (an object).
    """
    given = _identity_from(body)
    metadata = body.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise MalformedInputError("metadata must be an object")
    avid = avid_for(given)
    existing = ledger.find(avid=avid, kind=EventKind.AGENT_REGISTERED)
    if existing:
        return _registration_record(existing[0]), False
    fields = {
        "avid": avid,
        "identity": identity_of(given),
        "metadata": dict(metadata),
        "registered_by": registered_by,
    }
    receipt = ledger.append(EventKind.AGENT_REGISTERED, fields)
    return {
        "avid": avid,
        "identity": fields["identity"],
        "metadata": fields["metadata"],
        "registered_by": registered_by,
        "registered_at": receipt.ts,
        "registration_seq": receipt.seq,
    }, True


@dataclass
class AgentActivity:
    """What one agent did, from the indexed columns only (no bodies read)."""

    events: int = 0
    decisions: Counter[str] = field(default_factory=Counter)
    first_seen: str | None = None
    last_seen: str | None = None

    def add(self, kind: str, decision: str | None, n: int, first: str, last: str) -> None:
        self.events += n
        if kind == "authorization" and decision:
            self.decisions[decision] += n
        self.first_seen = first if self.first_seen is None else min(self.first_seen, first)
        self.last_seen = last if self.last_seen is None else max(self.last_seen, last)

    def to_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "decisions": dict(sorted(self.decisions.items())),
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
        }


_ACTIVITY = (
    "SELECT avid, kind, decision, count(*), min(ts), max(ts) FROM events "
    "WHERE {} GROUP BY avid, kind, decision"
)


def agent_activity(
    conn: sqlite3.Connection, avids: Iterable[str] | None
) -> dict[str, AgentActivity]:
    """Activity of the given agents through the lookups, or of every agent
    in the ledger (``avids`` None: one pass over the indexed columns)."""
    activity: dict[str, AgentActivity] = {}
    queries: list[tuple[str, Sequence[Any]]] = []
    if avids is None:
        queries.append((_ACTIVITY.format("avid IS NOT NULL"), ()))
    else:
        wanted = sorted(set(avids))
        layout = lookup_layout(conn)
        for start in range(0, len(wanted), _CHUNK):
            sql, params = lookup_condition("avid", wanted[start : start + _CHUNK], layout=layout)
            queries.append((_ACTIVITY.format(sql), params))
    for sql, params in queries:
        for avid, kind, decision, n, first, last in conn.execute(sql, params):
            activity.setdefault(avid, AgentActivity()).add(kind, decision, n, first, last)
    return activity


def list_agents(
    ledger: Ledger, conn: sqlite3.Connection, *, include_unregistered: bool = False
) -> list[dict[str, Any]]:
    """Registered agents (first registration of each AVID), with their
    activity; with ``include_unregistered``, every other agent seen too."""
    registered: dict[str, dict[str, Any]] = {}
    for event in ledger.events_of_kind(EventKind.AGENT_REGISTERED):
        record = _registration_record(event)
        registered.setdefault(str(record["avid"]), record)
    activity = agent_activity(conn, None if include_unregistered else registered)
    agents = []
    for avid in sorted(set(registered) | (set(activity) if include_unregistered else set())):
        record = registered.get(avid, {"avid": avid})
        agents.append(
            {
                **record,
                "registered": avid in registered,
                "activity": activity.get(avid, AgentActivity()).to_json(),
            }
        )
    return agents
