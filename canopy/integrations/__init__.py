"""Guards that put Canopy in front of an agent's tools.

``safe_tool`` for functions and LangChain tools, ``guard_tool_http`` for a
remote gateway, ``ToolGate`` for calls that arrive as a name and arguments,
and one adapter per framework: LangGraph (``governed_tool_node``), OpenAI
Agents SDK (``govern_agent``, ``govern_function_tool``), AutoGen
(``govern_autogen_tool``, ``govern_autogen_workbench``), CrewAI
(``govern_crewai_tool``); ``canopy mcp-proxy`` governs MCP servers.

Names load on first use, so importing this package imports neither the
decision pipeline nor any framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canopy._lazy import lazy_exports

_EXPORTS = {
    "safe_tool": "canopy.integrations.guards",
    "guard_tool": "canopy.integrations.guards",
    "guard_tool_http": "canopy.integrations.guards",
    "execute_approved": "canopy.integrations.guards",
    "ToolGate": "canopy.integrations.guards",
    "governed_tool_node": "canopy.integrations.langgraph_adapter",
    "tool_call_router": "canopy.integrations.langgraph_adapter",
    "govern_agent": "canopy.integrations.openai_agents_adapter",
    "govern_function_tool": "canopy.integrations.openai_agents_adapter",
    "govern_autogen_tool": "canopy.integrations.autogen_adapter",
    "govern_autogen_workbench": "canopy.integrations.autogen_adapter",
    "govern_crewai_tool": "canopy.integrations.crewai_adapter",
}

__all__ = [
    "ToolGate",
    "execute_approved",
    "govern_agent",
    "govern_autogen_tool",
    "govern_autogen_workbench",
    "govern_crewai_tool",
    "govern_function_tool",
    "governed_tool_node",
    "guard_tool",
    "guard_tool_http",
    "safe_tool",
    "tool_call_router",
]

if TYPE_CHECKING:
    from canopy.integrations.autogen_adapter import govern_autogen_tool, govern_autogen_workbench
    from canopy.integrations.crewai_adapter import govern_crewai_tool
    from canopy.integrations.guards import (
        ToolGate,
        execute_approved,
        guard_tool,
        guard_tool_http,
        safe_tool,
    )
    from canopy.integrations.langgraph_adapter import governed_tool_node, tool_call_router
    from canopy.integrations.openai_agents_adapter import govern_agent, govern_function_tool


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)
