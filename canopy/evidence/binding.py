"""The action hash: what an approval and an execution are bound to.

SHA-256 over the canonical JSON of the normalized action type, the payload and
the agent's AVID. An approval for one payload cannot be spent on another, and
an execution record names exactly the action it ran.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from canopy.canonical import canonical_bytes

__all__ = ["action_hash"]


def action_hash(action_type: str, payload: Mapping[str, Any] | None, avid: str) -> str:
    document = {
        "domain": "canopy/action/v1",
        "action_type": action_type,
        "payload": payload,
        "avid": avid,
    }
    return hashlib.sha256(canonical_bytes(document)).hexdigest()
