"""Canopy: decide before agents act, and keep evidence nobody can quietly rewrite.

``from canopy import authorize_action`` is the core primitive. Names are
loaded on first use so ``import canopy`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from canopy._lazy import lazy_exports

__version__ = "0.5.0"

_EXPORTS = {
    "authorize_action": "canopy.authorize",
    "Decision": "canopy.decisions.model",
    "Severity": "canopy.decisions.model",
    "CanopyPermissionError": "canopy.decisions.model",
    "Ledger": "canopy.ledger.store",
    "safe_tool": "canopy.integrations.guards",
    "guard_tool": "canopy.integrations.guards",
    "guard_tool_http": "canopy.integrations.guards",
    "prompt_for_approval": "canopy.evidence.approvals",
    "record_approval_decision": "canopy.evidence.approvals",
    "open_incident": "canopy.evidence.incidents",
}

__all__ = [
    "CanopyPermissionError",
    "Decision",
    "Ledger",
    "Severity",
    "__version__",
    "authorize_action",
    "guard_tool",
    "guard_tool_http",
    "open_incident",
    "prompt_for_approval",
    "record_approval_decision",
    "safe_tool",
]

if TYPE_CHECKING:
    from canopy.authorize import authorize_action
    from canopy.decisions.model import CanopyPermissionError, Decision, Severity
    from canopy.evidence.approvals import prompt_for_approval, record_approval_decision
    from canopy.evidence.incidents import open_incident
    from canopy.integrations.guards import guard_tool, guard_tool_http, safe_tool
    from canopy.ledger.store import Ledger


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)
