"""``canopy approvals list|approve|reject`` as real processes on a real ledger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_cli import run

from canopy import authorize_action
from canopy.ledger.store import Ledger


@pytest.fixture
def decisions(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "audit.log"
    agent = {"public_key": "pk-approvals", "trace_id": "trace-approvals"}
    ask = authorize_action(
        agent,
        "call_external_api",
        {"url": "https://api.stripe.com/v1/payouts"},
        audit_log_path=path,
    )
    pay = authorize_action(
        agent, "pay", {"amount": "$4.99", "recipient": "acct_1"}, audit_log_path=path
    )
    deny = authorize_action(agent, "shell", {"cmd": "rm -r -f /"}, audit_log_path=path)
    assert ask["decision"] == pay["decision"] == "REQUIRE_APPROVAL"
    assert deny["decision"] == "DENY"
    return {"path": path, "ask": ask, "pay": pay, "deny": deny}


def _pending(path: Path) -> list[dict[str, Any]]:
    out = run("canopy", "approvals", "list", str(path), "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["pending"]


def _approvals(path: Path, authorization_id: str) -> list[dict[str, Any]]:
    with Ledger(path, read_only=True) as ledger:
        return [
            dict(e.fields)
            for e in ledger.find(authorization_id=authorization_id)
            if e.kind == "approval"
        ]


def test_list_shows_pending_requests(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    out = run("canopy", "approvals", "list", str(path))
    assert out.returncode == 0, out.stderr
    ask_id = decisions["ask"]["authorization_id"]
    assert ask_id in out.stdout and "call_external_api" in out.stdout
    assert decisions["deny"]["authorization_id"] not in out.stdout
    pending = _pending(path)
    assert [p["authorization_id"] for p in pending] == [
        ask_id,
        decisions["pay"]["authorization_id"],
    ]
    first = pending[0]
    assert first["trace_id"] == "trace-approvals"
    assert first["avid"] == decisions["ask"]["avid"]
    assert first["reason"] == decisions["ask"]["reason"]
    assert first["age_seconds"] >= 0


def test_approve_records_a_signed_approval_once(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    ask_id = decisions["ask"]["authorization_id"]
    before = datetime.now(UTC)
    out = run(
        "canopy",
        "approvals",
        "approve",
        str(path),
        ask_id,
        "--approver",
        "alice@example.com",
        "--reason",
        "expected payout",
        "--ttl",
        "600",
    )
    assert out.returncode == 0, out.stderr
    assert "approved" in out.stdout
    (approval,) = _approvals(path, ask_id)
    assert approval["approved"] is True
    assert approval["approver"] == "alice@example.com"
    assert approval["reason"] == "expected payout"
    assert approval["trace_id"] == "trace-approvals"
    expires = datetime.fromisoformat(approval["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(seconds=590) <= expires <= before + timedelta(seconds=700)
    assert ask_id not in {p["authorization_id"] for p in _pending(path)}
    assert ask_id not in run("canopy", "approvals", "list", str(path)).stdout

    again = run("canopy", "approvals", "approve", str(path), ask_id, "--approver", "bob")
    assert again.returncode == 1
    assert "already_decided" in again.stderr and "alice@example.com" in again.stderr
    assert len(_approvals(path, ask_id)) == 1
    assert run("canopy", "verify", str(path)).returncode == 0


def test_reject_records_a_refusal(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    pay_id = decisions["pay"]["authorization_id"]
    out = run("canopy", "approvals", "reject", str(path), pay_id, "--approver", "bob", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["recorded"] is True and doc["approved"] is False
    (approval,) = _approvals(path, pay_id)
    assert approval["approved"] is False and approval["approver"] == "bob"
    assert pay_id not in {p["authorization_id"] for p in _pending(path)}
    twice = run("canopy", "approvals", "approve", str(path), pay_id, "--approver", "alice")
    assert twice.returncode == 1 and "already_decided" in twice.stderr


def test_refusals_exit_1_with_their_code(decisions: dict[str, Any]) -> None:
    path = str(decisions["path"])
    deny_id = decisions["deny"]["authorization_id"]
    denied = run("canopy", "approvals", "approve", path, deny_id, "--approver", "alice")
    assert denied.returncode == 1 and "not_pending" in denied.stderr
    assert _approvals(decisions["path"], deny_id) == []
    unknown = run("canopy", "approvals", "approve", path, "no-such-id", "--approver", "alice")
    assert unknown.returncode == 1 and "unknown_authorization" in unknown.stderr
    as_json = run("canopy", "approvals", "reject", path, "no-such-id", "--approver", "a", "--json")
    assert as_json.returncode == 1
    doc = json.loads(as_json.stdout)
    assert doc["recorded"] is False and doc["code"] == "unknown_authorization"
    assert "no-such-id" in doc["message"]


def test_usage_errors_exit_2(decisions: dict[str, Any], tmp_path: Path) -> None:
    path = str(decisions["path"])
    ask_id = decisions["ask"]["authorization_id"]
    assert run("canopy", "approvals", "approve", path, ask_id).returncode == 2  # no approver
    blank = run("canopy", "approvals", "approve", path, ask_id, "--approver", "  ")
    assert blank.returncode == 2
    zero_ttl = run("canopy", "approvals", "approve", path, ask_id, "--approver", "a", "--ttl", "0")
    assert zero_ttl.returncode == 2
    missing = str(tmp_path / "missing.log")
    assert run("canopy", "approvals", "list", missing).returncode == 2
    assert run("canopy", "approvals", "approve", missing, ask_id, "--approver", "a").returncode == 2
    assert not Path(missing).exists()
    assert _approvals(decisions["path"], ask_id) == []
