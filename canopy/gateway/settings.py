"""Gateway configuration, read once from the environment at start-up.

Secure by default: with no API keys the gateway refuses every protected
request, unless local-only mode is asked for explicitly, and then it answers
loopback clients only. A configuration it cannot honour stops the start-up
with a message instead of serving with weaker protection than asked for.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from canopy.authorize import AUDIT_LOG_ENV, ledger_path_for
from canopy.errors import CanopyError

__all__ = [
    "API_KEYS_ENV",
    "INSECURE_ENV",
    "MAX_BODY_ENV",
    "MIN_KEY_LENGTH",
    "GatewaySettings",
    "SettingsError",
    "key_fingerprint",
]

API_KEYS_ENV = "CANOPY_API_KEYS"
INSECURE_ENV = "CANOPY_ALLOW_INSECURE_GATEWAY"
MAX_BODY_ENV = "CANOPY_GATEWAY_MAX_BODY_BYTES"
#: Shorter keys are refused: a gateway key is a bearer secret, not a password.
MIN_KEY_LENGTH = 16
DEFAULT_MAX_BODY = 1 << 20
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


class SettingsError(CanopyError, ValueError):
    """The gateway's environment asks for something it will not do."""


def key_fingerprint(key: str) -> str:
    """What the ledger and logs record of a key: never the key itself."""
    return "key-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class GatewaySettings:
    """``api_key_digests``: SHA-256 of each accepted key (keys are compared as
    digests, in constant time, and never kept in memory longer than needed)."""

    audit_log_path: Path
    api_key_digests: Mapping[bytes, str] = field(default_factory=dict)  # digest -> fingerprint
    allow_insecure: bool = False
    max_body_bytes: int = DEFAULT_MAX_BODY

    @property
    def protected(self) -> bool:
        return bool(self.api_key_digests)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewaySettings:
        env = os.environ if env is None else env
        return cls(
            audit_log_path=ledger_path_for(env.get(AUDIT_LOG_ENV) or None),
            api_key_digests=_parse_keys(env.get(API_KEYS_ENV, "")),
            allow_insecure=_parse_flag(INSECURE_ENV, env.get(INSECURE_ENV, "")),
            max_body_bytes=_parse_size(env.get(MAX_BODY_ENV, "")),
        )

    @classmethod
    def with_keys(cls, audit_log_path: str | os.PathLike[str], *keys: str) -> GatewaySettings:
        """Settings for embedding the gateway in a program (tests, self-check)."""
        return cls(Path(audit_log_path), _parse_keys(",".join(keys)))


def _parse_keys(text: str) -> dict[bytes, str]:
    digests: dict[bytes, str] = {}
    for raw in text.split(","):
        key = raw.strip()
        if not key:
            continue
        if len(key) < MIN_KEY_LENGTH:
            raise SettingsError(
                f"{API_KEYS_ENV}: a key of {len(key)} characters is too short "
                f"(at least {MIN_KEY_LENGTH}; e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`)"
            )
        digests[hashlib.sha256(key.encode("utf-8")).digest()] = key_fingerprint(key)
    return digests


def _parse_flag(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name} must be true or false, got {text!r}")


def _parse_size(text: str) -> int:
    if not text.strip():
        return DEFAULT_MAX_BODY
    try:
        size = int(text)
    except ValueError:
        raise SettingsError(f"{MAX_BODY_ENV} must be a number of bytes, got {text!r}") from None
    if size < 1024:
        raise SettingsError(f"{MAX_BODY_ENV} must be at least 1024, got {size}")
    return size
