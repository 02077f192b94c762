"""``canopy console`` / ``canopy-console``: the seed's operator console, on the signed ledger.

The seed's console was the quickest way to look at an audit log. This one is a
menu over the library calls the other commands make (the report's summary,
``verify_ledger``, the approvals, the report workbook), so its answers are the
ones ``canopy report``, ``canopy verify`` and ``canopy approvals`` give.
Answers are read line by line with ``click.prompt``, so a script or a pipe can
drive it; end of input quits.

The ledger is reopened for each menu choice, read-only except to record an
approval: agents may be appending while an operator looks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from canopy.cli.common import console, err_console, handle_errors, progress_bar
from canopy.cli.report_cmds import DECISION_STYLES
from canopy.errors import CanopyError

if TYPE_CHECKING:
    from canopy.ledger.store import StoredEvent

_MAX_PROBLEMS = 10
_DEFAULT_WORKBOOK = "canopy-report.xlsx"


@dataclass(frozen=True, slots=True)
class _Session:
    """What every menu action needs: which ledger, and how many events a table shows."""

    path: Path
    recent: int


@click.command("console")
@click.argument("ledger", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--recent",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="Events shown per table.",
)
@handle_errors
def console_cmd(ledger: Path | None, recent: int) -> None:
    """Operator console over LEDGER: inspect the audit log, verify the chain, review
    pending approvals, per-agent history, export to Excel, framework guides.

    LEDGER defaults to $CANOPY_AUDIT_LOG_PATH, else ./audit.log; a missing file is
    an error, never a new ledger. Answers are read from stdin line by line; q or
    end of input quits.

    Exit 0 on quit, 2 usage error or unreadable ledger.
    """
    from canopy.authorize import ledger_path_for
    from canopy.ledger.store import Ledger

    path = ledger_path_for(ledger)
    with Ledger(path, read_only=True) as opened:  # refuses a missing or foreign file
        size, origin = opened.size(), opened.origin
    console.print(Text(f"canopy console: {path} ({origin}, {size:,} events)", "bold"))
    session = _Session(path, recent)
    try:
        while (item := _choose()) is not None:
            _run(item, session)
    except click.Abort:  # end of input or Ctrl-C at a prompt: the operator is gone
        console.print()
    console.print("bye")


@dataclass(frozen=True, slots=True)
class _Item:
    """A menu line: the key the operator types, and what it runs."""

    key: str
    title: str
    action: Callable[[_Session], None]


def _choose() -> _Item | None:
    """Show the menu and read one choice; None means quit."""
    console.print()
    for item in _MENU:
        console.print(f"  [bold]{item.key}[/]  {item.title}")
    console.print("  [bold]q[/]  Quit")
    keys = [item.key for item in _MENU]
    answer = click.prompt(
        "choose",
        type=click.Choice([*keys, "q"], case_sensitive=False),
        show_choices=False,
    )
    return None if answer == "q" else _MENU[keys.index(answer)]


def _run(item: _Item, session: _Session) -> None:
    """One menu action. A library error ends the action, not the session."""
    console.rule(item.title)
    try:
        item.action(session)
    except (CanopyError, OSError, ValueError) as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}")


def _ask(question: str) -> str:
    """A free-text answer; an empty line means "go back"."""
    return str(click.prompt(question, default="", show_default=False)).strip()


def _pick(answer: str, listed: Sequence[str]) -> str:
    """A list number (from 1) picks from ``listed``; anything else is an id typed in full."""
    if answer.isdecimal() and 1 <= int(answer) <= len(listed):
        return listed[int(answer) - 1]
    return answer


def _text(value: object, style: str = "") -> Text:
    """Ledger data as plain text: a reason holding "[red]" is not rich markup."""
    return Text("" if value is None else str(value), style=style)


def _events_table(title: str, events: Iterable[StoredEvent]) -> Table:
    """seq, time, kind, trace, agent, action, decision and reason, one row per event."""
    from canopy.reports.timeline import event_reason

    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("seq", justify="right", no_wrap=True)
    table.add_column("time (UTC)", no_wrap=True)
    for name in ("kind", "trace", "agent", "action", "decision", "reason"):
        table.add_column(name, overflow="fold")
    for event in events:
        fields = event.fields
        decision = fields.get("decision")
        table.add_row(
            str(event.seq),
            event.ts[:19].replace("T", " "),
            _text(event.kind),
            _text(fields.get("trace_id")),
            _text(fields.get("avid")),
            _text(fields.get("action_type")),
            _text(decision, DECISION_STYLES.get(str(decision), "")),
            _text(event_reason(event.kind, fields)),
        )
    return table


def _counts_table(title: str, label: str, counts: Iterable[tuple[str, int]]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column(label)
    table.add_column("count", justify="right")
    for name, n in counts:
        table.add_row(_text(name, DECISION_STYLES.get(name, "")), f"{n:,}")
    return table


# --- 1. inspect ------------------------------------------------------------------


def _inspect(session: _Session) -> None:
    """Counts by kind and decision, a quick integrity check, the most recent events."""
    from canopy.ledger.store import Ledger
    from canopy.reports.summary import quick_integrity, summarize

    with Ledger(session.path, read_only=True) as ledger:
        summary = summarize(ledger, integrity=quick_integrity)
        recent = list(ledger.iter_events(max(summary.size - session.recent, 0)))
    console.print(
        _text(
            f"{summary.events:,} events, {summary.first_ts or '-'} .. {summary.last_ts or '-'}; "
            f"{len(summary.pending):,} pending approval(s)"
        )
    )
    console.print(_counts_table("Events by kind", "kind", summary.by_kind.most_common()))
    decisions = [(d, summary.by_decision[d]) for d in summary.decisions]
    console.print(_counts_table("Decisions (authorizations)", "decision", decisions))
    integrity = summary.integrity
    assert integrity is not None  # summarize was given a check
    status = "[bold green]OK[/]" if integrity.ok else "[bold red]FAILED[/]"
    console.print(
        f"integrity (quick: checkpoint signatures and roots; menu 2 checks every event): {status}"
    )
    for problem in integrity.problems[:_MAX_PROBLEMS]:
        console.print(_text(f"  {problem}"))
    title = f"Most recent {len(recent)} of {summary.size:,} events"
    console.print(_events_table(title, recent))


# --- 2. verify -------------------------------------------------------------------


def _verify(session: _Session) -> None:
    """Every event, signature, tree node and checkpoint, as ``canopy verify`` checks them."""
    from canopy.ledger.store import Ledger
    from canopy.ledger.verify import verify_ledger

    with Ledger(session.path, read_only=True) as ledger:
        total = ledger.size()
    with progress_bar("verifying", show=True) as progress:
        task = progress.add_task("events", total=total)
        report = verify_ledger(
            session.path, progress=lambda done, _total: progress.update(task, completed=done)
        )
    if report.ok:
        console.print(
            f"[bold green]VALID[/] {report.size:,} events, {report.checkpoints} checkpoint(s) "
            f"(latest covers {report.latest_checkpoint or 0}), every signature checked"
        )
        console.print(
            f"[dim]trust anchor: {escape(report.trust_anchor)}. Against a key or checkpoint "
            "kept elsewhere: canopy verify LEDGER --public-key/--checkpoint[/]"
        )
        return
    console.print(f"[bold red]TAMPERED[/] first problem: {escape(str(report.first_problem))}")
    for problem in report.problems[:_MAX_PROBLEMS]:
        console.print(_text(f"  {problem}"))
    if len(report.problems) > _MAX_PROBLEMS:
        console.print(f"  ... and {len(report.problems) - _MAX_PROBLEMS} more")


# --- 3. approvals ----------------------------------------------------------------


def _approvals(session: _Session) -> None:
    """List what waits for a human, then decide one, picked by number or authorization id."""
    from canopy.evidence.approvals import pending_approvals
    from canopy.ledger.store import Ledger
    from canopy.reports.timeline import event_reason

    with Ledger(session.path, read_only=True) as ledger:
        pending = pending_approvals(ledger)
    if not pending:
        console.print("no pending approvals")
        return
    table = Table(
        title=f"{len(pending)} pending approval(s)", title_justify="left", header_style="bold"
    )
    table.add_column("#", justify="right")
    table.add_column("requested (UTC)", no_wrap=True)
    for name in ("authorization id", "trace", "agent", "action", "reason"):
        table.add_column(name, overflow="fold")
    ids = [str(e.fields.get("authorization_id")) for e in pending]
    for number, event in enumerate(pending, 1):
        fields = event.fields
        table.add_row(
            str(number),
            event.ts[:19].replace("T", " "),
            _text(fields.get("authorization_id")),
            _text(fields.get("trace_id")),
            _text(fields.get("avid")),
            _text(fields.get("action_type")),
            _text(event_reason(event.kind, fields)),
        )
    console.print(table)
    answer = _ask("number or authorization id to decide (empty: back)")
    if not answer:
        return
    authorization_id = _pick(answer, ids)
    verdict = click.prompt(
        f"{authorization_id}: [a]pprove, [r]eject or [b]ack",
        type=click.Choice(["a", "r", "b"], case_sensitive=False),
        show_choices=False,
    )
    if verdict != "b":
        _decide(session, authorization_id, approved=verdict == "a")


def _decide(session: _Session, authorization_id: str, *, approved: bool) -> None:
    """Record the decision as a signed approval event; a refusal is a message."""
    from canopy.cli.approval_cmds import show_recorded
    from canopy.evidence.approvals import ApprovalError, record_approval_decision
    from canopy.ledger.store import Ledger

    approver = str(click.prompt("approver (recorded in the signed event)"))
    reason = str(click.prompt("reason", default="", show_default=False))
    with Ledger(session.path, create=False) as ledger:
        try:
            recorded = record_approval_decision(
                authorization_id, approved, approver, reason, ledger=ledger
            )
        except ApprovalError as e:
            err_console.print(f"[bold red]refused ({e.code}):[/] {escape(str(e))}")
            return
    show_recorded(recorded)


# --- 4. per-agent history ----------------------------------------------------------


def _agents(session: _Session) -> None:
    """Agents by activity, then one agent's most recent events (an indexed lookup)."""
    from canopy.ledger.store import Ledger
    from canopy.reports.summary import summarize

    with Ledger(session.path, read_only=True) as ledger:
        summary = summarize(ledger)
    agents = sorted(summary.by_agent.items(), key=lambda kv: (-kv[1]["events"], kv[0]))
    if not agents:
        console.print("no events name an agent")
        return
    decisions = summary.decisions
    table = Table(title=f"{len(agents)} agent(s)", title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("agent (AVID)", overflow="fold")
    table.add_column("events", justify="right")
    for decision in decisions:
        table.add_column(_text(decision, DECISION_STYLES.get(decision, "")), justify="right")
    for number, (avid, counts) in enumerate(agents, 1):
        table.add_row(
            str(number),
            _text(avid),
            f"{counts['events']:,}",
            *(f"{counts[d]:,}" for d in decisions),
        )
    console.print(table)
    answer = _ask("number or AVID to show (empty: back)")
    if not answer:
        return
    avid = _pick(answer, [avid for avid, _ in agents])
    with Ledger(session.path, read_only=True) as ledger:
        events = ledger.find(avid=avid)
    if not events:
        console.print(_text(f"no events for agent {avid}"))
        return
    shown = events[-session.recent :]
    title = f"Agent {avid}: most recent {len(shown)} of {len(events):,} events"
    console.print(_events_table(title, shown))


# --- 5. export -----------------------------------------------------------------------


def _export(session: _Session) -> None:
    """The ``canopy report --export`` workbook: summary, chart, deny reasons, pending, events."""
    from canopy.ledger.store import Ledger
    from canopy.reports.summary import event_rows, quick_integrity, summarize
    from canopy.reports.xlsx import write_report_workbook

    path = Path(click.prompt("workbook path (.xlsx)", default=_DEFAULT_WORKBOOK)).expanduser()
    with Ledger(session.path, read_only=True) as ledger:
        summary = summarize(ledger, integrity=quick_integrity)
        with progress_bar(f"writing {path.name}", show=True) as progress:
            task = progress.add_task("events", total=summary.events)
            written = write_report_workbook(
                path,
                summary,
                event_rows(ledger),
                progress=lambda done: progress.update(task, completed=done),
            )
    console.print(_text(f"exported {written:,} event(s) to {path.resolve()}"))


# --- 6. guides -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Guide:
    """One integration recipe; its code runs as shown against this package."""

    title: str
    text: str
    code: str = ""


GUIDES: tuple[Guide, ...] = (
    Guide(
        "LangChain: canopy.safe_tool on a @tool",
        "Stack @safe_tool on the tool langchain_core.tools.tool builds. The tool keeps its "
        "name, description and argument schema; invoke, ainvoke, run and tool calls all pass "
        "the guard, which records the authorization, the execution and the result. DENY "
        "raises canopy.CanopyPermissionError and the body never runs; so does "
        'REQUIRE_APPROVAL unless on_require_approval="return" or "callback".',
        '''\
from langchain_core.tools import tool

from canopy import safe_tool

AGENT = {"public_key": "pk-support-bot", "trace_id": "ticket-4711"}


@safe_tool(action_type="read_file", agent_ctx=AGENT)
@tool
def read_notes(path: str) -> str:
    """Read a notes file."""
    with open(path, encoding="utf-8") as f:
        return f.read()


# read_notes.invoke({"path": "notes.txt"})    ALLOW: runs
# read_notes.invoke({"path": "/etc/shadow"})  DENY: CanopyPermissionError
''',
    ),
    Guide(
        "LangGraph: governed_tool_node",
        "A ToolNode whose every tool call is decided on its exact arguments. DENY answers "
        "the model with an error ToolMessage (the graph goes on); REQUIRE_APPROVAL pauses "
        "the graph with interrupt() until an operator approves (canopy approvals approve), "
        'then Command(resume={"authorization_id": ...}) runs it once. Route with '
        "tool_call_router instead of tools_condition so each call of a turn resumes alone.",
        '''\
from langchain_core.tools import tool

from canopy.integrations import governed_tool_node, tool_call_router

AGENT = {"public_key": "pk-notes-graph", "trace_id": "graph-7"}


@tool
def read_notes(path: str) -> str:
    """Read a notes file."""
    with open(path, encoding="utf-8") as f:
        return f.read()


tools = governed_tool_node(
    [read_notes], agent_ctx=AGENT, action_types={"read_notes": "read_file"}
)
route = tool_call_router("tools")
# graph.add_node("tools", tools); graph.add_conditional_edges("agent", route)
# compile with a checkpointer so approvals can interrupt and resume
''',
    ),
    Guide(
        "CrewAI: govern_crewai_tool",
        "A copy of a CrewAI tool (@tool or BaseTool) with the same name, description and "
        "schema; every run is decided first. A blocked call returns a ToolFailure the agent "
        "reads (decision, reason, authorization id). Set CREWAI_DISABLE_TELEMETRY=true and "
        "OTEL_SDK_DISABLED=true to keep tool arguments on the machine.",
        '''\
from crewai.tools import tool

from canopy.integrations import govern_crewai_tool

AGENT = {"public_key": "pk-research-crew", "trace_id": "crew-3"}


@tool("read_notes")
def read_notes(path: str) -> str:
    """Read a notes file."""
    with open(path, encoding="utf-8") as f:
        return f.read()


governed_notes = govern_crewai_tool(read_notes, agent_ctx=AGENT, action_type="read_file")
# Agent(role=..., goal=..., backstory=..., tools=[governed_notes])
''',
    ),
    Guide(
        "AutoGen: govern_autogen_tool",
        "A function or an AutoGen BaseTool under Canopy, for AssistantAgent(tools=[...]); "
        "govern_autogen_workbench wraps a whole workbench (an McpWorkbench, say). A blocked "
        "call's result is the refusal text, so the conversation goes on.",
        '''\
from canopy.integrations import govern_autogen_tool

AGENT = {"public_key": "pk-autogen-assistant", "trace_id": "chat-5"}


def read_notes(path: str) -> str:
    """Read a notes file."""
    with open(path, encoding="utf-8") as f:
        return f.read()


governed_notes = govern_autogen_tool(read_notes, agent_ctx=AGENT, action_type="read_file")
# AssistantAgent("assistant", model_client=..., tools=[governed_notes])
''',
    ),
    Guide(
        "OpenAI Agents SDK: govern_agent",
        "A clone of an Agent whose function tools (and handoff agents) are governed; the "
        "model reads a blocked call's refusal as the tool output. Hosted tools and MCP "
        "servers cannot be governed in-process and are refused (put MCP servers behind "
        "canopy mcp-proxy).",
        '''\
from agents import Agent, function_tool

from canopy.integrations import govern_agent

AGENT = {"public_key": "pk-notes-agent", "trace_id": "run-8"}


@function_tool
def read_notes(path: str) -> str:
    """Read a notes file."""
    with open(path, encoding="utf-8") as f:
        return f.read()


agent = govern_agent(
    Agent(name="notes", instructions="Answer from the notes.", tools=[read_notes]),
    agent_ctx=AGENT,
    action_type="read_file",
)
# await Runner.run(agent, "what is in notes.txt?")
''',
    ),
    Guide(
        "MCP servers: canopy mcp-proxy",
        "Put the proxy where the client starts the server: canopy mcp-proxy "
        "--audit-log-path audit.log -- python my_server.py. It lists the server's tools "
        "unchanged, decides every tools/call (and file resource read) before forwarding "
        "it, answers a blocked call with isError and the reason, and records authorization, "
        "execution and result. After an operator approves, the same call runs once.",
    ),
    Guide(
        "Any function: @safe_tool",
        "@safe_tool guards a plain function or an async def too: the payload is the call's "
        "bound arguments, whatever the parameters are called.",
        '''\
import subprocess

from canopy import safe_tool

AGENT = {"public_key": "pk-research-bot", "trace_id": "run-42"}


@safe_tool(action_type="execute_shell", agent_ctx=AGENT)
def run_command(argv: list[str]) -> str:
    """Runs only on ALLOW."""
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout
''',
    ),
    Guide(
        "Any tool-call loop: authorize_action",
        "Where tool calls arrive as a name and arguments (an MCP server's call_tool handler, "
        "a function-calling loop), decide each one before dispatching it. authorize_action "
        "records the decision only; a @safe_tool function also records what ran.",
        '''\
from canopy import CanopyPermissionError, Decision, authorize_action

AGENT = {"public_key": "pk-mcp-server", "trace_id": "session-9"}


def call_tool(name: str, arguments: dict, tools: dict) -> object:
    """Decide first; run the tool only on ALLOW."""
    decision = authorize_action(AGENT, name, arguments)
    if decision["decision"] != Decision.ALLOW:
        raise CanopyPermissionError(decision["reason"], decision)
    return tools[name](**arguments)
''',
    ),
    Guide(
        "Approved later: execute_approved",
        'With on_require_approval="return" a guarded call hands back the REQUIRE_APPROVAL '
        "decision instead of running. Approve it here (3) or with canopy approvals approve, "
        "then run the same call under that approval: it runs only if the approval is "
        "recorded, unexpired, unused and bound to exactly these arguments.",
        '''\
from canopy import safe_tool
from canopy.integrations.guards import execute_approved

AGENT = {"public_key": "pk-billing-bot", "trace_id": "invoice-77"}
PAYOUTS = "https://api.stripe.com/v1/payouts"


@safe_tool(action_type="call_external_api", agent_ctx=AGENT, on_require_approval="return")
def create_payout(url: str, amount_cents: int) -> str:
    return f"POST {url} amount={amount_cents}"  # your HTTP client here


# create_payout(PAYOUTS, 500) returns the REQUIRE_APPROVAL decision; an operator
# approves its authorization_id, then:


def run_approved(authorization_id: str) -> str:
    """The same call, under that approval."""
    return execute_approved(authorization_id, create_payout, PAYOUTS, 500)
''',
    ),
)


def _guides(_session: _Session) -> None:
    """How to put tools behind Canopy, with only the APIs this package has."""
    from rich.syntax import Syntax

    for guide in GUIDES:
        console.print(_text(guide.title, "bold"))
        console.print(_text(guide.text))
        if guide.code:
            console.print(Syntax(guide.code.rstrip(), "python", theme="ansi_dark"))
        console.print()


_MENU: tuple[_Item, ...] = (
    _Item("1", "Inspect the audit log", _inspect),
    _Item("2", "Verify the chain", _verify),
    _Item("3", "Review pending approvals", _approvals),
    _Item("4", "Per-agent history", _agents),
    _Item("5", "Export to Excel", _export),
    _Item("6", "Framework integration guides", _guides),
)
