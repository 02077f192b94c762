"""CrewAI tools under a Canopy gate.

``govern_crewai_tool(tool, agent_ctx=...)`` returns a copy of a CrewAI tool with
the same class, name, description and ``args_schema``; every way CrewAI runs it
goes through a ``ToolGate`` with the arguments the tool body receives:

* a function tool (``@tool``, ``Tool(func=...)``) gets a gated ``func``. ``run``,
  ``_run``, ``arun`` and ``_arun`` all call ``func``, and an agent reaches the
  tool through exactly these: text (ReAct) agents call
  ``tool.to_structured_tool().invoke()``, which runs ``_run``; agents with native
  function calling call ``tool.run``. Both validate the arguments against
  ``args_schema`` first, so Canopy decides on the validated, defaulted values;
* any other ``BaseTool`` becomes an instance of a subclass whose ``_run`` (and
  ``_arun`` when the class has its own) is gated. A class that overrides
  ``run`` or ``arun`` is refused: Canopy could not see every call they make.

A blocked call (DENY, REQUIRE_APPROVAL) never runs the body. With
``on_block="message"`` the tool returns a ``crewai.tools.ToolFailure`` instead
of raising: the agent reads its text (decision, reason, authorization id and,
for REQUIRE_APPROVAL, the ``canopy approvals approve`` command), CrewAI records
it on ``TaskOutput.tool_failures``, it never becomes a ``result_as_answer``
final answer, it is never cached (a later call is decided again), and
``tool_failure_policy="raise"`` aborts the crew on it. With ``on_block="raise"``
the tool raises ``CanopyPermissionError``; CrewAI agents catch tool errors and
show them to the model (text agents first retry the call, each retry a new
decision), so ``"raise"`` is for code that calls tools itself.

Once an operator approves a REQUIRE_APPROVAL, the same call with the same
arguments (the agent calling again, or ``tool.run``) runs once, under that
approval; each call is still decided and recorded. ``run_approved`` runs it
from code that holds the authorization id.

CrewAI sends telemetry and can upload traces. Without network access, or to
keep tool arguments private, set before importing ``crewai``:
``CREWAI_DISABLE_TELEMETRY=true``, ``OTEL_SDK_DISABLED=true``,
``CREWAI_TRACING_ENABLED=false`` and ``CREWAI_DISABLE_VERSION_CHECK=true``.

This module imports ``crewai``; ``import canopy`` does not import this module.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from crewai.tools import BaseTool, ToolFailure
from crewai.tools.base_tool import Tool
from pydantic import PrivateAttr

from canopy.authorize import ledger_path_for
from canopy.decisions.model import CanopyPermissionError, Decision
from canopy.integrations.guards import AgentContext, PathLike, ToolGate
from canopy.integrations.refusals import Blocked, OnBlock, gated_acall, gated_call

__all__ = ["OnBlock", "govern_crewai_tool", "governed_tools", "is_refusal", "run_approved"]

T = TypeVar("T")

#: ``ToolFailure.code`` of a Canopy refusal, by decision.
_REFUSAL_CODES = {
    Decision.DENY: "canopy_deny",
    Decision.REQUIRE_APPROVAL: "canopy_require_approval",
}
_BLOCKED_CODE = "canopy_blocked"  # refused before a decision could be used (e.g. ledger error)
_METHODS = ("run", "_run", "arun", "_arun")


# --- one decision per call -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Governor:
    """Gates one tool's calls; turns a blocked call into a refusal or an error."""

    gate: ToolGate
    tool: str
    fields: tuple[str, ...]  # args_schema fields, to name positional arguments
    on_block: OnBlock

    def arguments(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, as CrewAI names positional ones."""
        if len(args) > len(self.fields):
            raise TypeError(
                f"{self.tool} takes at most {len(self.fields)} positional arguments "
                f"({', '.join(self.fields) or 'none'}), got {len(args)}"
            )
        named = dict(zip(self.fields, args, strict=False))
        if clash := sorted(named.keys() & kwargs.keys()):
            raise TypeError(f"{self.tool} got multiple values for {', '.join(clash)}")
        return {**named, **kwargs}

    def call(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], body: Callable[[], T]) -> Any:
        outcome = gated_call(self.gate, self.tool, self.arguments(args, kwargs), body)
        return self.refusal(outcome) if isinstance(outcome, Blocked) else outcome

    async def acall(
        self, args: tuple[Any, ...], kwargs: Mapping[str, Any], body: Callable[[], Awaitable[T]]
    ) -> Any:
        outcome = await gated_acall(self.gate, self.tool, self.arguments(args, kwargs), body)
        return self.refusal(outcome) if isinstance(outcome, Blocked) else outcome

    def refusal(self, blocked: Blocked) -> ToolFailure:
        """What the agent reads instead of a result (``"raise"``: the gate's error)."""
        if self.on_block is OnBlock.RAISE and blocked.error is not None:
            raise blocked.error
        decision = blocked.decision
        verdict = decision.get("decision")
        blocked_by_decision = verdict in _REFUSAL_CODES
        reason = decision.get("reason") if blocked_by_decision else str(blocked.error)
        ledger = ledger_path_for(self.gate.audit_log_path)
        return ToolFailure(
            message="\n".join(blocked.lines(self.tool, ledger)),
            code=_REFUSAL_CODES[verdict] if blocked_by_decision else _BLOCKED_CODE,
            details={
                "decision": str(verdict) if blocked_by_decision else None,
                "reason": reason,
                "authorization_id": decision.get("authorization_id"),
                "tool": self.tool,
            },
        )


def is_refusal(result: Any) -> bool:
    """Whether a tool result is a governed tool's refusal."""
    return isinstance(result, ToolFailure) and result.code in (
        *_REFUSAL_CODES.values(),
        _BLOCKED_CODE,
    )


@dataclass(frozen=True, slots=True)
class _NoCachedRefusals:
    """A tool's ``cache_function`` that never caches a refusal.

    A cached refusal would answer the next identical call without a decision,
    also after the policy changed or an operator approved.
    """

    inner: Callable[..., Any]

    def __call__(self, arguments: Any = None, result: Any = None) -> bool:
        return not is_refusal(result) and bool(self.inner(arguments, result))


# --- function tools: a gated func ------------------------------------------------


def _is_async(fn: Callable[..., Any]) -> bool:
    call = getattr(fn, "__call__", None)  # noqa: B004 -- callable objects with async __call__
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _gated_function(governor: _Governor, fn: Callable[..., Any]) -> Callable[..., Any]:
    if _is_async(fn):

        @functools.wraps(fn)
        async def governed_async(*args: Any, **kwargs: Any) -> Any:
            return await governor.acall(args, kwargs, lambda: fn(*args, **kwargs))

        governed: Callable[..., Any] = governed_async
    else:

        @functools.wraps(fn)
        def governed_sync(*args: Any, **kwargs: Any) -> Any:
            return governor.call(args, kwargs, lambda: fn(*args, **kwargs))

        governed = governed_sync
    governed.__canopy_governor__ = governor  # type: ignore[attr-defined]
    governed.__canopy_body__ = fn  # type: ignore[attr-defined]
    return governed


# --- other tools: a subclass with a gated _run -----------------------------------


def _governor_of_instance(tool: BaseTool) -> _Governor:
    governor = getattr(tool, "_canopy_governor", None)
    if not isinstance(governor, _Governor):
        # A copy made without govern_crewai_tool, e.g. restored from a checkpoint.
        raise CanopyPermissionError(
            f"{tool.name} not run: this governed tool has no Canopy gate "
            "(govern the original tool again)",
            {"decision": Decision.DENY, "reason": "governed tool without a gate"},
        )
    return governor


def _gated_method(method: Callable[..., Any]) -> Callable[..., Any]:
    if _is_async(method):

        @functools.wraps(method)
        async def governed_async(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
            governor = _governor_of_instance(self)
            return await governor.acall(args, kwargs, lambda: method(self, *args, **kwargs))

        return governed_async

    @functools.wraps(method)
    def governed_sync(self: BaseTool, *args: Any, **kwargs: Any) -> Any:
        governor = _governor_of_instance(self)
        return governor.call(args, kwargs, lambda: method(self, *args, **kwargs))

    return governed_sync


@functools.cache
def _governed_class(cls: type[BaseTool]) -> type[BaseTool]:
    """One gated subclass per tool class; the gate itself lives on each instance.

    Its own name keeps CrewAI's checkpoint registry entry of ``cls`` intact; a
    governed tool restored from a checkpoint has no gate and refuses to run.
    """
    name = f"Canopy{cls.__name__}"
    namespace: dict[str, Any] = {
        "__module__": __name__,
        "__qualname__": name,
        "__doc__": cls.__doc__,
        "__slots__": (),
        "_canopy_governor": PrivateAttr(default=None),
        "_run": _gated_method(cls._run),
    }
    if cls._arun is not BaseTool._arun:  # the default only raises NotImplementedError
        namespace["_arun"] = _gated_method(cls._arun)
    return type(name, (cls,), namespace)


# --- public API --------------------------------------------------------------------


def _shape(tool: BaseTool) -> str:
    """``"function"`` or ``"subclass"``: how to gate this tool; raises if it cannot be."""
    cls = type(tool)
    if isinstance(tool, Tool):
        if any(getattr(cls, m) is not getattr(Tool, m) for m in _METHODS):
            raise TypeError(
                f"cannot govern {cls.__name__}: it overrides Tool's run/_run/arun/_arun, "
                "so a gated func would not see every call"
            )
        return "function"
    if cls.run is not BaseTool.run or cls.arun is not BaseTool.arun:
        raise TypeError(
            f"cannot govern {cls.__name__}: it overrides run or arun, which CrewAI agents "
            "call directly; gate _run/_arun instead"
        )
    return "subclass"


def _govern(tool: BaseTool, gate: ToolGate, on_block: OnBlock) -> BaseTool:
    if not isinstance(tool, BaseTool):
        raise TypeError(f"expected a crewai.tools.BaseTool, got {type(tool).__name__}")
    if _governor(tool) is not None:
        raise ValueError(f"tool {tool.name!r} is already governed by Canopy")
    shape = _shape(tool)
    schema = tool.args_schema
    fields = tuple(schema.model_fields) if schema is not None else ()
    governor = _Governor(gate, tool.name, fields, on_block)
    update: dict[str, Any] = {"cache_function": _NoCachedRefusals(tool.cache_function)}
    if shape == "function":
        update["func"] = _gated_function(governor, tool.func)
        return tool.model_copy(update=update)
    governed = tool.model_copy(update=update)
    object.__setattr__(governed, "__class__", _governed_class(type(tool)))
    governed._canopy_governor = governor  # type: ignore[attr-defined]
    return governed


def _gate(
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None,
    policy_file: PathLike | None,
    action_type: str | None,
    on_block: OnBlock | str,
    record_results: bool,
) -> tuple[ToolGate, OnBlock]:
    mode = OnBlock(on_block)
    gate = ToolGate.local(
        agent_ctx=agent_ctx,
        action_type=action_type,
        on_require_approval="raise",  # a block: refused in text or raised, by on_block
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        record_results=record_results,
    )
    return gate, mode


def govern_crewai_tool(
    tool: BaseTool,
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_type: str | None = None,
    on_block: OnBlock | str = OnBlock.MESSAGE,
    record_results: bool = False,
) -> BaseTool:
    """A copy of ``tool`` whose every run is decided by Canopy first.

    ``action_type`` ``None`` decides each call as the tool's name (Canopy
    normalises aliases such as "Run Shell" and inspects commands, paths and URLs
    in any argument). ``agent_ctx`` is a dict or a zero-argument callable
    returning one. The original tool is left ungoverned.
    """
    gate, mode = _gate(
        agent_ctx=agent_ctx,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        action_type=action_type,
        on_block=on_block,
        record_results=record_results,
    )
    return _govern(tool, gate, mode)


def governed_tools(
    tools: Iterable[BaseTool],
    *,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    action_type: str | None = None,
    on_block: OnBlock | str = OnBlock.MESSAGE,
    record_results: bool = False,
) -> list[BaseTool]:
    """``govern_crewai_tool`` for each tool, all behind one gate (for ``Agent(tools=...)``)."""
    gate, mode = _gate(
        agent_ctx=agent_ctx,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        action_type=action_type,
        on_block=on_block,
        record_results=record_results,
    )
    return [_govern(tool, gate, mode) for tool in tools]


def _governor(tool: BaseTool) -> _Governor | None:
    if isinstance(tool, Tool):
        governor = getattr(tool.func, "__canopy_governor__", None)
    else:
        governor = getattr(tool, "_canopy_governor", None)
    return governor if isinstance(governor, _Governor) else None


def run_approved(tool: BaseTool, authorization_id: str, /, **arguments: Any) -> Any:
    """Run a call of a governed tool that an operator approved after REQUIRE_APPROVAL.

    The arguments are validated like ``tool.run`` does, so they match what
    Canopy decided on; the call runs only if the approval is on the record, for
    exactly these arguments, unexpired and unused (``ToolGate.call_approved``).
    Execution and tool_result events are written as for any call.
    """
    governor = _governor(tool)
    if governor is None:
        raise TypeError(f"tool {tool.name!r} is not governed by Canopy")
    schema = tool.args_schema
    if schema is not None and schema.model_fields:
        arguments = schema.model_validate(arguments).model_dump()
    if isinstance(tool, Tool):
        body: Callable[..., Any] = tool.func.__canopy_body__  # type: ignore[attr-defined]
    else:
        body = super(type(tool), tool)._run  # the tool class's own, ungated _run

    def execute() -> Any:
        result = body(**arguments)
        return asyncio.run(result) if inspect.iscoroutine(result) else result

    return governor.gate.call_approved(authorization_id, governor.tool, arguments, execute)
