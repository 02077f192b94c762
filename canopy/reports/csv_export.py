"""CSV export of the Events table (``canopy report --export FILE.csv``).

One header row (``seq, ts, kind, trace_id, avid, action_type, decision, layer,
rule_id, reason``) and one row per event, UTF-8, RFC 4180 quoting.

Agents choose some of these values (a trace id, an action type), and a
spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or
``@`` as a formula. Such text values are written with a leading apostrophe
(the OWASP "CSV injection" defence); numbers are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canopy.reports import ExportError

if TYPE_CHECKING:
    from canopy.reports.summary import EventRow

__all__ = ["write_events_csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PROGRESS_EVERY = 1000


def _safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_events_csv(
    path: Path,
    rows: Iterable[EventRow],
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the Events table; return the number of event rows written."""
    from canopy.reports.summary import EVENT_COLUMNS

    if path.suffix.lower() != ".csv":
        raise ExportError(f"{path}: a CSV export must end in .csv")
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(EVENT_COLUMNS)
        for row in rows:
            writer.writerow([_safe(v) for v in row])
            count += 1
            if progress is not None and count % _PROGRESS_EVERY == 0:
                progress(count)
    if progress is not None:
        progress(count)
    return count
