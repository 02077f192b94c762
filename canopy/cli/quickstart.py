"""``canopy quickstart``: a first run that exercises the ledger end to end."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from rich.table import Table

from canopy.cli.common import console, handle_errors
from canopy.ledger.keys import default_key_path
from canopy.ledger.proofs import build_inclusion_proof, verify_inclusion_proof
from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

DEFAULT_QUICKSTART_LEDGER = Path("/tmp/canopy_quickstart_audit.log")


@click.command("quickstart")
@click.option(
    "--audit-log-path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_QUICKSTART_LEDGER,
    show_default=True,
    help="Ledger file to create or extend.",
)
@handle_errors
def quickstart_cmd(audit_log_path: Path) -> None:
    """Record a short agent session, seal it, prove an event and verify the ledger."""
    trace = f"quickstart-{secrets.token_hex(4)}"
    steps = [
        (
            "authorization",
            {
                "trace_id": trace,
                "avid": "AVID-quickstart",
                "authorization_id": f"auth-{trace}-1",
                "action_type": "execute_shell",
                "decision": "ALLOW",
                "payload": {"command": "ls -la"},
            },
        ),
        ("execution", {"trace_id": trace, "authorization_id": f"auth-{trace}-1"}),
        (
            "tool_result",
            {
                "trace_id": trace,
                "authorization_id": f"auth-{trace}-1",
                "status": "ok",
                "duration_ms": 12,
            },
        ),
        (
            "authorization",
            {
                "trace_id": trace,
                "avid": "AVID-quickstart",
                "authorization_id": f"auth-{trace}-2",
                "action_type": "execute_shell",
                "decision": "DENY",
                "payload": {"command": "rm -rf /"},
            },
        ),
    ]
    with Ledger(audit_log_path) as ledger:
        receipts = ledger.append_batch(steps)
        checkpoint = ledger.checkpoint()
        proof = build_inclusion_proof(ledger, receipts[0].seq, disclose=["action_type"])
        vkey = ledger.verifier
    table = Table(title=f"trace {trace}")
    for column in ("seq", "kind", "decision", "leaf hash"):
        table.add_column(column)
    for (kind, fields), receipt in zip(steps, receipts, strict=True):
        table.add_row(
            str(receipt.seq), kind, fields.get("decision", ""), receipt.leaf_hash.hex()[:16]
        )
    console.print(table)
    console.print(f"ledger        {audit_log_path}")
    console.print(
        f"signing key   {default_key_path(audit_log_path)} (created on first use, mode 0600)"
    )
    console.print(f"verifier key  {vkey.vkey}")
    console.print(f"checkpoint    size {checkpoint.size}, root {checkpoint.root.hex()[:16]}...")
    verify_inclusion_proof(proof.to_json(), [vkey])
    console.print(f"inclusion proof of event {receipts[0].seq} verified with the public key only")
    report = verify_ledger(audit_log_path, trusted_keys=[vkey])
    verdict = (
        "[bold green]VALID[/]" if report.ok else f"[bold red]TAMPERED[/] {report.first_problem}"
    )
    console.print(f"verification  {verdict}")
    console.print(f"next: canopy verify {audit_log_path} --public-key '{vkey.vkey}'")
