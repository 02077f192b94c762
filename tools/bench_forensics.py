"""Measure canopy.forensics on a big generated ledger, against its targets.

Why: an investigation starts by loading the ledger into pandas, so the frames
must stay quick at production size: ``events()`` over a 1,000,000-event
ledger in <= 15 s, and ``events(avid=X)`` (one agent, through the index) in
<= 0.5 s. ``traces()`` and ``approvals()`` are measured alongside.

Run::

    python tools/bench_forensics.py                       # reuses /tmp/bench/ledger-1m-v2.db
    python tools/bench_forensics.py --ledger OTHER.db --repeat 3 --json-out r.json
    python tools/bench_forensics.py --events 200000       # generate a smaller ledger

A reused ledger is only read (every frame opens it read-only; the script
checks its size and modification time did not change). Without one, a ledger
is generated into ``--workdir`` (default /tmp/bench-forensics) and kept for
the next run. Each operation runs ``--repeat`` times; the table shows the
best and the first wall time and this process's CPU time for the best run,
which other tenants' load does not inflate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ledger import cpu_pressure
from gen_ledger import generate

from canopy import forensics

DEFAULT_LEDGER = Path("/tmp/bench/ledger-1m-v2.db")
console = Console(stderr=True)


@dataclass
class Result:
    operation: str
    rows: int
    best_s: float
    first_s: float
    cpu_s: float
    target_s: float | None

    @property
    def met(self) -> bool | None:
        return None if self.target_s is None else self.best_s <= self.target_s


def measure(operation: str, call: Callable[[], Any], repeat: int, target_s: float | None) -> Result:
    walls, cpus, rows = [], [], 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        frame = call()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        rows = len(frame)
        del frame
    best = min(range(repeat), key=walls.__getitem__)
    return Result(operation, rows, walls[best], walls[0], cpus[best], target_s)


def ledger_path(args: argparse.Namespace) -> Path:
    if args.ledger is not None:
        return args.ledger
    if DEFAULT_LEDGER.exists() and args.events == 1_000_000:
        return DEFAULT_LEDGER
    path = args.workdir / f"ledger-{args.events}.db"
    if not path.exists():
        args.workdir.mkdir(parents=True, exist_ok=True)
        console.print(f"generating {args.events:,} events into {path} ...")
        generate(path, args.events, seed=1)
    return path


def render(results: list[Result], title: str) -> Table:
    table = Table(title=title)
    for name in ("operation", "rows", "best wall s", "first wall s", "CPU s", "target", "met"):
        table.add_column(name, justify="left" if name == "operation" else "right")
    for r in results:
        met = "-" if r.met is None else "[green]yes" if r.met else "[red]NO"
        target = "-" if r.target_s is None else f"<= {r.target_s:g} s"
        table.add_row(
            r.operation,
            f"{r.rows:,}",
            f"{r.best_s:.3f}",
            f"{r.first_s:.3f}",
            f"{r.cpu_s:.3f}",
            target,
            met,
        )
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ledger", type=Path, help="ledger to read (never modified)")
    parser.add_argument("--events", type=int, default=1_000_000, help="size to generate")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench-forensics"))
    parser.add_argument("--repeat", type=int, default=2, help="runs per operation")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    path = ledger_path(args)
    before = path.stat()
    pressure = cpu_pressure()
    first = forensics.events(path, limit=1)
    if first.empty:
        console.print(f"[red]{path} holds no events")
        return 2
    agent = str(first["avid"].iloc[0])

    results = [
        measure(
            "events(avid=<one agent>)", lambda: forensics.events(path, avid=agent), args.repeat, 0.5
        ),
        measure("events() whole ledger", lambda: forensics.events(path), args.repeat, 15.0),
        measure("traces()", lambda: forensics.traces(path), args.repeat, None),
        measure("approvals()", lambda: forensics.approvals(path), args.repeat, None),
    ]

    after = path.stat()
    unchanged = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
    title = (
        f"canopy.forensics on {path} ({before.st_size / 2**20:,.0f} MiB), "
        f"{os.cpu_count()} CPUs, CPU pressure avg60 {pressure} -> {cpu_pressure()}"
    )
    Console(width=120).print(render(results, title))
    console.print(f"ledger file unchanged: {unchanged}")
    if args.json_out:
        payload = {
            "ledger": str(path),
            "agent": agent,
            "unchanged": unchanged,
            "results": [{**asdict(r), "met": r.met} for r in results],
        }
        args.json_out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0 if unchanged and all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
