"""ToolGate: tool calls that arrive as a name and an argument mapping.

The gate is what the framework adapters and the MCP proxy stand on, so these
tests pin its contract on a real ledger: the decision is on exactly the
arguments, nothing runs unless cleared, evidence is linked, approvals given
later are checked against the same arguments.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from canopy import CanopyPermissionError, Decision, record_approval_decision
from canopy.authorize import open_ledger
from canopy.integrations.guards import ToolGate
from canopy.integrations.refusals import (
    Blocked,
    approve_command,
    gated_acall,
    gated_call,
    refusal_lines,
)
from canopy.ledger.verify import verify_ledger

CTX = {"public_key": "pk-gate-tests", "created_at": "2026-01-01T00:00:00Z", "trace_id": "t-gate"}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "audit.log"


def events_of(path: Path, authorization_id: str) -> list[tuple[str, dict]]:
    found = open_ledger(path).find(authorization_id=authorization_id)
    return [(e.kind, e.fields) for e in found]


def test_allowed_call_runs_once_with_evidence(ledger: Path) -> None:
    ran: list[str] = []
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)

    result = gate.call("run_shell", {"command": "ls -la"}, lambda: ran.append("x") or "listed")

    assert result == "listed" and ran == ["x"]
    (auth,) = [e for e in open_ledger(ledger).iter_events() if e.kind == "authorization"]
    aid = auth.fields["authorization_id"]
    kinds = [kind for kind, _ in events_of(ledger, aid)]
    assert kinds == ["authorization", "execution", "tool_result"]
    assert auth.fields["action_type"] == "execute_shell"  # the tool name, normalised
    assert auth.fields["payload"] == {"command": "ls -la"}
    assert events_of(ledger, aid)[1][1]["tool"] == "run_shell"
    assert verify_ledger(ledger).ok


def test_denied_call_never_runs(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    ran: list[str] = []
    with pytest.raises(CanopyPermissionError, match="denied") as excinfo:
        gate.call("run_shell", {"cmd": "r''m -r -f /"}, lambda: ran.append("x"))
    assert ran == []
    aid = excinfo.value.decision["authorization_id"]
    assert [kind for kind, _ in events_of(ledger, aid)] == ["authorization"]


def test_a_fixed_action_type_overrides_the_tool_name(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger, action_type="execute_shell")
    with pytest.raises(CanopyPermissionError, match="denied"):
        gate.call("harmless_sounding_helper", {"x": "rm -rf /"}, lambda: "ran")
    assert gate.action_type_for("anything") == "execute_shell"


def test_require_approval_return_mode_and_a_later_approval(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger, on_require_approval="return")
    paid: list[float] = []
    args = {"amount": 5000, "currency": "USD"}

    decision = gate.call("pay", args, lambda: paid.append(5000))
    assert decision["decision"] == Decision.REQUIRE_APPROVAL and paid == []
    aid = decision["authorization_id"]

    with pytest.raises(CanopyPermissionError, match="no approval is on the record"):
        gate.call_approved(aid, "pay", args, lambda: paid.append(5000))
    record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
    with pytest.raises(CanopyPermissionError, match="different action"):
        gate.call_approved(aid, "pay", {"amount": 9000, "currency": "USD"}, lambda: paid.append(1))
    assert gate.call_approved(aid, "pay", args, lambda: paid.append(5000) or "paid") == "paid"
    assert paid == [5000]
    with pytest.raises(CanopyPermissionError, match="already used"):
        gate.call_approved(aid, "pay", args, lambda: paid.append(5000))
    kinds = [kind for kind, _ in events_of(ledger, aid)]
    assert kinds == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger).ok


def test_async_calls_and_tool_errors(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)

    async def ok() -> str:
        return "read"

    async def boom() -> str:
        raise RuntimeError("upstream down")

    assert asyncio.run(gate.acall("read_file", {"path": "notes.txt"}, ok)) == "read"
    with pytest.raises(RuntimeError, match="upstream down"):
        asyncio.run(gate.acall("read_file", {"path": "other.txt"}, boom))
    with pytest.raises(CanopyPermissionError, match="denied"):
        asyncio.run(gate.acall("http_get", {"url": "http://169.254.169.254/latest"}, ok))
    results = [e.fields for e in open_ledger(ledger).iter_events() if e.kind == "tool_result"]
    assert [r["status"] for r in results] == ["ok", "error"]


def test_arguments_must_be_a_mapping(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    with pytest.raises(CanopyPermissionError, match="must be a mapping"):
        gate.call("run_shell", ["rm", "-rf", "/"], lambda: "ran")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="non-empty string"):
        gate.call("  ", {"command": "ls"}, lambda: "ran")
    assert not (ledger.exists() and open_ledger(ledger).size())


def test_an_approved_call_made_again_runs_once_under_that_approval(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    paid: list[float] = []
    args = {"amount": 5000, "currency": "USD"}

    with pytest.raises(CanopyPermissionError, match="requires approval") as first:
        gate.call("pay", args, lambda: paid.append(5000))
    aid = first.value.decision["authorization_id"]
    with pytest.raises(CanopyPermissionError, match="requires approval"):
        gate.call("pay", args, lambda: paid.append(5000))  # not approved yet: still blocked
    record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)

    with pytest.raises(CanopyPermissionError, match="requires approval"):
        gate.call("pay", {"amount": 9000, "currency": "USD"}, lambda: paid.append(9000))
    assert gate.call("pay", args, lambda: paid.append(5000) or "paid") == "paid"
    with pytest.raises(CanopyPermissionError, match="requires approval"):
        gate.call("pay", args, lambda: paid.append(5000))  # the approval is spent
    assert paid == [5000]

    events = list(open_ledger(ledger).iter_events())
    auths = [e for e in events if e.kind == "authorization"]
    assert [e.fields["decision"] for e in auths] == ["REQUIRE_APPROVAL"] * 5  # each call decided
    (execution,) = [e for e in events if e.kind == "execution"]
    assert execution.fields["authorization_id"] == aid  # runs under the approved authorization
    assert execution.fields["approval_id"].startswith("apr-")
    assert verify_ledger(ledger).ok


def test_rejected_or_denied_calls_never_reuse_an_approval(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    args = {"amount": 7000, "currency": "USD"}
    with pytest.raises(CanopyPermissionError) as first:
        gate.call("pay", args, lambda: "paid")
    record_approval_decision(
        first.value.decision["authorization_id"], False, "operator", "no", audit_log_path=ledger
    )
    with pytest.raises(CanopyPermissionError, match="requires approval"):
        gate.call("pay", args, lambda: "paid")
    strict = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger, reuse_approvals=False)
    with pytest.raises(CanopyPermissionError) as second:
        strict.call("pay", args, lambda: "paid")
    record_approval_decision(
        second.value.decision["authorization_id"], True, "operator", "ok", audit_log_path=ledger
    )
    with pytest.raises(CanopyPermissionError, match="requires approval"):
        strict.call("pay", args, lambda: "paid")  # reuse switched off
    assert not [e for e in open_ledger(ledger).iter_events() if e.kind == "execution"]


# --- what the adapters build on the gate (canopy.integrations.refusals) ---------------


def test_gated_calls_tell_a_block_from_the_tools_own_error(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    held = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger, on_require_approval="return")

    assert gated_call(gate, "run_shell", {"command": "ls"}, lambda: "listed") == "listed"
    denied = gated_call(gate, "run_shell", {"command": "rm -rf /"}, lambda: "ran")
    assert isinstance(denied, Blocked) and denied.decision["decision"] == Decision.DENY
    assert isinstance(denied.error, CanopyPermissionError)
    returned = gated_call(held, "pay", {"amount": 5000}, lambda: "paid")
    assert isinstance(returned, Blocked) and returned.error is None
    assert returned.decision["decision"] == Decision.REQUIRE_APPROVAL

    def nested_guard() -> str:
        raise CanopyPermissionError("an inner guard said no")

    with pytest.raises(CanopyPermissionError, match="inner guard"):  # ran: not a block
        gated_call(gate, "read_file", {"path": "notes.txt"}, nested_guard)

    async def fetched() -> str:
        return "page"

    assert asyncio.run(gated_acall(gate, "read_file", {"path": "notes.txt"}, fetched)) == "page"
    blocked = asyncio.run(
        gated_acall(gate, "http_get", {"url": "http://169.254.169.254/"}, fetched)
    )
    assert isinstance(blocked, Blocked) and blocked.decision["decision"] == Decision.DENY
    assert len([e for e in open_ledger(ledger).iter_events() if e.kind == "execution"]) == 3


def test_refusal_lines(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    denied = gated_call(gate, "run_shell", {"command": "rm -rf /"}, lambda: "ran")
    held = gated_call(gate, "pay", {"amount": 5000}, lambda: "paid")
    assert isinstance(denied, Blocked) and isinstance(held, Blocked)
    spaced = Path("my ledgers") / "audit.log"

    lines = denied.lines("run_shell", spaced)
    assert lines[0] == "Canopy blocked this call to run_shell; the tool did not run."
    assert lines[1:3] == ["decision: DENY", "action_type: execute_shell"]
    assert lines[-1] == "Do not retry this call with the same arguments."
    assert not any(line.startswith("why it did not run") for line in lines)

    aid = held.decision["authorization_id"]
    (hint,) = [line for line in held.lines("pay", spaced) if "approval" in line]
    assert f"`{approve_command(spaced, aid)}`" in hint
    assert approve_command(spaced, aid).startswith(
        "canopy approvals approve 'my ledgers/audit.log'"
    )
    assert "the same call with the same arguments runs once" in hint

    later = CanopyPermissionError("pay not run: approval refused", dict(held.decision))
    after = refusal_lines("pay", held.decision, spaced, later)
    assert "why it did not run: pay not run: approval refused" in after
    undecided = refusal_lines("pay", {}, spaced, CanopyPermissionError("agent_ctx failed"))
    assert undecided[1:4] == [
        "decision: BLOCKED",
        "reason: agent_ctx failed",
        "authorization_id: none (nothing was decided)",
    ]


def test_a_call_can_name_its_own_action_type(ledger: Path) -> None:
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    # "notes" as its own name is a harmless unknown action; as delete_file it is decided so.
    assert gate.call("notes", {"path": "notes.txt"}, lambda: "read") == "read"
    with pytest.raises(CanopyPermissionError):
        gate.call("notes", {"path": "/etc/passwd"}, lambda: "gone", action_type="delete_file")
    auths = [e.fields for e in open_ledger(ledger).iter_events() if e.kind == "authorization"]
    assert [a["action_type"] for a in auths[-1:]] == ["delete_file"]
    assert gate.action_type_for("notes") == "notes"
    assert gate.action_type_for("notes", "delete_file") == "delete_file"
