"""Storage form of an event's JSON body: small bodies as text, large ones deflated.

Authorization bodies repeat the same keys, layer names and verdicts, and carry
hex digests; raw deflate with a preset dictionary of that vocabulary roughly
halves them, which keeps a ledger near 800 bytes per authorization event. The
stored form is only a container: the leaf commits to the field values, so
verification decompresses and re-derives every commitment as usual.

Format of a compressed body: one version byte (0x01 = deflate, window 2^10,
dictionary ``_DICTIONARY_V1``) followed by the raw deflate stream. The
dictionary of a version never changes; a new vocabulary gets a new version.
"""

from __future__ import annotations

import zlib

from canopy.errors import CanonicalEncodingError

__all__ = ["COMPRESS_MIN_BYTES", "decode_body", "encode_body"]

COMPRESS_MIN_BYTES = 160
_VERSION_DEFLATE_V1 = 1
_WBITS = -10
_DICTIONARY_V1 = (
    b'"approval_id":"","approved":false,"approver":"","expires_at":"","action_hash":"'
    b'"incident_id":"","related_authorization_ids":["","reporter":"","description":"'
    b'"status":"error","error_type":"","error_message":"","duration_ms":,"result_sha256":"'
    b'"payload":{"args":[],"amount":"","currency":"USD","recipient":"","method":"POST",'
    b'"headers":{},"content":"","path":"/home/","url":"https://api.","cmd":"","command":"'
    b'"override_used":null,"override_possible":false,"override_key":null,"shadow":false,'
    b'"severity":"low","severity":"medium","severity":"high","severity":"critical",'
    b'"reason":"Allowed: no layer objected","reason_code":"","rule_id":"","layer":"policy",'
    b'"context_hash":"","constitution_hash":"","policy_hash":"","policy_file":"",'
    b'"policy_version":"","policy_seq":,"prompt_sha256":"","response_sha256":"",'
    b'"layers":[{"decision":"ALLOW","layer":"constitution","reason":"","rule_id":null},'
    b'{"decision":"ALLOW","layer":"civil_code","reason":"","rule_id":null},'
    b'{"decision":"REQUIRE_APPROVAL","layer":"firewall","reason":"","rule_id":"firewall.'
    b'{"decision":"DENY","layer":"policy","reason":"","rule_id":"policy.'
    b'"detail":{"decided_by":"firewall","witness":{"key_id":"canopy.ledger/'
    b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
)


#: A compressor already holding the dictionary: copying it is cheaper than
#: loading the dictionary into a new one for every body.
_PRIMED = zlib.compressobj(6, zlib.DEFLATED, _WBITS, 4, zlib.Z_DEFAULT_STRATEGY, _DICTIONARY_V1)


def encode_body(body: str | bytes) -> str | bytes:
    """The stored form of a canonical JSON body (given as text or UTF-8 bytes):
    text when short or incompressible, else the deflate container."""
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    if len(raw) >= COMPRESS_MIN_BYTES:
        compressor = _PRIMED.copy()
        packed = compressor.compress(raw) + compressor.flush()
        if len(packed) + 1 < len(raw):
            return bytes([_VERSION_DEFLATE_V1]) + packed
    return raw.decode("utf-8") if isinstance(body, bytes) else body


def decode_body(stored: str | bytes) -> str:
    """Back to the canonical JSON text; a damaged container is an encoding error."""
    if isinstance(stored, str):
        return stored
    data = bytes(stored)
    if not data or data[0] != _VERSION_DEFLATE_V1:
        raise CanonicalEncodingError("stored event body has an unknown container version")
    try:
        decompressor = zlib.decompressobj(_WBITS, _DICTIONARY_V1)
        raw = decompressor.decompress(data[1:]) + decompressor.flush()
        if not decompressor.eof or decompressor.unused_data:
            raise zlib.error("truncated or trailing data")
        return raw.decode("utf-8")
    except (zlib.error, UnicodeDecodeError) as e:
        raise CanonicalEncodingError(f"stored event body cannot be decompressed: {e}") from e
