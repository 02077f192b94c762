"""Investigation reports over a ledger: timelines, summaries and their exports.

``timeline`` collects the events of one trace or incident, ``summary`` the
aggregates of a whole ledger; ``xlsx`` and ``csv_export`` write them out.
Nothing here imports pandas or the decision layers, so the CLIs start fast.
"""

from __future__ import annotations

from canopy.errors import CanopyError

__all__ = ["ExportError"]


class ExportError(CanopyError, ValueError):
    """An export cannot be written: unknown format, or openpyxl is not installed."""
