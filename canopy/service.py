"""``python -m uvicorn canopy.service:app``: the gateway, configured from the environment.

``CANOPY_API_KEYS`` (comma-separated keys clients send as ``Authorization:
Bearer KEY`` or ``X-API-Key``), ``CANOPY_AUDIT_LOG_PATH`` (the ledger),
``CANOPY_POLICY_FILE``, ``CANOPY_ALLOW_INSECURE_GATEWAY=true`` (no keys,
loopback clients only), ``CANOPY_GATEWAY_MAX_BODY_BYTES``. See canopy/gateway.
"""

from __future__ import annotations

from canopy.gateway.app import create_app

app = create_app()
