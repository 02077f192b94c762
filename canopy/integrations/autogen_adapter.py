"""AutoGen 0.7 tools and workbenches under Canopy.

``AssistantAgent`` puts its tools in a ``StaticStreamWorkbench``, which calls
``tool.run_json(arguments, cancellation_token, call_id=...)``; ``BaseTool.run_json``
validates the arguments with the tool's args model and hands the model to
``run``. A governed tool keeps the original's name, description, schema and args
model and replaces ``run``: Canopy decides on the validated arguments (defaults
applied, keys the model invented dropped) that the original ``run`` then
receives, so the decision is on exactly what runs. The cancellation token and
the call id travel beside the arguments and never enter the payload.

A blocked call (DENY, or REQUIRE_APPROVAL without an approval) does not run.
With ``on_block="message"`` the agent gets a ``CanopyRefusal`` as the tool's
result: text that names the decision, the reason and the authorization id, so
the model can carry on without the tool. With ``on_block="raise"`` the
``CanopyPermissionError`` propagates and AutoGen reports an error result.
Once an operator approves a REQUIRE_APPROVAL, the same call with the same
arguments (the agent calling again, or ``run_json``) runs once, under that
approval; ``GovernedTool.run_approved`` runs it by authorization id.

``GovernedWorkbench`` governs any other workbench (an ``McpWorkbench``, say) by
tool name and arguments. There is no args model to validate with, so it
decides on the arguments as the model sent them.

This module imports AutoGen; ``canopy`` and ``canopy.integrations`` do not
import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, assert_never

from autogen_core import CancellationToken
from autogen_core.tools import (
    BaseTool,
    FunctionTool,
    TextResultContent,
    ToolResult,
    ToolSchema,
    Workbench,
)
from pydantic import BaseModel

from canopy.authorize import ledger_path_for
from canopy.integrations.guards import AgentContext, ApprovalCallback, PathLike, ToolGate
from canopy.integrations.refusals import Blocked, OnBlock, gated_acall

__all__ = [
    "CanopyRefusal",
    "GovernedTool",
    "GovernedWorkbench",
    "OnBlock",
    "govern_autogen_tool",
    "govern_autogen_workbench",
    "governed_tools",
]


class CanopyRefusal(str):
    """The tool result of a blocked call: text for the model, the decision for code."""

    decision: Mapping[str, Any]

    def __new__(cls, text: str, decision: Mapping[str, Any]) -> CanopyRefusal:
        refusal = super().__new__(cls, text)
        refusal.decision = decision
        return refusal


def _refusal(tool: str, blocked: Blocked, ledger: PathLike | None) -> CanopyRefusal:
    """Why ``tool`` did not run, in words a model can act on."""
    text = "\n".join(blocked.lines(tool, ledger_path_for(ledger)))
    return CanopyRefusal(text, blocked.decision)


def _gate(
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None,
    policy_file: PathLike | None,
    action_type: str | None,
    approval_callback: ApprovalCallback | None,
    record_results: bool,
) -> ToolGate:
    return ToolGate.local(
        agent_ctx=agent_ctx,
        action_type=action_type,
        on_require_approval="raise" if approval_callback is None else "callback",
        approval_callback=approval_callback,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        record_results=record_results,
    )


class GovernedTool(BaseTool[BaseModel, Any]):
    """An AutoGen tool whose every run is decided and recorded by Canopy."""

    def __init__(self, tool: BaseTool[Any, Any], gate: ToolGate, on_block: OnBlock) -> None:
        super().__init__(tool.args_type(), tool.return_type(), tool.name, tool.description)
        self._tool = tool
        self._gate = gate
        self._on_block = on_block

    @property
    def tool(self) -> BaseTool[Any, Any]:
        """The ungoverned original."""
        return self._tool

    @property
    def schema(self) -> ToolSchema:
        return self._tool.schema  # the original's, strict flag and all

    def state_type(self) -> type[BaseModel] | None:
        return self._tool.state_type()

    def return_value_as_string(self, value: Any) -> str:
        if isinstance(value, CanopyRefusal):
            return str(value)
        return self._tool.return_value_as_string(value)

    async def save_state_json(self) -> Mapping[str, Any]:
        return await self._tool.save_state_json()

    async def load_state_json(self, state: Mapping[str, Any]) -> None:
        await self._tool.load_state_json(state)

    async def run(self, args: BaseModel, cancellation_token: CancellationToken) -> Any:
        """The original's ``run`` on ``args``, if Canopy clears exactly these arguments."""
        args = self._validated(args)
        outcome = await gated_acall(
            self._gate, self.name, _payload(args), lambda: self._tool.run(args, cancellation_token)
        )
        if not isinstance(outcome, Blocked):
            return outcome
        match self._on_block:
            case OnBlock.RAISE:
                assert outcome.error is not None  # the gate raises every block
                raise outcome.error
            case OnBlock.MESSAGE:
                return _refusal(self.name, outcome, self._gate.audit_log_path)
            case unreachable:
                assert_never(unreachable)

    async def run_approved(
        self,
        authorization_id: str,
        args: Mapping[str, Any] | BaseModel,
        cancellation_token: CancellationToken | None = None,
    ) -> Any:
        """Run a call an operator approved after its REQUIRE_APPROVAL.

        The arguments must validate to the very payload that was approved; an
        unusable approval raises ``CanopyPermissionError`` whatever ``on_block``.
        """
        model = self._validated(args)
        token = cancellation_token or CancellationToken()
        return await self._gate.acall_approved(
            authorization_id, self.name, _payload(model), lambda: self._tool.run(model, token)
        )

    def _validated(self, args: Mapping[str, Any] | BaseModel) -> BaseModel:
        args_type = self._tool.args_type()
        if isinstance(args, BaseModel):
            if not isinstance(args, args_type):
                raise TypeError(
                    f"{self.name} takes {args_type.__name__} arguments, not {type(args).__name__}"
                )
            return args
        return args_type.model_validate(args)


def _payload(args: BaseModel) -> dict[str, Any]:
    """The validated arguments by field name, as JSON: what the original ``run`` reads."""
    return args.model_dump(mode="json")


def _as_autogen_tool(tool: BaseTool[Any, Any] | Callable[..., Any]) -> BaseTool[Any, Any]:
    if isinstance(tool, GovernedTool):
        raise TypeError(f"tool {tool.name!r} is already governed by Canopy")
    if isinstance(tool, BaseTool):
        if type(tool).run_json is not BaseTool.run_json:
            # Its own run_json may not go through run, where the decision is made.
            raise TypeError(
                f"cannot govern {type(tool).__name__} {tool.name!r}: it overrides run_json"
            )
        return tool
    if callable(tool):
        # The description AssistantAgent would give the function itself.
        return FunctionTool(tool, description=tool.__doc__ or "")
    raise TypeError(f"can only govern an AutoGen BaseTool or a callable, not {tool!r}")


def govern_autogen_tool(
    tool: BaseTool[Any, Any] | Callable[..., Any],
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_type: str | None = None,
    on_block: OnBlock | str = OnBlock.MESSAGE,
    approval_callback: ApprovalCallback | None = None,
    record_results: bool = False,
) -> GovernedTool:
    """``tool`` (a ``BaseTool``, or a function made into a ``FunctionTool``) under Canopy.

    ``action_type=None`` takes the tool's name as its action type. With an
    ``approval_callback`` a REQUIRE_APPROVAL asks it, and the call runs only if
    a matching approval is then on the record; without one it is a block.
    """
    return governed_tools(
        [tool],
        agent_ctx=agent_ctx,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        action_type=action_type,
        on_block=on_block,
        approval_callback=approval_callback,
        record_results=record_results,
    )[0]


def governed_tools(
    tools: Sequence[BaseTool[Any, Any] | Callable[..., Any]],
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_type: str | None = None,
    on_block: OnBlock | str = OnBlock.MESSAGE,
    approval_callback: ApprovalCallback | None = None,
    record_results: bool = False,
) -> list[GovernedTool]:
    """Every tool in ``tools`` under one gate: ``AssistantAgent(tools=governed_tools(...))``."""
    mode = OnBlock(on_block)
    gate = _gate(
        agent_ctx=agent_ctx,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        action_type=action_type,
        approval_callback=approval_callback,
        record_results=record_results,
    )
    return [GovernedTool(_as_autogen_tool(tool), gate, mode) for tool in tools]


# --- workbenches -------------------------------------------------------------------


class _ReportedError(Exception):
    """A workbench's ``is_error`` result, raised so the ledger records an error."""


class GovernedWorkbench(Workbench):
    """A workbench whose every ``call_tool`` is decided and recorded by Canopy.

    Blocks come back as results, as AutoGen's own workbenches report errors:
    ``"message"`` gives the refusal as a normal result, ``"raise"`` as an error
    result.
    """

    def __init__(self, workbench: Workbench, gate: ToolGate, on_block: OnBlock) -> None:
        self._workbench = workbench
        self._gate = gate
        self._on_block = on_block

    @property
    def workbench(self) -> Workbench:
        """The ungoverned original."""
        return self._workbench

    async def list_tools(self) -> list[ToolSchema]:
        return list(await self._workbench.list_tools())

    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> ToolResult:
        arguments = dict(arguments or {})
        results: list[ToolResult] = []

        async def execute() -> str:
            result = await self._workbench.call_tool(name, arguments, cancellation_token, call_id)
            results.append(result)
            text = result.to_text(replace_image="[image]")
            if result.is_error:
                raise _ReportedError(text)
            return text  # what the agent will read, recorded as the tool's result

        try:
            outcome = await gated_acall(self._gate, name, arguments, execute)
        except _ReportedError:
            return results[0]
        if not isinstance(outcome, Blocked):
            return results[0]
        refusal = str(_refusal(name, outcome, self._gate.audit_log_path))
        match self._on_block:
            case OnBlock.RAISE:
                return _text_result(name, refusal, is_error=True)
            case OnBlock.MESSAGE:
                return _text_result(name, refusal, is_error=False)
            case unreachable:
                assert_never(unreachable)

    async def start(self) -> None:
        await self._workbench.start()

    async def stop(self) -> None:
        await self._workbench.stop()

    async def reset(self) -> None:
        await self._workbench.reset()

    async def save_state(self) -> Mapping[str, Any]:
        return await self._workbench.save_state()

    async def load_state(self, state: Mapping[str, Any]) -> None:
        await self._workbench.load_state(state)


def _text_result(name: str, text: str, is_error: bool) -> ToolResult:
    return ToolResult(name=name, result=[TextResultContent(content=text)], is_error=is_error)


def govern_autogen_workbench(
    workbench: Workbench,
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_type: str | None = None,
    on_block: OnBlock | str = OnBlock.MESSAGE,
    approval_callback: ApprovalCallback | None = None,
    record_results: bool = False,
) -> GovernedWorkbench:
    """``workbench`` under Canopy: ``AssistantAgent(workbench=govern_autogen_workbench(...))``.

    The decision is on the arguments as the model sent them (a workbench has
    no args model to validate them with); for function tools prefer
    ``governed_tools``, which decides on the validated arguments.
    """
    if isinstance(workbench, GovernedWorkbench):
        raise TypeError("this workbench is already governed by Canopy")
    if not isinstance(workbench, Workbench):
        raise TypeError(f"can only govern an AutoGen Workbench, not {workbench!r}")
    gate = _gate(
        agent_ctx=agent_ctx,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        action_type=action_type,
        approval_callback=approval_callback,
        record_results=record_results,
    )
    return GovernedWorkbench(workbench, gate, OnBlock(on_block))
