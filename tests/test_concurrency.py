"""Concurrent, crashing and failing writers against a real ledger file.

Threads (one shared ``Ledger`` or one each) and processes (through the path, a
symlink, or a path with redundant components, racing even to create the file)
must append with no gap, duplicate or fork; an acknowledged append survives
SIGKILL; a write that cannot be made durable raises ``LedgerWriteError`` and
adds nothing; a hard-linked ledger is refused. Real SQLite files, real keys,
real subprocesses: nothing is mocked.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from canopy.errors import LedgerError, LedgerWriteError
from canopy.ledger.keys import SIGNING_KEY_ENV
from canopy.ledger.note import generate_signer
from canopy.ledger.store import AppendReceipt, Ledger, StoredEvent
from canopy.ledger.verify import verify_ledger

KIND = "concurrency_test"
INTERVAL = 64  # small, so checkpoints are sealed while writers race

#: A writer process. argv[1] is JSON: path, name, count (None: until killed),
#: batch (0: one append at a time), interval, go (a file to wait for, or None).
#: Prints one JSON line per acknowledged event, flushed as soon as it returns.
WORKER = r"""
import json, os, sys, time
from canopy.ledger.store import Ledger

args = json.loads(sys.argv[1])
print(json.dumps({"ready": os.getpid()}), flush=True)
while args["go"] and not os.path.exists(args["go"]):
    time.sleep(0.001)
ledger = Ledger(args["path"], checkpoint_interval=args["interval"])
print(json.dumps({"origin": ledger.origin}), flush=True)


def ack(receipt, marker):
    line = {"seq": receipt.seq, "leaf": receipt.leaf_hash.hex(), "key_id": receipt.key_id,
            "marker": marker}
    print(json.dumps(line), flush=True)


name, count, batch, i = args["name"], args["count"], args["batch"], 0
while count is None or i < count:
    if batch:
        markers = [f"{name}/{i + k}" for k in range(batch)]
        print(json.dumps({"batch_start": i}), flush=True)
        receipts = ledger.append_batch(
            [("concurrency_test", {"marker": m, "trace_id": name}) for m in markers]
        )
        for receipt, marker in zip(receipts, markers):
            ack(receipt, marker)
        i += batch
    else:
        marker = f"{name}/{i}"
        ack(ledger.append("concurrency_test", {"marker": marker, "trace_id": name}), marker)
        i += 1
"""


@pytest.fixture(autouse=True)
def _key_beside_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys live beside each test's ledger unless a test sets the variable itself."""
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)


_SPAWNED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _reap_workers() -> Iterator[None]:
    """Kill any worker a failed test left behind (e.g. still waiting for its go file)."""
    yield
    while _SPAWNED:
        proc = _SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def fields(name: str, i: int) -> dict[str, Any]:
    return {"marker": f"{name}/{i}", "trace_id": name, "payload": {"i": i}}


def spawn(
    path: Path | str,
    name: str,
    *,
    count: int | None,
    batch: int = 0,
    go: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    args = {
        "path": os.fspath(path),
        "name": name,
        "count": count,
        "batch": batch,
        "interval": INTERVAL,
        "go": os.fspath(go) if go else None,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, json.dumps(args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    _SPAWNED.append(proc)
    return proc


def read_message(proc: subprocess.Popen[str]) -> dict[str, Any]:
    """The worker's next complete JSON line; fails (with its stderr) if it died."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.endswith("\n"):
        proc.kill()
        _, err = proc.communicate(timeout=10)
        pytest.fail(f"worker {proc.pid} exited early (rc {proc.returncode}):\n{err}")
    return json.loads(line)


def raw_seqs(path: Path) -> list[int]:
    """Stored sequence numbers read with plain sqlite3, not through Ledger."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [seq for (seq,) in conn.execute("SELECT seq FROM events ORDER BY seq")]
    finally:
        conn.close()


def assert_complete(path: Path, markers: list[str]) -> list[StoredEvent]:
    """The ledger holds exactly ``markers``, once each, at seqs 0..n-1, and verifies."""
    report = verify_ledger(path)
    assert report.ok, [str(p) for p in report.problems]
    assert raw_seqs(path) == list(range(len(markers)))
    with Ledger(path, read_only=True) as ledger:
        assert ledger.size() == len(markers)
        events = list(ledger.iter_events())
        checkpoint_sizes = [c.size for c in ledger.checkpoints()]
    assert [e.seq for e in events] == list(range(len(markers)))
    counts = Counter(e.fields["marker"] for e in events)
    assert counts == Counter(markers)
    assert max(counts.values()) == 1
    # Every interval boundary crossed was sealed by exactly one writer.
    sealed = set(range(INTERVAL, len(markers) + 1, INTERVAL))
    assert sealed <= set(checkpoint_sizes)
    assert report.checkpoints == len(checkpoint_sizes) and max(checkpoint_sizes) <= len(markers)
    return events


# --- 1. threads --------------------------------------------------------------

THREADS = 8
PER_THREAD = 200


@pytest.mark.parametrize("sharing", ["one shared Ledger", "one Ledger per thread"])
def test_threads_append_without_gap_or_duplicate(tmp_path: Path, sharing: str) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path, checkpoint_interval=INTERVAL).close()
    shared = (
        Ledger(path, checkpoint_interval=INTERVAL) if sharing.startswith("one shared") else None
    )
    receipts: dict[str, list[AppendReceipt]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def writer(name: str) -> None:
        try:
            ledger = shared or Ledger(path, checkpoint_interval=INTERVAL)
            mine = receipts.setdefault(name, [])
            start.wait()
            for i in range(PER_THREAD):
                mine.append(ledger.append(KIND, fields(name, i)))
                if i % 50 == 49:
                    # A checkpoint sealed after an acknowledgement covers that event.
                    assert ledger.checkpoint().size >= mine[-1].seq + 1
            if shared is None:
                ledger.close()
        except BaseException as e:  # reported by the main thread
            errors.append(e)
            start.abort()

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    if shared is not None:
        shared.close()
    assert not errors, errors

    markers = [f"t{n}/{i}" for n in range(THREADS) for i in range(PER_THREAD)]
    events = assert_complete(path, markers)
    by_marker = {e.fields["marker"]: e for e in events}
    for name, mine in receipts.items():
        seqs = [r.seq for r in mine]
        assert seqs == sorted(seqs) and len(set(seqs)) == PER_THREAD
        for i, receipt in enumerate(mine):
            stored = by_marker[f"{name}/{i}"]
            assert (stored.seq, stored.leaf_hash, stored.signature) == (
                receipt.seq,
                receipt.leaf_hash,
                receipt.signature,
            )
    sealed_by_appends = [r.checkpoint.size for m in receipts.values() for r in m if r.checkpoint]
    assert sorted(sealed_by_appends) == list(range(INTERVAL, len(markers) + 1, INTERVAL))


# --- 2. processes, racing to create the ledger -------------------------------

PROCESSES = 4
PER_PROCESS = 150


@pytest.mark.parametrize("key_location", ["beside the ledger", "CANOPY_SIGNING_KEY"])
def test_processes_race_to_create_and_append(tmp_path: Path, key_location: str) -> None:
    home = tmp_path / "dir"
    (home / "sub").mkdir(parents=True)
    path = home / "ledger.db"  # does not exist yet: creation itself races
    (tmp_path / "links").mkdir()
    absolute_link = tmp_path / "links" / "absolute.db"
    absolute_link.symlink_to(path)
    relative_link = tmp_path / "relative.db"
    relative_link.symlink_to(Path("dir") / "ledger.db")
    routes = [
        str(path),
        str(home) + "/./sub/../ledger.db",
        str(absolute_link),
        str(relative_link),
    ]
    assert not path.exists() and all(os.path.realpath(r) == str(path) for r in routes)

    env = dict(os.environ)
    env.pop(SIGNING_KEY_ENV, None)
    if key_location == "CANOPY_SIGNING_KEY":
        (tmp_path / "keys").mkdir()
        env[SIGNING_KEY_ENV] = str(tmp_path / "keys" / "signing.key")

    go = tmp_path / "go"
    procs = [
        spawn(route, f"p{n}", count=PER_PROCESS, go=go, env=env) for n, route in enumerate(routes)
    ]
    for proc in procs:
        assert "ready" in read_message(proc)  # imported and waiting: release all at once
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        outputs.append((proc.returncode, out, err))
    failed = [
        f"{route}: rc {rc}\n{err.strip().splitlines()[-1] if err.strip() else ''}"
        for route, (rc, _, err) in zip(routes, outputs, strict=True)
        if rc != 0
    ]
    assert not failed, "writers failed:\n" + "\n".join(failed)

    origins, acks = set(), []
    for _, out, _ in outputs:
        for line in out.splitlines():
            message = json.loads(line)
            if "origin" in message:
                origins.add(message["origin"])
            elif "seq" in message:
                acks.append(message)
    markers = [f"p{n}/{i}" for n in range(PROCESSES) for i in range(PER_PROCESS)]
    events = assert_complete(path, markers)
    assert sorted(a["marker"] for a in acks) == sorted(markers)
    for a in acks:  # each reported receipt is the event stored at that seq
        assert events[a["seq"]].fields["marker"] == a["marker"]
        assert events[a["seq"]].leaf_hash.hex() == a["leaf"]
    for n in range(PROCESSES):
        seqs = [a["seq"] for a in acks if a["marker"].startswith(f"p{n}/")]
        assert seqs == sorted(seqs)

    # One ledger was created, with one key, and every process signed with it.
    with Ledger(path, read_only=True) as ledger:
        assert origins == {ledger.origin}
        schedule = ledger.key_schedule()
        genesis = ledger.genesis_verifier
    assert [(seq, v.vkey) for seq, v in schedule] == [(0, genesis.vkey)]
    assert {a["key_id"] for a in acks} == {genesis.key_id}
    key_files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*key"))
    if key_location == "CANOPY_SIGNING_KEY":
        assert key_files == [Path("keys/signing.key")]
    else:
        assert key_files == [Path("dir/ledger.db.key")]
    assert not list(tmp_path.rglob("*.creating")), "a creation temp file was left behind"


def test_symlink_opens_the_ledger_with_the_ledgers_own_key(tmp_path: Path) -> None:
    """Deterministic core of the process race above: the key belongs to the real file."""
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.append(KIND, fields("s", 0))
        genesis = ledger.genesis_verifier
    (tmp_path / "links").mkdir()
    link = tmp_path / "links" / "current.db"
    link.symlink_to(path)
    with Ledger(link) as ledger:  # today: KeyFileError, links/current.db.key does not exist
        assert ledger.path == path
        assert ledger.append(KIND, fields("s", 1)).key_id == genesis.key_id
    assert not (tmp_path / "links" / "current.db.key").exists()
    assert verify_ledger(path).ok


def test_key_file_still_being_written_by_another_creator_is_waited_for(tmp_path: Path) -> None:
    """A racing creator's key file exists, empty, between its O_EXCL open and its write."""
    path = tmp_path / "ledger.db"
    signer = generate_signer("canopy.ledger/other-creator")
    fd = os.open(tmp_path / "ledger.db.key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def finish_writing() -> None:
        time.sleep(0.05)
        os.write(fd, (signer.skey + "\n").encode("ascii"))
        os.close(fd)

    writer = threading.Thread(target=finish_writing)
    writer.start()
    try:
        with Ledger(path) as ledger:  # today: KeyFileError, "signing key ... is malformed"
            assert ledger.genesis_verifier.vkey == signer.verifier.vkey
            assert ledger.append(KIND, fields("k", 0)).key_id == signer.verifier.key_id
    finally:
        writer.join()
    assert verify_ledger(path).ok


# --- 3. crash safety -----------------------------------------------------------

BATCH = 500


@pytest.mark.parametrize(
    "plan",
    [
        # (acknowledgements to read before the kill, extra delay, batch size)
        [(120, 0.0, 0), (260, 0.003, 0), (333, 0.0, 0), (180, 0.01, 0), (400, 0.0005, 0)],
        [(2 * BATCH, 0.005, BATCH), (BATCH, 0.015, BATCH)],
    ],
    ids=["single appends", "append_batch of 500"],
)
@pytest.mark.parametrize("durability", ["fsync", "commit"])
def test_acknowledged_appends_survive_sigkill(
    tmp_path: Path, plan: list[tuple[int, float, int]], durability: str
) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path, checkpoint_interval=INTERVAL).close()
    acked: dict[int, str] = {}
    base = 0
    env = {**os.environ, "CANOPY_DURABILITY": durability}
    for run, (kill_after, delay, batch) in enumerate(plan):
        proc = spawn(path, f"run{run}", count=None, batch=batch, env=env)
        seen = batches_started = 0
        while True:
            message = read_message(proc)
            if "seq" in message:
                acked[message["seq"]] = message["leaf"]
                seen += 1
            if "batch_start" in message:
                batches_started += 1
            if seen >= kill_after and (not batch or batches_started > kill_after // batch):
                break  # for batches: the next batch has started
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        for line in out.splitlines(keepends=True):  # acknowledged before it died
            if line.endswith("\n") and '"seq"' in line:
                message = json.loads(line)
                acked[message["seq"]] = message["leaf"]

        report = verify_ledger(path)
        assert report.ok, [str(p) for p in report.problems]
        with Ledger(path, checkpoint_interval=INTERVAL) as ledger:
            size = ledger.size()
            assert raw_seqs(path) == list(range(size))
            assert size > max(acked)
            for seq, leaf in acked.items():
                assert ledger.get(seq).leaf_hash.hex() == leaf, f"acknowledged event {seq} changed"
            if batch:
                assert (size - base) % batch == 0, "a batch was partly written"
            assert ledger.append(KIND, fields("after", run)).seq == size
            base = size + 1
    assert verify_ledger(path).ok


# --- 4. fail closed ------------------------------------------------------------


def test_append_fails_closed_while_another_connection_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path, checkpoint_interval=4)
    ledger.append_batch([(KIND, fields("before", i)) for i in range(3)])
    ledger._conn.execute("PRAGMA busy_timeout = 100")
    # Root ignores file modes, so block writes the way another writer would.
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for attempt in (
            lambda: ledger.append(KIND, fields("blocked", 0)),
            lambda: ledger.append_batch([(KIND, fields("blocked", i)) for i in range(1, 9)]),
            ledger.checkpoint,
        ):
            with pytest.raises(LedgerWriteError):
                attempt()
            assert ledger.size() == 3
            assert not ledger._conn.in_transaction
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert raw_seqs(path) == [0, 1, 2]
    assert ledger.checkpoints() == []

    receipt = ledger.append(KIND, fields("after", 0))  # seals the checkpoint at 4
    assert receipt.seq == 3 and receipt.checkpoint is not None
    assert receipt.checkpoint.size == 4 and receipt.checkpoint.root == ledger.root(4)
    ledger.close()
    report = verify_ledger(path)
    assert report.ok and report.size == 4, [str(p) for p in report.problems]
    with Ledger(path, read_only=True) as reader:
        markers = [e.fields["marker"] for e in reader.iter_events()]
    assert markers == ["before/0", "before/1", "before/2", "after/0"]


def test_read_only_ledger_refuses_every_write(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.append(KIND, fields("w", 0))
    before = path.read_bytes()
    with Ledger(path, read_only=True) as reader:
        with pytest.raises(LedgerWriteError):
            reader.append(KIND, fields("w", 1))
        with pytest.raises(LedgerWriteError):
            reader.append_batch([(KIND, fields("w", 2))])
        with pytest.raises(LedgerWriteError):
            reader.checkpoint()
        with pytest.raises(LedgerWriteError):
            reader.rotate_key()
        assert reader.size() == 1
    assert path.read_bytes() == before
    assert verify_ledger(path).ok


# --- 5. hard links ---------------------------------------------------------------


def test_hard_linked_ledger_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        ledger.append(KIND, fields("h", 0))
    alias = tmp_path / "alias.db"
    os.link(path, alias)
    # SQLite names the WAL and shared-memory files after the path it was given
    # (ledger.db-wal vs alias.db-wal), so writers through two hard links would
    # keep two WALs over one database file and corrupt it. Symlinks are safe:
    # the ledger resolves them with realpath to one name.
    for route in (path, alias):
        for read_only in (False, True):
            with pytest.raises(LedgerError, match="hard links"):
                Ledger(route, read_only=read_only)
    assert not (tmp_path / "alias.db-wal").exists()
    alias.unlink()
    with Ledger(path) as ledger:
        assert ledger.size() == 1
        assert ledger.append(KIND, fields("h", 1)).seq == 1
    assert verify_ledger(path).ok


def _threads_append(
    ledger: Ledger, threads: int, each: int
) -> tuple[list[Any], list[BaseException]]:
    receipts: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        for i in range(each):
            try:
                receipts.append(ledger.append("execution", {"thread": t, "i": i}))
            except BaseException as e:  # collected for the assertions
                errors.append(e)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return receipts, errors


def test_concurrent_appends_share_transactions(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "group.db", checkpoint_interval=64)
    groups: list[int] = []
    commit = ledger._append

    def counting(prepared: list[Any], *args: Any, **kwargs: Any) -> list[AppendReceipt]:
        groups.append(len(prepared))
        return commit(prepared, *args, **kwargs)

    ledger._append = counting  # type: ignore[method-assign]
    receipts, errors = _threads_append(ledger, threads=8, each=40)
    assert not errors
    assert sorted(r.seq for r in receipts) == list(range(320))
    assert sum(groups) == 320
    assert max(groups) > 1, "no commit carried more than one event"
    assert len(groups) < 320
    ledger.close()
    report = verify_ledger(tmp_path / "group.db")
    assert report.ok, report.problems
    assert report.checkpoints == 5  # sealed at 64, 128, ... even inside groups


def test_a_failed_group_commit_fails_every_event_in_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "fail.db")
    commit = ledger._append
    calls = 0

    def failing_first(prepared: list[Any], *args: Any, **kwargs: Any) -> list[AppendReceipt]:
        nonlocal calls
        calls += 1
        if calls == 1:
            time.sleep(0.2)  # the other threads queue behind this commit
            raise LedgerWriteError("disk full (injected)")
        return commit(prepared, *args, **kwargs)

    ledger._append = failing_first  # type: ignore[method-assign]
    receipts, errors = _threads_append(ledger, threads=4, each=1)
    assert errors and all(isinstance(e, LedgerWriteError) for e in errors)
    assert len(receipts) + len(errors) == 4
    assert ledger.size() == len(receipts)  # a failed event is never written
    assert sorted(r.seq for r in receipts) == list(range(len(receipts)))
