"""Excel workbooks for ``canopy incident --export`` and ``canopy report --export``.

openpyxl is an optional dependency (``pip install "canopy-runtime[excel]"``)
and is imported only here, only when a workbook is written. Every sheet gets
a bold, filled header row that stays frozen, an auto-filter and fixed column
widths; decisions are coloured by a fill on their cell.

Text from the ledger is data, never a formula: a value that openpyxl would
store as a formula (``=...``) or an error code (``#N/A``) is written as a
string, and control characters Excel cannot hold are replaced.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canopy.reports import ExportError

if TYPE_CHECKING:
    from canopy.reports.summary import EventRow, Summary
    from canopy.reports.timeline import CheckpointInfo, Evidence, Timeline

__all__ = ["DECISION_COLOURS", "write_report_workbook", "write_timeline_workbook"]

#: Fill colours (RGB hex) of decision cells: green, red, amber.
DECISION_COLOURS = {"ALLOW": "C6EFCE", "DENY": "FFC7CE", "REQUIRE_APPROVAL": "FFEB9C"}
#: Chart series colours, stronger than the cell fills.
_SERIES_COLOURS = {"ALLOW": "63BE7B", "DENY": "E0605A", "REQUIRE_APPROVAL": "F4B942"}
HEADER_FILL = "1F4E78"
HEADER_FONT = "FFFFFF"
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
_ERROR_CODES = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)
_PROGRESS_EVERY = 1000

TIMELINE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Seq", 9),
    ("Time (UTC)", 28),
    ("Kind", 13),
    ("Trace", 26),
    ("Agent (AVID)", 26),
    ("Authorization", 26),
    ("Action type", 18),
    ("Decision", 19),
    ("Layer", 14),
    ("Rule", 16),
    ("Reason", 50),
    ("Severity", 10),
    ("Approval", 30),
    ("Execution", 26),
    ("Result", 34),
)
EVIDENCE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Seq", 9),
    ("Kind", 13),
    ("Leaf hash (hex)", 66),
    ("Status", 34),
    ("Disclosed fields", 44),
    ("Inclusion proof (JSON)", 90),
)
EVENT_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Seq", 10),
    ("Time (UTC)", 28),
    ("Kind", 13),
    ("Trace", 26),
    ("Agent (AVID)", 26),
    ("Action type", 18),
    ("Decision", 19),
    ("Layer", 14),
    ("Rule", 14),
    ("Reason", 50),
)


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError as e:
        raise ExportError('Excel export needs openpyxl: pip install "canopy-runtime[excel]"') from e
    return openpyxl


def _check_path(path: Path) -> None:
    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"{path}: an Excel export must end in .xlsx")


class _Styles:
    """Style objects shared by every cell of one workbook."""

    def __init__(self) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        self.header_font = Font(bold=True, color=HEADER_FONT)
        self.header_fill = PatternFill("solid", fgColor=HEADER_FILL)
        self.header_alignment = Alignment(vertical="center")
        self.title_font = Font(bold=True, size=13)
        self.label_font = Font(bold=True)
        self.wrap = Alignment(wrap_text=True, vertical="top")
        self.top = Alignment(vertical="top")
        self.fills = {d: PatternFill("solid", fgColor=c) for d, c in DECISION_COLOURS.items()}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _ILLEGAL.sub("\ufffd", value)
    if value is None or isinstance(value, bool | int | float | datetime):
        return value
    return str(value)


def _cell(ws: Any, value: Any, **style: Any) -> Any:
    """A cell that holds ``value`` as data (never a formula), with optional style."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(ws, _clean(value))
    if cell.data_type in ("f", "e"):
        cell.data_type = "s"
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _needs_cell(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith("=") or value in _ERROR_CODES)


def _plain(ws: Any, values: Iterable[Any]) -> list[Any]:
    """Row values, wrapped in string cells only where openpyxl would guess wrong."""
    row = []
    for value in values:
        value = _clean(value)
        row.append(_cell(ws, value) if _needs_cell(value) else value)
    return row


def _begin_table(ws: Any, styles: _Styles, columns: Sequence[tuple[str, int]]) -> None:
    """Widths, frozen header row and the styled header (before any other row)."""
    from openpyxl.utils import get_column_letter

    for index, (_, width) in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.append(
        [
            _cell(
                ws,
                title,
                font=styles.header_font,
                fill=styles.header_fill,
                alignment=styles.header_alignment,
            )
            for title, _ in columns
        ]
    )


def _end_table(ws: Any, columns: int, rows: int) -> None:
    from openpyxl.utils import get_column_letter

    ws.auto_filter.ref = f"A1:{get_column_letter(columns)}{max(rows, 1) + 1}"


def _decision_cell(ws: Any, styles: _Styles, decision: str | None) -> Any:
    fill = styles.fills.get(decision or "")
    return _cell(ws, decision, fill=fill) if fill is not None else _clean(decision)


# --- canopy incident --export -------------------------------------------------


def write_timeline_workbook(
    path: Path,
    timeline: Timeline,
    evidence: Sequence[Evidence],
    info: CheckpointInfo,
    *,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Sheets Timeline, Evidence (leaf hash and inclusion proof) and Checkpoint."""
    _check_path(path)
    openpyxl = _openpyxl()
    wb = openpyxl.Workbook(write_only=True)
    styles = _Styles()

    ws = wb.create_sheet("Timeline")
    _begin_table(ws, styles, TIMELINE_COLUMNS)
    reason_col = [t for t, _ in TIMELINE_COLUMNS].index("Reason")
    for entry in timeline.entries:
        row = _plain(
            ws,
            (
                entry.seq,
                entry.ts,
                entry.kind,
                entry.trace_id,
                entry.avid,
                entry.authorization_id,
                entry.action_type,
                entry.decision,
                entry.layer,
                entry.rule_id,
                entry.reason,
                entry.severity,
                entry.approval_text(),
                entry.execution_text(),
                entry.result_text(),
            ),
        )
        row[7] = _decision_cell(ws, styles, entry.decision)
        row[reason_col] = _cell(ws, entry.reason, alignment=styles.wrap)
        ws.append(row)
    _end_table(ws, len(TIMELINE_COLUMNS), len(timeline.entries))

    ws = wb.create_sheet("Evidence")
    _begin_table(ws, styles, EVIDENCE_COLUMNS)
    for done, item in enumerate(evidence, 1):
        ws.append(
            _plain(
                ws,
                (
                    item.seq,
                    item.kind,
                    item.leaf_hash.hex(),
                    item.status,
                    ", ".join(item.disclosed),
                    item.proof_text() or None,
                ),
            )
        )
        if progress is not None and (done % _PROGRESS_EVERY == 0 or done == len(evidence)):
            progress(done)
    _end_table(ws, len(EVIDENCE_COLUMNS), len(evidence))

    ws = wb.create_sheet("Checkpoint")
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 110
    subject = f"{timeline.subject} {timeline.subject_id}"
    rows: list[tuple[str, Any]] = [
        ("Subject", subject),
        ("Ledger", timeline.ledger),
        ("Ledger origin", info.origin),
        ("Exported at (UTC)", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("Checkpoint size", info.size if info.size is not None else "no checkpoint yet"),
        ("Checkpoint root (base64)", info.root_b64),
        ("Signed checkpoint", info.note),
        ("Verifier key", info.vkey),
    ]
    rows.extend(("Earlier verifier key", vkey) for vkey in info.all_vkeys if vkey != info.vkey)
    rows.extend(
        [
            ("How to verify", _INSTRUCTIONS.format(vkey=info.vkey)),
            (
                "Unsealed events",
                f"{sum(e.proof is None for e in evidence)} event(s) have no "
                "proof yet: they came after the latest checkpoint (run canopy checkpoint)",
            ),
        ]
    )
    for label, value in rows:
        ws.append(
            [
                _cell(ws, label, font=styles.label_font, alignment=styles.top),
                _cell(ws, value, alignment=styles.wrap),
            ]
        )
    wb.save(path)


_INSTRUCTIONS = (
    "Each Evidence row proves that event (with the fields shown in the Timeline) is in "
    "the signed checkpoint above. To check one without the ledger: copy its 'Inclusion "
    "proof (JSON)' cell into proof.json and run\n"
    "  canopy proof verify proof.json --public-key '{vkey}'\n"
    "(add --public-key for each earlier verifier key if the ledger rotated keys). "
    "Obtain the verifier key from a source you trust, not only from this workbook."
)


# --- canopy report --export -----------------------------------------------------


def _section(ws: Any, styles: _Styles, title: str) -> None:
    ws.append([])
    ws.append([_cell(ws, title, font=styles.title_font)])


def _table(ws: Any, styles: _Styles, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    ws.append([_cell(ws, h, font=styles.header_font, fill=styles.header_fill) for h in headers])
    for row in rows:
        ws.append(_plain(ws, row))


def _share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _summary_sheet(ws: Any, styles: _Styles, summary: Summary, top: int) -> None:
    decisions = summary.decisions
    ws.column_dimensions["A"].width = 46
    for letter in "BCDEFGH":
        ws.column_dimensions[letter].width = 18
    ws.append([_cell(ws, "Canopy ledger report", font=styles.title_font)])
    integrity = summary.integrity
    facts: list[tuple[str, Any]] = [
        ("Ledger", summary.ledger),
        ("Origin", summary.origin),
        ("Ledger size (events)", summary.size),
        ("Window", f"{summary.since or 'beginning'} .. {summary.until or 'now'}"),
        ("Events in window", summary.events),
        ("First event", summary.first_ts),
        ("Last event", summary.last_ts),
        ("Pending approvals", len(summary.pending)),
    ]
    if integrity is not None:
        facts += [
            ("Integrity", ("OK" if integrity.ok else "FAILED") + f" ({integrity.mode} check)"),
            ("Integrity checked", integrity.checked),
            ("Checkpoints", integrity.checkpoints),
            ("Unsealed events", integrity.unsealed),
        ]
        facts += [("Integrity problem", p) for p in integrity.problems[:20]]
    for label, value in facts:
        ws.append([_cell(ws, label, font=styles.label_font), _clean(value)])

    total = sum(summary.by_decision.values())
    _section(ws, styles, "Decisions (authorizations)")
    _table(
        ws,
        styles,
        ("Decision", "Count", "Share"),
        [],
    )
    for decision in decisions:
        n = summary.by_decision[decision]
        ws.append([_decision_cell(ws, styles, decision), n, _share(n, total)])
    ws.append([_cell(ws, "Total", font=styles.label_font), total, ""])

    _section(ws, styles, "Events by kind")
    _table(ws, styles, ("Kind", "Events"), summary.by_kind.most_common())

    agents = sorted(summary.by_agent.items(), key=lambda kv: (-kv[1]["events"], kv[0]))
    _section(ws, styles, f"By agent (top {top} of {len(agents)})")
    _table(
        ws,
        styles,
        ("Agent (AVID)", "Events", *decisions),
        ([avid, c["events"], *(c[d] for d in decisions)] for avid, c in agents[:top]),
    )

    actions = sorted(
        summary.by_action_type.items(), key=lambda kv: (-kv[1]["authorizations"], kv[0])
    )
    _section(ws, styles, "By action type")
    _table(
        ws,
        styles,
        ("Action type", "Authorizations", *decisions),
        ([a, c["authorizations"], *(c[d] for d in decisions)] for a, c in actions),
    )

    explained = ("DENY", "REQUIRE_APPROVAL")
    layers = sorted(summary.by_layer.items(), key=lambda kv: (-kv[1].total(), kv[0]))
    _section(ws, styles, "By deciding layer (DENY and REQUIRE_APPROVAL)")
    _table(
        ws,
        styles,
        ("Layer", *explained, "Total"),
        ([layer, *(c[d] for d in explained), c.total()] for layer, c in layers),
    )

    rules = sorted(summary.by_rule.items(), key=lambda kv: (-kv[1].total(), kv[0]))
    _section(ws, styles, f"By rule (top {top} of {len(rules)})")
    _table(
        ws,
        styles,
        ("Rule", "Layer", *explained, "Total"),
        ([rule, layer, *(c[d] for d in explained), c.total()] for (layer, rule), c in rules[:top]),
    )


def _series_sheet(ws: Any, styles: _Styles, summary: Summary) -> None:
    from openpyxl.chart import BarChart, Reference

    decisions = summary.decisions
    buckets = sorted(summary.series)
    columns = [(summary.granularity.capitalize() + " (UTC)", 20)] + [(d, 19) for d in decisions]
    _begin_table(ws, styles, columns)
    for bucket in buckets:
        label = bucket.replace("T", " ") + (":00" if summary.granularity == "hour" else "")
        ws.append([label, *(summary.series[bucket][d] for d in decisions)])
    _end_table(ws, len(columns), len(buckets))
    if not buckets or not decisions:
        return
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = f"Decisions per {summary.granularity}"
    chart.y_axis.title = "authorizations"
    chart.x_axis.title = f"{summary.granularity} (UTC)"
    chart.height, chart.width = 10, 24
    data = Reference(ws, min_col=2, max_col=1 + len(decisions), min_row=1, max_row=1 + len(buckets))
    categories = Reference(ws, min_col=1, min_row=2, max_row=1 + len(buckets))
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(categories)
    for series, decision in zip(chart.series, decisions, strict=True):
        colour = _SERIES_COLOURS.get(decision)
        if colour:
            series.graphicalProperties.solidFill = colour
            series.graphicalProperties.line.solidFill = colour
    ws.add_chart(chart, f"{chr(ord('A') + len(columns) + 1)}2")


def write_report_workbook(
    path: Path,
    summary: Summary,
    rows: Iterable[EventRow],
    *,
    progress: Callable[[int], None] | None = None,
    top: int = 50,
    now: datetime | None = None,
) -> int:
    """Sheets Summary, Decisions over time (chart), Deny reasons, Pending approvals
    and Events (one row per event, streamed); returns the number of event rows."""
    _check_path(path)
    openpyxl = _openpyxl()
    wb = openpyxl.Workbook(write_only=True)
    styles = _Styles()
    _summary_sheet(wb.create_sheet("Summary"), styles, summary, top)
    _series_sheet(wb.create_sheet("Decisions over time"), styles, summary)

    ws = wb.create_sheet("Deny reasons")
    columns = (("Reason", 70), ("Count", 10), ("Share of denials", 18))
    _begin_table(ws, styles, columns)
    denials = sum(summary.deny_reasons.values())
    reasons = summary.deny_reasons.most_common()
    for reason, n in reasons:
        ws.append(_plain(ws, (reason, n, _share(n, denials))))
    _end_table(ws, len(columns), len(reasons))

    ws = wb.create_sheet("Pending approvals")
    columns = (
        ("Seq", 10),
        ("Requested (UTC)", 28),
        ("Authorization", 30),
        ("Trace", 26),
        ("Agent (AVID)", 26),
        ("Action type", 18),
        ("Reason", 50),
        ("Age (hours)", 12),
    )
    _begin_table(ws, styles, columns)
    for p in summary.pending:
        age = round(p.age(now).total_seconds() / 3600, 2)
        ws.append(
            _plain(
                ws,
                (p.seq, p.ts, p.authorization_id, p.trace_id, p.avid, p.action_type, p.reason, age),
            )
        )
    _end_table(ws, len(columns), len(summary.pending))

    ws = wb.create_sheet("Events")
    _begin_table(ws, styles, EVENT_COLUMNS)
    fills = styles.fills
    count = 0
    for row in rows:
        values = _plain(ws, row)
        fill = fills.get(row.decision or "")
        if fill is not None:
            values[6] = _cell(ws, row.decision, fill=fill)
        ws.append(values)
        count += 1
        if progress is not None and count % _PROGRESS_EVERY == 0:
            progress(count)
    _end_table(ws, len(EVENT_COLUMNS), count)
    if progress is not None:
        progress(count)
    wb.save(path)
    return count
