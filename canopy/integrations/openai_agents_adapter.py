"""Canopy in front of the OpenAI Agents SDK (``openai-agents``, imported as ``agents``).

The SDK hands a ``FunctionTool`` its arguments as the model's JSON string
(``on_invoke_tool(ctx, input_json)``). ``govern_function_tool`` returns a copy of
the tool whose invoker parses that string strictly, asks a ``ToolGate`` about
exactly the parsed object, and only then calls the original invoker with the
same string; the gate writes the authorization, execution and tool_result
events. A blocked call either becomes a refusal the model reads as the tool's
output, so the run goes on (``on_block="message"``), or ends the run with
``CanopyPermissionError`` (``"raise"``). Once an operator approves a
REQUIRE_APPROVAL, the model (in this run or a later one) calling the tool again
with the same arguments runs it once, under that approval; ``run_approved``
runs it from code that holds the authorization id.

``govern_agent`` clones an agent (and the agents its handoffs reach) with every
function tool governed. Tools that do not run through a Python invoker, hosted
tools (web and file search, code interpreter, hosted MCP, image generation),
computer, shell and apply-patch tools executed by the SDK, tools listed by MCP
servers at run time and sandbox capabilities, cannot be governed here: they are
refused with ``TypeError`` unless the caller passes ``allow_ungoverned=True``.

Importing ``canopy`` or ``canopy.integrations`` does not import this module or
the SDK.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from agents import Agent, FunctionTool, Handoff
from agents.exceptions import AgentsException
from agents.tool_context import ToolContext

from canopy.authorize import ledger_path_for
from canopy.decisions.model import CanopyPermissionError, Decision
from canopy.integrations.guards import AgentContext, PathLike, ToolGate
from canopy.integrations.refusals import Blocked, OnBlock, gated_acall

__all__ = [
    "CanopyToolCallBlocked",
    "OnBlock",
    "govern_agent",
    "govern_function_tool",
    "run_approved",
]

Invoker = Callable[[ToolContext[Any], str], Awaitable[Any]]

#: Marks a governed invoker; holds what ``run_approved`` needs.
_GOVERNED = "__canopy_governed__"


class CanopyToolCallBlocked(CanopyPermissionError, AgentsException):
    """A governed tool call that did not run, raised out of ``Runner.run``.

    Also an ``AgentsException``: the runner re-raises those unchanged, where it
    would wrap any other exception in ``UserError``.
    """

    def __init__(self, message: str, decision: dict[str, Any] | None = None) -> None:
        super().__init__(message, decision)
        self.run_data = None  # AgentsException's attribute; the runner may fill it in


@dataclasses.dataclass(frozen=True, slots=True)
class _Governed:
    gate: ToolGate
    tool: str
    original: Invoker


class _MalformedArgumentsError(ValueError):
    pass


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _MalformedArgumentsError(f"number {text} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise _MalformedArgumentsError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            # Parsers disagree on which copy wins: the gate must see what the tool sees.
            raise _MalformedArgumentsError(f"key {key!r} appears more than once")
        found[key] = value
    return found


def _parse_arguments(input_json: str) -> dict[str, Any]:
    """The JSON object the tool will receive, or ``_MalformedArgumentsError``.

    Empty input means no arguments, as in the SDK's own function tools.
    """
    if not input_json:
        return {}
    try:
        value = json.loads(
            input_json,
            object_pairs_hook=_no_duplicates,
            parse_float=_finite,
            parse_constant=_no_constant,
        )
    except _MalformedArgumentsError:
        raise
    except (ValueError, TypeError, RecursionError) as e:
        raise _MalformedArgumentsError(f"not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise _MalformedArgumentsError(f"a JSON {type(value).__name__}, not an object")
    return value


def _invoker(gate: ToolGate, tool: str, original: Invoker, on_block: OnBlock) -> Invoker:
    def refuse(blocked: Blocked) -> str:
        if on_block is OnBlock.RAISE:
            # The gate raises every block (its mode is "raise"): there is an error.
            raise CanopyToolCallBlocked(
                str(blocked.error), dict(blocked.decision)
            ) from blocked.error
        return "\n".join(blocked.lines(tool, ledger_path_for(gate.audit_log_path)))

    # The annotation matters: the SDK reads it to choose the context it passes.
    async def governed(ctx: ToolContext[Any], input_json: str) -> Any:
        try:
            arguments = _parse_arguments(input_json)
        except _MalformedArgumentsError as e:
            reason = f"the arguments are {e}"
            decision = {"decision": Decision.DENY, "reason": reason}
            return refuse(Blocked(decision, CanopyPermissionError(f"{tool} not run: {reason}")))
        outcome = await gated_acall(gate, tool, arguments, lambda: original(ctx, input_json))
        return refuse(outcome) if isinstance(outcome, Blocked) else outcome

    setattr(governed, _GOVERNED, _Governed(gate, tool, original))
    return governed


def _governed(tool: Any) -> _Governed | None:
    found = getattr(getattr(tool, "on_invoke_tool", None), _GOVERNED, None)
    return found if isinstance(found, _Governed) else None


def _govern(tool: FunctionTool, gate: ToolGate, on_block: OnBlock) -> FunctionTool:
    invoker = _invoker(gate, tool.name, tool.on_invoke_tool, on_block)
    # A copy keeps every field this SDK version has (schema, strictness, is_enabled,
    # guardrails, needs_approval, timeouts, failure handling), and unlike
    # dataclasses.replace it works for subclasses with their own __init__.
    governed = copy.copy(tool)
    governed.on_invoke_tool = invoker
    return governed


def _gate(
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None,
    policy_file: PathLike | None,
    action_type: str | None,
    record_results: bool,
) -> ToolGate:
    return ToolGate.local(
        agent_ctx=agent_ctx,
        action_type=action_type,
        on_require_approval="raise",  # the adapter turns it into a refusal or raises
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        record_results=record_results,
    )


def govern_function_tool(
    tool: FunctionTool,
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_type: str | None = None,
    on_block: OnBlock | str = OnBlock.MESSAGE,
    record_results: bool = False,
) -> FunctionTool:
    """A copy of ``tool`` that runs only when Canopy allows the call's arguments.

    ``action_type`` ``None`` takes the tool's name as the action type. The
    original tool is left as it was.
    """
    if not isinstance(tool, FunctionTool):
        raise TypeError(f"govern_function_tool takes a FunctionTool, not {type(tool).__name__}")
    if _governed(tool) is not None:
        raise ValueError(f"tool {tool.name!r} is already governed by Canopy; govern the original")
    gate = _gate(
        agent_ctx=agent_ctx,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        action_type=action_type,
        record_results=record_results,
    )
    return _govern(tool, gate, OnBlock(on_block))


@dataclasses.dataclass
class _AgentGovernor:
    """Clones agents with governed tools, once per agent (handoffs may form cycles)."""

    gate: ToolGate
    on_block: OnBlock
    allow_ungoverned: bool
    clones: dict[int, tuple[Agent[Any], Agent[Any]]] = dataclasses.field(default_factory=dict)

    def agent(self, agent: Agent[Any]) -> Agent[Any]:
        if not isinstance(agent, Agent):
            raise TypeError(f"govern_agent takes an Agent, not {type(agent).__name__}")
        if any(agent is clone for _, clone in self.clones.values()):
            return agent
        known = self.clones.get(id(agent))
        if known is not None:
            return known[1]
        self._check_tool_sources(agent)
        clone = agent.clone(tools=[self.tool(agent, t) for t in agent.tools])
        self.clones[id(agent)] = (agent, clone)  # the original is kept: its id stays unique
        clone.handoffs = [self.handoff(agent, h) for h in agent.handoffs]
        return clone

    def tool(self, agent: Agent[Any], tool: Any) -> Any:
        if isinstance(tool, FunctionTool):
            return tool if _governed(tool) is not None else _govern(tool, self.gate, self.on_block)
        if self.allow_ungoverned:
            return tool
        raise TypeError(
            f"agent {agent.name!r}: tool {getattr(tool, 'name', tool)!r} is a "
            f"{type(tool).__name__}, which does not run through a Python function Canopy can "
            "wrap (hosted by OpenAI or executed by the SDK); remove it or pass "
            "allow_ungoverned=True"
        )

    def handoff(self, agent: Agent[Any], handoff: Any) -> Any:
        if isinstance(handoff, Agent):
            return self.agent(handoff)
        if isinstance(handoff, Handoff):
            reach = handoff.on_invoke_handoff

            async def governed_handoff(ctx: Any, input_json: str) -> Any:
                return self.agent(await reach(ctx, input_json))

            # The target is known only once the handoff runs: it is governed then.
            # replace(), not a copy: a copy would keep the SDK's reference to the
            # ungoverned target, which a resumed RunState would use.
            return dataclasses.replace(handoff, on_invoke_handoff=governed_handoff)
        if self.allow_ungoverned:
            return handoff
        raise TypeError(
            f"agent {agent.name!r}: handoff {handoff!r} is neither an Agent nor a Handoff; "
            "its target cannot be governed (pass allow_ungoverned=True to keep it)"
        )

    def _check_tool_sources(self, agent: Agent[Any]) -> None:
        """Refuse agents that get tools from somewhere other than ``agent.tools``."""
        if self.allow_ungoverned:
            return
        sources = []
        if agent.mcp_servers:
            sources.append(f"{len(agent.mcp_servers)} MCP server(s)")
        if getattr(agent, "capabilities", None):
            sources.append("sandbox capabilities")
        for method in ("get_all_tools", "get_mcp_tools"):
            if getattr(type(agent), method, None) is not getattr(Agent, method):
                sources.append(f"{type(agent).__name__}.{method}")
        if sources:
            raise TypeError(
                f"agent {agent.name!r} gets tools at run time from {', '.join(sources)}, which "
                "Canopy cannot govern here (for MCP, put Canopy's MCP proxy in front of the "
                "server); pass allow_ungoverned=True to accept that"
            )


def govern_agent(
    agent: Agent[Any],
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_type: str | None = None,
    on_block: OnBlock | str = OnBlock.MESSAGE,
    record_results: bool = False,
    allow_ungoverned: bool = False,
) -> Agent[Any]:
    """A clone of ``agent`` whose function tools, and its handoff targets', are governed.

    Other tool kinds, MCP servers, sandbox capabilities and agent subclasses
    that supply their own tools raise ``TypeError`` unless ``allow_ungoverned``
    (then they are kept as they are, ungoverned). Targets of ``Handoff``
    objects are governed when the handoff runs. An agent used as a tool
    (``Agent.as_tool``) is one function tool: the call to it is governed, the
    tools inside it only if that agent was governed before ``as_tool``.
    Tools already governed are kept, not governed twice. The originals are
    left as they were.
    """
    governor = _AgentGovernor(
        _gate(
            agent_ctx=agent_ctx,
            audit_log_path=audit_log_path,
            policy_file=policy_file,
            action_type=action_type,
            record_results=record_results,
        ),
        OnBlock(on_block),
        allow_ungoverned,
    )
    return governor.agent(agent)


async def run_approved(
    tool: FunctionTool,
    authorization_id: str,
    input_json: str,
    *,
    context: ToolContext[Any] | None = None,
) -> Any:
    """Run a governed tool's call that an operator approved after its REQUIRE_APPROVAL.

    ``input_json`` must be the arguments the model sent (the approval is bound
    to them); the gate checks the recorded approval, then records the execution
    and its result. ``context`` defaults to a bare ``ToolContext`` with no run
    context. Raises ``CanopyPermissionError`` when there is no usable approval.
    """
    governed = _governed(tool)
    if governed is None:
        raise TypeError(f"tool {getattr(tool, 'name', tool)!r} is not governed by Canopy")
    try:
        arguments = _parse_arguments(input_json)
    except _MalformedArgumentsError as e:
        raise ValueError(f"{governed.tool}: the arguments are {e}") from e
    if context is None:
        context = ToolContext(
            context=None,
            tool_name=governed.tool,
            tool_call_id=f"canopy-approved-{authorization_id}",
            tool_arguments=input_json,
        )
    ctx = context

    async def execute() -> Any:
        return await governed.original(ctx, input_json)

    return await governed.gate.acall_approved(authorization_id, governed.tool, arguments, execute)
