"""Who may call the gateway: API keys, or loopback clients in local-only mode.

A key arrives as ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` (the two
forms ``guard_tool_http`` sends). It is hashed and compared against every
configured digest with ``hmac.compare_digest``, without stopping at the first
match, so timing says nothing about which key, or how much of one, was right.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from canopy.gateway.settings import API_KEYS_ENV, INSECURE_ENV, GatewaySettings

__all__ = ["LOCAL_PRINCIPAL", "Principal", "Refusal", "authenticate"]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller as the ledger records it: a key's fingerprint, or ``local``."""

    name: str


LOCAL_PRINCIPAL = Principal("local-insecure")


class Refusal(Exception):
    """A request the gateway will not serve: HTTP status, error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _presented_key(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
    key = headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _match(settings: GatewaySettings, key: str) -> str | None:
    presented = hashlib.sha256(key.encode("utf-8")).digest()
    found = None
    for digest, fingerprint in settings.api_key_digests.items():
        if hmac.compare_digest(presented, digest):
            found = fingerprint
    return found


def authenticate(
    settings: GatewaySettings, headers: Mapping[str, str], client_host: str | None
) -> Principal:
    """The caller of a protected endpoint, or a ``Refusal`` saying why not."""
    if settings.protected:
        key = _presented_key(headers)
        if key is None:
            raise Refusal(
                401,
                "missing_api_key",
                "send an API key as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
            )
        fingerprint = _match(settings, key)
        if fingerprint is None:
            raise Refusal(401, "invalid_api_key", "the API key is not one this gateway accepts")
        return Principal(fingerprint)
    if not settings.allow_insecure:
        raise Refusal(
            503,
            "gateway_not_configured",
            f"no API keys are configured: set {API_KEYS_ENV}, or {INSECURE_ENV}=true "
            "for local-only use",
        )
    if not _is_loopback(client_host):
        raise Refusal(
            403,
            "local_only",
            f"this gateway runs without API keys ({INSECURE_ENV}) and answers loopback "
            "clients only",
        )
    return LOCAL_PRINCIPAL
