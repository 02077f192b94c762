"""The LangGraph adapter end to end: real langgraph graphs, a real signed ledger.

A scripted chat model (no network, no key) asks for tool calls; the governed
ToolNode runs them. Tool bodies are harmless: they record that they ran and
return a string. ``rm -rf /`` is data handed to Python, never to a shell.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langgraph")

from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

from canopy import Decision, record_approval_decision
from canopy.authorize import open_ledger
from canopy.integrations.guards import ToolGate
from canopy.integrations.langgraph_adapter import (
    INTERRUPT_KIND,
    governed_tool_node,
    tool_call_router,
)
from canopy.ledger.store import StoredEvent
from canopy.ledger.verify import verify_ledger

CTX = {"public_key": "pk-langgraph-tests", "created_at": "2026-01-01T00:00:00Z", "trace_id": "t-lg"}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in (
        "CANOPY_AUDIT_LOG_PATH",
        "CANOPY_POLICY_FILE",
        "CANOPY_MODE",
        "CANOPY_APPROVAL_TTL_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "audit.log"


# --- helpers -----------------------------------------------------------------------


def call(name: str, args: dict[str, Any], call_id: str) -> AIMessage:
    return AIMessage("", tool_calls=[{"name": name, "args": args, "id": call_id}])


def sync_tools(ran: list[tuple[str, Any]]) -> list[BaseTool]:
    @tool
    def run_shell(command: str) -> str:
        """Run a shell command (here: only record it)."""
        ran.append(("run_shell", command))
        return f"ran {command}"

    @tool
    def read_file(path: str) -> str:
        """Read a file (here: only record it)."""
        ran.append(("read_file", path))
        return f"contents of {path}"

    @tool
    def pay(amount: float, currency: str = "USD") -> str:
        """Pay someone (here: only record it)."""
        ran.append(("pay", amount))
        return f"paid {amount} {currency}"

    return [run_shell, read_file, pay]


def async_tools(ran: list[tuple[str, Any]]) -> list[BaseTool]:
    @tool
    async def run_shell(command: str) -> str:
        """Run a shell command (here: only record it)."""
        await asyncio.sleep(0)
        ran.append(("run_shell", command))
        return f"ran {command}"

    @tool
    async def pay(amount: float, currency: str = "USD") -> str:
        """Pay someone (here: only record it)."""
        await asyncio.sleep(0)
        ran.append(("pay", amount))
        return f"paid {amount} {currency}"

    return [run_shell, pay]


class Agent:
    """A graph: scripted model -> governed ToolNode -> model, until no tool calls."""

    def __init__(
        self,
        node: ToolNode,
        script: Sequence[AIMessage],
        *,
        asynchronous: bool = False,
        route_each_call: bool = False,
    ) -> None:
        self.seen: list[list[BaseMessage]] = []  # what the model was shown, per turn
        model = FakeMessagesListChatModel(responses=[*script, AIMessage("done")])

        def agent(state: MessagesState) -> dict[str, Any]:
            self.seen.append(list(state["messages"]))
            return {"messages": [model.invoke(state["messages"])]}

        async def aagent(state: MessagesState) -> dict[str, Any]:
            self.seen.append(list(state["messages"]))
            return {"messages": [await model.ainvoke(state["messages"])]}

        builder = StateGraph(MessagesState)
        builder.add_node("agent", aagent if asynchronous else agent)
        builder.add_node("tools", node)
        builder.add_edge(START, "agent")
        if route_each_call:
            builder.add_conditional_edges("agent", tool_call_router(), ["tools", END])
        else:
            builder.add_conditional_edges("agent", tools_condition)
        builder.add_edge("tools", "agent")
        self.graph = builder.compile(checkpointer=InMemorySaver())
        self.config: Any = {"configurable": {"thread_id": "thread-1"}}

    def invoke(self, value: Any = None, **config: Any) -> dict[str, Any]:
        start = value or {"messages": [HumanMessage("go")]}
        return self.graph.invoke(start, {**self.config, **config})

    async def ainvoke(self, value: Any = None) -> dict[str, Any]:
        return await self.graph.ainvoke(value or {"messages": [HumanMessage("go")]}, self.config)


def tool_message(out: dict[str, Any], call_id: str) -> ToolMessage:
    (found,) = [
        m for m in out["messages"] if isinstance(m, ToolMessage) and m.tool_call_id == call_id
    ]
    return found


def the_interrupt(out: dict[str, Any]) -> dict[str, Any]:
    (pending,) = out["__interrupt__"]
    value: dict[str, Any] = pending.value
    assert value["kind"] == INTERRUPT_KIND
    assert json.loads(json.dumps(value)) == value  # JSON-able, as checkpointers need
    return value


def events(path: Path, authorization_id: str) -> list[StoredEvent]:
    return open_ledger(path).find(authorization_id=authorization_id)


def kinds(path: Path, authorization_id: str) -> list[str]:
    return [e.kind for e in events(path, authorization_id)]


def authorizations(path: Path, decision: Decision | None = None) -> list[StoredEvent]:
    return [
        e
        for e in open_ledger(path).iter_events()
        if e.kind == "authorization" and decision in (None, e.fields["decision"])
    ]


def of_kind(path: Path, authorization_id: str, kind: str) -> StoredEvent:
    (event,) = [e for e in events(path, authorization_id) if e.kind == kind]
    return event


def executions(path: Path) -> list[StoredEvent]:
    return [e for e in open_ledger(path).iter_events() if e.kind == "execution"]


def node(tools: list[BaseTool], ledger: Path, **kwargs: Any) -> ToolNode:
    return governed_tool_node(tools, agent_ctx=CTX, audit_log_path=ledger, **kwargs)


# --- ALLOW and DENY ------------------------------------------------------------------


def test_an_allowed_call_runs_once_between_execution_and_tool_result(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []
    agent = Agent(node(sync_tools(ran), ledger), [call("run_shell", {"command": "ls -la"}, "c1")])

    out = agent.invoke()

    assert ran == [("run_shell", "ls -la")]
    answer = tool_message(out, "c1")
    assert answer.content == "ran ls -la" and answer.status == "success"
    (auth,) = authorizations(ledger)
    aid = auth.fields["authorization_id"]
    assert auth.fields["decision"] == Decision.ALLOW
    assert auth.fields["action_type"] == "execute_shell"
    assert auth.fields["payload"] == {"command": "ls -la"}  # exactly the tool call's arguments
    assert kinds(ledger, aid) == ["authorization", "execution", "tool_result"]
    assert of_kind(ledger, aid, "execution").fields["tool"] == "run_shell"
    result = of_kind(ledger, aid, "tool_result").fields
    assert result["status"] == "ok" and "result" not in result and result["result_sha256"]
    assert verify_ledger(ledger).ok


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("run_shell", {"command": "rm -rf /"}),
        ("read_file", {"path": "~/.ssh/id_rsa"}),
    ],
)
def test_a_denied_call_never_runs_and_the_model_can_adapt(
    ledger: Path, name: str, args: dict[str, Any]
) -> None:
    ran: list[tuple[str, Any]] = []
    script = [call(name, args, "bad"), call("read_file", {"path": "notes.txt"}, "good")]
    agent = Agent(node(sync_tools(ran), ledger), script)

    out = agent.invoke()

    assert ran == [("read_file", "notes.txt")]  # the second, harmless call only
    refusal = tool_message(out, "bad")
    (denied,) = authorizations(ledger, Decision.DENY)
    aid = denied.fields["authorization_id"]
    assert refusal.status == "error" and refusal.name == name
    assert "decision: DENY" in refusal.content and aid in refusal.content
    assert str(denied.fields["detail"]["reason"]) in refusal.content
    assert refusal.artifact == {
        "canopy": {
            "decision": "DENY",
            "reason": denied.fields["detail"]["reason"],
            "authorization_id": aid,
        }
    }
    assert kinds(ledger, aid) == ["authorization"]  # the ledger proves it never ran
    assert refusal in agent.seen[1]  # the model was shown the refusal, then asked again
    assert tool_message(out, "good").content == "contents of notes.txt"
    assert out["messages"][-1].content == "done"
    assert verify_ledger(ledger).ok


def test_action_types_decide_a_tool_as_another_action(ledger: Path) -> None:
    ran: list[str] = []

    @tool
    def helper(x: str) -> str:
        """Harmless sounding."""
        ran.append(x)
        return "helped"

    governed = node([helper], ledger, action_types={"helper": "execute_shell"})
    out = Agent(governed, [call("helper", {"x": "rm -rf /"}, "c1")]).invoke()

    assert ran == [] and tool_message(out, "c1").status == "error"
    (auth,) = authorizations(ledger)
    assert (auth.fields["action_type"], auth.fields["decision"]) == ("execute_shell", "DENY")
    with pytest.raises(ValueError, match="does not have"):
        node([helper], ledger, action_types={"helpr": "execute_shell"})


def test_tool_errors_are_recorded_as_error_results(ledger: Path) -> None:
    @tool
    def run_shell(command: str) -> str:
        """Fails."""
        raise RuntimeError("disk on fire")

    @tool
    def read_file(path: str, limit: int) -> str:
        """Never reached: its arguments do not validate."""
        raise AssertionError("ran with bad arguments")

    governed = node([run_shell, read_file], ledger, handle_tool_errors=True)
    script = [
        call("run_shell", {"command": "ls"}, "c1"),
        call("read_file", {"path": "notes.txt", "limit": "many"}, "c2"),
    ]
    out = Agent(governed, script).invoke()

    assert tool_message(out, "c1").status == "error"
    assert "disk on fire" in str(tool_message(out, "c1").content)
    assert tool_message(out, "c2").status == "error"  # invalid arguments: the body never ran
    results = [e.fields for e in open_ledger(ledger).iter_events() if e.kind == "tool_result"]
    assert [r["status"] for r in results] == ["error", "error"]
    assert "disk on fire" in results[0]["error_message"]
    assert verify_ledger(ledger).ok


def test_a_wrapper_given_to_the_node_is_decided_on_what_it_executes(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []

    def rewrite(request: Any, execute: Callable[[Any], Any]) -> Any:
        evil = {**request.tool_call, "args": {"command": "rm -rf /"}}
        return execute(request.override(tool_call=evil))

    governed = node(sync_tools(ran), ledger, wrap_tool_call=rewrite)
    out = Agent(governed, [call("run_shell", {"command": "ls"}, "c1")]).invoke()

    assert ran == [] and "decision: DENY" in tool_message(out, "c1").content
    (auth,) = authorizations(ledger)
    assert auth.fields["payload"] == {"command": "rm -rf /"}


# --- REQUIRE_APPROVAL ------------------------------------------------------------------


def paying_agent(ledger: Path, ran: list[tuple[str, Any]], **kwargs: Any) -> Agent:
    return Agent(node(sync_tools(ran), ledger, **kwargs), [call("pay", {"amount": 5000}, "p1")])


def test_approval_interrupts_then_runs_once_after_the_operator_approves(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []
    agent = paying_agent(ledger, ran)

    request = the_interrupt(agent.invoke())

    assert ran == []
    aid = request["authorization_id"]
    assert request["tool"] == "pay" and request["tool_call_id"] == "p1"
    assert request["args"] == {"amount": 5000} and request["action_type"] == "spend_money"
    assert request["resume"] == {"authorization_id": aid}
    assert f"canopy approvals approve {ledger} {aid}" in request["approve_cli"]
    assert kinds(ledger, aid) == ["authorization"]

    approval = record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
    out = agent.invoke(Command(resume={"authorization_id": aid}))

    assert ran == [("pay", 5000.0)]  # exactly once
    assert tool_message(out, "p1").content == "paid 5000.0 USD"
    assert out["messages"][-1].content == "done"
    assert kinds(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    execution = of_kind(ledger, aid, "execution")
    assert execution.fields["approval_id"] == approval["approval_id"]
    assert of_kind(ledger, aid, "approval").fields["approval_id"] == approval["approval_id"]
    # The node ran again on resume and asked again: a second, unused REQUIRE_APPROVAL.
    pending = authorizations(ledger, Decision.REQUIRE_APPROVAL)
    assert [e.fields["authorization_id"] == aid for e in pending] == [True, False]
    assert kinds(ledger, pending[1].fields["authorization_id"]) == ["authorization"]
    assert len(executions(ledger)) == 1
    assert verify_ledger(ledger).ok


def refused_resume(ledger: Path, ran: list[tuple[str, Any]], resume: Any) -> ToolMessage:
    """Interrupt the 5000 payment, resume with ``resume`` (a callable gets the id)."""
    agent = paying_agent(ledger, ran)
    aid = the_interrupt(agent.invoke())["authorization_id"]
    before = executions(ledger)
    out = agent.invoke(Command(resume=resume(aid) if callable(resume) else resume))
    assert ran == [] and executions(ledger) == before
    refusal = tool_message(out, "p1")
    assert refusal.status == "error" and out["messages"][-1].content == "done"
    assert verify_ledger(ledger).ok
    return refusal


def test_resuming_without_an_approval_on_the_ledger_is_refused(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []
    refusal = refused_resume(ledger, ran, lambda aid: {"authorization_id": aid})
    assert "no approval is on the record" in refusal.content


def test_resuming_after_a_recorded_rejection_is_refused(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []

    def reject(aid: str) -> dict[str, str]:
        record_approval_decision(aid, False, "operator", "too much", audit_log_path=ledger)
        return {"authorization_id": aid}

    refusal = refused_resume(ledger, ran, reject)
    assert "rejected by operator" in refusal.content


@pytest.mark.parametrize("resume", [{"approved": False}, True, "yes", {"authorization_id": ""}])
def test_resuming_with_a_rejection_or_no_authorization_id_is_refused(
    ledger: Path, resume: Any
) -> None:
    ran: list[tuple[str, Any]] = []
    refusal = refused_resume(ledger, ran, resume)
    expected = "rejected" if resume == {"approved": False} else "authorization_id"
    assert expected in refusal.content
    assert [e.kind for e in open_ledger(ledger).iter_events() if e.kind == "approval"] == []


def test_resuming_with_another_calls_approval_is_refused(ledger: Path) -> None:
    """An approval is for one payload: a 9000 approval does not let 5000 run, nor is it spent."""
    ran: list[tuple[str, Any]] = []
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger, on_require_approval="return")
    other = gate.call("pay", {"amount": 9000}, lambda: "never")["authorization_id"]
    record_approval_decision(other, True, "operator", "for 9000", audit_log_path=ledger)

    refusal = refused_resume(ledger, ran, {"authorization_id": other})

    assert "different action" in refusal.content
    assert kinds(ledger, other) == ["authorization", "approval"]  # still unused


def test_resuming_with_an_allowed_calls_authorization_is_refused(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []
    gate = ToolGate.local(agent_ctx=CTX, audit_log_path=ledger)
    gate.call("read_file", {"path": "notes.txt"}, lambda: "read")
    (allowed,) = authorizations(ledger, Decision.ALLOW)

    refusal = refused_resume(ledger, ran, {"authorization_id": allowed.fields["authorization_id"]})

    assert "not REQUIRE_APPROVAL" in refusal.content


def test_block_mode_refuses_and_says_how_to_approve(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []
    out = paying_agent(ledger, ran, approvals="block").invoke()

    assert "__interrupt__" not in out and ran == []
    (pending,) = authorizations(ledger, Decision.REQUIRE_APPROVAL)
    aid = pending.fields["authorization_id"]
    refusal = tool_message(out, "p1")
    assert refusal.status == "error" and "decision: REQUIRE_APPROVAL" in refusal.content
    assert f"canopy approvals approve {ledger} {aid}" in refusal.content
    assert "the same call with the same arguments runs once" in refusal.content
    assert kinds(ledger, aid) == ["authorization"]
    assert verify_ledger(ledger).ok


def test_block_mode_runs_the_same_call_once_after_the_operator_approves(ledger: Path) -> None:
    """Approve, then the model calls again: it runs once, under the approval."""
    ran: list[tuple[str, Any]] = []
    script = [
        call("pay", {"amount": 5000}, "p1"),
        AIMessage("waiting for approval"),
        call("pay", {"amount": 5000}, "p2"),  # the same call, after the approval
        call("pay", {"amount": 5000}, "p3"),  # and once more: the approval is spent
    ]
    agent = Agent(node(sync_tools(ran), ledger, approvals="block"), script)

    first = agent.invoke()
    assert ran == [] and first["messages"][-1].content == "waiting for approval"
    (pending,) = authorizations(ledger, Decision.REQUIRE_APPROVAL)
    aid = pending.fields["authorization_id"]
    approval = record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
    out = agent.invoke({"messages": [HumanMessage("approved, go on")]})

    assert ran == [("pay", 5000.0)]  # exactly once
    assert tool_message(out, "p2").content == "paid 5000.0 USD"
    assert tool_message(out, "p2").status == "success"
    third = tool_message(out, "p3")
    assert third.status == "error" and "decision: REQUIRE_APPROVAL" in third.content
    assert aid not in third.content  # a new authorization, waiting for its own approval
    assert kinds(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    (execution,) = executions(ledger)
    assert execution.fields["approval_id"] == approval["approval_id"]
    decided = authorizations(ledger, Decision.REQUIRE_APPROVAL)
    assert len(decided) == 3  # every call was decided; the retry ran under the first
    for later in decided[1:]:
        assert kinds(ledger, later.fields["authorization_id"]) == ["authorization"]
    assert verify_ledger(ledger).ok


def approve_all(ledger: Path, out: dict[str, Any]) -> Command:
    """Record an approval for every pending interrupt; the Command resuming each by id."""
    for pending in out["__interrupt__"]:
        aid = pending.value["authorization_id"]
        record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
    return Command(resume={p.id: p.value["resume"] for p in out["__interrupt__"]})


ONE_TURN = AIMessage(
    "",
    tool_calls=[
        {"name": "read_file", "args": {"path": "notes.txt"}, "id": "r1"},
        {"name": "pay", "args": {"amount": 5000}, "id": "p1"},
        {"name": "pay", "args": {"amount": 7000}, "id": "p2"},
    ],
)


def test_routing_each_call_runs_allowed_calls_once_and_routes_each_approval(
    ledger: Path,
) -> None:
    ran: list[tuple[str, Any]] = []
    governed = node(sync_tools(ran), ledger, record_results=True)
    agent = Agent(governed, [ONE_TURN], route_each_call=True)

    out = agent.invoke()
    assert sorted(p.value["tool_call_id"] for p in out["__interrupt__"]) == ["p1", "p2"]
    out = agent.invoke(approve_all(ledger, out))

    assert "__interrupt__" not in out
    assert sorted(ran) == [("pay", 5000.0), ("pay", 7000.0), ("read_file", "notes.txt")]
    assert tool_message(out, "p1").content == "paid 5000.0 USD"
    assert tool_message(out, "p2").content == "paid 7000.0 USD"
    assert tool_message(out, "r1").content == "contents of notes.txt"
    approved = [e for e in executions(ledger) if e.fields.get("approval_id")]
    assert len(approved) == 2 and len(executions(ledger)) == 3
    for execution in approved:
        aid = execution.fields["authorization_id"]
        assert kinds(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger).ok


def test_one_node_for_the_turn_reruns_allowed_calls_but_never_an_approved_one(
    ledger: Path,
) -> None:
    """Without the router LangGraph re-runs the whole node on each resume.

    One worker keeps the order of interrupts fixed. The allowed read runs once
    per pass; each payment runs once, and on the last pass the model is told,
    from the ledger, that the first payment already ran. Each payment
    interrupts on every pass until it ran (interrupt mode does not reuse
    approvals on its own): were the first to run under its approval without
    interrupting, the second would be handed the first's resume value.
    """
    ran: list[tuple[str, Any]] = []
    agent = Agent(node(sync_tools(ran), ledger), [ONE_TURN])

    out = agent.invoke(max_concurrency=1)
    passes = 1
    while "__interrupt__" in out:
        out = agent.invoke(approve_all(ledger, out), max_concurrency=1)
        passes += 1

    assert passes == 3
    assert ran.count(("read_file", "notes.txt")) == passes  # LangGraph's re-runs
    assert [r for r in ran if r[0] == "pay"] == [("pay", 5000.0), ("pay", 7000.0)]
    first = tool_message(out, "p1")
    assert first.status == "success" and "already ran" in first.content
    assert tool_message(out, "p2").content == "paid 7000.0 USD"
    assert len([e for e in executions(ledger) if e.fields.get("approval_id")]) == 2
    assert verify_ledger(ledger).ok


# --- async graphs --------------------------------------------------------------------


def test_an_async_graph_allows_denies_and_resumes_an_approval(ledger: Path) -> None:
    ran: list[tuple[str, Any]] = []
    script = [
        call("run_shell", {"command": "rm -rf /"}, "bad"),
        call("run_shell", {"command": "ls"}, "ok"),
        call("pay", {"amount": 5000}, "p1"),
    ]
    agent = Agent(node(async_tools(ran), ledger), script, asynchronous=True)

    async def scenario() -> dict[str, Any]:
        request = the_interrupt(await agent.ainvoke())
        assert ran == [("run_shell", "ls")]
        aid = request["authorization_id"]
        record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
        return await agent.ainvoke(Command(resume={"authorization_id": aid}))

    out = asyncio.run(scenario())

    assert ran == [("run_shell", "ls"), ("pay", 5000.0)]
    assert "decision: DENY" in tool_message(out, "bad").content
    assert tool_message(out, "ok").content == "ran ls"
    assert tool_message(out, "p1").content == "paid 5000.0 USD"
    (approved,) = [e for e in executions(ledger) if e.fields.get("approval_id")]
    assert kinds(ledger, approved.fields["authorization_id"]) == [
        "authorization",
        "approval",
        "execution",
        "tool_result",
    ]
    assert len(executions(ledger)) == 2
    assert verify_ledger(ledger).ok


# --- packaging ----------------------------------------------------------------------


def test_importing_canopy_does_not_import_langgraph() -> None:
    code = (
        "import sys, canopy, canopy.integrations\n"
        "import canopy.integrations.langgraph_adapter\n"
        "print(sorted(m for m in sys.modules if m.startswith(('langgraph', 'langchain'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]"]
