"""``canopy approvals``: list pending REQUIRE_APPROVAL decisions, approve or reject one."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from canopy.cli.common import (
    EXIT_FAILED,
    console,
    err_console,
    handle_errors,
    json_option,
    ledger_argument,
    print_json,
)


@click.group("approvals")
def approvals_group() -> None:
    """Human decisions on REQUIRE_APPROVAL actions, recorded as signed approval events.

    Exit codes of approve/reject: 0 recorded; 1 refused (unknown_authorization,
    not_pending, already_decided); 2 usage error or unreadable ledger.
    """


@approvals_group.command("list")
@ledger_argument
@json_option
@handle_errors
def list_cmd(ledger: Path, as_json: bool) -> None:
    """REQUIRE_APPROVAL authorizations in LEDGER that nobody approved or rejected yet."""
    from canopy.evidence.approvals import pending_approvals
    from canopy.ledger.store import Ledger
    from canopy.reports.summary import PendingApproval

    now = datetime.now(UTC)
    with Ledger(ledger, read_only=True) as opened:
        pending = pending_approvals(opened)
    items = [PendingApproval.from_event(e).to_json(now) for e in pending]
    if as_json:
        print_json({"ledger": str(ledger), "pending": items})
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=f"{len(items)} pending approval(s) in {ledger}",
        title_justify="left",
        header_style="bold",
    )
    for name in ("authorization id", "trace", "agent", "action type", "reason"):
        table.add_column(name, overflow="fold")
    table.add_column("age", justify="right", no_wrap=True)
    for item in items:
        table.add_row(
            *(
                Text(str(item[key] or ""))
                for key in ("authorization_id", "trace_id", "avid", "action_type", "reason")
            ),
            _age(item["age_seconds"]),
        )
    console.print(table)
    if items:
        console.print(
            "[dim]decide with: canopy approvals approve|reject LEDGER AUTHORIZATION_ID "
            "--approver NAME[/]"
        )


def _age(seconds: float) -> str:
    total = max(int(seconds), 0)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def _approver(value: str) -> str:
    if not value.strip():
        raise click.BadParameter("an approval must name its approver", param_hint="--approver")
    return value


_approver_option = click.option(
    "--approver",
    required=True,
    metavar="NAME",
    callback=lambda _ctx, _param, value: _approver(value),
    help="Who decides (recorded in the signed event).",
)
_reason_option = click.option("--reason", default="", help="Why (recorded in the signed event).")


@approvals_group.command("approve")
@ledger_argument
@click.argument("authorization_id")
@_approver_option
@_reason_option
@click.option(
    "--ttl",
    type=click.FloatRange(0, min_open=True),
    metavar="SECONDS",
    help="How long the approval may be used (default: $CANOPY_APPROVAL_TTL_SECONDS or 1 h).",
)
@json_option
@handle_errors
def approve_cmd(
    ledger: Path,
    authorization_id: str,
    approver: str,
    reason: str,
    ttl: float | None,
    as_json: bool,
) -> None:
    """Approve the pending AUTHORIZATION_ID in LEDGER."""
    _decide(ledger, authorization_id, True, approver, reason, ttl, as_json)


@approvals_group.command("reject")
@ledger_argument
@click.argument("authorization_id")
@_approver_option
@_reason_option
@json_option
@handle_errors
def reject_cmd(
    ledger: Path, authorization_id: str, approver: str, reason: str, as_json: bool
) -> None:
    """Reject the pending AUTHORIZATION_ID in LEDGER."""
    _decide(ledger, authorization_id, False, approver, reason, None, as_json)


def _decide(
    ledger: Path,
    authorization_id: str,
    approved: bool,
    approver: str,
    reason: str,
    ttl: float | None,
    as_json: bool,
) -> None:
    from rich.markup import escape

    from canopy.evidence.approvals import ApprovalError, record_approval_decision
    from canopy.ledger.store import Ledger

    with Ledger(ledger, create=False) as opened:
        try:
            recorded = record_approval_decision(
                authorization_id,
                approved,
                approver,
                reason,
                ledger=opened,
                ttl=timedelta(seconds=ttl) if ttl is not None else None,
            )
        except ApprovalError as e:
            if as_json:
                print_json({"recorded": False, "code": e.code, "message": str(e)})
            err_console.print(f"[bold red]refused ({e.code}):[/] {escape(str(e))}")
            sys.exit(EXIT_FAILED)
    if as_json:
        print_json({"recorded": True, **recorded})
        return
    show_recorded(recorded)


def show_recorded(recorded: dict[str, Any]) -> None:
    """One line saying what ``record_approval_decision`` wrote."""
    from rich.markup import escape

    approved = recorded["approved"]
    verdict = "[green]approved[/]" if approved else "[red]rejected[/]"
    console.print(
        f"{verdict} {escape(recorded['authorization_id'])} by {escape(recorded['approver'])}: "
        f"approval {recorded['approval_id']} recorded as event {recorded['seq']}"
        + (f", valid until {recorded['expires_at']}" if approved else "")
    )
