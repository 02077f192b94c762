"""examples/langchain_shell_agent.py, run as the seed documents it (a real process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

pytest.importorskip("langchain_core")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "langchain_shell_agent.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "250"},
    )


def test_scripted_agent_runs_only_what_canopy_allows(tmp_path: Path) -> None:
    ledger = tmp_path / "agent.log"
    result = run("--audit-log-path", str(ledger))
    assert result.returncode == 0, result.stderr
    assert "verification VALID" in result.stdout
    with Ledger(ledger, read_only=True) as opened:
        events = list(opened.iter_events())
    decisions = {
        e.fields["payload"]["command"]: e.fields["decision"]
        for e in events
        if e.kind == "authorization"
    }
    assert decisions["ls -la"] == "ALLOW"
    assert decisions["grep -rn 'rm -rf' ."] == "ALLOW"  # data, not execution
    for command in ("rm -fr /", "bash -c 'r''m -r -f ~'", "find / -name '*.log' -exec rm -f {} +"):
        assert decisions[command] == "DENY", command
    assert decisions["pip install requests"] == "REQUIRE_APPROVAL"
    # Only allowed calls reached the tool: one execution and one result each.
    allowed = sum(1 for d in decisions.values() if d == "ALLOW")
    assert sum(e.kind == "execution" for e in events) == allowed
    assert sum(e.kind == "tool_result" for e in events) == allowed
    assert verify_ledger(ledger).ok


def test_execute_runs_allowed_calls_for_real(tmp_path: Path) -> None:
    result = run("--execute", "--call", "printf 'canopy%s' -ran", "--call", "rm -fr /")
    assert result.returncode == 0, result.stderr
    assert "canopy-ran" in result.stdout  # the command's output, not its text
    assert "(dry run)" not in result.stdout
    assert "DENY" in result.stdout
    assert "temporary ledger" in result.stdout
