"""c2sp.org/tlog-cosignature v1: message bytes, key IDs, lines, quorum verification."""

from __future__ import annotations

import base64
import hashlib
import time

import nacl.signing
import pytest

from canopy.errors import MalformedInputError, SignatureError, UnknownKeyError
from canopy.ledger.checkpoint import Checkpoint, SignedCheckpoint
from canopy.ledger.note import Verifier, generate_signer, open_note
from canopy.witness.cosignature import (
    ALG_COSIGNATURE_V1,
    Cosignature,
    CosignatureSigner,
    CosignatureVerifier,
    add_cosignature,
    cosign,
    cosignature_message,
    generate_cosignature_signer,
    verify_cosignatures,
)

LOG = generate_signer("example.com/behind-the-sofa")
ROOT = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
CHECKPOINT = SignedCheckpoint.sign(Checkpoint(LOG.name, 20852163, ROOT), LOG)
BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
W1, W2, W3 = (generate_cosignature_signer(f"witness.example/w{i}") for i in (1, 2, 3))
NOW = int(time.time())

#: tlog-cosignature's example (its witness key is not published): key ID,
#: then timestamp 1679315147, the time of the spec's example message.
SPEC_LINE = (
    "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2"
    "oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA=="
)
#: A native 0x04 witness vkey from transparency-dev/formats' note tests.
INTEROP_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def _cosigned(*signers: CosignatureSigner, timestamp: int = NOW) -> str:
    note = CHECKPOINT.note
    for signer in signers:
        note = add_cosignature(note, cosign(note, signer, timestamp))
    return note


def _blob(line: str) -> bytearray:
    return bytearray(base64.b64decode(line.rstrip("\n").rsplit(" ", 1)[1]))


def _line_with(line: str, blob: bytes) -> str:
    head = line.rstrip("\n").rsplit(" ", 1)[0]
    return f"{head} {base64.b64encode(bytes(blob)).decode()}\n"


# --- format ------------------------------------------------------------------


def test_message_bytes_are_exactly_the_spec_ones() -> None:
    assert CHECKPOINT.checkpoint.body() == BODY
    assert cosignature_message(BODY, 1679315147) == (
        b"cosignature/v1\ntime 1679315147\n"
        b"example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    )
    assert cosignature_message(BODY, 0).startswith(b"cosignature/v1\ntime 0\nexample.com")


def test_line_is_key_id_timestamp_signature_over_the_message() -> None:
    line = cosign(CHECKPOINT.note, W1, 1679315147)
    assert line.startswith("— witness.example/w1 ") and line.endswith("\n")
    blob = bytes(_blob(line))
    assert len(blob) == 4 + 8 + 64
    public = W1.verifier.public_key
    expected_id = hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4]
    assert blob[:4] == expected_id
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    # Checked with libsodium directly, not through the module under test.
    message = b"cosignature/v1\ntime 1679315147\n" + BODY.encode()
    nacl.signing.VerifyKey(public).verify(message, blob[12:])


def test_key_id_uses_algorithm_0x04_not_the_note_algorithm() -> None:
    public = W1.verifier.public_key
    cosig_id = int.from_bytes(hashlib.sha256(b"witness.example/w1\n\x04" + public).digest()[:4])
    note_id = int.from_bytes(hashlib.sha256(b"witness.example/w1\n\x01" + public).digest()[:4])
    assert W1.verifier.key_hash == cosig_id != note_id
    assert base64.b64decode(W1.verifier.vkey.split("+", 2)[2])[0] == ALG_COSIGNATURE_V1


def test_interop_vkey_key_hash_matches() -> None:
    verifier = CosignatureVerifier.from_vkey(INTEROP_VKEY)
    assert verifier.name == "remora.n621.de" and verifier.key_hash == 0xDA77ADE7
    assert verifier.vkey == INTEROP_VKEY


def test_spec_example_line_parses() -> None:
    cosig = Cosignature.parse(SPEC_LINE)
    assert cosig.name == "witness.example.com/w1"
    assert cosig.timestamp == 1679315147
    assert len(cosig.signature) == 64
    assert cosig.line() == SPEC_LINE + "\n"


def test_cosign_accepts_body_or_signed_note() -> None:
    assert cosign(BODY, W1, 5) == cosign(CHECKPOINT.note, W1, 5)
    with pytest.raises(MalformedInputError):
        cosign("not a checkpoint\n", W1, 5)
    with pytest.raises(ValueError, match="2\\^63"):
        cosign(BODY, W1, 1 << 63)


def test_keys_round_trip_and_refuse_note_keys() -> None:
    skey = W1.skey
    assert skey.startswith("PRIVATE+KEY+witness.example/w1+")
    assert base64.b64decode(skey.split("+", 4)[4])[0] == 0x04
    again = CosignatureSigner.from_skey(skey)
    assert again.verifier == W1.verifier
    assert CosignatureVerifier.from_vkey(W1.verifier.vkey) == W1.verifier
    with pytest.raises(MalformedInputError, match="0x01"):
        CosignatureVerifier.from_vkey(LOG.verifier.vkey)
    with pytest.raises(MalformedInputError):
        CosignatureSigner.from_skey(LOG.skey)
    # And the other way: a witness key is not a note (log) key.
    with pytest.raises(MalformedInputError):
        Verifier.from_vkey(W1.verifier.vkey)
    wrong_hash = W1.verifier.vkey.replace(f"+{W1.verifier.key_hash:08x}+", "+00000000+")
    with pytest.raises(MalformedInputError, match="hash"):
        CosignatureVerifier.from_vkey(wrong_hash)


# --- verification --------------------------------------------------------------


def test_sign_and_verify() -> None:
    note = _cosigned(W1)
    assert verify_cosignatures(note, [LOG.verifier], [W1.verifier], quorum=1) == [W1.name]
    # The log's signature still opens with plain note verification.
    assert open_note(note, [LOG.verifier]).text == BODY


@pytest.mark.parametrize("position", range(8 + 64))
def test_flipping_any_timestamp_or_signature_byte_fails(position: int) -> None:
    note = CHECKPOINT.note
    line = cosign(note, W1, NOW)
    blob = _blob(line)
    blob[4 + position] ^= 0x01
    forged = add_cosignature(note, _line_with(line, blob))
    with pytest.raises(SignatureError, match=W1.name):
        verify_cosignatures(forged, [LOG.verifier], [W1.verifier], quorum=1)


@pytest.mark.parametrize("position", range(4))
def test_flipping_a_key_id_byte_makes_the_line_unknown(position: int) -> None:
    note = CHECKPOINT.note
    line = cosign(note, W1, NOW)
    blob = _blob(line)
    blob[position] ^= 0x01
    forged = add_cosignature(note, _line_with(line, blob))
    with pytest.raises(UnknownKeyError, match="0 of the 1"):
        verify_cosignatures(forged, [LOG.verifier], [W1.verifier], quorum=1)


def test_cosignature_over_another_checkpoint_fails() -> None:
    other = SignedCheckpoint.sign(Checkpoint(LOG.name, 20852164, ROOT), LOG)
    moved = add_cosignature(other.note, cosign(CHECKPOINT.note, W1, NOW))
    with pytest.raises(SignatureError):
        verify_cosignatures(moved, [LOG.verifier], [W1.verifier], quorum=1)


def test_truncated_cosignature_by_known_key_is_a_signature_error() -> None:
    line = cosign(CHECKPOINT.note, W1, NOW)
    short = _line_with(line, _blob(line)[:-1])
    note = CHECKPOINT.note + short
    with pytest.raises(SignatureError, match="bytes after the key ID"):
        verify_cosignatures(note, [LOG.verifier], [W1.verifier], quorum=1)


def test_unknown_witness_is_ignored() -> None:
    stranger = generate_cosignature_signer("stranger.example/w")
    note = _cosigned(stranger, W1)
    assert verify_cosignatures(note, [LOG.verifier], [W1.verifier], quorum=1) == [W1.name]
    # Even a garbage signature from an unknown witness is not looked at.
    line = cosign(note, stranger, NOW)
    blob = _blob(line)
    blob[-1] ^= 0xFF
    garbage = add_cosignature(note, _line_with(line, blob))
    assert verify_cosignatures(garbage, [LOG.verifier], [W1.verifier], quorum=1) == [W1.name]


def test_same_name_other_key_is_unknown() -> None:
    impostor = generate_cosignature_signer(W1.name)
    note = _cosigned(impostor)
    with pytest.raises(UnknownKeyError):
        verify_cosignatures(note, [LOG.verifier], [W1.verifier], quorum=1)


def test_quorum_two_of_three() -> None:
    trusted = [W1.verifier, W2.verifier, W3.verifier]
    note = _cosigned(W1, W3)
    assert verify_cosignatures(note, [LOG.verifier], trusted, quorum=2) == [W1.name, W3.name]
    with pytest.raises(UnknownKeyError, match="2 of the 3"):
        verify_cosignatures(note, [LOG.verifier], trusted, quorum=3)
    one = _cosigned(W2)
    with pytest.raises(UnknownKeyError, match="1 of the 2"):
        verify_cosignatures(one, [LOG.verifier], trusted, quorum=2)


def test_one_witness_with_two_keys_counts_once() -> None:
    second_key = generate_cosignature_signer(W1.name)
    note = _cosigned(W1, second_key)
    trusted = [W1.verifier, second_key.verifier, W2.verifier]
    assert verify_cosignatures(note, [LOG.verifier], trusted, quorum=1) == [W1.name]
    with pytest.raises(UnknownKeyError, match="1 of the 2"):
        verify_cosignatures(note, [LOG.verifier], trusted, quorum=2)


def test_quorum_must_be_reachable() -> None:
    note = _cosigned(W1)
    with pytest.raises(ValueError, match="at least 1"):
        verify_cosignatures(note, [LOG.verifier], [W1.verifier], quorum=0)
    with pytest.raises(ValueError, match="exceeds"):
        verify_cosignatures(note, [LOG.verifier], [W1.verifier], quorum=2)


def test_future_timestamp_is_rejected_past_the_skew() -> None:
    ahead = _cosigned(W1, timestamp=NOW + 3600)
    with pytest.raises(SignatureError, match="in the future"):
        verify_cosignatures(ahead, [LOG.verifier], [W1.verifier], quorum=1, now=NOW)
    slightly = _cosigned(W1, timestamp=NOW + 30)
    assert verify_cosignatures(slightly, [LOG.verifier], [W1.verifier], quorum=1, now=NOW)
    with pytest.raises(SignatureError):
        verify_cosignatures(slightly, [LOG.verifier], [W1.verifier], quorum=1, now=NOW, max_skew=0)


def test_log_signature_is_required() -> None:
    note = _cosigned(W1)
    other_log = generate_signer(LOG.name)
    with pytest.raises(UnknownKeyError, match="trusted key"):
        verify_cosignatures(note, [other_log.verifier], [W1.verifier], quorum=1)
    tampered = note.replace("20852163", "20852164", 1)
    with pytest.raises(SignatureError):
        verify_cosignatures(tampered, [LOG.verifier], [W1.verifier], quorum=1)


def test_add_cosignature_replaces_an_older_line_by_the_same_key() -> None:
    note = _cosigned(W1, W2, timestamp=NOW - 100)
    again = add_cosignature(note, cosign(note, W1, NOW))
    assert again.count("— witness.example/w1 ") == 1
    assert again.index("witness.example/w2") < again.index("witness.example/w1")
    assert verify_cosignatures(again, [LOG.verifier], [W1.verifier, W2.verifier], quorum=2)
    with pytest.raises(MalformedInputError):
        add_cosignature(note, "— witness.example/w1 not base64!\n")
    with pytest.raises(MalformedInputError):
        add_cosignature(BODY, cosign(BODY, W1, NOW))  # no signature block
