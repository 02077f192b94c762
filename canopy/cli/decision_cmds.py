"""Decision commands: kill-switch, lint-policy, policy-test, authorize."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.table import Table

from canopy.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, console, handle_errors, print_json

_LEDGER_HELP = "Ledger file (default: $CANOPY_AUDIT_LOG_PATH, else ./audit.log)."


def _ledger_path(ledger: Path | None) -> Path:
    from canopy.authorize import ledger_path_for

    return ledger_path_for(ledger)


@click.command("kill-switch")
@click.argument("state", type=click.Choice(["on", "off", "status"]))
@click.argument("ledger", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--agent", "avid", metavar="AVID", help="Stop or release one agent only.")
@click.option("--reason", help="Why (recorded in the signed event).")
@click.option("--operator", help="Who (recorded in the signed event).")
@handle_errors
def kill_switch_cmd(
    state: str, ledger: Path | None, avid: str | None, reason: str | None, operator: str | None
) -> None:
    """Turn the operator kill switch ON or OFF (for everyone, or --agent AVID).

    Each change is a signed kill_switch event in the ledger; agents cannot
    override it. `status` shows what is stopped now.
    """
    from canopy.decisions.killswitch import KillSwitchState, kill_switch_fields
    from canopy.ledger.store import Ledger

    path = _ledger_path(ledger)
    if avid is not None and not avid.startswith("AVID-"):
        raise click.BadParameter("an agent is named by its AVID (AVID-...)", param_hint="--agent")
    if state == "status":
        with Ledger(path, read_only=True) as opened:
            fold = KillSwitchState()
            for event in opened.events_of_kind("kill_switch"):
                fold.apply(event.seq, event.fields)
        if not fold.stopped:
            console.print("kill switch: off (no agent is stopped)")
        for scope, why in sorted(fold.stopped.items()):
            console.print(f"[bold red]ON[/] {scope}: {why}")
        return
    fields = kill_switch_fields(state == "on", avid=avid, operator=operator, reason=reason)
    with Ledger(path) as opened:
        receipt = opened.append("kill_switch", fields)
    target = avid or "every agent"
    console.print(f"kill switch {state.upper()} for {target} (event {receipt.seq} in {path})")


@click.command("lint-policy")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def lint_policy_cmd(files: tuple[Path, ...]) -> None:
    """Check policy files: exit 0 clean, 1 errors, 2 usage (unreadable file).

    Warnings (rules that can never match, textual patterns) do not fail.
    """
    from canopy.decisions.policy import format_issue, lint_policy

    failed = False
    for file in files:
        if not file.is_file():
            console.print(f"[red]{file}: no such file[/]")
            sys.exit(EXIT_USAGE)
        report = lint_policy(file)
        for issue in report.errors:
            console.print(format_issue(issue))
        for issue in report.warnings:
            console.print(format_issue(issue))
        if report.errors:
            failed = True
        else:
            warned = f", {len(report.warnings)} warning(s)" if report.warnings else ""
            console.print(f"{file}: ok{warned}")
    sys.exit(EXIT_FAILED if failed else EXIT_OK)


@click.command("policy-test")
@click.argument("cases", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--policy",
    "policy_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy file (default: $CANOPY_POLICY_FILE or bundled).",
)
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def policy_test_cmd(cases: Path, policy_file: Path | None, as_json: bool) -> None:
    """Run table-driven policy cases through the full pipeline; exit 1 on any failure.

    CASES is YAML: a list of {name, action_type, payload, agent_ctx, expect}.
    Decisions are made by the real four layers against a scratch ledger.
    """
    import os
    import tempfile

    from canopy.authorize import authorize_action
    from canopy.decisions.policy import PolicyError, format_issue, load_policy, run_policy_cases

    chosen = policy_file or os.environ.get("CANOPY_POLICY_FILE") or None
    try:  # a policy that cannot be used fails every case closed: say so, test nothing
        load_policy(chosen)
    except PolicyError as e:
        for issue in e.issues:
            click.echo(format_issue(issue), err=True)
        click.echo(f"{chosen}: the policy cannot be used; no case was run", err=True)
        sys.exit(EXIT_USAGE)

    with tempfile.TemporaryDirectory(prefix="canopy-policy-test-") as scratch:
        ledger = Path(scratch) / "cases.log"

        def decide(*, agent_ctx, action_type, action_payload):  # type: ignore[no-untyped-def]
            result = authorize_action(
                agent_ctx,
                action_type,
                action_payload,
                policy_file=policy_file,
                audit_log_path=ledger,
            )
            if result.get("reason_code") in _NOT_A_DECISION:  # a DENY no layer made
                raise RuntimeError(f"failed closed ({result['reason_code']}): {result['reason']}")
            return result

        results = run_policy_cases(cases, policy_file, decide=decide)
    if as_json:
        print_json(
            [
                {
                    "name": r.case.name,
                    "line": r.case.line,
                    "expected": str(r.case.expect),
                    "actual": None if r.actual is None else str(r.actual),
                    "passed": r.passed,
                    "detail": r.detail,
                }
                for r in results
            ]
        )
    else:
        table = Table(title=f"policy cases: {cases}")
        for column in ("case", "expected", "actual", "result", "why"):
            table.add_column(column, overflow="fold")
        for r in results:
            verdict = "[green]pass[/]" if r.passed else "[bold red]FAIL[/]"
            table.add_row(r.case.name, str(r.case.expect), str(r.actual), verdict, r.detail)
        console.print(table)
        passed = sum(r.passed for r in results)
        console.print(f"{passed} passed, {len(results) - passed} failed")
    sys.exit(EXIT_OK if all(r.passed for r in results) else EXIT_FAILED)


#: Fail-closed answers that say the pipeline could not decide, so they cannot pass a
#: case (a malformed payload's DENY can: it is the answer to that input).
_NOT_A_DECISION = frozenset(
    {
        "pipeline.policy_invalid",
        "pipeline.internal_error",
        "pipeline.layer_error",
        "ledger.unavailable",
    }
)
#: ``canopy authorize``: the policy could not be used (the decision printed is DENY).
EXIT_POLICY_INVALID = 4


@click.command("authorize")
@click.argument("action_type")
@click.argument("payload")
@click.option("--ctx", "ctx_json", default="{}", help="agent_ctx as JSON.")
@click.option("--ledger", type=click.Path(dir_okay=False, path_type=Path), help=_LEDGER_HELP)
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def authorize_cmd(
    action_type: str, payload: str, ctx_json: str, ledger: Path | None, policy_file: Path | None
) -> None:
    """Decide one action from the command line: PAYLOAD and --ctx are JSON.

    Exit 0 ALLOW, 1 DENY, 3 REQUIRE_APPROVAL, 4 DENY because the policy cannot be
    used (malformed, missing, unreadable); prints the decision as JSON.
    """
    from canopy.authorize import authorize_action

    try:
        payload_obj = json.loads(payload)
        ctx = json.loads(ctx_json)
    except ValueError as e:
        raise click.UsageError(f"PAYLOAD and --ctx must be JSON: {e}") from e
    result = authorize_action(
        ctx, action_type, payload_obj, policy_file=policy_file, audit_log_path=ledger
    )
    print_json(result)
    if result.get("reason_code") == "pipeline.policy_invalid":
        sys.exit(EXIT_POLICY_INVALID)
    sys.exit({"ALLOW": EXIT_OK, "DENY": EXIT_FAILED}.get(str(result["decision"]), 3))
