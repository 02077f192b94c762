"""What an agent reads when Canopy blocks a tool call, the same in every adapter.

Framework adapters return a refusal to the model instead of raising, so the
run goes on and the model can adapt. The words matter: the model must learn
that the tool did not run, why, which authorization to cite, and, for
REQUIRE_APPROVAL, that an operator can approve it, after which the very same
call runs once (``ToolGate`` reuses the approval).

``gated_call`` / ``gated_acall`` run a call through a ``ToolGate`` and tell a
block (nothing ran) from the tool's own errors, which every adapter needs.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from canopy.decisions.model import CanopyPermissionError, Decision

if TYPE_CHECKING:
    from canopy.integrations.guards import ToolGate

__all__ = [
    "Blocked",
    "OnBlock",
    "approve_command",
    "gated_acall",
    "gated_call",
    "refusal_lines",
]

T = TypeVar("T")

#: How the gate's own DENY / REQUIRE_APPROVAL errors begin (``guards._first_step``).
#: Any other ``CanopyPermissionError`` stopped the call after the decision.
_DECISION_ERRORS = ("Canopy denied ", "Canopy requires approval ")


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


def _after_decision(error: BaseException, reason: Any) -> bool:
    """Whether ``error`` says more than the decision: it stopped the call afterwards."""
    message = str(error)
    return not message.startswith(_DECISION_ERRORS) and str(reason) not in message


def refusal_lines(
    tool: str, decision: Mapping[str, Any], ledger: Any, error: BaseException | None = None
) -> list[str]:
    """The refusal as lines: what was blocked, the decision, the reason, what next.

    ``error`` is the exception that blocked the call. When it happened after
    the decision (an approval that does not fit, evidence that could not be
    written, a failing ``agent_ctx``), its message says why the call did not
    run: as the reason if there was no DENY or REQUIRE_APPROVAL, else on a
    ``why it did not run:`` line of its own.
    """
    verdict = decision.get("decision")
    authorization_id = decision.get("authorization_id")
    blocked_by_decision = verdict in (Decision.DENY, Decision.REQUIRE_APPROVAL)
    reason = decision.get("reason") if blocked_by_decision or error is None else str(error)
    lines = [
        f"Canopy blocked this call to {tool}; the tool did not run.",
        f"decision: {verdict if blocked_by_decision else 'BLOCKED'}",
    ]
    if decision.get("action_type"):
        lines.append(f"action_type: {decision['action_type']}")
    lines += [
        f"reason: {reason}",
        f"authorization_id: {authorization_id or 'none (nothing was decided)'}",
    ]
    if blocked_by_decision and error is not None and _after_decision(error, reason):
        lines.append(f"why it did not run: {error}")
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


@dataclass(frozen=True, slots=True)
class Blocked:
    """A call the gate did not let start: nothing ran.

    ``error`` is what the gate raised; ``None`` when it handed a REQUIRE_APPROVAL
    decision back (``on_require_approval="return"``).
    """

    decision: Mapping[str, Any]
    error: CanopyPermissionError | None = None

    def lines(self, tool: str, ledger: Any) -> list[str]:
        """``refusal_lines`` of this block."""
        return refusal_lines(tool, self.decision, ledger, self.error)


@dataclass(slots=True)
class _Watch(Generic[T]):
    """Wraps a gate's ``execute`` to know whether the gate let it start."""

    execute: Callable[[], T]
    started: bool = False

    def run(self) -> T:
        self.started = True
        return self.execute()

    def outcome(self, returned: Any) -> Any:
        """What the gate returned: the result, or a REQUIRE_APPROVAL it handed back."""
        return returned if self.started else Blocked(returned)

    def blocked(self, error: CanopyPermissionError) -> Blocked:
        if self.started:
            raise error  # the tool's own error, recorded by the gate as its result
        return Blocked(error.decision, error)


def gated_call(
    gate: ToolGate,
    tool: str,
    arguments: Mapping[str, Any],
    execute: Callable[[], T],
    *,
    action_type: str | None = None,
) -> T | Blocked:
    """``gate.call``: ``execute()``'s result if it ran, ``Blocked`` if the gate stopped it.

    A ``CanopyPermissionError`` raised once ``execute`` started is the tool's
    own (a nested guard, say): it propagates, as do all the tool's errors.
    """
    watch = _Watch(execute)
    try:
        returned = gate.call(tool, arguments, watch.run, action_type=action_type)
        return watch.outcome(returned)  # type: ignore[no-any-return]
    except CanopyPermissionError as e:
        return watch.blocked(e)


async def gated_acall(
    gate: ToolGate,
    tool: str,
    arguments: Mapping[str, Any],
    execute: Callable[[], Awaitable[T]],
    *,
    action_type: str | None = None,
) -> T | Blocked:
    """``gated_call`` for an async ``execute`` (``gate.acall``)."""
    watch = _Watch(execute)
    try:
        returned = await gate.acall(tool, arguments, watch.run, action_type=action_type)
        return watch.outcome(returned)  # type: ignore[no-any-return]
    except CanopyPermissionError as e:
        return watch.blocked(e)
