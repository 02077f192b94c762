"""Benchmark negative proofs on a large ledger (issue figures, run by hand).

Measures, on a copy of a generated ledger (default 1,000,000 events):
building the key index and recording its commitment; a keyed whole-history
absence proof (generation time, size, verification time); a window-disclosure
proof over 10,000 events (generation and verification time); and the append
rate with and without a key-index commit running in another process.

    python tools/bench_absence.py --reuse /tmp/bench/ledger-1m-v2.db
    python tools/bench_absence.py --quick          # 20k events, generated
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from canopy.ledger.absence import (
    AbsenceQuery,
    build_keyed_proof,
    build_window_proof,
    verify_absence_proof,
)
from canopy.ledger.keyindex import commit_index
from canopy.ledger.store import Ledger

console = Console()


def _timed(fn, repeat: int) -> tuple[list[float], object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def _append_rate(path: Path, seconds: float) -> float:
    fields = {
        "trace_id": "bench",
        "avid": "AVID-" + "b" * 32,
        "authorization_id": "x" * 32,
        "action_type": "execute_shell",
        "decision": "ALLOW",
        "payload": {"command": "ls -la"},
    }
    with Ledger(path) as ledger:
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            ledger.append_batch([("authorization", fields)] * 200)
            count += 200
        return count / (time.perf_counter() - start)


def _commit_in_background(path: str) -> None:
    with Ledger(path) as ledger:
        commit_index(ledger)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", type=Path, help="a generated ledger to copy (never modified)")
    parser.add_argument("--quick", action="store_true", help="20k events, generated")
    parser.add_argument("--proofs", type=int, default=50)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="canopy-absence-"))
    path = work / "ledger.db"
    if args.reuse and not args.quick:
        shutil.copy(args.reuse, path)
        shutil.copy(f"{args.reuse}.key", f"{path}.key")
    else:
        from gen_ledger import generate

        generate(path, 20_000 if args.quick else 1_000_000, seed=1)
    rows: list[tuple[str, float, str, str]] = []
    with Ledger(path) as ledger:
        size = ledger.size()
        start = time.perf_counter()
        fields = commit_index(ledger)
        build = time.perf_counter() - start
        ledger.checkpoint()
        rows.append(
            (
                "key index build + commitment (full)",
                build,
                "s",
                f"{size:,} events, {len(fields['index_runs'])} run(s)",
            )
        )
        ledger.append_batch([("authorization", {"trace_id": f"new-{i}"}) for i in range(1000)])
        start = time.perf_counter()
        commit_index(ledger)
        rows.append(
            (
                "key index commit, incremental (+1,000 events)",
                time.perf_counter() - start,
                "s",
                "scans only the new events",
            )
        )
        ledger.checkpoint()
        rng = random.Random(7)
        queries = [AbsenceQuery(trace_id=f"absent-trace-{i}") for i in range(args.proofs // 2)]
        queries += [
            AbsenceQuery(authorization_id=f"absent-auth-{i}", kind="execution")
            for i in range(args.proofs - len(queries))
        ]
        rng.shuffle(queries)
        gen_times, sizes, verify_times = [], [], []
        keys = [ledger.verifier]
        for query in queries:
            t, proof = _timed(lambda q=query: build_keyed_proof(ledger, q), 1)
            assert proof is not None
            gen_times += t
            sizes.append(len(json.dumps(proof)))
            doc = json.loads(json.dumps(proof))
            t, _ = _timed(lambda d=doc: verify_absence_proof(d, keys), 1)
            verify_times += t
        rows.append(
            (
                "keyed proof generation, median",
                statistics.median(gen_times) * 1e3,
                "ms",
                "<= 200 ms",
            )
        )
        rows.append(("keyed proof generation, max", max(gen_times) * 1e3, "ms", ""))
        rows.append(("keyed proof size, max", max(sizes) / 1024, "KiB", "<= 32 KiB"))
        rows.append(
            (
                "keyed proof verification, median",
                statistics.median(verify_times) * 1e3,
                "ms",
                "<= 100 ms",
            )
        )
        end = ledger.latest_checkpoint().size
        window_start = max(0, end - 10_000)
        t, window = _timed(
            lambda: build_window_proof(
                ledger, AbsenceQuery(trace_id="absent-window"), start=window_start, end=end
            ),
            1,
        )
        rows.append((f"window proof over {end - window_start:,} events, generation", t[0], "s", ""))
        doc = json.loads(json.dumps(window))
        t, _ = _timed(lambda: verify_absence_proof(doc, keys), 3)
        rows.append(("window proof, verification, median", statistics.median(t), "s", "<= 1 s"))
        rows.append(("window proof size", len(json.dumps(window)) / 2**20, "MiB", ""))
    quiet = _append_rate(path, 3.0)
    worker = multiprocessing.Process(target=_commit_in_background, args=(str(path),))
    worker.start()
    busy = _append_rate(path, 3.0)
    worker.join()
    rows.append(("append_batch rate, no index work", quiet, "events/s", ""))
    rows.append(
        (
            "append_batch rate, incremental index commit running",
            busy,
            "events/s",
            f"ratio {busy / quiet:.2f} (2 shared cores)",
        )
    )
    table = Table(title=f"negative proofs on a {size:,}-event ledger")
    for column in ("measurement", "value", "unit", "target / note"):
        table.add_column(column)
    for name, value, unit, note in rows:
        table.add_row(name, f"{value:,.3f}" if value < 100 else f"{value:,.0f}", unit, note)
    console.print(table)
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                [{"measurement": n, "value": v, "unit": u, "note": t} for n, v, u, t in rows],
                indent=1,
            )
        )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
