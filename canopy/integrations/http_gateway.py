"""Authorization through a Canopy HTTP gateway: ``POST {gateway}/v1/authorize``.

The request body is ``{"agent_ctx", "action_type", "action_payload"}``; the
answer is the JSON of an ``authorize_action`` result. The transport is any
object with ``post(url, json=..., headers=..., timeout=...)`` returning
something with ``status_code`` and ``json()`` (``requests`` and ``httpx``
clients fit); the default is a small ``urllib`` client that refuses redirects.

It fails closed: an unreachable gateway, a non-2xx status, a body that is not a
JSON object, or a decision that is not ALLOW, DENY or REQUIRE_APPROVAL becomes a
DENY decision (``reason_code`` ``gateway.*``), which the guard raises as
``CanopyPermissionError``. The tool never runs on an answer we cannot read.
"""

from __future__ import annotations

import json as _json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from canopy.authorize import _jsonable
from canopy.decisions.extract import normalize_action_type
from canopy.decisions.model import Decision

__all__ = [
    "API_KEY_ENV",
    "AUTHORIZE_PATH",
    "GATEWAY_URL_ENV",
    "HttpAuthorizer",
    "HttpClient",
    "HttpResponse",
    "UrllibClient",
]

GATEWAY_URL_ENV = "CANOPY_GATEWAY_URL"
API_KEY_ENV = "CANOPY_API_KEY"
AUTHORIZE_PATH = "/v1/authorize"
#: Larger answers are not read (and so are denied).
MAX_RESPONSE_BYTES = 1 << 20
_DECISIONS = frozenset(d.value for d in Decision)
_OPTIONAL_TEXT = ("reason", "reason_code", "trace_id", "avid", "action_type")

log = logging.getLogger("canopy")


class HttpResponse(Protocol):
    status_code: int

    def json(self) -> Any: ...


class HttpClient(Protocol):
    def post(
        self, url: str, *, json: Any, headers: Mapping[str, str], timeout: float
    ) -> HttpResponse: ...


@dataclass(frozen=True, slots=True)
class UrllibResponse:
    status_code: int
    body: bytes

    def json(self) -> Any:
        if len(self.body) > MAX_RESPONSE_BYTES:
            raise ValueError(f"response larger than {MAX_RESPONSE_BYTES} bytes")
        return _json.loads(self.body)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as the 3xx it is: not 2xx, so the call is denied."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class UrllibClient:
    """The default transport: one JSON POST through ``urllib``, no redirects."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirect)

    def post(
        self, url: str, *, json: Any, headers: Mapping[str, str], timeout: float
    ) -> UrllibResponse:
        data = _json.dumps(json, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        request = urllib.request.Request(
            url,
            data=data.encode("utf-8"),
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json", **headers},
        )
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return UrllibResponse(response.status, response.read(MAX_RESPONSE_BYTES + 1))
        except urllib.error.HTTPError as e:
            with e:
                return UrllibResponse(e.code, e.read(MAX_RESPONSE_BYTES + 1))


@dataclass(frozen=True, slots=True)
class HttpAuthorizer:
    """Asks a gateway for the decision; an ``Authorizer`` for the guards."""

    endpoint: str
    client: HttpClient
    headers: Mapping[str, str] = field(repr=False)
    timeout: float = 10.0

    @classmethod
    def for_gateway(
        cls,
        gateway_url: str | None,
        *,
        client: HttpClient | None = None,
        api_key: str | None = None,
        api_key_header: str = "Authorization",
        timeout: float = 10.0,
    ) -> HttpAuthorizer:
        base = gateway_url or os.environ.get(GATEWAY_URL_ENV)
        if not base:
            raise ValueError(f"guard_tool_http needs gateway_url (or {GATEWAY_URL_ENV})")
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"gateway_url must be an http(s) URL, got {base!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        headers: dict[str, str] = {}
        match api_key_header.lower():
            case "authorization":
                if key:
                    headers["Authorization"] = f"Bearer {key}"
            case "x-api-key":
                if key:
                    headers["X-API-Key"] = key
            case _:
                raise ValueError(
                    f"api_key_header must be 'Authorization' or 'X-API-Key', got {api_key_header!r}"
                )
        endpoint = base.rstrip("/") + AUTHORIZE_PATH
        return cls(endpoint, client if client is not None else UrllibClient(), headers, timeout)

    def __call__(
        self, agent_ctx: Any, action_type: str, action_payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        requested = normalize_action_type(action_type)
        if not isinstance(agent_ctx, Mapping):
            return self._refused(
                f"agent_ctx must be a mapping, not {type(agent_ctx).__name__}",
                "gateway.malformed_input",
                requested,
            )
        body = {
            "agent_ctx": _jsonable(dict(agent_ctx)),
            "action_type": action_type,
            "action_payload": action_payload,
        }
        try:
            response = self.client.post(
                self.endpoint, json=body, headers=dict(self.headers), timeout=self.timeout
            )
        except Exception as e:  # a boundary: whatever the transport raises, the answer is no
            return self._refused(
                f"the gateway is unreachable ({type(e).__name__}: {e})",
                "gateway.unreachable",
                requested,
            )
        status = getattr(response, "status_code", None)
        if type(status) is not int or not 200 <= status < 300:
            return self._refused(
                f"the gateway answered HTTP {status}", "gateway.http_error", requested
            )
        try:
            data = response.json()
        except Exception as e:
            return self._refused(
                f"the gateway's answer is not JSON ({type(e).__name__}: {e})",
                "gateway.malformed_response",
                requested,
            )
        problem = _problem(data)
        if problem is not None:
            return self._refused(
                f"the gateway's answer is malformed: {problem}",
                "gateway.malformed_response",
                requested,
            )
        result = dict(data)
        result["decision"] = Decision(data["decision"])
        result["reason"] = data.get("reason") or ""
        result["action_type"] = data.get("action_type") or requested
        result["gateway"] = self.endpoint
        return result

    def _refused(self, reason: str, code: str, action_type: str) -> dict[str, Any]:
        log.warning("gateway %s: %s; denying", self.endpoint, reason)
        return {
            "decision": Decision.DENY,
            "reason": f"Denied: {reason}; failing closed",
            "reason_code": code,
            "authorization_id": None,
            "trace_id": None,
            "avid": None,
            "action_type": action_type,
            "witness": None,
            "gateway": self.endpoint,
        }


def _problem(data: Any) -> str | None:
    """What makes a gateway answer unusable (None if it is usable)."""
    if not isinstance(data, dict):
        return f"expected a JSON object, got {type(data).__name__}"
    decision = data.get("decision")
    if not isinstance(decision, str) or decision not in _DECISIONS:
        return f"decision {decision!r} is not one of {', '.join(sorted(_DECISIONS))}"
    authorization_id = data.get("authorization_id")
    if not isinstance(authorization_id, str) or not authorization_id:
        return "authorization_id is missing"
    for name in _OPTIONAL_TEXT:
        value = data.get(name)
        if value is not None and not isinstance(value, str):
            return f"{name} must be a string, not {type(value).__name__}"
    return None
