"""Approvals: a human's signed yes or no for one REQUIRE_APPROVAL decision.

The seed package accepted approvals for denied actions and for ids it had
never issued, and its approval entries carried no trace. Here an approval is
refused for an unknown authorization id, for a decision that was not
REQUIRE_APPROVAL, and when the authorization was already decided; it names
the approver and the reason, carries the trace and the agent, is bound to the
exact action (``action_hash``) and expires.
"""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from canopy.errors import CanopyError
from canopy.evidence.binding import action_hash
from canopy.ledger.store import Ledger, StoredEvent

__all__ = [
    "APPROVAL_TTL_ENV",
    "ApprovalError",
    "ApprovalStatus",
    "approval_status",
    "pending_approvals",
    "prompt_for_approval",
    "record_approval_decision",
]

APPROVAL_TTL_ENV = "CANOPY_APPROVAL_TTL_SECONDS"
DEFAULT_TTL = timedelta(hours=1)


class ApprovalError(CanopyError, ValueError):
    """An approval that cannot be recorded or used; ``code`` says why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ApprovalStatus:
    authorization: StoredEvent
    approval: StoredEvent | None

    @property
    def fields(self) -> Mapping[str, Any]:
        return self.authorization.fields

    @property
    def decided(self) -> bool:
        return self.approval is not None

    @property
    def approved(self) -> bool:
        return self.approval is not None and self.approval.fields.get("approved") is True

    @property
    def expires_at(self) -> datetime | None:
        if self.approval is None or not self.approval.fields.get("expires_at"):
            return None
        return _parse_time(str(self.approval.fields["expires_at"]))

    def expired(self, now: datetime | None = None) -> bool:
        expiry = self.expires_at
        return expiry is not None and (now or datetime.now(UTC)) >= expiry


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _ttl() -> timedelta:
    raw = os.environ.get(APPROVAL_TTL_ENV)
    if not raw:
        return DEFAULT_TTL
    try:
        seconds = float(raw)
    except ValueError:
        return DEFAULT_TTL
    return timedelta(seconds=seconds) if seconds > 0 else DEFAULT_TTL


def _authorization(ledger: Ledger, authorization_id: str) -> tuple[StoredEvent, list[StoredEvent]]:
    events = ledger.find(authorization_id=authorization_id) if authorization_id else []
    auths = [e for e in events if e.kind == "authorization"]
    if not auths:
        raise ApprovalError(
            f"no authorization {authorization_id!r} in ledger {ledger.path}",
            "unknown_authorization",
        )
    return auths[0], events


def approval_status(ledger: Ledger, authorization_id: str) -> ApprovalStatus:
    auth, events = _authorization(ledger, authorization_id)
    approvals = [e for e in events if e.kind == "approval"]
    return ApprovalStatus(auth, approvals[0] if approvals else None)


def stored_action_hash(authorization: StoredEvent) -> str:
    fields = authorization.fields
    return action_hash(str(fields.get("action_type")), fields.get("payload"), str(fields["avid"]))


def record_approval_decision(
    authorization_id: str,
    approved: bool,
    approver: str,
    reason: str = "",
    *,
    audit_log_path: str | os.PathLike[str] | None = None,
    ledger: Ledger | None = None,
    ttl: timedelta | None = None,
    via: str | None = None,
    avid: str | None = None,
) -> dict[str, Any]:
    """Record a human's decision on a pending REQUIRE_APPROVAL authorization.

    ``via`` names the channel that vouches for the approver (the gateway
    records the API key's fingerprint), since ``approver`` is only a claim.
    ``avid``, when given, must be the agent of that authorization (callers that
    name the agent they mean to approve for are refused for any other).
    """
    if not isinstance(approver, str) or not approver.strip():
        raise ApprovalError("an approval must name its approver", "no_approver")
    if ledger is None:
        from canopy.authorize import open_ledger

        ledger = open_ledger(audit_log_path)
    status = approval_status(ledger, authorization_id)
    auth = status.authorization
    if avid is not None and auth.fields.get("avid") != avid:
        raise ApprovalError(
            f"authorization {authorization_id} is agent {auth.fields.get('avid')}'s, not {avid}'s",
            "avid_mismatch",
        )
    if auth.fields.get("decision") != "REQUIRE_APPROVAL":
        raise ApprovalError(
            f"authorization {authorization_id} was {auth.fields.get('decision')}, "
            "not REQUIRE_APPROVAL: there is nothing to approve",
            "not_pending",
        )
    if status.decided:
        assert status.approval is not None
        previous = "approved" if status.approved else "rejected"
        raise ApprovalError(
            f"authorization {authorization_id} was already {previous} by "
            f"{status.approval.fields.get('approver')} (event {status.approval.seq})",
            "already_decided",
        )
    expires = datetime.now(UTC) + (ttl or _ttl())
    fields = {
        "trace_id": auth.fields.get("trace_id"),
        "avid": auth.fields.get("avid"),
        "authorization_id": authorization_id,
        "action_type": auth.fields.get("action_type"),
        "approval_id": f"apr-{secrets.token_hex(8)}",
        "approved": bool(approved),
        "approver": approver.strip(),
        "reason": reason,
        "action_hash": stored_action_hash(auth),
        "authorization_seq": auth.seq,
        "expires_at": expires.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "via": via,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    receipt = ledger.append("approval", fields)
    return {**fields, "seq": receipt.seq, "recorded_at": receipt.ts}


def pending_approvals(ledger: Ledger) -> list[StoredEvent]:
    """REQUIRE_APPROVAL authorizations with no approval event yet."""
    decided = {e.fields.get("authorization_id") for e in ledger.events_of_kind("approval")}
    return [
        e
        for e in ledger.find(decision="REQUIRE_APPROVAL", kind="authorization")
        if e.fields.get("authorization_id") not in decided
    ]


def prompt_for_approval(decision: Mapping[str, Any], **context: Any) -> bool:
    """Ask a human at the terminal; record the answer; return True if approved.

    Usable as ``approval_callback`` of ``safe_tool``. With no terminal (stdin
    is not a TTY) the answer is no: nobody was there to approve.
    """
    authorization_id = str(decision.get("authorization_id"))
    approver = context.get("approver") or getpass.getuser()
    stream = sys.stderr
    print(
        f"\nApproval needed for {decision.get('action_type')} "
        f"(authorization {authorization_id}, trace {decision.get('trace_id')})\n"
        f"  reason: {decision.get('reason')}\n  payload: {context.get('payload', '')}",
        file=stream,
    )
    if not sys.stdin or not sys.stdin.isatty():
        answer = ""
        print("  no terminal to ask: treated as rejected", file=stream)
    else:
        answer = input("Approve? [y/N] ").strip().lower()
    approved = answer in {"y", "yes"}
    record_approval_decision(
        authorization_id,
        approved,
        str(approver),
        "approved at the terminal" if approved else "rejected at the terminal",
        audit_log_path=context.get("audit_log_path"),
    )
    return approved
