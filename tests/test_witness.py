"""The witness against real ledgers: growth, conflicts, rollbacks, forks, races, the CLI.

Everything is real: SQLite files for the ledgers and the witness state, keys
on disk, forged ledgers re-signed with the stolen log key, threads racing on
one state file, the CLI run as processes. Every refusal asserts its error type
and that the witness's trusted state did not move.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_helpers import build, event_fields, tamper

from canopy.errors import (
    KeyFileError,
    MalformedInputError,
    MalformedProofError,
    NotALedgerError,
    RollbackError,
    RootMismatchError,
    SignatureError,
    UnknownKeyError,
)
from canopy.ledger.checkpoint import Checkpoint, SignedCheckpoint
from canopy.ledger.merkle import prove_consistency
from canopy.ledger.note import generate_signer, open_note
from canopy.ledger.store import Ledger
from canopy.witness import (
    ConflictError,
    CosignatureVerifier,
    NotAWitnessStateError,
    UnknownLogError,
    Witness,
    request_for,
    verify_cosignatures,
)
from canopy.witness.service import WITNESS_KEY_ENV, AddCheckpointRequest

INTERVAL = 8
BIN = Path(sys.executable).parent


# --- helpers -------------------------------------------------------------------


def _grow(path: Path, n: int) -> None:
    """Append ``n`` events and seal a checkpoint over all of them."""
    with Ledger(path, checkpoint_interval=INTERVAL) as ledger:
        start = ledger.size()
        ledger.append_batch([("authorization", event_fields(start + i)) for i in range(n)])
        ledger.checkpoint()


def _forge(original: Path, work: Path, *, keep: int, change: int | None = None) -> None:
    """Replace ``original`` by a ledger of its first ``keep`` events (event ``change``
    altered), re-signed and re-checkpointed with the stolen key under the same origin."""
    with Ledger(original, read_only=True) as ledger:
        origin = ledger.origin
        events = [(e.kind, dict(e.fields)) for e in ledger.iter_events()][:keep]
    if change is not None:
        events[change][1]["decision"] = "ALLOW"
    kept = work / "original-copy.db"
    shutil.copy(original, kept)  # the evidence an investigator would keep
    forged = work / "forged.db"
    shutil.copy(f"{original}.key", f"{forged}.key")
    Ledger(forged).close()
    tamper(forged, "UPDATE ledger_meta SET value = ? WHERE key = 'origin'", params=(origin,))
    with Ledger(forged, checkpoint_interval=INTERVAL) as ledger:
        ledger.append_batch(events)
        ledger.checkpoint()
    shutil.copy(forged, original)
    forged.unlink()


def _ledger(path: Path) -> Ledger:
    return Ledger(path, read_only=True)


def _origin_and_vkey(path: Path) -> tuple[str, str]:
    with _ledger(path) as ledger:
        return ledger.origin, ledger.verifier.vkey


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    build(path, 20, interval=INTERVAL).close()  # checkpoints at 8 and 16
    return path


@pytest.fixture
def witness(tmp_path: Path, ledger_path: Path) -> Iterator[Witness]:
    w = Witness(tmp_path / "witness.db", name="witness.example/w1")
    origin, vkey = _origin_and_vkey(ledger_path)
    w.add_log(origin, [vkey])
    yield w
    w.close()


def _origin(ledger_path: Path) -> str:
    return _origin_and_vkey(ledger_path)[0]


# --- the protocol ----------------------------------------------------------------


def test_first_cosign_then_growth(witness: Witness, ledger_path: Path) -> None:
    origin = _origin(ledger_path)
    assert witness.latest(origin) is None
    with _ledger(ledger_path) as ledger:
        log_key = ledger.verifier
        first = witness.cosign_ledger(ledger)
    assert verify_cosignatures(first, [log_key], [witness.verifier], quorum=1) == [witness.name]
    size, root, note = witness.latest(origin)
    assert size == 16 and note == first
    assert Checkpoint.parse(open_note(first, [log_key]).text).root == root

    _grow(ledger_path, 24)  # 44 events, sealed at 24, 32, 40 and 44
    with _ledger(ledger_path) as ledger:
        second = witness.cosign_ledger(ledger)
        assert ledger.latest_checkpoint().size == 44
    assert witness.latest(origin).size == 44
    assert verify_cosignatures(second, [log_key], [witness.verifier], quorum=1)


def test_request_body_is_the_tlog_witness_one(ledger_path: Path) -> None:
    with _ledger(ledger_path) as ledger:
        body = request_for(ledger, 5).decode()
        proof = prove_consistency(5, 16, ledger.read_hashes)
        note = ledger.latest_checkpoint().note
        assert request_for(ledger, 0).decode() == "old 0\n\n" + note
        assert request_for(ledger, 16).decode() == "old 16\n\n" + note
        with pytest.raises(ValueError, match="outside"):
            request_for(ledger, 17)
    lines = [base64.b64encode(h).decode() for h in proof]
    assert body == "old 5\n" + "".join(f"{line}\n" for line in lines) + "\n" + note
    parsed = AddCheckpointRequest.parse(body)
    assert (parsed.old_size, list(parsed.proof), parsed.checkpoint) == (5, proof, note)
    assert parsed.encode().decode() == body


def test_explicit_requests_and_the_cosignature_line(witness: Witness, ledger_path: Path) -> None:
    with _ledger(ledger_path) as ledger:
        line = witness.add_checkpoint(request_for(ledger, 0, 8))
        assert line.startswith(f"— {witness.name} ") and line.endswith("\n")
        line = witness.add_checkpoint(request_for(ledger, 8, 16).decode())  # str works too
        cosigned = ledger.latest_checkpoint().note + line
        assert verify_cosignatures(cosigned, [ledger.verifier], [witness.verifier], quorum=1)
    assert witness.latest(_origin(ledger_path)).size == 16


def test_same_size_is_cosigned_again(witness: Witness, ledger_path: Path) -> None:
    with _ledger(ledger_path) as ledger:
        witness.cosign_ledger(ledger)
        before = witness.latest(ledger.origin)
        again = witness.cosign_ledger(ledger)
        assert verify_cosignatures(again, [ledger.verifier], [witness.verifier], quorum=1)
    after = witness.latest(_origin(ledger_path))
    assert (after.size, after.root) == (before.size, before.root)


def test_conflict_returns_the_latest_size(witness: Witness, ledger_path: Path) -> None:
    with _ledger(ledger_path) as ledger:
        witness.cosign_ledger(ledger)
        before = witness.latest(ledger.origin)
        for old in (0, 8):
            with pytest.raises(ConflictError) as caught:
                witness.add_checkpoint(request_for(ledger, old))
            assert caught.value.latest_size == 16
            assert "16" in str(caught.value)
    assert witness.latest(_origin(ledger_path)) == before


def test_rollback_is_refused(witness: Witness, ledger_path: Path, tmp_path: Path) -> None:
    origin = _origin(ledger_path)
    _grow(ledger_path, 20)  # 40 events
    with _ledger(ledger_path) as ledger:
        witness.cosign_ledger(ledger)
        stale = ledger.checkpoint_at(16).note
    before = witness.latest(origin)
    assert before.size == 40
    _forge(ledger_path, tmp_path, keep=24)  # truncated to 24, re-signed with the same key
    with _ledger(ledger_path) as ledger:
        assert ledger.latest_checkpoint().size == 24
        with pytest.raises(RollbackError, match="rolled back from 40 to 24"):
            witness.cosign_ledger(ledger)
        with pytest.raises(RollbackError, match="rolled back from 40 to 24"):
            witness.add_checkpoint(request_for(ledger, 0))
    # Replaying a genuine older checkpoint is refused just the same.
    with pytest.raises(RollbackError, match="rolled back from 40 to 16"):
        witness.add_checkpoint(AddCheckpointRequest(40, (), stale).encode())
    assert witness.latest(origin) == before


def test_fork_at_the_same_size_is_refused_and_kept(
    witness: Witness, ledger_path: Path, tmp_path: Path
) -> None:
    origin = _origin(ledger_path)
    with _ledger(ledger_path) as ledger:
        witness.cosign_ledger(ledger)
    before = witness.latest(origin)
    _forge(ledger_path, tmp_path, keep=16, change=5)  # rewritten history, same size 16
    with _ledger(ledger_path) as ledger:
        forged = ledger.latest_checkpoint()
        assert forged.size == 16 and forged.root != before.root
        for _ in range(2):
            with pytest.raises(RollbackError, match="fork"):
                witness.cosign_ledger(ledger)
    assert witness.latest(origin) == before
    [fork] = witness.forks(origin)  # recorded once
    assert (fork.origin, fork.size) == (origin, 16)
    assert (fork.cosigned_note, fork.offered_note) == (before.note, forged.note)
    assert witness.logs()[0].forks == 1


def test_rewrite_that_grows_fails_the_consistency_proof(
    witness: Witness, ledger_path: Path, tmp_path: Path
) -> None:
    origin = _origin(ledger_path)
    with _ledger(ledger_path) as ledger:
        witness.cosign_ledger(ledger)
    before = witness.latest(origin)
    _forge(ledger_path, tmp_path, keep=20, change=5)  # rewritten, and sealed at 20
    with _ledger(ledger_path) as ledger:
        assert ledger.latest_checkpoint().size == 20
        with pytest.raises(RootMismatchError, match="cosigned size 16"):
            witness.cosign_ledger(ledger)
    assert witness.latest(origin) == before


def test_bad_or_unknown_log_signature_is_refused(witness: Witness, ledger_path: Path) -> None:
    origin = _origin(ledger_path)
    with _ledger(ledger_path) as ledger:
        signed = ledger.checkpoint_at(16)
    head, _, sig = signed.note[:-1].rpartition(" ")
    raw = bytearray(base64.b64decode(sig))
    raw[10] ^= 0x01
    bad = f"{head} {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(SignatureError):
        witness.add_checkpoint(AddCheckpointRequest(0, (), bad).encode())
    impostor = SignedCheckpoint.sign(signed.checkpoint, generate_signer(origin))
    with pytest.raises(UnknownKeyError) as caught:
        witness.add_checkpoint(AddCheckpointRequest(0, (), impostor.note).encode())
    assert not isinstance(caught.value, UnknownLogError)
    assert witness.latest(origin) is None


def test_unknown_origin_is_refused(tmp_path: Path, ledger_path: Path) -> None:
    with Witness(tmp_path / "w.db") as witness, _ledger(ledger_path) as ledger:
        with pytest.raises(UnknownLogError, match="unknown log"):
            witness.cosign_ledger(ledger)
        assert witness.latest(ledger.origin) is None


def _proof_mutations(proof: list[bytes]) -> Iterator[tuple[str, list[bytes]]]:
    for i, digest in enumerate(proof):
        for bit in (0, 7, 100, 255):
            flipped = bytearray(digest)
            flipped[bit // 8] ^= 1 << (bit % 8)
            yield f"flip {i}.{bit}", [*proof[:i], bytes(flipped), *proof[i + 1 :]]
    yield "truncated", proof[:-1]
    yield "extended", [*proof, proof[0]]
    yield "reversed", proof[::-1]
    yield "empty", []


def test_tampered_consistency_proof_is_refused(witness: Witness, ledger_path: Path) -> None:
    origin = _origin(ledger_path)
    with _ledger(ledger_path) as ledger:
        witness.cosign_ledger(ledger)
    before = witness.latest(origin)
    _grow(ledger_path, 25)  # 45 events: a proof from 16 to 45 has several hashes
    with _ledger(ledger_path) as ledger:
        genuine = AddCheckpointRequest.parse(request_for(ledger, 16))
    assert len(genuine.proof) >= 2
    tried = 0
    for label, proof in _proof_mutations(list(genuine.proof)):
        body = AddCheckpointRequest(16, tuple(proof), genuine.checkpoint).encode()
        with pytest.raises((MalformedProofError, RootMismatchError)):
            witness.add_checkpoint(body)
        assert witness.latest(origin) == before, label
        tried += 1
    assert tried > 8
    witness.add_checkpoint(genuine.encode())
    assert witness.latest(origin).size == 45


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda note: b"", "old <size>"),
        (lambda note: b"old 01\n\n" + note, "old <size>"),
        (lambda note: b"old -1\n\n" + note, "old <size>"),
        (lambda note: b"old 8 \n\n" + note, "old <size>"),
        (lambda note: b"new 8\n\n" + note, "old <size>"),
        (lambda note: b"old 8\n" + note, "proof line 1"),
        (lambda note: b"old 0\n\n", "no checkpoint"),
        (lambda note: b"old 0\n" + b"AAAA\n\n" + note, "32-byte"),
        (lambda note: b"old 0\n" + b"A" * 42 + b"B=\n\n" + note, "non-canonical"),
        (lambda note: b"old 0\n" + (b"A" * 43 + b"=\n") * 64 + b"\n" + note, "63"),
        (lambda note: b"old 0\n\n" + note.replace(b"\n\n", b"\n"), "signature block"),
        (lambda note: b"old 0\n\n\xff" + note, "UTF-8"),
        (lambda note: b"old 17\n\n" + note, "larger than the checkpoint"),
    ],
)
def test_malformed_requests(witness: Witness, ledger_path: Path, make, message: str) -> None:
    with _ledger(ledger_path) as ledger:
        note = ledger.latest_checkpoint().note.encode()
    with pytest.raises(MalformedInputError, match=message):
        witness.add_checkpoint(make(note))
    assert witness.latest(_origin(ledger_path)) is None


def test_first_request_must_carry_no_proof(witness: Witness, ledger_path: Path) -> None:
    with _ledger(ledger_path) as ledger:
        note = ledger.latest_checkpoint().note
        proof = tuple(prove_consistency(8, 16, ledger.read_hashes))
    with pytest.raises(MalformedProofError, match="old size 0"):
        witness.add_checkpoint(AddCheckpointRequest(0, proof, note).encode())


def test_replay_hook_is_called_and_can_veto(tmp_path: Path, ledger_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    veto = {"on": False}

    def replay(origin: str, old: int, new: int) -> None:
        calls.append((origin, old, new))
        if veto["on"]:
            raise RollbackError(f"index root mismatch between {old} and {new}")

    origin, vkey = _origin_and_vkey(ledger_path)
    with Witness(tmp_path / "w.db", replay=replay) as witness:
        witness.add_log(origin, [vkey])
        with _ledger(ledger_path) as ledger:
            witness.cosign_ledger(ledger)
        _grow(ledger_path, 4)
        veto["on"] = True
        with _ledger(ledger_path) as ledger, pytest.raises(RollbackError, match="index root"):
            witness.cosign_ledger(ledger)
        assert witness.latest(origin).size == 16
    assert calls == [(origin, 0, 16), (origin, 16, 24)]


def test_verifier_quorum_over_three_witnesses(tmp_path: Path, ledger_path: Path) -> None:
    origin, vkey = _origin_and_vkey(ledger_path)
    witnesses = [Witness(tmp_path / f"w{i}.db", name=f"witness.example/w{i}") for i in range(3)]
    with _ledger(ledger_path) as ledger:
        note = ledger.latest_checkpoint().note
        for w in witnesses[:2]:
            w.add_log(origin, [vkey])
            note = note + w.add_checkpoint(request_for(ledger, 0))
        log_key = ledger.verifier
    trusted = [w.verifier for w in witnesses]
    assert verify_cosignatures(note, [log_key], trusted, quorum=2) == [
        "witness.example/w0",
        "witness.example/w1",
    ]
    with pytest.raises(UnknownKeyError):
        verify_cosignatures(note, [log_key], trusted, quorum=3)
    for w in witnesses:
        w.close()


def test_key_rotation_needs_the_new_log_key(witness: Witness, ledger_path: Path) -> None:
    origin = _origin(ledger_path)
    with _ledger(ledger_path) as ledger:
        witness.cosign_ledger(ledger)
    with Ledger(ledger_path, checkpoint_interval=INTERVAL) as ledger:
        ledger.rotate_key()
        ledger.checkpoint()
        new_key = ledger.verifier
    with _ledger(ledger_path) as ledger:
        with pytest.raises(UnknownKeyError):
            witness.cosign_ledger(ledger)
        witness.add_log(origin, [new_key.vkey])
        witness.cosign_ledger(ledger)
    assert witness.latest(origin).size == 21
    assert len(witness.logs()[0].log_keys) == 2


# --- state, keys, files -------------------------------------------------------------


def test_state_survives_reopen(tmp_path: Path, ledger_path: Path) -> None:
    origin, vkey = _origin_and_vkey(ledger_path)
    state = tmp_path / "w.db"
    with Witness(state) as witness:
        witness.add_log(origin, [vkey])
        with _ledger(ledger_path) as ledger:
            witness.cosign_ledger(ledger)
        before, verifier = witness.latest(origin), witness.verifier
    with Witness(state, create=False) as witness:
        assert witness.latest(origin) == before
        assert witness.verifier == verifier
        assert [log.origin for log in witness.logs()] == [origin]
        _grow(ledger_path, 8)
        with _ledger(ledger_path) as ledger:
            note = witness.cosign_ledger(ledger)
            assert verify_cosignatures(note, [ledger.verifier], [verifier], quorum=1)
    with Witness(state) as witness:
        assert witness.latest(origin).size == 28


def _race(witnesses: list[Witness], body: bytes) -> list[str | Exception]:
    barrier = threading.Barrier(len(witnesses))
    results: list[str | Exception] = [RuntimeError("did not run")] * len(witnesses)

    def submit(i: int) -> None:
        barrier.wait()
        try:
            results[i] = witnesses[i].add_checkpoint(body)
        except Exception as e:
            results[i] = e

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(witnesses))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.parametrize("shared", [False, True], ids=["own-connections", "shared-object"])
def test_concurrent_requests_from_the_same_old_size(
    tmp_path: Path, ledger_path: Path, shared: bool
) -> None:
    origin, vkey = _origin_and_vkey(ledger_path)
    with _ledger(ledger_path) as ledger:
        first = request_for(ledger, 0, 8)
        body = request_for(ledger, 8, 16)
    for round_ in range(5):
        state = tmp_path / f"race{round_}.db"
        with Witness(state, key_path=tmp_path / "race.key") as setup:
            setup.add_log(origin, [vkey])
            setup.add_checkpoint(first)
        count = 4
        if shared:
            one = Witness(state, key_path=tmp_path / "race.key")
            witnesses = [one] * count
        else:
            witnesses = [Witness(state, key_path=tmp_path / "race.key") for _ in range(count)]
        results = _race(witnesses, body)
        for w in set(witnesses):
            w.close()
        wins = [r for r in results if isinstance(r, str)]
        losses = [r for r in results if not isinstance(r, str)]
        assert len(wins) == 1, results
        assert all(isinstance(e, ConflictError) and e.latest_size == 16 for e in losses), results
        with Witness(state, key_path=tmp_path / "race.key") as check:
            assert check.latest(origin).size == 16
            assert check.latest(origin).note.endswith(wins[0])


def test_key_file_is_private_and_checked(tmp_path: Path) -> None:
    state = tmp_path / "w.db"
    Witness(state, name="witness.example/w1").close()
    key = Path(f"{state}.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.read_text().startswith("PRIVATE+KEY+witness.example/w1+")
    key.chmod(0o644)
    with pytest.raises(KeyFileError, match="group or others"):
        Witness(state)
    key.chmod(0o600)
    with pytest.raises(ValueError, match="named"):
        Witness(state, name="witness.example/other")
    other = tmp_path / "other.key"
    Witness(tmp_path / "w2.db", key_path=other).close()
    with pytest.raises(KeyFileError, match="is not the key"):
        Witness(state, key_path=other)


def test_key_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "keys" / "witness.key"
    key.parent.mkdir()
    monkeypatch.setenv(WITNESS_KEY_ENV, str(key))
    with Witness(tmp_path / "w.db") as witness:
        assert witness.key_path == key
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not Path(f"{tmp_path / 'w.db'}.key").exists()


def test_ledger_and_witness_files_are_not_confused(tmp_path: Path, ledger_path: Path) -> None:
    ledger_key = Path(f"{ledger_path}.key").read_bytes()
    with pytest.raises(NotAWitnessStateError, match="is a Canopy ledger"):
        Witness(ledger_path)
    assert Path(f"{ledger_path}.key").read_bytes() == ledger_key  # never touched
    state = tmp_path / "w.db"
    Witness(state).close()
    with pytest.raises(NotALedgerError, match="not a Canopy ledger"):
        Ledger(state, read_only=True)
    with pytest.raises(NotALedgerError, match="not a Canopy ledger"):
        Ledger(state, key_path=tmp_path / "l.key")
    junk = tmp_path / "junk.db"
    junk.write_text("hello\n")
    with pytest.raises(NotAWitnessStateError, match="not a Canopy witness state"):
        Witness(junk)
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(NotAWitnessStateError, match="empty"):
        Witness(empty)
    with pytest.raises(NotAWitnessStateError, match="does not exist"):
        Witness(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_schema_version_is_checked(tmp_path: Path) -> None:
    state = tmp_path / "w.db"
    Witness(state).close()
    tamper(state, "PRAGMA user_version = 2")
    with pytest.raises(NotAWitnessStateError, match="schema version 2"):
        Witness(state)


def test_add_log_validates(tmp_path: Path, ledger_path: Path) -> None:
    origin, vkey = _origin_and_vkey(ledger_path)
    with Witness(tmp_path / "w.db") as witness:
        with pytest.raises(ValueError, match="at least one"):
            witness.add_log(origin, [])
        with pytest.raises(ValueError, match="origin"):
            witness.add_log("two\nlines", [vkey])
        with pytest.raises(MalformedInputError):
            witness.add_log(origin, [witness.verifier.vkey])  # a witness key is not a log key
        witness.add_log(origin, [vkey])
        witness.add_log(origin, [vkey])  # idempotent
        [status] = witness.logs()
        assert (status.origin, status.size, status.forks) == (origin, None, 0)
        assert [k.vkey for k in status.log_keys] == [vkey]


# --- the CLI, as processes -------------------------------------------------------------


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    found = shutil.which("canopy", path=str(BIN)) or shutil.which("canopy")
    assert found, "canopy is not installed (pip install -e .)"
    env = {k: v for k, v in os.environ.items() if k != WITNESS_KEY_ENV}
    env["COLUMNS"] = "200"
    command = [found, *(str(a) for a in args)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_cli_cosigns_growth_and_refuses_a_rollback(tmp_path: Path, ledger_path: Path) -> None:
    state = tmp_path / "witness.db"
    init = run("witness", "init", state, "--name", "witness.example/w1")
    assert init.returncode == 0, init.stderr
    vkey = init.stdout.strip()
    assert vkey.startswith("witness.example/w1+")
    assert stat.S_IMODE(Path(f"{state}.key").stat().st_mode) == 0o600
    assert run("witness", "key", state).stdout.strip() == vkey
    assert run("witness", "init", state).returncode == 2

    origin, log_vkey = _origin_and_vkey(ledger_path)
    added = run("witness", "add-log", state, origin, "--log-key", log_vkey)
    assert added.returncode == 0, added.stderr

    first = run("witness", "add-checkpoint", state, "--ledger", ledger_path)
    assert first.returncode == 0, first.stderr
    with _ledger(ledger_path) as ledger:
        log_key = ledger.verifier
    witness_key = CosignatureVerifier.from_vkey(vkey)
    assert verify_cosignatures(first.stdout, [log_key], [witness_key], quorum=1)
    assert first.stdout.startswith(f"{origin}\n16\n")

    _grow(ledger_path, 24)  # 44
    out = tmp_path / "cosigned.txt"
    second = run("witness", "add-checkpoint", state, "--ledger", ledger_path, "--out", out)
    assert second.returncode == 0, second.stderr
    assert out.read_text().startswith(f"{origin}\n44\n")
    assert verify_cosignatures(out.read_text(), [log_key], [witness_key], quorum=1)

    status = run("witness", "status", state)
    assert status.returncode == 0 and origin in status.stdout and "44" in status.stdout
    doc = json.loads(run("witness", "status", state, "--json").stdout)
    assert doc["vkey"] == vkey and doc["logs"][0]["size"] == 44

    _forge(ledger_path, tmp_path, keep=24)
    refused = run("witness", "add-checkpoint", state, "--ledger", ledger_path)
    assert refused.returncode == 1
    assert "refused:" in refused.stderr and "rolled back from 44 to 24" in refused.stderr
    assert refused.stdout == ""
    assert json.loads(run("witness", "status", state, "--json").stdout)["logs"][0]["size"] == 44


def test_cli_requests_conflicts_and_usage(tmp_path: Path, ledger_path: Path) -> None:
    state = tmp_path / "witness.db"
    assert run("witness", "init", state).returncode == 0
    unknown = run("witness", "add-checkpoint", state, "--ledger", ledger_path)
    assert unknown.returncode == 1 and "unknown log" in unknown.stderr
    trusted = run("witness", "add-checkpoint", state, "--ledger", ledger_path, "--trust-ledger-key")
    assert trusted.returncode == 0, trusted.stderr
    assert "genesis key" in trusted.stderr

    request = tmp_path / "request.txt"
    with _ledger(ledger_path) as ledger:
        request.write_bytes(request_for(ledger, 8))
    conflict = run("witness", "add-checkpoint", state, "--request", request)
    assert conflict.returncode == 1
    assert "refused:" in conflict.stderr and "latest cosigned size: 16" in conflict.stderr
    with _ledger(ledger_path) as ledger:
        request.write_bytes(request_for(ledger, 16))
    line = run("witness", "add-checkpoint", state, "--request", request)
    assert line.returncode == 0, line.stderr
    assert line.stdout.startswith("— canopy.witness/") and line.stdout.count("\n") == 1

    request.write_bytes(b"old 01\n\n")
    assert run("witness", "add-checkpoint", state, "--request", request).returncode == 2
    both = run("witness", "add-checkpoint", state, "--request", request, "--ledger", ledger_path)
    assert both.returncode == 2
    assert run("witness", "add-checkpoint", state).returncode == 2
    missing = tmp_path / "nope.db"
    assert run("witness", "add-checkpoint", missing, "--request", request).returncode == 2
    assert not missing.exists()
    assert run("witness", "status", ledger_path).returncode == 2


def test_replay_refuses_a_forged_index_and_edited_events(tmp_path: Path) -> None:
    """A witness reading the ledger rebuilds new events and recomputes index roots."""

    from ledger_helpers import build, tamper

    from canopy.errors import VerificationError
    from canopy.ledger import keyindex

    ledger = build(tmp_path / "l.db", 20)
    ledger.checkpoint()
    witness = Witness(tmp_path / "w.db")
    witness.add_log(ledger.origin, [ledger.verifier])
    witness.cosign_ledger(ledger)  # honest growth passes the replay
    keyindex.commit_index(ledger)
    ledger.checkpoint()
    witness.cosign_ledger(ledger)  # an honest index commitment passes too

    # The owner commits an index that hides one trace.
    from test_absence import forge_index_commitment

    forge_index_commitment(ledger, "t:trace-1")
    with pytest.raises(VerificationError, match="key index"):
        witness.cosign_ledger(ledger)
    assert witness.cosign_ledger(ledger, replay=False)  # without replay it would have cosigned

    # New events whose stored fields were edited after signing do not rebuild the tree.
    other = build(tmp_path / "o.db", 10)
    other.checkpoint()
    second = Witness(tmp_path / "w2.db")
    second.add_log(other.origin, [other.verifier])
    second.cosign_ledger(other)
    other.append_batch([("authorization", {"trace_id": f"n{i}"}) for i in range(5)])
    other.checkpoint()
    tamper(other.path, "UPDATE events SET trace_id = 'edited' WHERE seq = 12")
    with pytest.raises(VerificationError):
        second.cosign_ledger(other)
