"""``canopy console`` / ``canopy-console`` as real processes driven through stdin, on
real ledgers written by ``authorize_action``."""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ledger_helpers import tamper

from canopy import CanopyPermissionError, Decision, authorize_action
from canopy.cli.console import GUIDES
from canopy.evidence.approvals import approval_status, pending_approvals
from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

BIN = Path(sys.executable).parent
SHEETS = ["Summary", "Decisions over time", "Deny reasons", "Pending approvals", "Events"]
ENTRY_POINTS = [("canopy", "console"), ("canopy-console",)]


def run_console(
    *args: str,
    stdin: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    command: tuple[str, ...] = ("canopy", "console"),
) -> subprocess.CompletedProcess[str]:
    """The installed executable, answers piped in, a wide terminal so tables do not fold."""
    found = shutil.which(command[0], path=str(BIN)) or shutil.which(command[0])
    assert found, f"{command[0]} is not installed (pip install -e .)"
    base = {k: v for k, v in os.environ.items() if not k.startswith("CANOPY_")}
    return subprocess.run(
        [found, *command[1:], *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**base, "COLUMNS": "250", **(env or {})},
        timeout=120,
    )


def flat(text: str) -> str:
    """Output with table rules and runs of whitespace collapsed to one space."""
    return re.sub(r"[\s│┃]+", " ", text)


def section(text: str, start: str, end: str | None = None) -> str:
    """The output from ``start`` (its last occurrence) to the next ``end``."""
    tail = text[text.rindex(start) :]
    return tail[: tail.index(end)] if end is not None and end in tail else tail


def table_seqs(text: str) -> list[int]:
    """The first column of a rendered table's rows, as numbers."""
    return [int(m) for m in re.findall(r"^│\s*(\d+)\s*│", text, flags=re.MULTILINE)]


@pytest.fixture
def decisions(tmp_path: Path) -> dict[str, Any]:
    """Two agents, every decision, two requests waiting for a human."""
    path = tmp_path / "audit.log"
    alice = {"public_key": "pk-console-alice", "trace_id": "trace-console-alice"}
    bob = {"public_key": "pk-console-bob", "trace_id": "trace-console-bob"}
    ask = authorize_action(
        alice,
        "call_external_api",
        {"url": "https://api.stripe.com/v1/payouts"},
        audit_log_path=path,
    )
    pay = authorize_action(
        alice, "pay", {"amount": "$4.99", "recipient": "acct_1"}, audit_log_path=path
    )
    deny = authorize_action(alice, "shell", {"cmd": "rm -r -f /"}, audit_log_path=path)
    allow = authorize_action(bob, "read_file", {"path": "notes.txt"}, audit_log_path=path)
    assert ask["decision"] == pay["decision"] == Decision.REQUIRE_APPROVAL
    assert deny["decision"] == Decision.DENY
    assert allow["decision"] == Decision.ALLOW
    return {"path": path, "ask": ask, "pay": pay, "deny": deny, "allow": allow}


def approvals_of(path: Path, authorization_id: str) -> list[dict[str, Any]]:
    with Ledger(path, read_only=True) as ledger:
        return [
            dict(e.fields)
            for e in ledger.find(authorization_id=authorization_id)
            if e.kind == "approval"
        ]


# --- 1. inspect ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ENTRY_POINTS, ids=" ".join)
def test_inspect_shows_counts_and_recent_events(
    decisions: dict[str, Any], command: tuple[str, ...]
) -> None:
    path = decisions["path"]
    with Ledger(path, read_only=True) as ledger:
        events = list(ledger.iter_events())
    kinds = Counter(e.kind for e in events)
    verdicts = Counter(e.fields["decision"] for e in events if e.kind == "authorization")
    assert verdicts == {"REQUIRE_APPROVAL": 2, "DENY": 1, "ALLOW": 1}

    out = run_console(str(path), "--recent", "3", stdin="1\nq\n", command=command)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"{len(events)} events, " in text
    assert "2 pending approval(s)" in text
    by_kind = flat(section(text, "Events by kind", "Decisions (authorizations)"))
    for kind, n in kinds.items():
        assert f" {kind} {n} " in by_kind
    by_decision = flat(section(text, "Decisions (authorizations)", "integrity"))
    for decision, n in verdicts.items():
        assert f" {decision} {n} " in by_decision
    assert "integrity (quick" in text and "OK" in section(text, "integrity (quick", "\n")
    recent = section(text, f"Most recent 3 of {len(events)} events", "bye")
    assert table_seqs(recent) == [e.seq for e in events[-3:]]
    assert decisions["deny"]["reason"] in flat(recent)
    assert "trace-console-bob" in recent
    assert text.rstrip().endswith("bye")


def test_help_lists_the_console() -> None:
    found = shutil.which("canopy", path=str(BIN))
    assert found
    out = subprocess.run([found, "--help"], capture_output=True, text=True, timeout=60)
    assert re.search(r"^\s+console\s", out.stdout, flags=re.MULTILINE)
    out = run_console("--help", stdin="")
    assert out.returncode == 0
    assert "CANOPY_AUDIT_LOG_PATH" in out.stdout and "--recent" in out.stdout


# --- 2. verify ----------------------------------------------------------------------


def test_verify_reports_valid_then_the_first_problem(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    out = run_console(str(path), stdin="2\nq\n")
    assert out.returncode == 0, out.stderr
    with Ledger(path, read_only=True) as ledger:
        size = ledger.size()
        seq = ledger.find(authorization_id=decisions["deny"]["authorization_id"])[0].seq
    assert f"VALID {size} events" in out.stdout
    assert "TAMPERED" not in out.stdout

    tamper(path, f"UPDATE events SET decision = 'ALLOW' WHERE seq = {seq}")
    report = verify_ledger(path)
    assert not report.ok
    out = run_console(str(path), stdin="2\nq\n")
    assert out.returncode == 0, out.stderr
    assert "VALID" not in out.stdout
    assert f"TAMPERED first problem: {report.first_problem}" in out.stdout
    assert f"event {seq}" in out.stdout


# --- 3. approvals -------------------------------------------------------------------


def test_approve_by_number_records_a_signed_approval(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    ask_id = decisions["ask"]["authorization_id"]
    pay_id = decisions["pay"]["authorization_id"]
    out = run_console(str(path), stdin="3\n1\na\nalice\nticket 42\n3\nq\n")
    assert out.returncode == 0, out.stderr
    assert f"approved {ask_id} by alice" in out.stdout

    with Ledger(path, read_only=True) as ledger:
        status = approval_status(ledger, ask_id)
        assert [e.fields["authorization_id"] for e in pending_approvals(ledger)] == [pay_id]
    assert status.approved and status.approval is not None
    approval = status.approval
    assert approval.fields["approver"] == "alice"
    assert approval.fields["reason"] == "ticket 42"
    assert f"approval {approval.fields['approval_id']} recorded as event {approval.seq}" in (
        out.stdout
    )
    assert "2 pending approval(s)" in out.stdout and "1 pending approval(s)" in out.stdout
    relisted = section(out.stdout, "1 pending approval(s)", "choose")
    assert pay_id in relisted and ask_id not in relisted
    assert verify_ledger(path).ok


def test_reject_by_authorization_id(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    pay_id = decisions["pay"]["authorization_id"]
    out = run_console(str(path), stdin=f"3\n{pay_id}\nr\ncarol\ntoo risky\nq\n")
    assert out.returncode == 0, out.stderr
    assert f"rejected {pay_id} by carol" in out.stdout
    [approval] = approvals_of(path, pay_id)
    assert approval["approved"] is False
    assert approval["reason"] == "too risky"
    assert approvals_of(path, decisions["ask"]["authorization_id"]) == []


def test_second_decision_and_non_pending_are_refused(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    ask_id = decisions["ask"]["authorization_id"]
    deny_id = decisions["deny"]["authorization_id"]
    script = (
        "3\n1\na\nalice\nfirst\n"  # approve the first request
        f"3\n{ask_id}\nr\nmallory\nsecond\n"  # decide it again: refused
        f"3\n{deny_id}\na\nmallory\n\n"  # a DENY is not pending: refused
        "3\n99\na\nmallory\n\n"  # no such item or id: refused
        "q\n"
    )
    out = run_console(str(path), stdin=script)
    assert out.returncode == 0, out.stderr
    errors = flat(out.stderr)
    assert f"refused (already_decided): authorization {ask_id} was already approved by alice" in (
        errors
    )
    assert "refused (not_pending)" in errors
    assert "refused (unknown_authorization)" in errors
    assert "Traceback" not in out.stderr
    [approval] = approvals_of(path, ask_id)
    assert approval["approver"] == "alice" and approval["approved"] is True
    assert approvals_of(path, deny_id) == []
    assert out.stdout.rstrip().endswith("bye")


def test_eof_in_the_middle_of_a_decision_records_nothing(decisions: dict[str, Any]) -> None:
    path = decisions["path"]
    out = run_console(str(path), stdin="3\n1\na\n")
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().endswith("bye")
    assert approvals_of(path, decisions["ask"]["authorization_id"]) == []


# --- 4. per-agent history -------------------------------------------------------------


@pytest.mark.parametrize("who", ["number", "avid"])
def test_agent_history_lists_agents_and_one_agents_events(
    decisions: dict[str, Any], who: str
) -> None:
    path = decisions["path"]
    alice, bob = decisions["ask"]["avid"], decisions["allow"]["avid"]
    answer = "1" if who == "number" else alice
    out = run_console(str(path), stdin=f"4\n{answer}\nq\n")
    assert out.returncode == 0, out.stderr
    agents = flat(section(out.stdout, "2 agent(s)", "number or AVID"))
    assert f" 1 {alice} 3 0 1 2 " in agents  # events, ALLOW, DENY, REQUIRE_APPROVAL
    assert f" 2 {bob} 1 1 0 0 " in agents
    with Ledger(path, read_only=True) as ledger:
        expected = [e.seq for e in ledger.find(avid=alice)]
    history = section(out.stdout, f"Agent {alice}: most recent 3 of 3 events", "bye")
    assert table_seqs(history) == expected
    assert "trace-console-alice" in history and "trace-console-bob" not in history


def test_agent_history_of_an_unknown_agent(decisions: dict[str, Any]) -> None:
    out = run_console(str(decisions["path"]), stdin="4\nAVID-nobody\nq\n")
    assert out.returncode == 0, out.stderr
    assert "no events for agent AVID-nobody" in out.stdout


# --- 5. export ------------------------------------------------------------------------


def test_export_writes_the_report_workbook(decisions: dict[str, Any], tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = decisions["path"]
    target = tmp_path / "out" / "report.xlsx"
    target.parent.mkdir()
    out = run_console(str(path), stdin=f"5\n{target}\nq\n")
    assert out.returncode == 0, out.stderr
    with Ledger(path, read_only=True) as ledger:
        size = ledger.size()
    assert f"exported {size} event(s) to {target}" in out.stdout
    workbook = openpyxl.load_workbook(target, read_only=True)
    try:
        assert workbook.sheetnames == SHEETS
        events = list(workbook["Events"].iter_rows(values_only=True))
        assert [row[0] for row in events[1:]] == list(range(size))
        pending = [row[2] for row in workbook["Pending approvals"].iter_rows(values_only=True)]
        assert decisions["ask"]["authorization_id"] in pending
    finally:
        workbook.close()


def test_export_without_openpyxl_says_how_to_install(
    decisions: dict[str, Any], tmp_path: Path
) -> None:
    blocker = tmp_path / "no_openpyxl"
    blocker.mkdir()
    (blocker / "openpyxl.py").write_text('raise ImportError("openpyxl is not installed")\n')
    target = tmp_path / "report.xlsx"
    out = run_console(
        str(decisions["path"]),
        stdin=f"5\n{target}\nq\n",
        env={"PYTHONPATH": str(blocker)},
    )
    assert out.returncode == 0, out.stderr
    assert 'pip install "canopy-runtime[excel]"' in out.stderr
    assert not target.exists()


# --- 6. guides ------------------------------------------------------------------------


def test_guides_print(decisions: dict[str, Any]) -> None:
    out = run_console(str(decisions["path"]), stdin="6\nq\n")
    assert out.returncode == 0, out.stderr
    for guide in GUIDES:
        assert guide.title in out.stdout
        for line in guide.code.splitlines():
            assert line.rstrip() in out.stdout
    for framework in ("LangChain", "LangGraph", "CrewAI", "AutoGen", "OpenAI Agents SDK", "MCP"):
        assert framework in out.stdout
    assert "@safe_tool(action_type=" in out.stdout
    assert "authorize_action(AGENT, name, arguments)" in out.stdout


def test_guides_import_only_what_canopy_has() -> None:
    imported = 0
    for guide in GUIDES:
        for node in ast.walk(ast.parse(guide.code)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("canopy"):
                module = importlib.import_module(str(node.module))
                for alias in node.names:
                    assert hasattr(module, alias.name), f"{node.module}.{alias.name}"
                    imported += 1
    assert imported >= 6


def test_guide_code_runs_against_a_real_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("langchain_core")
    ledger_path = tmp_path / "audit.log"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANOPY_AUDIT_LOG_PATH", str(ledger_path))
    for name in ("CANOPY_POLICY_FILE", "CANOPY_MODE", "CANOPY_APPROVAL_TTL_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "notes.txt").write_text("remember the milk\n", encoding="utf-8")
    code = {guide.title.split(":")[0]: guide.code for guide in GUIDES if guide.code}
    spaces: dict[str, dict[str, Any]] = {}
    for title, source in code.items():
        spaces[title] = {}
        exec(compile(source, f"<guide {title}>", "exec"), spaces[title])

    read_notes = spaces["LangChain"]["read_notes"]
    assert read_notes.invoke({"path": "notes.txt"}) == "remember the milk\n"
    with pytest.raises(CanopyPermissionError):
        read_notes.invoke({"path": "/etc/shadow"})

    listing = spaces["Any function"]["run_command"](["ls"])
    assert "notes.txt" in listing

    _check_framework_guides(spaces, ledger_path)

    call_tool = spaces["Any tool-call loop"]["call_tool"]
    ran: list[Any] = []
    tools = {"read_file": lambda path: Path(path).read_text(encoding="utf-8"), "shell": ran.append}
    assert call_tool("read_file", {"path": "notes.txt"}, tools) == "remember the milk\n"
    with pytest.raises(CanopyPermissionError):
        call_tool("shell", {"cmd": "rm -r -f /"}, tools)
    assert ran == []

    approved_later = spaces["Approved later"]
    decision = approved_later["create_payout"](approved_later["PAYOUTS"], 500)
    assert decision["decision"] == Decision.REQUIRE_APPROVAL
    authorization_id = decision["authorization_id"]
    out = run_console(
        str(ledger_path), stdin=f"3\n{authorization_id}\na\nops\npayout ok\nq\n", cwd=tmp_path
    )
    assert f"approved {authorization_id} by ops" in out.stdout, out.stderr
    result = approved_later["run_approved"](authorization_id)
    assert result == "POST https://api.stripe.com/v1/payouts amount=500"

    with Ledger(ledger_path, read_only=True) as ledger:
        kinds = [e.kind for e in ledger.find(authorization_id=authorization_id)]
    assert kinds == ["authorization", "approval", "execution", "tool_result"]
    assert verify_ledger(ledger_path).ok


def _check_framework_guides(spaces: dict[str, dict[str, Any]], ledger_path: Path) -> None:
    """Each framework guide's governed tool reads notes.txt and refuses /etc/shadow."""
    import asyncio
    import json

    from autogen_core import CancellationToken
    from langchain_core.messages import AIMessage
    from langgraph.graph import END, START, MessagesState, StateGraph

    graph = StateGraph(MessagesState)
    graph.add_node("tools", spaces["LangGraph"]["tools"])
    graph.add_edge(START, "tools")
    graph.add_edge("tools", END)
    app = graph.compile()
    for path, expected in (("notes.txt", "remember the milk"), ("/etc/shadow", "Canopy")):
        call = {"name": "read_notes", "args": {"path": path}, "id": f"call-{len(path)}"}
        out = app.invoke({"messages": [AIMessage(content="", tool_calls=[call])]})
        assert expected in out["messages"][-1].content

    crew_tool = spaces["CrewAI"]["governed_notes"]
    assert crew_tool.run(path="notes.txt") == "remember the milk\n"
    assert "DENY" in str(crew_tool.run(path="/etc/shadow"))

    autogen_tool = spaces["AutoGen"]["governed_notes"]
    token = CancellationToken()
    assert asyncio.run(autogen_tool.run_json({"path": "notes.txt"}, token)) == "remember the milk\n"
    assert "DENY" in str(asyncio.run(autogen_tool.run_json({"path": "/etc/shadow"}, token)))

    (function_tool,) = spaces["OpenAI Agents SDK"]["agent"].tools
    invoke = function_tool.on_invoke_tool
    from agents.tool_context import ToolContext

    for path, expected in (("notes.txt", "remember the milk"), ("/etc/shadow", "DENY")):
        arguments = json.dumps({"path": path})
        ctx = ToolContext(
            context=None, tool_name="read_notes", tool_call_id="c1", tool_arguments=arguments
        )
        assert expected in str(asyncio.run(invoke(ctx, arguments)))

    from canopy.authorize import open_ledger

    events = open_ledger(ledger_path).iter_events()
    ran = [e.fields.get("tool") for e in events if e.kind == "execution"]
    assert ran.count("read_notes") == 5  # LangChain + 4 frameworks, one allowed read each


# --- opening, quitting, choosing the ledger ----------------------------------------------


@pytest.mark.parametrize("command", ENTRY_POINTS, ids=" ".join)
def test_missing_ledger_exits_2_and_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "missing.log"
    out = run_console(str(missing), stdin="1\nq\n", command=command, cwd=tmp_path)
    assert out.returncode == 2
    assert "does not exist" in out.stderr
    assert list(tmp_path.iterdir()) == []

    out = run_console(stdin="q\n", command=command, cwd=tmp_path)  # ./audit.log
    assert out.returncode == 2
    assert "audit.log does not exist" in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_not_a_ledger_exits_2(tmp_path: Path) -> None:
    junk = tmp_path / "audit.log"
    junk.write_text('{"event": "a 0.x JSONL audit log"}\n', encoding="utf-8")
    out = run_console(str(junk), stdin="q\n")
    assert out.returncode == 2
    assert "not a Canopy ledger" in out.stderr
    assert junk.read_text(encoding="utf-8") == '{"event": "a 0.x JSONL audit log"}\n'


def test_end_of_input_quits_cleanly(decisions: dict[str, Any]) -> None:
    out = run_console(str(decisions["path"]), stdin="")
    assert out.returncode == 0, out.stderr
    assert out.stdout.rstrip().endswith("bye")
    assert "Aborted" not in out.stdout + out.stderr


def test_a_wrong_choice_is_asked_again(decisions: dict[str, Any]) -> None:
    out = run_console(str(decisions["path"]), stdin="9\nq\n")
    assert out.returncode == 0, out.stderr
    assert "'9' is not one of" in out.stdout + out.stderr
    assert out.stdout.count("choose:") == 2


def test_environment_names_the_ledger_when_no_argument_is_given(
    decisions: dict[str, Any], tmp_path: Path
) -> None:
    path = decisions["path"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"CANOPY_AUDIT_LOG_PATH": str(path)}
    out = run_console(stdin="1\nq\n", env=env, cwd=elsewhere, command=("canopy-console",))
    assert out.returncode == 0, out.stderr
    assert f"canopy console: {path.resolve()}" in out.stdout
    assert "trace-console-alice" in out.stdout
    assert list(elsewhere.iterdir()) == []

    missing = {"CANOPY_AUDIT_LOG_PATH": str(tmp_path / "missing.log")}
    out = run_console(str(path), stdin="q\n", env=missing, cwd=elsewhere)
    assert out.returncode == 0, out.stderr  # the argument wins over the environment
    assert f"canopy console: {path.resolve()}" in out.stdout
