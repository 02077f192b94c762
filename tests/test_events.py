"""The event encoding's fast paths agree with the reference encoder."""

from __future__ import annotations

import base64
import json
import os

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from canopy.canonical import canonical_bytes
from canopy.ledger.events import (
    Event,
    field_digest,
    field_digests,
    field_salts,
    leaf_bytes_from_digests,
    now_timestamp,
    value_bytes,
)

names = st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(values)
def test_value_bytes_is_jcs(value: object) -> None:
    assert value_bytes(value) == rfc8785.dumps(value)


@given(st.text())
def test_string_fast_path_matches_for_every_string(text: str) -> None:
    try:
        expected = rfc8785.dumps(text)
    except Exception:
        return  # lone surrogates: both must refuse, checked in test_canonical
    assert value_bytes(text) == expected


@given(st.dictionaries(names, values, max_size=8), st.integers(0, 2**40))
def test_leaf_bytes_are_the_jcs_of_the_leaf_object(fields: dict, seq: int) -> None:
    salt = os.urandom(16)
    ts = now_timestamp()
    digests = field_digests(salt, fields)
    salts = field_salts(salt, fields)
    assert digests == {n: field_digest(n, v, salts[n]) for n, v in fields.items()}
    reference = canonical_bytes(
        {
            "canopy": "event/v1",
            "seq": seq,
            "ts": ts,
            "kind": "authorization",
            "fields": {n: base64.b64encode(d).decode() for n, d in digests.items()},
        }
    )
    assert leaf_bytes_from_digests(seq, ts, "authorization", digests) == reference
    assert Event(seq, ts, "authorization", fields, salt).leaf_bytes() == reference
    json.loads(reference)


def test_timestamps_are_canonical_and_ordered() -> None:
    stamps = [now_timestamp() for _ in range(1000)]
    assert stamps == sorted(stamps)
    assert all(len(s) == 27 and s.endswith("Z") for s in stamps)


@given(st.dictionaries(names, values, max_size=8))
def test_verifier_fast_rebuild_matches_the_reference_leaf(fields: dict) -> None:
    from canopy.ledger.store import _prepare, rebuild_leaf

    fields = {
        k: v
        for k, v in fields.items()
        if k not in {"trace_id", "avid", "decision", "authorization_id", "action_type"}
    }
    fields["trace_id"] = "t-1"
    prepared = _prepare("authorization", fields)
    ts = now_timestamp()
    columns = ("t-1", None, None, None, None)  # INDEXED_FIELDS order
    rebuilt, leaf = rebuild_leaf(7, ts, "authorization", columns, prepared.body, prepared.salt)
    assert rebuilt == fields
    assert leaf == Event(7, ts, "authorization", fields, prepared.salt).leaf_hash()


@given(st.dictionaries(names, values, max_size=8), st.integers(0, 2**40))
def test_fused_leaf_hash_matches_the_two_step_encoding(fields: dict, seq: int) -> None:
    from canopy.ledger.events import canonical_values, leaf_hash_from_canonical

    salt, ts = os.urandom(16), now_timestamp()
    canonical = canonical_values(fields)
    expected = Event(seq, ts, "authorization", fields, salt).leaf_hash()
    assert leaf_hash_from_canonical(seq, ts, "authorization", salt, canonical) == expected


@given(st.dictionaries(names, values, max_size=8))
def test_split_body_returns_each_members_canonical_bytes(fields: dict) -> None:
    from canopy.ledger.events import canonical_values
    from canopy.ledger.store import split_body

    decoded, raw = split_body(canonical_bytes(fields).decode("utf-8"))
    assert raw == canonical_values(fields)
    assert decoded == fields


@pytest.mark.parametrize(
    "body",
    [
        '{"a":1 }',  # whitespace after a value
        '{ "a":1}',
        '{"a" :1}',
        '{"a":1,"a":2}',  # duplicate member
        '{"b":1,"a":2}',  # members out of order
        '{"\\u0061":1}',  # escaped member name
        '{"a":1,}',
        '{"a":1}}',
        '{"a":1} ',
        '{"a":1',
        '["a",1]',
        '{"a":}',
        "",
    ],
)
def test_split_body_refuses_non_canonical_layouts(body: str) -> None:
    from canopy.errors import CanonicalEncodingError
    from canopy.ledger.store import split_body

    with pytest.raises(CanonicalEncodingError):
        split_body(body)


def test_a_respelled_value_changes_the_rebuilt_leaf() -> None:
    from canopy.ledger.store import _prepare, rebuild_leaf

    fields = {"amount": 10, "note": "é", "nested": {"b": [1, 2], "a": None}}
    prepared = _prepare("execution", fields)
    ts = now_timestamp()
    columns = (None,) * 5  # no indexed fields
    _, leaf = rebuild_leaf(3, ts, "execution", columns, prepared.body, prepared.salt)
    assert leaf == Event(3, ts, "execution", fields, prepared.salt).leaf_hash()
    for respelled in (
        '{"amount":10.0,"nested":{"a":null,"b":[1,2]},"note":"é"}',
        '{"amount":1e1,"nested":{"a":null,"b":[1,2]},"note":"é"}',
        '{"amount":10,"nested":{"a":null,"b":[1, 2]},"note":"é"}',
        '{"amount":10,"nested":{"b":[1,2],"a":null},"note":"é"}',
        '{"amount":10,"nested":{"a":null,"b":[1,2]},"note":"\\u00e9"}',
    ):
        _, other = rebuild_leaf(3, ts, "execution", columns, respelled, prepared.salt)
        assert other != leaf, respelled


def test_salts_are_fresh_per_event_per_thread_and_after_fork() -> None:
    import threading

    from canopy.ledger.events import new_salt

    salts = [new_salt() for _ in range(1000)]
    others: list[bytes] = []
    worker = threading.Thread(target=lambda: others.extend(new_salt() for _ in range(600)))
    worker.start()
    worker.join()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child's next salts must not repeat the parent's buffer
        os.write(write, b"".join(new_salt() for _ in range(300)))
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 300 * 16)
    mine = [new_salt() for _ in range(300)]
    all_salts = salts + others + mine + [child[i : i + 16] for i in range(0, len(child), 16)]
    assert all(len(s) == 16 for s in all_salts)
    assert len(set(all_salts)) == len(all_salts) == 2200


@given(st.dictionaries(names, values, max_size=8))
def test_fused_members_match_the_digests(fields: dict) -> None:
    from canopy.ledger.events import (
        _members,
        canonical_values,
        digests_from_canonical,
        leaf_members,
    )

    salt = os.urandom(16)
    canonical = canonical_values(fields)
    assert leaf_members(salt, canonical) == _members(digests_from_canonical(salt, canonical))
