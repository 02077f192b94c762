"""Measure the HTTP gateway against the seed package's gateway, side by side, in one run.

Why: ``POST /v1/authorize`` is how most agents reach canopy, and the decision
path's figures (tools/bench_authorize.py) say nothing about what HTTP, JSON,
the ASGI stack and the server's threads add. The only fair reference is the
gateway we replace (``canopy-runtime==0.4.2``'s ``canopy.service:app``), served
the same way on the same machine in the same run with the same requests.

Each gateway is a real ``python -m uvicorn canopy.service:app`` subprocess on
a free loopback port, with a fresh temporary ledger (ours) or JSONL audit log
and control-plane SQLite file (the seed), an API key in its environment,
``--log-level warning``, no access log, and the same ``--loop``/``--http``
implementations for both (default asyncio/h11: uvloop or httptools in one
interpreter only would otherwise decide the comparison). Per gateway and
round: start, wait for ``/healthz``, probe the key handling (no key, wrong
key, ``Authorization: Bearer``, ``X-API-Key``), warm up, then time
``--requests`` requests from 1 client (one keep-alive ``http.client``
connection) and as many from ``--clients`` concurrent clients (threads, each
with its own connection), then stop it. The requests are the mixed workload of
tools/bench_authorize.py (shell commands, file writes and reads, URL calls,
payments; benign and dangerous), byte for byte the same for every gateway,
sent with ``X-API-Key`` (the one form the seed accepts). Columns: ours (default
durability, one fdatasync per decision), the seed, and ours with
``CANOPY_DURABILITY=commit`` as extra rows.

Correctness is checked while measuring: every answer must be HTTP 200 with a
decision in ALLOW/DENY/REQUIRE_APPROVAL; after each run of ours, its ledger
must hold exactly one ``authorization`` event per request answered 200 (key
probes included) and ``verify_ledger`` must pass. Any miss is printed in red
and the exit status is 1. For the seed, the rows of its control-plane database
and the entries of its JSONL log are reported, not judged.

Things to know when reading the figures: the seed's route is ``async def``
around blocking code, so it serves concurrent clients one at a time on the
event loop, while ours runs in the server's thread pool; the seed rereads its
whole JSONL log on every append, so its per-request cost grows with the run
(its log ends at ``warmup + 2 x requests`` entries, plus probes); the seed
commits twice per request to its control-plane SQLite file in WAL mode
(``synchronous=FULL``: fsyncs too). Server CPU per request is the server
process's utime+stime from /proc over a timed phase (10 ms ticks), which
other tenants' load does not inflate; the client's CPU per request (this
process, all client threads) is given beside it, since with several client
threads the client itself may be what limits the rate.

Run::

    python tools/bench_gateway.py --json-out /tmp/bench/gateway.json
    python tools/bench_gateway.py --quick            # smoke run, under a minute
    python tools/bench_gateway.py --seed-python /tmp/seedgw/bin/python

The seed interpreter needs canopy-runtime 0.4.2 with its ``gateway`` extra
(fastapi, uvicorn); without it, or with ``--no-seed``, the seed columns stay
empty and a note says why. Scratch files go to ``--workdir`` (default
/tmp/bench/gateway) and are deleted unless ``--keep``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import platform
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_authorize import (
    SEED_PACKAGE,
    SEED_PYTHON,
    Row,
    Sample,
    agent_contexts,
    code_fingerprint,
    make_workload,
    mix,
    render,
    spread,
)
from bench_ledger import cpu_pressure

import canopy
from canopy.ledger.store import DURABILITY_ENV, Ledger
from canopy.ledger.verify import verify_ledger

console = Console(stderr=True)

AUTHORIZE = "/v1/authorize"
DECISIONS = frozenset({"ALLOW", "DENY", "REQUIRE_APPROVAL"})
STACK = ("canopy-runtime", "uvicorn", "fastapi", "starlette", "pydantic", "uvloop", "httptools")
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

# Prints the versions of the server stack an interpreter would serve with.
PROBE = (
    "import importlib.metadata as m, json, sys\n"
    "def v(n):\n"
    "    try:\n"
    "        return m.version(n)\n"
    "    except m.PackageNotFoundError:\n"
    "        return None\n"
    "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
)


@dataclass(frozen=True)
class Gateway:
    """One configuration served: ``key`` names its results."""

    key: str  # "ours", "commit" or "seed"
    label: str
    python: str
    env: dict[str, str]

    @property
    def is_seed(self) -> bool:
        return self.key == "seed"


@dataclass
class Run(Sample):
    """One timed phase against one server: client-side wall time per request,
    with the server's and this process's CPU seconds over the phase."""

    server_cpu_s: float = math.nan
    client_cpu_s: float = 0.0
    bad: int = 0
    examples: list[str] = field(default_factory=list)

    def server_us(self) -> float:
        return self.server_cpu_s / len(self.wall_ns) * 1e6

    def client_us(self) -> float:
        return self.client_cpu_s / len(self.wall_ns) * 1e6


@dataclass
class Check:
    """What one server run left behind, checked after it stopped."""

    gateway: str
    round: int
    startup_ms: float
    answered: int  # requests answered 200, probes included
    bad: int
    probes: str
    stderr_errors: int = 0
    stderr_first: str = ""
    events: int | None = None  # ours: authorization events in the ledger
    ledger_size: int | None = None
    verify_ok: bool | None = None
    verify_problem: str = ""
    seed_rows: int | None = None  # seed: rows in its control-plane audit_events
    seed_log_entries: int | None = None
    seed_stored_decisions: dict[str, int] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return self.events == self.answered


@dataclass
class Settings:
    requests: int
    warmup: int
    rounds: int
    clients: int
    workdir: Path
    seed_python: Path
    loop: str
    http: str
    startup_timeout: float
    rng_seed: int
    commit: bool
    keep: bool
    skip_seed: bool


# --- the servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (Linux /proc; NaN elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def connect(port: int) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    assert conn.sock is not None
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def server_env(extra: dict[str, str]) -> dict[str, str]:
    """This environment without any CANOPY_* setting or PYTHONPATH, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANOPY_") and k != "PYTHONPATH"}
    return {**env, **extra}


class Server:
    """A gateway served by uvicorn in a subprocess, for the life of a ``with`` block."""

    def __init__(self, gw: Gateway, rundir: Path, s: Settings) -> None:
        self.gw, self.rundir, self.s = gw, rundir, s
        self.port = free_port()
        self.stderr_path = rundir / "server.stderr"
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_ms = math.nan

    def __enter__(self) -> Server:
        cmd = [
            self.gw.python,
            "-m",
            "uvicorn",
            "canopy.service:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            self.s.loop,
            "--http",
            self.s.http,
        ]
        start = time.perf_counter()
        with self.stderr_path.open("wb") as err:
            # cwd is the run directory: uvicorn puts it first on sys.path, and the
            # repository's canopy/ must not shadow the seed's package.
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.rundir,
                env=server_env(self.gw.env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        try:
            health = self._wait_healthy()
            self.startup_ms = (time.perf_counter() - start) * 1e3
            self._check_identity(health)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_healthy(self) -> dict[str, Any]:
        assert self.proc is not None
        deadline = time.perf_counter() + self.s.startup_timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"{self.gw.label}: server exited with {self.proc.returncode} at start-up:\n"
                    + self.stderr_tail()
                )
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200:
                    return json.loads(body)
            except (OSError, http.client.HTTPException, ValueError):
                pass
            finally:
                conn.close()
            time.sleep(0.05)
        raise SystemExit(
            f"{self.gw.label}: no /healthz answer within {self.s.startup_timeout:.0f} s:\n"
            + self.stderr_tail()
        )

    def _check_identity(self, health: dict[str, Any]) -> None:
        """The port must be served by the package we meant (not a shadowing one)."""
        if self.gw.is_seed:
            ok = health.get("service") == "canopy-control-plane"
            ok = ok and health.get("auth_mode") == "api_key"
        else:
            ok = health.get("version") == canopy.__version__ and "service" not in health
        if not ok:
            raise SystemExit(f"{self.gw.label}: unexpected /healthz answer {health}")

    def cpu_s(self) -> float:
        assert self.proc is not None
        return process_cpu_s(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            console.log(f"[red]{self.gw.label}: server ignored SIGTERM, killing it")
            self.proc.kill()
            self.proc.wait()

    def stderr_tail(self, n: int = 3000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stderr_errors(self) -> list[str]:
        markers = ("Traceback", "ERROR", "Exception")
        return [
            line for line in self.stderr_tail(10**7).splitlines() if any(m in line for m in markers)
        ]


# --- the client -------------------------------------------------------------------


def run_phase(
    port: int,
    bodies: Sequence[bytes],
    headers: dict[str, str],
    clients: int,
    server_cpu: Callable[[], float],
) -> Run:
    """Send ``bodies`` from ``clients`` threads (each its own keep-alive connection,
    opened before the clock starts); every answer is checked after the clock stops."""
    parts = [bodies[t::clients] for t in range(clients)]
    answers: list[list[tuple[int, int, bytes]]] = [[] for _ in parts]
    barrier = threading.Barrier(clients + 1)

    def client(t: int) -> None:
        try:
            conn = connect(port)
        except OSError:
            barrier.abort()
            raise
        out, clock = answers[t], time.perf_counter_ns
        barrier.wait()
        for body in parts[t]:
            t0 = clock()
            try:
                conn.request("POST", AUTHORIZE, body, headers)
                resp = conn.getresponse()
                status, data = resp.status, resp.read()
            except (OSError, http.client.HTTPException) as e:
                status, data = -1, repr(e).encode()
                conn.close()
                conn = connect(port)
            out.append((clock() - t0, status, data))
        conn.close()

    threads = [threading.Thread(target=client, args=(t,), daemon=True) for t in range(clients)]
    for thread in threads:
        thread.start()
    server0, client0 = server_cpu(), time.process_time()
    try:
        barrier.wait(timeout=60)
    except threading.BrokenBarrierError:
        raise SystemExit(f"could not connect to 127.0.0.1:{port}") from None
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    server_cpu_s, client_cpu_s = server_cpu() - server0, time.process_time() - client0
    flat = [a for part in answers for a in part]
    if len(flat) != len(bodies):
        raise SystemExit(f"a client thread died: {len(flat)} of {len(bodies)} answers")
    run = Run(
        [wall for wall, _, _ in flat],
        [],
        elapsed,
        server_cpu_s=server_cpu_s,
        client_cpu_s=client_cpu_s,
    )
    decisions: Counter[str] = Counter()
    for _, status, data in flat:
        decision = decision_of(status, data)
        if decision is not None:
            decisions[decision] += 1
            continue
        run.bad += 1
        if len(run.examples) < 3:
            run.examples.append(f"HTTP {status}: {data[:200]!r}")
    run.decisions = dict(decisions)
    return run


def decision_of(status: int, data: bytes) -> str | None:
    """The answer's decision if it is HTTP 200 with one of the three, else None."""
    if status != 200:
        return None
    try:
        decision = json.loads(data).get("decision")
    except (ValueError, AttributeError):
        return None
    return decision if decision in DECISIONS else None


def probe_auth(port: int, body: bytes, key: str) -> list[int]:
    """HTTP statuses for: no key, a wrong key, ``Authorization: Bearer``, ``X-API-Key``."""
    forms: list[dict[str, str]] = [
        {},
        {"X-API-Key": "wrong-" + key},
        {"Authorization": f"Bearer {key}"},
        {"X-API-Key": key},
    ]
    statuses = []
    conn = connect(port)
    try:
        for form in forms:
            conn.request("POST", AUTHORIZE, body, {"Content-Type": "application/json", **form})
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
    finally:
        conn.close()
    return statuses


OURS_PROBES = [401, 401, 200, 200]


# --- after a run ------------------------------------------------------------------


def check_ours(path: Path, check: Check) -> None:
    with Ledger(path, read_only=True) as ledger:
        check.ledger_size = ledger.size()
        check.events = sum(1 for e in ledger.iter_events() if e.kind == "authorization")
    report = verify_ledger(path)
    check.verify_ok = report.ok
    if report.problems:
        check.verify_problem = str(report.first_problem)


def check_seed(db: Path, log: Path, check: Check) -> None:
    if db.exists():
        conn = sqlite3.connect(db)
        try:
            check.seed_rows = conn.execute("SELECT count(*) FROM audit_events").fetchone()[0]
            check.seed_stored_decisions = dict(
                conn.execute("SELECT decision, count(*) FROM audit_events GROUP BY decision")
            )
        finally:
            conn.close()
    if log.exists():
        with log.open("rb") as f:
            check.seed_log_entries = sum(1 for line in f if line.strip())


# --- rounds -------------------------------------------------------------------------


def gateways(s: Settings, key: str, seed_note: str | None) -> list[Gateway]:
    ours_env = {"CANOPY_API_KEYS": key}
    out = [Gateway("ours", "ours", sys.executable, ours_env)]
    if s.commit:
        out.append(
            Gateway(
                "commit",
                f"ours, {DURABILITY_ENV}=commit",
                sys.executable,
                {**ours_env, DURABILITY_ENV: "commit"},
            )
        )
    if seed_note is None:
        out.insert(1, Gateway("seed", "seed", str(s.seed_python), {"CANOPY_API_KEYS": key}))
    return out


def one_run(
    s: Settings, gw: Gateway, r: int, key: str, bodies: list[bytes], results: dict[Any, list[Run]]
) -> Check:
    """Start ``gw``, probe, warm up, time both client counts, stop, check its files."""
    rundir = s.workdir / f"run-{gw.key}"
    shutil.rmtree(rundir, ignore_errors=True)
    rundir.mkdir(parents=True)
    ledger, seed_db, seed_log = rundir / "ours.db", rundir / "seed-cp.db", rundir / "seed.log"
    env = dict(gw.env)
    if gw.is_seed:
        env.update(
            {"CANOPY_AUDIT_LOG_PATH": str(seed_log), "CANOPY_CONTROL_PLANE_DB": str(seed_db)}
        )
    else:
        env["CANOPY_AUDIT_LOG_PATH"] = str(ledger)
    gw = Gateway(gw.key, gw.label, gw.python, env)
    headers = {"Content-Type": "application/json", "X-API-Key": key}
    w, n = s.warmup, s.requests
    timed = {1: bodies[w : w + n], s.clients: bodies[w + n : w + 2 * n]}
    with Server(gw, rundir, s) as server:
        probes = probe_auth(server.port, bodies[0], key)
        phases: list[Run] = []
        for part, clients in ((bodies[: w // 2], 1), (bodies[w // 2 : w], s.clients)):
            if part:  # warm-up: both connection patterns, so the thread pool is up
                phases.append(run_phase(server.port, part, headers, clients, server.cpu_s))
        order = (1, s.clients) if r % 2 == 0 else (s.clients, 1)
        for clients in order:
            run = run_phase(server.port, timed[clients], headers, clients, server.cpu_s)
            results.setdefault((gw.key, clients), []).append(run)
            phases.append(run)
            console.log(
                f"  {gw.label}, {clients} client(s): {run.rate:,.0f} req/s, "
                f"p50 {run.pct(0.5):.2f} ms, p99 {run.pct(0.99):.2f} ms, bad {run.bad}"
            )
    errors = server.stderr_errors()
    check = Check(
        gateway=gw.key,
        round=r,
        startup_ms=server.startup_ms,
        answered=sum(st == 200 for st in probes) + sum(len(p.wall_ns) - p.bad for p in phases),
        bad=sum(p.bad for p in phases),
        probes="/".join(map(str, probes)),
        stderr_errors=len(errors),
        stderr_first=errors[0][:200] if errors else "",
    )
    for p in phases:
        for example in p.examples:
            console.log(f"[red]{gw.label}: bad answer {example}")
    if gw.is_seed:
        check_seed(seed_db, seed_log, check)
    else:
        check_ours(ledger, check)
        if not check.exact or not check.verify_ok:
            console.log(
                f"[red]{gw.label}, round {r + 1}: ledger holds {check.events} authorization "
                f"events for {check.answered} answered requests; verify ok={check.verify_ok} "
                f"{check.verify_problem}"
            )
    if errors:
        console.log(f"[yellow]{gw.label}: {len(errors)} error lines on stderr: {errors[0][:200]}")
    if not s.keep:
        shutil.rmtree(rundir, ignore_errors=True)
    return check


# --- the table ----------------------------------------------------------------------


def rows_for(s: Settings, results: dict[Any, list[Run]], checks: list[Check]) -> list[Row]:
    rows: list[Row] = []

    def m(key: str, clients: int, fn: Callable[[Run], float]) -> float | None:
        runs = results.get((key, clients))
        if not runs:
            return None
        value = statistics.median(fn(x) for x in runs)
        return None if math.isnan(value) else value

    def spread_of(key: str, clients: int) -> str:
        runs = results.get((key, clients))
        return spread([x.rate for x in runs]) if runs else "n/a"

    def rate(x: Run) -> float:
        return x.rate

    def p50(x: Run) -> float:
        return x.pct(0.5)

    def p99(x: Run) -> float:
        return x.pct(0.99)

    def server_us(x: Run) -> float:
        return x.server_us()

    def client_us(x: Run) -> float:
        return x.client_us()

    commit = f"ours, {DURABILITY_ENV}=commit"
    for clients in (1, s.clients):
        sec = str(clients)
        who = "1 client" if clients == 1 else f"{clients} concurrent clients"
        rows.append(
            Row(
                sec,
                f"requests/s, {who} ({s.requests:,} requests x {s.rounds} rounds, median)",
                m("ours", clients, rate),
                m("seed", clients, rate),
                "req/s",
                f"ours {spread_of('ours', clients)}; seed {spread_of('seed', clients)}",
            )
        )

        def commit_row(
            label: str,
            fn: Callable[[Run], float],
            unit: str,
            note: str = "",
            sec: str = sec,
            clients: int = clients,
        ) -> None:
            """The same measurement for ours with CANOPY_DURABILITY=commit, under it."""
            if s.commit:
                rows.append(
                    Row(
                        sec,
                        f"  {label}, {commit}",
                        m("commit", clients, fn),
                        m("seed", clients, fn),
                        unit,
                        note,
                    )
                )

        ours, c = m("ours", clients, rate), m("commit", clients, rate)
        commit_row(
            "requests/s",
            rate,
            "req/s",
            f"{spread_of('commit', clients)}; commit/fsync "
            + (f"{c / ours:.2f}" if c and ours else "n/a"),
        )
        for name, fn in (("p50", p50), ("p99", p99)):
            rows.append(
                Row(sec, f"latency {name}", m("ours", clients, fn), m("seed", clients, fn), "ms")
            )
            commit_row(f"latency {name}", fn, "ms")
        client = "; ".join(
            f"{k} {v:,.0f}"
            for k in ("ours", "commit", "seed")
            if (v := m(k, clients, client_us)) is not None
        )
        rows.append(
            Row(
                sec,
                "server CPU per request (utime+stime, /proc)",
                m("ours", clients, server_us),
                m("seed", clients, server_us),
                "us",
                f"client CPU us/req: {client}",
            )
        )
        commit_row("server CPU per request", server_us, "us")
    rows += correctness_rows(s, results, checks)
    startup = {
        k: statistics.median(c.startup_ms for c in checks if c.gateway == k)
        for k in {c.gateway for c in checks}
    }
    rows.append(
        Row(
            "s",
            "start-up: process start to first /healthz answer (median)",
            startup.get("ours"),
            startup.get("seed"),
            "ms",
            "ours opens (creates) its ledger and key at start-up"
            + (f"; commit {startup['commit']:,.0f} ms" if "commit" in startup else ""),
        )
    )
    return rows


def correctness_rows(s: Settings, results: dict[Any, list[Run]], checks: list[Check]) -> list[Row]:
    ours_checks = [c for c in checks if c.gateway != "seed"]
    seed_checks = [c for c in checks if c.gateway == "seed"]
    bad = {k: sum(c.bad for c in checks if c.gateway == k) for k in ("ours", "commit", "seed")}
    answered = {k: sum(c.answered for c in checks if c.gateway == k) for k in bad}
    bad_text = "; ".join(
        f"{k} {bad[k]} of {answered[k] + bad[k]:,}" for k in bad if answered[k] + bad[k]
    )
    decisions: dict[str, Counter[str]] = {}
    for (key, _), runs in results.items():
        for run in runs:
            decisions.setdefault(key, Counter()).update(run.decisions)
    mixes = "; ".join(f"{k} {mix(c)}" for k, c in decisions.items())
    same = (
        f"; ours = commit: {'yes' if decisions['ours'] == decisions['commit'] else 'NO'}"
        if "commit" in decisions and "ours" in decisions
        else ""
    )
    events = sum(c.events or 0 for c in ours_checks)
    expected = sum(c.answered for c in ours_checks)
    exact = sum(c.exact for c in ours_checks)
    first_miss = next((c for c in ours_checks if not c.exact), None)
    verified = sum(bool(c.verify_ok) for c in ours_checks)
    problem = next((c.verify_problem for c in ours_checks if not c.verify_ok), "")
    probes = {k: sorted({c.probes for c in checks if c.gateway == k}) for k in bad}
    probe_text = "; ".join(f"{k} {', '.join(v)}" for k, v in probes.items() if v)
    ours_probes_ok = all(c.probes == "/".join(map(str, OURS_PROBES)) for c in ours_checks)
    stderr = {k: sum(c.stderr_errors for c in checks if c.gateway == k) for k in bad}
    first_err = next((c.stderr_first for c in checks if c.stderr_first), "")
    rows = [
        Row(
            "c",
            "bad answers (not HTTP 200 with ALLOW / DENY / REQUIRE_APPROVAL)",
            None,
            None,
            "",
            bad_text,
            "none",
            not any(bad.values()),
        ),
        Row("c", "decision mix, ALLOW / REQUIRE_APPROVAL / DENY (%)", None, None, "", mixes + same),
        Row(
            "c",
            "ours: authorization events in the ledger == requests answered 200",
            events,
            None,
            "events",
            f"expected {expected:,}; exact in {exact}/{len(ours_checks)} runs"
            + (
                f"; first miss: {first_miss.gateway} round {first_miss.round + 1}, "
                f"{first_miss.events} for {first_miss.answered}"
                if first_miss
                else ""
            ),
            "equal, every run",
            exact == len(ours_checks),
        ),
        Row(
            "c",
            "ours: verify_ledger(path).ok after each run",
            verified,
            None,
            "runs",
            problem[:120],
            f"{len(ours_checks)}/{len(ours_checks)}",
            verified == len(ours_checks),
        ),
        Row(
            "c",
            "key probes: no key / wrong key / Bearer / X-API-Key (HTTP status)",
            None,
            None,
            "",
            probe_text,
            "ours " + "/".join(map(str, OURS_PROBES)),
            ours_probes_ok,
        ),
        Row(
            "c",
            "error lines on the servers' stderr",
            None,
            None,
            "",
            "; ".join(f"{k} {v}" for k, v in stderr.items() if probes[k])
            + (f"; first: {first_err[:100]}" if first_err else ""),
            "ours none",
            stderr["ours"] + stderr["commit"] == 0,
        ),
    ]
    if seed_checks:
        rows_n = sum(c.seed_rows or 0 for c in seed_checks)
        lines = sum(c.seed_log_entries or 0 for c in seed_checks)
        answered_seed = sum(c.answered for c in seed_checks)
        stored: Counter[str] = Counter()
        for c in seed_checks:
            stored.update(c.seed_stored_decisions)
        rows.append(
            Row(
                "c",
                "seed: control-plane rows / JSONL log entries, for requests answered 200",
                None,
                None,
                "",
                f"{rows_n:,} rows, {lines:,} entries for {answered_seed:,}; "
                f"decisions stored as {', '.join(sorted(stored))}",
            )
        )
    return rows


# --- main ---------------------------------------------------------------------------


def stack_of(python: str, cwd: Path) -> dict[str, str | None]:
    try:
        proc = subprocess.run(
            [python, "-c", PROBE, *STACK], cwd=cwd, capture_output=True, text=True, check=False
        )
    except OSError:  # no such interpreter
        return {}
    if proc.returncode != 0:
        return {}
    return json.loads(proc.stdout)


def describe(stack: dict[str, str | None]) -> str:
    return ", ".join(f"{k} {v}" for k, v in stack.items() if v and k != "canopy-runtime")


def seed_problem(
    s: Settings, seed_stack: dict[str, str | None], ours: dict[str, Any]
) -> str | None:
    """Why the seed's gateway cannot run, or None."""
    if s.skip_seed:
        return "--no-seed"
    if not s.seed_python.exists():
        return f"{s.seed_python} missing"
    missing = [k for k in ("canopy-runtime", "fastapi", "uvicorn") if not seed_stack.get(k)]
    if missing:
        pins = " ".join(
            f"{k}=={ours[k]}"
            for k in ("fastapi", "starlette", "pydantic", "uvicorn")
            if ours.get(k)
        )
        return (
            f"{s.seed_python} lacks {', '.join(missing)} (canopy-runtime's gateway extra). "
            f"Make a gateway venv with ours' server stack: python3 -m venv /tmp/seedgw && "
            f"/tmp/seedgw/bin/pip install {SEED_PACKAGE} {pins}; then "
            f"--seed-python /tmp/seedgw/bin/python"
        )
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument(
        "--requests", type=int, default=2000, help="timed requests per client count and round"
    )
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests first")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (fresh servers each)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (>= 2)")
    parser.add_argument("--seed-python", type=Path, default=SEED_PYTHON)
    parser.add_argument("--no-seed", action="store_true", help="ours only")
    parser.add_argument(
        "--no-commit", action="store_true", help=f"skip ours with {DURABILITY_ENV}=commit"
    )
    parser.add_argument("--loop", default="asyncio", help="uvicorn --loop, for every gateway")
    parser.add_argument("--http", default="h11", help="uvicorn --http, for every gateway")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench/gateway"))
    parser.add_argument("--keep", action="store_true", help="keep ledgers, logs, stderr")
    parser.add_argument("--rng-seed", type=int, default=1, help="workload random seed")
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.requests, args.warmup, args.rounds = 200, 20, 1
    if args.clients < 2 or args.requests < args.clients:
        parser.error("--clients must be >= 2 and --requests >= --clients")
    s = Settings(
        requests=args.requests,
        warmup=args.warmup,
        rounds=args.rounds,
        clients=args.clients,
        workdir=args.workdir,
        seed_python=args.seed_python,
        loop=args.loop,
        http=args.http,
        startup_timeout=args.startup_timeout,
        rng_seed=args.rng_seed,
        commit=not args.no_commit,
        keep=args.keep,
        skip_seed=args.no_seed,
    )
    s.workdir.mkdir(parents=True, exist_ok=True)
    ours_stack = stack_of(sys.executable, s.workdir)
    seed_stack = {} if s.skip_seed else stack_of(str(s.seed_python), s.workdir)
    seed_note = seed_problem(s, seed_stack, ours_stack)
    if seed_note:
        console.log(f"[yellow]seed columns skipped: {seed_note}")
    key = secrets.token_urlsafe(24)
    ws = s.workdir / "agent-workspace"
    (ws / "src" / "app").mkdir(parents=True, exist_ok=True)
    ctxs = agent_contexts(ws)
    actions = make_workload(s.warmup + 2 * s.requests, s.rng_seed)
    bodies = [
        json.dumps(
            {"agent_ctx": ctxs[i % len(ctxs)], "action_type": kind, "action_payload": payload},
            separators=(",", ":"),
        ).encode()
        for i, (kind, payload) in enumerate(actions)
    ]
    served = gateways(s, key, seed_note)
    started = time.perf_counter()
    pressure_before, code_before = cpu_pressure(), code_fingerprint()
    results: dict[Any, list[Run]] = {}
    checks: list[Check] = []
    for r in range(s.rounds):
        k = r % len(served)
        for gw in served[k:] + served[:k]:
            console.log(f"round {r + 1}/{s.rounds}: {gw.label}")
            checks.append(one_run(s, gw, r, key, bodies, results))
    rows = rows_for(s, results, checks)
    elapsed = time.perf_counter() - started
    code = code_fingerprint()
    if code != code_before:
        console.log(f"[red]canopy sources changed during the run ({code_before} -> {code})")
        code = f"{code_before}->{code} (CHANGED DURING RUN)"
    seed_version = seed_stack.get("canopy-runtime") or "n/a"
    if seed_note:
        seed_version += " (seed skipped)"
    title = (
        f"canopy gateway benchmark vs canopy-runtime {seed_version}: "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {elapsed:.0f} s, uvicorn --loop {s.loop} --http {s.http}; "
        f"ours: {describe(ours_stack)}; seed: {describe(seed_stack) or 'n/a'}; "
        f"canopy sources {code}, CPU pressure avg60 {pressure_before} -> {cpu_pressure()}"
    )
    out = Console()
    if not out.is_terminal:
        out = Console(width=230)  # a file or pipe: don't wrap the table
    out.print(render(rows, title))
    if seed_note:
        out.print(f"[yellow]seed columns empty: {seed_note}")
    failed = [r for r in rows if r.met is False]
    for row in failed:
        out.print(f"[bold red]CHECK FAILED: {row.metric}: {row.reference}")
    if args.json_out:
        doc: dict[str, Any] = {
            "title": title,
            "settings": {k: str(v) for k, v in asdict(s).items()},
            "seed_note": seed_note,
            "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
            "runs": [
                {
                    "gateway": gw_key,
                    "clients": clients,
                    "rate": run.rate,
                    "p50_ms": run.pct(0.5),
                    "p99_ms": run.pct(0.99),
                    "server_cpu_us": run.server_us(),
                    "client_cpu_us": run.client_us(),
                    "bad": run.bad,
                    "decisions": run.decisions,
                }
                for (gw_key, clients), runs in results.items()
                for run in runs
            ],
            "checks": [asdict(c) for c in checks],
        }
        args.json_out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
