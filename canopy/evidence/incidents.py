"""Incidents: an investigation anchored to the ledger, linked to traces and decisions."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from typing import Any

from canopy.decisions.model import Severity
from canopy.errors import MalformedInputError

__all__ = ["open_incident"]

_SEVERITIES = {s.label for s in Severity if s is not Severity.NONE}


def open_incident(
    *,
    trace_id: str | None = None,
    agent_avid: str | None = None,
    description: str,
    severity: str = "medium",
    related_authorization_ids: Iterable[str] = (),
    reporter: str | None = None,
    audit_log_path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Record an ``incident`` event; ``incident_id`` is unique per report."""
    from canopy.authorize import open_ledger

    level = str(severity).strip().lower()
    if level not in _SEVERITIES:
        raise MalformedInputError(
            f"severity {severity!r} is not one of {', '.join(sorted(_SEVERITIES))}"
        )
    if not isinstance(description, str) or not description.strip():
        raise MalformedInputError("an incident needs a description")
    incident_id = f"inc-{secrets.token_hex(8)}"
    fields: dict[str, Any] = {
        "incident_id": incident_id,
        "description": description,
        "severity": level,
        "related_authorization_ids": [str(a) for a in related_authorization_ids],
        "reporter": reporter,
        "trace_id": trace_id,
        "avid": agent_avid,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    receipt = open_ledger(audit_log_path).append("incident", fields)
    return {**fields, "seq": receipt.seq, "recorded_at": receipt.ts}
