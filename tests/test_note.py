"""canopy.ledger.note: the published C2SP / Go examples, and strict parsing."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import pytest
from conftest import shared_path

from canopy.errors import MalformedInputError, SignatureError, UnknownKeyError
from canopy.ledger.note import (
    MAX_NOTE_SIZE,
    NoteSignature,
    Signer,
    Verifier,
    generate_signer,
    open_note,
    sign_note,
    strict_b64decode,
)

EM_DASH = "\u2014"
TEXT = "canopy.example/log\n42\nqUSKsJ4Y4yX6ncHN5k0bkgoNJ6xT4y7XjGzAsy+8fmE=\n"
#: A freshly generated key for the strictness tests.
SIGNER = generate_signer("canopy.example/test")
#: A fixed key, for mutations that need particular characters in its vkey.
FIXED = Signer("canopy.example/fixed", bytes(range(32)))


@dataclass(frozen=True)
class Example:
    vkey: str
    skey: str | None
    note: str

    @property
    def text(self) -> str:
        return self.note[: self.note.rindex("\n\n") + 1]


def _example(name: str) -> Example:
    """Parse a shared example: '#' comments, a vkey, maybe a PRIVATE+KEY, then the note."""
    raw = shared_path("vectors", "signed-note", name).read_text(encoding="utf-8")
    lines = [line for line in raw.splitlines(keepends=True) if not line.startswith("#")]
    vkey = lines.pop(0).strip()
    skey = lines.pop(0).strip() if lines[0].startswith("PRIVATE+KEY+") else None
    return Example(vkey, skey, "".join(lines))


@pytest.fixture(params=["c2sp-example.txt", "go-sumdb-note-example.txt"])
def example(request) -> Example:
    return _example(request.param)


@pytest.fixture
def go_example() -> Example:
    return _example("go-sumdb-note-example.txt")


@pytest.fixture(scope="module")
def signer() -> Signer:
    return SIGNER


@pytest.fixture(scope="module")
def other_signer() -> Signer:
    return generate_signer("canopy.example/other")


def _sig_line(note: str) -> tuple[str, str]:
    """Split a singly-signed note into (everything before the signature, its base64)."""
    head, _, line = note[:-1].rpartition("\n")
    prefix, _, b64 = line.rpartition(" ")
    return head + "\n" + prefix + " ", b64


def _unsigned_note(text: str, signer: Signer) -> str:
    """A note signed without sign_note's checks on the text."""
    sig = NoteSignature(signer.name, signer.verifier.key_hash, signer.sign(text.encode()))
    return text + "\n" + sig.line()


# --- published examples -------------------------------------------------------


def test_example_opens_with_its_vkey(example):
    verifier = Verifier.from_vkey(example.vkey)
    note = open_note(example.note, [verifier])
    assert note.text == example.text
    assert [(s.name, s.key_hash) for s in note.verified] == [(verifier.name, verifier.key_hash)]
    assert note.unverified == ()
    assert open_note(example.note.encode("utf-8"), [verifier]) == note


def test_example_vkey_round_trips(example):
    verifier = Verifier.from_vkey(example.vkey)
    assert verifier.vkey == example.vkey
    assert verifier.key_id == example.vkey.rsplit("+", 1)[0]
    assert len(verifier.public_key) == 32


def test_example_signature_is_checked(example):
    verifier = Verifier.from_vkey(example.vkey)
    tampered = example.note.replace(example.text, example.text[:-2] + "!\n", 1)
    assert tampered != example.note
    with pytest.raises(SignatureError):
        open_note(tampered, [verifier])


def test_go_signer_key_matches_its_vkey(go_example):
    signer = Signer.from_skey(go_example.skey)
    assert signer.verifier.vkey == go_example.vkey
    assert signer.skey == go_example.skey
    assert signer.name == "PeterNeumann"


def test_go_signed_note_is_reproduced_byte_for_byte(go_example):
    signer = Signer.from_skey(go_example.skey)
    assert sign_note(go_example.text, signer) == go_example.note


def test_c2sp_example_key_name_and_hash():
    example = _example("c2sp-example.txt")
    verifier = Verifier.from_vkey(example.vkey)
    assert (verifier.name, verifier.key_hash) == ("example.com/foo", 0x530D903A)


# --- round trip with fresh keys -------------------------------------------------


def test_sign_and_open_round_trip(signer):
    note = sign_note(TEXT, signer)
    assert note.startswith(TEXT + "\n" + EM_DASH + " canopy.example/test ")
    opened = open_note(note, [signer.verifier])
    assert opened.text == TEXT
    assert len(opened.verified) == 1
    assert signer.verifier.verify(TEXT.encode(), opened.verified[0].signature)


def test_skey_round_trip(signer):
    again = Signer.from_skey(signer.skey)
    assert again.verifier == signer.verifier
    assert Verifier.from_vkey(signer.verifier.vkey) == signer.verifier


def test_one_known_and_one_unknown_signature(signer, other_signer):
    note = sign_note(TEXT, signer, other_signer)
    opened = open_note(note, [signer.verifier])
    assert [s.name for s in opened.verified] == [signer.name]
    assert [s.name for s in opened.unverified] == [other_signer.name]
    both = open_note(note, [other_signer.verifier, signer.verifier])
    assert (len(both.verified), len(both.unverified)) == (2, 0)


# --- bad evidence -----------------------------------------------------------------


def test_tampered_text_is_a_signature_error(signer):
    note = sign_note(TEXT, signer)
    with pytest.raises(SignatureError, match=re.escape(signer.verifier.key_id)):
        open_note(note.replace("42", "43", 1), [signer.verifier])


def test_wrong_key_only_is_unknown(signer, other_signer):
    note = sign_note(TEXT, signer)
    with pytest.raises(UnknownKeyError, match=signer.name):
        open_note(note, [other_signer.verifier])
    with pytest.raises(UnknownKeyError):
        open_note(note, [])


def test_same_name_other_key_is_unknown(signer):
    impostor = generate_signer(signer.name)
    assert impostor.verifier.key_hash != signer.verifier.key_hash
    with pytest.raises(UnknownKeyError):
        open_note(sign_note(TEXT, impostor), [signer.verifier])


@pytest.mark.parametrize("position", [0, 1, 31, 32, 63])
def test_flipped_signature_byte_is_a_signature_error(signer, position):
    head, b64 = _sig_line(sign_note(TEXT, signer))
    blob = bytearray(base64.b64decode(b64))
    blob[4 + position] ^= 0x01  # after the 4-byte key hash
    bad = head + base64.b64encode(bytes(blob)).decode() + "\n"
    with pytest.raises(SignatureError):
        open_note(bad, [signer.verifier])


def test_flipped_key_hash_is_unknown(signer):
    head, b64 = _sig_line(sign_note(TEXT, signer))
    blob = bytearray(base64.b64decode(b64))
    blob[0] ^= 0x01
    with pytest.raises(UnknownKeyError):
        open_note(head + base64.b64encode(bytes(blob)).decode() + "\n", [signer.verifier])


# --- malformed input ---------------------------------------------------------------

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def test_non_canonical_base64_padding_bits(signer):
    head, b64 = _sig_line(sign_note(TEXT, signer))
    # 4 + 64 bytes: the last character before '=' carries two zero padding bits.
    assert b64.endswith("=") and not b64.endswith("==")
    last = ALPHABET.index(b64[-2])
    assert last & 0b11 == 0
    spelled = b64[:-2] + ALPHABET[last | 0b01] + "="
    assert base64.b64decode(spelled) == base64.b64decode(b64)
    with pytest.raises(MalformedInputError, match=r"non-canonical base64"):
        open_note(head + spelled + "\n", [signer.verifier])


@pytest.mark.parametrize("b64", ["", "AAAA", "AAA=", "AA==", "+/+/"])
def test_strict_b64decode_accepts_canonical(b64):
    assert base64.b64encode(strict_b64decode(b64, "x")).decode() == b64


@pytest.mark.parametrize(
    "b64", ["AAAAAAA", "AAA AAA=", "AA-_", "AAAA\n", " AAAA", "QQ=", "QR==", "QUJ=", "AAAA=="]
)
def test_strict_b64decode_rejects(b64):
    with pytest.raises(MalformedInputError, match=r"^x: "):
        strict_b64decode(b64, "x")


def _malformed(note: str, signer: Signer) -> dict[str, tuple[str, str]]:
    """Malformed variants of ``note`` (signed once by ``signer``) and the error they give."""
    head, b64 = _sig_line(note)
    line = note[note.rindex("\n\n") + 2 :]
    blob = base64.b64decode(b64)
    name = f" {signer.name} "
    bad_line = "malformed note signature line"
    bad_name = "invalid key name"
    control = "control characters"
    return {
        "missing final newline": (note[:-1], "must end with a newline"),
        "no blank line": (note.replace("\n\n", "\n", 1), "no signature block"),
        "no signature": (TEXT + "\n", "must end with a newline"),
        "only text": (TEXT, "no signature block"),
        "duplicate signature line": (note + line, "duplicate signature"),
        "trailing blank line": (note + "\n", "blank line"),
        "hyphen instead of em dash": (note.replace(EM_DASH + " ", "- ", 1), bad_line),
        "em dash without space": (note.replace(EM_DASH + " ", EM_DASH, 1), bad_line),
        "no space before signature": (head[:-1] + b64 + "\n", bad_line),
        "padding removed": (head + b64.rstrip("=") + "\n", "invalid base64"),
        "signature too short": (head + base64.b64encode(blob[:4]).decode() + "\n", "too short"),
        "name with plus": (note.replace(name, f" {signer.name}+x ", 1), bad_name),
        "name with space": (note.replace(name, f" {signer.name} x ", 1), "invalid base64"),
        "empty name": (note.replace(name, "  ", 1), bad_name),
        "CRLF line endings": (note.replace("\n", "\r\n"), "no signature block"),
        "carriage return in text": (_unsigned_note(TEXT.replace("\n", "\r\n"), signer), control),
        "bell in text": (_unsigned_note(TEXT.replace("42", "4\x072"), signer), control),
        "tab in text": (_unsigned_note(TEXT.replace("\n42", "\n\t42"), signer), control),
        "blank line in text": (_unsigned_note(TEXT.replace("\n42", "\n\n42"), signer), "blank"),
    }


NOTE = sign_note(TEXT, SIGNER)
MALFORMED = _malformed(NOTE, SIGNER)


@pytest.mark.parametrize(("bad", "error"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_note(bad, error):
    assert bad != NOTE
    with pytest.raises(MalformedInputError, match=error):
        open_note(bad, [SIGNER.verifier])
    with pytest.raises(MalformedInputError, match=error):
        open_note(bad.encode(), [SIGNER.verifier])


def test_invalid_utf8_bytes(signer):
    note = sign_note(TEXT, signer).encode()
    with pytest.raises(MalformedInputError, match=r"UTF-8"):
        open_note(note.replace(b"42", b"4\xff", 1), [signer.verifier])


def test_oversize_note(signer):
    line_size = len(sign_note("x\n", signer).encode()) - len("x\n")
    fits = "x" * (MAX_NOTE_SIZE - line_size - 1) + "\n"
    note = sign_note(fits, signer)
    assert len(note.encode()) == MAX_NOTE_SIZE
    assert len(open_note(note, [signer.verifier]).verified) == 1
    too_big = sign_note("y" + fits, signer)
    with pytest.raises(MalformedInputError, match=str(MAX_NOTE_SIZE)):
        open_note(too_big, [signer.verifier])
    with pytest.raises(MalformedInputError, match=str(MAX_NOTE_SIZE)):
        open_note(too_big.encode(), [signer.verifier])


def test_too_many_signatures(signer):
    signers = [signer, *(generate_signer(f"s{i}") for i in range(100))]
    with pytest.raises(MalformedInputError, match=r"more than 100"):
        open_note(sign_note(TEXT, *signers), [signer.verifier])
    assert len(open_note(sign_note(TEXT, *signers[:100]), [signer.verifier]).unverified) == 99


@pytest.mark.parametrize(
    "text", ["no newline", "blank\n\nline\n", "bell \x07\n", "nul \x00\n", "del \x7f\n"]
)
def test_sign_note_rejects_bad_text(signer, text):
    with pytest.raises(MalformedInputError):
        sign_note(text, signer)


def test_sign_note_needs_a_signer():
    with pytest.raises(ValueError, match=r"at least one signer"):
        sign_note(TEXT)


# --- keys -------------------------------------------------------------------------


def test_vkey_with_wrong_hash(signer):
    name, key_hash, key = signer.verifier.vkey.split("+", 2)
    wrong = f"{int(key_hash, 16) ^ 1:08x}"
    with pytest.raises(MalformedInputError, match=r"hash does not match"):
        Verifier.from_vkey(f"{name}+{wrong}+{key}")


@pytest.mark.parametrize(
    "mutation",
    [
        "uppercase hash",
        "short hash",
        "no hash",
        "other algorithm",
        "short key",
        "extra padding",
        "name with space",
        "empty name",
    ],
)
def test_malformed_vkey(mutation):
    name, key_hash, key = FIXED.verifier.vkey.split("+", 2)
    raw = base64.b64decode(key)
    other_alg = base64.b64encode(b"\x02" + raw[1:]).decode()
    assert Verifier.from_vkey(FIXED.verifier.vkey) == FIXED.verifier
    assert key_hash.upper() != key_hash
    vkey = {
        "uppercase hash": f"{name}+{key_hash.upper()}+{key}",
        "short hash": f"{name}+{key_hash[1:]}+{key}",
        "no hash": f"{name}+{key}",
        "other algorithm": f"{name}+{key_hash}+{other_alg}",
        "short key": f"{name}+{key_hash}+{base64.b64encode(raw[:-1]).decode()}",
        "extra padding": f"{name}+{key_hash}+{key}==",
        "name with space": f"a {name}+{key_hash}+{key}",
        "empty name": f"+{key_hash}+{key}",
    }[mutation]
    with pytest.raises(MalformedInputError):
        Verifier.from_vkey(vkey)


@pytest.mark.parametrize("name", ["a+b", "a b", "", "tab\tname", "nl\nname", "\x07"])
def test_bad_key_names(name):
    with pytest.raises(MalformedInputError):
        Signer(name, bytes(32))


def test_malformed_skey(signer):
    skey = signer.skey
    with pytest.raises(MalformedInputError, match=r"PRIVATE\+KEY"):
        Signer.from_skey(skey.replace("PRIVATE+KEY", "PUBLIC+KEY", 1))
    _, _, name, key_hash, key = skey.split("+", 4)
    with pytest.raises(MalformedInputError, match=r"hash does not match"):
        Signer.from_skey(f"PRIVATE+KEY+{name}+{int(key_hash, 16) ^ 1:08x}+{key}")
    with pytest.raises(MalformedInputError):
        Signer.from_skey(f"PRIVATE+KEY+{name}+{key_hash}")
    with pytest.raises(MalformedInputError, match=r"32 bytes"):
        Signer(name, bytes(31))
