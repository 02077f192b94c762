"""CrewAI tools governed by Canopy, on a real ledger and a real crew.

Two levels: governed tools called directly (``run``, ``arun``, the structured
tool an agent uses), and a real ``Crew`` whose agent is driven by a scripted
LLM, in text (ReAct) mode and with native function calling. Tool bodies only
record that they ran. CrewAI's telemetry, tracing and version check are
switched off: the network is closed here, and a test must not hang on it.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: CrewAI's opt-outs, set before its import (some are read when it loads).
CREWAI_QUIET = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "CREWAI_DISABLE_TRACKING": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "CREWAI_TESTING": "true",  # no first-run tracing prompt
}
for _name, _value in CREWAI_QUIET.items():
    os.environ.setdefault(_name, _value)

pytest.importorskip("crewai")

from crewai import Agent, Crew, Task  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from crewai.tools import BaseTool, ToolExecutionFailedError, ToolFailure, tool  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from canopy import CanopyPermissionError, record_approval_decision  # noqa: E402
from canopy.authorize import open_ledger  # noqa: E402
from canopy.integrations.crewai_adapter import (  # noqa: E402
    govern_crewai_tool,
    governed_tools,
    is_refusal,
    run_approved,
)
from canopy.ledger.verify import verify_ledger  # noqa: E402

#: CrewAI's own deprecation notices (function_calling_llm, ...): not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:crewai")

CTX = {"public_key": "pk-crewai-tests", "created_at": "2026-01-01T00:00:00Z", "trace_id": "t-crew"}
IMDS = "http://169.254.169.254/latest/meta-data/iam/"


@pytest.fixture(autouse=True, scope="module")
def _crewai_quiet() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for name, value in CREWAI_QUIET.items():
            mp.setenv(name, value)
        yield


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
        monkeypatch.delenv(name, raising=False)
    # CrewAI keeps its own files (task outputs, user id) in the XDG data dir.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "audit.log"


# --- harmless tools: each body only records its call ------------------------------


class ScriptArgs(BaseModel):
    script: str = Field(description="The shell script to run.")


class ScriptRunner(BaseTool):
    """A class-based tool whose command argument is not called "command"."""

    name: str = "Execute script"
    description: str = "Runs a shell script (in these tests: records it)."
    args_schema: type[BaseModel] = ScriptArgs
    calls: list[str] = Field(default_factory=list)

    def _run(self, script: str) -> str:
        self.calls.append(script)
        return f"ran script {script!r}"


class Toolbox:
    """Fresh tools per test, and what their bodies were called with."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, dict[str, Any]]] = []
        ran = self.ran

        @tool("run_shell")
        def run_shell(command: str) -> str:
            """Run a shell command."""
            ran.append(("run_shell", {"command": command}))
            return f"output of {command}"

        @tool("read_file")
        def read_file(path: str) -> str:
            """Read a text file."""
            ran.append(("read_file", {"path": path}))
            return f"contents of {path}"

        @tool("fetch_url")
        def fetch_url(url: str) -> str:
            """Fetch a web page."""
            ran.append(("fetch_url", {"url": url}))
            return f"page at {url}"

        @tool("pay")
        def pay(amount: float, currency: str = "USD") -> str:
            """Pay an amount of money."""
            ran.append(("pay", {"amount": amount, "currency": currency}))
            return f"paid {amount} {currency}"

        self.run_shell, self.read_file, self.fetch_url, self.pay = (
            run_shell,
            read_file,
            fetch_url,
            pay,
        )

    def all(self) -> list[BaseTool]:
        return [self.run_shell, self.read_file, self.fetch_url, self.pay]


@pytest.fixture
def box() -> Toolbox:
    return Toolbox()


# --- reading the ledger ------------------------------------------------------------


#: The events a tool call leaves (the ledger also records which policy was active).
CALL_KINDS = ("authorization", "approval", "execution", "tool_result")


def events(path: Path, kind: str | None = None) -> list[Any]:
    """The call events in ``path``, of one kind or all."""
    wanted = (kind,) if kind else CALL_KINDS
    return [e for e in open_ledger(path).iter_events() if e.kind in wanted]


def kinds_for(path: Path, authorization_id: str) -> list[str]:
    return [e.kind for e in open_ledger(path).find(authorization_id=authorization_id)]


def only_authorization(path: Path) -> Any:
    (auth,) = events(path, "authorization")
    return auth


def assert_refused(result: Any, decision: str, authorization_id: str) -> None:
    assert isinstance(result, ToolFailure) and is_refusal(result)
    assert result.details["decision"] == decision
    assert result.details["authorization_id"] == authorization_id
    assert f"decision: {decision}" in result.message
    assert f"authorization_id: {authorization_id}" in result.message


# --- direct calls --------------------------------------------------------------------


def test_allowed_call_runs_once_with_linked_evidence(ledger: Path, box: Toolbox) -> None:
    governed = govern_crewai_tool(box.run_shell, agent_ctx=CTX, audit_log_path=ledger)
    assert (governed.name, governed.description, governed.args_schema) == (
        box.run_shell.name,
        box.run_shell.description,
        box.run_shell.args_schema,
    )
    assert governed.formatted_description == box.run_shell.formatted_description

    assert governed.run(command="ls -la") == "output of ls -la"

    assert box.ran == [("run_shell", {"command": "ls -la"})]
    auth = only_authorization(ledger)
    aid = auth.fields["authorization_id"]
    assert kinds_for(ledger, aid) == ["authorization", "execution", "tool_result"]
    assert auth.fields["payload"] == {"command": "ls -la"}
    assert auth.fields["action_type"] == "execute_shell"
    execution, result = open_ledger(ledger).find(authorization_id=aid)[1:]
    assert execution.fields["tool"] == "run_shell" and result.fields["status"] == "ok"
    # The original stays ungoverned: it runs without a decision.
    box.run_shell.run(command="pwd")
    assert len(events(ledger)) == 3
    assert verify_ledger(ledger).ok


def test_the_agents_path_and_positional_arguments_are_gated(ledger: Path, box: Toolbox) -> None:
    governed = govern_crewai_tool(box.read_file, agent_ctx=CTX, audit_log_path=ledger)
    # Text agents run a tool as to_structured_tool().invoke(): the validated dict.
    assert governed.to_structured_tool().invoke({"path": "notes.txt"}) == "contents of notes.txt"
    assert governed.run("todo.txt") == "contents of todo.txt"  # named after args_schema
    refused = governed.to_structured_tool().invoke({"path": "~/.ssh/id_rsa"})

    payloads = [e.fields["payload"] for e in events(ledger, "authorization")]
    assert payloads == [{"path": "notes.txt"}, {"path": "todo.txt"}, {"path": "~/.ssh/id_rsa"}]
    assert box.ran == [("read_file", {"path": "notes.txt"}), ("read_file", {"path": "todo.txt"})]
    assert_refused(refused, "DENY", events(ledger, "authorization")[-1].fields["authorization_id"])


DENIED = [
    pytest.param("script", {"script": "rm -rf /"}, id="rm-rf-in-a-script-argument"),
    pytest.param("read_file", {"path": "~/.ssh/id_rsa"}, id="ssh-private-key"),
    pytest.param("fetch_url", {"url": IMDS}, id="ssrf-metadata-endpoint"),
]


@pytest.mark.parametrize(("which", "arguments"), DENIED)
def test_denied_calls_never_run(
    ledger: Path, box: Toolbox, which: str, arguments: dict[str, str]
) -> None:
    runner = ScriptRunner()
    original = {"script": runner, "read_file": box.read_file, "fetch_url": box.fetch_url}[which]
    governed = govern_crewai_tool(original, agent_ctx=CTX, audit_log_path=ledger)

    result = governed.run(**arguments)

    auth = only_authorization(ledger)
    aid = auth.fields["authorization_id"]
    assert_refused(result, "DENY", aid)
    assert result.details["reason"] == auth.fields["detail"]["reason"]
    assert f"reason: {result.details['reason']}" in result.message
    assert box.ran == [] and runner.calls == []
    assert kinds_for(ledger, aid) == ["authorization"]
    assert auth.fields["payload"] == arguments
    assert verify_ledger(ledger).ok


def test_a_class_based_tool_keeps_its_class_and_runs_when_allowed(ledger: Path) -> None:
    runner = ScriptRunner()
    governed = govern_crewai_tool(runner, agent_ctx=CTX, audit_log_path=ledger)
    assert isinstance(governed, ScriptRunner) and governed.args_schema is ScriptArgs
    assert governed.name == runner.name and governed.description == runner.description

    assert governed.run(script="echo hello") == "ran script 'echo hello'"
    assert runner.calls == ["echo hello"]  # the copy shares the original's record
    aid = only_authorization(ledger).fields["authorization_id"]
    assert kinds_for(ledger, aid) == ["authorization", "execution", "tool_result"]


def test_require_approval_blocks_with_the_approval_hint(ledger: Path, box: Toolbox) -> None:
    governed = govern_crewai_tool(box.pay, agent_ctx=CTX, audit_log_path=ledger)

    result = governed.run(amount=5000)

    auth = only_authorization(ledger)
    aid = auth.fields["authorization_id"]
    assert_refused(result, "REQUIRE_APPROVAL", aid)
    assert f"canopy approvals approve {ledger} {aid}" in result.message
    assert "the same call with the same arguments runs once" in result.message
    assert auth.fields["payload"] == {"amount": 5000.0, "currency": "USD"}  # validated, defaulted
    assert box.ran == [] and kinds_for(ledger, aid) == ["authorization"]

    # Code holding the authorization id runs the call once an operator approved exactly it.
    with pytest.raises(CanopyPermissionError, match="no approval is on the record"):
        run_approved(governed, aid, amount=5000)
    record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)
    with pytest.raises(CanopyPermissionError, match="different action"):
        run_approved(governed, aid, amount=9000)
    assert run_approved(governed, aid, amount=5000) == "paid 5000.0 USD"
    assert box.ran == [("pay", {"amount": 5000.0, "currency": "USD"})]
    assert kinds_for(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger).ok


@pytest.mark.parametrize("via", ["run", "agent path"])
def test_the_same_call_runs_once_after_the_operator_approves(
    ledger: Path, box: Toolbox, via: str
) -> None:
    governed = govern_crewai_tool(box.pay, agent_ctx=CTX, audit_log_path=ledger)

    def pay(**arguments: Any) -> Any:
        if via == "run":
            return governed.run(**arguments)
        return governed.to_structured_tool().invoke(arguments)  # how text agents call it

    held = pay(amount=5000)
    aid = held.details["authorization_id"]
    assert_refused(held, "REQUIRE_APPROVAL", aid)
    assert is_refusal(pay(amount=5000))  # not approved yet: still held
    approval = record_approval_decision(aid, True, "operator", "ok", audit_log_path=ledger)

    assert is_refusal(pay(amount=9000))  # the approval is for 5000 only
    assert pay(amount=5000) == "paid 5000.0 USD"
    spent = pay(amount=5000)
    assert is_refusal(spent) and spent.details["decision"] == "REQUIRE_APPROVAL"
    assert spent.details["authorization_id"] != aid

    assert box.ran == [("pay", {"amount": 5000.0, "currency": "USD"})]  # exactly once
    assert kinds_for(ledger, aid) == ["authorization", "approval", "execution", "tool_result"]
    (execution,) = events(ledger, "execution")
    assert execution.fields["approval_id"] == approval["approval_id"]
    decisions = [e.fields["decision"] for e in events(ledger, "authorization")]
    assert decisions == ["REQUIRE_APPROVAL"] * 5
    assert verify_ledger(ledger).ok


def test_on_block_raise(ledger: Path, box: Toolbox) -> None:
    shell, pay = governed_tools(
        [box.run_shell, box.pay], agent_ctx=CTX, audit_log_path=ledger, on_block="raise"
    )
    with pytest.raises(CanopyPermissionError, match="denied") as denied:
        shell.run(command="rm -rf /")
    with pytest.raises(CanopyPermissionError, match="requires approval") as held:
        pay.run(amount=5000, currency="USD")

    assert denied.value.decision["decision"] == "DENY"
    assert held.value.decision["decision"] == "REQUIRE_APPROVAL"
    assert box.ran == []
    for error in (denied.value, held.value):
        assert kinds_for(ledger, error.decision["authorization_id"]) == ["authorization"]


def test_async_tools_are_gated(ledger: Path) -> None:
    fetched: list[str] = []

    @tool("fetch_url")
    async def fetch_url(url: str) -> str:
        """Fetch a web page."""
        fetched.append(url)
        return f"page at {url}"

    class AsyncFetch(BaseTool):
        name: str = "fetch_url"
        description: str = "Fetch a URL."

        def _run(self, url: str) -> str:
            raise AssertionError("the async path must not fall back to _run")

        async def _arun(self, url: str) -> str:
            fetched.append(url)
            return "fetched"

    by_func, by_class = governed_tools(
        [fetch_url, AsyncFetch()], agent_ctx=CTX, audit_log_path=ledger
    )
    assert asyncio.run(by_func.arun(url="https://example.com/a")) == "page at https://example.com/a"
    assert by_func.run(url="https://example.com/b") == "page at https://example.com/b"
    assert asyncio.run(by_class.arun(url="https://example.com/c")) == "fetched"
    refused = [asyncio.run(by_func.arun(url=IMDS)), asyncio.run(by_class.arun(url=IMDS))]

    assert fetched == [f"https://example.com/{c}" for c in "abc"]
    assert all(is_refusal(r) and r.details["decision"] == "DENY" for r in refused)
    assert [e.fields["status"] for e in events(ledger, "tool_result")] == ["ok"] * 3
    assert verify_ledger(ledger).ok


def test_a_call_that_cannot_be_decided_is_blocked(ledger: Path, box: Toolbox) -> None:
    def broken_ctx() -> dict[str, str]:
        raise RuntimeError("no session")

    governed = govern_crewai_tool(box.run_shell, agent_ctx=broken_ctx, audit_log_path=ledger)
    refusal = governed.run(command="ls")
    assert is_refusal(refusal) and refusal.code == "canopy_blocked"
    assert "decision: BLOCKED" in refusal.message and "no session" in refusal.message
    strict = govern_crewai_tool(
        box.run_shell, agent_ctx=broken_ctx, audit_log_path=ledger, on_block="raise"
    )
    with pytest.raises(CanopyPermissionError, match="agent_ctx callable failed"):
        strict.run(command="ls")
    assert box.ran == []


def test_refusals_are_never_cached(ledger: Path, box: Toolbox) -> None:
    governed = govern_crewai_tool(box.run_shell, agent_ctx=CTX, audit_log_path=ledger)
    refusal = governed.run(command="rm -rf /")
    assert governed.cache_function({"command": "rm -rf /"}, refusal) is False
    assert governed.cache_function({"command": "ls"}, "output of ls") is True


def test_tools_that_cannot_be_governed_are_refused(ledger: Path, box: Toolbox) -> None:
    class OwnRun(BaseTool):
        name: str = "own_run"
        description: str = "Overrides run, which agents call directly."

        def _run(self, x: str) -> str:
            return x

        def run(self, *args: Any, **kwargs: Any) -> Any:
            return "ran without _run"

    with pytest.raises(TypeError, match="overrides run"):
        govern_crewai_tool(OwnRun(), agent_ctx=CTX, audit_log_path=ledger)
    governed = govern_crewai_tool(box.run_shell, agent_ctx=CTX, audit_log_path=ledger)
    with pytest.raises(ValueError, match="already governed"):
        govern_crewai_tool(governed, agent_ctx=CTX, audit_log_path=ledger)
    with pytest.raises(TypeError, match="at most 1 positional"):
        governed.run("ls", "-la")
    assert not ledger.exists() or not events(ledger)


# --- a real crew, driven by a scripted LLM ------------------------------------------


class ScriptedLLM(BaseLLM):
    """Answers with the next scripted reply; keeps the text of every prompt it got."""

    replies: list[Any] = Field(default_factory=list)
    prompts: list[str] = Field(default_factory=list)
    native: bool = False

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> Any:
        self.prompts.append(_text(messages))
        if not self.replies:
            return "Thought: the script ran out\nFinal Answer: out of script"
        return self.replies.pop(0)

    def supports_function_calling(self) -> bool:
        return self.native


def _text(messages: Any) -> str:
    if isinstance(messages, str):
        return messages
    return "\n".join(str(m.get("content") or "") for m in messages)


def react(tool_name: str, arguments: dict[str, Any]) -> str:
    """One ReAct step, in the format the agent's prompt asks for."""
    return (
        f"Thought: I will use {tool_name}\n"
        f"Action: {tool_name}\n"
        f"Action Input: {json.dumps(arguments)}"
    )


FINAL = "Thought: I now know the final answer\nFinal Answer: done"


def kickoff(llm: ScriptedLLM, tools: list[BaseTool]) -> Any:
    agent = Agent(
        role="operator",
        goal="do the task with the tools",
        backstory="a careful assistant",
        llm=llm,
        tools=tools,
        allow_delegation=False,
        verbose=False,
    )
    task = Task(description="tidy up and pay the invoice", expected_output="a summary", agent=agent)
    return Crew(agents=[agent], tasks=[task], verbose=False).kickoff()


def test_crew_text_agent_gets_the_refusals(ledger: Path, box: Toolbox) -> None:
    calls = [
        ("run_shell", {"command": "ls -la"}),
        ("run_shell", {"command": "rm -rf /"}),
        ("read_file", {"path": "~/.ssh/id_rsa"}),
        ("fetch_url", {"url": IMDS}),
        ("pay", {"amount": 5000, "currency": "USD"}),
    ]
    llm = ScriptedLLM(model="scripted", replies=[*(react(n, a) for n, a in calls), FINAL])
    tools = governed_tools(box.all(), agent_ctx=CTX, audit_log_path=ledger)

    output = kickoff(llm, tools)

    assert output.raw == "done"
    assert box.ran == [("run_shell", {"command": "ls -la"})]
    auths = events(ledger, "authorization")
    assert [a.fields["payload"] for a in auths] == [a for _, a in calls]
    assert [a.fields["decision"] for a in auths] == [
        "ALLOW",
        "DENY",
        "DENY",
        "DENY",
        "REQUIRE_APPROVAL",
    ]
    # The prompt after each call shows its outcome: the result, or the refusal
    # with the decision and its authorization id.
    assert "output of ls -la" in llm.prompts[1]
    for auth, prompt in zip(auths[1:], llm.prompts[2:], strict=True):
        aid = auth.fields["authorization_id"]
        assert f"decision: {auth.fields['decision']}" in prompt
        assert f"authorization_id: {aid}" in prompt
        assert kinds_for(ledger, aid) == ["authorization"]
    assert "canopy approvals approve" in llm.prompts[5]
    assert [e.kind for e in events(ledger)] == ["authorization", "execution", "tool_result"] + [
        "authorization"
    ] * 4
    # CrewAI itself knows these calls failed.
    failures = output.tool_failures
    assert [f.failure.code for f in failures] == ["canopy_deny"] * 3 + ["canopy_require_approval"]
    assert verify_ledger(ledger).ok


def test_crew_with_native_function_calling(ledger: Path, box: Toolbox) -> None:
    def tool_call(n: int, name: str, arguments: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": f"call_{n}", "name": name, "arguments": json.dumps(arguments)}]

    llm = ScriptedLLM(
        model="scripted",
        native=True,
        replies=[
            tool_call(1, "read_file", {"path": "notes.txt"}),
            tool_call(2, "run_shell", {"command": "rm -rf /"}),
            "done",
        ],
    )
    tools = governed_tools(box.all(), agent_ctx=CTX, audit_log_path=ledger)

    assert kickoff(llm, tools).raw == "done"

    assert box.ran == [("read_file", {"path": "notes.txt"})]
    allowed, denied = events(ledger, "authorization")
    assert kinds_for(ledger, allowed.fields["authorization_id"]) == [
        "authorization",
        "execution",
        "tool_result",
    ]
    assert "contents of notes.txt" in llm.prompts[1]
    assert denied.fields["decision"] == "DENY"
    assert f"authorization_id: {denied.fields['authorization_id']}" in llm.prompts[2]
    assert verify_ledger(ledger).ok


def test_crew_on_block_raise(ledger: Path, box: Toolbox) -> None:
    # CrewAI catches tool errors and shows them to the model: the crew goes on,
    # the tool never runs, and every retry of the call is decided again.
    llm = ScriptedLLM(model="scripted", replies=[react("run_shell", {"command": "rm -rf /"})])
    tools = governed_tools(box.all(), agent_ctx=CTX, audit_log_path=ledger, on_block="raise")

    output = kickoff(llm, tools)

    assert box.ran == []
    auths = events(ledger, "authorization")
    assert auths and all(a.fields["decision"] == "DENY" for a in auths)
    assert len(events(ledger)) == len(auths)  # no execution, no tool_result
    assert "Canopy denied run_shell" in llm.prompts[1]
    assert output.raw
    assert verify_ledger(ledger).ok


def test_crew_tool_failure_policy_raise_stops_on_a_refusal(ledger: Path, box: Toolbox) -> None:
    llm = ScriptedLLM(model="scripted", replies=[react("read_file", {"path": "~/.ssh/id_rsa"})])
    tools = governed_tools(box.all(), agent_ctx=CTX, audit_log_path=ledger)
    agent = Agent(
        role="operator",
        goal="read",
        backstory="b",
        llm=llm,
        tools=tools,
        tool_failure_policy="raise",
        allow_delegation=False,
    )
    task = Task(description="read the key", expected_output="the key", agent=agent)

    with pytest.raises(ToolExecutionFailedError, match="canopy_deny"):
        Crew(agents=[agent], tasks=[task]).kickoff()
    assert box.ran == [] and len(llm.prompts) == 1
    assert [a.fields["decision"] for a in events(ledger, "authorization")] == ["DENY"]
