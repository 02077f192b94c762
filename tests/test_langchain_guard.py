"""``@safe_tool`` stacked on LangChain tools: real langchain-core, a real ledger.

Tool bodies are harmless: they record the call and return a string.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.messages import ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool, Tool, tool

from canopy import CanopyPermissionError, Decision, record_approval_decision, safe_tool
from canopy.authorize import open_ledger
from canopy.integrations.guards import execute_approved
from canopy.ledger.store import StoredEvent
from canopy.ledger.verify import verify_ledger

CTX = {"public_key": "pk-lc-tests", "created_at": "2026-01-01T00:00:00Z", "trace_id": "trace-lc"}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "audit.log"
    monkeypatch.setenv("CANOPY_AUDIT_LOG_PATH", str(path))
    for name in ("CANOPY_POLICY_FILE", "CANOPY_MODE", "CANOPY_APPROVAL_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    return path


def authorizations(path: Path) -> list[StoredEvent]:
    return [e for e in open_ledger(path).iter_events() if e.kind == "authorization"]


def linked_kinds(path: Path, authorization_id: str) -> list[str]:
    return [e.kind for e in open_ledger(path).find(authorization_id=authorization_id)]


RAN: list[Any] = []


@pytest.fixture
def ran() -> list[Any]:
    RAN.clear()
    return RAN


def seed_example() -> Any:
    """The seed README's example, decorators verbatim (body made harmless)."""

    @safe_tool(
        action_type="execute_shell",
        agent_ctx={
            "public_key": "pk-your-agent",
            "created_at": "2026-01-01T00:00:00Z",
            "trace_id": "deploy-trace-1",
        },
    )
    @tool
    def run_shell(command: str) -> str:
        """Run a shell command."""
        RAN.append(command)
        return f"would run: {command}"

    return run_shell


def test_seed_example_invoke(ledger: Path, ran: list[Any]) -> None:
    run_shell = seed_example()
    assert isinstance(run_shell, StructuredTool)
    assert run_shell.name == "run_shell"
    assert run_shell.description == "Run a shell command."
    assert set(run_shell.args) == {"command"}

    assert run_shell.invoke({"command": "echo hi"}) == "would run: echo hi"
    assert ran == ["echo hi"]
    allowed = authorizations(ledger)[-1]
    assert allowed.fields["payload"] == {"command": "echo hi"}
    aid = allowed.fields["authorization_id"]
    assert linked_kinds(ledger, aid) == ["authorization", "execution", "tool_result"]
    for event in open_ledger(ledger).find(authorization_id=aid):
        assert event.fields["trace_id"] == "deploy-trace-1"
    execution = open_ledger(ledger).find(authorization_id=aid, kind="execution")[0]
    assert execution.fields["tool"] == "run_shell"

    with pytest.raises(CanopyPermissionError) as excinfo:
        run_shell.invoke({"command": "rm -rf /"})
    assert ran == ["echo hi"]
    assert excinfo.value.decision["decision"] == Decision.DENY
    assert linked_kinds(ledger, excinfo.value.decision["authorization_id"]) == ["authorization"]
    assert verify_ledger(ledger).ok


def test_seed_example_ainvoke_and_run(ledger: Path, ran: list[Any]) -> None:
    run_shell = seed_example()
    assert asyncio.run(run_shell.ainvoke({"command": "echo hi"})) == "would run: echo hi"
    assert run_shell.run("echo there") == "would run: echo there"
    with pytest.raises(CanopyPermissionError):
        asyncio.run(run_shell.ainvoke({"command": "rm -rf /"}))
    with pytest.raises(CanopyPermissionError):
        run_shell.run("rm -rf /")
    assert ran == ["echo hi", "echo there"]


def test_tool_calls_get_tool_messages(ledger: Path, ran: list[Any]) -> None:
    run_shell = seed_example()
    call = {"type": "tool_call", "id": "call-1", "name": "run_shell", "args": {"command": "ls"}}
    message = run_shell.invoke(call)
    assert isinstance(message, ToolMessage)
    assert message.content == "would run: ls"
    bad = {**call, "args": {"command": "rm -rf /"}}
    with pytest.raises(CanopyPermissionError):
        run_shell.invoke(bad)
    assert ran == ["ls"]


def test_langchain_tools_import_path_if_installed(ledger: Path, ran: list[Any]) -> None:
    lc_tool = pytest.importorskip("langchain.tools").tool

    @safe_tool(action_type="execute_shell", agent_ctx=CTX)
    @lc_tool
    def run_shell(command: str) -> str:
        """Run a shell command."""
        RAN.append(command)
        return command

    with pytest.raises(CanopyPermissionError):
        run_shell.invoke({"command": "rm -rf /"})
    assert ran == []


def test_the_original_tool_is_left_alone(ledger: Path, ran: list[Any]) -> None:
    @tool
    def run_shell(command: str) -> str:
        """Run a shell command."""
        RAN.append(command)
        return command

    guarded = safe_tool(action_type="execute_shell", agent_ctx=CTX)(run_shell)
    assert guarded is not run_shell
    guarded.invoke({"command": "echo guarded"})
    run_shell.invoke({"command": "echo unguarded"})  # not ours to govern any more
    assert [e.fields["payload"] for e in authorizations(ledger)] == [{"command": "echo guarded"}]


def test_parameter_names_do_not_matter(ledger: Path, ran: list[Any]) -> None:
    @safe_tool(action_type="execute_shell", agent_ctx=CTX)
    @tool
    def run(c: str, cwd: str = "/srv") -> str:
        """Run c."""
        RAN.append(c)
        return c

    with pytest.raises(CanopyPermissionError):
        run.invoke({"c": "rm -rf /"})
    with pytest.raises(CanopyPermissionError):
        run.invoke("rm -rf /")
    assert ran == []
    assert authorizations(ledger)[0].fields["payload"] == {"c": "rm -rf /", "cwd": "/srv"}


def test_injected_callbacks_and_config_stay_out_of_the_payload(
    ledger: Path, ran: list[Any]
) -> None:
    seen: dict[str, Any] = {}

    @safe_tool(action_type="execute_shell", agent_ctx=CTX)
    @tool
    def run_shell(command: str, config: RunnableConfig, callbacks: Any = None) -> str:
        """Run a shell command."""
        seen["config"], seen["callbacks"] = config, callbacks
        RAN.append(command)
        return command

    assert run_shell.invoke({"command": "echo hi"}, config={"tags": ["t1"]}) == "echo hi"
    assert seen["config"]["tags"] == ["t1"]
    assert seen["callbacks"] is not None
    assert authorizations(ledger)[-1].fields["payload"] == {"command": "echo hi"}


def test_async_only_tools(ledger: Path, ran: list[Any]) -> None:
    @safe_tool(action_type="execute_shell", agent_ctx=CTX)
    @tool
    async def run_shell(command: str) -> str:
        """Run a shell command."""
        await asyncio.sleep(0)
        RAN.append(command)
        return f"would run: {command}"

    assert asyncio.run(run_shell.ainvoke({"command": "echo hi"})) == "would run: echo hi"
    with pytest.raises(CanopyPermissionError):
        asyncio.run(run_shell.ainvoke({"command": "rm -rf /"}))
    assert ran == ["echo hi"]
    aid = authorizations(ledger)[0].fields["authorization_id"]
    assert linked_kinds(ledger, aid) == ["authorization", "execution", "tool_result"]


def test_simple_tool_class(ledger: Path, ran: list[Any]) -> None:
    def shell(query: str) -> str:
        RAN.append(query)
        return query

    guarded = safe_tool(action_type="execute_shell", agent_ctx=CTX)(
        Tool(name="terminal", func=shell, description="Runs a command.")
    )
    assert isinstance(guarded, Tool)
    assert guarded.invoke("echo hi") == "echo hi"
    with pytest.raises(CanopyPermissionError):
        guarded.invoke("rm -rf /")
    assert ran == ["echo hi"]
    execution = open_ledger(ledger).find(kind="execution")[0]
    assert execution.fields["tool"] == "terminal"


class ShellTool(BaseTool):
    name: str = "shell_tool"
    description: str = "Runs a command (here: pretends to)."

    def _run(self, script: str, run_manager: Any = None) -> str:
        RAN.append(("sync", script))
        return f"would run: {script}"

    async def _arun(self, script: str, run_manager: Any = None) -> str:
        RAN.append(("async", script))
        return f"would run: {script}"


class SyncOnlyTool(BaseTool):
    name: str = "sync_only"
    description: str = "Runs a command (here: pretends to)."

    def _run(self, script: str) -> str:
        RAN.append(("sync", script))
        return script


def test_custom_basetool_subclasses(ledger: Path, ran: list[Any]) -> None:
    guard = safe_tool(action_type="execute_shell", agent_ctx=CTX)
    guarded = guard(ShellTool())
    assert isinstance(guarded, ShellTool)
    assert guarded.name == "shell_tool"
    assert guarded.invoke({"script": "echo hi"}) == "would run: echo hi"
    assert asyncio.run(guarded.ainvoke({"script": "echo hi"})) == "would run: echo hi"
    with pytest.raises(CanopyPermissionError):
        guarded.invoke({"script": "rm -rf /"})
    with pytest.raises(CanopyPermissionError):
        asyncio.run(guarded.ainvoke({"script": "rm -rf /"}))
    sync_only = guard(SyncOnlyTool())
    assert asyncio.run(sync_only.ainvoke({"script": "echo there"})) == "echo there"
    with pytest.raises(CanopyPermissionError):
        asyncio.run(sync_only.ainvoke({"script": "rm -rf /"}))
    assert ran == [("sync", "echo hi"), ("async", "echo hi"), ("sync", "echo there")]
    assert [e.fields["payload"] for e in authorizations(ledger)] == [
        {"script": "echo hi"},
        {"script": "echo hi"},
        {"script": "rm -rf /"},
        {"script": "rm -rf /"},
        {"script": "echo there"},
        {"script": "rm -rf /"},
    ]
    ShellTool().invoke({"script": "echo plain"})  # the class itself is untouched
    assert len(authorizations(ledger)) == 6


def test_denials_are_not_swallowed_by_handle_tool_error(ledger: Path, ran: list[Any]) -> None:
    def run_shell(command: str) -> str:
        RAN.append(command)
        return command

    forgiving = StructuredTool.from_function(
        run_shell, description="Run a shell command.", handle_tool_error=True
    )
    guarded = safe_tool(action_type="execute_shell", agent_ctx=CTX)(forgiving)
    assert guarded.handle_tool_error is True
    with pytest.raises(CanopyPermissionError):
        guarded.invoke({"command": "rm -rf /"})
    assert ran == []


def test_approvals_with_langchain_tools(ledger: Path, ran: list[Any]) -> None:
    def approve(decision: dict[str, Any], **context: Any) -> bool:
        record_approval_decision(decision["authorization_id"], True, "alice")
        return True

    @safe_tool(
        action_type="execute_shell",
        agent_ctx=CTX,
        on_require_approval="callback",
        approval_callback=approve,
    )
    @tool
    def run_shell(command: str) -> str:
        """Run a shell command."""
        RAN.append(command)
        return command

    assert run_shell.invoke({"command": "sudo ls"}) == "sudo ls"
    aid = authorizations(ledger)[-1].fields["authorization_id"]
    assert linked_kinds(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]

    blocking = seed_example()
    with pytest.raises(CanopyPermissionError) as excinfo:
        blocking.invoke({"command": "sudo ls"})
    later = excinfo.value.decision["authorization_id"]
    record_approval_decision(later, True, "operator")
    with pytest.raises(CanopyPermissionError, match="different action"):
        execute_approved(later, blocking, command="sudo rm -rf /")
    assert execute_approved(later, blocking, command="sudo ls") == "would run: sudo ls"
    assert ran == ["sudo ls", "sudo ls"]
    assert linked_kinds(ledger, later) == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger).ok
