"""A hard cap on request bodies, enforced while they arrive.

The declared ``Content-Length`` is checked first; a body sent without one (or
longer than declared) is counted as it streams, and the request is refused
with 413 as soon as it passes the cap, before anything parses it.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["BodyLimit"]

Scope = dict[str, Any]
Message = dict[str, Any]


class BodyLimit:
    """ASGI middleware: HTTP requests whose body exceeds ``max_bytes`` get 413."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                await self._refuse(
                    send, 400, "bad_content_length", "Content-Length is not a number"
                )
                return
            if too_big:
                await self._refuse_too_large(send)
                return
        received = 0
        started = refused = False

        async def counting_receive() -> Message:
            # Frameworks turn exceptions raised here into their own 400, so the
            # refusal is sent from here and the app sees the client go away.
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self._refuse_too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer; drop whatever the app says after it
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    async def _refuse_too_large(self, send: Any) -> None:
        await self._refuse(
            send, 413, "body_too_large", f"request bodies are limited to {self.max_bytes} bytes"
        )

    @staticmethod
    async def _refuse(send: Any, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode("ascii")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
