"""The command line, run as real processes: exit codes and outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_helpers import build, tamper

BIN = Path(sys.executable).parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    found = shutil.which(args[0], path=str(BIN)) or shutil.which(args[0])
    assert found, f"{args[0]} is not installed (pip install -e .)"
    command = [found, *args[1:]]
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.log"
    build(path, 20).close()
    return path


def test_verify_exit_codes(ledger_path: Path, tmp_path: Path) -> None:
    ok = run("canopy", "verify", str(ledger_path))
    assert ok.returncode == 0, ok.stderr
    assert "VALID" in ok.stdout and "unsealed" in ok.stdout
    assert run("canopy-verify", str(ledger_path)).returncode == 0
    tamper(ledger_path, "UPDATE events SET body = '{}' WHERE seq = 11")
    bad = run("canopy", "verify", str(ledger_path))
    assert bad.returncode == 1
    assert "event 11" in bad.stdout
    assert run("canopy", "verify", str(tmp_path / "missing.log")).returncode == 2
    junk = tmp_path / "junk.log"
    junk.write_text("hello\n")
    assert run("canopy", "verify", str(junk)).returncode == 2
    assert run("canopy", "verify").returncode == 2  # usage


def test_verify_json_and_unsealed(ledger_path: Path) -> None:
    from canopy.ledger.store import Ledger

    with Ledger(ledger_path) as ledger:
        ledger.append("x", {})
    out = run("canopy", "verify", str(ledger_path), "--json")
    doc = json.loads(out.stdout)
    assert out.returncode == 0
    assert doc["valid"] is True and doc["size"] == 21 and doc["unsealed_events"] == 5


def test_checkpoint_keys_and_trusted_verification(ledger_path: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.checkpoint"
    out = run("canopy", "checkpoint", str(ledger_path), "--out", str(kept))
    assert out.returncode == 0, out.stderr
    assert kept.read_text().split("\n")[1] == "20"
    vkey = run("canopy", "keys", str(ledger_path)).stdout.strip()
    key_file = tmp_path / "ledger.vkey"
    key_file.write_text(f"# verifier key\n{vkey}\n")
    for key in (vkey, str(key_file)):
        good = run(
            "canopy", "verify", str(ledger_path), "--public-key", key, "--checkpoint", str(kept)
        )
        assert good.returncode == 0, good.stdout + good.stderr
    other = build(tmp_path / "other.db", 2)
    other_vkey = other.verifier.vkey
    other.close()
    wrong = run("canopy", "verify", str(ledger_path), "--public-key", other_vkey)
    assert wrong.returncode == 1
    assert run("canopy", "verify", str(ledger_path), "--public-key", "garbage").returncode == 2
    # truncation against the kept checkpoint
    tamper(
        ledger_path,
        "DELETE FROM events WHERE seq >= 16",
        "DELETE FROM checkpoints WHERE size > 16",
    )
    assert run("canopy", "verify", str(ledger_path)).returncode == 0
    cut = run("canopy", "verify", str(ledger_path), "--checkpoint", str(kept))
    assert cut.returncode == 1 and "truncated" in cut.stdout


def test_proof_round_trip(ledger_path: Path, tmp_path: Path) -> None:
    vkey = run("canopy", "keys", str(ledger_path)).stdout.strip()
    proof = tmp_path / "p.json"
    made = run(
        "canopy",
        "proof",
        "inclusion",
        str(ledger_path),
        "5",
        "--out",
        str(proof),
        "--disclose",
        "trace_id",
    )
    assert made.returncode == 0, made.stderr
    checked = run("canopy", "proof", "verify", str(proof), "--public-key", vkey)
    assert checked.returncode == 0 and "event 5 is included" in checked.stdout
    doc = json.loads(proof.read_text())
    doc["leaf_index"] = 6
    proof.write_text(json.dumps(doc))
    assert run("canopy", "proof", "verify", str(proof), "--public-key", vkey).returncode == 1
    cons = tmp_path / "c.json"
    assert (
        run("canopy", "proof", "consistency", str(ledger_path), "8", "--out", str(cons)).returncode
        == 0
    )
    assert run("canopy", "proof", "verify", str(cons), "--public-key", vkey).returncode == 0
    assert run("canopy", "proof", "verify", str(cons)).returncode == 2


def test_rotate_key(ledger_path: Path) -> None:
    before = run("canopy", "keys", str(ledger_path)).stdout.strip()
    out = run("canopy", "rotate-key", str(ledger_path))
    assert out.returncode == 0, out.stderr
    after = run("canopy", "keys", str(ledger_path)).stdout.strip()
    assert after != before and after in out.stdout
    assert run("canopy", "verify", str(ledger_path), "--public-key", before).returncode == 0


def test_quickstart_creates_a_verifiable_ledger(tmp_path: Path) -> None:
    path = tmp_path / "qs.log"
    out = run("canopy-quickstart", "--audit-log-path", str(path))
    assert out.returncode == 0, out.stderr
    assert "VALID" in out.stdout
    assert run("canopy", "verify", str(path)).returncode == 0


def test_kill_switch_cli_stops_and_releases_an_agent(tmp_path: Path) -> None:
    from canopy import authorize_action

    ledger = tmp_path / "ks.log"
    agent = {"public_key": "pk-cli-kill"}
    avid = authorize_action(agent, "execute_shell", {"command": "ls"}, audit_log_path=ledger)[
        "avid"
    ]
    on = run("canopy", "kill-switch", "on", str(ledger), "--agent", avid, "--reason", "test")
    assert on.returncode == 0, on.stderr
    status = run("canopy", "kill-switch", "status", str(ledger))
    assert avid in status.stdout and "test" in status.stdout
    stopped = run(
        "canopy",
        "authorize",
        "execute_shell",
        '{"command": "ls"}',
        "--ctx",
        json.dumps(agent),
        "--ledger",
        str(ledger),
    )
    assert stopped.returncode == 1 and '"DENY"' in stopped.stdout
    assert run("canopy", "kill-switch", "off", str(ledger), "--agent", avid).returncode == 0
    allowed = run(
        "canopy",
        "authorize",
        "execute_shell",
        '{"command": "ls"}',
        "--ctx",
        json.dumps(agent),
        "--ledger",
        str(ledger),
    )
    assert allowed.returncode == 0, allowed.stdout
    assert run("canopy", "kill-switch", "on", str(ledger), "--agent", "bob").returncode == 2
    assert run("canopy", "verify", str(ledger)).returncode == 0


def test_lint_policy_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("rules:\n  - action_type: execute_shell\n    deny_if: 'rm -rf'\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - action_type: execute_shell\n    deny_regex: '(?=x)'\n")
    assert run("canopy-lint-policy", str(good)).returncode == 0
    out = run("canopy", "lint-policy", str(bad))
    assert out.returncode == 1 and "bad.yaml:3" in out.stdout
    assert run("canopy", "lint-policy", str(tmp_path / "none.yaml")).returncode == 2
    bundled = Path(__file__).resolve().parents[1] / "canopy" / "policies"
    assert run("canopy", "lint-policy", *map(str, bundled.glob("*.yaml"))).returncode == 0


def test_policy_test_cli(tmp_path: Path) -> None:
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "- name: rm is denied\n  action_type: shell\n  payload: {cmd: 'rm -r -f /tmp/x'}\n"
        "  expect: DENY\n"
        "- name: ls is fine\n  action_type: execute_shell\n  payload: {command: ls}\n"
        "  expect: ALLOW\n"
    )
    ok = run("canopy", "policy-test", str(cases))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "2 passed, 0 failed" in ok.stdout
    cases.write_text(
        "- name: wrong on purpose\n  action_type: execute_shell\n  payload: {command: ls}\n"
        "  expect: DENY\n"
    )
    failed = run("canopy", "policy-test", str(cases))
    assert failed.returncode == 1 and "FAIL" in failed.stdout
    as_json = run("canopy", "policy-test", str(cases), "--json")
    assert as_json.returncode == 1, as_json.stderr
    (result,) = json.loads(as_json.stdout)
    assert result["name"] == "wrong on purpose" and result["line"] == 1
    assert (result["expected"], result["actual"], result["passed"]) == ("DENY", "ALLOW", False)


def test_policy_test_refuses_an_unusable_policy(tmp_path: Path) -> None:
    """Every case would be DENY by the fail-closed pipeline; counting those as passes
    would bless a broken policy."""
    cases = tmp_path / "cases.yaml"
    cases.write_text(
        "- name: rm is denied\n  action_type: execute_shell\n  payload: {command: 'rm -rf /'}\n"
        "  expect: DENY\n"
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text('version: "1"\nrules:\n  - {id: x, action_type: send_message, bogus: 1}\n')
    result = run("canopy", "policy-test", str(cases), "--policy", str(bad))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "unknown key 'bogus'" in result.stderr and "no case was run" in result.stderr
    assert "passed" not in result.stdout


def test_authorize_exit_code_for_an_unusable_policy(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [")
    ledger = str(tmp_path / "audit.log")
    payload = '{"path": "README.md"}'
    broken = run(
        "canopy", "authorize", "read_file", payload, "--ledger", ledger, "--policy", str(bad)
    )
    assert broken.returncode == 4, broken.stdout + broken.stderr
    decided = json.loads(broken.stdout)
    assert (decided["decision"], decided["reason_code"]) == ("DENY", "pipeline.policy_invalid")
    fine = run("canopy", "authorize", "read_file", payload, "--ledger", ledger)
    assert fine.returncode == 0, fine.stdout
