"""The gateway's routes: a thin HTTP shell over the library.

Every ``/v1`` route needs a principal (``canopy.gateway.auth``); answers are
JSON except the dashboard's page. Errors have one shape,
``{"error": {"code": ..., "message": ...}}``, with the HTTP status saying
which family: 401/403/503 access, 404 unknown id, 409 conflict, 413 body too
large, 422 malformed request, 503 ledger unavailable. ``POST /v1/authorize``
is ``authorize_action`` itself, so it fails closed the same way: a request it
can read always gets a recorded decision, never an unrecorded ALLOW.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, model_validator

from canopy import __version__
from canopy.authorize import authorize_action, open_ledger
from canopy.errors import LedgerError, MalformedInputError
from canopy.evidence.approvals import (
    ApprovalError,
    pending_approvals,
    record_approval_decision,
)
from canopy.forensics.query import read_transaction
from canopy.gateway.agents import list_agents, register_agent
from canopy.gateway.audit import DEFAULT_LIMIT, MAX_LIMIT, audit_page
from canopy.gateway.auth import Principal, Refusal, authenticate
from canopy.gateway.dashboard import render_dashboard
from canopy.gateway.limits import BodyLimit
from canopy.gateway.settings import GatewaySettings
from canopy.ledger.store import Ledger
from canopy.reports.summary import (
    PendingApproval,
    normalize_time,
    quick_integrity,
    summarize,
)

__all__ = ["create_app"]

_APPROVAL_STATUS = {
    "unknown_authorization": 404,
    "not_pending": 409,
    "already_decided": 409,
    "avid_mismatch": 409,
    "no_approver": 422,
}


class AuthorizeRequest(BaseModel):
    """``authorize_action``'s arguments; unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    agent_ctx: dict[str, Any] | None = None
    action_type: StrictStr
    action_payload: dict[str, Any] | None = None
    prompt: StrictStr | None = None
    agent_response: StrictStr | None = None


class ApprovalRequest(BaseModel):
    """Ours (``approved``, ``approver``) or canopy-runtime 0.4.2's form (``decision``
    APPROVED/REJECTED, ``decided_by``, ``avid``, ``tenant_id``), never a mix."""

    model_config = ConfigDict(extra="forbid")

    authorization_id: StrictStr
    approved: StrictBool | None = None
    approver: StrictStr | None = None
    decision: Literal["APPROVED", "REJECTED", "approved", "rejected"] | None = None
    decided_by: StrictStr | None = None
    avid: StrictStr | None = None
    tenant_id: Literal["default"] | None = None
    reason: StrictStr = ""

    @model_validator(mode="after")
    def _one_form(self) -> ApprovalRequest:
        if (self.approved is None) == (self.decision is None):
            raise ValueError("give exactly one of approved (true/false) or decision")
        if (self.approver is None) == (self.decided_by is None):
            raise ValueError("give exactly one of approver or decided_by")
        return self

    @property
    def is_approval(self) -> bool:
        if self.approved is not None:
            return self.approved
        return str(self.decision).upper() == "APPROVED"

    @property
    def who(self) -> str:
        return str(self.approver if self.approver is not None else self.decided_by)


def _principal(request: Request) -> Principal:
    client = request.client.host if request.client else None
    return authenticate(request.app.state.settings, request.headers, client)


#: A route parameter of this type makes the route need a principal.
Caller = Annotated[Principal, Depends(_principal)]


def _json_response(content: Any, status: int = 200) -> Response:
    """JSON of plain data (str enums included) without FastAPI's generic encoder,
    which costs ~10x ``json.dumps`` on a decision; anything unusual still goes
    through it."""
    try:
        body = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        body = json.dumps(jsonable_encoder(content), ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), status_code=status, media_type="application/json")


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    """The gateway for ``settings`` (default: from the environment).

    The ledger is opened (and created, with its key) now, so a path that
    cannot be written stops the start-up instead of failing requests later.
    """
    settings = settings or GatewaySettings.from_env()
    ledger_path = settings.audit_log_path
    writer = open_ledger(ledger_path)

    app = FastAPI(
        title="Canopy gateway",
        version=__version__,
        description="Decisions before agents act, on a signed, Merkle-checkpointed ledger.",
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.state.settings = settings

    @contextmanager
    def reader() -> Iterator[Ledger]:
        """A read-only view for ``summarize``, which reads its ledger's connection
        without the writers' lock (other routes read through ``read_transaction``)."""
        with Ledger(ledger_path, read_only=True) as view:
            yield view

    @app.exception_handler(Refusal)
    async def _refused(request: Request, exc: Refusal) -> JSONResponse:
        response = _error(exc.status, exc.code, exc.message)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="canopy"'
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = jsonable_encoder(exc.errors(), exclude={"input", "ctx", "url"})
        return _error(
            422,
            "invalid_request",
            "the request does not have the documented shape",
            details=details,
        )

    @app.exception_handler(ApprovalError)
    async def _approval(request: Request, exc: ApprovalError) -> JSONResponse:
        return _error(_APPROVAL_STATUS.get(exc.code, 422), exc.code, str(exc))

    @app.exception_handler(MalformedInputError)
    @app.exception_handler(ValueError)
    async def _malformed(request: Request, exc: Exception) -> JSONResponse:
        return _error(422, "malformed_request", str(exc))

    @app.exception_handler(LedgerError)
    async def _ledger(request: Request, exc: LedgerError) -> JSONResponse:
        return _error(503, "ledger_unavailable", str(exc))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        """Liveness only: says nothing about the ledger to unauthenticated callers."""
        return {"status": "ok", "version": __version__}

    @app.post("/v1/authorize")
    def authorize(request: AuthorizeRequest, caller: Caller) -> JSONResponse:
        """Decide one action and record it (``authorize_action``)."""
        result = authorize_action(
            request.agent_ctx,
            request.action_type,
            request.action_payload,
            audit_log_path=ledger_path,
            prompt=request.prompt,
            agent_response=request.agent_response,
        )
        return _json_response(result)

    @app.post("/v1/agents/register")
    def register(body: dict[str, Any], caller: Caller) -> JSONResponse:
        """Record an agent's identity (idempotent: 201 the first time, then 200)."""
        record, created = register_agent(writer, body, caller.name)
        return JSONResponse(
            {"agent": record, "created": created}, status_code=201 if created else 200
        )

    @app.get("/v1/agents")
    def agents(
        caller: Caller,
        include_unregistered: bool = False,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
    ) -> dict[str, Any]:
        """Registered agents with their activity (``include_unregistered``: every agent seen)."""
        with read_transaction(writer) as conn:
            found = list_agents(writer, conn, include_unregistered=include_unregistered)
        return {"agents": found[:limit], "count": len(found)}

    @app.get("/v1/audit")
    def audit(
        caller: Caller,
        trace_id: Annotated[list[str] | None, Query()] = None,
        avid: Annotated[list[str] | None, Query()] = None,
        authorization_id: Annotated[list[str] | None, Query()] = None,
        kind: Annotated[list[str] | None, Query()] = None,
        action_type: Annotated[list[str] | None, Query()] = None,
        decision: Annotated[list[str] | None, Query()] = None,
        since: str | None = None,
        until: str | None = None,
        after: Annotated[int, Query(ge=-1)] = -1,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    ) -> dict[str, Any]:
        """Events in ledger order, filtered, with leaf hash and signature each."""
        given = {
            "trace_id": trace_id,
            "avid": avid,
            "authorization_id": authorization_id,
            "kind": kind,
            "action_type": action_type,
            "decision": decision,
        }
        equalities = {name: values for name, values in given.items() if values}
        with read_transaction(writer) as conn:
            size = conn.execute("SELECT coalesce(max(seq) + 1, 0) FROM events").fetchone()[0]
            page = audit_page(
                conn,
                equalities=equalities,
                since=normalize_time(since) if since else None,
                until=normalize_time(until, end=True) if until else None,
                after=after,
                limit=limit,
            )
        return {"ledger": writer.origin, "size": size, **page}

    @app.get("/v1/dashboard", response_model=None)
    def dashboard(
        request: Request,
        caller: Caller,
        since: str | None = None,
        format: Literal["html", "json"] | None = None,
    ) -> Response:
        """The operator dashboard: HTML, or JSON (``format=json``, or JSON in Accept)."""
        window = normalize_time(since) if since else None
        with reader() as view:
            summary = summarize(view, since=window, integrity=quick_integrity, parallel=False)
            registered = len(
                {e.fields.get("avid") for e in view.events_of_kind("agent_registered")}
            )
        report = summary.to_json()
        report["agents_registered"] = registered
        wants_json = format == "json" or (
            format is None and "application/json" in request.headers.get("accept", "")
        )
        if wants_json:
            return JSONResponse(report)
        return HTMLResponse(render_dashboard(report, agents_registered=registered))

    @app.get("/v1/approvals")
    def approvals(caller: Caller) -> dict[str, Any]:
        """REQUIRE_APPROVAL decisions nobody has approved or rejected yet."""
        pending = [
            {**PendingApproval.from_event(e).to_json(), "payload": e.fields.get("payload")}
            for e in pending_approvals(writer)
        ]
        return {"pending": pending, "count": len(pending)}

    @app.post("/v1/approvals/decide")
    def decide(request: ApprovalRequest, caller: Caller) -> dict[str, Any]:
        """Record a human's approval or rejection of a pending decision."""
        return record_approval_decision(
            request.authorization_id,
            request.is_approval,
            request.who,
            request.reason,
            ledger=writer,
            via=caller.name,
            avid=request.avid,
        )

    return app
