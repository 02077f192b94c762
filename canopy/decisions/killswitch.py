"""Operator kill switch: its state is the fold of ``kill_switch`` ledger events.

An operator turns it on or off for everyone or for one agent (by AVID) with
``canopy kill-switch``; each change is a signed event, so the switch has an
audit trail of its own. Agents cannot turn it off: only the ledger's events
count, and an agent's own context can only add a stop (Constitution Art.7).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["KillSwitchState", "KillSwitchWatcher", "kill_switch_fields"]

GLOBAL = "*"


def kill_switch_fields(
    on: bool, *, avid: str | None = None, operator: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    """The fields of a ``kill_switch`` event (``avid`` omitted = every agent)."""
    fields: dict[str, Any] = {"state": "on" if on else "off", "scope": avid or GLOBAL}
    if avid:
        fields["avid"] = avid
    if operator:
        fields["operator"] = operator
    if reason:
        fields["reason"] = reason
    return fields


@dataclass
class KillSwitchState:
    """Which scopes are stopped, and why: a pure fold over kill_switch events."""

    stopped: dict[str, str] = field(default_factory=dict)  # scope -> reason
    last_seq: int = -1

    def apply(self, seq: int, fields: Mapping[str, Any]) -> None:
        scope = str(fields.get("scope") or GLOBAL)
        if fields.get("state") == "on":
            who = fields.get("operator") or "an operator"
            why = fields.get("reason") or "no reason given"
            target = "every agent" if scope == GLOBAL else scope
            self.stopped[scope] = f"stopped {target} at event {seq} by {who}: {why}"
        elif fields.get("state") == "off":
            self.stopped.pop(scope, None)
        self.last_seq = max(self.last_seq, seq)

    def reason_for(self, avid: str) -> str | None:
        return self.stopped.get(GLOBAL) or self.stopped.get(avid)


class KillSwitchWatcher:
    """Keeps a ledger's kill-switch state current: it reads only new events, and
    only when the ledger's change token says events of a rare kind may exist."""

    def __init__(self) -> None:
        self._state = KillSwitchState()
        self._token: object = None
        self._lock = threading.Lock()

    def reason_for(self, ledger: Any, avid: str) -> str | None:
        """Why ``avid`` is stopped now, or None. ``ledger`` offers
        ``rare_events_token()`` and ``events_of_kind(kind, after=seq)``."""
        # One refresh at a time: two threads applying overlapping reads out of
        # order could otherwise undo a newer switch with an older one. The token
        # is read before the events, so a switch recorded in between is read now
        # or on the next call, never missed.
        with self._lock:
            token = ledger.rare_events_token()
            if token != self._token:
                state = self._state
                for event in ledger.events_of_kind("kill_switch", after=state.last_seq):
                    state.apply(event.seq, event.fields)
                self._token = token
            return self._state.reason_for(avid)
