"""``canopy report`` / ``canopy-report`` as real processes, checked against naive counts."""

from __future__ import annotations

import csv
import json
import sqlite3
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import tamper
from test_cli import run

from canopy import authorize_action
from canopy.evidence.approvals import pending_approvals, record_approval_decision
from canopy.ledger.merkle import HASH_SIZE, subtree_nodes
from canopy.ledger.store import Ledger, completing_seq
from canopy.reports.summary import normalize_time, summarize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from gen_ledger import generate

EVENTS = 3000
INJECTED_TRACE = '=HYPERLINK("http://evil.example","x")'


def _build(path: Path) -> Path:
    """A generated ledger (many agents, every kind) plus real authorize_action decisions."""
    generate(path, EVENTS, seed=11, batch=500, checkpoint_interval=256)
    agent = {"public_key": "pk-report", "trace_id": INJECTED_TRACE}
    authorize_action(agent, "shell", {"cmd": "rm -r -f /"}, audit_log_path=path)
    authorize_action(agent, "execute_shell", {"command": "ls"}, audit_log_path=path)
    authorize_action(
        agent, "call_external_api", {"url": "https://api.stripe.com/v1/x"}, audit_log_path=path
    )
    with Ledger(path) as ledger:
        ledger.checkpoint()
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("report") / "audit.log")


@pytest.fixture
def ledger_path(built: Path, tmp_path: Path) -> Path:
    """A private copy (tests that tamper or append must not touch the shared one)."""
    copy = tmp_path / "audit.log"
    source = sqlite3.connect(built)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)  # consistent, WAL included
    finally:
        source.close()
        target.close()
    key = Path(f"{copy}.key")
    key.write_bytes(Path(f"{built}.key").read_bytes())
    key.chmod(0o600)
    return copy


def _report(*args: str) -> tuple[int, dict[str, Any]]:
    out = run("canopy", "report", *args, "--json")
    assert out.returncode in (0, 1), out.stderr
    return out.returncode, json.loads(out.stdout)


def _naive(path: Path, since: str | None = None, until: str | None = None) -> dict[str, Any]:
    """Ten lines of obvious Python over every event: the reference for the SQL."""
    by_kind: Counter[str] = Counter()
    by_decision: Counter[str] = Counter()
    by_agent: dict[str, Counter[str]] = defaultdict(Counter)
    by_action: dict[str, Counter[str]] = defaultdict(Counter)
    by_layer: dict[str, Counter[str]] = defaultdict(Counter)
    by_rule: Counter[tuple[str, str]] = Counter()
    deny_reasons: Counter[str] = Counter()
    with Ledger(path, read_only=True) as ledger:
        for stored in ledger.iter_events():
            f = stored.fields
            if (since and stored.ts < since) or (until and stored.ts >= until):
                continue
            by_kind[stored.kind] += 1
            if f.get("avid"):
                by_agent[f["avid"]]["events"] += 1
            if stored.kind != "authorization":
                continue
            by_decision[f["decision"]] += 1
            by_agent[f["avid"]][f["decision"]] += 1
            by_action[f["action_type"]]["authorizations"] += 1
            by_action[f["action_type"]][f["decision"]] += 1
            if f["decision"] in ("DENY", "REQUIRE_APPROVAL"):
                detail = f["detail"]
                by_layer[detail["layer"] or "(none)"][f["decision"]] += 1
                by_rule[(detail["layer"] or "(none)", detail["rule_id"] or "(none)")] += 1
            if f["decision"] == "DENY":
                deny_reasons[f["detail"]["reason"]] += 1
    return {
        "events": sum(by_kind.values()),
        "by_kind": dict(by_kind),
        "by_decision": dict(by_decision),
        "by_agent": {a: dict(c) for a, c in by_agent.items()},
        "by_action_type": {a: dict(c) for a, c in by_action.items()},
        "by_layer": {a: dict(c) for a, c in by_layer.items()},
        "by_rule": dict(by_rule),
        "deny_reasons": dict(deny_reasons),
    }


def _check_against_naive(doc: dict[str, Any], naive: dict[str, Any]) -> None:
    assert doc["events"] == naive["events"]
    assert doc["by_kind"] == naive["by_kind"]
    assert doc["by_decision"] == naive["by_decision"]
    assert doc["by_agent"] == naive["by_agent"]
    assert doc["by_action_type"] == naive["by_action_type"]
    assert doc["by_layer"] == naive["by_layer"]
    rules = {
        (r["layer"], r["rule_id"]): sum(v for k, v in r.items() if k.isupper())
        for r in doc["by_rule"]
    }
    assert rules == naive["by_rule"]
    assert {r["reason"]: r["count"] for r in doc["deny_reasons"]} == naive["deny_reasons"]


def test_totals_equal_a_naive_count(built: Path) -> None:
    code, doc = _report(str(built))
    assert code == 0
    naive = _naive(built)
    assert naive["events"] == EVENTS + 4  # + policy_activated and three authorizations
    _check_against_naive(doc, naive)
    assert sum(doc["by_decision"].values()) == naive["by_kind"]["authorization"]
    assert doc["window"] == {"since": None, "until": None}
    series = doc["series"]
    assert series["granularity"] == "hour"
    per_bucket = Counter()
    for counts in series["buckets"].values():
        per_bucket.update(counts)
    assert dict(per_bucket) == naive["by_decision"]


def test_parallel_and_serial_counting_agree(built: Path) -> None:
    with Ledger(built, read_only=True) as ledger:
        serial = summarize(ledger, parallel=False).to_json()
        forked = summarize(ledger, parallel=True).to_json()
    for doc in (serial, forked):
        doc["pending_approvals"] = doc["pending_approvals"]["count"]
    assert serial == forked


def test_terminal_report_and_entry_point(built: Path) -> None:
    out = run("canopy-report", str(built))
    assert out.returncode == 0, out.stderr
    for text in (
        "Decisions (authorizations)",
        "By agent",
        "By action type",
        "By deciding layer",
        "By rule",
        "Top deny reasons",
        "Pending approvals",
        "INTEGRITY OK",
        "Art.0 catastrophic risk",
    ):
        assert text in out.stdout, text


def test_since_and_until_filter_on_the_timestamp(built: Path) -> None:
    with Ledger(built, read_only=True) as ledger:
        lo, hi = ledger.get(1000).ts, ledger.get(2000).ts
    code, doc = _report(str(built), "--since", lo, "--until", hi)
    assert code == 0
    naive = _naive(built, lo, hi)
    assert 0 < naive["events"] < EVENTS
    _check_against_naive(doc, naive)
    assert doc["window"] == {"since": lo, "until": hi}
    assert doc["first_ts"] >= lo and doc["last_ts"] < hi

    assert _report(str(built), "--since", "2000-01-01")[1]["events"] == EVENTS + 4
    assert _report(str(built), "--until", "2000-01-01")[1]["events"] == 0
    assert _report(str(built), "--since", "1h")[1]["events"] == EVENTS + 4
    today = lo[:10]  # a bare --until date includes that whole day
    assert _report(str(built), "--until", today)[1]["events"] == EVENTS + 4
    assert run("canopy", "report", str(built), "--since", "yesterday").returncode == 2
    assert run("canopy", "report", str(built), "--since", hi, "--until", lo).returncode == 2


def test_normalize_time_forms() -> None:
    assert normalize_time("2026-11-21") == "2026-11-21T00:00:00.000000Z"
    assert normalize_time("2026-11-21", end=True) == "2026-11-22T00:00:00.000000Z"
    assert normalize_time("2026-11-21T06:30") == "2026-11-21T06:30:00.000000Z"
    assert normalize_time("2026-11-21T08:30:00+02:00") == "2026-11-21T06:30:00.000000Z"
    assert normalize_time("2026-11-21 06:30:01.5Z") == "2026-11-21T06:30:01.500000Z"
    with pytest.raises(ValueError):
        normalize_time("21/11/2026")


def test_pending_approvals_and_deny_reasons(ledger_path: Path) -> None:
    code, doc = _report(str(ledger_path))
    assert code == 0
    with Ledger(ledger_path, read_only=True) as ledger:
        expected = [e.fields["authorization_id"] for e in pending_approvals(ledger)]
    pending = doc["pending_approvals"]
    assert pending["count"] == len(expected) > 0
    assert [p["authorization_id"] for p in pending["items"]] == expected
    assert pending["oldest"]["authorization_id"] == expected[0]
    assert pending["oldest"]["age_seconds"] >= 0
    first = expected[0]
    with Ledger(ledger_path) as ledger:
        record_approval_decision(first, False, "bob", "not now", ledger=ledger)
    after = _report(str(ledger_path))[1]["pending_approvals"]
    assert after["count"] == len(expected) - 1
    assert first not in {p["authorization_id"] for p in after["items"]}
    reasons = doc["deny_reasons"]
    assert reasons == sorted(reasons, key=lambda r: -r["count"])
    assert "Art.0 catastrophic risk: deletes / recursively" in {r["reason"] for r in reasons}


def test_integrity_ok_then_tampered_checkpoint_root_exits_1(ledger_path: Path) -> None:
    code, doc = _report(str(ledger_path))
    assert code == 0 and doc["integrity"]["ok"] and doc["integrity"]["mode"] == "quick"
    assert doc["integrity"]["checkpoints"] > 1 and doc["integrity"]["unsealed_events"] == 0
    tamper(ledger_path, "UPDATE checkpoints SET root = zeroblob(32) WHERE size = 512")
    out = run("canopy", "report", str(ledger_path))
    assert out.returncode == 1
    assert "INTEGRITY FAILED" in out.stdout and "checkpoint 512" in out.stdout


def test_tampered_tree_node_exits_1(ledger_path: Path) -> None:
    with Ledger(ledger_path, read_only=True) as ledger:
        size = ledger.latest_checkpoint().size
        level, index = subtree_nodes(0, size)[0]  # the biggest subtree under the root
        seq = completing_seq((level, index))
        nodes = bytearray(
            ledger._conn.execute("SELECT nodes FROM events WHERE seq = ?", (seq,)).fetchone()[0]
        )
    assert level >= 1
    nodes[(level - 1) * HASH_SIZE] ^= 0xFF
    tamper(ledger_path, "UPDATE events SET nodes = ? WHERE seq = ?", params=(bytes(nodes), seq))
    code, doc = _report(str(ledger_path))
    assert code == 1
    assert any("stored Merkle tree" in p for p in doc["integrity"]["problems"])


def test_quick_check_misses_an_edited_body_that_full_verify_catches(ledger_path: Path) -> None:
    with Ledger(ledger_path, read_only=True) as ledger:
        seq = next(e.seq for e in ledger.find(decision="DENY"))
    tamper(ledger_path, f"UPDATE events SET decision = 'ALLOW' WHERE seq = {seq}")
    assert run("canopy", "report", str(ledger_path)).returncode == 0  # documented limit
    code, doc = _report(str(ledger_path), "--full-verify")
    assert code == 1
    assert doc["integrity"]["mode"] == "full"
    assert any(f"event {seq}:" in p for p in doc["integrity"]["problems"])


def test_forged_checkpoint_signature_exits_1(ledger_path: Path) -> None:
    tamper(
        ledger_path,
        "UPDATE checkpoints SET note = replace(note, substr(note, -10, 4), 'AAAA') "
        "WHERE size = 256",
    )
    code, doc = _report(str(ledger_path))
    assert code == 1
    assert any("checkpoint 256" in p for p in doc["integrity"]["problems"])


def test_xlsx_export_has_sheets_chart_and_every_event(built: Path, tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    out_file = tmp_path / "audit_report.xlsx"
    out = run("canopy-report", str(built), "--export", str(out_file))
    assert out.returncode == 0, out.stderr
    wb = openpyxl.load_workbook(out_file)
    assert wb.sheetnames == [
        "Summary",
        "Decisions over time",
        "Deny reasons",
        "Pending approvals",
        "Events",
    ]
    chart_sheet = wb["Decisions over time"]
    assert len(chart_sheet._charts) == 1
    chart = chart_sheet._charts[0]
    assert chart.tagname == "barChart" and chart.grouping == "stacked"
    assert len(chart.series) == 3
    header = [c.value for c in chart_sheet[1]]
    assert header == ["Hour (UTC)", "ALLOW", "DENY", "REQUIRE_APPROVAL"]

    events = wb["Events"]
    assert events.max_row == EVENTS + 4 + 1
    assert [c.value for c in events[1]] == [
        "Seq",
        "Time (UTC)",
        "Kind",
        "Trace",
        "Agent (AVID)",
        "Action type",
        "Decision",
        "Layer",
        "Rule",
        "Reason",
    ]
    assert all(c.font.b and c.fill.fill_type == "solid" for c in events[1])
    assert events.freeze_panes == "A2" and events.auto_filter.ref == f"A1:J{EVENTS + 5}"
    naive = _naive(built)
    decisions = Counter(
        r[0] for r in events.iter_rows(min_row=2, min_col=7, max_col=7, values_only=True) if r[0]
    )
    assert dict(decisions) == naive["by_decision"]
    deny = next(r[6] for r in events.iter_rows(min_row=2) if r[6].value == "DENY")
    assert deny.fill.fgColor.rgb.endswith("FFC7CE")
    # Agent-chosen text is data, never a formula.
    injected = [r[3] for r in events.iter_rows(min_row=2) if r[3].value == INJECTED_TRACE]
    assert injected and all(c.data_type == "s" for c in injected)

    summary = [r[0] for r in wb["Summary"].iter_rows(values_only=True)]
    assert "Decisions (authorizations)" in summary and "By action type" in summary
    reasons = list(wb["Deny reasons"].iter_rows(min_row=2, values_only=True))
    assert {r[0]: r[1] for r in reasons} == naive["deny_reasons"]
    with Ledger(built, read_only=True) as ledger:
        assert wb["Pending approvals"].max_row == len(pending_approvals(ledger)) + 1


def test_csv_export(built: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "events.csv"
    out = run("canopy", "report", str(built), "--export", str(out_file))
    assert out.returncode == 0, out.stderr
    with out_file.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
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
    ]
    assert len(rows) == EVENTS + 4 + 1
    assert [int(r[0]) for r in rows[1:]] == list(range(EVENTS + 4))
    assert "'" + INJECTED_TRACE in {r[3] for r in rows[1:]}
    with Ledger(built, read_only=True) as ledger:
        lo = ledger.get(500).ts
    windowed = tmp_path / "since.csv"
    assert (
        run("canopy", "report", str(built), "--since", lo, "--export", str(windowed)).returncode
        == 0
    )
    assert len(windowed.read_text().splitlines()) - 1 == _naive(built, lo)["events"]


def test_usage_errors_exit_2(built: Path, tmp_path: Path) -> None:
    assert run("canopy", "report", str(built), "--export", str(tmp_path / "x.pdf")).returncode == 2
    assert run("canopy", "report", str(tmp_path / "missing.log")).returncode == 2
    junk = tmp_path / "junk.log"
    junk.write_text("not a ledger\n")
    assert run("canopy-report", str(junk)).returncode == 2
    assert run("canopy", "report").returncode == 2
