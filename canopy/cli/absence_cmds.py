"""``canopy prove-absent``: produce or check a proof that something never happened."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from canopy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    console,
    err_console,
    handle_errors,
    parse_verifier,
    public_key_option,
)


def _bound(value: str | None, ledger, what: str):  # type: ignore[no-untyped-def]
    """A window bound given as a size or a checkpoint file: (size, note or None)."""
    if value is None:
        return None, None
    if value.isdigit():
        return int(value), None
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter(f"{value}: neither a size nor a checkpoint file", param_hint=what)
    from canopy.ledger.checkpoint import SignedCheckpoint

    note = path.read_text(encoding="utf-8")
    signed = SignedCheckpoint.open(note, [v for _, v in ledger.key_schedule()])
    if signed.origin != ledger.origin:
        raise click.BadParameter(f"{value} is a checkpoint of {signed.origin}", param_hint=what)
    if signed.size > ledger.size() or ledger.root(signed.size) != signed.root:
        raise click.BadParameter(
            f"{value} does not match this ledger (truncated or rewritten?)", param_hint=what
        )
    return signed.size, note


@click.command("prove-absent")
@click.argument("ledger", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--trace-id")
@click.option("--authorization-id")
@click.option("--kind", type=click.Choice(["execution", "tool_result", "approval", "any"]))
@click.option("--avid")
@click.option("--action-type")
@click.option("--payload-contains")
@click.option("--payload-regex")
@click.option("--from", "start", metavar="CHECKPOINT_FILE|SIZE", help="Window start (default 0).")
@click.option("--to", "end", metavar="CHECKPOINT_FILE|SIZE", help="Window end (a checkpoint).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--verify",
    "verify_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Check a proof offline instead of producing one.",
)
@public_key_option
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    metavar="VKEY|FILE",
    help="Witness cosigner key (repeatable).",
)
@click.option(
    "--quorum",
    type=click.IntRange(0),
    help="Witness cosignatures required (default: 1 when --witness is given).",
)
@click.option(
    "--checkpoint",
    "trusted",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint kept elsewhere the proof must agree with.",
)
@handle_errors
def prove_absent_cmd(**opts) -> None:  # type: ignore[no-untyped-def]
    """Prove that no event in a window of LEDGER matches a query, or --verify such a proof.

    Exit codes: producing: 0 absent (proof written), 1 present (matching
    sequence numbers named), 2 usage; verifying: 0 valid, 1 invalid.
    """
    if opts["verify_file"] is not None:
        _verify(opts)
    else:
        _prove(opts)


def _query(opts):  # type: ignore[no-untyped-def]
    from canopy.ledger.absence import AbsenceQuery

    action_type = opts["action_type"]
    if action_type is not None:
        from canopy.decisions.extract import normalize_action_type

        action_type = normalize_action_type(action_type)
    try:
        return AbsenceQuery(
            trace_id=opts["trace_id"],
            authorization_id=opts["authorization_id"],
            kind=opts["kind"],
            avid=opts["avid"],
            action_type=action_type,
            payload_contains=opts["payload_contains"],
            payload_regex=opts["payload_regex"],
        )
    except ValueError as e:
        raise click.UsageError(str(e)) from e


def _prove(opts) -> None:  # type: ignore[no-untyped-def]
    from canopy.ledger.absence import EventsPresentError, build_absence_proof
    from canopy.ledger.store import Ledger

    if opts["ledger"] is None:
        raise click.UsageError("LEDGER is required to produce a proof")
    if opts["out"] is None:
        raise click.UsageError("--out PROOF.json is required")
    query = _query(opts)
    with Ledger(opts["ledger"], read_only=True) as ledger:
        start, _ = _bound(opts["start"], ledger, "--from")
        end, end_note = _bound(opts["end"], ledger, "--to")
        try:
            proof = build_absence_proof(ledger, query, start=start or 0, end=end)
        except EventsPresentError as e:
            err_console.print(f"[bold red]present:[/] {e}; no absence proof can exist")
            sys.exit(EXIT_FAILED)
        if end_note is not None:
            proof["checkpoint"] = end_note  # keeps the witnesses' cosignatures
    opts["out"].write_text(json.dumps(proof, indent=1) + "\n", encoding="utf-8")
    method = "compact key-index" if proof["method"] == "keyed" else "window disclosure"
    console.print(f"[bold green]absent[/] {method} proof written to {opts['out']}")
    console.print(proof["statement"])


def _verify(opts) -> None:  # type: ignore[no-untyped-def]
    from canopy.errors import VerificationError
    from canopy.ledger.absence import verify_absence_proof

    if not opts["public_keys"]:
        raise click.UsageError("--public-key is required: a proof is checked against a key")
    keys = [parse_verifier(k) for k in opts["public_keys"]]
    witnesses = [_witness_key(w) for w in opts["witnesses"]]
    quorum = opts["quorum"] if opts["quorum"] is not None else (1 if witnesses else 0)
    try:
        proof = json.loads(opts["verify_file"].read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:  # nesting too deep is refused, not a crash
        raise click.UsageError(f"{opts['verify_file']} is not JSON a proof can be: {e}") from e
    trusted = opts["trusted"].read_text(encoding="utf-8") if opts["trusted"] else None
    try:
        result = verify_absence_proof(
            proof, keys, witness_keys=witnesses, quorum=quorum, trusted_checkpoint=trusted
        )
    except VerificationError as e:
        console.print(f"[bold red]INVALID[/] {e}")
        sys.exit(EXIT_FAILED)
    console.print("[bold green]VALID[/]")
    console.print(result.statement)
    sys.exit(EXIT_OK)


def _witness_key(value: str):  # type: ignore[no-untyped-def]
    from canopy.witness.cosignature import CosignatureVerifier

    text = value
    if Path(value).is_file():
        text = next(
            ln.strip()
            for ln in Path(value).read_text().splitlines()
            if ln.strip() and not ln.startswith("#")
        )
    try:
        return CosignatureVerifier.from_vkey(text)
    except ValueError as e:
        raise click.BadParameter(f"{value}: {e}", param_hint="--witness") from e


@click.group("index")
def index_group() -> None:
    """The key index that makes whole-history absence proofs compact."""


@index_group.command("commit")
@click.argument("ledger", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--no-checkpoint", is_flag=True, help="Do not seal a checkpoint after it.")
@handle_errors
def index_commit_cmd(ledger: Path, no_checkpoint: bool) -> None:
    """Index every event of LEDGER and record the index root as a signed event.

    Run it periodically (e.g. from cron); keyed absence proofs use the latest
    commitment that a checkpoint covers, so by default a checkpoint is sealed.
    """
    from canopy.ledger.keyindex import commit_index, index_dir_for
    from canopy.ledger.store import Ledger

    with Ledger(ledger, create=False) as opened:
        fields = commit_index(opened)
        sealed = None if no_checkpoint else opened.checkpoint()
    console.print(
        f"key index over {fields['index_size']} events in {len(fields['index_runs'])} run(s) "
        f"({sum(r['count'] for r in fields['index_runs']):,} leaves), recorded at event "
        f"{fields['seq']} ({index_dir_for(ledger)})"
    )
    if sealed is not None:
        console.print(f"checkpoint sealed at size {sealed.size}")
