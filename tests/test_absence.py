"""Negative proofs: sound (nothing present can be proven absent, any change breaks a
proof) and complete (anything truly absent in the window can be proven)."""

from __future__ import annotations

import base64
import copy
import itertools
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canopy.errors import MalformedInputError, VerificationError
from canopy.ledger.absence import (
    AbsenceQuery,
    EventsPresentError,
    build_window_proof,
    verify_absence_proof,
)
from canopy.ledger.note import generate_signer
from canopy.ledger.store import Ledger


def _event(i: int, rng: random.Random) -> tuple[str, dict]:
    kind = rng.choice(["authorization", "authorization", "execution", "tool_result", "approval"])
    fields = {
        "trace_id": f"trace-{rng.randrange(6)}",
        "avid": f"AVID-{rng.randrange(3):032x}",
        "authorization_id": f"auth-{rng.randrange(12)}",
    }
    if kind == "authorization":
        fields["action_type"] = rng.choice(["execute_shell", "spend_money"])
        fields["decision"] = rng.choice(["ALLOW", "DENY"])
        fields["payload"] = (
            {"command": rng.choice(["ls", "rm -rf /tmp/x", "git push"])}
            if fields["action_type"] == "execute_shell"
            else {"amount": str(rng.randrange(100)), "recipient": f"acct_{rng.randrange(4)}"}
        )
    return kind, fields


def make_ledger(path: Path, n: int, seed: int, interval: int = 7) -> Ledger:
    rng = random.Random(seed)
    ledger = Ledger(path, checkpoint_interval=interval)
    ledger.append_batch([_event(i, rng) for i in range(n)])
    ledger.checkpoint()
    return ledger


def naive_matches(ledger: Ledger, query: AbsenceQuery, start: int, end: int) -> list[int]:
    return [e.seq for e in ledger.iter_events(start, end) if query.matches_stored(e)]


QUERIES = [
    lambda r: AbsenceQuery(trace_id=f"trace-{r.randrange(8)}"),
    lambda r: AbsenceQuery(avid=f"AVID-{r.randrange(5):032x}"),
    lambda r: AbsenceQuery(
        authorization_id=f"auth-{r.randrange(14)}",
        kind=r.choice(["execution", "tool_result", "approval", "any"]),
    ),
    lambda r: AbsenceQuery(action_type="execute_shell", payload_contains="rm -rf"),
    lambda r: AbsenceQuery(action_type="spend_money", payload_regex=r'"recipient":"acct_[23]"'),
]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 40), which=st.integers(0, len(QUERIES) - 1))
def test_sound_and_complete_on_random_ledgers(
    tmp_path_factory: pytest.TempPathFactory, seed: int, n: int, which: int
) -> None:
    rng = random.Random(seed)
    ledger = make_ledger(tmp_path_factory.mktemp("abs") / "l.db", n, seed)
    sizes = [c.size for c in ledger.checkpoints()]
    end = rng.choice(sizes)
    start = rng.choice([0, *[s for s in sizes if s <= end]])
    query = QUERIES[which](rng)
    present = naive_matches(ledger, query, start, end)
    if present:
        with pytest.raises(EventsPresentError) as info:
            build_window_proof(ledger, query, start=start, end=end)
        assert info.value.seqs == present
    else:
        proof = build_window_proof(ledger, query, start=start, end=end)
        result = verify_absence_proof(json.loads(json.dumps(proof)), [ledger.verifier])
        assert (result.start, result.end) == (start, end)
        assert result.query == query
    ledger.close()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ledger, dict]:
    ledger = make_ledger(tmp_path_factory.mktemp("sample") / "l.db", 30, seed=5)
    start = ledger.checkpoints()[1].size
    proof = build_window_proof(ledger, AbsenceQuery(trace_id="trace-99"), start=start)
    return ledger, proof


def _mutations(proof: dict) -> list[dict]:
    """Single changes: one bit of every hash/digest/salt, every number, every string."""
    out = []

    def flip_b64(text: str, bit: int) -> str:
        raw = bytearray(base64.b64decode(text))
        raw[bit // 8 % len(raw)] ^= 1 << (bit % 8)
        return base64.b64encode(bytes(raw)).decode()

    for i in range(len(proof["compact_range"])):
        for bit in (0, 77, 255):
            m = copy.deepcopy(proof)
            m["compact_range"][i] = flip_b64(m["compact_range"][i], bit)
            out.append(m)
    for i, event in enumerate(proof["events"]):
        for name in event["hidden"]:
            m = copy.deepcopy(proof)
            m["events"][i]["hidden"][name] = flip_b64(event["hidden"][name], i * 7 + 3)
            out.append(m)
        for name in event["revealed"]:
            m = copy.deepcopy(proof)
            m["events"][i]["revealed"][name]["salt"] = flip_b64(
                event["revealed"][name]["salt"], i + 1
            )
            out.append(m)
            m = copy.deepcopy(proof)
            value = m["events"][i]["revealed"][name]["value"]
            m["events"][i]["revealed"][name]["value"] = value + "x"
            out.append(m)
        for key, delta in (("seq", 1), ("seq", -1)):
            m = copy.deepcopy(proof)
            m["events"][i][key] += delta
            out.append(m)
        m = copy.deepcopy(proof)
        m["events"][i]["kind"] = "incident" if event["kind"] != "incident" else "approval"
        out.append(m)
        m = copy.deepcopy(proof)
        m["events"][i]["ts"] = m["events"][i]["ts"][:-2] + (
            "0Z" if event["ts"][-2] != "0" else "1Z"
        )
        out.append(m)
    for key in ("from", "to"):
        for delta in (-1, 1):
            m = copy.deepcopy(proof)
            m["window"][key] += delta
            out.append(m)
    for change in (
        lambda m: m["query"].update(trace_id="trace-1"),
        lambda m: m.update(statement=m["statement"].replace("trace-99", "trace-98")),
        lambda m: m.update(origin=m["origin"] + "x"),
        lambda m: m.update(checkpoint=m["checkpoint"].replace("\n30\n", "\n29\n")),
        lambda m: m["events"].pop(),
        lambda m: m["events"].pop(0),
        lambda m: m["events"].reverse(),
        lambda m: m["compact_range"].pop(),
    ):
        m = copy.deepcopy(proof)
        change(m)
        out.append(m)
    sig_line = proof["checkpoint"].rstrip("\n").split("\n")[-1]
    b64 = sig_line.rsplit(" ", 1)[1]
    for bit in (40, 300, 511):
        m = copy.deepcopy(proof)
        m["checkpoint"] = m["checkpoint"].replace(b64, flip_b64(b64, bit))
        out.append(m)
    return out


def test_every_single_change_breaks_the_proof(sample: tuple[Ledger, dict]) -> None:
    ledger, proof = sample
    verify_absence_proof(proof, [ledger.verifier])
    mutations = _mutations(proof)
    assert len(mutations) > 150
    for mutated in mutations:
        with pytest.raises(VerificationError):
            verify_absence_proof(mutated, [ledger.verifier])


def test_wrong_key_is_invalid(sample: tuple[Ledger, dict]) -> None:
    _, proof = sample
    with pytest.raises(VerificationError):
        verify_absence_proof(proof, [generate_signer("canopy.ledger/other").verifier])


def test_proofs_disclose_only_what_the_query_needs(sample: tuple[Ledger, dict]) -> None:
    ledger, proof = sample
    for event in proof["events"]:
        assert set(event["revealed"]) <= {"trace_id"}
        assert "payload" not in event["revealed"]
    by_payload = build_window_proof(
        ledger, AbsenceQuery(action_type="execute_shell", payload_contains="mkfs")
    )
    for event in by_payload["events"]:
        revealed = set(event["revealed"])
        assert revealed <= {"action_type", "payload"}
        if "payload" in revealed:
            assert event["revealed"]["action_type"]["value"] == "execute_shell"


def test_completeness_at_the_window_edges(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db", checkpoint_interval=10)
    ledger.append_batch([("authorization", {"trace_id": "early"}) for _ in range(10)])
    ledger.append_batch([("authorization", {"trace_id": "middle"}) for _ in range(10)])
    ledger.append_batch([("authorization", {"trace_id": "late"}) for _ in range(10)])
    keys = [ledger.verifier]
    # only before a
    verify_absence_proof(
        build_window_proof(ledger, AbsenceQuery(trace_id="early"), start=10, end=20), keys
    )
    # only after b
    verify_absence_proof(
        build_window_proof(ledger, AbsenceQuery(trace_id="late"), start=0, end=20), keys
    )
    with pytest.raises(EventsPresentError):
        build_window_proof(ledger, AbsenceQuery(trace_id="middle"), start=10, end=20)


def test_trusted_checkpoint_catches_a_rewritten_prefix(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db", checkpoint_interval=10)
    ledger.append_batch([("authorization", {"trace_id": f"t{i}"}) for i in range(20)])
    proof = build_window_proof(ledger, AbsenceQuery(trace_id="zz"))
    kept = ledger.checkpoint_at(10).note
    verify_absence_proof(proof, [ledger.verifier], trusted_checkpoint=kept)
    other = Ledger(tmp_path / "o.db", checkpoint_interval=10)
    other.append_batch([("authorization", {"trace_id": "x"}) for _ in range(10)])
    with pytest.raises(VerificationError):
        verify_absence_proof(
            proof,
            [ledger.verifier],
            trusted_checkpoint=other.checkpoint_at(10).note.replace(other.origin, ledger.origin),
        )


def test_bad_queries_are_usage_errors() -> None:
    for kwargs in (
        {},
        {"trace_id": "a", "avid": "b"},
        {"kind": "execution", "trace_id": "a"},
        {"payload_contains": "x", "trace_id": "a"},
        {"action_type": "x", "payload_contains": "a", "payload_regex": "b"},
        {"action_type": "x", "payload_regex": "(?=lookahead)"},
    ):
        with pytest.raises(MalformedInputError):
            AbsenceQuery(**kwargs)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "canopy"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_cli_prove_and_verify(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path / "l.db", 25, seed=9)
    vkey = ledger.verifier.vkey
    present = naive_matches(ledger, AbsenceQuery(trace_id="trace-1"), 0, ledger.size())
    ledger.close()
    out = tmp_path / "p.json"
    made = _cli("prove-absent", str(tmp_path / "l.db"), "--trace-id", "trace-77", "--out", str(out))
    assert made.returncode == 0, made.stderr
    assert "Absence is relative to signed checkpoints" in made.stdout
    checked = _cli("prove-absent", "--verify", str(out), "--public-key", vkey)
    assert checked.returncode == 0 and "no event matches trace_id == 'trace-77'" in checked.stdout
    refused = _cli(
        "prove-absent",
        str(tmp_path / "l.db"),
        "--trace-id",
        "trace-1",
        "--out",
        str(tmp_path / "q.json"),
    )
    assert refused.returncode == 1 and not (tmp_path / "q.json").exists()
    assert f"seq {present[0]}" in refused.stderr
    doc = json.loads(out.read_text())
    doc["window"]["from"] = 1
    out.write_text(json.dumps(doc))
    assert _cli("prove-absent", "--verify", str(out), "--public-key", vkey).returncode == 1
    assert _cli("prove-absent", str(tmp_path / "l.db"), "--out", str(out)).returncode == 2


def test_proof_matches_its_json_schema(sample: tuple[Ledger, dict]) -> None:
    from test_proofs import _validator

    _validator("absence-proof.schema.json").validate(sample[1])


def test_witness_cosigned_proof_defeats_a_resigned_rewrite(tmp_path: Path) -> None:
    """An attacker with the ledger's own key rewrites history and re-signs it: the
    witness refuses to cosign the fork, so a proof that demands the witness fails."""
    import shutil

    from ledger_helpers import tamper

    from canopy.errors import RollbackError
    from canopy.witness.service import Witness

    path = tmp_path / "l.db"
    ledger = Ledger(path, checkpoint_interval=1000)
    ledger.append_batch([("authorization", {"trace_id": f"t{i}"}) for i in range(12)])
    ledger.append("execution", {"trace_id": "t3", "authorization_id": "auth-secret"})
    ledger.checkpoint()
    witness = Witness(tmp_path / "witness.db")
    witness.add_log(ledger.origin, [ledger.verifier])
    cosigned = witness.cosign_ledger(ledger)
    query = AbsenceQuery(authorization_id="auth-secret", kind="execution")
    with pytest.raises(EventsPresentError):
        build_window_proof(ledger, query)

    # The forger: same origin, same (stolen) key, history without the execution.
    forged = tmp_path / "forged.db"
    shutil.copy(f"{path}.key", f"{forged}.key")
    Ledger(forged).close()
    tamper(forged, "UPDATE ledger_meta SET value = ? WHERE key = 'origin'", params=(ledger.origin,))
    fake = Ledger(forged)
    fake.append_batch([("authorization", {"trace_id": f"t{i}"}) for i in range(12)])
    fake.append("execution", {"trace_id": "t3", "authorization_id": "auth-other"})
    fake.checkpoint()
    proof = build_window_proof(fake, query)
    # Valid against the log key alone: that is exactly the limit the statement names.
    verify_absence_proof(proof, [ledger.verifier])
    # The witness will not cosign the fork ...
    with pytest.raises(RollbackError):
        witness.cosign_ledger(fake)
    # ... so demanding its cosignature refuses the forged proof,
    with pytest.raises(VerificationError):
        verify_absence_proof(proof, [ledger.verifier], witness_keys=[witness.verifier], quorum=1)
    # and transplanting the genuine cosignature onto the forged checkpoint fails too.
    transplanted = dict(proof)
    genuine_line = cosigned.rstrip("\n").split("\n")[-1]
    transplanted["checkpoint"] = proof["checkpoint"] + genuine_line + "\n"
    with pytest.raises(VerificationError):
        verify_absence_proof(
            transplanted, [ledger.verifier], witness_keys=[witness.verifier], quorum=1
        )
    # A genuine proof with the genuine cosigned checkpoint passes the same demand.
    honest = build_window_proof(
        ledger, AbsenceQuery(authorization_id="auth-other", kind="execution")
    )
    honest["checkpoint"] = cosigned
    result = verify_absence_proof(
        honest, [ledger.verifier], witness_keys=[witness.verifier], quorum=1
    )
    assert result.witnesses == (witness.verifier.name,)
    assert f"cosigned by witnesses {witness.verifier.name}" in result.statement


# --- keyed (compact) proofs ------------------------------------------------------------

KEYED_QUERIES = [
    lambda r: AbsenceQuery(trace_id=f"trace-{r.randrange(8)}"),
    lambda r: AbsenceQuery(avid=f"AVID-{r.randrange(5):032x}"),
    lambda r: AbsenceQuery(
        authorization_id=f"auth-{r.randrange(14)}",
        kind=r.choice(["execution", "tool_result", "approval", "any"]),
    ),
    lambda r: AbsenceQuery(action_type=r.choice(["execute_shell", "spend_money", "send_message"])),
]


def indexed_ledger(path: Path, n: int, seed: int) -> Ledger:
    from canopy.ledger.keyindex import commit_index

    ledger = make_ledger(path, n, seed)
    commit_index(ledger)
    ledger.checkpoint()
    return ledger


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 40), which=st.integers(0, 3))
def test_keyed_proofs_are_sound_and_complete(
    tmp_path_factory: pytest.TempPathFactory, seed: int, n: int, which: int
) -> None:
    from canopy.ledger.absence import build_absence_proof, build_keyed_proof

    rng = random.Random(seed)
    ledger = indexed_ledger(tmp_path_factory.mktemp("keyed") / "l.db", n, seed)
    query = KEYED_QUERIES[which](rng)
    present = naive_matches(ledger, query, 0, n)
    keyed = build_keyed_proof(ledger, query)
    if present:
        assert keyed is None  # the index cannot claim what is there is absent
        with pytest.raises(EventsPresentError):
            build_absence_proof(ledger, query, end=n)
    else:
        assert keyed is not None, query  # complete: every absent key has a compact proof
        result = verify_absence_proof(json.loads(json.dumps(keyed)), [ledger.verifier])
        assert (result.start, result.end) == (0, n)
    ledger.close()


def test_keyed_proof_for_a_key_seen_only_before_the_window(tmp_path: Path) -> None:
    from canopy.ledger.absence import build_keyed_proof
    from canopy.ledger.keyindex import commit_index

    ledger = Ledger(tmp_path / "l.db", checkpoint_interval=1000)
    ledger.append_batch([("authorization", {"trace_id": "early"}) for _ in range(5)])
    ledger.append_batch([("authorization", {"trace_id": "later"}) for _ in range(5)])
    commit_index(ledger)
    ledger.checkpoint()
    proof = build_keyed_proof(ledger, AbsenceQuery(trace_id="early"), start=5)
    assert proof is not None and "found" in proof["index"][0]
    verify_absence_proof(proof, [ledger.verifier])
    assert build_keyed_proof(ledger, AbsenceQuery(trace_id="later"), start=5) is None


@pytest.fixture(scope="module")
def keyed_sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Ledger, dict]:
    from canopy.ledger.absence import build_keyed_proof

    ledger = indexed_ledger(tmp_path_factory.mktemp("ksample") / "l.db", 40, seed=11)
    proof = build_keyed_proof(ledger, AbsenceQuery(authorization_id="auth-404", kind="any"))
    assert proof is not None and {"left", "right"} <= set(proof["index"][0])
    return ledger, proof


def test_every_change_breaks_a_keyed_proof(keyed_sample: tuple[Ledger, dict]) -> None:
    ledger, proof = keyed_sample
    verify_absence_proof(proof, [ledger.verifier])

    def flip(text: str, bit: int) -> str:
        raw = bytearray(base64.b64decode(text))
        raw[bit // 8 % len(raw)] ^= 1 << (bit % 8)
        return base64.b64encode(bytes(raw)).decode()

    mutations = []
    for side in ("left", "right"):
        for bit in range(0, 42 * 8, 5):
            m = copy.deepcopy(proof)
            m["index"][0][side]["leaf"] = flip(m["index"][0][side]["leaf"], bit)
            mutations.append(m)
        for i in range(len(proof["index"][0][side]["path"])):
            m = copy.deepcopy(proof)
            m["index"][0][side]["path"][i] = flip(m["index"][0][side]["path"][i], i * 11)
            mutations.append(m)
        for delta in (-1, 1):
            m = copy.deepcopy(proof)
            m["index"][0][side]["index"] += delta
            mutations.append(m)
    revealed = proof["commitment"]["event"]["revealed"]
    m = copy.deepcopy(proof)
    m["commitment"]["event"]["revealed"]["index_size"]["value"] += 1
    mutations.append(m)
    for run in range(len(revealed["index_runs"]["value"])):
        m = copy.deepcopy(proof)
        target = m["commitment"]["event"]["revealed"]["index_runs"]["value"][run]
        target["root"] = flip(target["root"], 3)
        mutations.append(m)
        m = copy.deepcopy(proof)
        m["commitment"]["event"]["revealed"]["index_runs"]["value"][run]["count"] += 1
        mutations.append(m)
    for i in range(len(proof["commitment"]["hashes"])):
        m = copy.deepcopy(proof)
        m["commitment"]["hashes"][i] = flip(m["commitment"]["hashes"][i], 9)
        mutations.append(m)
    for change in (
        lambda m: m["query"].update(authorization_id="auth-1"),
        lambda m: m["window"].update(to=m["window"]["to"] - 1),
        lambda m: m["window"].update(**{"from": 1}),
        lambda m: m["index"][0].pop("left"),
        lambda m: m["index"][0].update(left=m["index"][0]["right"]),
        lambda m: m["index"].append(m["index"][0]),
        lambda m: m["index"].clear(),
        lambda m: m.update(statement=m["statement"] + " "),
        lambda m: m.update(method="window"),
    ):
        m = copy.deepcopy(proof)
        change(m)
        mutations.append(m)
    assert len(mutations) > 100
    for mutated in mutations:
        with pytest.raises(VerificationError):
            verify_absence_proof(mutated, [ledger.verifier])


def test_keyed_proof_is_small(keyed_sample: tuple[Ledger, dict]) -> None:
    assert len(json.dumps(keyed_sample[1])) < 8 * 1024


def forge_index_commitment(ledger: Ledger, hidden_key: str) -> None:
    """What a dishonest owner would do: commit an index that omits one key."""
    from canopy.ledger import keyindex

    table = keyindex.table_for(ledger._conn, ledger.size())
    table.pop(keyindex.key_hash(hidden_key))
    summary, leaves = keyindex.summarize(table)
    directory = keyindex.index_dir_for(ledger.path)
    directory.mkdir(exist_ok=True)
    keyindex.IndexFile.write(keyindex.run_path(directory, summary.root), ledger.size(), leaves)
    ledger.append(
        "index_commitment",
        {
            "index_format": keyindex.INDEX_FORMAT,
            "index_size": ledger.size(),
            "index_runs": [summary.to_json()],
        },
    )
    ledger.checkpoint()


def test_a_forged_index_commitment_is_caught_by_verification(tmp_path: Path) -> None:
    """An owner who commits an index that omits a key is caught by canopy verify,
    although the forged index does yield a 'valid-looking' keyed proof."""
    from canopy.ledger.absence import build_keyed_proof
    from canopy.ledger.verify import verify_ledger

    ledger = make_ledger(tmp_path / "l.db", 30, seed=3)
    forge_index_commitment(ledger, "t:trace-1")
    assert build_keyed_proof(ledger, AbsenceQuery(trace_id="trace-1")) is not None
    report = verify_ledger(ledger.path)
    assert not report.ok
    assert any(p.step == "index" for p in report.problems)


def test_cli_index_commit_then_compact_proof(tmp_path: Path) -> None:
    ledger = make_ledger(tmp_path / "l.db", 25, seed=9)
    vkey = ledger.verifier.vkey
    ledger.close()
    committed = _cli("index", "commit", str(tmp_path / "l.db"))
    assert committed.returncode == 0, committed.stderr
    out = tmp_path / "k.json"
    made = _cli(
        "prove-absent",
        str(tmp_path / "l.db"),
        "--authorization-id",
        "auth-77",
        "--kind",
        "execution",
        "--out",
        str(out),
    )
    assert made.returncode == 0 and "compact key-index" in made.stdout
    assert json.loads(out.read_text())["method"] == "keyed"
    assert _cli("prove-absent", "--verify", str(out), "--public-key", vkey).returncode == 0


def test_keyed_proof_matches_its_json_schema(keyed_sample: tuple[Ledger, dict]) -> None:
    from test_proofs import _validator

    _validator("absence-proof.schema.json").validate(keyed_sample[1])


def test_index_runs_merge_geometrically_and_replay_deterministically(tmp_path: Path) -> None:
    from canopy.ledger import keyindex
    from canopy.ledger.absence import build_keyed_proof
    from canopy.ledger.verify import verify_ledger

    ledger = make_ledger(tmp_path / "l.db", 10, seed=21)
    rng = random.Random(4)
    sizes = []
    for round_ in range(12):
        ledger.append_batch(
            [
                (
                    "authorization",
                    {"trace_id": f"r{round_}-{i}", "authorization_id": f"x{round_}{i}"},
                )
                for i in range(rng.randrange(1, 40))
            ]
        )
        fields = keyindex.commit_index(ledger)
        counts = [r["count"] for r in fields["index_runs"]]
        assert all(a >= b * keyindex.MERGE_RATIO - 8 for a, b in itertools.pairwise(counts))
        sizes.append(len(counts))
    assert max(sizes) <= 4  # log4 of a few hundred keys
    commitments = [
        (e.seq, e.fields["index_size"]) for e in ledger.events_of_kind("index_commitment")
    ]
    replayed = keyindex.replay_commitments(ledger._conn, commitments)
    assert [r.to_json() for r in replayed[-1]] == fields["index_runs"]
    ledger.checkpoint()
    assert verify_ledger(ledger.path).ok
    proof = build_keyed_proof(ledger, AbsenceQuery(trace_id="never"))
    assert proof is not None and len(proof["index"]) == len(fields["index_runs"])
    verify_absence_proof(proof, [ledger.verifier])
    # Run files are derived data: without them the next commit replays the events.
    import shutil

    shutil.rmtree(keyindex.index_dir_for(ledger.path))
    assert build_keyed_proof(ledger, AbsenceQuery(trace_id="never")) is None
    keyindex.commit_index(ledger)
    ledger.checkpoint()
    assert verify_ledger(ledger.path).ok
