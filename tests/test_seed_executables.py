"""The seed's executables beyond the core: self-check, demo, quickstart --console."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

BIN = Path(sys.executable).parent
REQUIRED = {"python", "shell parser", "bundled policies", "decisions", "signed ledger"}


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    found = shutil.which(args[0], path=str(BIN))
    assert found, f"{args[0]} is not installed (pip install -e .)"
    return subprocess.run(
        [found, *args[1:]],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


def checks_of(stdout: str) -> dict[str, dict[str, str]]:
    return {c["name"]: c for c in json.loads(stdout)["checks"]}


def test_self_check_passes_on_this_install(tmp_path: Path) -> None:
    result = run("canopy-self-check", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = checks_of(result.stdout)
    assert set(checks) >= REQUIRED
    assert all(checks[name]["status"] == "pass" for name in REQUIRED)
    assert "HTTP gateway" not in checks
    assert list(tmp_path.iterdir()) == []  # its ledger lived in a temporary directory


def test_self_check_gateway_serves_and_calls_the_gateway(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    result = run("canopy", "self-check", "--gateway", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    gateway = checks_of(result.stdout)["HTTP gateway"]
    assert gateway["status"] == "pass" and "/v1/authorize" in gateway["detail"]


def test_self_check_reports_a_broken_environment(tmp_path: Path) -> None:
    bad_key = tmp_path / "signing.key"
    bad_key.write_text("not a key\n")
    bad_key.chmod(0o600)
    result = run("canopy-self-check", "--json", env={"CANOPY_SIGNING_KEY": str(bad_key)})
    assert result.returncode == 1
    checks = checks_of(result.stdout)
    assert checks["decisions"]["status"] == "fail"
    assert "expected ALLOW" in checks["decisions"]["detail"]
    assert checks["signed ledger"]["status"] == "fail"
    table = run("canopy-self-check", env={"CANOPY_SIGNING_KEY": str(bad_key)})
    assert table.returncode == 1 and "NOT SOUND" in table.stdout


def test_canopy_demo_runs_the_seed_demo(tmp_path: Path) -> None:
    safe = tmp_path / "safe"
    ledger = tmp_path / "demo.log"
    result = run("canopy-demo", "--safe-path", str(safe), "--audit-log-path", str(ledger))
    assert result.returncode == 0, result.stderr
    assert "VALID" in result.stdout
    with Ledger(ledger, read_only=True) as opened:
        decisions = [
            e.fields.get("decision") for e in opened.iter_events() if e.kind == "authorization"
        ]
    assert decisions.count("DENY") >= 3 and "ALLOW" in decisions
    assert verify_ledger(ledger).ok


def test_quickstart_opens_the_console_when_asked(tmp_path: Path) -> None:
    ledger = tmp_path / "quick.log"
    found = shutil.which("canopy-quickstart", path=str(BIN))
    assert found
    result = subprocess.run(
        [found, "--audit-log-path", str(ledger), "--safe-path", str(tmp_path), "--console"],
        input="1\nq\n",
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stderr
    after_session = result.stdout.split("verification", 1)[1]
    assert f"canopy console: {ledger.resolve()}" in after_session
    assert "bye" in after_session
    # Without a terminal (as here) and without --console, no console.
    plain = run("canopy-quickstart", "--audit-log-path", str(tmp_path / "q2.log"))
    assert plain.returncode == 0 and "canopy console:" not in plain.stdout


# --- canopy-quickstart --framework: the session through a framework's tools -----

SESSION_DECISIONS = ["ALLOW", "ALLOW", "DENY", "DENY", "DENY", "DENY"] + ["REQUIRE_APPROVAL"] * 2


@pytest.mark.parametrize("framework", ["langchain", "langgraph", "autogen", "crewai"])
def test_quickstart_through_a_framework(tmp_path: Path, framework: str) -> None:
    ledger_path = tmp_path / f"{framework}.log"
    env = {"CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true", "HOME": str(tmp_path)}
    result = run(
        "canopy-quickstart",
        "--framework",
        framework,
        "--audit-log-path",
        str(ledger_path),
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"through {framework}" in result.stdout
    assert "verification  VALID" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert [("yes" in r.split("│")[5], r.split("│")[4].strip()) for r in rows] == [
        (decision == "ALLOW", decision) for decision in SESSION_DECISIONS
    ]
    with Ledger(ledger_path, read_only=True) as ledger:
        events = list(ledger.iter_events())
    auths = [e for e in events if e.kind == "authorization"]
    assert [e.fields["decision"] for e in auths] == SESSION_DECISIONS
    allowed = {e.fields["authorization_id"] for e in auths if e.fields["decision"] == "ALLOW"}
    for kind in ("execution", "tool_result"):
        linked = {e.fields["authorization_id"] for e in events if e.kind == kind}
        assert linked == allowed  # only the allowed calls reached a tool body
    assert verify_ledger(ledger_path).ok


def test_quickstart_names_the_extra_when_a_framework_is_missing(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['crewai'] = None\n"
        "from canopy.cli.main import cli\n"
        "cli(['quickstart', '--framework', 'crewai', '--audit-log-path', sys.argv[1]])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "q.log")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install 'canopy-runtime[crewai]'" in result.stderr
    assert not (tmp_path / "q.log").exists()
