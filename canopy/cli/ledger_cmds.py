"""Ledger commands: verify, checkpoint, keys, rotate-key, reindex, proof."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import click
from rich.table import Table

from canopy.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    console,
    handle_errors,
    json_option,
    ledger_argument,
    parse_verifier,
    print_json,
    progress_bar,
    public_key_option,
)
from canopy.ledger.proofs import (
    build_consistency_proof,
    build_inclusion_proof,
    verify_consistency_proof,
    verify_inclusion_proof,
)
from canopy.ledger.store import Ledger
from canopy.ledger.verify import VerificationReport, verify_ledger

_PROGRESS_MIN_EVENTS = 50_000


@click.command("verify")
@ledger_argument
@public_key_option
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An earlier checkpoint kept off this machine: proves the ledger still extends it.",
)
@click.option("--no-signatures", is_flag=True, help="Skip event signatures (hashes/tree only).")
@click.option("--workers", type=click.IntRange(1, 64), help="Worker processes (default: cores).")
@json_option
@handle_errors
def verify_cmd(
    ledger: Path,
    public_keys: tuple[str, ...],
    checkpoint_file: Path | None,
    no_signatures: bool,
    workers: int | None,
    as_json: bool,
) -> None:
    """Verify every event, signature, tree node and checkpoint of LEDGER.

    Exit 0 valid, 1 tampered or inconsistent, 2 usage error or unreadable file.
    """
    trusted = [parse_verifier(k) for k in public_keys]
    beside = _key_files_beside(ledger, public_keys)
    note = checkpoint_file.read_text(encoding="utf-8") if checkpoint_file else None
    total = _events_to_count(ledger)
    progress = progress_bar("verifying", show=not as_json and total >= _PROGRESS_MIN_EVENTS)
    with progress:
        task = progress.add_task("events", total=total)
        report = verify_ledger(
            ledger,
            trusted_keys=trusted,
            trusted_checkpoint=note,
            check_signatures=not no_signatures,
            workers=workers,
            progress=lambda done, _total: progress.update(task, completed=done),
        )
    if beside:
        report.warnings.append(
            f"public key file(s) {', '.join(beside)} sit beside the ledger: whoever can edit "
            "the ledger can replace them, so they vouch for nothing; keep the key elsewhere"
        )
    if as_json:
        print_json(report.to_json())
    else:
        _render_report(report)
    sys.exit(EXIT_OK if report.ok else EXIT_FAILED)


def _events_to_count(ledger: Path) -> int:
    """The progress bar's total; 0 when the file cannot say (verification then
    reports why, as a problem rather than a traceback)."""
    with Ledger(ledger, read_only=True) as opened:
        try:
            return int(opened.size())
        except sqlite3.Error:
            return 0


def _key_files_beside(ledger: Path, values: tuple[str, ...]) -> list[str]:
    """--public-key files kept in the ledger's own directory (not an independent anchor)."""
    directory = ledger.resolve().parent
    return [v for v in values if Path(v).is_file() and Path(v).resolve().parent == directory]


@click.command("reindex")
@ledger_argument
@json_option
@handle_errors
def reindex_cmd(ledger: Path, as_json: bool) -> None:
    """Rebuild LEDGER's lookup index (by trace, agent, authorization) from its
    events: derived data, so no event, proof or checkpoint changes. For a
    ledger whose `canopy verify` reports its lookups damaged. One transaction:
    writers wait for it (about 5 s per million events)."""
    with Ledger(ledger, create=False) as opened:
        total = opened.size()
        progress = progress_bar("indexing", show=not as_json and total >= _PROGRESS_MIN_EVENTS)
        with progress:
            task = progress.add_task("events", total=total)
            keys, runs = opened.rebuild_lookups(
                lambda done, _total: progress.update(task, completed=done)
            )
    if as_json:
        print_json({"ledger": str(ledger), "events": total, "keys": keys, "runs": runs})
    else:
        console.print(f"lookup index rebuilt: {keys:,} keys of {total:,} events, {runs} run(s)")


def _render_report(report: VerificationReport) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("ledger", report.path)
    table.add_row("origin", report.origin)
    table.add_row("events", str(report.size))
    table.add_row(
        "checkpoints", f"{report.checkpoints} (latest covers {report.latest_checkpoint or 0})"
    )
    table.add_row("unsealed", f"{report.unsealed} event(s) after the last checkpoint")
    table.add_row("signatures", "checked" if report.signatures_checked else "[yellow]skipped[/]")
    table.add_row("trust anchor", report.trust_anchor)
    if report.trusted_checkpoint is not None:
        table.add_row("trusted checkpoint", f"size {report.trusted_checkpoint}")
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}")
    if report.ok:
        console.print("[bold green]VALID[/]")
        if report.trust_anchor.startswith("self-declared"):
            console.print(
                "[dim]Without --public-key or --checkpoint this proves internal consistency "
                "only; a rewritten, re-signed ledger is caught only against a key or "
                "checkpoint kept elsewhere.[/]"
            )
        return
    first = report.first_problem
    console.print(f"[bold red]TAMPERED[/] first problem: {first}")
    for problem in report.problems[:20]:
        console.print(f"  {problem}")
    if len(report.problems) > 20:
        console.print(f"  ... and {len(report.problems) - 20} more")


@click.command("checkpoint")
@ledger_argument
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@json_option
@handle_errors
def checkpoint_cmd(ledger: Path, out: Path | None, as_json: bool) -> None:
    """Seal a signed checkpoint over LEDGER now and print or write it.

    Keep a copy off this machine: `canopy verify LEDGER --checkpoint FILE` later
    proves the ledger still extends it (catches truncation and rewrites).
    """
    with Ledger(ledger, create=False) as opened:
        signed = opened.checkpoint()
    if as_json:
        print_json(signed.to_json())
    elif out:
        out.write_text(signed.note, encoding="utf-8")
        console.print(f"checkpoint of size {signed.size} written to {out}")
    else:
        click.echo(signed.note, nl=False)


@click.command("keys")
@ledger_argument
@click.option("--all", "show_all", is_flag=True, help="Every key the ledger has used.")
@json_option
@handle_errors
def keys_cmd(ledger: Path, show_all: bool, as_json: bool) -> None:
    """Print LEDGER's verifier key (C2SP vkey form)."""
    with Ledger(ledger, read_only=True) as opened:
        schedule = opened.key_schedule()
        origin = opened.origin
    if as_json:
        print_json(
            {
                "origin": origin,
                "vkey": schedule[-1][1].vkey,
                "keys": [{"from_seq": s, "vkey": v.vkey} for s, v in schedule],
            }
        )
    elif show_all:
        for from_seq, verifier in schedule:
            click.echo(f"{from_seq}\t{verifier.vkey}")
    else:
        click.echo(schedule[-1][1].vkey)


@click.command("rotate-key")
@ledger_argument
@handle_errors
def rotate_key_cmd(ledger: Path) -> None:
    """Switch LEDGER to a new signing key (a key_rotation event signed by the old key)."""
    with Ledger(ledger, create=False) as opened:
        receipt = opened.rotate_key()
        vkey = opened.verifier.vkey
    console.print(f"key rotated at event {receipt.seq}; new verifier key:")
    click.echo(vkey)


@click.group("proof")
def proof_group() -> None:
    """Build and check inclusion and consistency proofs."""


@proof_group.command("inclusion")
@ledger_argument
@click.argument("seq", type=click.IntRange(0))
@click.option("--checkpoint-size", type=click.IntRange(0), help="Default: latest checkpoint.")
@click.option("--disclose", default="", help="Comma-separated fields to reveal in the proof.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def proof_inclusion_cmd(
    ledger: Path, seq: int, checkpoint_size: int | None, disclose: str, out: Path | None
) -> None:
    """Prove event SEQ is in LEDGER's checkpointed tree."""
    names = [n for n in disclose.split(",") if n]
    with Ledger(ledger, read_only=True) as opened:
        proof = build_inclusion_proof(opened, seq, checkpoint_size=checkpoint_size, disclose=names)
    _emit(proof.to_json(), out)


@proof_group.command("consistency")
@ledger_argument
@click.argument("old_size", type=click.IntRange(1))
@click.argument("new_size", type=click.IntRange(1), required=False)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def proof_consistency_cmd(
    ledger: Path, old_size: int, new_size: int | None, out: Path | None
) -> None:
    """Prove LEDGER's checkpoint NEW_SIZE (default latest) extends checkpoint OLD_SIZE."""
    with Ledger(ledger, read_only=True) as opened:
        proof = build_consistency_proof(opened, old_size, new_size)
    _emit(proof.to_json(), out)


@proof_group.command("verify")
@click.argument("proof_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@public_key_option
@handle_errors
def proof_verify_cmd(proof_file: Path, public_keys: tuple[str, ...]) -> None:
    """Check a proof offline with only the verifier key(s). Exit 0 valid, 1 invalid."""
    if not public_keys:
        raise click.UsageError("--public-key is required: a proof is checked against a key")
    keys = [parse_verifier(k) for k in public_keys]
    try:
        data = json.loads(proof_file.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:  # nesting too deep is refused, not a crash
        raise click.UsageError(f"{proof_file} is not JSON a proof can be: {e}") from e
    kind = data.get("format") if isinstance(data, dict) else None
    if kind == "canopy/consistency-proof/v1":
        c = verify_consistency_proof(data, keys)
        console.print(
            f"[bold green]VALID[/] ledger {c.origin}: the tree of {c.new_size} events extends "
            f"the tree of {c.old_size} events"
        )
    else:
        r = verify_inclusion_proof(data, keys)
        console.print(
            f"[bold green]VALID[/] ledger {r.origin}: event {r.leaf_index} is included in the "
            f"signed tree of {r.tree_size} events"
            + (" (event signature checked)" if r.event_signature_checked else "")
        )


def _emit(doc: dict, out: Path | None) -> None:
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"proof written to {out}")
    else:
        click.echo(text, nl=False)
