"""``canopy quickstart --framework``: the session through a framework's own tools.

Each runner builds the quickstart's dry-run tools (``quickstart_tools``) as the
framework's tool objects, puts them under Canopy's adapter for that framework,
and calls them the way the framework's agent loop does. Nothing here asks a
model: the point is what happens between a tool call and a tool body.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from canopy.cli import quickstart_tools
from canopy.integrations.guards import AgentContext

#: ``call(tool_name, arguments) -> what the agent reads back``.
ToolCaller = Callable[[str, Mapping[str, Any]], str]

#: Which extra installs each framework.
EXTRAS = {
    "langchain": "langchain",
    "langgraph": "langgraph",
    "autogen": "autogen",
    "crewai": "crewai",
}


class FrameworkMissing(RuntimeError):
    """The framework asked for is not installed."""


def _langchain(ctx: AgentContext, ledger: Path) -> ToolCaller:
    from langchain_core.tools import StructuredTool

    from canopy.decisions.model import CanopyPermissionError
    from canopy.integrations.guards import safe_tool

    tools = {
        name: safe_tool(action_type=name, agent_ctx=ctx, audit_log_path=ledger)(
            StructuredTool.from_function(fn)
        )
        for name, fn in quickstart_tools.TOOLS.items()
    }

    def call(name: str, arguments: Mapping[str, Any]) -> str:
        try:
            return str(tools[name].invoke(dict(arguments)))
        except CanopyPermissionError as e:
            return str(e)

    return call


def _langgraph(ctx: AgentContext, ledger: Path) -> ToolCaller:
    from langchain_core.messages import AIMessage
    from langchain_core.tools import StructuredTool
    from langgraph.graph import END, START, MessagesState, StateGraph

    from canopy.integrations.langgraph_adapter import governed_tool_node

    node = governed_tool_node(
        [StructuredTool.from_function(fn) for fn in quickstart_tools.TOOLS.values()],
        agent_ctx=ctx,
        audit_log_path=ledger,
        approvals="block",
    )
    graph = StateGraph(MessagesState)
    graph.add_node("tools", node)
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    app = graph.compile()
    counter = iter(range(1, 1_000_000))

    def call(name: str, arguments: Mapping[str, Any]) -> str:
        request = AIMessage(
            content="",
            tool_calls=[{"name": name, "args": dict(arguments), "id": f"call-{next(counter)}"}],
        )
        state = app.invoke({"messages": [request]})
        return str(state["messages"][-1].content)

    return call


def _autogen(ctx: AgentContext, ledger: Path) -> ToolCaller:
    from autogen_core import CancellationToken

    from canopy.integrations.autogen_adapter import governed_tools

    tools = {
        tool.name: tool
        for tool in governed_tools(
            list(quickstart_tools.TOOLS.values()), agent_ctx=ctx, audit_log_path=ledger
        )
    }

    def call(name: str, arguments: Mapping[str, Any]) -> str:
        tool = tools[name]
        result = asyncio.run(tool.run_json(dict(arguments), CancellationToken()))
        return tool.return_value_as_string(result)

    return call


def _crewai(ctx: AgentContext, ledger: Path) -> ToolCaller:
    # CrewAI reports telemetry and checks its version over the network unless told not to.
    for name, value in (
        ("CREWAI_DISABLE_TELEMETRY", "true"),
        ("OTEL_SDK_DISABLED", "true"),
        ("CREWAI_TRACING_ENABLED", "false"),
        ("CREWAI_DISABLE_VERSION_CHECK", "true"),
    ):
        os.environ.setdefault(name, value)
    from crewai.tools import tool as crewai_tool

    from canopy.integrations.crewai_adapter import governed_tools

    tools = {
        tool.name: tool
        for tool in governed_tools(
            [crewai_tool(name)(fn) for name, fn in quickstart_tools.TOOLS.items()],
            agent_ctx=ctx,
            audit_log_path=ledger,
        )
    }

    def call(name: str, arguments: Mapping[str, Any]) -> str:
        result = tools[name].run(**arguments)
        return str(getattr(result, "message", result))

    return call


_RUNNERS: dict[str, Callable[[AgentContext, Path], ToolCaller]] = {
    "langchain": _langchain,
    "langgraph": _langgraph,
    "autogen": _autogen,
    "crewai": _crewai,
}


def tool_caller(framework: str, ctx: AgentContext, ledger: Path) -> ToolCaller:
    """The quickstart's tools as ``framework`` tools under Canopy, ready to call."""
    try:
        return _RUNNERS[framework](ctx, ledger)
    except ModuleNotFoundError as e:
        raise FrameworkMissing(
            f"--framework {framework} needs {framework} installed ({e.name} is missing): "
            f"pip install 'canopy-runtime[{EXTRAS[framework]}]'"
        ) from e
