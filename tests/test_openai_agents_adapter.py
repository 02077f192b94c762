"""The OpenAI Agents SDK adapter, end to end through the real ``Runner``.

A scripted ``Model`` plays the LLM: it returns the tool calls a test asks for,
then a final message, and keeps every input it was given, so a test can read
what the model was told after a blocked call. No network, no API key, tracing
off. Tool bodies are harmless: they record that they ran and return a string;
commands such as ``rm -rf /`` are data, never handed to a shell.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import (
    Agent,
    FunctionTool,
    RunContextWrapper,
    Runner,
    WebSearchTool,
    function_tool,
    handoff,
    set_tracing_disabled,
)
from agents.exceptions import UserError
from agents.items import ModelResponse
from agents.models.interface import Model
from agents.usage import Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from canopy import CanopyPermissionError, Decision, record_approval_decision
from canopy.authorize import open_ledger
from canopy.integrations.openai_agents_adapter import (
    CanopyToolCallBlocked,
    govern_agent,
    govern_function_tool,
    run_approved,
)
from canopy.ledger.verify import verify_ledger

CTX = {"public_key": "pk-oai-tests", "created_at": "2026-01-01T00:00:00Z", "trace_id": "t-oai"}


@pytest.fixture(autouse=True)
def no_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    set_tracing_disabled(True)
    yield


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "audit.log"


# --- a scripted model ------------------------------------------------------------


class ScriptedModel(Model):
    """Answers each ``get_response`` with the next scripted turn; records the inputs."""

    def __init__(self, *turns: list[Any]) -> None:
        self.turns = list(turns)
        self.inputs: list[list[dict[str, Any]]] = []
        self.tool_names: list[list[str]] = []

    async def get_response(
        self,
        system_instructions: Any,
        input: Any,
        model_settings: Any,
        tools: Any,
        *args: Any,
        **kwargs: Any,
    ) -> ModelResponse:
        items = [{"role": "user", "content": input}] if isinstance(input, str) else input
        self.inputs.append([dict(item) for item in items])
        self.tool_names.append([t.name for t in tools])
        assert self.turns, "the model was asked for more turns than scripted"
        return ModelResponse(output=self.turns.pop(0), usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("the scripted model does not stream")

    def outputs(self, turn: int) -> dict[str, str]:
        """``{call_id: output}`` of the tool outputs in the input of ``turn``."""
        return {
            item["call_id"]: item["output"]
            for item in self.inputs[turn]
            if item.get("type") == "function_call_output"
        }


def call(call_id: str, name: str, arguments: dict[str, Any] | str) -> ResponseFunctionToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ResponseFunctionToolCall(
        id=f"fc_{call_id}",
        call_id=call_id,
        name=name,
        arguments=text,
        type="function_call",
        status="completed",
    )


def say(text: str = "done") -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id="msg_final",
        role="assistant",
        status="completed",
        type="message",
        content=[ResponseOutputText(text=text, type="output_text", annotations=[])],
    )


# --- harmless tools ----------------------------------------------------------------


class Tools:
    """Function tools whose bodies only note that they ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []

        @function_tool
        def run_shell(command: str) -> str:
            """Run a shell command."""
            self.ran.append(("run_shell", {"command": command}))
            return "listed"

        @function_tool
        def exec_cmd(cmd: str) -> str:
            """Run a command."""
            self.ran.append(("exec_cmd", {"cmd": cmd}))
            return "executed"

        @function_tool
        async def fetch_url(url: str) -> str:
            """Fetch a URL."""
            self.ran.append(("fetch_url", {"url": url}))
            return "fetched"

        @function_tool
        def read_file(path: str) -> str:
            """Read a file."""
            self.ran.append(("read_file", {"path": path}))
            return "contents"

        @function_tool
        def pay(amount: float, currency: str) -> str:
            """Pay someone."""
            self.ran.append(("pay", {"amount": amount, "currency": currency}))
            return "paid"

        self.run_shell, self.exec_cmd, self.fetch_url = run_shell, exec_cmd, fetch_url
        self.read_file, self.pay = read_file, pay

    def all(self) -> list[FunctionTool]:
        return [self.run_shell, self.exec_cmd, self.fetch_url, self.read_file, self.pay]


@pytest.fixture
def tools() -> Tools:
    return Tools()


def governed_agent(tools: list[Any], model: Model, ledger: Path, **options: Any) -> Agent[Any]:
    agent = Agent(name="worker", instructions="help", tools=tools, model=model)
    return govern_agent(agent, agent_ctx=CTX, audit_log_path=ledger, **options)


# --- ledger helpers ----------------------------------------------------------------


def events(path: Path, kind: str | None = None) -> list[Any]:
    return [e for e in open_ledger(path).iter_events() if kind is None or e.kind == kind]


def kinds_for(path: Path, authorization_id: str) -> list[str]:
    return [e.kind for e in open_ledger(path).find(authorization_id=authorization_id)]


def authorization_id_in(refusal: str) -> str:
    (line,) = [x for x in refusal.splitlines() if x.startswith("authorization_id: ")]
    return line.removeprefix("authorization_id: ")


# --- allowed -----------------------------------------------------------------------


def test_allowed_call_runs_once_with_linked_evidence(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel([call("c1", "run_shell", {"command": "ls -la"})], [say()])
    result = Runner.run_sync(governed_agent([tools.run_shell], model, ledger), "list files")

    assert result.final_output == "done"
    assert tools.ran == [("run_shell", {"command": "ls -la"})]
    assert model.outputs(1) == {"c1": "listed"}
    (auth,) = events(ledger, "authorization")
    assert auth.fields["decision"] == Decision.ALLOW
    assert auth.fields["action_type"] == "execute_shell"
    assert auth.fields["payload"] == {"command": "ls -la"}
    aid = auth.fields["authorization_id"]
    assert kinds_for(ledger, aid) == ["authorization", "execution", "tool_result"]
    (execution,) = events(ledger, "execution")
    (tool_result,) = events(ledger, "tool_result")
    assert execution.fields["tool"] == "run_shell"
    assert tool_result.fields["status"] == "ok"
    assert verify_ledger(ledger).ok


def test_record_results_keeps_the_output(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel([call("c1", "read_file", {"path": "notes.txt"})], [say()])
    agent = governed_agent([tools.read_file], model, ledger, record_results=True)
    Runner.run_sync(agent, "read my notes")
    (tool_result,) = events(ledger, "tool_result")
    assert "contents" in json.dumps(tool_result.fields)
    assert verify_ledger(ledger).ok


# --- denied ------------------------------------------------------------------------

DENIED = [
    pytest.param("run_shell", {"command": "rm -rf /"}, "deletes /", id="shell-command"),
    pytest.param("exec_cmd", {"cmd": "rm -rf /"}, "deletes /", id="shell-other-name"),
    pytest.param(
        "fetch_url", {"url": "http://169.254.169.254/latest/meta-data/"}, "169.254", id="ssrf"
    ),
    pytest.param("read_file", {"path": "~/.ssh/id_rsa"}, "credential", id="ssh-key"),
]


@pytest.mark.parametrize(("tool", "arguments", "why"), DENIED)
def test_denied_call_never_runs_and_the_model_reads_why(
    ledger: Path, tools: Tools, tool: str, arguments: dict[str, Any], why: str
) -> None:
    model = ScriptedModel([call("c1", tool, arguments)], [say("sorry")])
    result = Runner.run_sync(governed_agent(tools.all(), model, ledger), "do it")

    assert result.final_output == "sorry"  # the run went on
    assert tools.ran == []
    refusal = model.outputs(1)["c1"]
    assert "decision: DENY" in refusal and why in refusal
    assert f"call to {tool}" in refusal and "did not run" in refusal
    (auth,) = events(ledger, "authorization")
    assert auth.fields["decision"] == Decision.DENY
    assert auth.fields["payload"] == arguments
    aid = auth.fields["authorization_id"]
    assert authorization_id_in(refusal) == aid
    assert kinds_for(ledger, aid) == ["authorization"]  # provably never executed
    assert events(ledger, "execution") == []
    outputs = [i.output for i in result.new_items if type(i).__name__ == "ToolCallOutputItem"]
    assert outputs == [refusal]
    assert verify_ledger(ledger).ok


def test_require_approval_blocks_with_the_operator_hint(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel([call("c1", "pay", {"amount": 5000, "currency": "USD"})], [say()])
    Runner.run_sync(governed_agent(tools.all(), model, ledger), "pay the invoice")

    assert tools.ran == []
    refusal = model.outputs(1)["c1"]
    (auth,) = events(ledger, "authorization")
    aid = auth.fields["authorization_id"]
    assert auth.fields["decision"] == Decision.REQUIRE_APPROVAL
    assert "decision: REQUIRE_APPROVAL" in refusal
    assert f"canopy approvals approve {ledger} {aid} --approver NAME" in refusal
    assert kinds_for(ledger, aid) == ["authorization"]
    assert verify_ledger(ledger).ok


def test_an_approved_call_runs_later_exactly_once(ledger: Path, tools: Tools) -> None:
    arguments = json.dumps({"amount": 5000, "currency": "USD"})
    model = ScriptedModel([call("c1", "pay", arguments)], [say()])
    agent = governed_agent([tools.pay], model, ledger)
    Runner.run_sync(agent, "pay the invoice")
    aid = authorization_id_in(model.outputs(1)["c1"])
    (pay,) = agent.tools

    with pytest.raises(CanopyPermissionError, match="no approval is on the record"):
        asyncio.run(run_approved(pay, aid, arguments))
    record_approval_decision(aid, True, "operator", "invoice checked", audit_log_path=ledger)
    other = json.dumps({"amount": 9000, "currency": "USD"})
    with pytest.raises(CanopyPermissionError, match="different action"):
        asyncio.run(run_approved(pay, aid, other))
    assert tools.ran == []

    assert asyncio.run(run_approved(pay, aid, arguments)) == "paid"
    assert tools.ran == [("pay", {"amount": 5000, "currency": "USD"})]
    with pytest.raises(CanopyPermissionError, match="already used"):
        asyncio.run(run_approved(pay, aid, arguments))
    assert kinds_for(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger).ok


def test_the_model_calling_again_after_an_approval_runs_the_call_once(
    ledger: Path, tools: Tools
) -> None:
    arguments = {"amount": 5000, "currency": "USD"}
    model = ScriptedModel(
        [call("c1", "pay", arguments)],
        [say("waiting for approval")],
        [call("c2", "pay", arguments)],  # the same call, in a run after the approval
        [call("c3", "pay", arguments)],  # and once more: the approval is spent
        [say()],
    )
    agent = governed_agent([tools.pay], model, ledger)
    Runner.run_sync(agent, "pay the invoice")
    refusal = model.outputs(1)["c1"]
    aid = authorization_id_in(refusal)
    assert "the same call with the same arguments runs once" in refusal
    assert tools.ran == []

    approval = record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
    result = Runner.run_sync(agent, "approved: pay it now")

    assert result.final_output == "done"
    assert model.outputs(3) == {"c2": "paid"}
    assert tools.ran == [("pay", arguments)]  # exactly once
    again = model.outputs(4)["c3"]
    assert "decision: REQUIRE_APPROVAL" in again and authorization_id_in(again) != aid
    assert kinds_for(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    (execution,) = events(ledger, "execution")
    assert execution.fields["approval_id"] == approval["approval_id"]
    decisions = [e.fields["decision"] for e in events(ledger, "authorization")]
    assert decisions == [Decision.REQUIRE_APPROVAL] * 3  # each call decided
    assert verify_ledger(ledger).ok


# --- raise mode --------------------------------------------------------------------


def test_raise_mode_ends_the_run_with_canopy_permission_error(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel([call("c1", "exec_cmd", {"cmd": "rm -rf /"})], [say()])
    agent = governed_agent(tools.all(), model, ledger, on_block="raise")

    with pytest.raises(CanopyPermissionError, match="denied") as excinfo:
        Runner.run_sync(agent, "clean up")

    assert isinstance(excinfo.value, CanopyToolCallBlocked)  # not wrapped in UserError
    assert excinfo.value.decision["decision"] == Decision.DENY
    assert tools.ran == [] and len(model.inputs) == 1  # the model was not asked again
    aid = excinfo.value.decision["authorization_id"]
    assert kinds_for(ledger, aid) == ["authorization"]
    assert verify_ledger(ledger).ok


def test_raise_mode_require_approval(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel([call("c1", "pay", {"amount": 5000, "currency": "USD"})], [say()])
    governed = govern_function_tool(
        tools.pay, agent_ctx=CTX, audit_log_path=ledger, on_block="raise"
    )
    agent = Agent(name="payer", tools=[governed], model=model)
    with pytest.raises(CanopyPermissionError, match="requires approval") as excinfo:
        Runner.run_sync(agent, "pay")
    assert excinfo.value.decision["decision"] == Decision.REQUIRE_APPROVAL
    assert tools.ran == [] and events(ledger, "execution") == []


# --- malformed arguments -----------------------------------------------------------

MALFORMED = [
    pytest.param('{"command": "ls', "not valid JSON", id="truncated"),
    pytest.param('["rm -rf /"]', "not an object", id="array"),
    pytest.param('"rm -rf /"', "not an object", id="string"),
    pytest.param('{"command": "ls", "command": "rm -rf /"}', "more than once", id="duplicate-key"),
    pytest.param('{"command": NaN}', "NaN is not JSON", id="nan"),
    pytest.param('{"command": 1e999}', "out of range", id="infinite"),
]


@pytest.mark.parametrize(("arguments", "why"), MALFORMED)
def test_malformed_arguments_are_refused_and_nothing_runs(
    ledger: Path, tools: Tools, arguments: str, why: str
) -> None:
    model = ScriptedModel([call("c1", "run_shell", arguments)], [say()])
    Runner.run_sync(governed_agent([tools.run_shell], model, ledger), "go")

    assert tools.ran == []
    refusal = model.outputs(1)["c1"]
    assert "decision: DENY" in refusal and why in refusal
    assert "authorization_id: none" in refusal
    assert not (ledger.exists() and events(ledger))  # nothing was decided, nothing ran


def test_malformed_arguments_raise_in_raise_mode(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel([call("c1", "run_shell", "{oops")], [say()])
    agent = governed_agent([tools.run_shell], model, ledger, on_block="raise")
    with pytest.raises(CanopyToolCallBlocked, match="not valid JSON") as excinfo:
        Runner.run_sync(agent, "go")
    assert excinfo.value.decision["decision"] == Decision.DENY
    assert tools.ran == []


# --- whole agents ------------------------------------------------------------------


def test_govern_agent_governs_every_tool_in_one_turn(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel(
        [
            call("ok-shell", "run_shell", {"command": "ls -la"}),
            call("bad-shell", "exec_cmd", {"cmd": "rm -rf /"}),
            call("ssrf", "fetch_url", {"url": "http://169.254.169.254/latest"}),
            call("notes", "read_file", {"path": "notes.txt"}),
            call("key", "read_file", {"path": "~/.ssh/id_rsa"}),
            call("pay", "pay", {"amount": 5000, "currency": "USD"}),
        ],
        [say()],
    )
    original = Agent(name="worker", tools=tools.all(), model=model)
    governed = govern_agent(original, agent_ctx=CTX, audit_log_path=ledger)
    Runner.run_sync(governed, "do everything")

    assert sorted(name for name, _ in tools.ran) == ["read_file", "run_shell"]
    outputs = model.outputs(1)
    assert outputs["ok-shell"] == "listed" and outputs["notes"] == "contents"
    for blocked in ("bad-shell", "ssrf", "key"):
        assert "decision: DENY" in outputs[blocked]
    assert "decision: REQUIRE_APPROVAL" in outputs["pay"]
    decisions = sorted(str(e.fields["decision"]) for e in events(ledger, "authorization"))
    assert decisions == ["ALLOW", "ALLOW", "DENY", "DENY", "DENY", "REQUIRE_APPROVAL"]
    assert len(events(ledger, "execution")) == len(events(ledger, "tool_result")) == 2
    assert model.tool_names[0] == [t.name for t in tools.all()]
    assert original.tools == tools.all()  # the original agent is untouched
    assert verify_ledger(ledger).ok


def test_handoff_targets_are_governed(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel(
        [call("h1", "transfer_to_ops", {})],
        [call("c1", "run_shell", {"command": "rm -rf /"})],
        [say()],
    )
    ops = Agent(name="ops", tools=[tools.run_shell], model=model)
    triage = Agent(name="triage", handoffs=[ops], model=model)
    ops.handoffs = [triage]  # a cycle
    governed = govern_agent(triage, agent_ctx=CTX, audit_log_path=ledger)

    result = Runner.run_sync(governed, "clean the disk")

    assert tools.ran == []
    assert "decision: DENY" in model.outputs(2)["c1"]
    assert result.last_agent is not ops and result.last_agent.name == "ops"
    (governed_ops,) = governed.handoffs
    assert governed_ops.handoffs == [governed]  # the cycle maps onto the clones
    (auth,) = events(ledger, "authorization")
    assert auth.fields["decision"] == Decision.DENY
    assert kinds_for(ledger, auth.fields["authorization_id"]) == ["authorization"]
    assert verify_ledger(ledger).ok


def test_handoff_objects_govern_their_target_when_invoked(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel(
        [call("h1", "send_to_ops", {})],
        [call("c1", "read_file", {"path": "~/.ssh/id_rsa"})],
        [say()],
    )
    ops = Agent(name="ops", tools=[tools.read_file], model=model)
    triage = Agent(
        name="triage", handoffs=[handoff(ops, tool_name_override="send_to_ops")], model=model
    )
    Runner.run_sync(govern_agent(triage, agent_ctx=CTX, audit_log_path=ledger), "read the key")
    assert tools.ran == []
    assert "decision: DENY" in model.outputs(2)["c1"]
    assert [e.fields["decision"] for e in events(ledger, "authorization")] == [Decision.DENY]


def test_tools_canopy_cannot_wrap_are_refused_unless_allowed(ledger: Path, tools: Tools) -> None:
    agent = Agent(name="searcher", tools=[tools.run_shell, WebSearchTool()])
    with pytest.raises(TypeError, match=r"WebSearchTool.*allow_ungoverned"):
        govern_agent(agent, agent_ctx=CTX, audit_log_path=ledger)
    governed = govern_agent(agent, agent_ctx=CTX, audit_log_path=ledger, allow_ungoverned=True)
    shell, search = governed.tools
    assert search is agent.tools[1] and shell is not tools.run_shell

    with_mcp = Agent(name="mcp", mcp_servers=[object()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="MCP server"):
        govern_agent(with_mcp, agent_ctx=CTX, audit_log_path=ledger)
    with pytest.raises(TypeError, match="takes an Agent"):
        govern_agent(tools.run_shell, agent_ctx=CTX)  # type: ignore[arg-type]


def test_governing_twice_does_not_decide_twice(ledger: Path, tools: Tools) -> None:
    model = ScriptedModel([call("c1", "run_shell", {"command": "ls"})], [say()])
    once = governed_agent([tools.run_shell], model, ledger)
    twice = govern_agent(once, agent_ctx=CTX, audit_log_path=ledger)
    assert twice.tools[0] is once.tools[0]
    with pytest.raises(ValueError, match="already governed"):
        govern_function_tool(once.tools[0], agent_ctx=CTX)
    Runner.run_sync(twice, "go")
    assert len(events(ledger, "authorization")) == 1 and len(tools.ran) == 1


# --- the governed FunctionTool itself ----------------------------------------------


def test_governed_tool_keeps_the_sdk_fields(ledger: Path) -> None:
    def enabled(ctx: RunContextWrapper[Any], agent: Any) -> bool:
        return True

    @function_tool(strict_mode=False, is_enabled=enabled, name_override="lookup")
    def lookup(city: str, days: int = 3) -> str:
        """Look up the weather."""
        return "sunny"

    lookup.needs_approval = True
    governed = govern_function_tool(lookup, agent_ctx=CTX, audit_log_path=ledger)

    assert isinstance(governed, FunctionTool) and governed is not lookup
    assert governed.on_invoke_tool is not lookup.on_invoke_tool
    for field in dataclasses.fields(FunctionTool):
        if field.name != "on_invoke_tool":
            assert getattr(governed, field.name) == getattr(lookup, field.name), field.name
    assert governed.strict_json_schema is False and governed.is_enabled is enabled
    with pytest.raises(TypeError, match="takes a FunctionTool"):
        govern_function_tool(lookup.on_invoke_tool, agent_ctx=CTX)  # type: ignore[arg-type]


def test_a_function_tool_subclass_with_its_own_init(ledger: Path) -> None:
    ran: list[str] = []

    class ShellTool(FunctionTool):
        def __init__(self, prefix: str) -> None:
            async def invoke(ctx: Any, input_json: str) -> str:
                ran.append(prefix + json.loads(input_json)["line"])
                return "ran"

            schema = {"type": "object", "properties": {"line": {"type": "string"}}}
            super().__init__("sh", "Run a line.", schema, invoke, strict_json_schema=False)

    model = ScriptedModel(
        [call("c1", "sh", {"line": "echo hi"}), call("c2", "sh", {"line": "rm -rf /"})], [say()]
    )
    governed = govern_function_tool(ShellTool("$ "), agent_ctx=CTX, audit_log_path=ledger)
    assert type(governed) is ShellTool
    Runner.run_sync(Agent(name="a", tools=[governed], model=model), "go")
    assert ran == ["$ echo hi"]
    assert model.outputs(1)["c1"] == "ran" and "decision: DENY" in model.outputs(1)["c2"]


def test_a_fixed_action_type_governs_any_tool_name(ledger: Path) -> None:
    ran: list[str] = []

    @function_tool
    def helper(text: str) -> str:
        """A harmless-sounding helper."""
        ran.append(text)
        return "ok"

    model = ScriptedModel([call("c1", "helper", {"text": "rm -rf /"})], [say()])
    governed = govern_function_tool(
        helper, agent_ctx=CTX, audit_log_path=ledger, action_type="execute_shell"
    )
    Runner.run_sync(Agent(name="a", tools=[governed], model=model), "go")
    assert ran == [] and "decision: DENY" in model.outputs(1)["c1"]
    (auth,) = events(ledger, "authorization")
    assert auth.fields["action_type"] == "execute_shell"


def test_a_tool_error_is_recorded_and_not_mistaken_for_a_refusal(ledger: Path) -> None:
    @function_tool(failure_error_function=None)
    def flaky(path: str) -> str:
        """Fails."""
        raise CanopyPermissionError("a nested guard said no")

    model = ScriptedModel([call("c1", "flaky", {"path": "notes.txt"})], [say()])
    governed = govern_function_tool(flaky, agent_ctx=CTX, audit_log_path=ledger)
    with pytest.raises(UserError, match="a nested guard said no") as excinfo:
        Runner.run_sync(Agent(name="a", tools=[governed], model=model), "go")
    assert type(excinfo.value.__cause__) is CanopyPermissionError  # the tool's, re-raised as is
    (tool_result,) = events(ledger, "tool_result")
    assert tool_result.fields["status"] == "error"
    assert verify_ledger(ledger).ok


def test_import_canopy_does_not_import_the_sdk() -> None:
    code = (
        "import sys, canopy, canopy.integrations\n"
        "print(sorted(m for m in sys.modules if m == 'agents' or m.startswith('agents.')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["[]"]
