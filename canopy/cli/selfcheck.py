"""``canopy self-check [--gateway]`` (also ``canopy-self-check``): is this install sound?

Each check does the real thing in a throwaway directory (parse a command with
tree-sitter, decide known actions, sign, seal, prove and verify a new ledger,
catch a forged signature, and with ``--gateway`` serve and call the HTTP
gateway), so a pass means the install works, not merely that it imports.
Exit 0 when every required check passes, 1 when one fails. Missing optional
extras are reported as warnings with the command that installs them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from canopy import __version__
from canopy.cli.common import EXIT_FAILED, EXIT_OK, console, json_option, print_json

PASS, FAIL, WARN = "pass", "fail", "warn"

#: (action type, payload, expected decision) decided by the bundled policy.
_KNOWN_DECISIONS = (
    ("execute_shell", {"command": "ls -la"}, "ALLOW"),
    ("shell", {"cmd": "rm -r -f /"}, "DENY"),
    ("execute_shell", {"command": "bash -c 'r''m -fr /'"}, "DENY"),
    ("http_request", {"url": "http://0xA9FEA9FE/latest/meta-data/"}, "DENY"),
    ("call_external_api", {"url": "https://api.stripe.com/v1/payouts"}, "REQUIRE_APPROVAL"),
)
_OPTIONAL = (
    ("openpyxl", "excel", "Excel exports (canopy report/incident --export)"),
    ("pandas", "forensics", "DataFrames for notebooks (canopy.forensics)"),
    ("langchain_core", "langchain", "@safe_tool on LangChain tools"),
)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: str
    detail: str
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "seconds": round(self.seconds, 4),
        }


def _run(name: str, check: Callable[[], tuple[str, str]]) -> CheckResult:
    """One check; any exception is a failure with its message, never a crash."""
    start = time.perf_counter()
    try:
        status, detail = check()
    except Exception as e:  # a boundary: the report must show every failure
        status, detail = FAIL, f"{type(e).__name__}: {e}"
    return CheckResult(name, status, detail, time.perf_counter() - start)


def check_python() -> tuple[str, str]:
    version = ".".join(map(str, sys.version_info[:3]))
    return PASS, f"Python {version}, canopy {__version__} ({Path(__file__).parents[1]})"


def check_shell_parser() -> tuple[str, str]:
    from canopy.decisions.analyzers.shell import analyze_shell

    analysis = analyze_shell("sudo env FOO=1 rm -fr -- / | tee log")
    programs = sorted({c.program for c in analysis.commands})
    if "rm" not in programs:
        return FAIL, f"tree-sitter-bash did not find rm in a wrapped command: {programs}"
    return PASS, f"tree-sitter-bash parsed a wrapped pipeline: {', '.join(programs)}"


def check_policies() -> tuple[str, str]:
    from canopy.decisions.policy.lint import lint_policy

    bundled = Path(__file__).resolve().parents[1] / "policies"
    problems = []
    for name in ("default.yaml", "production.yaml"):
        report = lint_policy(bundled / name)
        problems += [f"{name}:{issue.line}: {issue.message}" for issue in report.errors]
    if problems:
        return FAIL, "; ".join(problems)
    return PASS, "default.yaml and production.yaml compile (PyYAML, google-re2)"


def check_decisions(ledger_path: Path) -> tuple[str, str]:
    from canopy.authorize import authorize_action

    ctx = {"public_key": "pk-self-check", "created_at": "2026-01-01T00:00:00Z"}
    wrong = []
    for action_type, payload, expected in _KNOWN_DECISIONS:
        got = authorize_action(ctx, action_type, payload, audit_log_path=ledger_path)
        if got["decision"] != expected or not got["authorization_id"]:
            wrong.append(f"{action_type} {payload}: {got['decision']}, expected {expected}")
    if wrong:
        return FAIL, "; ".join(wrong)
    return PASS, f"{len(_KNOWN_DECISIONS)} known actions decided as expected and recorded"


def check_ledger(ledger_path: Path) -> tuple[str, str]:
    from canopy.authorize import open_ledger
    from canopy.ledger.events import event_signature_message
    from canopy.ledger.keys import default_key_path
    from canopy.ledger.proofs import build_inclusion_proof, verify_inclusion_proof
    from canopy.ledger.verify import verify_ledger

    ledger = open_ledger(ledger_path)
    key_mode = default_key_path(ledger.path).stat().st_mode & 0o777
    if key_mode != 0o600:
        return FAIL, f"signing key mode is {key_mode:o}, expected 600"
    checkpoint = ledger.checkpoint()
    verifier = ledger.verifier
    proof = build_inclusion_proof(ledger, ledger.size() - 1, disclose=["decision"])
    verify_inclusion_proof(proof.to_json(), [verifier])
    event = ledger.get(0)
    forged = event_signature_message(ledger.origin, 1, event.leaf_hash)
    if verifier.verify(forged, event.signature):
        return FAIL, "a signature verified for the wrong position"
    report = verify_ledger(ledger.path, trusted_keys=[verifier])
    if not report.ok:
        return FAIL, f"verification failed: {report.first_problem}"
    return PASS, (
        f"{report.size} signed events, checkpoint {checkpoint.size} sealed, inclusion proof "
        "checked with the public key, forged signature refused, verify VALID"
    )


def check_gateway(ledger_path: Path) -> tuple[str, str]:
    missing = [m for m in ("fastapi", "uvicorn") if importlib.util.find_spec(m) is None]
    if missing:
        return FAIL, f'{", ".join(missing)} missing: pip install "canopy-runtime[gateway]"'
    import uvicorn

    from canopy.gateway.app import create_app
    from canopy.gateway.settings import GatewaySettings

    key = secrets.token_urlsafe(24)
    app = create_app(GatewaySettings.with_keys(ledger_path, key))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="self-check-gateway", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                return FAIL, "the gateway did not start"
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/v1/authorize"
        body = {"action_type": "execute_shell", "action_payload": {"command": "rm -fr /"}}
        anonymous = _post(url, body, {})
        if anonymous[0] != 401:
            return FAIL, f"a request without a key got HTTP {anonymous[0]}, expected 401"
        status, answer = _post(url, body, {"Authorization": f"Bearer {key}"})
        if status != 200 or answer.get("decision") != "DENY" or not answer.get("authorization_id"):
            return FAIL, f"POST /v1/authorize answered {status} {answer}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return PASS, "served canopy.service on loopback: key required, POST /v1/authorize decided"


def _post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        with e:
            return e.code, json.loads(e.read() or b"{}")


def check_optional(module: str, extra: str, purpose: str) -> tuple[str, str]:
    if importlib.util.find_spec(module) is None:
        return WARN, f'not installed ({purpose}): pip install "canopy-runtime[{extra}]"'
    return PASS, purpose


def run_checks(*, gateway: bool, workdir: Path) -> list[CheckResult]:
    ledger_path = workdir / "self-check.log"
    results = [
        _run("python", check_python),
        _run("shell parser", check_shell_parser),
        _run("bundled policies", check_policies),
        _run("decisions", lambda: check_decisions(ledger_path)),
        _run("signed ledger", lambda: check_ledger(ledger_path)),
    ]
    if gateway:
        results.append(_run("HTTP gateway", lambda: check_gateway(workdir / "gateway.log")))
    for module, extra, purpose in _OPTIONAL:
        results.append(
            _run(f"extra: {extra}", lambda m=module, e=extra, p=purpose: check_optional(m, e, p))
        )
    return results


@click.command("self-check")
@click.option("--gateway", is_flag=True, help="Also serve the HTTP gateway and call it.")
@json_option
def self_check_cmd(gateway: bool, as_json: bool) -> None:
    """Check that this install decides, signs, proves and verifies (exit 0 sound, 1 not)."""
    with tempfile.TemporaryDirectory(prefix="canopy-self-check-") as tmp:
        previous = os.environ.pop("CANOPY_POLICY_FILE", None)  # check the bundled policy
        try:
            results = run_checks(gateway=gateway, workdir=Path(tmp))
        finally:
            if previous is not None:
                os.environ["CANOPY_POLICY_FILE"] = previous
    failed = [r for r in results if r.status == FAIL]
    if as_json:
        print_json({"ok": not failed, "checks": [r.to_json() for r in results]})
    else:
        table = Table(title=f"canopy {__version__} self-check")
        table.add_column("check", no_wrap=True)
        table.add_column("result", no_wrap=True)
        table.add_column("detail", overflow="fold")
        table.add_column("s", justify="right", no_wrap=True)
        style = {PASS: "[green]pass[/]", FAIL: "[bold red]FAIL[/]", WARN: "[yellow]warn[/]"}
        for r in results:
            table.add_row(r.name, style[r.status], r.detail, f"{r.seconds:.2f}")
        console.print(table)
        verdict = "[bold red]NOT SOUND[/]" if failed else "[bold green]OK[/]"
        console.print(f"self-check {verdict}: {len(results) - len(failed)}/{len(results)} passed")
    sys.exit(EXIT_FAILED if failed else EXIT_OK)
