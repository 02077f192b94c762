"""Tool guards: decide before a tool runs, and record what it did.

``@safe_tool`` wraps a function, an ``async def``, or a LangChain tool. Each call

1. builds the payload from the call's bound arguments: every parameter by name,
   defaults applied, ``**kwargs`` merged at the top level, JSON-converted. The
   seed package looked only at a parameter literally named ``command``, so
   ``def run(c)`` ran ``rm -rf /`` as ALLOW; here the analyzers see the real
   command, path or URL whatever the parameter is called;
2. asks the authorizer (``authorize_action``: one signed ``authorization`` event);
3. on DENY raises ``CanopyPermissionError`` and writes nothing else: the
   ledger can later prove the tool never ran;
4. on REQUIRE_APPROVAL raises (default), returns the decision without running,
   or asks ``approval_callback`` and then checks the ledger: an approval must be
   on the record for exactly this payload, approved, unexpired and unused;
5. writes an ``execution`` event (bound to the action hash, and to the approval)
   before the tool runs, and a ``tool_result`` event after it, ok or error, with
   the duration and the SHA-256 of the canonical result (the result itself only
   with ``record_results=True``). The tool's exceptions are recorded, then
   re-raised unchanged.

The signature is read once, at decoration. Ledger writes are durable before the
call goes on. Inside ``async`` tools they run on a worker thread, so waiting
for the disk (or for another process's write lock) never stalls the event
loop; a call cancelled meanwhile never runs its tool, and if its execution
event was already written a ``tool_result`` says it was cancelled before
running. ``execute_approved`` runs a call whose REQUIRE_APPROVAL was approved
later (by an operator), under the same checks.

``guard_tool_http`` asks an HTTP gateway instead (``http_gateway``); its
REQUIRE_APPROVAL is a block, and its execution and tool-result events are
recorded in a local ledger only when ``audit_log_path`` is given (the
authorization itself lives in the gateway's ledger).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import functools
import inspect
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, Protocol, TypeVar, assert_never

from canopy.authorize import _jsonable, authorize_action, open_ledger
from canopy.decisions.extract import normalize_action_type
from canopy.decisions.model import CanopyPermissionError, Decision
from canopy.errors import CanopyError
from canopy.evidence.approvals import ApprovalError, approval_status, stored_action_hash
from canopy.evidence.binding import action_hash
from canopy.evidence.records import record_execution, record_tool_result
from canopy.integrations import langchain_tools
from canopy.integrations.http_gateway import HttpAuthorizer, HttpClient
from canopy.ledger.store import Ledger, StoredEvent

__all__ = [
    "ApprovalCallback",
    "ApprovalMode",
    "Authorizer",
    "ToolGate",
    "execute_approved",
    "guard_tool",
    "guard_tool_http",
    "safe_tool",
]

#: Threads async tools hand their ledger work to (see _ledger_workers).
_LEDGER_WORKERS = 2
log = logging.getLogger("canopy")

T = TypeVar("T")
AgentContext = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
PathLike = str | os.PathLike[str]


class ApprovalMode(StrEnum):
    """What a guard does with REQUIRE_APPROVAL."""

    RAISE = "raise"  # CanopyPermissionError: the call is blocked
    CALLBACK = "callback"  # ask approval_callback, then check the recorded approval
    RETURN = "return"  # return the decision dict without running


class Authorizer(Protocol):
    """Decides one action; returns an ``authorize_action``-shaped result."""

    def __call__(
        self, agent_ctx: Any, action_type: str, action_payload: Mapping[str, Any]
    ) -> dict[str, Any]: ...


class ApprovalCallback(Protocol):
    """Called as ``cb(decision, payload=..., audit_log_path=..., tool=...)``.

    Returns truthy once a human approved; the approval must be recorded
    (``record_approval_decision``), or the guard refuses to run the tool.
    """

    def __call__(self, decision: Mapping[str, Any], /, **context: Any) -> Any: ...


# --- how a call becomes a payload ----------------------------------------------


def _is_async(fn: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 -- callable objects with async __call__
    return not inspect.isfunction(fn) and inspect.iscoroutinefunction(call)


def _name_of(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


@dataclass(frozen=True, slots=True)
class _Call:
    """How one call of ``fn`` becomes an action payload (worked out at decoration)."""

    fn: Callable[..., Any]
    tool: str
    signature: inspect.Signature
    omit: frozenset[str]
    var_keyword: str | None
    is_async: bool

    @classmethod
    def of(
        cls, fn: Callable[..., Any], *, tool: str | None = None, omit: frozenset[str] = frozenset()
    ) -> _Call:
        if not callable(fn):
            raise TypeError(f"can only guard a callable or a LangChain tool, not {fn!r}")
        try:
            signature = inspect.signature(fn)
        except (TypeError, ValueError) as e:
            raise TypeError(f"cannot guard {fn!r}: its signature cannot be read ({e})") from e
        params = list(signature.parameters.values())
        if (
            params
            and params[0].name in ("self", "cls")
            and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD)
        ):
            omit = omit | {params[0].name}  # the method's object is not part of the action
        var_keyword = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
        return cls(fn, tool or _name_of(fn), signature, omit, var_keyword, _is_async(fn))

    def payload(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """``{parameter: value}`` of the bound call; raises ``TypeError`` as the call would."""
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        payload: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name in self.omit:
                continue
            if name == self.var_keyword:
                payload.update(value)  # cannot clash: Python refuses duplicate names
            else:
                payload[name] = value
        return _jsonable(payload)


# --- the guard -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Settings:
    action_type: str
    agent_ctx: AgentContext
    authorize: Authorizer
    on_require_approval: ApprovalMode
    approval_callback: ApprovalCallback | None
    audit_log_path: PathLike | None
    record_results: bool
    evidence: bool  # write execution and tool_result events
    local: bool  # the authorization event is in the local ledger
    # A REQUIRE_APPROVAL runs under an earlier approval of exactly this action, if unused.
    reuse_approvals: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.action_type, str) or not self.action_type.strip():
            raise TypeError(f"action_type must be a non-empty string, got {self.action_type!r}")
        if not isinstance(self.agent_ctx, Mapping) and not callable(self.agent_ctx):
            raise TypeError(
                "agent_ctx must be a mapping or a zero-argument callable returning one, "
                f"not {type(self.agent_ctx).__name__}"
            )
        if self.on_require_approval is ApprovalMode.CALLBACK and self.approval_callback is None:
            raise ValueError('on_require_approval="callback" needs an approval_callback')

    @classmethod
    def deciding_locally(
        cls,
        *,
        action_type: str,
        agent_ctx: AgentContext,
        on_require_approval: ApprovalMode | str,
        approval_callback: ApprovalCallback | None,
        audit_log_path: PathLike | None,
        policy_file: PathLike | None,
        record_results: bool,
        reuse_approvals: bool = False,
    ) -> _Settings:
        """Decide with ``authorize_action`` and record evidence in the same local ledger."""
        return cls(
            action_type=action_type,
            agent_ctx=agent_ctx,
            authorize=functools.partial(
                authorize_action, policy_file=policy_file, audit_log_path=audit_log_path
            ),
            on_require_approval=ApprovalMode(on_require_approval),
            approval_callback=approval_callback,
            audit_log_path=audit_log_path,
            record_results=record_results,
            evidence=True,
            local=True,
            reuse_approvals=reuse_approvals,
        )

    def context(self, tool: str) -> Any:
        ctx = self.agent_ctx
        if isinstance(ctx, Mapping):
            return ctx
        try:
            return ctx()
        except Exception as e:
            raise CanopyPermissionError(
                f"{tool} not run: its agent_ctx callable failed ({type(e).__name__}: {e})"
            ) from e


@dataclass(frozen=True, slots=True)
class _Guard:
    call: _Call
    settings: _Settings


class _Step(Enum):
    RUN = "run"
    ASK = "ask"
    RETURN = "return"


def _first_step(settings: _Settings, tool: str, decision: Mapping[str, Any]) -> _Step:
    reason = decision.get("reason")
    verdict = Decision(decision["decision"])
    match verdict:
        case Decision.ALLOW:
            return _Step.RUN
        case Decision.DENY:
            raise CanopyPermissionError(
                f"Canopy denied {tool} ({decision.get('action_type')}): {reason} "
                f"[authorization {decision.get('authorization_id')}]",
                dict(decision),
            )
        case Decision.REQUIRE_APPROVAL:
            match settings.on_require_approval:
                case ApprovalMode.RAISE:
                    raise CanopyPermissionError(
                        f"Canopy requires approval for {tool} ({decision.get('action_type')}): "
                        f"{reason} [authorization {decision.get('authorization_id')}]",
                        dict(decision),
                    )
                case ApprovalMode.RETURN:
                    return _Step.RETURN
                case ApprovalMode.CALLBACK:
                    return _Step.ASK
                case unreachable:
                    assert_never(unreachable)
        case unreachable:
            assert_never(unreachable)


def _ask(
    settings: _Settings, tool: str, decision: Mapping[str, Any], payload: Mapping[str, Any]
) -> Any:
    callback = settings.approval_callback
    assert callback is not None  # _Settings refuses CALLBACK without one
    try:
        return callback(
            decision, payload=payload, audit_log_path=settings.audit_log_path, tool=tool
        )
    except Exception as e:
        raise CanopyPermissionError(
            f"{tool} not run: the approval callback failed ({type(e).__name__}: {e})",
            dict(decision),
        ) from e


def _refuse(message: str, decision: Mapping[str, Any]) -> CanopyPermissionError:
    return CanopyPermissionError(message, dict(decision))


def _checked_approval(
    ledger: Ledger,
    authorization_id: str,
    payload: Mapping[str, Any],
    decision: Mapping[str, Any],
    tool: str,
) -> tuple[StoredEvent, str]:
    """The authorization and the approval id that let this payload run, or refuse.

    An approval must be on the record for this authorization, approve it, not
    have expired, be bound to the action hash of this very payload, and not
    have been spent by an earlier execution.
    """
    try:
        status = approval_status(ledger, authorization_id)
    except ApprovalError as e:
        raise _refuse(f"{tool} not run: {e}", decision) from e
    auth = status.authorization
    if auth.fields.get("decision") != Decision.REQUIRE_APPROVAL.value:
        raise _refuse(
            f"{tool} not run: authorization {authorization_id} was {auth.fields.get('decision')}, "
            "not REQUIRE_APPROVAL: there is no approval to use",
            decision,
        )
    approval = status.approval
    if approval is None:
        raise _refuse(
            f"{tool} not run: no approval is on the record for authorization {authorization_id} "
            "(record one with record_approval_decision or `canopy approvals approve`)",
            decision,
        )
    if not status.approved:
        raise _refuse(
            f"{tool} not run: authorization {authorization_id} was rejected by "
            f"{approval.fields.get('approver')} (event {approval.seq})",
            decision,
        )
    if status.expired():
        raise _refuse(
            f"{tool} not run: the approval of {authorization_id} expired at "
            f"{approval.fields.get('expires_at')}",
            decision,
        )
    wanted = action_hash(str(auth.fields.get("action_type")), payload, str(auth.fields["avid"]))
    approved = approval.fields.get("action_hash")
    if approved != wanted or stored_action_hash(auth) != wanted:
        raise _refuse(
            f"{tool} not run: the approval of {authorization_id} is for a different action "
            f"(approved action hash {approved}, this call {wanted})",
            decision,
        )
    spent = ledger.find(authorization_id=authorization_id, kind="execution")
    if spent:
        raise _refuse(
            f"{tool} not run: the approval of {authorization_id} was already used "
            f"(execution event {spent[0].seq})",
            decision,
        )
    return auth, str(approval.fields["approval_id"])


def _approval_after_answer(
    settings: _Settings,
    tool: str,
    decision: Mapping[str, Any],
    payload: Mapping[str, Any],
    answer: Any,
) -> str:
    if inspect.isawaitable(answer):
        if inspect.iscoroutine(answer):
            answer.close()
        raise _refuse(
            f"{tool} not run: the approval callback returned an awaitable "
            "(async callbacks need an async tool)",
            decision,
        )
    if not answer:
        raise _refuse(f"{tool} not run: approval refused", decision)
    ledger = open_ledger(settings.audit_log_path)
    _, approval_id = _checked_approval(
        ledger, str(decision.get("authorization_id")), payload, decision, tool
    )
    return approval_id


@dataclass(slots=True)
class _Recorder:
    """The execution event before the tool runs; the tool_result event after it."""

    ledger: Ledger | None
    link: Mapping[str, Any]
    tool: str
    keep_result: bool
    started: float = 0.0

    @classmethod
    def begin(
        cls,
        decision: Mapping[str, Any],
        payload: Mapping[str, Any],
        approval_id: str | None,
        *,
        tool: str,
        audit_log_path: PathLike | None,
        record_results: bool,
        evidence: bool = True,
        local: bool = True,
    ) -> _Recorder:
        if not evidence:
            return cls(None, decision, tool, False)
        # A remote authorization's witness is a seq in the gateway's ledger, not ours.
        link = decision if local else {**decision, "witness": None}
        try:
            ledger = open_ledger(audit_log_path)
            recorded_in = (decision.get("witness") or {}).get("ledger") if local else None
            if recorded_in is not None and recorded_in != ledger.origin:
                raise _refuse(
                    f"{tool} not run: its authorization is in ledger {recorded_in}, but "
                    f"{ledger.path} is ledger {ledger.origin} (did the audit log path change?)",
                    decision,
                )
            record_execution(
                ledger,
                link,
                action_hash=action_hash(
                    str(decision["action_type"]), payload, str(decision.get("avid") or "")
                ),
                tool=tool,
                approval_id=approval_id,
            )
        except (CanopyError, OSError) as e:
            raise _refuse(
                f"{tool} not run: its execution could not be recorded ({e})", decision
            ) from e
        return cls(ledger, link, tool, record_results, time.perf_counter())

    @classmethod
    def for_clearance(
        cls, settings: _Settings, tool: str, clearance: _Clearance, payload: Mapping[str, Any]
    ) -> _Recorder:
        if clearance.approved_earlier is not None:
            return _begin_approved(
                clearance.approved_earlier,
                tool,
                payload,
                action_type=settings.action_type,
                audit_log_path=settings.audit_log_path,
                record_results=settings.record_results,
            )
        return cls.begin(
            clearance.decision,
            payload,
            clearance.approval_id,
            tool=tool,
            audit_log_path=settings.audit_log_path,
            record_results=settings.record_results,
            evidence=settings.evidence,
            local=settings.local,
        )

    def ok(self, result: Any) -> None:
        if self.ledger is not None:
            record_tool_result(
                self.ledger,
                self.link,
                ok=True,
                duration_ms=(time.perf_counter() - self.started) * 1000,
                result=result,
                keep_result=self.keep_result,
                tool=self.tool,
            )

    def failed(self, error: BaseException) -> None:
        """Record the tool's error; never raises (the tool's own error must surface)."""
        if self.ledger is None:
            return
        try:
            record_tool_result(
                self.ledger,
                self.link,
                ok=False,
                duration_ms=(time.perf_counter() - self.started) * 1000,
                error=error,
                tool=self.tool,
            )
        except Exception:
            log.exception("tool_result of %s not recorded", self.link.get("authorization_id"))


def _run(recorder: _Recorder, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> Any:
    try:
        result = fn(*args, **kwargs)
    except BaseException as e:
        recorder.failed(e)
        raise
    recorder.ok(result)
    return result


async def _run_async(
    recorder: _Recorder, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: Any
) -> Any:
    try:
        result = await fn(*args, **kwargs)
    except BaseException as e:
        if recorder.ledger is not None:
            await _off_loop(recorder.failed, e, abandoned=None)
        raise
    if recorder.ledger is not None:
        await _off_loop(recorder.ok, result, abandoned=None)
    return result


async def _off_loop(fn: Callable[..., T], *args: Any, abandoned: Callable[[T], None] | None) -> T:
    """``fn(*args)`` on a worker thread, so a durable ledger write (an fsync,
    or a wait for another writer's lock) never stalls the event loop.

    Cancelling the awaiting task does not interrupt the work: it finishes, and
    ``abandoned`` then receives its result on that thread (to close out
    evidence it wrote), even if the event loop is gone by then.
    """
    handoff = _Handoff(fn, args, abandoned)
    work = asyncio.get_running_loop().run_in_executor(
        _ledger_workers(), contextvars.copy_context().run, handoff.run
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        handoff.abandon()
        raise


@functools.cache
def _ledger_workers() -> concurrent.futures.ThreadPoolExecutor:
    """The threads async tools hand their ledger work to. Few, on purpose:
    the work is mostly Python holding the GIL between fsyncs, and more threads
    contending for it commit fewer events per second, not more (measured:
    8 parallel tool calls per turn, 1 or 2 workers beat the default pool)."""
    return concurrent.futures.ThreadPoolExecutor(
        max_workers=_LEDGER_WORKERS, thread_name_prefix="canopy-ledger"
    )


class _Handoff:
    """One piece of blocking work and what to do with its result if its
    awaiter has gone: whichever of the worker and the canceller comes second
    calls ``abandoned``."""

    def __init__(
        self, fn: Callable[..., Any], args: tuple[Any, ...], abandoned: Callable[[Any], None] | None
    ) -> None:
        self._fn, self._args, self._abandoned = fn, args, abandoned
        self._lock = threading.Lock()
        self._finished = self._gone = False
        self._result: Any = None

    def run(self) -> Any:
        result = self._fn(*self._args)
        with self._lock:
            self._finished, self._result = True, result
            late = self._gone
        if late:
            self._close_out()
        return result

    def abandon(self) -> None:
        with self._lock:
            self._gone = True
            finished = self._finished
        if finished:  # the result is in: close it out off the loop
            threading.Thread(target=self._close_out, daemon=True).start()

    def _close_out(self) -> None:
        if self._abandoned is None:
            return
        try:
            self._abandoned(self._result)
        except Exception:
            log.exception("could not close out the evidence of a cancelled call")


@dataclass(frozen=True, slots=True)
class _Clearance:
    """What the decision (and, if asked, the approval) lets a call do. The call
    runs when clearing it also wrote its execution event (a recorder)."""

    decision: Mapping[str, Any]
    approval_id: str | None
    approved_earlier: str | None = None  # the authorization whose approval this call uses
    ask: bool = False  # not decided yet: the approval callback must be asked first


def _standing_approval(
    settings: _Settings, tool: str, decision: Mapping[str, Any], payload: Mapping[str, Any]
) -> str | None:
    """An earlier REQUIRE_APPROVAL of exactly this action whose approval is still usable.

    This is what lets "approve, then call again" work in agent loops: the
    operator approved one authorization; the agent's retry is a new decision
    (recorded as such) that runs under that approval only if it is bound to the
    same action hash (action type, payload, agent), approved, unexpired and
    unspent. Only REQUIRE_APPROVAL decisions look, never a DENY.
    """
    if not settings.reuse_approvals or decision.get("decision") != Decision.REQUIRE_APPROVAL:
        return None
    ledger = open_ledger(settings.audit_log_path)
    wanted = action_hash(str(decision.get("action_type")), payload, str(decision.get("avid")))
    for approval in reversed(ledger.events_of_kind("approval")):
        fields = approval.fields
        if fields.get("action_hash") != wanted or fields.get("approved") is not True:
            continue
        candidate = str(fields.get("authorization_id"))
        try:
            _checked_approval(ledger, candidate, payload, decision, tool)
        except CanopyPermissionError:
            continue  # expired or spent: look further back
        return candidate
    return None


def _clear(
    settings: _Settings, tool: str, payload: Mapping[str, Any]
) -> tuple[_Clearance, _Recorder | None]:
    """Decide, ask the approval callback if the decision calls for it, and write
    the execution event of a call that may run (its recorder; None: do not run)."""
    clearance, recorder = _clear_without_asking(settings, tool, payload)
    if not clearance.ask:
        return clearance, recorder
    answer = _ask(settings, tool, clearance.decision, payload)
    return _begin_after_answer(settings, tool, clearance.decision, payload, answer)


def _clear_without_asking(
    settings: _Settings, tool: str, payload: Mapping[str, Any]
) -> tuple[_Clearance, _Recorder | None]:
    """Decide, look for a standing approval and, if the call may run, write its
    execution event: everything before the tool that needs no answer from an
    approval callback (which may be a coroutine, so it is asked on the loop).
    ``(clearance, None)`` means: do not run (ApprovalMode.RETURN hands the
    decision back), or ask first if ``clearance.ask``."""
    decision = settings.authorize(settings.context(tool), settings.action_type, payload)
    if earlier := _standing_approval(settings, tool, decision, payload):
        clearance = _Clearance(decision, None, approved_earlier=earlier)
    else:
        match _first_step(settings, tool, decision):
            case _Step.RETURN:
                return _Clearance(decision, None), None
            case _Step.ASK:
                return _Clearance(decision, None, ask=True), None
        clearance = _Clearance(decision, None)
    return clearance, _Recorder.for_clearance(settings, tool, clearance, payload)


def _failed_abandoned(recorder: _Recorder) -> None:
    recorder.failed(asyncio.CancelledError("cancelled before the tool ran"))


def _recorder_abandoned(begun: tuple[_Clearance, _Recorder | None]) -> None:
    """The task awaiting a cleared call was cancelled after its execution event
    was written: record that the tool never ran."""
    if begun[1] is not None:
        _failed_abandoned(begun[1])


async def _clear_async(
    settings: _Settings, tool: str, payload: Mapping[str, Any]
) -> tuple[_Clearance, _Recorder | None]:
    """``_clear`` for async tools: the ledger work runs on a worker thread (one
    hop when no approval callback is asked) and the callback may be a coroutine."""
    clearance, recorder = await _off_loop(
        _clear_without_asking, settings, tool, payload, abandoned=_recorder_abandoned
    )
    if not clearance.ask:
        return clearance, recorder
    answer = _ask(settings, tool, clearance.decision, payload)
    if inspect.isawaitable(answer):
        answer = await answer
    return await _off_loop(
        _begin_after_answer,
        settings,
        tool,
        clearance.decision,
        payload,
        answer,
        abandoned=_recorder_abandoned,
    )


def _begin_after_answer(
    settings: _Settings,
    tool: str,
    decision: Mapping[str, Any],
    payload: Mapping[str, Any],
    answer: Any,
) -> tuple[_Clearance, _Recorder]:
    approval_id = _approval_after_answer(settings, tool, decision, payload, answer)
    clearance = _Clearance(decision, approval_id)
    return clearance, _Recorder.for_clearance(settings, tool, clearance, payload)


def _call_sync(guard: _Guard, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    settings, tool = guard.settings, guard.call.tool
    payload = guard.call.payload(args, kwargs)
    clearance, recorder = _clear(settings, tool, payload)
    if recorder is None:
        return clearance.decision
    return _run(recorder, guard.call.fn, args, kwargs)


async def _call_async(guard: _Guard, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    settings, tool = guard.settings, guard.call.tool
    payload = guard.call.payload(args, kwargs)
    clearance, recorder = await _clear_async(settings, tool, payload)
    if recorder is None:
        return clearance.decision
    return await _run_async(recorder, guard.call.fn, args, kwargs)


def _wrap(guard: _Guard) -> Callable[..., Any]:
    if guard.call.is_async:

        @functools.wraps(guard.call.fn)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            return await _call_async(guard, args, kwargs)

        guarded: Callable[..., Any] = guarded_async
    else:

        @functools.wraps(guard.call.fn)
        def guarded_sync(*args: Any, **kwargs: Any) -> Any:
            return _call_sync(guard, args, kwargs)

        guarded = guarded_sync
    guarded.__canopy_guard__ = guard  # type: ignore[attr-defined]
    return guarded


def _decorator(settings: _Settings) -> Callable[[T], T]:
    def wrap(fn: Callable[..., Any], tool: str, omit: frozenset[str]) -> Callable[..., Any]:
        return _wrap(_Guard(_Call.of(fn, tool=tool, omit=omit), settings))

    def decorate(target: T) -> T:
        if langchain_tools.is_langchain_tool(target):
            return langchain_tools.guard_langchain_tool(target, wrap)  # type: ignore[no-any-return]
        return _wrap(_Guard(_Call.of(target), settings))  # type: ignore[arg-type, return-value]

    return decorate


# --- public API ------------------------------------------------------------------


def safe_tool(
    *,
    action_type: str,
    agent_ctx: AgentContext,
    on_require_approval: ApprovalMode | str = ApprovalMode.RAISE,
    approval_callback: ApprovalCallback | None = None,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    record_results: bool = False,
) -> Callable[[T], T]:
    """Guard a function, an ``async def`` or a LangChain tool with ``authorize_action``.

    ``agent_ctx`` is a dict or a zero-argument callable returning one (called
    per call). DENY raises ``CanopyPermissionError``; REQUIRE_APPROVAL raises,
    returns the decision (``"return"``), or asks ``approval_callback``
    (``"callback"``) and runs only if a matching approval is then on the record.
    """
    return _decorator(
        _Settings.deciding_locally(
            action_type=action_type,
            agent_ctx=agent_ctx,
            on_require_approval=on_require_approval,
            approval_callback=approval_callback,
            audit_log_path=audit_log_path,
            policy_file=policy_file,
            record_results=record_results,
        )
    )


def guard_tool(
    fn: Callable[..., Any] | None = None,
    *,
    action_type: str,
    agent_ctx: AgentContext,
    audit_log_path: PathLike | None = None,
    policy_file: PathLike | None = None,
    record_results: bool = False,
) -> Any:
    """The 0.2 API: ``safe_tool`` where REQUIRE_APPROVAL blocks (``CanopyPermissionError``).

    ``guard_tool(fn, action_type=..., agent_ctx=...)`` or ``@guard_tool(action_type=...)``.
    """
    decorate = safe_tool(
        action_type=action_type,
        agent_ctx=agent_ctx,
        on_require_approval=ApprovalMode.RAISE,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        record_results=record_results,
    )
    return decorate if fn is None else decorate(fn)


def guard_tool_http(
    fn: Callable[..., Any] | None = None,
    *,
    action_type: str,
    agent_ctx: AgentContext,
    gateway_url: str | None = None,
    client: HttpClient | None = None,
    api_key: str | None = None,
    api_key_header: str = "Authorization",
    timeout: float = 10.0,
    audit_log_path: PathLike | None = None,
    record_results: bool = False,
) -> Any:
    """Guard a tool with a remote gateway's decision (``POST {gateway_url}/v1/authorize``).

    ``gateway_url`` defaults to ``CANOPY_GATEWAY_URL``, ``api_key`` to
    ``CANOPY_API_KEY`` (sent as ``Authorization: Bearer``, or as ``X-API-Key``
    with ``api_key_header="X-API-Key"``). ``client`` is any requests/httpx-like
    object with ``post``. Anything but a readable ALLOW blocks the call
    (REQUIRE_APPROVAL included). Execution and tool-result events are recorded
    in a local ledger only when ``audit_log_path`` is given.
    """
    settings = _Settings(
        action_type=action_type,
        agent_ctx=agent_ctx,
        authorize=HttpAuthorizer.for_gateway(
            gateway_url,
            client=client,
            api_key=api_key,
            api_key_header=api_key_header,
            timeout=timeout,
        ),
        on_require_approval=ApprovalMode.RAISE,
        approval_callback=None,
        audit_log_path=audit_log_path,
        record_results=record_results,
        evidence=audit_log_path is not None,
        local=False,
    )
    decorate = _decorator(settings)
    return decorate if fn is None else decorate(fn)


def execute_approved(
    authorization_id: str,
    fn: Callable[..., Any],
    /,
    *args: Any,
    audit_log_path: PathLike | None = None,
    **kwargs: Any,
) -> Any:
    """Run ``fn(*args, **kwargs)`` under an approval recorded after the decision.

    For a REQUIRE_APPROVAL answered later (``canopy approvals approve``,
    ``record_approval_decision``). The payload is rebuilt from the bound
    arguments; the call runs only if the approval exists, approves, has not
    expired, is bound to this exact payload and has not been used before. Then
    it writes execution and tool_result events like the guard. ``fn`` may be a
    guarded function (its undecorated body runs, its action type must match the
    authorization's, and the ledger defaults to its ``audit_log_path``), a plain
    function, or a function-built LangChain tool. For an async ``fn`` the result
    is an awaitable, and the checks run when it is awaited.
    """
    if langchain_tools.is_langchain_tool(fn):
        fn = langchain_tools.function_of(fn)
    guard = getattr(fn, "__canopy_guard__", None)
    if isinstance(guard, _Guard):
        if not guard.settings.local:
            raise TypeError("execute_approved runs locally authorized tools, not HTTP-guarded ones")
        call, action_type = guard.call, guard.settings.action_type
        record_results = guard.settings.record_results
        if audit_log_path is None:
            audit_log_path = guard.settings.audit_log_path
    else:
        call, action_type, record_results = _Call.of(fn), None, False
    approved = _ApprovedCall(authorization_id, call, action_type, audit_log_path, record_results)
    if call.is_async:
        return approved.run_async(args, kwargs)
    return _run(approved.begin(args, kwargs), call.fn, args, kwargs)


@dataclass(frozen=True, slots=True)
class _ApprovedCall:
    authorization_id: str
    call: _Call
    action_type: str | None  # the guard's, when fn was guarded
    audit_log_path: PathLike | None
    record_results: bool

    def begin(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> _Recorder:
        """Check the approval against this call, then write the execution event."""
        return _begin_approved(
            self.authorization_id,
            self.call.tool,
            self.call.payload(args, kwargs),
            action_type=self.action_type,
            audit_log_path=self.audit_log_path,
            record_results=self.record_results,
        )

    async def run_async(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        recorder = await _off_loop(self.begin, args, kwargs, abandoned=_failed_abandoned)
        return await _run_async(recorder, self.call.fn, args, kwargs)


def _begin_approved(
    authorization_id: str,
    tool: str,
    payload: Mapping[str, Any],
    *,
    action_type: str | None,
    audit_log_path: PathLike | None,
    record_results: bool,
) -> _Recorder:
    """Check a later approval against this payload, then write the execution event."""
    refusal = {
        "decision": Decision.DENY,
        "authorization_id": authorization_id,
        "reason": "no usable approval for this call",
    }
    ledger = open_ledger(audit_log_path)
    auth, approval_id = _checked_approval(ledger, authorization_id, payload, refusal, tool)
    fields = auth.fields
    if action_type is not None:
        expected = normalize_action_type(action_type)
        if expected != fields.get("action_type"):
            raise _refuse(
                f"{tool} not run: authorization {authorization_id} is for "
                f"{fields.get('action_type')}, this tool is guarded as {expected}",
                refusal,
            )
    decision = {
        "decision": Decision(fields["decision"]),
        "reason": (fields.get("detail") or {}).get("reason"),
        "authorization_id": authorization_id,
        "trace_id": fields.get("trace_id"),
        "avid": fields.get("avid"),
        "action_type": fields.get("action_type"),
        "witness": {"seq": auth.seq, "ledger": ledger.origin},
    }
    return _Recorder.begin(
        decision,
        payload,
        approval_id,
        tool=tool,
        audit_log_path=audit_log_path,
        record_results=record_results,
    )


# --- calls that arrive as a tool name and its arguments --------------------------


@dataclass(frozen=True, slots=True)
class ToolGate:
    """Governs tool calls that arrive as a name and an argument mapping.

    Framework tool objects (LangGraph, OpenAI Agents, AutoGen, CrewAI) and MCP
    servers hand a tool its arguments as a mapping, not as a Python call: the
    gate decides on exactly that mapping, writes the execution event, runs
    ``execute`` and writes the tool_result, like ``safe_tool``. ``action_type``
    ``None`` takes each tool's name as its action type (the pipeline normalises
    aliases and analyses any command, path or URL in the arguments whatever the
    name). DENY, and REQUIRE_APPROVAL in ``"raise"`` mode, raise
    ``CanopyPermissionError`` before ``execute`` is called.
    """

    settings: _Settings
    per_tool_action_type: bool

    @classmethod
    def local(
        cls,
        *,
        agent_ctx: AgentContext,
        action_type: str | None = None,
        on_require_approval: ApprovalMode | str = ApprovalMode.RAISE,
        approval_callback: ApprovalCallback | None = None,
        audit_log_path: PathLike | None = None,
        policy_file: PathLike | None = None,
        record_results: bool = False,
        reuse_approvals: bool = True,
    ) -> ToolGate:
        """A gate deciding with ``authorize_action`` into the local ledger.

        With ``reuse_approvals`` (the default) a call whose REQUIRE_APPROVAL an
        operator approved can simply be made again: the new decision is recorded
        and the call runs under that approval, once, if the arguments are the same.
        """
        settings = _Settings.deciding_locally(
            action_type=action_type or "tool_call",
            agent_ctx=agent_ctx,
            on_require_approval=on_require_approval,
            approval_callback=approval_callback,
            audit_log_path=audit_log_path,
            policy_file=policy_file,
            record_results=record_results,
            reuse_approvals=reuse_approvals,
        )
        return cls(settings, per_tool_action_type=action_type is None)

    @property
    def audit_log_path(self) -> PathLike | None:
        return self.settings.audit_log_path

    def action_type_for(self, tool: str, action_type: str | None = None) -> str:
        """The action type a call of ``tool`` is decided as (``action_type`` wins)."""
        if action_type is not None:
            return action_type
        return tool if self.per_tool_action_type else self.settings.action_type

    def _for(self, tool: str, action_type: str | None) -> _Settings:
        if action_type is None and not self.per_tool_action_type:
            return self.settings
        if not isinstance(tool, str) or not tool.strip():
            raise TypeError(f"a tool name must be a non-empty string, got {tool!r}")
        return dataclasses.replace(
            self.settings, action_type=self.action_type_for(tool, action_type)
        )

    def call(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        execute: Callable[[], T],
        *,
        action_type: str | None = None,
    ) -> Any:
        """``execute()`` if cleared; the decision dict if REQUIRE_APPROVAL is returned.

        ``action_type`` decides this call as that type instead of the gate's.
        """
        settings, payload = self._for(tool, action_type), _arguments(tool, arguments)
        clearance, recorder = _clear(settings, tool, payload)
        if recorder is None:
            return clearance.decision
        return _run(recorder, execute, (), {})

    async def acall(
        self,
        tool: str,
        arguments: Mapping[str, Any],
        execute: Callable[[], Awaitable[T]],
        *,
        action_type: str | None = None,
    ) -> Any:
        """``call`` for an async ``execute``."""
        settings, payload = self._for(tool, action_type), _arguments(tool, arguments)
        clearance, recorder = await _clear_async(settings, tool, payload)
        if recorder is None:
            return clearance.decision
        return await _run_async(recorder, execute, (), {})

    def call_approved(
        self,
        authorization_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        execute: Callable[[], T],
        *,
        action_type: str | None = None,
    ) -> T:
        """Run a call approved after its REQUIRE_APPROVAL, under ``execute_approved``'s checks."""
        recorder = self._approved(authorization_id, tool, arguments, action_type)
        return _run(recorder, execute, (), {})  # type: ignore[no-any-return]

    async def acall_approved(
        self,
        authorization_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        execute: Callable[[], Awaitable[T]],
        *,
        action_type: str | None = None,
    ) -> T:
        """``call_approved`` for an async ``execute``."""
        recorder = await _off_loop(
            self._approved,
            authorization_id,
            tool,
            arguments,
            action_type,
            abandoned=_failed_abandoned,
        )
        return await _run_async(recorder, execute, (), {})  # type: ignore[no-any-return]

    def _approved(
        self,
        authorization_id: str,
        tool: str,
        arguments: Mapping[str, Any],
        action_type: str | None,
    ) -> _Recorder:
        return _begin_approved(
            authorization_id,
            tool,
            _arguments(tool, arguments),
            action_type=self.action_type_for(tool, action_type),
            audit_log_path=self.settings.audit_log_path,
            record_results=self.settings.record_results,
        )


def _arguments(tool: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(arguments, Mapping):
        raise CanopyPermissionError(
            f"{tool} not run: its arguments must be a mapping, got {type(arguments).__name__}",
            {"decision": Decision.DENY, "reason": "arguments are not a mapping"},
        )
    return _jsonable(dict(arguments))
