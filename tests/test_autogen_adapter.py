"""AutoGen tools and workbenches under Canopy: a real AssistantAgent, a real ledger.

The model is AutoGen's ReplayChatCompletionClient scripted with function calls,
so nothing reaches the network. Every tool body only records that it ran and
returns a string: ``rm -rf /`` is data here, never handed to a shell.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.messages import TextMessage, ToolCallExecutionEvent
from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import (
    CreateResult,
    FunctionExecutionResult,
    ModelFamily,
    ModelInfo,
    RequestUsage,
)
from autogen_core.tools import BaseTool, FunctionTool, StaticWorkbench
from autogen_ext.models.replay import ReplayChatCompletionClient
from pydantic import BaseModel

from canopy import CanopyPermissionError, Decision, record_approval_decision
from canopy.authorize import open_ledger
from canopy.integrations.autogen_adapter import (
    CanopyRefusal,
    GovernedTool,
    GovernedWorkbench,
    govern_autogen_tool,
    govern_autogen_workbench,
    governed_tools,
)
from canopy.ledger.verify import verify_ledger

CTX = {"public_key": "pk-autogen-tests", "created_at": "2026-01-01T00:00:00Z", "trace_id": "t-ag"}
MODEL_INFO = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)


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


# --- harmless tools ---------------------------------------------------------------


class Ran:
    """What the tool bodies were called with, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def of(self, tool: str) -> list[dict[str, Any]]:
        return [args for name, args in self.calls if name == tool]


def toolbox(ran: Ran) -> dict[str, Callable[..., Any]]:
    def run_shell(script: str) -> str:
        """Run a shell script (recorded only)."""
        ran.calls.append(("run_shell", {"script": script}))
        return f"ran {script!r}"

    async def fetch_url(url: str) -> str:
        """Fetch a URL (recorded only)."""
        ran.calls.append(("fetch_url", {"url": url}))
        return "<html>"

    def read_file(path: str) -> str:
        """Read a file (recorded only)."""
        ran.calls.append(("read_file", {"path": path}))
        return "contents"

    async def pay(amount: float, currency: str) -> str:
        """Pay someone (recorded only)."""
        ran.calls.append(("pay", {"amount": amount, "currency": currency}))
        return "paid"

    async def search_docs(query: str, cancellation_token: CancellationToken, limit: int = 3) -> str:
        """Search the docs (recorded only)."""
        ran.calls.append(("search_docs", {"query": query, "limit": limit}))
        assert isinstance(cancellation_token, CancellationToken)
        return f"{limit} hits"

    def flaky(x: int) -> str:
        """Fails (recorded only)."""
        ran.calls.append(("flaky", {"x": x}))
        raise RuntimeError("upstream down")

    return {f.__name__: f for f in (run_shell, fetch_url, read_file, pay, search_docs, flaky)}


def call(call_id: str, name: str, **arguments: Any) -> FunctionCall:
    return FunctionCall(id=call_id, name=name, arguments=json.dumps(arguments))


def model_calling(*turns: Sequence[FunctionCall]) -> ReplayChatCompletionClient:
    """A model whose every turn asks for these function calls."""
    return ReplayChatCompletionClient(
        [
            CreateResult(
                finish_reason="function_calls",
                content=list(calls),
                usage=RequestUsage(prompt_tokens=0, completion_tokens=0),
                cached=False,
            )
            for calls in turns
        ],
        model_info=MODEL_INFO,
    )


def agent_with(tools: Sequence[Any], *calls: FunctionCall, **kwargs: Any) -> AssistantAgent:
    return AssistantAgent("assistant", model_client=model_calling(calls), tools=tools, **kwargs)


def executions(result: TaskResult) -> list[FunctionExecutionResult]:
    return [r for m in result.messages if isinstance(m, ToolCallExecutionEvent) for r in m.content]


def run_agent(agent: AssistantAgent) -> list[FunctionExecutionResult]:
    return executions(asyncio.run(agent.run(task="do it")))


def kinds_of(path: Path, authorization_id: str) -> list[str]:
    return [e.kind for e in open_ledger(path).find(authorization_id=authorization_id)]


def authorizations(path: Path) -> list[dict[str, Any]]:
    return [e.fields for e in open_ledger(path).iter_events() if e.kind == "authorization"]


def all_kinds(path: Path) -> list[str]:
    """Every event about a tool call (the ledger also records policy activations)."""
    calls = {"authorization", "approval", "execution", "tool_result"}
    return [e.kind for e in open_ledger(path).iter_events() if e.kind in calls]


def governed(ran: Ran, ledger: Path, **kwargs: Any) -> list[GovernedTool]:
    return governed_tools(
        list(toolbox(ran).values()), agent_ctx=CTX, audit_log_path=ledger, **kwargs
    )


# --- the agent loop -----------------------------------------------------------------


def test_allowed_call_runs_once_with_evidence(ledger: Path) -> None:
    ran = Ran()
    agent = agent_with(governed(ran, ledger), call("c1", "run_shell", script="ls -la"))

    (result,) = run_agent(agent)

    assert ran.calls == [("run_shell", {"script": "ls -la"})]
    assert (result.call_id, result.is_error, result.content) == ("c1", False, "ran 'ls -la'")
    (auth,) = authorizations(ledger)
    assert auth["decision"] == Decision.ALLOW
    assert auth["action_type"] == "execute_shell"  # the tool's name, normalised
    assert auth["payload"] == {"script": "ls -la"}
    aid = auth["authorization_id"]
    assert kinds_of(ledger, aid) == ["authorization", "execution", "tool_result"]
    (execution, tool_result) = open_ledger(ledger).find(authorization_id=aid)[1:]
    assert execution.fields["tool"] == "run_shell"
    assert tool_result.fields["status"] == "ok"
    assert verify_ledger(ledger).ok


def test_the_payload_is_the_validated_arguments(ledger: Path) -> None:
    """Defaults applied, keys the model invented dropped, the token left out."""
    ran = Ran()
    agent = agent_with(
        governed(ran, ledger),
        call("c1", "search_docs", query="retention policy", note="rm -rf /"),
    )

    (result,) = run_agent(agent)

    assert result.content == "3 hits" and not result.is_error
    assert ran.of("search_docs") == [{"query": "retention policy", "limit": 3}]
    (auth,) = authorizations(ledger)
    assert auth["payload"] == {"query": "retention policy", "limit": 3}
    assert verify_ledger(ledger).ok


@pytest.mark.parametrize(
    ("tool", "arguments", "reason"),
    [
        ("run_shell", {"script": "rm -rf /"}, "deletes /"),
        ("fetch_url", {"url": "http://169.254.169.254/latest/meta-data/"}, "169.254.169.254"),
        ("read_file", {"path": "~/.ssh/id_rsa"}, "credential"),
    ],
)
def test_denied_calls_never_run_and_the_agent_reads_why(
    ledger: Path, tool: str, arguments: dict[str, str], reason: str
) -> None:
    ran = Ran()
    agent = agent_with(governed(ran, ledger), call("c1", tool, **arguments))

    (result,) = run_agent(agent)

    assert ran.calls == []
    (auth,) = authorizations(ledger)
    assert auth["decision"] == Decision.DENY and auth["payload"] == arguments
    aid = auth["authorization_id"]
    assert not result.is_error  # a refusal the conversation carries on from
    assert result.content.startswith(f"Canopy blocked this call to {tool}; the tool did not run.")
    assert "decision: DENY" in result.content
    assert reason in result.content
    assert f"authorization_id: {aid}" in result.content
    assert all_kinds(ledger) == ["authorization"]  # the ledger proves it never ran
    assert verify_ledger(ledger).ok


def test_one_turn_with_an_allowed_and_a_denied_call(ledger: Path) -> None:
    ran = Ran()
    agent = agent_with(
        governed(ran, ledger),
        call("ok", "read_file", path="notes.txt"),
        call("bad", "run_shell", script="rm -rf /"),
    )

    results = {r.call_id: r for r in run_agent(agent)}

    assert ran.calls == [("read_file", {"path": "notes.txt"})]
    assert results["ok"].content == "contents"
    assert "decision: DENY" in results["bad"].content
    by_tool = {a["payload"].get("path", "shell"): a for a in authorizations(ledger)}
    assert kinds_of(ledger, by_tool["notes.txt"]["authorization_id"]) == [
        "authorization",
        "execution",
        "tool_result",
    ]
    assert kinds_of(ledger, by_tool["shell"]["authorization_id"]) == ["authorization"]
    assert verify_ledger(ledger).ok


def test_require_approval_blocks_with_a_working_approval_hint(ledger: Path) -> None:
    ran = Ran()
    tools = governed(ran, ledger)
    agent = agent_with(tools, call("c1", "pay", amount=5000, currency="USD"))

    (result,) = run_agent(agent)

    assert ran.calls == []
    (auth,) = authorizations(ledger)
    assert auth["decision"] == Decision.REQUIRE_APPROVAL
    aid = auth["authorization_id"]
    assert kinds_of(ledger, aid) == ["authorization"]
    assert "decision: REQUIRE_APPROVAL" in result.content
    assert f"authorization_id: {aid}" in result.content
    assert not result.is_error

    # The hint is a command an operator can run as written.
    hint = result.content.split("`")[1]
    assert hint == f"canopy approvals approve {ledger} {aid} --approver NAME"
    assert "the same call with the same arguments runs once" in result.content
    argv = shlex.split(hint.replace("NAME", "operator"))
    canopy_cli = shutil.which("canopy", path=str(Path(sys.executable).parent))
    assert canopy_cli is not None
    done = subprocess.run(
        [canopy_cli, *argv[1:]], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert kinds_of(ledger, aid) == ["authorization", "approval"]

    # Code holding the authorization id runs the approved call, once, with those arguments.
    pay = next(t for t in tools if t.name == "pay")
    with pytest.raises(CanopyPermissionError, match="different action"):
        asyncio.run(pay.run_approved(aid, {"amount": 9000, "currency": "USD"}))
    assert asyncio.run(pay.run_approved(aid, {"amount": 5000, "currency": "USD"})) == "paid"
    with pytest.raises(CanopyPermissionError, match="already used"):
        asyncio.run(pay.run_approved(aid, {"amount": 5000, "currency": "USD"}))
    assert ran.of("pay") == [{"amount": 5000.0, "currency": "USD"}]
    assert kinds_of(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger).ok


def test_the_same_call_runs_once_after_the_operator_approves(ledger: Path) -> None:
    ran = Ran()
    pay = govern_autogen_tool(toolbox(ran)["pay"], agent_ctx=CTX, audit_log_path=ledger)
    arguments = {"amount": 5000, "currency": "USD"}
    token = CancellationToken()

    refusal = asyncio.run(pay.run_json(arguments, token, call_id="c1"))
    assert isinstance(refusal, CanopyRefusal)
    aid = refusal.decision["authorization_id"]
    still = asyncio.run(pay.run_json(arguments, token, call_id="c2"))  # not approved yet
    assert isinstance(still, CanopyRefusal) and ran.calls == []
    approval = record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)

    other = asyncio.run(pay.run_json({"amount": 9000, "currency": "USD"}, token))
    assert isinstance(other, CanopyRefusal)  # the approval is for 5000 only
    assert asyncio.run(pay.run_json(arguments, token, call_id="c3")) == "paid"
    spent = asyncio.run(pay.run_json(arguments, token, call_id="c4"))
    assert isinstance(spent, CanopyRefusal)
    assert spent.decision["decision"] == Decision.REQUIRE_APPROVAL
    assert spent.decision["authorization_id"] != aid

    assert ran.of("pay") == [{"amount": 5000.0, "currency": "USD"}]  # exactly once
    assert kinds_of(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    (execution,) = [e for e in open_ledger(ledger).iter_events() if e.kind == "execution"]
    assert execution.fields["approval_id"] == approval["approval_id"]
    assert [a["decision"] for a in authorizations(ledger)] == ["REQUIRE_APPROVAL"] * 5
    assert verify_ledger(ledger).ok


def test_an_approval_callback_lets_the_call_run_in_the_loop(ledger: Path) -> None:
    ran = Ran()
    asked: list[str] = []

    def approve(decision: Any, **context: Any) -> bool:
        asked.append(context["tool"])
        record_approval_decision(
            decision["authorization_id"], True, "operator", "ok", audit_log_path=ledger
        )
        return True

    tools = governed(ran, ledger, approval_callback=approve)
    (result,) = run_agent(agent_with(tools, call("c1", "pay", amount=5000, currency="USD")))

    assert result.content == "paid" and asked == ["pay"]
    (auth,) = authorizations(ledger)
    aid = auth["authorization_id"]
    assert kinds_of(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger).ok


def test_a_refused_approval_is_a_refusal(ledger: Path) -> None:
    ran = Ran()
    tools = governed(ran, ledger, approval_callback=lambda decision, **context: False)
    (result,) = run_agent(agent_with(tools, call("c1", "pay", amount=5000, currency="USD")))

    assert ran.calls == [] and not result.is_error
    assert "decision: REQUIRE_APPROVAL" in result.content
    assert "why it did not run: pay not run: approval refused" in result.content
    assert all_kinds(ledger) == ["authorization"]


def test_on_block_raise_gives_an_error_result(ledger: Path) -> None:
    ran = Ran()
    agent = agent_with(
        governed(ran, ledger, on_block="raise"),
        call("c1", "run_shell", script="rm -rf /"),
        call("c2", "pay", amount=5000, currency="USD"),
    )

    results = {r.call_id: r for r in run_agent(agent)}

    assert ran.calls == []
    assert results["c1"].is_error and "Canopy denied run_shell" in results["c1"].content
    assert results["c2"].is_error and "requires approval" in results["c2"].content
    assert all_kinds(ledger) == ["authorization", "authorization"]
    assert verify_ledger(ledger).ok


def test_a_failing_tool_is_recorded_as_an_error(ledger: Path) -> None:
    ran = Ran()
    (result,) = run_agent(agent_with(governed(ran, ledger), call("c1", "flaky", x=1)))

    assert result.is_error and "upstream down" in result.content
    assert ran.of("flaky") == [{"x": 1}]
    (tool_result,) = [e for e in open_ledger(ledger).iter_events() if e.kind == "tool_result"]
    assert tool_result.fields["status"] == "error"
    assert tool_result.fields["error_type"] == "RuntimeError"
    assert verify_ledger(ledger).ok


def test_a_permission_error_from_inside_the_tool_is_not_a_refusal(ledger: Path) -> None:
    async def nested(x: int) -> str:
        raise CanopyPermissionError("an inner guard said no")

    tool = govern_autogen_tool(nested, agent_ctx=CTX, audit_log_path=ledger)
    (result,) = run_agent(agent_with([tool], call("c1", "nested", x=1)))

    assert result.is_error and "an inner guard said no" in result.content
    assert "Canopy blocked" not in result.content
    assert all_kinds(ledger) == ["authorization", "execution", "tool_result"]


def test_on_messages(ledger: Path) -> None:
    ran = Ran()
    agent = agent_with(governed(ran, ledger), call("c1", "fetch_url", url="https://example.com"))

    response = asyncio.run(
        agent.on_messages([TextMessage(content="fetch", source="user")], CancellationToken())
    )

    (event,) = [m for m in response.inner_messages or [] if isinstance(m, ToolCallExecutionEvent)]
    assert event.content[0].content == "<html>"
    assert ran.of("fetch_url") == [{"url": "https://example.com"}]
    assert all_kinds(ledger) == ["authorization", "execution", "tool_result"]


# --- the tool object ------------------------------------------------------------------


def test_direct_run_json_and_run(ledger: Path) -> None:
    ran = Ran()
    shell = govern_autogen_tool(toolbox(ran)["run_shell"], agent_ctx=CTX, audit_log_path=ledger)
    token = CancellationToken()

    assert asyncio.run(shell.run_json({"script": "echo hi"}, token, call_id="x")) == "ran 'echo hi'"
    refusal = asyncio.run(shell.run_json({"script": "rm -rf /"}, token))
    assert isinstance(refusal, CanopyRefusal)
    assert refusal.decision["decision"] == Decision.DENY
    assert shell.return_value_as_string(refusal) == str(refusal)
    model = shell.args_type().model_validate({"script": "pwd"})
    assert asyncio.run(shell.run(model, token)) == "ran 'pwd'"
    assert ran.of("run_shell") == [{"script": "echo hi"}, {"script": "pwd"}]

    class Other(BaseModel):
        script: str

    with pytest.raises(TypeError, match="takes run_shellargs arguments"):
        asyncio.run(shell.run(Other(script="pwd"), token))

    strict = govern_autogen_tool(
        toolbox(ran)["run_shell"], agent_ctx=CTX, audit_log_path=ledger, on_block="raise"
    )
    with pytest.raises(CanopyPermissionError, match="denied") as excinfo:
        asyncio.run(strict.run_json({"script": "rm -rf /"}, token))
    aid = excinfo.value.decision["authorization_id"]
    assert kinds_of(ledger, aid) == ["authorization"]
    assert ran.of("run_shell") == [{"script": "echo hi"}, {"script": "pwd"}]
    assert [a["decision"] for a in authorizations(ledger)] == ["ALLOW", "DENY", "ALLOW", "DENY"]
    assert verify_ledger(ledger).ok


def test_record_results_keeps_what_the_agent_was_given(ledger: Path) -> None:
    ran = Ran()
    tools = governed(ran, ledger, record_results=True)
    bench = workbench_of(ran, ledger, record_results=True)
    run_agent(agent_with(tools, call("c1", "read_file", path="notes.txt")))
    asyncio.run(bench.call_tool("fetch_url", {"url": "https://example.com"}))

    results = [e.fields for e in open_ledger(ledger).iter_events() if e.kind == "tool_result"]
    assert [(r["tool"], r["result"]) for r in results] == [
        ("read_file", "contents"),
        ("fetch_url", "<html>"),
    ]


def test_the_governed_tool_looks_like_the_original(ledger: Path) -> None:
    ran = Ran()
    original = FunctionTool(toolbox(ran)["search_docs"], description="Search.", strict=False)
    tool = govern_autogen_tool(original, agent_ctx=CTX, audit_log_path=ledger)
    assert isinstance(tool, BaseTool) and tool.tool is original
    assert (tool.name, tool.description) == (original.name, original.description)
    assert tool.schema == original.schema
    assert "cancellation_token" not in tool.schema["parameters"]["properties"]
    assert tool.args_type() is original.args_type()

    from_function = govern_autogen_tool(toolbox(ran)["pay"], agent_ctx=CTX)
    assert from_function.name == "pay"
    assert from_function.description == "Pay someone (recorded only)."
    assert not ledger.exists()  # wrapping decides nothing


def test_fixed_action_type(ledger: Path) -> None:
    ran = Ran()
    helper = FunctionTool(toolbox(ran)["read_file"], description="x", name="harmless_helper")
    tool = govern_autogen_tool(
        helper, agent_ctx=CTX, audit_log_path=ledger, action_type="execute_shell"
    )
    refusal = asyncio.run(tool.run_json({"path": "rm -rf /"}, CancellationToken()))
    assert isinstance(refusal, CanopyRefusal) and "decision: DENY" in refusal
    assert authorizations(ledger)[0]["action_type"] == "execute_shell"
    assert ran.calls == []


def test_what_cannot_be_governed(ledger: Path) -> None:
    ran = Ran()
    tool = govern_autogen_tool(toolbox(ran)["run_shell"], agent_ctx=CTX)
    with pytest.raises(TypeError, match="already governed"):
        govern_autogen_tool(tool, agent_ctx=CTX)
    with pytest.raises(TypeError, match="BaseTool or a callable"):
        govern_autogen_tool("run_shell", agent_ctx=CTX)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'sometimes'"):
        govern_autogen_tool(toolbox(ran)["pay"], agent_ctx=CTX, on_block="sometimes")

    class OwnRunJson(FunctionTool):
        async def run_json(
            self, args: Any, cancellation_token: CancellationToken, call_id: str | None = None
        ) -> Any:
            return "bypassed"

    with pytest.raises(TypeError, match="overrides run_json"):
        govern_autogen_tool(OwnRunJson(toolbox(ran)["pay"], description="x"), agent_ctx=CTX)
    with pytest.raises(TypeError, match="Workbench"):
        govern_autogen_workbench([tool], agent_ctx=CTX)  # type: ignore[arg-type]
    assert not ledger.exists()


# --- workbenches -----------------------------------------------------------------------


def workbench_of(ran: Ran, ledger: Path, **kwargs: Any) -> GovernedWorkbench:
    tools = [FunctionTool(f, description=f.__doc__ or "") for f in toolbox(ran).values()]
    return govern_autogen_workbench(
        StaticWorkbench(tools), agent_ctx=CTX, audit_log_path=ledger, **kwargs
    )


def test_a_governed_workbench_in_the_agent_loop(ledger: Path) -> None:
    ran = Ran()
    calls = (
        call("ok", "fetch_url", url="https://example.com"),
        call("ssrf", "fetch_url", url="http://169.254.169.254/"),
        call("pay", "pay", amount=5000, currency="USD"),
        call("err", "flaky", x=2),
    )
    agent = AssistantAgent(
        "assistant", model_client=model_calling(calls), workbench=workbench_of(ran, ledger)
    )

    results = {r.call_id: r for r in run_agent(agent)}

    assert ran.calls == [("fetch_url", {"url": "https://example.com"}), ("flaky", {"x": 2})]
    assert (results["ok"].content, results["ok"].is_error) == ("<html>", False)
    assert "decision: DENY" in results["ssrf"].content and not results["ssrf"].is_error
    assert "canopy approvals approve" in results["pay"].content
    assert results["err"].is_error and "upstream down" in results["err"].content
    decided = {a["payload"].get("url", a["action_type"]): a for a in authorizations(ledger)}
    ok_id = decided["https://example.com"]["authorization_id"]
    assert kinds_of(ledger, ok_id) == ["authorization", "execution", "tool_result"]
    assert kinds_of(ledger, decided["http://169.254.169.254/"]["authorization_id"]) == [
        "authorization"
    ]
    assert kinds_of(ledger, decided["spend_money"]["authorization_id"]) == ["authorization"]
    statuses = [
        e.fields["status"] for e in open_ledger(ledger).iter_events() if e.kind == "tool_result"
    ]
    assert sorted(statuses) == ["error", "ok"]
    assert verify_ledger(ledger).ok


def test_a_governed_workbench_raise_mode_and_its_surface(ledger: Path) -> None:
    ran = Ran()
    bench = workbench_of(ran, ledger, on_block="raise")

    async def use() -> Any:
        async with bench:
            names = [t["name"] for t in await bench.list_tools()]
            blocked = await bench.call_tool("run_shell", {"script": "rm -rf /"})
            allowed = await bench.call_tool("run_shell", {"script": "ls"})
            return names, blocked, allowed, await bench.save_state()

    names, blocked, allowed, state = asyncio.run(use())

    assert names == list(toolbox(ran))
    assert blocked.is_error and "decision: DENY" in blocked.to_text()
    assert not allowed.is_error and allowed.to_text() == "ran 'ls'"
    assert ran.calls == [("run_shell", {"script": "ls"})]
    assert state["type"] == "StaticWorkbenchState"
    assert verify_ledger(ledger).ok


def test_importing_canopy_does_not_import_autogen() -> None:
    code = (
        "import sys, canopy, canopy.integrations\n"
        "from canopy.integrations import ToolGate\n"
        "print(sorted(m for m in sys.modules if m.startswith('autogen')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
