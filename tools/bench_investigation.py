"""Time the investigation CLIs as whole processes against their targets.

Why: an operator runs ``canopy incident`` and ``canopy report`` on production
ledgers of millions of events; what they wait for is the whole process
(interpreter start, imports, SQL, rendering), so that is what is timed:

* ``canopy incident --trace T LEDGER`` on a 1,000,000-event ledger: <= 0.5 s
* ``canopy report LEDGER`` on a 1,000,000-event ledger: <= 5 s
* ``canopy report LEDGER --export out.xlsx`` of a 100,000-event ledger: <= 60 s

Each command runs once to warm the page cache, then ``--runs`` times; the
table shows the median, min and max wall time and the median CPU time (user +
sys of the process and its children). CPU time shows what the command costs
when the machine is busy with other work; the load average is printed too.

The 1M ledger defaults to /tmp/bench/ledger-1m-v2.db when it exists (only
read: every timed command opens it read-only), else it is generated with
tools/gen_ledger.py. Run::

    python tools/bench_investigation.py
    python tools/bench_investigation.py --ledger big.db --runs 7 --json-out bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_ledger import generate

from canopy.ledger.store import Ledger

SHARED_1M = Path("/tmp/bench/ledger-1m-v2.db")
WORK = Path("/tmp/canopy-bench-investigation")
console = Console(stderr=True)


@dataclass
class Result:
    name: str
    command: list[str]
    runs: int
    median_s: float
    min_s: float
    max_s: float
    median_cpu_s: float
    target_s: float
    exit_codes: list[int]

    @property
    def ok(self) -> bool:
        return self.median_s <= self.target_s and set(self.exit_codes) == {0}


def _canopy() -> str:
    found = shutil.which("canopy", path=str(Path(sys.executable).parent)) or shutil.which("canopy")
    if not found:
        raise SystemExit("canopy is not installed: pip install -e '.[dev]'")
    return found


def _run_once(command: list[str]) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "120"},
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        console.print(f"[red]{' '.join(command)} exited {done.returncode}[/]")
        console.print(done.stderr.decode(errors="replace")[-2000:])
    return wall, cpu, done.returncode


def measure(name: str, command: list[str], runs: int, target: float) -> Result:
    console.print(f"[dim]{name}: warm-up + {runs} run(s): {' '.join(command)}[/]")
    _run_once(command)
    walls, cpus, codes = [], [], []
    for _ in range(runs):
        wall, cpu, code = _run_once(command)
        walls.append(wall)
        cpus.append(cpu)
        codes.append(code)
    return Result(
        name,
        command,
        runs,
        statistics.median(walls),
        min(walls),
        max(walls),
        statistics.median(cpus),
        target,
        codes,
    )


def _ledger(path: Path | None, events: int, seed: int) -> Path:
    if path is not None:
        if not path.exists():
            raise SystemExit(f"{path} does not exist")
        return path
    if events == 1_000_000 and SHARED_1M.exists():
        return SHARED_1M
    target = WORK / f"ledger-{events // 1000}k-seed{seed}.db"
    if not target.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        console.print(f"generating {events:,} events into {target} ...")
        start = time.perf_counter()
        generate(target, events, seed=seed)
        console.print(f"  done in {time.perf_counter() - start:.0f} s")
    return target


def _a_trace(path: Path) -> tuple[str, int]:
    """A trace from the middle of the ledger with several events."""
    with Ledger(path, read_only=True) as ledger:
        size = ledger.size()
        for seq in range(size // 2, size):
            trace = ledger.get(seq).fields.get("trace_id")
            if trace:
                events = len(ledger.find(trace_id=trace))
                if events >= 3:
                    return str(trace), events
    raise SystemExit(f"{path} has no trace with 3 events or more")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", type=Path, help="1M-event ledger (read only)")
    parser.add_argument("--small", type=Path, help="100k-event ledger for the export")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command")
    parser.add_argument("--export-runs", type=int, default=3, help="timed xlsx exports")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)

    canopy = _canopy()
    big = _ledger(args.ledger, 1_000_000, 1)
    small = _ledger(args.small, 100_000, 7)
    trace, trace_events = _a_trace(big)
    with Ledger(big, read_only=True) as opened:
        big_size = opened.size()
    with Ledger(small, read_only=True) as opened:
        small_size = opened.size()
    WORK.mkdir(parents=True, exist_ok=True)
    export = WORK / "bench_report.xlsx"
    load_before = os.getloadavg()

    results = [
        measure(
            f"incident --trace ({trace_events} events)",
            [canopy, "incident", "--trace", trace, str(big)],
            args.runs,
            0.5,
        ),
        measure("report", [canopy, "report", str(big)], args.runs, 5.0),
        measure(
            "report --export .xlsx",
            [canopy, "report", str(small), "--export", str(export)],
            args.export_runs,
            60.0,
        ),
    ]
    sizes = [big_size, big_size, small_size]
    load_after = os.getloadavg()

    table = Table(title="canopy investigation CLIs, whole processes", header_style="bold")
    for column in ("command", "ledger events", "runs", "median", "min", "max", "cpu", "target"):
        table.add_column(column, justify="left" if column == "command" else "right")
    table.add_column("")
    for result, size in zip(results, sizes, strict=True):
        table.add_row(
            result.name,
            f"{size:,}",
            str(result.runs),
            f"{result.median_s:.2f} s",
            f"{result.min_s:.2f} s",
            f"{result.max_s:.2f} s",
            f"{result.median_cpu_s:.2f} s",
            f"<= {result.target_s:g} s",
            "[green]ok[/]" if result.ok else "[red]MISSED[/]",
        )
    out = Console(width=max(Console().width, 130))
    out.print(table)
    out.print(
        f"ledgers: {big} ({big_size:,} events), {small} ({small_size:,} events); "
        f"cores: {os.cpu_count()}; load average before {load_before[0]:.2f}, "
        f"after {load_after[0]:.2f}"
    )
    if args.json_out:
        doc = {
            "ledger": str(big),
            "small_ledger": str(small),
            "cores": os.cpu_count(),
            "load_average": [load_before[0], load_after[0]],
            "results": [{**asdict(r), "ok": r.ok} for r in results],
        }
        args.json_out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
