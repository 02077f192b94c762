"""What an agent reads when Canopy blocks a tool call, the same in every adapter.

Framework adapters return a refusal to the model instead of raising, so the
run goes on and the model can adapt. The words matter: the model must learn
that the tool did not run, why, which authorization to cite, and, for
REQUIRE_APPROVAL, that an operator can approve it, after which the very same
call runs once (``ToolGate`` reuses the approval).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from canopy.decisions.model import Decision

__all__ = ["OnBlock", "approve_command", "refusal_lines"]


class OnBlock(StrEnum):
    """What an adapter does with a blocked call."""

    MESSAGE = "message"  # the model reads a refusal as the tool's result; the run goes on
    RAISE = "raise"  # CanopyPermissionError out of the tool


def approve_command(ledger: Any, authorization_id: str) -> str:
    """The operator's command that approves ``authorization_id``, ready to paste."""
    return (
        f"canopy approvals approve {shlex.quote(str(ledger))} "
        f"{shlex.quote(str(authorization_id))} --approver NAME"
    )


def refusal_lines(
    tool: str, decision: Mapping[str, Any], ledger: Any, error: BaseException | None = None
) -> list[str]:
    """The refusal as lines: what was blocked, the decision, the reason, what next.

    ``error`` is the exception that blocked the call; when it happened after
    the decision (an approval that does not fit, evidence that could not be
    written), its message is the reason the call did not run.
    """
    verdict = decision.get("decision")
    authorization_id = decision.get("authorization_id")
    blocked_by_decision = verdict in (Decision.DENY, Decision.REQUIRE_APPROVAL)
    reason = decision.get("reason") if blocked_by_decision or error is None else str(error)
    lines = [
        f"Canopy blocked this call to {tool}; the tool did not run.",
        f"decision: {verdict if blocked_by_decision else 'BLOCKED'}",
        f"reason: {reason}",
        f"authorization_id: {authorization_id or 'none (nothing was decided)'}",
    ]
    if verdict == Decision.REQUIRE_APPROVAL and authorization_id:
        lines.append(
            "It needs an operator's approval: "
            f"`{approve_command(ledger, str(authorization_id))}`. Once approved, the same "
            "call with the same arguments runs once. Until then, tell the user it is "
            "waiting for approval instead of retrying."
        )
    else:
        lines.append("Do not retry this call with the same arguments.")
    return lines
