"""Inclusion and consistency proofs from a real ledger, checked offline."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import jsonschema
import pytest
from ledger_helpers import build

from canopy.errors import (
    MalformedProofError,
    RootMismatchError,
    SignatureError,
    UnknownKeyError,
    VerificationError,
)
from canopy.ledger.note import generate_signer
from canopy.ledger.proofs import (
    build_consistency_proof,
    build_inclusion_proof,
    verify_consistency_proof,
    verify_inclusion_proof,
)
from canopy.ledger.store import Ledger

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    registry = {}
    for path in SCHEMA_DIR.glob("*.schema.json"):
        doc = json.loads(path.read_text())
        registry[doc["$id"]] = doc
    from referencing import Registry, Resource

    resources = [(uri, Resource.from_contents(doc)) for uri, doc in registry.items()]
    schema = json.loads((SCHEMA_DIR / name).read_text())
    return jsonschema.Draft202012Validator(schema, registry=Registry().with_resources(resources))


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    path = tmp_path_factory.mktemp("proofs") / "l.db"
    opened = build(path, 37, interval=8)
    opened.checkpoint()  # 8, 16, 24, 32, 37
    return opened


def test_every_event_proves_against_every_checkpoint(ledger: Ledger) -> None:
    keys = [ledger.verifier]
    validator = _validator("inclusion-proof.schema.json")
    for checkpoint in ledger.checkpoints():
        for seq in range(checkpoint.size):
            doc = build_inclusion_proof(
                ledger, seq, checkpoint_size=checkpoint.size, disclose=["trace_id"]
            ).to_json()
            validator.validate(doc)
            result = verify_inclusion_proof(doc, keys)
            assert result.tree_size == checkpoint.size and result.root == checkpoint.root
            assert result.event_disclosed and result.event_signature_checked


def test_consistency_between_every_pair_of_checkpoints(ledger: Ledger) -> None:
    validator = _validator("consistency-proof.schema.json")
    sizes = [c.size for c in ledger.checkpoints()]
    for i, old in enumerate(sizes):
        for new in sizes[i:]:
            doc = build_consistency_proof(ledger, old, new).to_json()
            validator.validate(doc)
            result = verify_consistency_proof(doc, [ledger.verifier])
            assert (result.old_size, result.new_size) == (old, new)


def test_checkpoint_json_matches_schema(ledger: Ledger) -> None:
    _validator("checkpoint.schema.json").validate(ledger.latest_checkpoint().to_json())


def _flip(b64: str, bit: int) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[bit // 8] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode()


def test_every_bit_flip_of_an_inclusion_proof_fails(ledger: Ledger) -> None:
    doc = build_inclusion_proof(ledger, 13, disclose=["decision"]).to_json()
    keys = [ledger.verifier]
    verify_inclusion_proof(doc, keys)
    mutations = []
    for i in range(len(doc["hashes"])):
        for bit in range(256):
            m = copy.deepcopy(doc)
            m["hashes"][i] = _flip(m["hashes"][i], bit)
            mutations.append(m)
    for bit in range(0, 256, 7):
        m = copy.deepcopy(doc)
        m["leaf_hash"] = _flip(m["leaf_hash"], bit)
        mutations.append(m)
    for bit in range(0, 512, 13):
        m = copy.deepcopy(doc)
        m["event_signature"] = _flip(m["event_signature"], bit)
        mutations.append(m)
    for field, value in [
        ("leaf_index", 12),
        ("leaf_index", 14),
        ("tree_size", 36),
        ("tree_size", 38),
        ("origin", "canopy.ledger/other"),
    ]:
        m = copy.deepcopy(doc)
        m[field] = value
        mutations.append(m)
    m = copy.deepcopy(doc)
    m["hashes"] = m["hashes"][:-1]
    mutations.append(m)
    m = copy.deepcopy(doc)
    m["hashes"].append(m["hashes"][0])
    mutations.append(m)
    m = copy.deepcopy(doc)
    m["event"]["revealed"]["decision"]["value"] = "ALLOW"
    mutations.append(m)
    m = copy.deepcopy(doc)
    m["checkpoint"] = m["checkpoint"].replace("\n37\n", "\n36\n")
    mutations.append(m)
    for mutated in mutations:
        with pytest.raises(VerificationError):
            verify_inclusion_proof(mutated, keys)


def test_consistency_mutations_fail(ledger: Ledger) -> None:
    doc = build_consistency_proof(ledger, 8, 37).to_json()
    keys = [ledger.verifier]
    for i in range(len(doc["hashes"])):
        for bit in range(0, 256, 3):
            m = copy.deepcopy(doc)
            m["hashes"][i] = _flip(m["hashes"][i], bit)
            with pytest.raises((RootMismatchError, MalformedProofError)):
                verify_consistency_proof(m, keys)
    swapped = copy.deepcopy(doc)
    swapped["old_checkpoint"], swapped["new_checkpoint"] = (
        doc["new_checkpoint"],
        doc["old_checkpoint"],
    )
    with pytest.raises(VerificationError):
        verify_consistency_proof(swapped, keys)
    other = build_consistency_proof(ledger, 16, 37).to_json()
    mixed = copy.deepcopy(doc)
    mixed["old_checkpoint"] = other["old_checkpoint"]
    with pytest.raises(VerificationError):
        verify_consistency_proof(mixed, keys)


def test_wrong_key_and_forged_signature(ledger: Ledger) -> None:
    doc = build_inclusion_proof(ledger, 3).to_json()
    with pytest.raises(UnknownKeyError):
        verify_inclusion_proof(doc, [generate_signer(ledger.verifier.name).verifier])
    stranger = generate_signer("intruder")
    forged = copy.deepcopy(doc)
    body = forged["checkpoint"].split("\n\n")[0] + "\n"
    from canopy.ledger.note import sign_note

    forged["checkpoint"] = sign_note(body, stranger)
    with pytest.raises(UnknownKeyError):
        verify_inclusion_proof(forged, [ledger.verifier])
    bad_sig = copy.deepcopy(doc)
    line = bad_sig["checkpoint"].rstrip("\n").split("\n")[-1]
    _name, b64 = line.rsplit(" ", 1)
    bad_sig["checkpoint"] = bad_sig["checkpoint"].replace(b64, _flip(b64, 100))
    with pytest.raises(SignatureError):
        verify_inclusion_proof(bad_sig, [ledger.verifier])


def test_builder_refuses_uncovered_event(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="not covered"):
        build_inclusion_proof(ledger, 20, checkpoint_size=16)
    with pytest.raises(ValueError, match="no checkpoint of size"):
        build_inclusion_proof(ledger, 1, checkpoint_size=3)
