"""Profile one ledger operation and print the hot functions with their cost per call.

Why: ``bench_ledger.py`` says whether a target is met; when one is missed this
says where the time goes, in microseconds per call and per event, so a fix can
be aimed at the right function. It runs the operation in-process under
cProfile (verification with ``workers=1`` on a scratch ledger, since worker
processes are invisible to the profiler) and, for appends, also times each SQL statement
kind through a thin proxy around the ledger's connection.

Run::

    python tools/profile_ledger.py single --n 3000
    python tools/profile_ledger.py batch --n 50000 --batch 5000
    python tools/profile_ledger.py verify --n 50000 [--signatures]
    python tools/profile_ledger.py proofs --ledger /tmp/bench/ledger-1m.db --n 1000
    python tools/profile_ledger.py micro      # timeit of each step of one append / verify

``micro`` times the per-event steps in isolation (best of several repeats, so
it is robust to a noisy machine) with one authorization event from the
generator; cProfile's own overhead inflates small functions, ``micro`` does not.

Add ``--out FILE.prof`` to keep the raw profile (for snakeviz or pstats).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_ledger import TraceGenerator, generate, remove_ledger

from canopy.ledger.proofs import build_consistency_proof, build_inclusion_proof
from canopy.ledger.store import Ledger
from canopy.ledger.verify import verify_ledger

console = Console()
if not console.is_terminal:
    console = Console(width=160)  # a file or pipe: keep table rows on one line


class TimedConnection:
    """Wraps a sqlite3 connection; accumulates wall time per SQL statement kind."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def _label(self, sql: str, many: bool) -> str:
        words = sql.split()
        label = " ".join(words[:2]) if words[0].upper() in ("BEGIN", "INSERT") else words[0]
        if words[0].upper() == "INSERT":
            label = " ".join(words[:3])
        return f"{label} (executemany)" if many else label

    def execute(self, sql: str, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._conn.execute(sql, *args)
        finally:
            key = self._label(sql, False)
            self.seconds[key] += time.perf_counter() - start
            self.calls[key] += 1

    def executemany(self, sql: str, rows: Any) -> Any:
        start = time.perf_counter()
        try:
            return self._conn.executemany(sql, rows)
        finally:
            key = self._label(sql, True)
            self.seconds[key] += time.perf_counter() - start
            self.calls[key] += 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def profile(fn: Callable[[], None], out: Path | None) -> tuple[pstats.Stats, float]:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(fn)
    wall = time.perf_counter() - start
    if out is not None:
        profiler.dump_stats(out)
    return pstats.Stats(profiler), wall


def show_stats(stats: pstats.Stats, wall: float, per: int, per_name: str, top: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    entries = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    table = Table(title=f"top {top} by own time; wall {wall:.3f} s for {per:,} {per_name}")
    for name in ("function", "calls", "own us/call", "cum us/call", f"own us/{per_name[:-1]}"):
        table.add_column(name, justify="left" if name == "function" else "right")
    table.add_column("own %", justify="right")
    for (filename, line, func), (_cc, nc, tt, ct, _callers) in entries:
        short = filename.split("site-packages/")[-1].split("/main/")[-1]
        where = f"{func}" if filename == "~" else f"{short}:{line} {func}"
        table.add_row(
            where,
            f"{nc:,}",
            f"{tt / nc * 1e6:,.2f}",
            f"{ct / nc * 1e6:,.2f}",
            f"{tt / per * 1e6:,.2f}",
            f"{tt / wall * 100:.1f}",
        )
    console.print(table)


def show_sql(timed: TimedConnection, per: int) -> None:
    table = Table(title="SQL statements (wall time, outside the profiler's own overhead)")
    for name in ("statement", "calls", "us/call", "us/event"):
        table.add_column(name, justify="left" if name == "statement" else "right")
    for key, seconds in sorted(timed.seconds.items(), key=lambda kv: -kv[1]):
        calls = timed.calls[key]
        table.add_row(
            key, f"{calls:,}", f"{seconds / calls * 1e6:,.1f}", f"{seconds / per * 1e6:,.1f}"
        )
    console.print(table)


def scratch_ledger(workdir: Path) -> Ledger:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "profile.db"
    remove_ledger(path)
    return Ledger(path)


def run_appends(args: argparse.Namespace, batch: int | None) -> None:
    gen = TraceGenerator(args.seed)
    if batch is None:
        events = [("authorization", gen.authorization()) for _ in range(args.n)]
    else:
        events = gen.take(args.n)
    ledger = scratch_ledger(args.workdir)
    ledger.append("authorization", gen.authorization())  # warm up: statement cache, key
    timed = TimedConnection(ledger._conn)
    ledger._conn = timed  # type: ignore[assignment]

    def work() -> None:
        if batch is None:
            for kind, fields in events:
                ledger.append(kind, fields)
        else:
            for i in range(0, len(events), batch):
                ledger.append_batch(events[i : i + batch])

    # Wall time per statement first, without the profiler inflating Python time.
    start = time.perf_counter()
    work()
    wall = time.perf_counter() - start
    console.print(
        f"unprofiled: {args.n / wall:,.0f} events/s ({wall / args.n * 1e6:,.1f} us/event)"
    )
    show_sql(timed, args.n)
    timed.seconds.clear()
    timed.calls.clear()
    stats, wall = profile(work, args.out)
    show_stats(stats, wall, args.n, "events", args.top)
    ledger.close()
    remove_ledger(args.workdir / "profile.db")


def run_verify(args: argparse.Namespace) -> None:
    """Profile ``verify_ledger(workers=1)``: in-process, so cProfile sees the chunk work.

    Uses a scratch ledger of ``--n`` generated events (only public API, so this
    keeps working while verify's internals change).
    """
    args.workdir.mkdir(parents=True, exist_ok=True)
    path = args.workdir / "profile-verify.db"
    remove_ledger(path)
    console.print(f"generating {args.n:,} events into {path}")
    generate(path, args.n, seed=args.seed)

    def work() -> None:
        report = verify_ledger(path, check_signatures=args.signatures, workers=1)
        assert report.ok, report.problems[:3]

    t0 = time.perf_counter()
    work()
    wall = time.perf_counter() - t0
    console.print(
        f"unprofiled verify_ledger(workers=1, signatures={args.signatures}): {wall:.3f} s, "
        f"{wall / args.n * 1e6:.1f} us/event = {wall / args.n * 1e6:.1f} s per 1M on one core"
    )
    stats, wall = profile(work, args.out)
    show_stats(stats, wall, args.n, "events", args.top)
    remove_ledger(path)


def run_proofs(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    with Ledger(args.ledger, read_only=True) as ledger:
        sizes = [c.size for c in ledger.checkpoints()]
        seqs = [rng.randrange(sizes[-1]) for _ in range(args.n)]
        pairs = [sorted(rng.sample(sizes, 2)) for _ in range(args.n)]

        def work() -> None:
            for seq in seqs:
                build_inclusion_proof(ledger, seq).to_json()
            for old, new in pairs:
                build_consistency_proof(ledger, old, new).to_json()

        stats, wall = profile(work, args.out)
        show_stats(stats, wall, 2 * args.n, "proofs", args.top)


def run_micro(args: argparse.Namespace) -> None:
    """Time each per-event step in isolation; steps missing from this version say n/a."""
    import secrets
    import timeit

    import nacl.bindings

    from canopy.canonical import canonical_bytes
    from canopy.ledger import events as ev
    from canopy.ledger import store
    from canopy.ledger.merkle import CompactRange
    from canopy.ledger.note import generate_signer

    gen = TraceGenerator(args.seed)
    kind, fields = "authorization", gen.authorization()
    rest = {k: v for k, v in fields.items() if k not in ev.INDEXED_FIELDS}
    salt = secrets.token_bytes(16)
    ts = ev.now_timestamp()
    event = ev.Event(123456, ts, kind, fields, salt)
    canonical = ev.canonical_values(fields)
    members = ev.leaf_members(salt, canonical)
    leaf = event.leaf_hash()
    signer = generate_signer("bench")
    message = ev.event_signature_message("canopy.ledger/0123456789abcdef", 123456, leaf)
    signature = signer.sign(message)
    public = signer.verifier.public_key
    body = canonical_bytes(rest).decode()
    size = 1_000_003  # a frontier shaped like a 1M-leaf tree's
    tree = CompactRange(size, [leaf] * size.bit_count())

    def _bodies() -> Any:
        try:
            from canopy.ledger import bodies  # type: ignore[attr-defined]
        except ImportError as e:  # not in this version of the library
            raise AttributeError("canopy.ledger.bodies") from e
        return bodies

    packed_body: list[Any] = []

    def packed() -> Any:
        if not packed_body:
            packed_body.append(_bodies().encode_body(body))
        return packed_body[0]

    columns = tuple(fields.get(name) for name in ev.INDEXED_FIELDS)
    row = (7, ts, kind, columns, packed(), salt)  # a stored row, as the verifier reads it
    steps: list[tuple[str, int, Callable[[], object]]] = [
        ("append: store._prepare (whole)", 1, lambda: store._prepare(kind, fields)),
        ("  check_fields", 0, lambda: ev.check_fields(fields)),
        ("  canonical_bytes(body)", 0, lambda: canonical_bytes(rest)),
        ("  canonical_bytes(detail dict)", 0, lambda: canonical_bytes(fields["detail"])),
        ("  leaf_members (all commitments)", 0, lambda: ev.leaf_members(salt, canonical)),
        ("  bodies.encode_body (deflate)", 0, lambda: _bodies().encode_body(body)),
        ("append: now_timestamp", 1, ev.now_timestamp),
        (
            "append: leaf_hash_from_members",
            1,
            lambda: ev.leaf_hash_from_members(7, ts, kind, members),
        ),
        ("append: event_signature_message", 1, lambda: ev.event_signature_message("o", 7, leaf)),
        ("append: Signer.sign (pynacl)", 1, lambda: signer.sign(message)),
        ("append: CompactRange.copy + append", 1, lambda: tree.copy().append(leaf)),
        ("verify: store.rebuild_leaf (whole)", 1, lambda: store.rebuild_leaf(*row)),
        ("  bodies.decode_body", 0, lambda: _bodies().decode_body(packed())),
        ("  store.split_body", 0, lambda: store.split_body(body)),
        (
            "  leaf_hash_from_canonical",
            0,
            lambda: ev.leaf_hash_from_canonical(7, ts, kind, salt, canonical),
        ),
        (
            "verify: crypto_sign_open",
            1,
            lambda: nacl.bindings.crypto_sign_open(signature + message, public),
        ),
    ]
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        ossl_pk = Ed25519PublicKey.from_public_bytes(public)
        steps.append(
            ("  alt: OpenSSL Ed25519 verify", 0, lambda: ossl_pk.verify(signature, message))
        )
    except ImportError:
        pass
    table = Table(title=f"per-call cost, best of 5 (authorization event, {len(fields)} fields)")
    for name in ("step", "us/call", "calls/event"):
        table.add_column(name, justify="left" if name == "step" else "right")
    for name, per_event, fn in steps:
        try:
            best = min(timeit.repeat(fn, number=2000, repeat=5)) / 2000 * 1e6
        except AttributeError:  # the library moved on; skip what no longer exists
            table.add_row(name, "n/a", "")
            continue
        table.add_row(name, f"{best:.2f}", str(per_event or ""))
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("single", "batch", "verify", "proofs", "micro"))
    parser.add_argument("--n", type=int, default=None, help="events or proofs (default varies)")
    parser.add_argument("--batch", type=int, default=5000, help="events per append_batch")
    parser.add_argument("--ledger", type=Path, default=Path("/tmp/bench/ledger-1m.db"))
    parser.add_argument("--signatures", action="store_true", help="verify: check signatures")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench/work"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="write the raw cProfile stats here")
    args = parser.parse_args(argv)
    defaults = {"single": 3000, "batch": 50_000, "verify": 50_000, "proofs": 1000, "micro": 1}
    args.n = args.n or defaults[args.what]
    if args.what == "single":
        run_appends(args, None)
    elif args.what == "batch":
        run_appends(args, args.batch)
    elif args.what == "verify":
        run_verify(args)
    elif args.what == "proofs":
        run_proofs(args)
    else:
        run_micro(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
