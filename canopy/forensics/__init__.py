"""Forensics: a Canopy ledger as pandas DataFrames, for notebooks and scripts.

::

    from canopy import forensics

    forensics.events("audit.log", avid="AVID-...", since="2026-11-21T06:00Z")
    forensics.traces("audit.log")
    forensics.approvals("audit.log")

Needs the ``forensics`` extra (``pip install canopy-runtime[forensics]``);
``import canopy`` alone never imports pandas.
"""

from __future__ import annotations

from canopy.forensics.frames import (
    APPROVAL_COLUMNS,
    EVENT_COLUMNS,
    SEVERITY_DTYPE,
    TRACE_COLUMNS,
    approvals,
    events,
    traces,
)

__all__ = [
    "APPROVAL_COLUMNS",
    "EVENT_COLUMNS",
    "SEVERITY_DTYPE",
    "TRACE_COLUMNS",
    "approvals",
    "events",
    "traces",
]
