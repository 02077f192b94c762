"""``canopy incident`` / ``canopy-incident`` as real processes on real ledgers."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_cli import run

from canopy import authorize_action
from canopy.errors import VerificationError
from canopy.evidence.approvals import record_approval_decision, stored_action_hash
from canopy.evidence.incidents import open_incident
from canopy.evidence.records import record_execution, record_tool_result
from canopy.ledger.checkpoint import SignedCheckpoint
from canopy.ledger.note import Verifier, generate_signer
from canopy.ledger.proofs import verify_inclusion_proof
from canopy.ledger.store import Ledger

TRACE = "trace-abc123"
OTHER = "trace-other"


def _session(path: Path) -> dict[str, Any]:
    """One agent session with every kind of evidence, plus a denial on another trace
    that an incident on the session links to."""
    agent = {"public_key": "pk-incident-test", "trace_id": TRACE}
    allow = authorize_action(agent, "execute_shell", {"command": "ls -la"}, audit_log_path=path)
    deny = authorize_action(agent, "shell", {"cmd": "rm -r -f /"}, audit_log_path=path)
    ask = authorize_action(
        agent,
        "call_external_api",
        {"url": "https://api.stripe.com/v1/payouts"},
        audit_log_path=path,
    )
    assert (allow["decision"], deny["decision"], ask["decision"]) == (
        "ALLOW",
        "DENY",
        "REQUIRE_APPROVAL",
    )
    with Ledger(path) as ledger:
        auth = ledger.find(authorization_id=allow["authorization_id"])[0]
        record_execution(ledger, allow, action_hash=stored_action_hash(auth), tool="shell")
        record_tool_result(ledger, allow, ok=True, duration_ms=12.5, result={"out": "x"})
        approval = record_approval_decision(
            ask["authorization_id"], True, "alice", "payout is expected", ledger=ledger
        )
        ask_auth = ledger.find(authorization_id=ask["authorization_id"])[0]
        record_execution(
            ledger,
            ask,
            action_hash=stored_action_hash(ask_auth),
            tool="http",
            approval_id=approval["approval_id"],
        )
        record_tool_result(
            ledger, ask, ok=False, duration_ms=30.0, error=TimeoutError("stripe timed out")
        )
    other = authorize_action(
        {"public_key": "pk-other", "trace_id": OTHER},
        "shell",
        {"cmd": "rm -r -f /"},
        audit_log_path=path,
    )
    incident = open_incident(
        trace_id=TRACE,
        description="agent tried to wipe the disk",
        severity="high",
        related_authorization_ids=[other["authorization_id"]],
        reporter="sec-team",
        audit_log_path=path,
    )
    with Ledger(path) as ledger:
        ledger.checkpoint()
    return {
        "path": path,
        "allow": allow,
        "deny": deny,
        "ask": ask,
        "other": other,
        "approval": approval,
        "incident": incident,
    }


@pytest.fixture
def session(tmp_path: Path) -> dict[str, Any]:
    return _session(tmp_path / "audit.log")


def _json(*args: str) -> tuple[int, dict[str, Any]]:
    out = run(*args, "--json")
    return out.returncode, json.loads(out.stdout)


def test_trace_timeline_lists_every_event_in_ledger_order(session: dict[str, Any]) -> None:
    path = session["path"]
    out = run("canopy-incident", "--trace", TRACE, str(path))
    assert out.returncode == 0, out.stderr
    for text in (
        TRACE,
        "DENY",
        "REQUIRE_APPROVAL",
        "constitution.art0.destroy_system",
        "approved by alice",
        "ran shell",
        "ok 12.5 ms",
        "TimeoutError: stripe timed out",
        "agent tried to wipe the disk",
    ):
        assert text in out.stdout, text

    code, doc = _json("canopy", "incident", "--trace", TRACE, str(path))
    assert code == 0
    with Ledger(path, read_only=True) as ledger:
        expected = [e.seq for e in ledger.find(trace_id=TRACE)]
    events = doc["events"]
    assert [e["seq"] for e in events] == expected == sorted(expected)
    assert doc["format"] == "canopy/timeline/v1"
    assert doc["subject"] == {"type": "trace", "id": TRACE}
    kinds = [e["kind"] for e in events]
    assert kinds == [
        "authorization",
        "authorization",
        "authorization",
        "execution",
        "tool_result",
        "approval",
        "execution",
        "tool_result",
        "incident",
    ]
    by_auth = {e["authorization_id"]: e for e in events if e["kind"] == "authorization"}
    denied = by_auth[session["deny"]["authorization_id"]]
    assert denied["decision"] == "DENY"
    assert denied["layer"] == "constitution"
    assert denied["rule_id"] == "constitution.art0.destroy_system"
    assert denied["reason"] == session["deny"]["reason"]
    approval = next(e for e in events if e["kind"] == "approval")
    assert approval["approval"]["approver"] == "alice"
    assert approval["approval"]["approved"] is True
    assert approval["reason"] == "payout is expected"
    results = [e["result"] for e in events if e["kind"] == "tool_result"]
    assert results[0]["status"] == "ok" and results[0]["duration_ms"] == 12.5
    assert results[1]["status"] == "error"
    assert results[1]["error"] == "TimeoutError: stripe timed out"
    executions = [e["execution"] for e in events if e["kind"] == "execution"]
    assert executions[1]["approval_id"] == session["approval"]["approval_id"]
    summary = doc["summary"]
    assert summary["events"] == len(events)
    assert summary["by_decision"] == {"ALLOW": 1, "DENY": 1, "REQUIRE_APPROVAL": 1}
    assert summary["agents"] == [session["allow"]["avid"]]
    assert summary["pending_approvals"] == [] and summary["errors"] == 1
    assert all(len(bytes.fromhex(e["leaf_hash"])) == 32 for e in events)


def test_nothing_matched_exits_1(session: dict[str, Any]) -> None:
    path = str(session["path"])
    out = run("canopy", "incident", "--trace", "trace-unknown", path)
    assert out.returncode == 1
    assert "nothing matched" in out.stderr
    code, doc = _json("canopy", "incident", "--trace", "trace-unknown", path)
    assert code == 1 and doc["events"] == []
    assert run("canopy-incident", "--incident", "inc-unknown", path).returncode == 1


def test_usage_errors_exit_2(session: dict[str, Any], tmp_path: Path) -> None:
    path = str(session["path"])
    assert run("canopy", "incident", path).returncode == 2  # neither
    both = run("canopy", "incident", "--trace", TRACE, "--incident", "inc-x", path)
    assert both.returncode == 2 and "exactly one" in both.stderr
    assert (
        run("canopy", "incident", "--trace", TRACE, str(tmp_path / "missing.log")).returncode == 2
    )
    junk = tmp_path / "junk.log"
    junk.write_text('{"seed": "jsonl audit log"}\n')
    assert run("canopy", "incident", "--trace", TRACE, str(junk)).returncode == 2
    bad = run("canopy", "incident", "--trace", TRACE, path, "--export", str(tmp_path / "x.pdf"))
    assert bad.returncode == 2 and not (tmp_path / "x.pdf").exists()


def test_incident_includes_related_authorizations_of_another_trace(
    session: dict[str, Any],
) -> None:
    path = session["path"]
    incident_id = session["incident"]["incident_id"]
    out = run("canopy-incident", "--incident", incident_id, str(path))
    assert out.returncode == 0, out.stderr
    assert incident_id in out.stdout and "sec-team" in out.stdout

    code, doc = _json("canopy", "incident", "--incident", incident_id, str(path))
    assert code == 0
    assert doc["subject"] == {"type": "incident", "id": incident_id}
    assert doc["incident"]["description"] == "agent tried to wipe the disk"
    assert doc["incident"]["related_authorization_ids"] == [session["other"]["authorization_id"]]
    with Ledger(path, read_only=True) as ledger:
        expected = {e.seq for e in ledger.find(trace_id=TRACE)}
        expected |= {
            e.seq for e in ledger.find(authorization_id=session["other"]["authorization_id"])
        }
    seqs = [e["seq"] for e in doc["events"]]
    assert seqs == sorted(expected)
    related = [e for e in doc["events"] if e["trace_id"] == OTHER]
    assert len(related) == 1 and related[0]["decision"] == "DENY"
    assert doc["summary"]["traces"] == sorted([TRACE, OTHER])
    assert len(doc["summary"]["agents"]) == 2


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_xlsx_export_is_formatted_and_checkable_without_the_ledger(
    session: dict[str, Any], tmp_path: Path
) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = session["path"]
    with Ledger(path) as ledger:  # one event after the latest checkpoint
        late = ledger.append("execution", {"trace_id": TRACE, "tool": "late"}).seq
    out_file = tmp_path / "incident_report.xlsx"
    out = run("canopy-incident", "--trace", TRACE, str(path), "--export", str(out_file))
    assert out.returncode == 0, out.stderr
    assert str(out_file) in out.stdout

    wb = openpyxl.load_workbook(out_file)
    assert wb.sheetnames == ["Timeline", "Evidence", "Checkpoint"]
    timeline = wb["Timeline"]
    header = [c.value for c in timeline[1]]
    assert header[:3] == ["Seq", "Time (UTC)", "Kind"] and "Decision" in header
    for cell in timeline[1]:
        assert cell.font.b and cell.fill.fill_type == "solid"
    assert timeline.freeze_panes == "A2"
    assert timeline.auto_filter.ref == f"A1:O{timeline.max_row}"
    assert timeline.column_dimensions["K"].width >= 40  # the reason column
    decision_col = header.index("Decision")
    rows = _rows(timeline)[1:]
    with Ledger(path, read_only=True) as ledger:
        assert [r[0] for r in rows] == [e.seq for e in ledger.find(trace_id=TRACE)]
    fills = {
        row[decision_col].value: row[decision_col].fill.fgColor.rgb
        for row in timeline.iter_rows(min_row=2)
        if row[decision_col].value
    }
    assert fills["DENY"].endswith("FFC7CE") and fills["ALLOW"].endswith("C6EFCE")
    assert fills["REQUIRE_APPROVAL"].endswith("FFEB9C")

    checkpoint = {r[0]: r[1] for r in _rows(wb["Checkpoint"])}
    vkey = checkpoint["Verifier key"]
    assert "canopy proof verify" in checkpoint["How to verify"]
    keys = [Verifier.from_vkey(vkey)]
    signed = SignedCheckpoint.open(checkpoint["Signed checkpoint"], keys)
    assert signed.size == checkpoint["Checkpoint size"] == late

    evidence = wb["Evidence"]
    assert evidence.freeze_panes == "A2" and evidence.auto_filter.ref
    ev_rows = _rows(evidence)[1:]
    assert [r[0] for r in ev_rows] == [r[0] for r in rows]
    shown = {r[0]: r for r in rows}
    checked = 0
    for seq, kind, leaf_hex, status, _disclosed, proof_text in ev_rows:
        if seq == late:
            assert status == "unsealed (run canopy checkpoint)" and proof_text is None
            continue
        proof = json.loads(proof_text)
        result = verify_inclusion_proof(proof, keys)  # no ledger needed
        assert result.leaf_index == seq and result.event_disclosed
        assert proof["leaf_hash"] and bytes.fromhex(leaf_hex) == _b64(proof["leaf_hash"])
        revealed = proof["event"]["revealed"]
        assert proof["event"]["kind"] == kind == shown[seq][2]
        if "decision" in revealed:
            assert revealed["decision"]["value"] == shown[seq][decision_col]
        assert "payload" not in revealed and "agent_ctx" not in revealed
        checked += 1
    assert checked == len(ev_rows) - 1

    # A recipient detects any edit of a proof cell.
    deny_row = next(r for r in ev_rows if shown[r[0]][decision_col] == "DENY")
    forged = json.loads(deny_row[5])
    forged["event"]["revealed"]["decision"]["value"] = "ALLOW"
    with pytest.raises(VerificationError):
        verify_inclusion_proof(forged, keys)
    flipped = json.loads(deny_row[5])
    raw = bytearray(_b64(flipped["hashes"][0]))
    raw[0] ^= 1
    flipped["hashes"][0] = _b64e(bytes(raw))
    with pytest.raises(VerificationError):
        verify_inclusion_proof(flipped, keys)
    moved = copy.deepcopy(json.loads(deny_row[5]))
    moved["leaf_index"] += 1
    with pytest.raises(VerificationError):
        verify_inclusion_proof(moved, keys)
    stranger = generate_signer("canopy.ledger/stranger").verifier
    with pytest.raises(VerificationError):
        verify_inclusion_proof(json.loads(deny_row[5]), [stranger])


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def _b64e(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def test_export_without_any_checkpoint_marks_every_event_unsealed(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "fresh.log"
    authorize_action(
        {"trace_id": "trace-fresh"}, "execute_shell", {"command": "ls"}, audit_log_path=path
    )
    out_file = tmp_path / "fresh.xlsx"
    out = run("canopy", "incident", "--trace", "trace-fresh", str(path), "--export", str(out_file))
    assert out.returncode == 0, out.stderr
    ev_rows = _rows(openpyxl.load_workbook(out_file)["Evidence"])[1:]
    assert ev_rows and all(r[3] == "unsealed (run canopy checkpoint)" for r in ev_rows)


def test_incident_command_stays_light(session: dict[str, Any]) -> None:
    """No pandas, tree-sitter, YAML, decision layers or openpyxl just to read a timeline."""
    out = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "canopy",
            "incident",
            "--trace",
            TRACE,
            str(session["path"]),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip()
        for line in out.stderr.splitlines()
        if line.startswith("import time:")
    }
    heavy = {
        name
        for name in imported
        if name.split(".")[0] in {"pandas", "tree_sitter", "tree_sitter_bash", "yaml", "openpyxl"}
        or name.startswith("canopy.decisions")
    }
    assert imported and not heavy, sorted(heavy)
