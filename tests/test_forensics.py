"""canopy.forensics: the ledger as DataFrames, checked against a naive reference.

Small ledgers are written with the real APIs (authorize_action, evidence
records, approvals, incidents); a larger one with tools/gen_ledger.py. Every
frame is compared with a few lines of plain Python over ``Ledger.iter_events``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pd = pytest.importorskip("pandas", reason="canopy.forensics needs the forensics extra (pandas)")

from ledger_helpers import tamper  # noqa: E402

from canopy import authorize_action  # noqa: E402
from canopy import forensics as fx  # noqa: E402
from canopy.authorize import open_ledger  # noqa: E402
from canopy.errors import CanonicalEncodingError, NotALedgerError  # noqa: E402
from canopy.evidence.approvals import record_approval_decision  # noqa: E402
from canopy.evidence.binding import action_hash  # noqa: E402
from canopy.evidence.incidents import open_incident  # noqa: E402
from canopy.evidence.records import record_execution, record_tool_result  # noqa: E402
from canopy.forensics.frames import select_sql  # noqa: E402
from canopy.forensics.query import Filters, read_transaction  # noqa: E402
from canopy.ledger.events import INDEXED_FIELDS  # noqa: E402
from canopy.ledger.store import Ledger, StoredEvent  # noqa: E402
from canopy.ledger.verify import verify_ledger  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from gen_ledger import generate  # noqa: E402

STRING = pd.StringDtype()
GENERATED_EVENTS = 20_000


# --- ledgers ------------------------------------------------------------------


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def build_investigation(path: Path) -> dict[str, Any]:
    """Two agents, two traces: allowed, denied and approval-needed actions, with
    executions, tool results (one failing), approvals and an incident."""
    ops = {"agent_id": "ops-bot", "trace_id": "trace-ops"}
    billing_in_ops = {"agent_id": "billing-bot", "trace_id": "trace-ops"}
    billing = {"agent_id": "billing-bot", "trace_id": "trace-billing"}
    d: dict[str, Any] = {}

    def decide(key: str, ctx: dict[str, Any], action: str, payload: dict[str, Any]) -> None:
        d[key] = authorize_action(ctx, action, payload, audit_log_path=path)

    decide("ls", ops, "execute_shell", {"command": "ls -la"})
    decide("rm", ops, "execute_shell", {"command": "rm -rf /"})
    decide("pip", ops, "execute_shell", {"command": "pip install requests"})
    decide("read", billing_in_ops, "read_file", {"path": "README.md"})
    decide("pay", billing, "payment", {"amount": 5000, "currency": "USD", "recipient": "acme"})
    decide("api", billing, "call_external_api", {"url": "https://api.example.com/v1/invoices"})
    decide("etc", billing, "modify_file", {"path": "/etc/passwd", "content": "x"})
    decide("cat", billing, "read_file", {"path": "invoices.csv"})

    ledger = open_ledger(path)

    def run(key: str, *, ok: bool, ms: float, approval_id: str | None = None) -> None:
        dec = d[key]
        payload = ledger.find(authorization_id=dec["authorization_id"])[0].fields["payload"]
        digest = action_hash(dec["action_type"], payload, dec["avid"])
        record_execution(ledger, dec, action_hash=digest, tool=key, approval_id=approval_id)
        error = None if ok else FileNotFoundError("invoices.csv")
        record_tool_result(ledger, dec, ok=ok, duration_ms=ms, result="done", error=error, tool=key)

    run("ls", ok=True, ms=12.5)
    run("read", ok=True, ms=3.0)
    run("cat", ok=False, ms=1.25)
    d["pay_approval"] = record_approval_decision(
        d["pay"]["authorization_id"], True, "alice@example.com", "invoice 42", ledger=ledger
    )
    run("pay", ok=True, ms=250.0, approval_id=d["pay_approval"]["approval_id"])
    d["pip_approval"] = record_approval_decision(
        d["pip"]["authorization_id"], False, "bob@example.com", "not needed", ledger=ledger
    )
    d["incident"] = open_incident(
        trace_id="trace-ops",
        agent_avid=d["rm"]["avid"],
        description="agent tried to delete the root filesystem",
        severity="critical",
        related_authorization_ids=[d["rm"]["authorization_id"]],
        reporter="sec-team",
        audit_log_path=path,
    )
    return d


@pytest.fixture
def investigation(clean_env: Path) -> tuple[Path, dict[str, Any]]:
    path = clean_env / "audit.db"
    return path, build_investigation(path)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("forensics") / "generated.db"
    generate(path, GENERATED_EVENTS, seed=7, batch=5000)
    return path


@pytest.fixture(scope="module")
def stored(generated: Path) -> list[StoredEvent]:
    with Ledger(generated, read_only=True) as ledger:
        return list(ledger.iter_events())


# --- the naive reference --------------------------------------------------------


def reference_row(e: StoredEvent) -> dict[str, Any]:
    """What one events() row must say, computed the obvious way."""
    f = e.fields
    verdict = f["detail"] if isinstance(f.get("detail"), dict) else f
    payload = f["payload"] if isinstance(f.get("payload"), dict) else {}
    amount = payload.get("amount")
    return {
        "seq": e.seq,
        "ts": datetime.fromisoformat(e.ts),
        "kind": e.kind,
        **{name: f.get(name) for name in ("trace_id", "avid", "authorization_id")},
        **{name: f.get(name) for name in ("action_type", "decision")},
        **{name: verdict.get(name) for name in ("reason", "reason_code", "rule_id", "layer")},
        "severity": verdict.get("severity"),
        "command": payload.get("command", payload.get("cmd")),
        "path": payload.get("path", payload.get("file_path")),
        "url": payload.get("url"),
        "amount": None if amount is None else float(amount),
        **{name: f.get(name) for name in ("tool", "status", "duration_ms", "error_type")},
        "duration_ms": None if f.get("duration_ms") is None else float(f["duration_ms"]),
        **{name: f.get(name) for name in ("approver", "approved", "incident_id")},
        "leaf_hash": e.leaf_hash.hex(),
    }


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values, every kind of missing as None."""
    rows = frame.astype(object).to_dict("records")
    return [{k: (None if _missing(v) else _plain(v)) for k, v in row.items()} for row in rows]


def _missing(value: Any) -> bool:
    return not isinstance(value, list | dict) and bool(pd.isna(value))


def _plain(value: Any) -> Any:
    return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value


def reference_select(events: list[StoredEvent], **filters: Any) -> list[int]:
    """Sequence numbers of the events the filters select, by brute force."""
    since, until, limit = (
        filters.pop("since", None),
        filters.pop("until", None),
        filters.pop("limit", None),
    )
    wanted = {k: {v} if isinstance(v, str) else set(v) for k, v in filters.items()}
    out = []
    for e in events:
        values = {**e.fields, "kind": e.kind}
        if any(values.get(name) not in allowed for name, allowed in wanted.items()):
            continue
        ts = datetime.fromisoformat(e.ts)
        if (since is not None and ts < since) or (until is not None and ts >= until):
            continue
        out.append(e.seq)
    return out if limit is None else out[:limit]


# --- import boundary ------------------------------------------------------------


def test_importing_canopy_does_not_import_pandas() -> None:
    code = (
        "import sys, canopy, canopy.authorize, canopy.ledger.store, canopy.evidence.records\n"
        "canopy.authorize_action\n"
        "assert 'pandas' not in sys.modules, 'canopy imported pandas'\n"
        "import canopy.forensics\n"
        "assert 'pandas' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- events: types and values ------------------------------------------------------


def test_event_columns_have_their_dtypes(investigation: tuple[Path, dict[str, Any]]) -> None:
    path, _ = investigation
    frame = fx.events(path)
    assert list(frame.columns) == list(fx.EVENT_COLUMNS)
    dtypes = frame.dtypes
    assert dtypes["seq"] == "int64"
    assert str(dtypes["ts"]) == "datetime64[ns, UTC]"
    for name in ("kind", "decision", "action_type", "status", "severity"):
        assert isinstance(dtypes[name], pd.CategoricalDtype), name
    assert dtypes["severity"].ordered
    assert list(dtypes["severity"].categories) == ["none", "low", "medium", "high", "critical"]
    text = ("trace_id", "avid", "authorization_id", "reason", "rule_id", "layer", "command")
    for name in (*text, "path", "url", "approver", "incident_id", "leaf_hash"):
        assert dtypes[name] == STRING, name
    assert dtypes["duration_ms"] == "float64"
    assert dtypes["amount"] == "float64"
    assert dtypes["approved"] == "boolean"


def test_empty_ledger_gives_empty_typed_frames(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    Ledger(path).close()
    frame = fx.events(path)
    assert frame.empty and list(frame.columns) == list(fx.EVENT_COLUMNS)
    assert str(frame.dtypes["ts"]) == "datetime64[ns, UTC]"
    assert list(fx.traces(path).columns) == list(fx.TRACE_COLUMNS)
    assert list(fx.approvals(path).columns) == list(fx.APPROVAL_COLUMNS)


def test_every_generated_event_matches_the_reference(
    generated: Path, stored: list[StoredEvent]
) -> None:
    frame = fx.events(generated)
    assert len(frame) == GENERATED_EVENTS
    assert frame_rows(frame) == [reference_row(e) for e in stored]


def test_real_api_events_match_the_reference(investigation: tuple[Path, dict[str, Any]]) -> None:
    path, _ = investigation
    with Ledger(path, read_only=True) as ledger:
        expected = [reference_row(e) for e in ledger.iter_events()]
    assert frame_rows(fx.events(path)) == expected


def test_flattened_fields_of_real_events(investigation: tuple[Path, dict[str, Any]]) -> None:
    path, d = investigation
    frame = fx.events(path).set_index("authorization_id", drop=False)
    auth = frame[frame["kind"] == "authorization"]
    rm = auth.loc[d["rm"]["authorization_id"]]
    assert (rm["decision"], rm["command"], rm["severity"]) == ("DENY", "rm -rf /", "critical")
    assert rm["rule_id"] == d["rm"]["rule_id"] and rm["layer"] == d["rm"]["decided_by"]
    assert rm["reason"] == d["rm"]["reason"]
    assert auth.loc[d["pay"]["authorization_id"], "amount"] == 5000.0
    assert auth.loc[d["api"]["authorization_id"], "url"] == "https://api.example.com/v1/invoices"
    assert auth.loc[d["etc"]["authorization_id"], "path"] == "/etc/passwd"
    assert auth.loc[d["ls"]["authorization_id"], "severity"] == "none"

    results = frame[frame["kind"] == "tool_result"].set_index("tool")
    assert results.loc["ls", "status"] == "ok" and results.loc["ls", "duration_ms"] == 12.5
    assert results.loc["cat", "status"] == "error"
    assert results.loc["cat", "error_type"] == "FileNotFoundError"

    approvals = frame[frame["kind"] == "approval"].set_index("approver")
    assert bool(approvals.loc["alice@example.com", "approved"]) is True
    assert bool(approvals.loc["bob@example.com", "approved"]) is False
    assert approvals.loc["bob@example.com", "reason"] == "not needed"
    assert pd.isna(frame[frame["kind"] == "authorization"]["approved"]).all()

    incident = frame[frame["kind"] == "incident"].iloc[0]
    assert incident["incident_id"] == d["incident"]["incident_id"]
    assert incident["severity"] == "critical"
    assert (frame["severity"] >= "high").sum() == 3  # rm, /etc/passwd, the incident


def test_fields_column_holds_what_the_ledger_holds(
    investigation: tuple[Path, dict[str, Any]],
) -> None:
    path, _ = investigation
    frame = fx.events(path, fields=True)
    with Ledger(path, read_only=True) as ledger:
        assert list(frame["fields"]) == [dict(e.fields) for e in ledger.iter_events()]
    assert list(frame.columns) == [*fx.EVENT_COLUMNS, "fields"]


def test_odd_payload_values_are_flattened_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "odd.db"
    with Ledger(path) as ledger:
        ledger.append_batch(
            [
                ("authorization", {"decision": "ALLOW", "payload": {"cmd": ["ls", "-l", "a b"]}}),
                ("authorization", {"decision": "ALLOW", "payload": {"amount": "12.50"}}),
                ("authorization", {"decision": "ALLOW", "payload": {"amount": "lots"}}),
                ("authorization", {"decision": "ALLOW", "payload": {"file_path": "x.txt"}}),
                ("authorization", {"decision": "MAYBE", "detail": {"rule_id": 7}}),
                ("tool_result", {"status": "ok", "duration_ms": "fast"}),
                ("incident", {"severity": "apocalyptic"}),
                ("custom_kind", {"approved": "yes"}),
            ]
        )
    frame = fx.events(path)
    assert frame.loc[0, "command"] == "ls -l 'a b'"
    assert frame.loc[1, "amount"] == 12.5 and pd.isna(frame.loc[2, "amount"])
    assert frame.loc[3, "path"] == "x.txt"
    assert frame.loc[4, "decision"] == "MAYBE" and frame.loc[4, "rule_id"] == "7"
    assert pd.isna(frame.loc[5, "duration_ms"])
    assert pd.isna(frame.loc[6, "severity"])  # outside the ordered vocabulary
    assert frame.loc[7, "kind"] == "custom_kind" and pd.isna(frame.loc[7, "approved"])


# --- events: filters ---------------------------------------------------------------


def _some(stored: list[StoredEvent], name: str, index: int = 0) -> str:
    return [e.fields[name] for e in stored if name in e.fields][index]


FILTER_CASES = {
    "avid": lambda s: {"avid": _some(s, "avid", 10)},
    "trace": lambda s: {"trace_id": _some(s, "trace_id", 100)},
    "authorization": lambda s: {"authorization_id": _some(s, "authorization_id", 50)},
    "indexed kind": lambda s: {"kind": "approval"},
    "plain kind": lambda s: {"kind": "tool_result"},
    "several kinds": lambda s: {"kind": ["incident", "approval"]},
    "action type": lambda s: {"action_type": "payment"},
    "decision": lambda s: {"decision": "DENY"},
    "decisions": lambda s: {"decision": ["DENY", "REQUIRE_APPROVAL"]},
    "agent and decision": lambda s: {"avid": _some(s, "avid", 3), "decision": "ALLOW"},
    "agent and kind": lambda s: {"avid": _some(s, "avid", 3), "kind": "approval"},
    "several agents": lambda s: {"avid": [_some(s, "avid", 1), _some(s, "avid", 2)]},
    "limit": lambda s: {"limit": 25},
    "limited kind": lambda s: {"kind": "execution", "limit": 7},
    "nothing": lambda s: {"avid": "AVID-nobody"},
}


@pytest.mark.parametrize("case", FILTER_CASES, ids=list(FILTER_CASES))
def test_filters_select_what_brute_force_selects(
    generated: Path, stored: list[StoredEvent], case: str
) -> None:
    filters = FILTER_CASES[case](stored)
    frame = fx.events(generated, **filters)
    expected = reference_select(stored, **dict(filters))
    assert list(frame["seq"]) == expected
    by_seq = {e.seq: e for e in stored}
    assert frame_rows(frame) == [reference_row(by_seq[s]) for s in expected]


def test_time_window_is_since_inclusive_until_exclusive(
    generated: Path, stored: list[StoredEvent]
) -> None:
    times = sorted({datetime.fromisoformat(e.ts) for e in stored})
    since, until = times[len(times) // 4], times[len(times) // 2]
    frame = fx.events(generated, since=since, until=until)
    assert list(frame["seq"]) == reference_select(stored, since=since, until=until)
    assert frame["ts"].min() == since and frame["ts"].max() < until
    # The same instants as ISO strings, naive (UTC) and with an offset.
    as_text = fx.events(generated, since=since.isoformat(), until=until.isoformat())
    assert list(as_text["seq"]) == list(frame["seq"])
    naive = fx.events(generated, since=since.replace(tzinfo=None), until=until)
    assert list(naive["seq"]) == list(frame["seq"])
    plus_two = timezone(timedelta(hours=2))
    offset = fx.events(generated, since=since.astimezone(plus_two).isoformat(), until=until)
    assert list(offset["seq"]) == list(frame["seq"])
    # Consecutive windows partition the ledger.
    before, after = fx.events(generated, until=since), fx.events(generated, since=since)
    assert len(before) + len(after) == len(stored)


def test_time_window_with_dates_and_other_filters(
    generated: Path, stored: list[StoredEvent]
) -> None:
    today = datetime.fromisoformat(stored[0].ts).date()
    everything = fx.events(
        generated, since=today - timedelta(days=1), until=today + timedelta(days=2)
    )
    assert len(everything) == len(stored)
    assert fx.events(generated, since=date(2999, 1, 1)).empty
    avid = _some(stored, "avid", 5)
    since = datetime.fromisoformat(stored[len(stored) // 3].ts)
    frame = fx.events(generated, avid=avid, since=since, kind="authorization")
    assert list(frame["seq"]) == reference_select(
        stored, avid=avid, since=since, kind="authorization"
    )


def test_open_ledger_object_reads_the_same(generated: Path) -> None:
    with Ledger(generated, read_only=True) as ledger:
        from_object = fx.events(ledger, decision="DENY")
    pd.testing.assert_frame_equal(from_object, fx.events(str(generated), decision="DENY"))


_LOOKUP = "SEARCH lookup_keys USING PRIMARY KEY (field=? AND value=?)"
_RUNS = "SEARCH lookup_runs USING PRIMARY KEY (run=? AND field=? AND value=?)"


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"avid": "AVID-x"}, _LOOKUP),
        ({"trace_id": "t"}, _LOOKUP),
        ({"authorization_id": "a"}, _LOOKUP),
        ({"kind": "approval"}, "INDEX events_approval"),
        ({"kind": "incident"}, "INDEX events_incident"),
        ({"avid": "AVID-x", "decision": "DENY", "since": "2026-01-01"}, _LOOKUP),
        ({"avid": "AVID-x", "trace_id": ["t", "u"], "authorization_id": "a"}, _LOOKUP),
    ],
)
def test_equality_filters_go_through_the_indexes(
    generated: Path, filters: dict[str, Any], index: str
) -> None:
    with read_transaction(generated) as conn:
        sql, params = select_sql(conn, Filters(**filters))
        plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
    assert index in plan, plan
    # No full scan: the unindexed tail of a lookup is a rowid range.
    assert not re.search(r"SCAN events(?! USING INDEX events_)", plan), plan
    assert "TEMP B-TREE" not in plan, plan  # index order is ledger order: no sort
    if index == _LOOKUP:
        assert _RUNS in plan, plan  # one seek per live run
        assert "(rowid>?)" in plan, plan  # events above lookup_progress are scanned


@pytest.mark.parametrize(
    ("filters", "error"),
    [
        ({"agent": "x"}, TypeError),
        ({"limit": -1}, ValueError),
        ({"limit": True}, ValueError),
        ({"since": "yesterday"}, ValueError),
        ({"since": 12}, ValueError),
        ({"since": "2026-02-01", "until": "2026-01-01"}, ValueError),
        ({"avid": 42}, ValueError),
        ({"decision": []}, ValueError),
    ],
)
def test_bad_filters_are_caller_errors(
    generated: Path, filters: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        fx.events(generated, **filters)
    with pytest.raises(error):
        fx.traces(generated, **filters)


def test_not_a_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    path.write_text('{"event": "old jsonl log"}\n')
    with pytest.raises(NotALedgerError):
        fx.events(path)
    with pytest.raises(NotALedgerError):
        fx.traces(tmp_path / "missing.db")


@pytest.mark.parametrize("body", ["not json", "", '{"a":1} trailing', "[1, 2]", "x'01ff'"])
def test_undecodable_body_names_the_event(
    investigation: tuple[Path, dict[str, Any]], body: str
) -> None:
    path, _ = investigation
    value = body if body.startswith("x'") else "'" + body.replace("'", "''") + "'"
    tamper(path, f"UPDATE events SET body = {value} WHERE seq = 3")
    with pytest.raises(CanonicalEncodingError, match="event 3"):
        fx.events(path)
    with pytest.raises(CanonicalEncodingError, match="event 3"):
        fx.events(path, fields=True)
    assert len(fx.events(path, kind="incident")) == 1  # other events still readable


def test_bodies_are_read_as_the_store_reads_them(
    investigation: tuple[Path, dict[str, Any]],
) -> None:
    """A body re-spelled with whitespace keeps its values, and forensics reads
    them as the store does; verification still flags the edit (it hashes the
    stored bytes of each field, not a re-encoding)."""
    path, _ = investigation
    with Ledger(path, read_only=True) as ledger:
        original = ledger.get(1)
    body = {k: v for k, v in original.fields.items() if k not in INDEXED_FIELDS}
    tamper(path, "UPDATE events SET body = ? WHERE seq = 1", params=(json.dumps(body, indent=2),))
    report = verify_ledger(path)
    assert not report.ok and report.first_problem.seq == 1
    frame = fx.events(path, fields=True)
    assert frame.loc[1, "command"] == "ls -la"
    assert frame.loc[1, "fields"] == dict(original.fields)


def test_reading_never_changes_the_ledger_file(generated: Path) -> None:
    before = hashlib.sha256(generated.read_bytes()).hexdigest()
    fx.events(generated)
    fx.traces(generated)
    fx.approvals(generated)
    assert hashlib.sha256(generated.read_bytes()).hexdigest() == before


# --- traces ----------------------------------------------------------------------


def reference_traces(events: list[StoredEvent]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for e in events:
        f = e.fields
        if f.get("trace_id") is None:
            continue
        t = out.setdefault(f["trace_id"], {"times": [], "kinds": Counter(), "agents": set()})
        t["times"].append(datetime.fromisoformat(e.ts))
        auth = e.kind == "authorization"
        t["kinds"].update(
            {
                "events": 1,
                "authorizations": auth,
                "denies": auth and f.get("decision") == "DENY",
                "approvals_required": auth and f.get("decision") == "REQUIRE_APPROVAL",
                "executions": e.kind == "execution",
                "errors": e.kind == "tool_result" and f.get("status") == "error",
            }
        )
        if f.get("avid") is not None:
            t["agents"].add(f["avid"])
    return {
        trace: {
            "trace_id": trace,
            "first_ts": min(t["times"]),
            "last_ts": max(t["times"]),
            **{k: t["kinds"][k] for k in fx.TRACE_COLUMNS[3:-2]},
            "agents": len(t["agents"]),
            "duration": max(t["times"]) - min(t["times"]),
        }
        for trace, t in out.items()
    }


def test_traces_of_the_investigation(investigation: tuple[Path, dict[str, Any]]) -> None:
    path, _ = investigation
    frame = fx.traces(path)
    assert list(frame.columns) == list(fx.TRACE_COLUMNS)
    assert list(frame["trace_id"]) == ["trace-ops", "trace-billing"]
    ops, billing = (row for _, row in frame.iterrows())
    assert (ops["authorizations"], ops["denies"], ops["approvals_required"]) == (4, 1, 1)
    assert (ops["executions"], ops["errors"], ops["agents"]) == (2, 0, 2)
    assert ops["events"] == 4 + 2 * 2 + 1 + 1  # + executions/results, approval, incident
    assert (billing["authorizations"], billing["denies"], billing["approvals_required"]) == (
        4,
        1,
        2,
    )
    assert (billing["executions"], billing["errors"], billing["agents"]) == (2, 1, 1)
    assert billing["duration"] == billing["last_ts"] - billing["first_ts"]
    assert frame.dtypes["duration"] == "timedelta64[ns]"
    assert str(frame.dtypes["first_ts"]) == "datetime64[ns, UTC]"
    for name in fx.TRACE_COLUMNS[3:-1]:
        assert frame.dtypes[name] == "int64", name


def test_traces_match_the_reference(generated: Path, stored: list[StoredEvent]) -> None:
    frame = fx.traces(generated)
    expected = reference_traces(stored)
    assert list(frame["trace_id"]) == list(expected)  # order of first appearance
    assert frame_rows(frame) == list(expected.values())


def test_traces_count_only_the_filtered_events(generated: Path, stored: list[StoredEvent]) -> None:
    avid = _some(stored, "avid", 0)
    frame = fx.traces(generated, avid=avid)
    mine = [e for e in stored if e.fields.get("avid") == avid]
    assert frame_rows(frame) == list(reference_traces(mine).values())
    assert set(frame["agents"]) == {1}


# --- approvals -------------------------------------------------------------------


def test_approvals_of_the_investigation(investigation: tuple[Path, dict[str, Any]]) -> None:
    path, d = investigation
    frame = fx.approvals(path).set_index("authorization_id", drop=False)
    assert list(frame.columns) == list(fx.APPROVAL_COLUMNS)
    assert set(frame.index) == {d[k]["authorization_id"] for k in ("pip", "pay", "api")}
    pay = frame.loc[d["pay"]["authorization_id"]]
    assert pay["decided"] and pay["approved"] and pay["executed"]
    assert pay["approver"] == "alice@example.com" and pay["reason"] == "invoice 42"
    assert pay["decided_at"] == pd.Timestamp(d["pay_approval"]["recorded_at"])
    assert pay["latency"] == pay["decided_at"] - pay["requested_at"] > timedelta(0)
    assert pay["expires_at"] == pd.Timestamp(d["pay_approval"]["expires_at"])
    assert pay["request_reason"] == d["pay"]["reason"]
    pip = frame.loc[d["pip"]["authorization_id"]]
    assert pip["decided"] and not pip["approved"] and not pip["executed"]
    api = frame.loc[d["api"]["authorization_id"]]
    assert not api["decided"] and pd.isna(api["approved"]) and pd.isna(api["latency"])
    assert pd.isna(api["approver"]) and pd.isna(api["decided_at"]) and not api["executed"]
    assert frame.dtypes["approved"] == "boolean" and frame.dtypes["decided"] == "bool"
    assert frame.dtypes["latency"] == "timedelta64[ns]"
    only_billing = fx.approvals(path, trace_id="trace-billing")
    assert set(only_billing["authorization_id"]) == {
        d[k]["authorization_id"] for k in ("pay", "api")
    }


def test_approvals_match_the_reference(generated: Path, stored: list[StoredEvent]) -> None:
    frame = fx.approvals(generated)
    first_approval: dict[str, StoredEvent] = {}
    executed = set()
    for e in stored:
        if e.kind == "approval":
            first_approval.setdefault(e.fields["authorization_id"], e)
        elif e.kind == "execution":
            executed.add(e.fields["authorization_id"])
    requests = [
        e
        for e in stored
        if e.kind == "authorization" and e.fields["decision"] == "REQUIRE_APPROVAL"
    ]
    expected = []
    for e in requests:
        a = first_approval.get(e.fields["authorization_id"])
        requested = datetime.fromisoformat(e.ts)
        decided = datetime.fromisoformat(a.ts) if a else None
        expected.append(
            {
                "authorization_id": e.fields["authorization_id"],
                "trace_id": e.fields["trace_id"],
                "avid": e.fields["avid"],
                "action_type": e.fields["action_type"],
                "requested_at": requested,
                "request_reason": e.fields["detail"]["reason"],
                "decided": a is not None,
                "approved": a.fields["approved"] if a else None,
                "approver": a.fields["approver"] if a else None,
                "reason": a.fields["reason"] if a else None,
                "decided_at": decided,
                "latency": decided - requested if a else None,
                "expires_at": None,
                "executed": e.fields["authorization_id"] in executed,
            }
        )
    rows = frame_rows(frame)
    for row in rows:
        if row["latency"] is not None:
            row["latency"] = row["latency"].to_pytimedelta()
    assert rows == expected
    assert frame["decided"].any() and (~frame["decided"]).any()
    assert frame["executed"].any()


def test_approvals_refuse_kind_and_decision_filters(generated: Path) -> None:
    with pytest.raises(ValueError, match="decision"):
        fx.approvals(generated, decision="DENY")
    with pytest.raises(ValueError, match="kind"):
        fx.approvals(generated, kind="approval")


def test_frames_compose_for_an_investigation(generated: Path) -> None:
    """The notebook's groupby: decisions per layer and rule."""
    auth = fx.events(generated, kind="authorization")
    table = auth.groupby(["layer", "decision"], observed=True).size().unstack(fill_value=0)
    assert table.to_numpy().sum() == len(auth)
    assert set(table.columns) <= {"ALLOW", "DENY", "REQUIRE_APPROVAL"}
    json.dumps(fx.traces(generated, limit=100).astype(str).to_dict("records"))
    assert datetime.now(UTC) > fx.events(generated, limit=1)["ts"].iloc[0]
