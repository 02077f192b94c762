"""Tool guards end to end: real decisions, a real signed ledger, no mocks of canopy.

Every tool body here is harmless: it records that it ran and returns a string.
Commands such as ``rm -rf /`` are data handed to Python, never to a shell.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import inspect
import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

import canopy
from canopy import (
    CanopyPermissionError,
    Decision,
    guard_tool,
    guard_tool_http,
    open_incident,
    prompt_for_approval,
    record_approval_decision,
    safe_tool,
)
from canopy.authorize import authorize_action, open_ledger
from canopy.canonical import canonical_bytes
from canopy.errors import MalformedInputError
from canopy.evidence.approvals import ApprovalError, stored_action_hash
from canopy.evidence.binding import action_hash
from canopy.integrations.guards import execute_approved
from canopy.ledger.store import Ledger, StoredEvent
from canopy.ledger.verify import verify_ledger

CTX = {
    "public_key": "pk-guard-tests",
    "created_at": "2026-01-01T00:00:00Z",
    "trace_id": "trace-guards",
}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in (
        "CANOPY_AUDIT_LOG_PATH",
        "CANOPY_POLICY_FILE",
        "CANOPY_MODE",
        "CANOPY_APPROVAL_TTL_SECONDS",
        "CANOPY_GATEWAY_URL",
        "CANOPY_API_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "audit.log"


def linked(path: Path, authorization_id: str) -> list[StoredEvent]:
    return open_ledger(path).find(authorization_id=authorization_id)


def kinds(path: Path, authorization_id: str) -> list[str]:
    return [e.kind for e in linked(path, authorization_id)]


def of_kind(path: Path, authorization_id: str, kind: str) -> StoredEvent:
    (event,) = [e for e in linked(path, authorization_id) if e.kind == kind]
    return event


def assert_verifies(path: Path) -> None:
    report = verify_ledger(path)
    assert report.ok, report


def sha256_canonical(value: Any) -> str:
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


def last_authorization_id(path: Path) -> str:
    ledger = open_ledger(path)
    auths = [e for e in ledger.iter_events() if e.kind == "authorization"]
    return str(auths[-1].fields["authorization_id"])


# --- ALLOW: authorization, execution before the tool, tool_result after it ------


def test_allow_records_execution_before_the_tool_and_its_result_after(ledger: Path) -> None:
    seen: list[StoredEvent] = []

    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    def run_cmd(command: str) -> dict[str, Any]:
        with Ledger(ledger, read_only=True) as reader:  # another connection: it is committed
            seen.append(reader.get(reader.size() - 1))
        return {"stdout": f"would run: {command}", "code": 0}

    result = run_cmd("echo hi")

    assert result == {"stdout": "would run: echo hi", "code": 0}
    (before,) = seen
    assert before.kind == "execution" and before.fields["tool"] == "run_cmd"
    aid = before.fields["authorization_id"]
    assert kinds(ledger, aid) == ["authorization", "execution", "tool_result"]
    auth, execution, outcome = linked(ledger, aid)
    assert auth.fields["decision"] == "ALLOW"
    assert auth.fields["payload"] == {"command": "echo hi"}
    for event in (auth, execution, outcome):
        assert event.fields["trace_id"] == "trace-guards"
        assert event.fields["authorization_id"] == aid
        assert event.fields["avid"] == auth.fields["avid"]
    assert execution.fields["action_hash"] == action_hash(
        "execute_shell", {"command": "echo hi"}, auth.fields["avid"]
    )
    assert execution.fields["action_hash"] == stored_action_hash(auth)
    assert execution.fields["authorization_seq"] == auth.seq
    assert "approval_id" not in execution.fields
    assert outcome.fields["status"] == "ok"
    assert outcome.fields["tool"] == "run_cmd"
    assert outcome.fields["result_sha256"] == sha256_canonical(result)
    assert outcome.fields["duration_ms"] >= 0
    assert "result" not in outcome.fields  # never the raw result unless asked
    assert_verifies(ledger)


def test_record_results_keeps_the_result(ledger: Path) -> None:
    @safe_tool(
        action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger, record_results=True
    )
    def run_cmd(command: str) -> list[str]:
        return ["would run", command]

    assert run_cmd("echo hi") == ["would run", "echo hi"]
    outcome = of_kind(ledger, last_authorization_id(ledger), "tool_result")
    assert outcome.fields["result"] == ["would run", "echo hi"]
    assert outcome.fields["result_sha256"] == sha256_canonical(["would run", "echo hi"])


def test_the_wrapper_keeps_name_and_signature(ledger: Path) -> None:
    def run_cmd(command: str, *, cwd: str = "/tmp") -> str:
        """Docs stay."""
        return command

    guarded = safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)(run_cmd)
    assert guarded.__name__ == "run_cmd" and guarded.__doc__ == "Docs stay."
    assert inspect.signature(guarded) == inspect.signature(run_cmd)


def test_tool_errors_are_recorded_then_reraised_unchanged(ledger: Path) -> None:
    failure = RuntimeError("disk on fire")

    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    def run_cmd(command: str) -> str:
        raise failure

    with pytest.raises(RuntimeError) as excinfo:
        run_cmd("echo hi")
    assert excinfo.value is failure
    aid = last_authorization_id(ledger)
    assert kinds(ledger, aid) == ["authorization", "execution", "tool_result"]
    outcome = of_kind(ledger, aid, "tool_result")
    assert outcome.fields["status"] == "error"
    assert outcome.fields["error_type"] == "RuntimeError"
    assert outcome.fields["error_message"] == "disk on fire"
    assert "result_sha256" not in outcome.fields
    assert_verifies(ledger)


def test_bad_call_arguments_raise_typeerror_and_record_nothing(ledger: Path) -> None:
    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    def run_cmd(command: str) -> str:
        return command

    with pytest.raises(TypeError):
        run_cmd("echo hi", "extra")
    assert not ledger.exists() or open_ledger(ledger).size() == 0


# --- DENY: raised, never run, no execution event ------------------------------


def test_deny_raises_and_the_tool_never_runs(ledger: Path) -> None:
    ran: list[str] = []

    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    def run_cmd(command: str) -> str:
        ran.append(command)
        return command

    with pytest.raises(CanopyPermissionError) as excinfo:
        run_cmd("rm -rf /")
    assert ran == []
    error = excinfo.value
    assert isinstance(error, PermissionError)
    assert error.decision["decision"] == Decision.DENY
    assert error.decision["reason"] in str(error)
    aid = error.decision["authorization_id"]
    assert kinds(ledger, aid) == ["authorization"]
    assert_verifies(ledger)


RAN: list[Any] = []


def by_c(c: str) -> str:
    RAN.append(c)
    return c


def by_x(x: str) -> str:
    RAN.append(x)
    return x


def by_script(script: str = "echo default") -> str:
    RAN.append(script)
    return script


def by_argv(*argv: str) -> str:
    RAN.append(argv)
    return " ".join(argv)


def by_nested(job: dict[str, Any]) -> str:
    RAN.append(job)
    return "done"


def by_kwargs(**options: Any) -> str:
    RAN.append(options)
    return "done"


def by_default(label: str = "cleanup", script: str = "rm -rf /") -> str:
    RAN.append(script)
    return script


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "payload"),
    [
        (by_c, ("rm -rf /",), {}, {"c": "rm -rf /"}),
        (by_x, (), {"x": "rm -rf /"}, {"x": "rm -rf /"}),
        (by_script, (), {"script": "rm -rf /"}, {"script": "rm -rf /"}),
        (by_argv, ("rm", "-rf", "/"), {}, {"argv": ["rm", "-rf", "/"]}),
        (
            by_nested,
            ({"name": "cleanup", "steps": [{"run": "rm -rf /"}]},),
            {},
            {"job": {"name": "cleanup", "steps": [{"run": "rm -rf /"}]}},
        ),
        (by_kwargs, (), {"c": "rm -rf /"}, {"c": "rm -rf /"}),
        (by_default, (), {}, {"label": "cleanup", "script": "rm -rf /"}),
    ],
    ids=["c", "x", "script", "argv", "nested", "kwargs", "default"],
)
def test_the_payload_is_the_bound_call_whatever_the_parameter_is_called(
    ledger: Path,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    payload: dict[str, Any],
) -> None:
    RAN.clear()
    guarded = safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)(fn)
    with pytest.raises(CanopyPermissionError) as excinfo:
        guarded(*args, **kwargs)
    assert RAN == []
    assert excinfo.value.decision["decision"] == Decision.DENY
    auth = of_kind(ledger, excinfo.value.decision["authorization_id"], "authorization")
    assert auth.fields["payload"] == payload
    assert kinds(ledger, auth.fields["authorization_id"]) == ["authorization"]


def test_the_same_functions_run_when_the_command_is_harmless(ledger: Path) -> None:
    RAN.clear()
    guard = safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    assert guard(by_c)("echo hi") == "echo hi"
    assert guard(by_argv)("echo", "hi") == "echo hi"
    assert guard(by_script)() == "echo default"
    assert RAN == ["echo hi", ("echo", "hi"), "echo default"]


def test_methods_leave_self_out_of_the_payload(ledger: Path) -> None:
    class Agent:
        @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
        def run(self, cmd: str) -> str:
            return f"{type(self).__name__}: {cmd}"

    assert Agent().run("echo hi") == "Agent: echo hi"
    auth = of_kind(ledger, last_authorization_id(ledger), "authorization")
    assert auth.fields["payload"] == {"cmd": "echo hi"}
    with pytest.raises(CanopyPermissionError):
        Agent().run("rm -rf /")


# --- agent_ctx -----------------------------------------------------------------


def test_agent_ctx_callable_is_evaluated_per_call(ledger: Path) -> None:
    calls: list[int] = []

    def ctx() -> dict[str, Any]:
        calls.append(1)
        return {**CTX, "trace_id": f"trace-{len(calls)}"}

    @safe_tool(action_type="execute_shell", agent_ctx=ctx, audit_log_path=ledger)
    def run_cmd(command: str) -> str:
        return command

    run_cmd("echo one")
    first = last_authorization_id(ledger)
    run_cmd("echo two")
    second = last_authorization_id(ledger)
    assert len(calls) == 2
    assert {e.fields["trace_id"] for e in linked(ledger, first)} == {"trace-1"}
    assert {e.fields["trace_id"] for e in linked(ledger, second)} == {"trace-2"}


def test_a_failing_agent_ctx_callable_blocks_the_call(ledger: Path) -> None:
    ran: list[str] = []

    def ctx() -> dict[str, Any]:
        raise LookupError("no identity")

    @safe_tool(action_type="execute_shell", agent_ctx=ctx, audit_log_path=ledger)
    def run_cmd(command: str) -> str:
        ran.append(command)
        return command

    with pytest.raises(CanopyPermissionError, match="no identity"):
        run_cmd("echo hi")
    assert ran == []


def test_decoration_time_mistakes(ledger: Path) -> None:
    with pytest.raises(ValueError, match="approval_callback"):
        safe_tool(action_type="execute_shell", agent_ctx=CTX, on_require_approval="callback")
    with pytest.raises(ValueError):
        safe_tool(action_type="execute_shell", agent_ctx=CTX, on_require_approval="maybe")
    with pytest.raises(TypeError, match="agent_ctx"):
        safe_tool(action_type="execute_shell", agent_ctx="pk-agent")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="action_type"):
        safe_tool(action_type="", agent_ctx=CTX)
    with pytest.raises(TypeError):
        safe_tool(action_type="execute_shell", agent_ctx=CTX)(42)  # type: ignore[type-var]


# --- async ---------------------------------------------------------------------


def test_async_tools_are_awaited_under_the_guard(ledger: Path) -> None:
    ran: list[str] = []

    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    async def run_cmd(command: str) -> str:
        await asyncio.sleep(0)
        ran.append(command)
        return f"would run: {command}"

    assert asyncio.iscoroutinefunction(run_cmd)
    assert asyncio.run(run_cmd("echo hi")) == "would run: echo hi"
    aid = last_authorization_id(ledger)
    assert kinds(ledger, aid) == ["authorization", "execution", "tool_result"]
    outcome = of_kind(ledger, aid, "tool_result")
    assert outcome.fields["result_sha256"] == sha256_canonical("would run: echo hi")

    with pytest.raises(CanopyPermissionError):
        asyncio.run(run_cmd("rm -rf /"))
    assert ran == ["echo hi"]
    assert kinds(ledger, last_authorization_id(ledger)) == ["authorization"]


def test_async_errors_are_recorded_and_reraised(ledger: Path) -> None:
    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    async def run_cmd(command: str) -> str:
        raise TimeoutError("too slow")

    with pytest.raises(TimeoutError, match="too slow"):
        asyncio.run(run_cmd("echo hi"))
    outcome = of_kind(ledger, last_authorization_id(ledger), "tool_result")
    assert (outcome.fields["status"], outcome.fields["error_type"]) == ("error", "TimeoutError")


def _hold_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another connection takes the ledger's write lock for ``seconds``: every
    append meanwhile waits for it (as it would behind another process)."""
    import sqlite3

    taken = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        conn.execute("BEGIN IMMEDIATE")
        taken.set()
        threading.Event().wait(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert taken.wait(10)
    return holder


def test_async_tools_never_stall_the_event_loop_on_the_ledger(ledger: Path) -> None:
    """The decision, execution and tool_result writes of an async tool wait for
    the disk (and here for another writer's lock) on a worker thread: other
    coroutines keep running meanwhile."""

    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    async def run_cmd(command: str) -> str:
        return f"would run: {command}"

    asyncio.run(run_cmd("echo warm"))  # the ledger exists; its runtime is open

    async def scenario() -> tuple[str, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        holder = _hold_write_lock(ledger, 0.5)
        try:
            result = await run_cmd("echo hi")
        finally:
            stop.set()
            await ticking
            holder.join()
        return result, ticks

    result, ticks = asyncio.run(scenario())
    assert result == "would run: echo hi"
    # The call waited ~0.5 s for the lock; a stalled loop would not tick at all.
    assert ticks >= 15, f"the event loop ticked {ticks} times while the ledger waited"
    aid = last_authorization_id(ledger)
    assert kinds(ledger, aid) == ["authorization", "execution", "tool_result"]
    assert_verifies(ledger)


def test_a_call_cancelled_while_its_evidence_is_written_never_runs_and_says_so(
    ledger: Path,
) -> None:
    """Cancelled while the ledger work was under way: that work completes (the
    authorization and execution events stand), the tool never runs, and a
    tool_result records that it was cancelled before running."""
    ran: list[str] = []

    @safe_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    async def run_cmd(command: str) -> str:
        ran.append(command)
        return f"would run: {command}"

    asyncio.run(run_cmd("echo warm"))
    before = open_ledger(ledger).size()

    async def scenario() -> None:
        holder = _hold_write_lock(ledger, 0.4)
        call = asyncio.create_task(run_cmd("echo never"))
        await asyncio.sleep(0.1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        await asyncio.to_thread(holder.join)

    asyncio.run(scenario())
    reader = open_ledger(ledger)
    for _ in range(200):  # the worker finishes the evidence after the cancel
        if reader.size() >= before + 3:
            break
        threading.Event().wait(0.025)
    assert ran == ["echo warm"]
    aid = last_authorization_id(ledger)
    assert kinds(ledger, aid) == ["authorization", "execution", "tool_result"]
    outcome = of_kind(ledger, aid, "tool_result")
    assert (outcome.fields["status"], outcome.fields["error_type"]) == ("error", "CancelledError")
    assert outcome.fields["error_message"] == "cancelled before the tool ran"
    assert_verifies(ledger)


# --- REQUIRE_APPROVAL ----------------------------------------------------------

PAID: list[float] = []


def pay(amount: float, currency: str = "USD", to: str = "acct-1") -> str:
    PAID.append(amount)
    return f"paid {amount} {currency} to {to}"


@pytest.fixture
def paid() -> Iterator[list[float]]:
    PAID.clear()
    yield PAID
    PAID.clear()


def test_require_approval_raises_by_default(ledger: Path, paid: list[float]) -> None:
    guarded = safe_tool(action_type="spend_money", agent_ctx=CTX, audit_log_path=ledger)(pay)
    with pytest.raises(CanopyPermissionError, match="requires approval") as excinfo:
        guarded(5000)
    assert paid == []
    assert excinfo.value.decision["decision"] == Decision.REQUIRE_APPROVAL
    assert kinds(ledger, excinfo.value.decision["authorization_id"]) == ["authorization"]


def test_require_approval_return_mode_hands_back_the_decision(
    ledger: Path, paid: list[float]
) -> None:
    guarded = safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="return",
    )(pay)
    decision = guarded(5000)
    assert paid == []
    assert decision["decision"] == Decision.REQUIRE_APPROVAL
    assert kinds(ledger, decision["authorization_id"]) == ["authorization"]


def test_callback_that_records_an_approval_lets_the_call_run(
    ledger: Path, paid: list[float]
) -> None:
    asked: list[dict[str, Any]] = []

    def approve(decision: dict[str, Any], **context: Any) -> bool:
        asked.append(context)
        record_approval_decision(
            decision["authorization_id"],
            True,
            "alice",
            "budget ok",
            audit_log_path=context["audit_log_path"],
        )
        return True

    guarded = safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="callback",
        approval_callback=approve,
    )(pay)
    assert guarded(5000) == "paid 5000 USD to acct-1"
    assert paid == [5000]
    (context,) = asked
    assert context == {
        "payload": {"amount": 5000, "currency": "USD", "to": "acct-1"},
        "audit_log_path": ledger,
        "tool": "pay",
    }
    aid = last_authorization_id(ledger)
    assert kinds(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    approval = of_kind(ledger, aid, "approval")
    execution = of_kind(ledger, aid, "execution")
    assert execution.fields["approval_id"] == approval.fields["approval_id"]
    assert execution.fields["action_hash"] == approval.fields["action_hash"]
    assert_verifies(ledger)


def test_callback_returning_true_without_a_recorded_approval_is_refused(
    ledger: Path, paid: list[float]
) -> None:
    guarded = safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="callback",
        approval_callback=lambda decision, **context: True,
    )(pay)
    with pytest.raises(CanopyPermissionError, match="no approval is on the record"):
        guarded(5000)
    assert paid == []
    assert kinds(ledger, last_authorization_id(ledger)) == ["authorization"]


def test_callback_rejecting_is_refused(ledger: Path, paid: list[float]) -> None:
    def reject(decision: dict[str, Any], **context: Any) -> bool:
        record_approval_decision(
            decision["authorization_id"], False, "bob", "no", audit_log_path=ledger
        )
        return False

    guarded = safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="callback",
        approval_callback=reject,
    )(pay)
    with pytest.raises(CanopyPermissionError, match="approval refused"):
        guarded(5000)
    assert paid == []
    assert kinds(ledger, last_authorization_id(ledger)) == ["authorization", "approval"]


def test_callback_returning_true_over_a_recorded_rejection_is_refused(
    ledger: Path, paid: list[float]
) -> None:
    def lie(decision: dict[str, Any], **context: Any) -> bool:
        record_approval_decision(
            decision["authorization_id"], False, "bob", "no", audit_log_path=ledger
        )
        return True

    guarded = safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="callback",
        approval_callback=lie,
    )(pay)
    with pytest.raises(CanopyPermissionError, match="rejected by bob"):
        guarded(5000)
    assert paid == []


def test_callback_with_an_expired_approval_is_refused(ledger: Path, paid: list[float]) -> None:
    def approve_stale(decision: dict[str, Any], **context: Any) -> bool:
        record_approval_decision(
            decision["authorization_id"],
            True,
            "alice",
            audit_log_path=ledger,
            ttl=timedelta(seconds=-1),
        )
        return True

    guarded = safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="callback",
        approval_callback=approve_stale,
    )(pay)
    with pytest.raises(CanopyPermissionError, match="expired"):
        guarded(5000)
    assert paid == []


def test_a_failing_callback_blocks_the_call(ledger: Path, paid: list[float]) -> None:
    def broken(decision: dict[str, Any], **context: Any) -> bool:
        raise ConnectionError("approval service down")

    guarded = safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="callback",
        approval_callback=broken,
    )(pay)
    with pytest.raises(CanopyPermissionError, match="approval service down"):
        guarded(5000)
    assert paid == []


class TerminalInput(io.StringIO):
    """Typed answers at a terminal (stdin that says it is a TTY)."""

    def isatty(self) -> bool:
        return True


def test_seed_approval_pattern_with_prompt_for_approval(
    ledger: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[str] = []

    @safe_tool(
        action_type="execute_shell",
        agent_ctx={"public_key": "pk", "created_at": "2026-01-01T00:00:00Z"},
        on_require_approval="callback",
        approval_callback=prompt_for_approval,
    )
    def run_cmd(command: str) -> str:
        ran.append(command)
        return f"would run: {command}"

    monkeypatch.setattr(sys, "stdin", TerminalInput("y\n"))
    assert run_cmd("sudo ls") == "would run: sudo ls"
    assert ran == ["sudo ls"]
    aid = last_authorization_id(ledger)
    approval = of_kind(ledger, aid, "approval")
    assert approval.fields["approved"] is True
    assert of_kind(ledger, aid, "execution").fields["approval_id"] == approval.fields["approval_id"]
    assert "Approval needed for execute_shell" in capsys.readouterr().err

    monkeypatch.setattr(sys, "stdin", TerminalInput("n\n"))
    with pytest.raises(CanopyPermissionError, match="approval refused"):
        run_cmd("sudo ls")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal: nobody to approve
    with pytest.raises(CanopyPermissionError, match="approval refused"):
        run_cmd("sudo ls")
    assert ran == ["sudo ls"]
    rejection = of_kind(ledger, last_authorization_id(ledger), "approval")
    assert rejection.fields["approved"] is False
    assert_verifies(ledger)


def test_async_tools_accept_async_callbacks(ledger: Path, paid: list[float]) -> None:
    async def approve(decision: dict[str, Any], **context: Any) -> bool:
        await asyncio.sleep(0)
        record_approval_decision(decision["authorization_id"], True, "alice", audit_log_path=ledger)
        return True

    @safe_tool(
        action_type="spend_money",
        agent_ctx=CTX,
        audit_log_path=ledger,
        on_require_approval="callback",
        approval_callback=approve,
    )
    async def apay(amount: float) -> str:
        return pay(amount)

    assert asyncio.run(apay(5000)) == "paid 5000 USD to acct-1"
    assert paid == [5000]


# --- execute_approved: approvals given later, by an operator -------------------


def pending(ledger: Path, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Call a guarded tool, expect REQUIRE_APPROVAL, return the authorization id."""
    with pytest.raises(CanopyPermissionError) as excinfo:
        fn(*args, **kwargs)
    assert excinfo.value.decision["decision"] == Decision.REQUIRE_APPROVAL
    return str(excinfo.value.decision["authorization_id"])


@pytest.fixture
def guarded_pay(ledger: Path) -> Callable[..., str]:
    return safe_tool(action_type="spend_money", agent_ctx=CTX, audit_log_path=ledger)(pay)


def test_execute_approved_after_an_operator_approval(
    ledger: Path, paid: list[float], guarded_pay: Callable[..., str]
) -> None:
    aid = pending(ledger, guarded_pay, 5000)
    approval = record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
    assert execute_approved(aid, guarded_pay, 5000) == "paid 5000 USD to acct-1"
    assert paid == [5000]
    assert kinds(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    execution = of_kind(ledger, aid, "execution")
    assert execution.fields["approval_id"] == approval["approval_id"]
    assert execution.fields["tool"] == "pay"
    assert execution.fields["trace_id"] == "trace-guards"
    assert of_kind(ledger, aid, "tool_result").fields["result_sha256"] == sha256_canonical(
        "paid 5000 USD to acct-1"
    )
    assert_verifies(ledger)


def test_execute_approved_refuses_other_arguments(
    ledger: Path, paid: list[float], guarded_pay: Callable[..., str]
) -> None:
    aid = pending(ledger, guarded_pay, 5000)
    record_approval_decision(aid, True, "operator", audit_log_path=ledger)
    with pytest.raises(CanopyPermissionError, match="different action"):
        execute_approved(aid, guarded_pay, 5000, to="acct-attacker")
    with pytest.raises(CanopyPermissionError, match="different action"):
        execute_approved(aid, guarded_pay, 6000)
    assert paid == []
    assert kinds(ledger, aid) == ["authorization", "approval"]


def test_execute_approved_refuses_an_expired_approval(
    ledger: Path, paid: list[float], guarded_pay: Callable[..., str]
) -> None:
    aid = pending(ledger, guarded_pay, 5000)
    record_approval_decision(
        aid, True, "operator", audit_log_path=ledger, ttl=timedelta(seconds=-1)
    )
    with pytest.raises(CanopyPermissionError, match="expired"):
        execute_approved(aid, guarded_pay, 5000)
    assert paid == []


def test_execute_approved_spends_an_approval_once(
    ledger: Path, paid: list[float], guarded_pay: Callable[..., str]
) -> None:
    aid = pending(ledger, guarded_pay, 5000)
    record_approval_decision(aid, True, "operator", audit_log_path=ledger)
    execute_approved(aid, guarded_pay, 5000)
    with pytest.raises(CanopyPermissionError, match="already used"):
        execute_approved(aid, guarded_pay, 5000)
    assert paid == [5000]


def test_execute_approved_needs_an_approval_on_the_record(
    ledger: Path, paid: list[float], guarded_pay: Callable[..., str]
) -> None:
    aid = pending(ledger, guarded_pay, 5000)
    with pytest.raises(CanopyPermissionError, match="no approval is on the record"):
        execute_approved(aid, guarded_pay, 5000)
    record_approval_decision(aid, False, "operator", "no", audit_log_path=ledger)
    with pytest.raises(CanopyPermissionError, match="rejected by operator"):
        execute_approved(aid, guarded_pay, 5000)
    with pytest.raises(CanopyPermissionError, match="no authorization"):
        execute_approved("0" * 32, guarded_pay, 5000)
    allowed = authorize_action(CTX, "execute_shell", {"command": "ls"}, audit_log_path=ledger)
    with pytest.raises(CanopyPermissionError, match="not REQUIRE_APPROVAL"):
        execute_approved(allowed["authorization_id"], by_c, "ls")
    assert paid == []


def test_execute_approved_refuses_a_tool_of_another_action_type(
    ledger: Path, paid: list[float], guarded_pay: Callable[..., str]
) -> None:
    aid = pending(ledger, guarded_pay, 5000)
    record_approval_decision(aid, True, "operator", audit_log_path=ledger)
    as_message = safe_tool(action_type="send_message", agent_ctx=CTX, audit_log_path=ledger)(pay)
    with pytest.raises(CanopyPermissionError, match="guarded as send_message"):
        execute_approved(aid, as_message, 5000)
    assert paid == []


def test_execute_approved_with_plain_and_async_functions(ledger: Path, paid: list[float]) -> None:
    decision = authorize_action(
        CTX,
        "spend_money",
        {"amount": 5000, "currency": "USD", "to": "acct-1"},
        audit_log_path=ledger,
    )
    aid = decision["authorization_id"]
    record_approval_decision(aid, True, "operator", audit_log_path=ledger)
    assert execute_approved(aid, pay, 5000, audit_log_path=ledger) == "paid 5000 USD to acct-1"

    async def apay(amount: float, currency: str = "USD", to: str = "acct-1") -> str:
        return pay(amount, currency, to)

    second = authorize_action(
        CTX,
        "spend_money",
        {"amount": 7000, "currency": "USD", "to": "acct-1"},
        audit_log_path=ledger,
    )
    record_approval_decision(second["authorization_id"], True, "operator", audit_log_path=ledger)
    result = execute_approved(second["authorization_id"], apay, 7000, audit_log_path=ledger)
    assert asyncio.run(result) == "paid 7000 USD to acct-1"
    assert paid == [5000, 7000]
    assert of_kind(ledger, second["authorization_id"], "execution").fields["tool"] == "apay"
    assert_verifies(ledger)


# --- record_approval_decision refuses what cannot be approved -------------------


def test_approval_errors(ledger: Path, guarded_pay: Callable[..., str]) -> None:
    denied = authorize_action(CTX, "execute_shell", {"command": "rm -rf /"}, audit_log_path=ledger)
    with pytest.raises(ApprovalError) as excinfo:
        record_approval_decision(denied["authorization_id"], True, "alice", audit_log_path=ledger)
    assert excinfo.value.code == "not_pending"
    with pytest.raises(ApprovalError) as excinfo:
        record_approval_decision("f" * 32, True, "alice", audit_log_path=ledger)
    assert excinfo.value.code == "unknown_authorization"
    aid = pending(ledger, guarded_pay, 5000)
    with pytest.raises(ApprovalError) as excinfo:
        record_approval_decision(aid, True, "  ", audit_log_path=ledger)
    assert excinfo.value.code == "no_approver"
    record_approval_decision(aid, True, "alice", audit_log_path=ledger)
    with pytest.raises(ApprovalError) as excinfo:
        record_approval_decision(aid, False, "bob", audit_log_path=ledger)
    assert excinfo.value.code == "already_decided"
    assert_verifies(ledger)


# --- guard_tool: the 0.2 API ----------------------------------------------------


def test_guard_tool_blocks_require_approval(ledger: Path, paid: list[float]) -> None:
    guarded = guard_tool(pay, action_type="spend_money", agent_ctx=CTX, audit_log_path=ledger)
    with pytest.raises(PermissionError) as excinfo:
        guarded(5000)
    assert isinstance(excinfo.value, CanopyPermissionError)
    assert excinfo.value.decision["decision"] == Decision.REQUIRE_APPROVAL
    assert paid == []

    @guard_tool(action_type="execute_shell", agent_ctx=CTX, audit_log_path=ledger)
    def run_cmd(command: str) -> str:
        return f"would run: {command}"

    assert run_cmd("echo hi") == "would run: echo hi"
    with pytest.raises(CanopyPermissionError):
        run_cmd("rm -rf /")


# --- guard_tool_http: a gateway decides; anything unreadable is a no ------------


class FakeResponse:
    def __init__(self, status_code: int, body: Any = None, *, raw: str | None = None) -> None:
        self.status_code = status_code
        self._text = raw if raw is not None else json.dumps(body)

    def json(self) -> Any:
        return json.loads(self._text)


class FakeClient:
    """A transport with the requests/httpx ``post`` shape; remembers what it sent."""

    def __init__(self, answer: FakeResponse | BaseException) -> None:
        self.answer = answer
        self.sent: list[dict[str, Any]] = []

    def post(self, url: str, *, json: Any, headers: dict[str, str], timeout: float) -> Any:
        self.sent.append({"url": url, "json": json, "headers": headers, "timeout": timeout})
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer


def gateway_answer(decision: str, **extra: Any) -> FakeResponse:
    body = {
        "decision": decision,
        "reason": f"gateway says {decision}",
        "authorization_id": "a" * 32,
        "trace_id": "trace-remote",
        "avid": "AVID-remote",
        "action_type": "execute_shell",
        "witness": {"seq": 41},
        **extra,
    }
    return FakeResponse(200, body)


def http_tool(client: Any, ran: list[str], **options: Any) -> Callable[[str], str]:
    def run_cmd(command: str) -> str:
        ran.append(command)
        return f"would run: {command}"

    options = {"gateway_url": "https://gw.example/", "api_key": "sk-test", **options}
    return guard_tool_http(
        run_cmd, action_type="execute_shell", agent_ctx=CTX, client=client, **options
    )


def test_http_allow_runs_and_sends_the_documented_request(ledger: Path) -> None:
    ran: list[str] = []
    client = FakeClient(gateway_answer("ALLOW"))
    assert http_tool(client, ran, timeout=3)("echo hi") == "would run: echo hi"
    assert ran == ["echo hi"]
    (sent,) = client.sent
    assert sent["url"] == "https://gw.example/v1/authorize"
    assert sent["json"] == {
        "agent_ctx": CTX,
        "action_type": "execute_shell",
        "action_payload": {"command": "echo hi"},
    }
    assert sent["headers"] == {"Authorization": "Bearer sk-test"}
    assert sent["timeout"] == 3
    assert not ledger.exists()  # no audit_log_path: nothing recorded locally


def test_http_x_api_key_header(ledger: Path) -> None:
    client = FakeClient(gateway_answer("ALLOW"))
    http_tool(client, [], api_key_header="X-API-Key")("echo hi")
    assert client.sent[0]["headers"] == {"X-API-Key": "sk-test"}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (gateway_answer("DENY"), "gateway says DENY"),
        (gateway_answer("REQUIRE_APPROVAL"), "gateway says REQUIRE_APPROVAL"),
        (FakeResponse(500, {"decision": "ALLOW", "authorization_id": "x"}), "HTTP 500"),
        (FakeResponse(302, {"decision": "ALLOW", "authorization_id": "x"}), "HTTP 302"),
        (FakeResponse(200, raw="<html>ALLOW</html>"), "not JSON"),
        (FakeResponse(200, ["ALLOW"]), "JSON object"),
        (gateway_answer("MAYBE"), "'MAYBE' is not one of"),
        (gateway_answer("allow"), "'allow' is not one of"),
        (gateway_answer("ALLOW", authorization_id=None), "authorization_id is missing"),
        (gateway_answer("ALLOW", reason=7), "reason must be a string"),
        (ConnectionError("connection refused"), "unreachable"),
        (TimeoutError("timed out"), "unreachable"),
    ],
    ids=[
        "deny",
        "require_approval",
        "500",
        "redirect",
        "malformed_json",
        "not_an_object",
        "unknown_decision",
        "lowercase_decision",
        "no_authorization_id",
        "bad_reason",
        "network_error",
        "timeout",
    ],
)
def test_http_anything_but_a_readable_allow_blocks(
    ledger: Path, answer: FakeResponse | BaseException, reason: str
) -> None:
    ran: list[str] = []
    guarded = http_tool(FakeClient(answer), ran, audit_log_path=ledger)
    with pytest.raises(CanopyPermissionError, match=reason) as excinfo:
        guarded("echo hi")
    assert ran == []
    assert excinfo.value.decision["decision"] in (Decision.DENY, Decision.REQUIRE_APPROVAL)
    assert not ledger.exists() or open_ledger(ledger).size() == 0


def test_http_evidence_is_recorded_locally_when_asked(ledger: Path) -> None:
    ran: list[str] = []
    guarded = http_tool(FakeClient(gateway_answer("ALLOW")), ran, audit_log_path=ledger)
    assert guarded("echo hi") == "would run: echo hi"
    events = linked(ledger, "a" * 32)
    assert [e.kind for e in events] == ["execution", "tool_result"]
    execution = events[0]
    assert execution.fields["trace_id"] == "trace-remote"
    assert execution.fields["action_hash"] == action_hash(
        "execute_shell", {"command": "echo hi"}, "AVID-remote"
    )
    assert "authorization_seq" not in execution.fields  # seq 41 is the gateway's, not ours
    assert_verifies(ledger)


def test_http_async_tools(ledger: Path) -> None:
    ran: list[str] = []

    async def run_cmd(command: str) -> str:
        ran.append(command)
        return command

    guarded = guard_tool_http(
        run_cmd,
        action_type="execute_shell",
        agent_ctx=CTX,
        gateway_url="http://gw.local",
        client=FakeClient(gateway_answer("ALLOW")),
    )
    assert asyncio.run(guarded("echo hi")) == "echo hi"
    blocked = guard_tool_http(
        run_cmd,
        action_type="execute_shell",
        agent_ctx=CTX,
        gateway_url="http://gw.local",
        client=FakeClient(FakeResponse(503, {})),
    )
    with pytest.raises(CanopyPermissionError, match="HTTP 503"):
        asyncio.run(blocked("echo hi"))
    assert ran == ["echo hi"]


def test_http_gateway_url_is_required_and_http(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match="CANOPY_GATEWAY_URL"):
        guard_tool_http(by_c, action_type="execute_shell", agent_ctx=CTX)
    with pytest.raises(ValueError, match="http"):
        guard_tool_http(
            by_c, action_type="execute_shell", agent_ctx=CTX, gateway_url="file:///etc/passwd"
        )
    monkeypatch.setenv("CANOPY_GATEWAY_URL", "https://gw.from-env")
    monkeypatch.setenv("CANOPY_API_KEY", "sk-env")
    client = FakeClient(gateway_answer("ALLOW"))
    guard_tool_http(by_c, action_type="execute_shell", agent_ctx=CTX, client=client)("echo hi")
    assert client.sent[0]["url"] == "https://gw.from-env/v1/authorize"
    assert client.sent[0]["headers"] == {"Authorization": "Bearer sk-env"}


class _Gateway(http.server.BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, tuple[int, bytes, dict[str, str]]]] = {}
    received: ClassVar[list[tuple[str, dict[str, Any], str | None]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append((self.path, body, self.headers.get("Authorization")))
        prefix = self.path.removesuffix("/v1/authorize")
        status, data, headers = self.answers[prefix]
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_default_urllib_client(ledger: Path, gateway: str) -> None:
    allow = json.dumps({"decision": "ALLOW", "authorization_id": "b" * 32}).encode()
    _Gateway.answers = {
        "/ok": (200, allow, {}),
        "/fail": (500, allow, {}),
        "/moved": (307, allow, {"Location": f"{gateway}/ok/v1/authorize"}),
    }
    _Gateway.received = []
    ran: list[str] = []

    def run_cmd(command: str) -> str:
        ran.append(command)
        return command

    def via(prefix: str) -> Callable[..., str]:
        return guard_tool_http(
            run_cmd,
            action_type="execute_shell",
            agent_ctx=CTX,
            gateway_url=gateway + prefix,
            api_key="sk-local",
        )

    assert via("/ok")("echo hi") == "echo hi"
    path, body, auth = _Gateway.received[0]
    assert path == "/ok/v1/authorize"
    assert body["action_payload"] == {"command": "echo hi"}
    assert auth == "Bearer sk-local"
    with pytest.raises(CanopyPermissionError, match="HTTP 500"):
        via("/fail")("echo hi")
    with pytest.raises(CanopyPermissionError, match="HTTP 307"):
        via("/moved")("echo hi")  # redirects are not followed
    assert ran == ["echo hi"]
    assert len(_Gateway.received) == 3


# --- incidents ------------------------------------------------------------------


def test_open_incident_links_trace_and_decisions(ledger: Path) -> None:
    denied = authorize_action(CTX, "execute_shell", {"command": "rm -rf /"}, audit_log_path=ledger)
    first = open_incident(
        trace_id="trace-guards",
        agent_avid=denied["avid"],
        description="agent tried to wipe the disk",
        severity="high",
        related_authorization_ids=[denied["authorization_id"]],
        reporter="alice",
        audit_log_path=ledger,
    )
    second = open_incident(trace_id="trace-guards", description="same again", audit_log_path=ledger)
    assert first["incident_id"] != second["incident_id"]
    assert first["incident_id"].startswith("inc-")
    event = open_ledger(ledger).get(first["seq"])
    assert event.kind == "incident"
    assert event.fields["trace_id"] == "trace-guards"
    assert event.fields["avid"] == denied["avid"]
    assert event.fields["related_authorization_ids"] == [denied["authorization_id"]]
    assert event.fields["severity"] == "high"
    assert [e.kind for e in open_ledger(ledger).find(trace_id="trace-guards")] == [
        "authorization",
        "incident",
        "incident",
    ]
    with pytest.raises(MalformedInputError):
        open_incident(description="x", severity="apocalyptic", audit_log_path=ledger)
    assert_verifies(ledger)


# --- the public surface -----------------------------------------------------------


def test_exports() -> None:
    from canopy.evidence import approvals, incidents
    from canopy.integrations import guards

    assert canopy.safe_tool is guards.safe_tool
    assert canopy.guard_tool is guards.guard_tool
    assert canopy.guard_tool_http is guards.guard_tool_http
    assert canopy.prompt_for_approval is approvals.prompt_for_approval
    assert canopy.record_approval_decision is approvals.record_approval_decision
    assert canopy.open_incident is incidents.open_incident
    assert set(canopy.__all__) >= {
        "safe_tool",
        "guard_tool",
        "guard_tool_http",
        "prompt_for_approval",
        "record_approval_decision",
        "open_incident",
    }


def test_import_canopy_stays_lazy() -> None:
    code = (
        "import sys, canopy\n"
        "heavy = ('langchain', 'pandas', 'tree_sitter',\n"
        "         'canopy.integrations', 'canopy.authorize')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
        "from canopy import safe_tool\n"
        "print(sorted(m for m in sys.modules if m.startswith(('langchain', 'pandas'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "[]"]
