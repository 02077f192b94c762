"""Guards that put Canopy in front of an agent's tools (plain, async, LangChain, HTTP).

Names load on first use, so importing this package imports neither the
decision pipeline nor LangChain.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "safe_tool": "canopy.integrations.guards",
    "guard_tool": "canopy.integrations.guards",
    "guard_tool_http": "canopy.integrations.guards",
    "execute_approved": "canopy.integrations.guards",
}

__all__ = ["execute_approved", "guard_tool", "guard_tool_http", "safe_tool"]

if TYPE_CHECKING:
    from canopy.integrations.guards import (
        execute_approved,
        guard_tool,
        guard_tool_http,
        safe_tool,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'canopy.integrations' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
