"""Execution and tool-result events: what actually ran and what came back.

An ``execution`` event is written before the tool runs, only for ALLOW (or
approved) decisions; a ``tool_result`` event after it, ok or error, with the
duration and the SHA-256 of the canonical result (the result itself only when
asked). A DENY leaves no execution event, so the ledger can later prove the
tool never ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from canopy.canonical import canonical_bytes
from canopy.errors import CanopyError
from canopy.ledger.store import AppendReceipt, Ledger

__all__ = ["record_execution", "record_tool_result", "result_digest"]

_MAX_ERROR_MESSAGE = 2000


def _jsonable(value: Any) -> Any:
    from canopy.authorize import _jsonable as convert

    return convert(value)


def result_digest(result: Any) -> str:
    """SHA-256 of the canonical JSON of a result (non-JSON values converted first)."""
    try:
        data = canonical_bytes(result)
    except CanopyError:
        data = canonical_bytes(_jsonable(result))
    return hashlib.sha256(data).hexdigest()


def _link(decision: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "trace_id": decision.get("trace_id"),
        "avid": decision.get("avid"),
        "authorization_id": decision.get("authorization_id"),
        "action_type": decision.get("action_type"),
    }


def record_execution(
    ledger: Ledger,
    decision: Mapping[str, Any],
    *,
    action_hash: str,
    tool: str | None = None,
    approval_id: str | None = None,
) -> AppendReceipt:
    fields = {
        **_link(decision),
        "action_hash": action_hash,
        "authorization_seq": (decision.get("witness") or {}).get("seq"),
        "tool": tool,
        "approval_id": approval_id,
    }
    return ledger.append("execution", {k: v for k, v in fields.items() if v is not None})


def record_tool_result(
    ledger: Ledger,
    decision: Mapping[str, Any],
    *,
    ok: bool,
    duration_ms: float,
    result: Any = None,
    error: BaseException | None = None,
    keep_result: bool = False,
    tool: str | None = None,
) -> AppendReceipt:
    fields: dict[str, Any] = {
        **_link(decision),
        "status": "ok" if ok else "error",
        "duration_ms": round(float(duration_ms), 3),
        "tool": tool,
    }
    if ok:
        fields["result_sha256"] = result_digest(result)
        if keep_result:
            fields["result"] = _jsonable(result)
    if error is not None:
        fields["error_type"] = type(error).__name__
        fields["error_message"] = str(error)[:_MAX_ERROR_MESSAGE]
    return ledger.append("tool_result", {k: v for k, v in fields.items() if v is not None})
