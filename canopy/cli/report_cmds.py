"""``canopy report``: what a ledger holds, who was stopped and why, and whether it is intact."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

    from canopy.reports.summary import Summary

DECISION_STYLES = {"ALLOW": "green", "DENY": "red", "REQUIRE_APPROVAL": "yellow"}
_EXPORTS = (".xlsx", ".csv")
_PROGRESS_MIN_EVENTS = 1000
_BAR = 30
_CHART_BUCKETS = 36


@click.command("report")
@ledger_argument
@click.option(
    "--since", metavar="T", help="From T (inclusive): 2026-11-21, 2026-11-21T06:00Z, 24h."
)
@click.option("--until", metavar="T", help="Before T; a bare date includes that whole day.")
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.xlsx|FILE.csv",
    help="Workbook (summary, chart, events, deny reasons, pending approvals) or events CSV.",
)
@click.option(
    "--full-verify",
    is_flag=True,
    help="Verify every event, signature and node (default: quick checkpoint check).",
)
@click.option(
    "--top", type=click.IntRange(1), default=10, show_default=True, help="Rows per table."
)
@json_option
@handle_errors
def report_cmd(
    ledger: Path,
    since: str | None,
    until: str | None,
    export: Path | None,
    full_verify: bool,
    top: int,
    as_json: bool,
) -> None:
    """Summarize LEDGER: decisions, agents, action types, layers, rules, deny reasons,
    pending approvals, and an integrity check.

    Integrity is always checked cryptographically: by default every checkpoint's
    signature and its root against the stored Merkle tree; with --full-verify
    every event, signature and tree node (canopy verify).

    Exit 0 ok, 1 integrity check failed, 2 usage error or unreadable ledger.
    """
    from canopy.reports.summary import normalize_time

    if export is not None and export.suffix.lower() not in _EXPORTS:
        raise click.BadParameter(
            f"{export}: the export must be a .xlsx or .csv file", param_hint="--export"
        )
    try:
        since_ts = normalize_time(since) if since is not None else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from e
    try:
        until_ts = normalize_time(until, end=True) if until is not None else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--until") from e
    if since_ts is not None and until_ts is not None and since_ts >= until_ts:
        raise click.BadParameter(f"--since {since} is not before --until {until}")

    from canopy.ledger.store import Ledger
    from canopy.reports.summary import quick_integrity, summarize

    with Ledger(ledger, read_only=True) as opened:
        check = (lambda led: _full(led, quiet=as_json)) if full_verify else quick_integrity
        summary = summarize(opened, since=since_ts, until=until_ts, integrity=check)
        written = _export(opened, summary, export, quiet=as_json) if export else None
    if as_json:
        doc = summary.to_json()
        if export is not None:
            doc["export"] = {"path": str(export), "events": written}
        print_json(doc)
    else:
        _render(summary, top)
        if export is not None:
            console.print(f"exported {written} event(s) to {export}")
    assert summary.integrity is not None
    sys.exit(EXIT_OK if summary.integrity.ok else EXIT_FAILED)


def _progress(total: int, quiet: bool) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    show = not quiet and total > _PROGRESS_MIN_EVENTS and err_console.is_terminal
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not show,
    )


def _full(ledger: Any, *, quiet: bool) -> Any:
    from canopy.reports.summary import full_integrity

    size = ledger.size()
    with _progress(size, quiet) as progress:
        task = progress.add_task("verifying", total=size)
        return full_integrity(
            ledger, progress=lambda done, _total: progress.update(task, completed=done)
        )


def _export(ledger: Any, summary: Summary, path: Path, *, quiet: bool) -> int:
    from canopy.reports.summary import event_rows

    rows = event_rows(ledger, since=summary.since, until=summary.until)
    with _progress(summary.events, quiet) as progress:
        task = progress.add_task(f"writing {path.name}", total=summary.events)

        def advance(done: int) -> None:
            progress.update(task, completed=done)

        if path.suffix.lower() == ".csv":
            from canopy.reports.csv_export import write_events_csv

            return write_events_csv(path, rows, progress=advance)
        from canopy.reports.xlsx import write_report_workbook

        return write_report_workbook(path, summary, rows, progress=advance)


# --- rendering ---------------------------------------------------------------------


def _text(value: object, style: str = "") -> Text:
    from rich.text import Text

    return Text("" if value is None else str(value), style=style)


def _age(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {seconds}s"
    return f"{seconds}s"


def _share(n: int, total: int) -> str:
    return f"{100 * n / total:.1f}%" if total else "-"


def _render(summary: Summary, top: int) -> None:
    from rich.panel import Panel
    from rich.table import Table

    decisions = summary.decisions
    integrity = summary.integrity
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    head.add_row("ledger", _text(f"{summary.ledger} ({summary.origin})"))
    head.add_row("window", _text(f"{summary.since or 'beginning'} .. {summary.until or 'now'}"))
    head.add_row("events", _text(f"{summary.events:,} of {summary.size:,}"))
    head.add_row("time", _text(f"{summary.first_ts or '-'} .. {summary.last_ts or '-'}"))
    head.add_row(
        "kinds", _text(", ".join(f"{n:,} {k}" for k, n in summary.by_kind.most_common()) or "-")
    )
    if integrity is not None:
        status = _text("OK", "bold green") if integrity.ok else _text("FAILED", "bold red")
        status.append(
            f"  {integrity.mode} check: {integrity.checkpoints} checkpoint(s), latest covers "
            f"{integrity.latest_checkpoint or 0}; {integrity.unsealed} unsealed event(s)",
            style="",
        )
        head.add_row("integrity", status)
    console.print(Panel(head, title=_text("canopy report", "bold"), title_align="left"))

    total = sum(summary.by_decision.values())
    table = Table(title="Decisions (authorizations)", title_justify="left", header_style="bold")
    table.add_column("decision")
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    table.add_column("")
    most = max(summary.by_decision.values(), default=0)
    for decision in decisions:
        n = summary.by_decision[decision]
        style = DECISION_STYLES.get(decision, "")
        bar = "█" * (round(_BAR * n / most) if most else 0)
        table.add_row(_text(decision, style), f"{n:,}", _share(n, total), _text(bar, style))
    table.add_row(_text("total", "bold"), f"{total:,}", "", "")
    console.print(table)
    _render_series(summary)

    agents = sorted(summary.by_agent.items(), key=lambda kv: (-kv[1]["events"], kv[0]))
    table = Table(
        title=f"By agent (top {min(top, len(agents))} of {len(agents)})",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("agent (AVID)", overflow="fold")
    table.add_column("events", justify="right")
    for decision in decisions:
        table.add_column(_text(decision, DECISION_STYLES.get(decision, "")), justify="right")
    for avid, counts in agents[:top]:
        table.add_row(_text(avid), f"{counts['events']:,}", *(f"{counts[d]:,}" for d in decisions))
    _show(table)

    actions = sorted(
        summary.by_action_type.items(), key=lambda kv: (-kv[1]["authorizations"], kv[0])
    )
    table = Table(title="By action type", title_justify="left", header_style="bold")
    table.add_column("action type", overflow="fold")
    table.add_column("authorizations", justify="right")
    for decision in decisions:
        table.add_column(_text(decision, DECISION_STYLES.get(decision, "")), justify="right")
    for action, counts in actions[:top]:
        table.add_row(
            _text(action),
            f"{counts['authorizations']:,}",
            *(f"{counts[d]:,}" for d in decisions),
        )
    _show(table)

    explained = ("DENY", "REQUIRE_APPROVAL")
    table = Table(
        title="By deciding layer (DENY and REQUIRE_APPROVAL)",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("layer")
    for decision in explained:
        table.add_column(_text(decision, DECISION_STYLES[decision]), justify="right")
    for layer, counts in sorted(summary.by_layer.items(), key=lambda kv: (-kv[1].total(), kv[0])):
        table.add_row(_text(layer), *(f"{counts[d]:,}" for d in explained))
    _show(table)

    rules = sorted(summary.by_rule.items(), key=lambda kv: (-kv[1].total(), kv[0]))
    table = Table(
        title=f"By rule (top {min(top, len(rules))} of {len(rules)})",
        title_justify="left",
        header_style="bold",
    )
    table.add_column("rule", overflow="fold")
    table.add_column("layer")
    for decision in explained:
        table.add_column(_text(decision, DECISION_STYLES[decision]), justify="right")
    for (layer, rule), counts in rules[:top]:
        table.add_row(_text(rule), _text(layer), *(f"{counts[d]:,}" for d in explained))
    _show(table)

    denials = sum(summary.deny_reasons.values())
    table = Table(
        title=f"Top deny reasons ({denials:,} denials)", title_justify="left", header_style="bold"
    )
    table.add_column("reason", overflow="fold", ratio=1)
    table.add_column("count", justify="right")
    table.add_column("share", justify="right")
    for reason, n in summary.deny_reasons.most_common(top):
        table.add_row(_text(reason), f"{n:,}", _share(n, denials))
    _show(table)

    pending = summary.pending
    if not pending:
        console.print(_text("Pending approvals: 0", "italic"))
    title = f"Pending approvals: {len(pending):,}"
    if pending:
        title += f" (oldest waiting {_age(pending[0].age())})"
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("authorization", overflow="fold")
    table.add_column("trace", overflow="fold")
    table.add_column("agent", overflow="fold")
    table.add_column("action type")
    table.add_column("reason", overflow="fold", ratio=1)
    table.add_column("age", justify="right", no_wrap=True)
    for p in pending[:top]:
        table.add_row(
            _text(p.authorization_id),
            _text(p.trace_id),
            _text(p.avid),
            _text(p.action_type),
            _text(p.reason),
            _age(p.age()),
        )
    _show(table)

    if integrity is not None:
        console.print(_text(f"integrity ({integrity.mode}): {integrity.checked}", "dim"))
        if integrity.unsealed:
            console.print(
                _text(
                    f"{integrity.unsealed:,} event(s) after the latest checkpoint are not sealed "
                    "yet (run canopy checkpoint)",
                    "yellow",
                )
            )
        if integrity.ok:
            console.print(_text("INTEGRITY OK", "bold green"))
        else:
            console.print(
                _text(f"INTEGRITY FAILED: {len(integrity.problems)} problem(s)", "bold red")
            )
            for problem in integrity.problems[:20]:
                console.print(_text(f"  {problem}"))
            if len(integrity.problems) > 20:
                console.print(f"  ... and {len(integrity.problems) - 20} more")


def _show(table: Any) -> None:
    """Print a table that has rows; an empty one says nothing."""
    if table.row_count:
        console.print(table)


def _render_series(summary: Summary) -> None:
    """A stacked text bar per time bucket: ALLOW green, DENY red, REQUIRE_APPROVAL yellow."""
    from rich.table import Table

    buckets = sorted(summary.series)
    if len(buckets) < 2:
        return
    shown = buckets[-_CHART_BUCKETS:]
    decisions = summary.decisions
    most = max(summary.series[b].total() for b in shown) or 1
    title = f"Decisions per {summary.granularity}"
    if len(shown) < len(buckets):
        title += f" (last {len(shown)} of {len(buckets)})"
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    for bucket in shown:
        counts = summary.series[bucket]
        bar = _text("")
        for decision in decisions:
            width = round(_BAR * counts[decision] / most)
            bar.append("█" * width, style=DECISION_STYLES.get(decision, "blue"))
        label = bucket.replace("T", " ") + (":00" if summary.granularity == "hour" else "")
        table.add_row(label, f"{counts.total():,}", bar)
    console.print(_text(title, "italic"))
    console.print(table)
