"""Compatibility with the seed package's audit API, on the signed ledger.

``HashChainAuditLog(path).verify_integrity()`` keeps working for code written
against canopy-runtime 0.x; it runs the full ledger verification and answers
with a bool. New code should call ``canopy.ledger.verify.verify_ledger`` for
the reasons behind the answer.
"""

from __future__ import annotations

import os

from canopy.errors import CanopyError
from canopy.ledger.verify import VerificationReport, verify_ledger

__all__ = ["HashChainAuditLog"]


class HashChainAuditLog:
    def __init__(self, path: str | os.PathLike[str] = "audit.log") -> None:
        self.path = os.fspath(path)
        self.last_report: VerificationReport | None = None

    def verify_integrity(self) -> bool:
        """True only if the ledger exists and every check passes."""
        try:
            self.last_report = verify_ledger(self.path)
        except CanopyError:
            self.last_report = None
            return False
        return self.last_report.ok
