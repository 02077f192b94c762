"""Measure what Canopy's governance costs per tool call in each framework adapter, in one run.

Why: the adapters (README "Framework adapters") put a decision, a signed and
durable ledger event for it, an execution event and a tool_result event in
front of every tool call. What that costs only means something next to the
framework's own invocation path for the very same tool, measured on the same
machine in the same run under the same noise. This script does that and prints
one table: per framework, the per-call median of the ungoverned call (the
framework's own path) and of the governed one (Canopy's adapter), the overhead
(governed - ungoverned), the ratio and the calls/s.

The tool is a dry-run ``read_file(path)`` whose body returns a short string and
never touches the machine; it is called with ``{"path": "notes.txt"}`` (a
harmless relative file name in the agent's working directory), so every
decision is ALLOW and each governed call records authorization, execution and
tool_result. Rows:

- ``authorize_action`` alone (the decision and its ledger event, no tool run),
  against the bare function call
- ``ToolGate.local(...).call(...)`` (what the adapters stand on), against the
  bare function call
- LangChain: ``StructuredTool.from_function(fn).invoke(args)`` vs ``safe_tool(...)`` on it
- LangGraph: a compiled ``StateGraph`` START -> ``ToolNode`` -> END invoked with an
  ``AIMessage`` carrying one tool call, vs the same graph around
  ``governed_tool_node([...], agent_ctx=..., approvals="block")``
- OpenAI Agents SDK: ``FunctionTool.on_invoke_tool(ToolContext(...), json_args)`` vs
  ``govern_function_tool(...)``
- AutoGen: ``await FunctionTool(fn, description=...).run_json(args, CancellationToken())``
  vs ``govern_autogen_tool(fn, ...)``
- CrewAI: a ``crewai.tools.tool`` tool's ``.run(**args)`` vs ``govern_crewai_tool(...)``

Every row gets a fresh ledger in its own temporary directory. Durability is the
ledger's default (``CANOPY_DURABILITY`` as found in the environment, else
fsync: one fdatasync per event) unless ``--durability commit|fsync`` sets
``CANOPY_DURABILITY`` for the run. Each round runs every row once, in a
rotating order, its ungoverned and governed batches alternating which goes
first; the table gives medians over rounds, with the spread over rounds and the
CPU time per call (which other tenants' load does not inflate). Async paths
(OpenAI Agents, AutoGen) time each ``await`` inside one event loop per batch.

Correctness is checked outside the timed loops, not asserted: every row's last
result must be the tool's own output, and at the end every ledger must pass
``verify_ledger`` and hold exactly one ALLOW authorization, one execution and
one ok tool_result per governed call, each execution and tool_result bound to
its authorization (``authorize_action`` alone: one authorization per call and
nothing else). The last column shows ✓ or ✗ and the exit status is 1 on any ✗.

Run::

    python tools/bench_adapters.py
    python tools/bench_adapters.py --calls 200 --rounds 2      # smoke run
    python tools/bench_adapters.py --durability commit --json-out /tmp/bench/adapters.json
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_authorize import code_fingerprint, forget_runtime, percentile, spread
from bench_ledger import cpu_pressure

import canopy.authorize as authz
from canopy.authorize import authorize_action, ledger_path_for
from canopy.ledger.store import DURABILITY_ENV, DURABILITY_MODES, Ledger
from canopy.ledger.verify import verify_ledger

console = Console(stderr=True)

TOOL = "read_file"
ARGS: dict[str, Any] = {"path": "notes.txt"}
ARGS_JSON = json.dumps(ARGS)
EXPECTED = f"dry run: would read {ARGS['path']}"
#: Set before ``crewai`` is imported: no telemetry, trace uploads or version checks.
CREWAI_QUIET = {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
}
FRAMEWORK_PACKAGES = (
    "langchain-core",
    "langgraph",
    "openai-agents",
    "autogen-agentchat",
    "crewai",
)


def read_file(path: str) -> str:
    """Read a text file from the workspace (dry run: returns a short string, reads nothing)."""
    return f"dry run: would read {path}"


# --- rows ----------------------------------------------------------------------------


@dataclass
class Scenario:
    """One row: the same tool called ungoverned and governed, and how to check it."""

    key: str
    framework: str
    ungoverned_path: str
    governed_path: str
    ungoverned: Callable[[], Any]  # sync: returns the result; async: returns an awaitable
    governed: Callable[[], Any]
    ledger: Path
    is_async: bool = False
    text: Callable[[Any], str] = str  # a governed result as the text the model would read
    ungoverned_text: Callable[[Any], str] = str
    tool_runs: bool = True  # False for authorize_action: no execution / tool_result events
    version: str = ""


@dataclass
class Batch:
    """One timed batch: per-call wall nanoseconds, with the batch's wall and CPU time."""

    wall_ns: list[int]
    elapsed_ns: int
    cpu_ns: int
    last: Any = None

    def p50_us(self) -> float:
        return statistics.median(self.wall_ns) / 1e3

    def p99_us(self) -> float:
        return percentile(self.wall_ns, 0.99) / 1e3

    def rate(self) -> float:
        return len(self.wall_ns) / (self.elapsed_ns / 1e9)

    def cpu_us(self) -> float:
        return self.cpu_ns / len(self.wall_ns) / 1e3


@dataclass
class Results:
    """Every round's batches of one row, and what the checks found."""

    ungoverned: list[Batch] = field(default_factory=list)
    governed: list[Batch] = field(default_factory=list)
    governed_calls: int = 0
    bad_results: list[str] = field(default_factory=list)
    ledger_ok: bool | None = None
    ledger_note: str = ""


def version_of(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def build_scenarios(root: Path, agent_ctx: dict[str, Any], only: set[str] | None) -> list[Scenario]:
    """The rows, each with its own fresh ledger under ``root``; frameworks imported here."""
    scenarios: list[Scenario] = []

    def ledger(key: str) -> Path:
        directory = root / key
        directory.mkdir(parents=True, exist_ok=True)
        return directory / "ledger.db"

    def wanted(key: str) -> bool:
        return only is None or key in only

    def bare() -> str:
        return read_file(**ARGS)

    if wanted("authorize"):
        path = ledger("authorize")

        def decide(path: Path = path) -> Any:
            return authorize_action(agent_ctx, TOOL, ARGS, audit_log_path=path)

        scenarios.append(
            Scenario(
                "authorize",
                "authorize_action alone",
                "read_file(**args)",
                "authorize_action(ctx, 'read_file', args)",
                bare,
                decide,
                path,
                text=lambda r: EXPECTED if str(r["decision"]) == "ALLOW" else str(r),
                tool_runs=False,
            )
        )

    if wanted("toolgate"):
        from canopy.integrations import ToolGate

        path = ledger("toolgate")
        gate = ToolGate.local(agent_ctx=agent_ctx, audit_log_path=path)
        scenarios.append(
            Scenario(
                "toolgate",
                "ToolGate.call",
                "read_file(**args)",
                "ToolGate.local(...).call('read_file', args, fn)",
                bare,
                lambda: gate.call(TOOL, ARGS, bare),
                path,
            )
        )

    if wanted("langchain"):
        from langchain_core.tools import StructuredTool

        from canopy.integrations import safe_tool

        path = ledger("langchain")
        lc_tool = StructuredTool.from_function(read_file)
        lc_governed = safe_tool(action_type=TOOL, agent_ctx=agent_ctx, audit_log_path=path)(lc_tool)
        scenarios.append(
            Scenario(
                "langchain",
                "LangChain",
                "StructuredTool.from_function(fn).invoke(args)",
                "safe_tool(...)(tool).invoke(args)",
                lambda: lc_tool.invoke(ARGS),
                lambda: lc_governed.invoke(ARGS),
                path,
                version=version_of("langchain-core"),
            )
        )

    if wanted("langgraph"):
        from langchain_core.messages import AIMessage
        from langchain_core.tools import StructuredTool
        from langgraph.graph import END, START, MessagesState, StateGraph
        from langgraph.prebuilt import ToolNode

        from canopy.integrations import governed_tool_node

        path = ledger("langgraph")
        lg_tool = StructuredTool.from_function(read_file)

        def compiled(node: Any) -> Any:
            graph = StateGraph(MessagesState)
            graph.add_node("tools", node)
            graph.add_edge(START, "tools")
            graph.add_edge("tools", END)
            return graph.compile()

        plain_app = compiled(ToolNode([lg_tool]))
        governed_app = compiled(
            governed_tool_node(
                [lg_tool], agent_ctx=agent_ctx, audit_log_path=path, approvals="block"
            )
        )
        ids = iter(range(1 << 62))

        def message_text(out: dict[str, Any]) -> str:
            return str(out["messages"][-1].content)

        def state() -> dict[str, Any]:
            call = {"name": TOOL, "args": ARGS, "id": f"call-{next(ids)}", "type": "tool_call"}
            return {"messages": [AIMessage(content="", tool_calls=[call])]}

        scenarios.append(
            Scenario(
                "langgraph",
                "LangGraph",
                "START -> ToolNode -> END, .invoke(AIMessage tool call)",
                "the same graph with governed_tool_node(approvals='block')",
                lambda: plain_app.invoke(state()),
                lambda: governed_app.invoke(state()),
                path,
                text=message_text,
                ungoverned_text=message_text,
                version=version_of("langgraph"),
            )
        )

    if wanted("openai_agents"):
        from agents import function_tool
        from agents.tool_context import ToolContext

        from canopy.integrations import govern_function_tool

        path = ledger("openai_agents")
        oa_tool = function_tool(read_file)
        oa_governed = govern_function_tool(oa_tool, agent_ctx=agent_ctx, audit_log_path=path)
        tool_ctx = ToolContext(
            context=None, tool_name=TOOL, tool_call_id="call-1", tool_arguments=ARGS_JSON
        )
        scenarios.append(
            Scenario(
                "openai_agents",
                "OpenAI Agents SDK",
                "FunctionTool.on_invoke_tool(ToolContext(...), json_args)",
                "govern_function_tool(tool, ...).on_invoke_tool(...)",
                lambda: oa_tool.on_invoke_tool(tool_ctx, ARGS_JSON),
                lambda: oa_governed.on_invoke_tool(tool_ctx, ARGS_JSON),
                path,
                is_async=True,
                version=version_of("openai-agents"),
            )
        )

    if wanted("autogen"):
        from autogen_core import CancellationToken
        from autogen_core.tools import FunctionTool

        from canopy.integrations import govern_autogen_tool

        path = ledger("autogen")
        ag_tool = FunctionTool(read_file, description=read_file.__doc__ or "")
        ag_governed = govern_autogen_tool(read_file, agent_ctx=agent_ctx, audit_log_path=path)
        scenarios.append(
            Scenario(
                "autogen",
                "AutoGen",
                "await FunctionTool(fn, description=...).run_json(args, token)",
                "await govern_autogen_tool(fn, ...).run_json(args, token)",
                lambda: ag_tool.run_json(ARGS, CancellationToken()),
                lambda: ag_governed.run_json(ARGS, CancellationToken()),
                path,
                is_async=True,
                version=version_of("autogen-agentchat"),
            )
        )

    if wanted("crewai"):
        from crewai.tools import tool as crewai_tool

        from canopy.integrations import govern_crewai_tool

        path = ledger("crewai")
        cr_tool = crewai_tool(TOOL)(read_file)
        cr_governed = govern_crewai_tool(cr_tool, agent_ctx=agent_ctx, audit_log_path=path)
        scenarios.append(
            Scenario(
                "crewai",
                "CrewAI",
                "@crewai.tools.tool tool .run(**args)",
                "govern_crewai_tool(tool, ...).run(**args)",
                lambda: cr_tool.run(**ARGS),
                lambda: cr_governed.run(**ARGS),
                path,
                version=version_of("crewai"),
            )
        )
    return scenarios


# --- timing ----------------------------------------------------------------------------


def time_sync(fn: Callable[[], Any], n: int) -> Batch:
    wall: list[int] = []
    clock = time.perf_counter_ns
    last: Any = None
    cpu0, start = time.process_time_ns(), clock()
    for _ in range(n):
        t0 = clock()
        last = fn()
        wall.append(clock() - t0)
    elapsed, cpu = clock() - start, time.process_time_ns() - cpu0
    return Batch(wall, elapsed, cpu, last)


async def _time_async(fn: Callable[[], Awaitable[Any]], n: int) -> Batch:
    wall: list[int] = []
    clock = time.perf_counter_ns
    last: Any = None
    cpu0, start = time.process_time_ns(), clock()
    for _ in range(n):
        t0 = clock()
        last = await fn()
        wall.append(clock() - t0)
    elapsed, cpu = clock() - start, time.process_time_ns() - cpu0
    return Batch(wall, elapsed, cpu, last)


def time_batch(scenario: Scenario, fn: Callable[[], Any], n: int) -> Batch:
    if scenario.is_async:
        return asyncio.run(_time_async(fn, n))
    return time_sync(fn, n)


def check_result(
    scenario: Scenario, result: Any, governed: bool, label: str, results: Results
) -> None:
    """Note a result that is not the tool's own output (a refusal, an error message)."""
    try:
        text = (scenario.text if governed else scenario.ungoverned_text)(result)
    except Exception as e:  # a result of an unexpected shape: report it, don't stop
        text = f"{type(e).__name__}: {e}"
    if EXPECTED not in text and len(results.bad_results) < 5:
        results.bad_results.append(f"{label}: {text[:200]!r}")


# --- ledger checks ----------------------------------------------------------------------


def check_ledger(scenario: Scenario, calls: int) -> tuple[bool, str]:
    """verify_ledger, then one ALLOW authorization (+ execution + ok tool_result) per call."""
    forget_runtime(scenario.ledger)  # close it: the checks read what is on disk
    report = verify_ledger(scenario.ledger)
    kinds: Counter[str] = Counter()
    per_kind: dict[str, Counter[str]] = {
        k: Counter() for k in ("authorization", "execution", "tool_result")
    }
    problems: list[str] = []
    with Ledger(scenario.ledger, read_only=True) as ledger:
        for event in ledger.iter_events():
            kinds[event.kind] += 1
            if event.kind not in per_kind:
                continue
            fields = event.fields
            per_kind[event.kind][str(fields.get("authorization_id"))] += 1
            if event.kind == "authorization" and str(fields.get("decision")) != "ALLOW":
                problems.append(f"decision {fields.get('decision')}")
            if event.kind == "tool_result" and fields.get("status") != "ok":
                problems.append(f"tool_result status {fields.get('status')}")
    auths = per_kind["authorization"]
    want_runs = calls if scenario.tool_runs else 0
    ok = (
        report.ok
        and not problems
        and kinds["authorization"] == calls
        and len(auths) == calls
        and kinds["execution"] == want_runs
        and kinds["tool_result"] == want_runs
    )
    if scenario.tool_runs:
        for kind in ("execution", "tool_result"):
            # each bound to its own authorization, once
            ok = ok and per_kind[kind].keys() == auths.keys()
            ok = ok and all(count == 1 for count in per_kind[kind].values())
    note = (
        f"{kinds['authorization']:,}/{kinds['execution']:,}/{kinds['tool_result']:,} of {calls:,}"
    )
    if not report.ok:
        note += f"; verify_ledger: {len(report.problems)} problems, e.g. {report.problems[0]}"
    if problems:
        note += f"; {len(problems)} bad events, e.g. {problems[0]}"
    return ok, note


# --- main ----------------------------------------------------------------------------------


def render(
    scenarios: list[Scenario], results: dict[str, Results], title: str
) -> tuple[Table, Table]:
    """The results table, and a second one naming each row's two invocation paths."""
    table = Table(title=title, title_justify="left")
    table.add_column("row", justify="left")
    for name in (
        "ungov. us/call",
        "gov. us/call",
        "overhead us (rounds)",
        "gov./ungov.",
        "gov. p99 us",
        "ungov. calls/s",
        "gov. calls/s",
        "ungov. CPU us",
        "gov. CPU us",
    ):
        table.add_column(name, justify="right")
    table.add_column("ledger auth/exec/result", justify="left")

    def us(v: float) -> str:
        return f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"

    for sc in scenarios:
        r = results[sc.key]
        ung = [b.p50_us() for b in r.ungoverned]
        gov = [b.p50_us() for b in r.governed]
        ung_p50, gov_p50 = statistics.median(ung), statistics.median(gov)
        overheads = [g - u for g, u in zip(gov, ung, strict=True)]
        mark = {None: "", True: "[green]✓[/] ", False: "[red]✗[/] "}[r.ledger_ok]
        if r.bad_results:
            mark = "[red]✗ bad result[/] " + mark
        table.add_row(
            sc.framework + (f" {sc.version}" if sc.version else ""),
            us(ung_p50),
            us(gov_p50),
            f"{us(statistics.median(overheads))} ({spread(overheads, ',.0f')})",
            f"{gov_p50 / ung_p50:,.1f}x" if ung_p50 else "",
            us(statistics.median(b.p99_us() for b in r.governed)),
            f"{statistics.median(b.rate() for b in r.ungoverned):,.0f}",
            f"{statistics.median(b.rate() for b in r.governed):,.0f}",
            us(statistics.median(b.cpu_us() for b in r.ungoverned)),
            us(statistics.median(b.cpu_us() for b in r.governed)),
            mark + r.ledger_note,
        )
    paths = Table(title="what each row calls", title_justify="left")
    for name in ("row", "ungoverned: the framework's own path", "governed: Canopy's adapter"):
        paths.add_column(name, justify="left")
    for sc in scenarios:
        paths.add_row(sc.framework, sc.ungoverned_path, sc.governed_path)
    return table, paths


def effective_durability(scenarios: Sequence[Scenario]) -> str:
    """The durability the ledgers were opened with (read back from the open runtimes)."""
    modes = set()
    for sc in scenarios:
        runtime = authz._RUNTIMES.get(ledger_path_for(sc.ledger))
        if runtime is not None:
            modes.add(str(runtime.ledger.durability))
    return "/".join(sorted(modes)) or "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="governed calls per row/round")
    parser.add_argument(
        "--ungoverned-calls",
        type=int,
        help="ungoverned calls per row/round (default: 5 x --calls)",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls of each kind first")
    parser.add_argument(
        "--durability",
        choices=("default", *DURABILITY_MODES),
        default="default",
        help=f"set {DURABILITY_ENV} for the run (default: leave it as found)",
    )
    parser.add_argument(
        "--only",
        help="comma-separated rows: authorize,toolgate,langchain,langgraph,"
        "openai_agents,autogen,crewai",
    )
    parser.add_argument("--workdir", type=Path, help="put the ledgers here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the ledgers afterwards")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    ungoverned_calls = args.ungoverned_calls or 5 * args.calls
    if args.calls < 1 or ungoverned_calls < 1 or args.rounds < 1:
        parser.error("--calls, --ungoverned-calls and --rounds must be at least 1")
    if args.durability != "default":
        os.environ[DURABILITY_ENV] = args.durability
    os.environ.update(CREWAI_QUIET)  # before any framework is imported
    only = {k.strip() for k in args.only.split(",") if k.strip()} if args.only else None

    root = args.workdir or Path(tempfile.mkdtemp(prefix="canopy-bench-adapters-"))
    root.mkdir(parents=True, exist_ok=True)
    workspace = root / "agent-workspace"
    workspace.mkdir(exist_ok=True)
    agent_ctx = {"agent_id": "bench-adapters", "public_key": "pk-bench", "cwd": str(workspace)}

    started = time.perf_counter()
    pressure_before, code_before = cpu_pressure(), code_fingerprint()
    console.log("importing the frameworks and building the tools")
    scenarios = build_scenarios(root, agent_ctx, only)
    if not scenarios:
        parser.error(f"--only {args.only!r} names no row")
    results = {sc.key: Results() for sc in scenarios}
    try:
        # Warm-up: imports, caches, and the first governed call creates the ledger.
        for sc in scenarios:
            r = results[sc.key]
            warm = time_batch(sc, sc.ungoverned, args.warmup)
            check_result(sc, warm.last, False, "warm-up ungoverned", r)
            warm = time_batch(sc, sc.governed, args.warmup)
            check_result(sc, warm.last, True, "warm-up governed", r)
            r.governed_calls += args.warmup
        durability = effective_durability(scenarios)

        per_round = len(scenarios) * (args.calls + ungoverned_calls)
        columns = (
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("calls"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, refresh_per_second=4) as progress:
            task = progress.add_task("rounds", total=args.rounds * per_round)
            for rnd in range(args.rounds):
                shift = rnd % len(scenarios)
                for sc in scenarios[shift:] + scenarios[:shift]:
                    r = results[sc.key]
                    order = ("ungoverned", "governed")
                    for which in order if rnd % 2 == 0 else order[::-1]:
                        progress.update(
                            task, description=f"round {rnd + 1}/{args.rounds} {sc.key} {which}"
                        )
                        if which == "governed":
                            batch = time_batch(sc, sc.governed, args.calls)
                            r.governed.append(batch)
                            r.governed_calls += args.calls
                        else:
                            batch = time_batch(sc, sc.ungoverned, ungoverned_calls)
                            r.ungoverned.append(batch)
                        label = f"round {rnd + 1} {which}"
                        check_result(sc, batch.last, which == "governed", label, r)
                        progress.advance(task, len(batch.wall_ns))

        console.log("verifying the ledgers")
        for sc in scenarios:
            r = results[sc.key]
            r.ledger_ok, r.ledger_note = check_ledger(sc, r.governed_calls)
    finally:
        for sc in scenarios:
            forget_runtime(sc.ledger)
        if not args.keep and args.workdir is None:
            shutil.rmtree(root, ignore_errors=True)

    elapsed = time.perf_counter() - started
    code = code_fingerprint()
    if code != code_before:
        console.log(f"[red]canopy sources changed during the run ({code_before} -> {code})")
        code = f"{code_before}->{code} (CHANGED DURING RUN)"
    title = (
        f"canopy governance cost per tool call, by framework adapter: "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {elapsed:.0f} s, {args.rounds} rounds x "
        f"{args.calls:,} governed / {ungoverned_calls:,} ungoverned calls per row, "
        f"durability {durability} ({DURABILITY_ENV}="
        f"{os.environ.get(DURABILITY_ENV, 'unset')}), canopy sources {code}, "
        f"CPU pressure avg60 {pressure_before} -> {cpu_pressure()}"
    )
    out = Console()
    if not out.is_terminal:
        out = Console(width=215)  # a file or pipe: don't wrap the table
    table, paths = render(scenarios, results, title)
    out.print(table)
    out.print(paths)
    out.print(
        "us/call: median over rounds of each round's per-call median (wall clock); overhead: "
        "governed - ungoverned per round (median, range over rounds); CPU us: this "
        "process's CPU time per call; ledger: authorization/execution/tool_result events "
        "of the governed calls (warm-up included), verify_ledger and one of each per call."
    )
    failed = False
    for sc in scenarios:
        r = results[sc.key]
        for bad in r.bad_results:
            out.print(f"[red]{sc.key}: unexpected result, {bad}")
        if r.ledger_ok is False:
            out.print(f"[red]{sc.key}: ledger check failed: {r.ledger_note}")
        failed = failed or bool(r.bad_results) or r.ledger_ok is False
    if root.exists():
        out.print(f"ledgers kept in {root}")

    if args.json_out:
        doc: dict[str, Any] = {
            "title": title,
            "settings": {
                "calls": args.calls,
                "ungoverned_calls": ungoverned_calls,
                "rounds": args.rounds,
                "warmup": args.warmup,
                "durability": durability,
                "versions": {p: version_of(p) for p in ("canopy-runtime", *FRAMEWORK_PACKAGES)},
            },
            "rows": [
                {
                    "key": sc.key,
                    "framework": sc.framework,
                    "version": sc.version,
                    "ungoverned_path": sc.ungoverned_path,
                    "governed_path": sc.governed_path,
                    "ungoverned_p50_us": [b.p50_us() for b in results[sc.key].ungoverned],
                    "governed_p50_us": [b.p50_us() for b in results[sc.key].governed],
                    "governed_p99_us": [b.p99_us() for b in results[sc.key].governed],
                    "ungoverned_rate": [b.rate() for b in results[sc.key].ungoverned],
                    "governed_rate": [b.rate() for b in results[sc.key].governed],
                    "ungoverned_cpu_us": [b.cpu_us() for b in results[sc.key].ungoverned],
                    "governed_cpu_us": [b.cpu_us() for b in results[sc.key].governed],
                    "ledger_ok": results[sc.key].ledger_ok,
                    "ledger": results[sc.key].ledger_note,
                    "bad_results": results[sc.key].bad_results,
                }
                for sc in scenarios
            ],
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
