"""canopy.canonical: RFC 8785 (JCS) bytes, cross-checked against the rfc8785 package."""

from __future__ import annotations

import datetime
import decimal
import json
import re

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from canopy.canonical import MAX_SAFE_INTEGER, canonical_bytes, canonical_text
from canopy.errors import CanonicalEncodingError

# --- hypothesis cross-check against the reference implementation -------------------

#: Characters that exercise JCS's UTF-16 key order: high BMP vs astral, escapes, controls.
TRICKY = 'aAz\u007f\u0080\u00e9\u2028\ud7ff\ue000\uffff\U00010000\U0001f600\U0010ffff"\\\n\x00\x1f'
chars = st.one_of(
    st.sampled_from(TRICKY),
    st.characters(codec="utf-8"),  # every code point but the surrogates
    st.characters(min_codepoint=0x10000),
)
text = st.text(alphabet=chars, max_size=12)
safe_ints = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | safe_ints | finite_floats | text
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(text, children, max_size=6),
    max_leaves=30,
)
#: The same values without floats: these take canopy's fast (json module) path.
json_values_no_floats = st.recursive(
    st.none() | st.booleans() | safe_ints | text,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(text, children, max_size=6),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_matches_rfc8785(value):
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=150, deadline=None)
@given(json_values_no_floats)
def test_fast_path_matches_rfc8785(value):
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(alphabet=st.sampled_from(TRICKY), max_size=3), safe_ints))
def test_key_order_matches_rfc8785(value):
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=60, deadline=None)
@given(json_values)
def test_canonical_text_round_trips_through_json(value):
    encoded = canonical_text(value)
    assert encoded.encode("utf-8") == canonical_bytes(value)
    # Integral floats are written without a fraction; read every number back as a float.
    assert canonical_bytes(json.loads(encoded, parse_int=float)) == canonical_bytes(value)


# --- known JCS examples ------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, b"null"),
        (True, b"true"),
        (False, b"false"),
        (0, b"0"),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
        (MAX_SAFE_INTEGER, b"9007199254740991"),
        ("", b'""'),
        ([], b"[]"),
        ({}, b"{}"),
        ((1, "a"), b'[1,"a"]'),
        ({"b": 1, "a": [1.0, 1e21, -0.0]}, b'{"a":[1,1e+21,0],"b":1}'),
        ({"b": 2, "a": 1, "c": {"z": None, "y": True}}, b'{"a":1,"b":2,"c":{"y":true,"z":null}}'),
        (
            [1e-7, 1e-6, 0.5, 123456789012345680000.0, 1e20],
            b"[1e-7,0.000001,0.5,123456789012345680000,100000000000000000000]",
        ),
        ([4.5, 2e-3, 0.000001, 333333333.3333333], b"[4.5,0.002,0.000001,333333333.3333333]"),
        ([5e-324, 1.7976931348623157e308], b"[5e-324,1.7976931348623157e+308]"),
        # Escapes: only the JSON-mandatory ones, short forms where they exist, lowercase hex.
        ('"\\/\b\f\n\r\t\x00\x1f\x7f', b'"\\"\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f\x7f"'),
        ("\u20ac\U0001f600\u2028", '"\u20ac\U0001f600\u2028"'.encode()),
        # RFC 8785 §3.2.3: keys sort by UTF-16 code units, so U+1F600 (D83D DE00)
        # comes before U+FFFF and U+E000, unlike code point order.
        (
            {"\uffff": 1, "\U0001f600": 2, "\ue000": 3, "a": 4},
            '{"a":4,"\U0001f600":2,"\ue000":3,"\uffff":1}'.encode(),
        ),
        # The RFC 8785 §3.2.3 sorting example.
        (
            {
                "\u20ac": "Euro Sign",
                "\r": "Carriage Return",
                "\ufb33": "Hebrew Letter Dalet With Dagesh",
                "1": "One",
                "\U0001f600": "Emoji: Grinning Face",
                "\u0080": "Control",
                "\u00f6": "Latin Small Letter O With Diaeresis",
            },
            (
                '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
                '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
                '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
            ).encode(),
        ),
    ],
)
def test_known_encodings(value, expected):
    assert canonical_bytes(value) == expected
    assert canonical_text(value) == expected.decode("utf-8")


def test_nested_astral_key_uses_utf16_order():
    value = {"outer": [{"\uffff": 1, "\U00010000": 2}], "n": 1}
    assert canonical_bytes(value) == '{"n":1,"outer":[{"\U00010000":2,"\uffff":1}]}'.encode()


# --- rejections -----------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "path"),
    [
        (float("nan"), "$"),
        (float("inf"), "$"),
        (float("-inf"), "$"),
        (2**53, "$"),
        (-(2**53), "$"),
        (10**30, "$"),
        (b"bytes", "$"),
        ({1, 2}, "$"),
        (frozenset(), "$"),
        (datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC), "$"),
        (datetime.date(2024, 1, 1), "$"),
        (decimal.Decimal("1.5"), "$"),
        (object(), "$"),
        (Opaque(), "$"),
        ({1: "a"}, "$"),
        ({None: "a"}, "$"),
        ({("a",): 1}, "$"),
        ("\ud800", "$"),
        ("ok \udfff", "$"),
        ({"\ud800": 1}, "$"),
        ({"a": [1, {"b": float("nan")}]}, "$.a[1].b"),
        ({"a": [1, {"b": 2**53}]}, "$.a[1].b"),
        ({"a": [1, {"b": b"x"}]}, "$.a[1].b"),
        ({"a": {"b": {2: 1}}}, "$.a.b"),
        ({"a": ["x", "\ud800"]}, "$.a[1]"),
        ({"a": {"\udc00": 1}}, "$.a"),
        # With a float elsewhere, the value would take the reference encoder's path.
        ({"f": 1.5, "s": "\ud800"}, "$.s"),
        ({"f": 1.5, "k": {"\ud800": 1}}, "$.k"),
        ([1.5, float("inf")], "$[1]"),
    ],
)
def test_rejected_values_name_their_path(value, path):
    with pytest.raises(CanonicalEncodingError, match=rf"^{re.escape(path)}: ") as info:
        canonical_bytes(value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(CanonicalEncodingError):
        canonical_text(value)


def test_safe_integer_bounds_are_inclusive():
    assert canonical_bytes([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == (
        b"[9007199254740991,-9007199254740991]"
    )
    with pytest.raises(CanonicalEncodingError, match=r"9007199254740992"):
        canonical_bytes(MAX_SAFE_INTEGER + 1)
    with pytest.raises(CanonicalEncodingError, match=r"-9007199254740992"):
        canonical_bytes(-MAX_SAFE_INTEGER - 1)
