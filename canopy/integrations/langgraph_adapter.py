"""LangGraph: a ``ToolNode`` that runs a tool call only once Canopy has cleared it.

The node intercepts each call with ToolNode's public ``wrap_tool_call`` /
``awrap_tool_call`` hooks, so the decision is on exactly the arguments the
model sent (state, store and runtime are injected after it, and are not part of
the action), and the refusal can answer the model with a ``ToolMessage`` for
that ``tool_call_id``: the graph goes on and the model can adapt.

- ALLOW: the tool runs under ``ToolGate.call``, between an execution and a
  tool_result event. An error ``ToolMessage`` from the node (bad arguments, or a
  tool error turned into a message by ``handle_tool_errors``) is recorded as an
  error result.
- DENY: the tool does not run; the model gets an error ``ToolMessage`` with the
  reason and the authorization id.
- REQUIRE_APPROVAL, ``approvals="interrupt"``: ``langgraph.types.interrupt``
  hands the operator the call and how to approve it. LangGraph runs the node
  again from the start on resume, so the call is decided again (a second
  REQUIRE_APPROVAL authorization is recorded); then ``Command(resume=
  {"authorization_id": X})`` runs it under ``ToolGate.call_approved(X, ...)``,
  which checks that an approval of X is on the ledger for this exact payload,
  unexpired and unused. Anything else refuses the call.
- REQUIRE_APPROVAL, ``approvals="block"``: a refusal telling the model that an
  operator can approve it. Once approved, the model (or a later run) making the
  same call with the same arguments runs it once, under that approval.

In interrupt mode every REQUIRE_APPROVAL is answered by its own interrupt, and
the gate does not reuse approvals on its own: LangGraph matches the resume
values of one task to its ``interrupt`` calls by their order, and a call that
ran under an earlier approval without interrupting would hand its resume value
to the next call that interrupts. The resume value names the approval instead.

LangGraph runs the whole node again on resume. When one model turn makes
several calls and one of them interrupts, the calls allowed beside it run (and
are recorded) again, and the resume values of several interrupts are matched to
calls by the order in which they reach ``interrupt``. Route with
``tool_call_router`` instead of ``tools_condition``: each call then runs in its
own task (``Send``), an allowed call runs once, and each interrupt is answered
by its own id. A call that already ran under its approval is not run again on a
later resume; the model is told so, from the ledger.

Nothing here imports LangGraph or LangChain until a node is built or used.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from canopy.authorize import _jsonable, ledger_path_for, open_ledger
from canopy.decisions.model import CanopyPermissionError, Decision
from canopy.evidence.binding import action_hash
from canopy.integrations.guards import AgentContext, PathLike, ToolGate
from canopy.integrations.refusals import Blocked, approve_command, gated_acall, gated_call

if TYPE_CHECKING:
    from langchain_core.messages import ToolCall, ToolMessage
    from langchain_core.tools import BaseTool
    from langgraph.prebuilt import ToolNode
    from langgraph.prebuilt.tool_node import ToolCallRequest

__all__ = ["Approvals", "ToolCallGovernor", "governed_tool_node", "tool_call_router"]

#: What a ToolNode's execute callable (and a tool-call wrapper) returns.
Outcome = Any  # ToolMessage | Command | list[ToolMessage | Command]
Execute = Callable[["ToolCallRequest"], Outcome]
AsyncExecute = Callable[["ToolCallRequest"], Awaitable[Outcome]]

#: The ``kind`` of the value handed to ``interrupt``: how a client recognises it.
INTERRUPT_KIND = "canopy.approval_required"


class Approvals(StrEnum):
    """What the node does with REQUIRE_APPROVAL."""

    INTERRUPT = "interrupt"  # pause the graph; resume with the approved authorization id
    BLOCK = "block"  # refuse the call, telling the operator how to approve


class _ToolReportedError(Exception):
    """The node answered with an error ToolMessage: recorded as the tool's failure."""

    def __init__(self, message: ToolMessage) -> None:
        super().__init__(str(message.content))
        self.message = message


@dataclass(slots=True)
class _Run:
    """Runs the node's execute and keeps what it returned."""

    outcome: Outcome = None

    def keep(self, outcome: Outcome) -> Any:
        """What the tool_result records: the message content, not the message object."""
        from langchain_core.messages import ToolMessage

        self.outcome = outcome
        if isinstance(outcome, ToolMessage):
            if outcome.status == "error":
                raise _ToolReportedError(outcome)
            return outcome.content
        return outcome


@dataclass(frozen=True, slots=True)
class ToolCallGovernor:
    """``wrap_tool_call`` / ``awrap_tool_call`` hooks deciding each call with Canopy.

    ``governed_tool_node`` builds one; use it directly to govern a ToolNode you
    build yourself (``ToolNode(tools, wrap_tool_call=g.wrap, awrap_tool_call=g.awrap)``).
    ``action_types`` maps a tool name to the action type it is decided as; other
    tools are decided as their own name.
    """

    agent_ctx: AgentContext
    audit_log_path: PathLike | None = None
    policy_file: PathLike | None = None
    action_types: Mapping[str, str] = field(default_factory=dict)
    approvals: Approvals = Approvals.INTERRUPT
    record_results: bool = False
    gate: ToolGate = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "approvals", Approvals(self.approvals))
        object.__setattr__(self, "action_types", dict(self.action_types))
        # "return": REQUIRE_APPROVAL comes back as a decision, for interrupt or block.
        # Interrupts name their approval; reuse would shift their order (module doc).
        gate = ToolGate.local(
            agent_ctx=self.agent_ctx,
            on_require_approval="return",
            audit_log_path=self.audit_log_path,
            policy_file=self.policy_file,
            record_results=self.record_results,
            reuse_approvals=self.approvals is Approvals.BLOCK,
        )
        object.__setattr__(self, "gate", gate)

    def wrap(self, request: ToolCallRequest, execute: Execute) -> Outcome:
        """Decide the call, then run it, pause for approval, or refuse it."""
        if request.tool is None:  # unknown tool: the node answers without running anything
            return execute(request)
        call = request.tool_call
        name, action_type, run = call["name"], self.action_types.get(call["name"]), _Run()
        try:
            blocked = gated_call(
                self.gate,
                name,
                call["args"],
                lambda: run.keep(execute(request)),
                action_type=action_type,
            )
            if not isinstance(blocked, Blocked):
                return run.outcome
            approved = self._approved_authorization(call, blocked)
            if not isinstance(approved, str):
                return approved
            try:
                self.gate.call_approved(
                    approved,
                    name,
                    call["args"],
                    lambda: run.keep(execute(request)),
                    action_type=action_type,
                )
            except CanopyPermissionError as e:
                return self._already_ran(call, approved) or self._refusal(
                    call, Blocked(e.decision, e)
                )
            return run.outcome
        except _ToolReportedError as e:
            return e.message

    async def awrap(self, request: ToolCallRequest, execute: AsyncExecute) -> Outcome:
        """``wrap`` for ``graph.ainvoke``."""
        if request.tool is None:
            return await execute(request)
        call = request.tool_call
        name, action_type, run = call["name"], self.action_types.get(call["name"]), _Run()

        async def run_once() -> Any:
            return run.keep(await execute(request))

        try:
            blocked = await gated_acall(
                self.gate, name, call["args"], run_once, action_type=action_type
            )
            if not isinstance(blocked, Blocked):
                return run.outcome
            approved = self._approved_authorization(call, blocked)
            if not isinstance(approved, str):
                return approved
            try:
                await self.gate.acall_approved(
                    approved, name, call["args"], run_once, action_type=action_type
                )
            except CanopyPermissionError as e:
                return self._already_ran(call, approved) or self._refusal(
                    call, Blocked(e.decision, e)
                )
            return run.outcome
        except _ToolReportedError as e:
            return e.message

    def _refusal(self, call: ToolCall, blocked: Blocked) -> ToolMessage:
        ledger = ledger_path_for(self.audit_log_path)
        return _message(call, "\n".join(blocked.lines(call["name"], ledger)), blocked.decision)

    def _approved_authorization(self, call: ToolCall, blocked: Blocked) -> str | ToolMessage:
        """The authorization id to run under, or the refusal to answer with."""
        decision = blocked.decision
        if blocked.error is not None or self.approvals is Approvals.BLOCK:
            return self._refusal(call, blocked)
        assert Decision(decision["decision"]) is Decision.REQUIRE_APPROVAL
        request = _approval_request(call, decision, self.audit_log_path)
        from langgraph.types import interrupt

        answer = interrupt(request)
        if isinstance(answer, Mapping) and answer.get("approved", True) is False:
            return _message(
                call, f"The operator rejected {call['name']}; the tool was not run.", decision
            )
        authorization_id = answer.get("authorization_id") if isinstance(answer, Mapping) else None
        if not isinstance(authorization_id, str) or not authorization_id:
            return _message(
                call,
                f"{call['name']} was not run: the graph was resumed with {answer!r}, not "
                '{"authorization_id": ...} naming an approved authorization.',
                decision,
            )
        return authorization_id

    def _already_ran(self, call: ToolCall, authorization_id: str) -> ToolMessage | None:
        """The answer for a call that already ran under this approval, from the ledger.

        LangGraph runs the whole node again on each resume: with two approvals in
        one model turn, the first approved call ran before the second interrupt,
        and its approval is spent. It is not run again, and the model is told
        what happened rather than that it was refused.
        """
        found = open_ledger(self.audit_log_path).find(authorization_id=authorization_id)
        by_kind = {event.kind: event for event in found}
        auth, execution = by_kind.get("authorization"), by_kind.get("execution")
        result = by_kind.get("tool_result")
        if auth is None or execution is None or result is None:
            return None
        wanted = action_hash(
            str(auth.fields.get("action_type")),
            _jsonable(dict(call["args"])),
            str(auth.fields.get("avid")),
        )
        same_call = execution.fields.get("tool") == call["name"]
        if not same_call or execution.fields.get("action_hash") != wanted:
            return None
        ok = result.fields.get("status") == "ok"
        if ok and "result" in result.fields:
            content = _content(result.fields["result"])
        else:
            outcome = "succeeded" if ok else f"failed ({result.fields.get('error_message')})"
            content = (
                f"{call['name']} already ran under the approval of {authorization_id} and "
                f"{outcome} (execution event {execution.seq}); it was not run again, and its "
                "output was not recorded."
            )
        return _message(
            call,
            content,
            {"decision": Decision.REQUIRE_APPROVAL, "authorization_id": authorization_id},
            status="success" if ok else "error",
        )


def _content(result: Any) -> str:
    """A recorded result as ToolMessage content."""
    if isinstance(result, str):
        return result
    return json.dumps(result, ensure_ascii=False)


def _approval_request(
    call: ToolCall, decision: Mapping[str, Any], audit_log_path: PathLike | None
) -> dict[str, Any]:
    """The JSON-able value handed to ``interrupt``: the call and how to approve it."""
    authorization_id = str(decision.get("authorization_id"))
    ledger = str(ledger_path_for(audit_log_path))
    return {
        "kind": INTERRUPT_KIND,
        "tool": call["name"],
        "tool_call_id": call.get("id"),
        "args": _jsonable(dict(call["args"])),
        "action_type": decision.get("action_type"),
        "reason": decision.get("reason"),
        "authorization_id": authorization_id,
        "ledger": ledger,
        "approve_cli": approve_command(ledger, authorization_id),
        "approve_python": (
            f"canopy.record_approval_decision({authorization_id!r}, True, 'NAME', 'why', "
            f"audit_log_path={ledger!r})"
        ),
        "resume": {"authorization_id": authorization_id},
    }


def _message(
    call: ToolCall,
    content: str | list[Any],
    decision: Mapping[str, Any],
    *,
    status: Literal["success", "error"] = "error",
) -> ToolMessage:
    """A ToolMessage answering the call; the decision rides along as the artifact."""
    from langchain_core.messages import ToolMessage

    verdict = decision.get("decision")
    return ToolMessage(
        content=content,
        tool_call_id=call["id"],
        name=call["name"],
        status=status,
        artifact={
            "canopy": {
                "decision": str(verdict) if verdict is not None else None,
                "reason": decision.get("reason"),
                "authorization_id": decision.get("authorization_id"),
            }
        },
    )


def governed_tool_node(
    tools: Sequence[BaseTool | Callable[..., Any]],
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_types: Mapping[str, str] | None = None,
    approvals: Approvals | str = Approvals.INTERRUPT,
    record_results: bool = False,
    **tool_node_kwargs: Any,
) -> ToolNode:
    """A ``langgraph.prebuilt.ToolNode`` whose every tool call Canopy decides first.

    ``tool_node_kwargs`` go to ``ToolNode``. A ``wrap_tool_call`` /
    ``awrap_tool_call`` given there runs outside Canopy's, so Canopy decides on
    the call as it will actually run, even if that wrapper rewrote or retried it.
    ``approvals="interrupt"`` needs a checkpointer on the compiled graph.
    """
    from langgraph.prebuilt import ToolNode

    governor = ToolCallGovernor(
        agent_ctx=agent_ctx,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        action_types=action_types or {},
        approvals=Approvals(approvals),
        record_results=record_results,
    )
    wrap, awrap = _hooks(
        governor,
        tool_node_kwargs.pop("wrap_tool_call", None),
        tool_node_kwargs.pop("awrap_tool_call", None),
    )
    node = ToolNode(tools, wrap_tool_call=wrap, awrap_tool_call=awrap, **tool_node_kwargs)
    unknown = sorted(set(governor.action_types) - set(node.tools_by_name))
    if unknown:
        raise ValueError(
            f"action_types names tools the node does not have: {unknown} "
            f"(its tools: {sorted(node.tools_by_name)})"
        )
    return node


def _hooks(
    governor: ToolCallGovernor,
    outer: Callable[..., Outcome] | None,
    aouter: Callable[..., Awaitable[Outcome]] | None,
) -> tuple[Callable[..., Outcome], Callable[..., Awaitable[Outcome]] | None]:
    """Canopy's hooks, innermost: a caller's wrapper is decided on what it executes."""
    if outer is None and aouter is None:
        return governor.wrap, governor.awrap
    wrap: Callable[..., Outcome] = governor.wrap
    if outer is not None:

        def wrap(request: ToolCallRequest, execute: Execute) -> Outcome:
            return outer(request, lambda r: governor.wrap(r, execute))

    if aouter is None:
        return wrap, None  # a sync-only wrapper: ToolNode runs it in async graphs too

    async def awrap(request: ToolCallRequest, execute: AsyncExecute) -> Outcome:
        return await aouter(request, lambda r: governor.awrap(r, execute))

    return wrap, awrap


def tool_call_router(
    node: str = "tools", *, messages_key: str = "messages"
) -> Callable[[Any], Any]:
    """``tools_condition`` that sends each tool call to its own run of ``node``.

    With one task per call, a resume re-runs only the task that interrupted, so
    nothing allowed beside it runs twice, and each approval reaches its own
    call. Use as ``add_conditional_edges("agent", tool_call_router(), ["tools", END])``.
    """
    from langgraph.graph import END
    from langgraph.types import Send

    def route(state: Any) -> Any:
        if isinstance(state, list):
            messages = state
        elif isinstance(state, Mapping):
            messages = state.get(messages_key, [])
        else:
            messages = getattr(state, messages_key, [])
        calls = getattr(messages[-1], "tool_calls", None) if messages else None
        if not calls:
            return END
        return [Send(node, [{**call, "type": "tool_call"}]) for call in calls]

    return route
