"""AVID: the agent's stable identity across calls, traces and environments.

The seed package folded the trace and per-call settings into the identity, so
one agent had a new AVID per trace and audit trails could not follow it. Ours
is derived only from what identifies the agent itself: its public key and
creation time when given, else an explicit agent id or name. Everything else
in ``agent_ctx`` (trace, environment, limits, safe paths) is per-call setting.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from canopy.canonical import canonical_bytes

__all__ = ["AVID_PREFIX", "IDENTITY_KEYS", "avid_for", "identity_of"]

AVID_PREFIX = "AVID-"
#: The agent_ctx keys that name the agent, in order of strength.
IDENTITY_KEYS = ("public_key", "created_at", "agent_id", "agent_name", "name")
_DOMAIN = "canopy/avid/v1"


def _normalize_time(value: Any) -> Any:
    """Equal instants written differently (Z vs +00:00) are one agent."""
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def identity_of(agent_ctx: Mapping[str, Any]) -> dict[str, Any]:
    """The identity-bearing part of a context (what the AVID is a digest of)."""
    if agent_ctx.get("public_key") is not None:
        identity = {"public_key": agent_ctx["public_key"]}
        if agent_ctx.get("created_at") is not None:
            identity["created_at"] = _normalize_time(agent_ctx["created_at"])
        return identity
    for key in ("agent_id", "agent_name", "name"):
        if agent_ctx.get(key) is not None:
            return {key: agent_ctx[key]}
    return {"anonymous": True}


def avid_for(agent_ctx: Mapping[str, Any]) -> str:
    """``AVID-`` + 32 hex digits of SHA-256 over the canonical identity."""
    key = tuple(agent_ctx.get(name) for name in IDENTITY_KEYS)
    if all(value is None or type(value) is str for value in key):
        # The usual case: one agent calls again and again with the same names.
        return _avid_of_names(key)
    return _avid_of(identity_of(agent_ctx))


@lru_cache(maxsize=4096)
def _avid_of_names(names: tuple[str | None, ...]) -> str:
    """The AVID for identity values that are all plain strings (or absent).

    The key holds every input ``identity_of`` reads, and only exact ``str`` or
    ``None``: no two different inputs compare equal (as ``1``, ``1.0`` and ``True``
    would), so a cached answer is always the one ``_avid_of`` would compute.
    """
    return _avid_of(identity_of(dict(zip(IDENTITY_KEYS, names, strict=True))))


def _avid_of(identity: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(canonical_bytes({"domain": _DOMAIN, "identity": identity})).hexdigest()
    return AVID_PREFIX + digest[:32]
