"""transparency-dev/merkle's RFC 6962/9162 proof vectors, read from ../shared.

One parametrized test per folder; the test id is the vector's path under
``testdata``, whose name says the mutation it applies. The ``subtreeinclusion``
and ``subtreeconsistency`` folders belong to a different draft and are not
collected. The vectors are never copied into this repository.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from conftest import SHARED, shared_path

from canopy.errors import VerificationError
from canopy.ledger.merkle import verify_consistency, verify_inclusion

TESTDATA = ("vectors", "rfc6962-merkle", "testdata")


def _vector_files(kind: str) -> list:
    """One param per JSON file under testdata/<kind>, or one sentinel if none are there."""
    root = SHARED.joinpath(*TESTDATA)
    files = sorted(root.joinpath(kind).rglob("*.json")) if root.joinpath(kind).is_dir() else []
    if not files:
        return [pytest.param(None, id=f"{kind}-vectors-missing")]
    return [pytest.param(f, id=f.relative_to(root).as_posix()) for f in files]


def _load(kind: str, vector: Path | None) -> dict:
    if vector is None:
        shared_path(*TESTDATA, kind)  # skips when the shared data is absent
        pytest.fail(f"no {kind} vectors found under {SHARED.joinpath(*TESTDATA, kind)}")
    return json.loads(vector.read_text(encoding="utf-8"))


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(value: list[str] | None) -> list[bytes]:
    return [_b64(item) for item in value or []]


@pytest.mark.parametrize("vector", _vector_files("inclusion"))
def test_inclusion_vector(vector):
    v = _load("inclusion", vector)
    args = (v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), _proof(v["proof"]), _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(VerificationError):
            verify_inclusion(*args)
    else:
        assert verify_inclusion(*args) is None


@pytest.mark.parametrize("vector", _vector_files("consistency"))
def test_consistency_vector(vector):
    v = _load("consistency", vector)
    args = (v["size1"], v["size2"], _b64(v["root1"]), _b64(v["root2"]), _proof(v["proof"]))
    if v["wantErr"]:
        with pytest.raises(VerificationError):
            verify_consistency(*args)
    else:
        assert verify_consistency(*args) is None
