"""Canonical JSON: RFC 8785 (JSON Canonicalization Scheme, JCS).

Every byte string that Canopy hashes or signs is produced here and only here.
The common case (no floats, keys that sort the same in UTF-16 and in code
points) goes through the C-accelerated ``json`` encoder, which emits exactly
the JCS bytes for such values; anything else is handed to the ``rfc8785``
reference implementation. ``tests/test_canonical.py`` cross-checks the two.

Values are validated on the way in: NaN, infinities, integers outside the
I-JSON safe range, non-string keys, lone surrogates and non-JSON types (bytes,
sets, datetimes, Decimals, ...) raise ``CanonicalEncodingError`` naming the
path of the offending value, instead of being coerced silently.
"""

from __future__ import annotations

import json
import math
from typing import Any

import rfc8785

from canopy.errors import CanonicalEncodingError

__all__ = ["MAX_SAFE_INTEGER", "canonical_bytes", "canonical_text", "trusted_canonical_bytes"]

#: I-JSON (RFC 7493) safe integer range, which JCS inherits.
MAX_SAFE_INTEGER = 2**53 - 1


def _not_json(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _make_encode() -> Any:
    """``json.JSONEncoder(ensure_ascii=False, allow_nan=False, sort_keys=True,
    separators=(",", ":")).encode``, with its C encoder built once instead of on
    every call (a measurable share of encoding the small objects Canopy hashes).
    Values are validated before they get here, so no circular-reference check."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C encoder
        return json.JSONEncoder(
            ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
        ).encode
    encoder = make(
        None, _not_json, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def encode(value: Any) -> str:
        return "".join(encoder(value, 0))

    return encode


_ENCODE = _make_encode()


def canonical_bytes(value: Any) -> bytes:
    """Return the RFC 8785 canonical UTF-8 encoding of ``value``."""
    try:
        needs_reference = _check(value, None)
    except RecursionError:
        raise CanonicalEncodingError("value is nested too deeply to encode") from None
    if needs_reference:
        try:
            return rfc8785.dumps(value)
        except Exception as e:  # pragma: no cover - _check rejects these first
            raise CanonicalEncodingError(f"cannot canonicalize value: {e}") from e
    try:
        return _ENCODE(value).encode("utf-8")
    except UnicodeEncodeError as e:
        raise CanonicalEncodingError(f"string is not valid Unicode (lone surrogate): {e}") from e
    except RecursionError:
        raise CanonicalEncodingError("value is nested too deeply to encode") from None


def trusted_canonical_bytes(value: Any) -> bytes:
    """JCS bytes of a value Canopy built itself from strings, safe integers,
    booleans, None, lists and dicts with ASCII keys (no floats): for such values
    the C encoder's output is exactly RFC 8785, so the validating walk is skipped.
    Anything it cannot encode falls back to ``canonical_bytes``, which explains why.
    """
    try:
        return _ENCODE(value).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        return canonical_bytes(value)


def canonical_text(value: Any) -> str:
    """The canonical encoding as ``str`` (for storage in TEXT columns)."""
    return canonical_bytes(value).decode("utf-8")


# A path is built only when an error is reported: a chain of (parent, step)
# tuples is cheap to extend, a formatted string per value is not.
_Path = tuple[Any, str | int] | None


def _render(path: _Path) -> str:
    steps: list[str] = []
    while path is not None:
        path, step = path
        steps.append(f"[{step}]" if isinstance(step, int) else f".{step}")
    return "$" + "".join(reversed(steps))


def _check_unicode(text: str, path: _Path, what: str) -> None:
    """Reject lone surrogates, which have no UTF-8 encoding."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:
            raise CanonicalEncodingError(
                f"{_render(path)}: {what} contains a lone surrogate"
            ) from e


def _check(value: Any, path: _Path) -> bool:
    """Validate ``value``; return True if the reference encoder must be used.

    The fast encoder differs from JCS only for floats (number formatting) and
    for object keys outside the Basic Multilingual Plane (JCS sorts by UTF-16
    code units, Python by code points). Exact-type tests first: this walk runs
    for every event field, and most values are plain strings.
    """
    kind = type(value)
    if kind is str:
        if not value.isascii():
            _check_unicode(value, path, "string")
        return False
    if kind is dict:
        return _check_members(value, path)
    if kind is list or kind is tuple:
        slow = False
        for index, item in enumerate(value):
            if _check(item, (path, index)):
                slow = True
        return slow
    if value is None or value is True or value is False:
        return False
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return False
        raise CanonicalEncodingError(
            f"{_render(path)}: integer {value} is outside the I-JSON safe range (+/-2^53-1); "
            "encode it as a string"
        )
    if isinstance(value, float):
        if math.isfinite(value):
            return True
        raise CanonicalEncodingError(f"{_render(path)}: {value!r} is not a JSON number")
    if isinstance(value, str):
        return _check(str(value), path)
    if isinstance(value, dict):
        return _check_members(value, path)
    if isinstance(value, list | tuple):
        return _check(list(value), path)
    raise CanonicalEncodingError(f"{_render(path)}: {type(value).__name__} is not a JSON type")


def _check_members(value: dict[Any, Any], path: _Path) -> bool:
    """``_check`` of an object, with plain string members checked inline."""
    slow = False
    for key, item in value.items():
        if type(key) is not str and not isinstance(key, str):
            raise CanonicalEncodingError(
                f"{_render(path)}: object key {key!r} is a {type(key).__name__}, not a string"
            )
        if not key.isascii():
            _check_unicode(key, path, f"object key {key!r}")
            if any(ord(ch) > 0xFFFF for ch in key):
                slow = True
        if type(item) is str:
            if not item.isascii():
                _check_unicode(item, (path, key), "string")
        elif _check(item, (path, key)):
            slow = True
    return slow
