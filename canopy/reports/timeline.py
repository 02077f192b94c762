"""The timeline of one trace or one incident, and the evidence that backs it.

A trace's events come through the ``trace_id`` index. An incident's timeline
is the incident event itself, every event of its trace and every event of its
``related_authorization_ids`` (through the ``authorization_id`` index), in
ledger order. Each event becomes one ``TimelineEntry``: what was decided, by
which layer and rule, who approved it, whether it ran and what came back.

``build_evidence`` pairs each entry with an inclusion proof against the latest
signed checkpoint that discloses exactly the fields the timeline shows, so a
recipient can check the timeline with the verifier key alone
(``canopy proof verify``). Events after that checkpoint have no proof yet.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from canopy.ledger.events import INDEXED_FIELDS
from canopy.ledger.store import Ledger, StoredEvent

__all__ = [
    "TIMELINE_FORMAT",
    "UNSEALED",
    "CheckpointInfo",
    "DecisionFacts",
    "Evidence",
    "Timeline",
    "TimelineEntry",
    "build_evidence",
    "checkpoint_info",
    "decision_facts",
    "event_reason",
    "incident_timeline",
    "shown_fields",
    "trace_timeline",
]

TIMELINE_FORMAT = "canopy/timeline/v1"
UNSEALED = "unsealed (run canopy checkpoint)"
#: Excel stores at most 32,767 characters in a cell.
MAX_CELL_CHARS = 32_767

# Fields each kind of event shows in the timeline (and so discloses in its proof).
# Payloads and agent contexts are never disclosed: they may hold secrets.
_SHOWN_BY_KIND: dict[str, tuple[str, ...]] = {
    "authorization": ("detail",),
    "approval": ("approval_id", "approved", "approver", "reason", "expires_at"),
    "execution": ("tool", "approval_id"),
    "tool_result": ("tool", "status", "duration_ms", "error_type", "error_message"),
    "incident": (
        "incident_id",
        "description",
        "severity",
        "reporter",
        "related_authorization_ids",
    ),
}
_SHOWN_OTHER: tuple[str, ...] = ("reason",)


def shown_fields(kind: str, fields: Mapping[str, Any]) -> list[str]:
    """The fields of an event the timeline shows, in sorted order."""
    wanted = (*INDEXED_FIELDS, *_SHOWN_BY_KIND.get(kind, _SHOWN_OTHER))
    return sorted(name for name in set(wanted) if name in fields)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass(frozen=True, slots=True)
class DecisionFacts:
    """Who decided an authorization and why (from its ``detail``)."""

    layer: str | None
    rule_id: str | None
    reason: str | None
    severity: str | None


_EMPTY: Mapping[str, Any] = {}


def decision_facts(body: Mapping[str, Any]) -> DecisionFacts:
    """Layer, rule, reason and severity of an authorization's body.

    ``canopy.authorize`` keeps them in ``detail``; a top-level value is used
    only when ``detail`` lacks it (events written by other producers).
    """
    detail = body.get("detail")
    if not isinstance(detail, Mapping):
        detail = _EMPTY

    def pick(name: str) -> str | None:
        value = detail.get(name)
        if value is None:
            value = body.get(name)
        return value if value is None or type(value) is str else _text(value)

    return DecisionFacts(
        pick("layer") or pick("decided_by"), pick("rule_id"), pick("reason"), pick("severity")
    )


def event_reason(kind: str, body: Mapping[str, Any]) -> str | None:
    """The one-line "why" of an event of any kind."""
    if kind == "authorization":
        return decision_facts(body).reason
    if kind == "incident":
        return _text(body.get("description"))
    return _text(body.get("reason"))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One event of a timeline, reduced to what an investigator reads."""

    seq: int
    ts: str
    kind: str
    trace_id: str | None
    avid: str | None
    authorization_id: str | None
    action_type: str | None
    decision: str | None
    layer: str | None
    rule_id: str | None
    reason: str | None
    severity: str | None
    approval: dict[str, Any] | None
    execution: dict[str, Any] | None
    result: dict[str, Any] | None
    incident: dict[str, Any] | None
    leaf_hash: bytes
    shown: tuple[str, ...]

    @classmethod
    def from_stored(cls, stored: StoredEvent) -> TimelineEntry:
        f = stored.fields
        kind = stored.kind
        layer = rule_id = severity = None
        reason = event_reason(kind, f)
        approval = execution = result = incident = None
        if kind == "authorization":
            facts = decision_facts(f)
            layer, rule_id, severity = facts.layer, facts.rule_id, facts.severity
        elif kind == "approval":
            approval = {
                "approver": f.get("approver"),
                "approved": f.get("approved"),
                "approval_id": f.get("approval_id"),
                "reason": f.get("reason"),
                "expires_at": f.get("expires_at"),
            }
        elif kind == "execution":
            execution = {"tool": f.get("tool"), "approval_id": f.get("approval_id")}
        elif kind == "tool_result":
            error = None
            if f.get("error_type") or f.get("error_message"):
                error = ": ".join(
                    str(x) for x in (f.get("error_type"), f.get("error_message")) if x
                )
            result = {
                "status": f.get("status"),
                "duration_ms": f.get("duration_ms"),
                "error": error,
                "tool": f.get("tool"),
            }
        elif kind == "incident":
            severity = _text(f.get("severity"))
            incident = {
                "incident_id": f.get("incident_id"),
                "description": f.get("description"),
                "severity": f.get("severity"),
                "reporter": f.get("reporter"),
                "related_authorization_ids": list(f.get("related_authorization_ids") or []),
            }
        return cls(
            seq=stored.seq,
            ts=stored.ts,
            kind=kind,
            trace_id=_text(f.get("trace_id")),
            avid=_text(f.get("avid")),
            authorization_id=_text(f.get("authorization_id")),
            action_type=_text(f.get("action_type")),
            decision=_text(f.get("decision")),
            layer=layer,
            rule_id=rule_id,
            reason=reason,
            severity=severity,
            approval=approval,
            execution=execution,
            result=result,
            incident=incident,
            leaf_hash=stored.leaf_hash,
            shown=tuple(shown_fields(kind, f)),
        )

    # One-line renderings shared by the terminal, the workbook and the CSV.

    def approval_text(self) -> str:
        if self.approval is None:
            return ""
        verdict = "approved" if self.approval.get("approved") is True else "rejected"
        return f"{verdict} by {self.approval.get('approver') or '?'}"

    def execution_text(self) -> str:
        if self.execution is None:
            return ""
        parts = ["ran"]
        if self.execution.get("tool"):
            parts.append(str(self.execution["tool"]))
        if self.execution.get("approval_id"):
            parts.append(f"(approval {self.execution['approval_id']})")
        return " ".join(parts)

    def result_text(self) -> str:
        if self.result is None:
            return ""
        parts = [str(self.result.get("status") or "?")]
        duration = self.result.get("duration_ms")
        if duration is not None:
            parts.append(f"{duration} ms")
        text = " ".join(parts)
        if self.result.get("error"):
            text += f": {self.result['error']}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "kind": self.kind,
            "trace_id": self.trace_id,
            "avid": self.avid,
            "authorization_id": self.authorization_id,
            "action_type": self.action_type,
            "decision": self.decision,
            "layer": self.layer,
            "rule_id": self.rule_id,
            "reason": self.reason,
            "severity": self.severity,
            "approval": self.approval,
            "execution": self.execution,
            "result": self.result,
            "incident": self.incident,
            "leaf_hash": self.leaf_hash.hex(),
        }


@dataclass
class Timeline:
    """The events of one trace or incident, in ledger order."""

    ledger: str
    origin: str
    subject: str  # "trace" or "incident"
    subject_id: str
    entries: list[TimelineEntry] = field(default_factory=list)
    incident: dict[str, Any] | None = None

    def __bool__(self) -> bool:
        return bool(self.entries)

    def summary(self) -> dict[str, Any]:
        entries = self.entries
        decided = {e.authorization_id for e in entries if e.kind == "approval"}
        pending = [
            e.authorization_id
            for e in entries
            if e.kind == "authorization"
            and e.decision == "REQUIRE_APPROVAL"
            and e.authorization_id not in decided
        ]
        return {
            "events": len(entries),
            "first_ts": entries[0].ts if entries else None,
            "last_ts": entries[-1].ts if entries else None,
            "agents": sorted({e.avid for e in entries if e.avid}),
            "traces": sorted({e.trace_id for e in entries if e.trace_id}),
            "by_kind": dict(Counter(e.kind for e in entries).most_common()),
            "by_decision": dict(
                Counter(e.decision for e in entries if e.kind == "authorization").most_common()
            ),
            "pending_approvals": pending,
            "executions": sum(e.kind == "execution" for e in entries),
            "errors": sum(
                e.kind == "tool_result" and (e.result or {}).get("status") == "error"
                for e in entries
            ),
        }

    def to_json(self) -> dict[str, Any]:
        """The documented ``--json`` document (format ``canopy/timeline/v1``)."""
        return {
            "format": TIMELINE_FORMAT,
            "ledger": self.ledger,
            "origin": self.origin,
            "subject": {"type": self.subject, "id": self.subject_id},
            "incident": self.incident,
            "summary": self.summary(),
            "events": [e.to_json() for e in self.entries],
        }


def _timeline(
    ledger: Ledger, subject: str, subject_id: str, events: Iterable[StoredEvent]
) -> Timeline:
    by_seq = {e.seq: e for e in events}
    entries = [TimelineEntry.from_stored(by_seq[s]) for s in sorted(by_seq)]
    return Timeline(str(ledger.path), ledger.origin, subject, subject_id, entries)


def trace_timeline(ledger: Ledger, trace_id: str) -> Timeline:
    """Every event of ``trace_id`` (empty when the trace is unknown)."""
    return _timeline(ledger, "trace", trace_id, ledger.find(trace_id=trace_id))


def incident_timeline(ledger: Ledger, incident_id: str) -> Timeline:
    """The incident, its trace and its related authorizations (empty when unknown)."""
    try:
        incidents = ledger.events_of_kind("incident")
    except sqlite3.OperationalError:  # a ledger created before the events_incident index
        incidents = ledger.find(kind="incident")
    reports = [e for e in incidents if e.fields.get("incident_id") == incident_id]
    events: list[StoredEvent] = list(reports)
    traces: set[str] = set()
    related: list[str] = []
    for report in reports:
        trace = report.fields.get("trace_id")
        if isinstance(trace, str) and trace not in traces:
            traces.add(trace)
            events.extend(ledger.find(trace_id=trace))
        for auth_id in report.fields.get("related_authorization_ids") or []:
            if isinstance(auth_id, str) and auth_id not in related:
                related.append(auth_id)
                events.extend(ledger.find(authorization_id=auth_id))
    timeline = _timeline(ledger, "incident", incident_id, events)
    if reports:
        first = TimelineEntry.from_stored(reports[0])
        timeline.incident = {
            **(first.incident or {}),
            "seq": first.seq,
            "ts": first.ts,
            "trace_id": first.trace_id,
            "avid": first.avid,
            "related_authorization_ids": related,
            "reports": [e.seq for e in reports],
        }
    return timeline


# --- evidence ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """An entry's leaf hash and its inclusion proof (None while unsealed)."""

    seq: int
    kind: str
    leaf_hash: bytes
    status: str
    disclosed: tuple[str, ...]
    proof: dict[str, Any] | None

    def proof_text(self) -> str:
        if self.proof is None:
            return ""
        return json.dumps(self.proof, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class CheckpointInfo:
    """What a recipient needs besides the proofs: the checkpoint and the keys."""

    origin: str
    size: int | None
    root_b64: str | None
    note: str | None
    vkey: str
    all_vkeys: tuple[str, ...]


def checkpoint_info(ledger: Ledger) -> CheckpointInfo:
    latest = ledger.latest_checkpoint()
    schedule = ledger.key_schedule()
    return CheckpointInfo(
        origin=ledger.origin,
        size=latest.size if latest else None,
        root_b64=base64.b64encode(latest.root).decode("ascii") if latest else None,
        note=latest.note if latest else None,
        vkey=ledger.verifier.vkey,
        all_vkeys=tuple(v.vkey for _, v in schedule),
    )


def build_evidence(
    ledger: Ledger,
    entries: Sequence[TimelineEntry],
    *,
    checkpoint_size: int | None,
    progress: Callable[[int], None] | None = None,
    max_chars: int = MAX_CELL_CHARS,
) -> list[Evidence]:
    """An inclusion proof per entry against the checkpoint of ``checkpoint_size``.

    Each proof discloses the entry's shown fields. If that document would not
    fit in a spreadsheet cell, the largest disclosed fields are withheld (they
    stay committed as digests) until it does.
    """
    from canopy.ledger.proofs import build_inclusion_proof

    out = []
    for done, entry in enumerate(entries, 1):
        if checkpoint_size is None or entry.seq >= checkpoint_size:
            out.append(Evidence(entry.seq, entry.kind, entry.leaf_hash, UNSEALED, (), None))
        else:
            disclosed = list(entry.shown)
            while True:
                proof = build_inclusion_proof(
                    ledger, entry.seq, checkpoint_size=checkpoint_size, disclose=disclosed
                ).to_json()
                evidence = Evidence(
                    entry.seq,
                    entry.kind,
                    entry.leaf_hash,
                    f"proof against checkpoint {checkpoint_size}",
                    tuple(disclosed),
                    proof,
                )
                if len(evidence.proof_text()) <= max_chars or not disclosed:
                    break
                revealed = proof["event"]["revealed"]
                disclosed.remove(max(disclosed, key=lambda n: len(json.dumps(revealed[n]))))
            out.append(evidence)
        if progress is not None:
            progress(done)
    return out
