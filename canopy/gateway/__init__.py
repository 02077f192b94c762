"""The HTTP gateway: Canopy as a shared governance service.

``python -m uvicorn canopy.service:app`` serves the seed package's endpoints
over our ledger (``POST /v1/authorize``, agents, audit, dashboard, approvals).
It calls the core like any other integration; the core never imports it.
Needs the ``gateway`` extra (FastAPI and uvicorn).
"""

from __future__ import annotations

from canopy.gateway.settings import GatewaySettings, SettingsError

__all__ = ["GatewaySettings", "SettingsError", "create_app"]


def create_app(settings: GatewaySettings | None = None):  # type: ignore[no-untyped-def]
    """The ASGI app (imported lazily: FastAPI is an optional dependency)."""
    from canopy.gateway.app import create_app as _create

    return _create(settings)
