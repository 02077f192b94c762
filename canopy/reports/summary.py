"""Aggregates of a whole ledger for ``canopy report``, fast enough for millions of events.

Totals by kind, decision, agent and action type come from one pass over the
indexed columns (no event body is decoded). Bodies are decoded only for DENY
and REQUIRE_APPROVAL authorizations, which carry the deciding layer, the rule
and the reason. Time windows filter on the ``ts`` column: RFC 3339 UTC strings
of one fixed width (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), so string order is time
order once the user's bound is written the same way (``normalize_time``).

Integrity comes from a real check. ``quick_integrity`` is cryptographic but
does not read every event: each checkpoint's signed note must verify under the
ledger's key schedule, its root column must equal the note, and the root
recomputed from the stored Merkle tree must equal it. ``full_integrity`` runs
``canopy.ledger.verify.verify_ledger`` (every leaf, signature and node).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from canopy.errors import CanopyError, LedgerError
from canopy.ledger.bodies import decode_body
from canopy.ledger.store import Ledger, StoredEvent
from canopy.reports.timeline import decision_facts, event_reason

__all__ = [
    "DECISIONS",
    "EVENT_COLUMNS",
    "EventRow",
    "Integrity",
    "PendingApproval",
    "Summary",
    "event_rows",
    "full_integrity",
    "normalize_time",
    "quick_integrity",
    "summarize",
]

#: Decisions in display order; anything else a producer wrote sorts after them.
DECISIONS = ("ALLOW", "DENY", "REQUIRE_APPROVAL")
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_UNREADABLE = "<body unreadable>"


def _connection(ledger: Ledger) -> sqlite3.Connection:
    """The ledger's read connection: aggregates need SQL the store does not offer.

    (``canopy.ledger.verify`` reads through it the same way.)
    """
    return ledger._conn


def normalize_time(text: str, *, end: bool = False, now: datetime | None = None) -> str:
    """A user's time bound in the ledger's ``ts`` form (UTC, microseconds, ``Z``).

    Accepts a date (``2026-11-21``), a datetime (``2026-11-21T06:30``,
    ``2026-11-21 06:30:00+02:00``; no offset means UTC) or an age (``90m``,
    ``24h``, ``7d``, ``2w``: that long before now). With ``end=True`` a bare
    date means the end of that day, so ``--until 2026-11-21`` includes it.
    """
    raw = text.strip()
    relative = _RELATIVE.fullmatch(raw)
    if relative:
        delta = timedelta(**{_UNITS[relative[2]]: int(relative[1])})
        moment = (now or datetime.now(UTC)) - delta
    else:
        try:
            if re.fullmatch(r"\d{4}-\d\d-\d\d", raw):
                day = date.fromisoformat(raw)
                moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
                if end:
                    moment += timedelta(days=1)
            else:
                moment = datetime.fromisoformat(raw)
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
        except ValueError as e:
            raise ValueError(
                f"{text!r} is not a date (2026-11-21), a datetime (2026-11-21T06:30:00Z) "
                "or an age (24h, 7d)"
            ) from e
    return moment.astimezone(UTC).strftime(_TS_FORMAT)


def _window(since: str | None, until: str | None) -> tuple[str, list[str]]:
    clauses, params = [], []
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts < ?")
        params.append(until)
    return " AND ".join(clauses), params


def _decision_order(decision: str) -> tuple[int, str]:
    return (DECISIONS.index(decision) if decision in DECISIONS else len(DECISIONS), decision)


def _body(stored: Any) -> dict[str, Any]:
    try:
        body = json.loads(decode_body(stored))
    except (CanopyError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


# --- integrity ---------------------------------------------------------------


@dataclass
class Integrity:
    """The result of a quick or full integrity check (never raises)."""

    mode: str  # "quick" or "full"
    size: int = 0
    checkpoints: int = 0
    latest_checkpoint: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unsealed(self) -> int:
        return self.size - (self.latest_checkpoint or 0)

    @property
    def checked(self) -> str:
        if self.mode == "full":
            return "every event, signature, tree node, key rotation and checkpoint"
        return (
            "checkpoint signatures (key schedule), checkpoint roots against the stored "
            "Merkle tree, event count; --full-verify checks every event"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "ok": self.ok,
            "checked": self.checked,
            "size": self.size,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "unsealed_events": self.unsealed,
            "problems": self.problems,
        }


def quick_integrity(ledger: Ledger) -> Integrity:
    """Checkpoint signatures and roots against the stored tree (see module doc).

    Steps: 1. the key schedule starts with the genesis key at event 0; 2. no
    event is missing; 3. each checkpoint's note verifies under the key in force
    at its size, names this ledger, does not exceed the ledger, and its root
    column equals the note; 4. the root recomputed from the stored tree nodes
    equals the signed root.
    """
    from canopy.ledger.checkpoint import SignedCheckpoint
    from canopy.ledger.merkle import tree_root

    conn = _connection(ledger)
    size = ledger.size()
    report = Integrity("quick", size=size)
    problems = report.problems
    schedule = ledger.key_schedule()
    if not schedule or schedule[0][0] != 0:
        problems.append("[keys] the key schedule does not start at event 0")
        return report
    if schedule[0][1].vkey != ledger.meta["genesis_vkey"]:
        problems.append("[keys] the first signing key is not the genesis key")
    count = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    if count != size:
        problems.append(f"[events] {size - count} events are missing")
    rows = conn.execute("SELECT size, root, note FROM checkpoints ORDER BY size").fetchall()
    read_hashes = _prefetched_reader(ledger, [r[0] for r in rows if 0 < r[0] <= size])
    report.checkpoints = len(rows)
    report.latest_checkpoint = rows[-1][0] if rows else None
    for stored_size, stored_root, note in rows:
        key = schedule[0][1]
        for from_seq, verifier in schedule:
            if from_seq <= stored_size:
                key = verifier
        where = f"[checkpoints] checkpoint {stored_size}"
        try:
            signed = SignedCheckpoint.open(note, [key])
        except CanopyError as e:
            problems.append(f"{where}: {e}")
            continue
        if signed.origin != ledger.origin:
            problems.append(f"{where} is for ledger {signed.origin}")
        if signed.size != stored_size:
            problems.append(f"{where}: the signed note says size {signed.size}")
        if bytes(stored_root) != signed.root:
            problems.append(f"{where}: root column disagrees with the signed note")
        if signed.size > size:
            problems.append(
                f"{where} covers {signed.size} events but the ledger has {size} "
                "(events were removed)"
            )
            continue
        if signed.size == 0:
            continue
        try:
            recomputed = tree_root(signed.size, read_hashes)
        except LedgerError as e:
            problems.append(f"{where}: {e}")
            continue
        if recomputed != signed.root:
            problems.append(f"{where}: signed root differs from the stored Merkle tree")
    return report


def _prefetched_reader(ledger: Ledger, sizes: list[int]) -> Callable[[Any], list[bytes]]:
    """A hash reader serving the nodes of every tree root of ``sizes`` from one read.

    If some node is missing, the batch read fails and the ledger's own reader
    is used, so each checkpoint then reports its own missing node.
    """
    from canopy.ledger.merkle import subtree_nodes

    wanted = sorted({node for size in sizes for node in subtree_nodes(0, size)})
    try:
        cache = dict(zip(wanted, ledger.read_hashes(wanted), strict=True))
    except LedgerError:
        return ledger.read_hashes

    def read(nodes: Any) -> list[bytes]:
        try:
            return [cache[node] for node in nodes]
        except KeyError:
            return ledger.read_hashes(nodes)

    return read


def full_integrity(ledger: Ledger, progress: Callable[[int, int], None] | None = None) -> Integrity:
    """``verify_ledger`` over the whole file, as an ``Integrity``."""
    from canopy.ledger.verify import verify_ledger

    result = verify_ledger(ledger.path, progress=progress)
    return Integrity(
        "full",
        size=result.size,
        checkpoints=result.checkpoints,
        latest_checkpoint=result.latest_checkpoint,
        problems=[str(p) for p in result.problems],
    )


# --- summary -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PendingApproval:
    """A REQUIRE_APPROVAL authorization nobody has approved or rejected yet."""

    seq: int
    ts: str
    authorization_id: str | None
    trace_id: str | None
    avid: str | None
    action_type: str | None
    reason: str | None

    @classmethod
    def from_event(cls, event: StoredEvent) -> PendingApproval:
        """The pending item of a REQUIRE_APPROVAL authorization event."""
        fields = event.fields
        return cls(
            event.seq,
            event.ts,
            fields.get("authorization_id"),
            fields.get("trace_id"),
            fields.get("avid"),
            fields.get("action_type"),
            decision_facts(fields).reason,
        )

    def age(self, now: datetime | None = None) -> timedelta:
        moment = datetime.strptime(self.ts, _TS_FORMAT).replace(tzinfo=UTC)
        return (now or datetime.now(UTC)) - moment

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "authorization_id": self.authorization_id,
            "trace_id": self.trace_id,
            "avid": self.avid,
            "action_type": self.action_type,
            "reason": self.reason,
            "age_seconds": round(self.age(now).total_seconds(), 3),
        }


def _sorted_decisions(counts: Counter[str]) -> dict[str, int]:
    return {d: counts[d] for d in sorted(counts, key=_decision_order)}


@dataclass
class Summary:
    """Everything ``canopy report`` shows; ``to_json`` is its ``--json`` form."""

    ledger: str
    origin: str
    size: int
    since: str | None
    until: str | None
    events: int = 0
    first_ts: str | None = None
    last_ts: str | None = None
    by_kind: Counter[str] = field(default_factory=Counter)
    by_decision: Counter[str] = field(default_factory=Counter)
    #: avid -> Counter with "events" (all kinds) and one count per decision.
    by_agent: dict[str, Counter[str]] = field(default_factory=dict)
    #: action type -> Counter with "authorizations" and one count per decision.
    by_action_type: dict[str, Counter[str]] = field(default_factory=dict)
    #: deciding layer -> decision counts, over DENY and REQUIRE_APPROVAL.
    by_layer: dict[str, Counter[str]] = field(default_factory=dict)
    #: (layer, rule id) -> decision counts, over DENY and REQUIRE_APPROVAL.
    by_rule: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    deny_reasons: Counter[str] = field(default_factory=Counter)
    pending: list[PendingApproval] = field(default_factory=list)
    granularity: str = "hour"
    #: time bucket ("2026-11-21", "2026-11-21T07" or "2026-11") -> decision counts.
    series: dict[str, Counter[str]] = field(default_factory=dict)
    integrity: Integrity | None = None

    @property
    def decisions(self) -> list[str]:
        return sorted(self.by_decision, key=_decision_order)

    def to_json(self, now: datetime | None = None) -> dict[str, Any]:
        return {
            "format": "canopy/report/v1",
            "ledger": self.ledger,
            "origin": self.origin,
            "size": self.size,
            "window": {"since": self.since, "until": self.until},
            "events": self.events,
            "first_ts": self.first_ts,
            "last_ts": self.last_ts,
            "by_kind": dict(self.by_kind.most_common()),
            "by_decision": _sorted_decisions(self.by_decision),
            "by_agent": {
                avid: dict(c) for avid, c in sorted(self.by_agent.items(), key=_by_events)
            },
            "by_action_type": {
                a: dict(c)
                for a, c in sorted(
                    self.by_action_type.items(), key=lambda kv: (-kv[1]["authorizations"], kv[0])
                )
            },
            "by_layer": {
                layer: dict(c)
                for layer, c in sorted(self.by_layer.items(), key=lambda kv: -kv[1].total())
            },
            "by_rule": [
                {"layer": layer, "rule_id": rule, **dict(c)}
                for (layer, rule), c in sorted(self.by_rule.items(), key=lambda kv: -kv[1].total())
            ],
            "deny_reasons": [{"reason": r, "count": n} for r, n in self.deny_reasons.most_common()],
            "pending_approvals": {
                "count": len(self.pending),
                "oldest": self.pending[0].to_json(now) if self.pending else None,
                "items": [p.to_json(now) for p in self.pending],
            },
            "series": {
                "granularity": self.granularity,
                "buckets": {b: dict(c) for b, c in sorted(self.series.items())},
            },
            "integrity": self.integrity.to_json() if self.integrity else None,
        }


def _by_events(item: tuple[str, Counter[str]]) -> tuple[int, str]:
    return (-item[1]["events"], item[0])


def _granularity(first: str | None, last: str | None) -> tuple[str, int]:
    """Bucket by hour up to three days, by day up to 400 days, else by month."""
    if not first or not last:
        return "hour", 13
    span = datetime.strptime(last, _TS_FORMAT) - datetime.strptime(first, _TS_FORMAT)
    if span <= timedelta(days=3):
        return "hour", 13
    if span <= timedelta(days=400):
        return "day", 10
    return "month", 7


_COUNT_QUERY = "SELECT kind, decision, action_type, avid, substr(ts, 1, ?) FROM events"
#: Ledgers at least this large are counted in a forked process while the
#: parent decodes bodies and checks integrity.
PARALLEL_MIN_EVENTS = 100_000


def _count(
    conn: sqlite3.Connection, width: int, where: str, params: list[str]
) -> Counter[tuple[Any, ...]]:
    """(kind, decision, action type, avid, time bucket) -> events: one pass, no body read.

    The bucket is the first ``width`` characters of ``ts`` (13: hour, 10: day, 7: month).
    """
    query = _COUNT_QUERY + (f" WHERE {where}" if where else "")
    return Counter(conn.execute(query, [width, *params]))


def _count_in_child(
    path: str, width: int, where: str, params: list[str]
) -> Counter[tuple[Any, ...]]:
    with Ledger(path, read_only=True) as ledger:
        return _count(_connection(ledger), width, where, params)


def _start_count(
    ledger: Ledger, width: int, where: str, params: list[str], parallel: bool | None
) -> Callable[[], Counter[tuple[Any, ...]]]:
    """Count now, or in a forked process whose result the returned callable waits for."""
    import multiprocessing
    import os

    if parallel is None:
        parallel = (
            ledger.size() >= PARALLEL_MIN_EVENTS
            and (os.cpu_count() or 1) > 1
            and "fork" in multiprocessing.get_all_start_methods()
        )
    if not parallel:
        counts = _count(_connection(ledger), width, where, params)
        return lambda: counts
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    future = pool.submit(_count_in_child, str(ledger.path), width, where, params)

    def result() -> Counter[tuple[Any, ...]]:
        try:
            return future.result()
        finally:
            pool.shutdown()

    return result


def _explain(
    conn: sqlite3.Connection, summary: Summary, and_window: str, params: list[str]
) -> None:
    """Layer, rule and reason of DENY and REQUIRE_APPROVAL authorizations (their bodies),
    and which REQUIRE_APPROVAL decisions are still pending."""
    # One scan: the explained authorizations in the window, and every approval
    # (an approval after the window still settles a request inside it).
    rows = conn.execute(
        "SELECT seq, ts, kind, trace_id, avid, authorization_id, action_type, decision, body "
        "FROM events WHERE kind = 'approval' OR (kind = 'authorization' "
        f"AND decision IN ('DENY', 'REQUIRE_APPROVAL'){and_window}) ORDER BY seq",
        params,
    )
    decided: set[str] = set()
    requests: list[PendingApproval] = []
    by_layer: dict[str, Counter[str]] = defaultdict(Counter)
    by_rule: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for seq, ts, kind, trace_id, avid, auth_id, action_type, decision, body in rows:
        if kind == "approval":
            decided.add(auth_id)
            continue
        facts = decision_facts(_body(body))
        layer = facts.layer or "(none)"
        rule = facts.rule_id or "(none)"
        reason = facts.reason or _UNREADABLE
        by_layer[layer][decision] += 1
        by_rule[(layer, rule)][decision] += 1
        if decision == "DENY":
            summary.deny_reasons[reason] += 1
        else:
            requests.append(PendingApproval(seq, ts, auth_id, trace_id, avid, action_type, reason))
    summary.pending = [p for p in requests if p.authorization_id not in decided]
    summary.by_layer, summary.by_rule = dict(by_layer), dict(by_rule)


def summarize(
    ledger: Ledger,
    *,
    since: str | None = None,
    until: str | None = None,
    integrity: Callable[[Ledger], Integrity] | None = None,
    parallel: bool | None = None,
) -> Summary:
    """Aggregate the events with ``since <= ts < until`` (bounds in ``ts`` form).

    ``integrity(ledger)``, when given, runs while the events are being counted
    and its result is stored in ``Summary.integrity``. ``parallel`` forces
    (True) or forbids (False) counting in a forked process; by default large
    ledgers are counted in parallel.
    """
    conn = _connection(ledger)
    where, params = _window(since, until)
    summary = Summary(str(ledger.path), ledger.origin, ledger.size(), since, until)
    and_window = f" AND {where}" if where else ""
    where_window = f" WHERE {where}" if where else ""

    first = conn.execute(
        f"SELECT ts FROM events{where_window} ORDER BY seq LIMIT 1", params
    ).fetchone()
    last = conn.execute(
        f"SELECT ts FROM events{where_window} ORDER BY seq DESC LIMIT 1", params
    ).fetchone()
    summary.first_ts = first[0] if first else None
    summary.last_ts = last[0] if last else None
    summary.granularity, width = _granularity(summary.first_ts, summary.last_ts)
    # 1. One pass over the indexed columns: kind, decision, action type, agent, time
    #    bucket (in a child process for large ledgers, while this one does 2. and 3.).
    counted = _start_count(ledger, width, where, params, parallel)
    try:
        # 2. Bodies of DENY and REQUIRE_APPROVAL authorizations: layer, rule, reason.
        _explain(conn, summary, and_window, params)
        # 3. Integrity, while the count may still be running.
        if integrity is not None:
            summary.integrity = integrity(ledger)
    finally:
        counts = counted()

    by_agent: dict[str, Counter[str]] = defaultdict(Counter)
    by_action: dict[str, Counter[str]] = defaultdict(Counter)
    series: dict[str, Counter[str]] = defaultdict(Counter)
    for (kind, decision, action_type, avid, bucket), n in counts.items():
        summary.events += n
        summary.by_kind[kind] += n
        if avid is not None:
            by_agent[avid]["events"] += n
        if kind != "authorization":
            continue
        decision = decision or "(none)"
        summary.by_decision[decision] += n
        if avid is not None:
            by_agent[avid][decision] += n
        action = action_type or "(none)"
        by_action[action]["authorizations"] += n
        by_action[action][decision] += n
        series[bucket][decision] += n
    summary.by_agent, summary.by_action_type, summary.series = (
        dict(by_agent),
        dict(by_action),
        dict(series),
    )

    return summary


# --- one row per event (the Events sheet and the CSV) ---------------------------


class EventRow(NamedTuple):
    seq: int
    ts: str
    kind: str
    trace_id: str | None
    avid: str | None
    action_type: str | None
    decision: str | None
    layer: str | None
    rule_id: str | None
    reason: str | None


EVENT_COLUMNS = (
    "seq",
    "ts",
    "kind",
    "trace_id",
    "avid",
    "action_type",
    "decision",
    "layer",
    "rule_id",
    "reason",
)


def event_rows(
    ledger: Ledger,
    *,
    since: str | None = None,
    until: str | None = None,
    batch: int = 8192,
) -> Iterator[EventRow]:
    """Every event in the window, in ledger order, with its layer, rule and reason."""
    conn = _connection(ledger)
    where, params = _window(since, until)
    size = ledger.size()
    extra = f" AND {where}" if where else ""
    query = (
        "SELECT seq, ts, kind, trace_id, avid, action_type, decision, body FROM events "
        f"WHERE seq >= ? AND seq < ?{extra} ORDER BY seq"
    )
    for start in range(0, size, batch):
        for seq, ts, kind, trace_id, avid, action_type, decision, body in conn.execute(
            query, (start, start + batch, *params)
        ).fetchall():
            fields = _body(body)
            layer = rule = None
            if kind == "authorization":
                facts = decision_facts(fields)
                layer, rule, reason = facts.layer, facts.rule_id, facts.reason
            else:
                reason = event_reason(kind, fields)
            yield EventRow(
                seq, ts, kind, trace_id, avid, action_type, decision, layer, rule, reason
            )
