"""Guards that put Canopy in front of an agent's tools (plain, async, LangChain, HTTP).

Names load on first use, so importing this package imports neither the
decision pipeline nor LangChain.
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
}

__all__ = ["ToolGate", "execute_approved", "guard_tool", "guard_tool_http", "safe_tool"]

if TYPE_CHECKING:
    from canopy.integrations.guards import (
        ToolGate,
        execute_approved,
        guard_tool,
        guard_tool_http,
        safe_tool,
    )


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)
