"""Build a realistic Canopy ledger of N events, fast, for benchmarks and demos.

Why: the ledger's performance figures (append rate at size, verify time, proof
latency, bytes per event) only mean something on a ledger that looks like
production: many agents, thousands of interleaved traces, and the mix of
``authorization`` / ``execution`` / ``tool_result`` / ``approval`` /
``incident`` events a governance runtime writes. This script builds one with
``Ledger.append_batch`` (one transaction per batch) and reports events/s.

Run::

    python tools/gen_ledger.py /tmp/bench/ledger-1m.db --events 1000000
    python tools/gen_ledger.py OUT.db --events 20000 --seed 7 --batch 2000

Everything but the per-event secret salts, the timestamps and the signing key
is deterministic for a given ``--seed``. Other tools import it::

    sys.path.insert(0, str(Path(__file__).parent))
    from gen_ledger import generate, TraceGenerator
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
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

from canopy.ledger.store import Ledger

__all__ = ["Event", "TraceGenerator", "generate", "remove_ledger"]

Event = tuple[str, dict[str, Any]]

ACTION_TYPES = ("execute_shell", "modify_file", "call_external_api", "payment", "read_file")
ACTION_WEIGHTS = (0.25, 0.20, 0.25, 0.05, 0.25)
DECISIONS = ("ALLOW", "DENY", "REQUIRE_APPROVAL")
DECISION_WEIGHTS = (0.80, 0.13, 0.07)
SEVERITIES = ("low", "medium", "high", "critical")
LAYERS = ("identity", "rate_limit", "policy", "constitution", "context")

_COMMANDS = (
    "ls -la /var/log",
    "git status --porcelain",
    "pytest -q tests/unit",
    "cat README.md",
    "curl -s https://internal.example/health",
    "rm -rf /tmp/build-cache",
    "pip install -r requirements.txt",
    "docker ps --format '{{.Names}}'",
    "grep -rn TODO src/",
    "make release",
)
_PATHS = (
    "src/app/main.py",
    "config/settings.yaml",
    "docs/index.md",
    "/etc/hosts",
    "data/customers.csv",
    "infra/terraform/main.tf",
    ".env",
    "tests/test_api.py",
)
_URLS = (
    "https://api.stripe.com/v1/charges",
    "https://api.github.com/repos/acme/web/pulls",
    "https://slack.com/api/chat.postMessage",
    "https://api.openweathermap.org/data/2.5/weather?q=Berlin",
    "https://s3.amazonaws.com/acme-exports/report.json",
    "https://hooks.example.com/deploy",
)
_REASONS = {
    "ALLOW": (
        "action permitted by policy",
        "read-only operation within agent scope",
        "matched allow rule for workspace paths",
        "amount below autonomous spending limit",
    ),
    "DENY": (
        "destructive command outside sandbox",
        "write to protected path",
        "destination host not on allow list",
        "rate limit exceeded for this agent",
        "constitution forbids exfiltration of customer data",
    ),
    "REQUIRE_APPROVAL": (
        "payment above autonomous limit",
        "modification of infrastructure configuration",
        "first call to a new external API",
    ),
}
_APPROVERS = ("alice@example.com", "bob@example.com", "oncall@example.com", "sec-team@example.com")
_INCIDENTS = (
    "repeated denied attempts to reach a non-allowlisted host",
    "agent attempted to read credentials file",
    "burst of destructive shell commands blocked",
    "payment requests exceeded daily budget",
)
_SEVERITY_BY_DECISION = {
    "ALLOW": (0.7, 0.25, 0.05, 0.0),
    "DENY": (0.1, 0.4, 0.4, 0.1),
    "REQUIRE_APPROVAL": (0.1, 0.5, 0.35, 0.05),
}
_INCIDENT_RATE_PER_DENY = 0.03


class TraceGenerator:
    """An endless, seeded stream of events from interleaved agent traces.

    ``concurrent`` traces are open at once; each step picks one at random and
    emits its next event, so events of one trace are spread through the
    ledger as they would be with many agents running side by side.
    """

    def __init__(
        self, seed: int = 1, *, agents: int = 400, concurrent: int = 64, policies: int = 12
    ) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        self.avids = [f"AVID-{rng.getrandbits(128):032x}" for _ in range(agents)]
        self.policy_hashes = [f"{rng.getrandbits(256):064x}" for _ in range(policies)]
        self.constitution_hashes = [f"{rng.getrandbits(256):064x}" for _ in range(3)]
        self._clock_ms = 1_735_689_600_000  # 2025-01-01T00:00:00Z
        self._open: list[Iterator[Event]] = [self._trace() for _ in range(concurrent)]

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        rng = self.rng
        while True:
            slot = rng.randrange(len(self._open))
            event = next(self._open[slot], None)
            if event is not None:
                return event
            self._open[slot] = self._trace()

    def take(self, n: int) -> list[Event]:
        return [next(self) for _ in range(n)]

    # --- one trace: an agent working on a task ------------------------------

    def _hex(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"

    def _authorization_id(self) -> str:
        """Shaped as ``authorize_action`` makes them: milliseconds (48 bits, on a
        simulated clock that starts in 2025 and never goes back) + 80 random bits."""
        self._clock_ms += self.rng.randint(0, 3)
        return f"{self._clock_ms:012x}{self._hex(80)}"

    def _trace(self) -> Iterator[Event]:
        rng = self.rng
        trace_id = self._hex(128)
        avid = rng.choice(self.avids)
        denied: list[str] = []
        for _ in range(rng.randint(1, 12)):
            auth_id = self._authorization_id()
            fields = self.authorization(trace_id, avid, auth_id)
            yield "authorization", fields
            decision = fields["decision"]
            runs = decision == "ALLOW"
            if decision == "REQUIRE_APPROVAL":
                approval = self._approval(trace_id, avid, auth_id)
                if rng.random() < 0.85:  # some requests are never answered
                    yield "approval", approval
                    runs = approval["approved"]
            elif decision == "DENY":
                denied.append(auth_id)
            if runs:
                ids = {"trace_id": trace_id, "authorization_id": auth_id, "avid": avid}
                yield "execution", ids
                yield "tool_result", self._tool_result(ids)
        if denied and rng.random() < _INCIDENT_RATE_PER_DENY * len(denied):
            yield "incident", self._incident(trace_id, avid, denied)

    def authorization(
        self,
        trace_id: str | None = None,
        avid: str | None = None,
        auth_id: str | None = None,
    ) -> dict[str, Any]:
        """The fields of one authorization event (the ledger's typical, largest event)."""
        rng = self.rng
        action = rng.choices(ACTION_TYPES, ACTION_WEIGHTS)[0]
        decision = rng.choices(DECISIONS, DECISION_WEIGHTS)[0]
        if action == "payment" and decision == "ALLOW" and rng.random() < 0.5:
            decision = "REQUIRE_APPROVAL"
        return {
            "trace_id": trace_id or self._hex(128),
            "avid": avid or rng.choice(self.avids),
            "authorization_id": auth_id or self._authorization_id(),
            "action_type": action,
            "decision": decision,
            "payload": self._payload(action),
            "detail": {
                "reason": rng.choice(_REASONS[decision]),
                "severity": rng.choices(SEVERITIES, _SEVERITY_BY_DECISION[decision])[0],
                "layer": rng.choice(LAYERS),
                "rule_id": f"R-{rng.randrange(1, 400):04d}",
                "policy_hash": rng.choice(self.policy_hashes),
                "context_hash": self._hex(256),
                "constitution_hash": rng.choice(self.constitution_hashes),
            },
        }

    def _payload(self, action: str) -> dict[str, Any]:
        rng = self.rng
        if action == "execute_shell":
            return {"command": rng.choice(_COMMANDS)}
        if action in ("modify_file", "read_file"):
            return {"path": rng.choice(_PATHS)}
        if action == "call_external_api":
            return {"url": rng.choice(_URLS), "method": rng.choice(("GET", "POST"))}
        cents = rng.randrange(50, 500_000)
        return {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "USD"}

    def _approval(self, trace_id: str, avid: str, auth_id: str) -> dict[str, Any]:
        rng = self.rng
        approved = rng.random() < 0.7
        return {
            "trace_id": trace_id,
            "avid": avid,
            "authorization_id": auth_id,
            "approver": rng.choice(_APPROVERS),
            "approved": approved,
            "reason": "within quarterly budget" if approved else "not justified by the task",
        }

    def _tool_result(self, ids: dict[str, str]) -> dict[str, Any]:
        rng = self.rng
        return {
            **ids,
            "status": "ok" if rng.random() < 0.93 else "error",
            "duration_ms": int(rng.lognormvariate(4.5, 1.2)) + 1,
            "result_sha256": self._hex(256),
        }

    def _incident(self, trace_id: str, avid: str, denied: list[str]) -> dict[str, Any]:
        rng = self.rng
        return {
            "trace_id": trace_id,
            "avid": avid,
            "incident_id": f"INC-{self._hex(64)}",
            "severity": rng.choices(SEVERITIES, (0.1, 0.4, 0.4, 0.1))[0],
            "description": rng.choice(_INCIDENTS),
            "related_authorization_ids": denied[-5:],
        }


def remove_ledger(path: str | os.PathLike[str]) -> None:
    """Delete a ledger file with its WAL, shared-memory file and key."""
    base = os.fspath(path)
    for suffix in ("", "-wal", "-shm", ".key"):
        Path(base + suffix).unlink(missing_ok=True)


def truncate_wal(path: str | os.PathLike[str]) -> None:
    """Fold the WAL into the database file so the file alone holds the ledger."""
    conn = sqlite3.connect(os.fspath(path), isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def generate(
    path: str | os.PathLike[str],
    events: int,
    *,
    seed: int = 1,
    batch: int = 5000,
    checkpoint_interval: int = 1000,
    kinds: Callable[[TraceGenerator, int], list[Event]] | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Append ``events`` generated events to the ledger at ``path``; return the count.

    ``kinds(gen, n)`` may replace the trace mix (e.g. authorization events
    only); ``on_batch(n)`` is called after each committed batch. The ledger
    is created if missing and the WAL is folded into the file at the end.
    """
    if events < 0 or batch < 1:
        raise ValueError(f"need events >= 0 and batch >= 1, got {events} and {batch}")
    gen = TraceGenerator(seed)
    take = kinds or (lambda g, n: g.take(n))
    written = 0
    with Ledger(path, checkpoint_interval=checkpoint_interval) as ledger:
        while written < events:
            n = min(batch, events - written)
            ledger.append_batch(take(gen, n))
            written += n
            if on_batch is not None:
                on_batch(n)
    truncate_wal(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="ledger file to create (must not exist)")
    parser.add_argument("--events", type=int, default=1_000_000, help="events to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--batch", type=int, default=5000, help="events per transaction")
    parser.add_argument("--checkpoint-interval", type=int, default=1000)
    parser.add_argument("--force", action="store_true", help="replace an existing ledger")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    if args.out.exists():
        if not args.force:
            console.print(f"[red]{args.out} exists; use --force to replace it")
            return 2
        remove_ledger(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    columns = (
        TextColumn("[bold]generating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8} ev/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    start = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("gen", total=args.events, rate="-")

        def advance(n: int) -> None:
            done = progress.tasks[0].completed + n
            rate = done / (time.perf_counter() - start)
            progress.update(task, advance=n, rate=f"{rate:,.0f}")

        written = generate(
            args.out,
            args.events,
            seed=args.seed,
            batch=args.batch,
            checkpoint_interval=args.checkpoint_interval,
            on_batch=advance,
        )
    elapsed = time.perf_counter() - start
    size = args.out.stat().st_size
    console.print(
        f"wrote {written:,} events to {args.out} in {elapsed:.1f} s: "
        f"[bold]{written / elapsed:,.0f} events/s[/], {size / 2**20:,.1f} MiB "
        f"({size / max(written, 1):,.0f} bytes/event)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
