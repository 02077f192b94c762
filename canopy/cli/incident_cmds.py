"""``canopy incident``: the timeline of one trace or incident, with evidence to export."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from canopy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    console,
    err_console,
    handle_errors,
    json_option,
    ledger_argument,
    print_json,
)

if TYPE_CHECKING:
    from rich.text import Text

    from canopy.ledger.store import Ledger
    from canopy.reports.timeline import Timeline, TimelineEntry

#: Show a progress bar when an export holds more events than this.
PROGRESS_MIN_EVENTS = 1000

#: Below this terminal width the outcome column folds into the reason column.
_NARROW = 110

DECISION_STYLES = {"ALLOW": "green", "DENY": "bold red", "REQUIRE_APPROVAL": "yellow"}


@click.command("incident")
@click.option("--trace", "trace_id", metavar="ID", help="Every event of this trace.")
@click.option(
    "--incident",
    "incident_id",
    metavar="ID",
    help="The incident, its trace and its related authorizations.",
)
@ledger_argument
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.xlsx",
    help="Write a workbook: Timeline, Evidence (inclusion proofs) and Checkpoint sheets.",
)
@json_option
@handle_errors
def incident_cmd(
    trace_id: str | None,
    incident_id: str | None,
    ledger: Path,
    export: Path | None,
    as_json: bool,
) -> None:
    """Show the timeline of one trace (--trace ID) or incident (--incident ID) in LEDGER.

    Each event in ledger order: time, kind, action type, decision, deciding layer
    and rule, reason, approval, execution and result. --json prints the
    canopy/timeline/v1 document: {format, ledger, origin, subject: {type, id},
    incident, summary: {events, first_ts, last_ts, agents, traces, by_kind,
    by_decision, pending_approvals, executions, errors}, events: [{seq, ts, kind,
    trace_id, avid, authorization_id, action_type, decision, layer, rule_id,
    reason, severity, approval, execution, result, incident, leaf_hash}]}.

    --export FILE.xlsx adds, per event, its leaf hash and an inclusion proof
    against the latest checkpoint that discloses the fields shown, so the
    recipient can check the timeline with the verifier key alone.

    Exit 0 found, 1 nothing matched, 2 usage error or unreadable ledger.
    """
    if (trace_id is None) == (incident_id is None):
        raise click.UsageError("give exactly one of --trace ID or --incident ID")
    if export is not None and export.suffix.lower() != ".xlsx":
        raise click.BadParameter(
            f"{export}: the export must be a .xlsx file", param_hint="--export"
        )
    from canopy.ledger.store import Ledger
    from canopy.reports.timeline import incident_timeline, trace_timeline

    with Ledger(ledger, read_only=True) as opened:
        if trace_id is not None:
            timeline = trace_timeline(opened, trace_id)
        else:
            assert incident_id is not None
            timeline = incident_timeline(opened, incident_id)
        if timeline and export is not None:
            _export(opened, timeline, export, quiet=as_json)
    if as_json:
        print_json(timeline.to_json())
    elif not timeline:
        what = f"trace {trace_id}" if trace_id is not None else f"incident {incident_id}"
        err_console.print(f"nothing matched: no events of {what} in {ledger}")
    else:
        _render_header(timeline)
        if export is None:
            _render_table(timeline)
        else:
            console.print(f"exported {len(timeline.entries)} event(s) with evidence to {export}")
    sys.exit(EXIT_OK if timeline else EXIT_FAILED)


def _export(ledger: Ledger, timeline: Timeline, path: Path, *, quiet: bool) -> None:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from canopy.reports.timeline import build_evidence, checkpoint_info
    from canopy.reports.xlsx import write_timeline_workbook

    total = len(timeline.entries)
    show = not quiet and total > PROGRESS_MIN_EVENTS and err_console.is_terminal
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not show,
    )
    info = checkpoint_info(ledger)
    with progress:
        proving = progress.add_task("building proofs", total=total)
        evidence = build_evidence(
            ledger,
            timeline.entries,
            checkpoint_size=info.size,
            progress=lambda done: progress.update(proving, completed=done),
        )
        writing = progress.add_task("writing workbook", total=total)
        write_timeline_workbook(
            path,
            timeline,
            evidence,
            info,
            progress=lambda done: progress.update(writing, completed=done),
        )


def _short_ts(ts: str) -> str:
    """2026-11-21T07:21:03.750261Z -> 2026-11-21 07:21:03.750"""
    return ts[:23].replace("T", " ") if len(ts) >= 23 else ts


def _styled(value: object, style: str = "") -> Text:
    from rich.text import Text

    return Text("" if value is None else str(value), style=style)


def _render_header(timeline: Timeline) -> None:
    from rich.panel import Panel
    from rich.table import Table

    summary = timeline.summary()
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    if timeline.incident is not None:
        inc = timeline.incident
        grid.add_row("incident", _styled(inc.get("incident_id"), "bold"))
        grid.add_row("description", _styled(inc.get("description")))
        grid.add_row(
            "severity",
            _styled(
                f"{inc.get('severity') or '-'}   reported by {inc.get('reporter') or '-'} "
                f"at {inc.get('ts')} (event {inc.get('seq')})"
            ),
        )
        related = inc.get("related_authorization_ids") or []
        if related:
            grid.add_row("related", _styled(", ".join(related)))
    grid.add_row("traces", _styled(", ".join(summary["traces"]) or "-"))
    grid.add_row("agents", _styled(", ".join(summary["agents"]) or "-"))
    grid.add_row("ledger", _styled(f"{timeline.ledger} ({timeline.origin})"))
    grid.add_row(
        "events",
        _styled(
            f"{summary['events']}: "
            + ", ".join(f"{n} {kind}" for kind, n in summary["by_kind"].items())
        ),
    )
    grid.add_row("time", _styled(f"{summary['first_ts']} .. {summary['last_ts']}"))
    decisions = _styled("")
    for i, (decision, n) in enumerate(summary["by_decision"].items()):
        if i:
            decisions.append("  ")
        decisions.append(f"{decision} {n}", style=DECISION_STYLES.get(decision, ""))
    grid.add_row("decisions", decisions if summary["by_decision"] else _styled("-"))
    grid.add_row(
        "outcome",
        _styled(
            f"{summary['executions']} executed, {summary['errors']} tool error(s), "
            f"{len(summary['pending_approvals'])} approval(s) pending"
        ),
    )
    title = (
        f"incident {timeline.subject_id}"
        if timeline.subject == "incident"
        else f"trace {timeline.subject_id}"
    )
    console.print(Panel(grid, title=_styled(title, "bold"), title_align="left"))


def _render_table(timeline: Timeline) -> None:
    from rich import box
    from rich.table import Table

    one_day = len({e.ts[:10] for e in timeline.entries}) == 1
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False, expand=True)
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True, min_width=12)
    table.add_column("event / action", overflow="fold", min_width=13)
    table.add_column("decision", no_wrap=True)
    table.add_column("layer / rule / reason", overflow="fold", ratio=3)
    narrow = console.width < _NARROW
    if not narrow:
        table.add_column("approval / execution / result", overflow="fold", ratio=2)
    for entry in timeline.entries:
        cells = _cells(entry, one_day)
        if narrow:  # the outcome goes under the reason
            outcome = cells.pop()
            if outcome.plain:
                cells[-1].append(("\n" if cells[-1].plain else "") + "→ ")
                cells[-1].append_text(outcome)
        table.add_row(*cells)
    console.print(table)


def _cells(entry: TimelineEntry, one_day: bool) -> list[Text]:
    time = entry.ts[11:23] if one_day else _short_ts(entry.ts)
    event = _styled(entry.kind, "bold")
    if entry.action_type:
        event.append(f"\n{entry.action_type}", style="")
    decision = entry.decision
    decision_style = DECISION_STYLES.get(decision or "", "")
    if entry.kind == "incident":
        decision, decision_style = f"INCIDENT {entry.severity or ''}".strip(), "bold magenta"
    why = _styled(" / ".join(x for x in (entry.layer, entry.rule_id) if x), "dim")
    if entry.reason:
        why.append(("\n" if why.plain else "") + entry.reason, style="")
    if entry.approval is not None:
        approved = entry.approval.get("approved") is True
        outcome = _styled(entry.approval_text(), "green" if approved else "red")
    elif entry.result is not None:
        ok = entry.result.get("status") == "ok"
        outcome = _styled(entry.result_text(), "green" if ok else "red")
    else:
        outcome = _styled(entry.execution_text())
    return [
        _styled(entry.seq),
        _styled(time),
        event,
        _styled(decision, decision_style),
        why,
        outcome,
    ]
