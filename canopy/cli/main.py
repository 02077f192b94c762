"""The ``canopy`` command and the seed's hyphenated executables."""

from __future__ import annotations

import click

from canopy import __version__
from canopy.cli.absence_cmds import index_group, prove_absent_cmd
from canopy.cli.approval_cmds import approvals_group
from canopy.cli.console import console_cmd
from canopy.cli.decision_cmds import (
    authorize_cmd,
    kill_switch_cmd,
    lint_policy_cmd,
    policy_test_cmd,
)
from canopy.cli.incident_cmds import incident_cmd
from canopy.cli.ledger_cmds import (
    checkpoint_cmd,
    keys_cmd,
    proof_group,
    reindex_cmd,
    rotate_key_cmd,
    verify_cmd,
)
from canopy.cli.mcp_cmds import mcp_proxy_cmd
from canopy.cli.quickstart import quickstart_cmd
from canopy.cli.report_cmds import report_cmd
from canopy.cli.selfcheck import self_check_cmd
from canopy.cli.witness_cmds import witness_group


@click.group()
@click.version_option(__version__, prog_name="canopy")
def cli() -> None:
    """Canopy: governance runtime and signed evidence ledger for AI agents."""


for command in (
    verify_cmd,
    checkpoint_cmd,
    keys_cmd,
    rotate_key_cmd,
    reindex_cmd,
    proof_group,
    quickstart_cmd,
    kill_switch_cmd,
    lint_policy_cmd,
    policy_test_cmd,
    authorize_cmd,
    prove_absent_cmd,
    index_group,
    witness_group,
    incident_cmd,
    report_cmd,
    approvals_group,
    console_cmd,
    self_check_cmd,
    mcp_proxy_cmd,
):
    cli.add_command(command)

# The seed package's executables run the same commands.
verify_entry = verify_cmd
checkpoint_entry = checkpoint_cmd
keys_entry = keys_cmd
quickstart_entry = quickstart_cmd
lint_policy_entry = lint_policy_cmd
incident_entry = incident_cmd
report_entry = report_cmd
prove_absent_entry = prove_absent_cmd
console_entry = console_cmd
self_check_entry = self_check_cmd
# canopy-runtime 0.2's `canopy-demo [--safe-path DIR]` is the quickstart session.
demo_entry = quickstart_cmd
