"""Witness commands: init, key, add-log, add-checkpoint, status.

Exit codes (canopy.cli.common): 0 cosigned / done; 1 refused (conflict,
rollback, fork, bad or unknown signature, inconsistent proof); 2 usage error,
malformed request, unreadable file or bad key.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import click
from rich.table import Table

from canopy.cli.common import (
    EXIT_FAILED,
    F,
    console,
    err_console,
    handle_errors,
    json_option,
    parse_verifier,
    print_json,
)
from canopy.errors import VerificationError
from canopy.ledger.store import Ledger
from canopy.witness.service import ConflictError, Witness
from canopy.witness.state import WitnessState, WitnessStateError


def _state_argument(func: F) -> F:
    return click.argument("state", type=click.Path(dir_okay=False, path_type=Path))(func)


def _key_option(func: F) -> F:
    return click.option(
        "--key",
        "key_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Witness key file (default: $CANOPY_WITNESS_KEY, else STATE.key).",
    )(func)


@click.group("witness")
def witness_group() -> None:
    """An independent witness: cosigns a log's checkpoints only if they extend what it saw.

    Cosignatures follow c2sp.org/tlog-cosignature; requests follow the
    add-checkpoint call of c2sp.org/tlog-witness. The witness keeps its own
    key and state, apart from the ledgers it witnesses.
    """


@witness_group.command("init")
@_state_argument
@_key_option
@click.option("--name", help="Witness name, ideally a schema-less URL (default: random).")
@handle_errors
def init_cmd(state: Path, key_path: Path | None, name: str | None) -> None:
    """Create a witness state STATE and its key; print the witness verifier key."""
    if state.exists():
        raise WitnessStateError(f"{state} already exists; `canopy witness key {state}` shows it")
    with Witness(state, key_path=key_path, name=name) as witness:
        err_console.print(
            f"witness {witness.name} created: state {witness.path}, key {witness.key_path} "
            "(mode 0600, keep it secret); its verifier key:"
        )
        click.echo(witness.verifier.vkey)


@witness_group.command("key")
@_state_argument
@handle_errors
def key_cmd(state: Path) -> None:
    """Print the witness verifier key (vkey) log clients configure."""
    opened = WitnessState.open(state)
    try:
        click.echo(opened.vkey)
    finally:
        opened.close()


@witness_group.command("add-log")
@_state_argument
@click.argument("origin")
@click.option(
    "--log-key",
    "log_keys",
    multiple=True,
    required=True,
    metavar="VKEY|FILE",
    help="The log's note verifier key, or a file holding one. Repeatable.",
)
@_key_option
@handle_errors
def add_log_cmd(state: Path, origin: str, log_keys: tuple[str, ...], key_path: Path | None) -> None:
    """Trust the log ORIGIN, whose checkpoints are signed by --log-key."""
    verifiers = [parse_verifier(k) for k in log_keys]
    with Witness(state, key_path=key_path, create=False) as witness:
        witness.add_log(origin, verifiers)
    console.print(f"trusting log {origin} with {', '.join(v.key_id for v in verifiers)}")


@witness_group.command("add-checkpoint")
@_state_argument
@click.option(
    "--request",
    "request_file",
    type=click.File("rb"),
    help="A tlog-witness add-checkpoint request body ('-' for stdin); prints the cosignature.",
)
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cosign this ledger's latest checkpoint; prints the cosigned checkpoint note.",
)
@click.option(
    "--trust-ledger-key",
    is_flag=True,
    help="With --ledger: if the log is unknown, trust it with the ledger's genesis key.",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@_key_option
@handle_errors
def add_checkpoint_cmd(
    state: Path,
    request_file: BinaryIO | None,
    ledger_path: Path | None,
    trust_ledger_key: bool,
    out: Path | None,
    key_path: Path | None,
) -> None:
    """Cosign a checkpoint if it extends the last one this witness cosigned for its log.

    Exit 0 cosigned, 1 refused (conflict, rollback, fork, bad signature,
    inconsistent proof), 2 usage error or malformed request.
    """
    if (request_file is None) == (ledger_path is None):
        raise click.UsageError("give exactly one of --request FILE or --ledger LEDGER")
    if trust_ledger_key and ledger_path is None:
        raise click.UsageError("--trust-ledger-key needs --ledger")
    with Witness(state, key_path=key_path, create=False) as witness:
        try:
            if request_file is not None:
                text = witness.add_checkpoint(request_file.read())
                what = "cosignature"
            else:
                assert ledger_path is not None
                with Ledger(ledger_path, read_only=True) as ledger:
                    known = {log.origin for log in witness.logs()}
                    if trust_ledger_key and ledger.origin not in known:
                        genesis = ledger.genesis_verifier
                        witness.add_log(ledger.origin, [genesis])
                        err_console.print(
                            f"trusting log {ledger.origin} on first use with its genesis key "
                            f"{genesis.key_id}"
                        )
                    text = witness.cosign_ledger(ledger)
                what = "cosigned checkpoint"
        except ConflictError as e:
            err_console.print(f"[bold red]refused:[/] {e}")
            err_console.print(f"latest cosigned size: {e.latest_size}")
            sys.exit(EXIT_FAILED)
        except VerificationError as e:
            err_console.print(f"[bold red]refused:[/] {e}")
            sys.exit(EXIT_FAILED)
    if out:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"{what} written to {out}")
    else:
        click.echo(text, nl=False)


def _when(timestamp: int | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@witness_group.command("status")
@_state_argument
@json_option
@handle_errors
def status_cmd(state: Path, as_json: bool) -> None:
    """List the logs this witness trusts and the latest size it cosigned for each."""
    opened = WitnessState.open(state)
    try:
        logs = opened.logs()
        name, vkey = opened.name, opened.vkey
    finally:
        opened.close()
    if as_json:
        print_json(
            {
                "name": name,
                "vkey": vkey,
                "logs": [
                    {
                        "origin": log.origin,
                        "log_keys": [k.vkey for k in log.log_keys],
                        "size": log.size,
                        "cosigned_at": log.cosigned_at,
                        "forks": log.forks,
                    }
                    for log in logs
                ],
            }
        )
        return
    console.print(f"witness {name}")
    table = Table(box=None, pad_edge=False)
    for column in ("origin", "cosigned size", "cosigned at (UTC)", "log keys", "forks seen"):
        table.add_column(column, overflow="fold")
    for log in logs:
        table.add_row(
            log.origin,
            "-" if log.size is None else str(log.size),
            _when(log.cosigned_at),
            ", ".join(k.key_id for k in log.log_keys),
            f"[bold red]{log.forks}[/]" if log.forks else "0",
        )
    console.print(table)
    if not logs:
        console.print("[dim]no logs yet: canopy witness add-log STATE ORIGIN --log-key VKEY[/]")
