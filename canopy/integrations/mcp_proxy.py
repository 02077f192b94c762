"""An MCP server that governs another MCP server's tools: ``canopy mcp-proxy``.

The proxy speaks MCP on its own stdio to a client (Claude Desktop, an agent
framework) and is itself a client of one upstream server it starts over stdio.
It lists the upstream's tools unchanged (names, descriptions, input and output
schemas) and governs every ``tools/call`` with a ``ToolGate``:

- ALLOW: the call is forwarded; the ledger holds authorization, execution and
  tool_result events. An upstream result with ``isError`` (its tool raised) or
  a transport error is recorded as a tool_result error and passed back as is.
- DENY and REQUIRE_APPROVAL: nothing is forwarded; the client gets a
  ``CallToolResult`` with ``isError: true`` naming the decision, the reason and
  the authorization id (and, for REQUIRE_APPROVAL, the ``canopy approvals
  approve`` command). Once an operator has approved, the same call with the same
  arguments runs under that approval, once: the gate finds it on the ledger, so
  this holds across proxy sessions too (the default agent identity is derived
  from the upstream command, not from the session).
- A tool the upstream did not list is never forwarded, but it is still decided
  and recorded like any call (an agent probing for hidden tools leaves
  evidence): a DENY or REQUIRE_APPROVAL is refused as above; otherwise the
  ledger holds authorization, execution and a tool_result error
  ``UnlistedToolError`` saying nothing was forwarded.

Resources and prompts, when the upstream offers them:

- ``resources/list`` and ``resources/templates/list`` are forwarded.
- ``resources/read`` is governed: a ``file://`` URI as ``read_file`` of its
  local path (the path firewall applies), any other URI as ``read_resource``
  with the URI under ``resource`` (network URIs are analysed, custom schemes
  such as ``notes://today`` name data inside the upstream). A refusal is a
  JSON-RPC error with the same lines as a tool refusal; nothing is forwarded.
- ``prompts/list`` and ``prompts/get`` are forwarded ungoverned: a prompt only
  renders text, and whatever that text leads to arrives as a governed tool call.

Not forwarded: server-to-client requests of the upstream (sampling, elicitation,
roots), its notifications (list changes, logs, progress), subscriptions and
completions. The upstream inherits the proxy's environment.

Only ``mcp 1.x`` APIs are used (``Server`` decorators, camelCase fields); the
SDK-specific wiring is in ``_server`` and ``_Upstream``. Import this module only
where ``mcp`` is installed (``pip install canopy-runtime[mcp]``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import shlex
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import anyio
import mcp.types as types
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl, BaseModel

from canopy.authorize import ledger_path_for, open_ledger
from canopy.canonical import canonical_bytes
from canopy.decisions.model import Decision
from canopy.errors import CanopyError
from canopy.integrations.guards import ToolGate
from canopy.integrations.refusals import Blocked, gated_acall

__all__ = [
    "GovernedUpstream",
    "ProxyConfig",
    "UnlistedToolError",
    "UpstreamStartError",
    "default_agent_ctx",
    "resource_action",
    "run_proxy",
]

log = logging.getLogger("canopy.mcp_proxy")

_RESOURCE_TOOL = "resources/read"
_BLOCKING = (Decision.DENY, Decision.REQUIRE_APPROVAL)  # else: stopped after the decision


class UpstreamStartError(CanopyError):
    """The upstream MCP server could not be started or did not initialize."""


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """What ``run_proxy`` needs; the CLI builds one from its options."""

    upstream: tuple[str, ...]  # the command and its arguments
    agent_ctx: Mapping[str, Any] | None = None  # None: default_agent_ctx(upstream)
    action_types: Mapping[str, str] = field(default_factory=dict)  # tool -> action type
    audit_log_path: str | os.PathLike[str] | None = None
    policy_file: str | os.PathLike[str] | None = None
    record_results: bool = False
    startup_timeout: float = 30.0

    def __post_init__(self) -> None:
        if not self.upstream or not self.upstream[0]:
            raise ValueError("no upstream command given")
        for tool, action_type in self.action_types.items():
            if not tool.strip() or not action_type.strip():
                raise ValueError(f"empty tool name or action type in {tool!r}={action_type!r}")


def default_agent_ctx(upstream: Sequence[str]) -> dict[str, Any]:
    """An identity for the upstream server, stable across restarts of the same command.

    The AVID is derived from ``agent_id`` (a digest of the exact argv), so two
    differently configured servers are two agents, and the same server keeps its
    history. ``agent_name`` and ``mcp_upstream`` keep the command readable.
    """
    argv = [str(part) for part in upstream]
    digest = hashlib.sha256(canonical_bytes(argv)).hexdigest()[:24]
    return {
        "agent_id": f"mcp-upstream:{digest}",
        "agent_name": shlex.join(argv),
        "mcp_upstream": argv,
    }


def _session_ctx(config: ProxyConfig) -> dict[str, Any]:
    """The agent_ctx of this session: one trace per proxy run unless one is given."""
    ctx = (
        dict(config.agent_ctx)
        if config.agent_ctx is not None
        else default_agent_ctx(config.upstream)
    )
    ctx.setdefault("trace_id", f"mcp-{secrets.token_hex(8)}")
    return ctx


class _UpstreamToolError(Exception):
    """The upstream answered ``isError``: recorded as a failed tool_result, then passed back."""

    def __init__(self, result: types.CallToolResult) -> None:
        super().__init__(_text_of(result) or "the upstream tool reported an error")
        self.result = result


def _text_of(result: types.CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, types.TextContent))


def _error_result(text: str, meta: Mapping[str, Any] | None = None) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        isError=True,
        _meta=dict(meta) if meta else None,
    )


def _wire(result: BaseModel) -> dict[str, Any]:
    """A result as sent on the wire: what the tool_result digest commits to."""
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


class UnlistedToolError(Exception):
    """The client called a tool the upstream does not list: recorded, never forwarded."""


@dataclass(frozen=True, slots=True)
class _Unlisted:
    """The ``execute`` of a gate for a tool the upstream does not list."""

    name: str

    async def __call__(self) -> dict[str, Any]:
        raise UnlistedToolError(
            f"the upstream server lists no tool named {self.name!r}; nothing was forwarded"
        )


@dataclass(frozen=True, slots=True)
class _Forward:
    """The ``execute`` of a gate: one call to the upstream."""

    session: ClientSession
    name: str
    args: dict[str, Any]

    async def __call__(self) -> dict[str, Any]:
        result = await self.session.call_tool(self.name, self.args)
        if result.isError:
            raise _UpstreamToolError(result)
        return _wire(result)


@dataclass(slots=True)
class GovernedUpstream:
    """Decides each request of the client, and forwards only what Canopy clears.

    SDK-independent apart from ``mcp.types``: ``_server`` wires it to a
    low-level ``Server``, ``session`` is any connected ``ClientSession``.
    """

    session: ClientSession
    agent_ctx: Mapping[str, Any]
    ledger_path: Path
    action_types: Mapping[str, str] = field(default_factory=dict)
    policy_file: str | os.PathLike[str] | None = None
    record_results: bool = False
    gate: ToolGate = field(init=False)
    _tools: dict[str, types.Tool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Tools are decided as their own name unless action_types says otherwise.
        self.gate = ToolGate.local(
            agent_ctx=self.agent_ctx,
            audit_log_path=self.ledger_path,
            policy_file=self.policy_file,
            record_results=self.record_results,
        )

    # --- tools ---------------------------------------------------------------------

    async def list_tools(self) -> list[types.Tool]:
        """The upstream's tools, every page, unchanged."""
        tools: list[types.Tool] = []
        cursor: str | None = None
        while True:
            page = await self.session.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.nextCursor
            if not cursor:
                break
        self._tools = {tool.name: tool for tool in tools}
        return tools

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None
    ) -> types.CallToolResult:
        """Decide, then forward only if cleared; refusals and errors are ``isError`` results."""
        if name not in self._tools:
            await self.list_tools()
        args = dict(arguments or {})
        listed = name in self._tools
        forward = _Forward(self.session, name, args) if listed else _Unlisted(name)
        try:
            outcome = await gated_acall(
                self.gate, name, args, forward, action_type=self.action_types.get(name)
            )
        except UnlistedToolError:
            log.warning("refused %s: the upstream lists no such tool", name)
            return _error_result(
                f"Canopy refused {name!r}: the upstream server lists no tool of that name. "
                "Nothing was forwarded; the attempt is recorded in the ledger."
            )
        except _UpstreamToolError as e:
            log.info("upstream error from %s: %s", name, e)
            return e.result
        except McpError as e:
            log.warning("upstream failed %s: %s", name, e)
            return _error_result(f"The upstream server failed on {name!r}: {e}")
        if isinstance(outcome, Blocked):
            return _error_result(*self._refusal(name, outcome))
        log.info("forwarded %s", name)
        return types.CallToolResult.model_validate(outcome)

    def _refusal(self, name: str, blocked: Blocked) -> tuple[str, dict[str, Any]]:
        """The refusal's text and its ``canopy`` metadata; logged, one line."""
        decision = blocked.decision
        verdict = decision.get("decision")
        meta = {
            "decision": str(verdict) if verdict in _BLOCKING else "BLOCKED",
            "reason": decision.get("reason"),
            "authorization_id": decision.get("authorization_id"),
            "action_type": decision.get("action_type"),
        }
        log.info(
            "%s %s: %s [authorization %s]",
            meta["decision"],
            name,
            meta["reason"] or blocked.error,
            meta["authorization_id"],
        )
        return "\n".join(blocked.lines(name, self.ledger_path)), {"canopy": meta}

    # --- resources and prompts ---------------------------------------------------------

    async def read_resource(self, uri: str) -> types.ReadResourceResult:
        """Decide on the URI (see the module docstring), then forward only if cleared."""
        action_type, payload = resource_action(uri)

        async def forward() -> dict[str, Any]:
            return _wire(await self.session.read_resource(_any_url(uri)))

        outcome = await gated_acall(
            self.gate, _RESOURCE_TOOL, payload, forward, action_type=action_type
        )
        if isinstance(outcome, Blocked):
            text, data = self._refusal(f"{_RESOURCE_TOOL} {uri}", outcome)
            raise McpError(types.ErrorData(code=types.INVALID_REQUEST, message=text, data=data))
        return types.ReadResourceResult.model_validate(outcome)


def resource_action(uri: str) -> tuple[str, dict[str, Any]]:
    """The action type and payload a ``resources/read`` of ``uri`` is decided as."""
    parts = urlsplit(uri)
    if parts.scheme == "file":
        return "read_file", {"path": unquote(parts.path), "resource": uri}
    return "read_resource", {"resource": uri}


def _any_url(uri: str) -> Any:
    """mcp 1.x wants a pydantic ``AnyUrl`` for a resource URI."""
    return AnyUrl(uri)


def _contents(result: types.ReadResourceResult) -> list[ReadResourceContents]:
    out: list[ReadResourceContents] = []
    for item in result.contents:
        if isinstance(item, types.TextResourceContents):
            out.append(ReadResourceContents(item.text, item.mimeType))
        else:
            out.append(ReadResourceContents(base64.b64decode(item.blob), item.mimeType))
    return out


# --- wiring to the mcp SDK ------------------------------------------------------------


def _server(governed: GovernedUpstream, init: types.InitializeResult) -> Server[Any, Any]:
    """A low-level server offering what the upstream offers, every request through ``governed``."""
    info = init.serverInfo
    server: Server[Any, Any] = Server(
        info.name, version=info.version, instructions=init.instructions
    )
    session = governed.session
    caps = init.capabilities

    if caps.tools is not None:

        @server.list_tools()
        async def list_tools() -> list[types.Tool]:
            return await governed.list_tools()

        # The upstream validates its own input: every attempt is decided and recorded.
        @server.call_tool(validate_input=False)
        async def call_tool(name: str, arguments: dict[str, Any] | None) -> types.CallToolResult:
            return await governed.call_tool(name, arguments)

    if caps.resources is not None:

        @server.list_resources()
        async def list_resources() -> list[types.Resource]:
            return await _all_pages(session.list_resources, "resources")

        @server.list_resource_templates()
        async def list_resource_templates() -> list[types.ResourceTemplate]:
            return await _all_pages(session.list_resource_templates, "resourceTemplates")

        @server.read_resource()
        async def read_resource(uri: Any) -> list[ReadResourceContents]:
            return _contents(await governed.read_resource(str(uri)))

    if caps.prompts is not None:

        @server.list_prompts()
        async def list_prompts() -> list[types.Prompt]:
            return await _all_pages(session.list_prompts, "prompts")

        @server.get_prompt()
        async def get_prompt(name: str, arguments: dict[str, str] | None) -> types.GetPromptResult:
            return await session.get_prompt(name, arguments)

    return server


async def _all_pages(fetch: Callable[..., Awaitable[Any]], attribute: str) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    while True:
        page = await fetch(cursor=cursor)
        items.extend(getattr(page, attribute))
        cursor = page.nextCursor
        if not cursor:
            return items


@asynccontextmanager
async def _upstream(
    config: ProxyConfig,
) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    """The started and initialized upstream; ``UpstreamStartError`` if it is not."""
    command, *args = config.upstream
    params = StdioServerParameters(command=command, args=args, env=dict(os.environ))
    async with AsyncExitStack() as stack:
        try:
            read, write = await stack.enter_async_context(stdio_client(params))
            session = await stack.enter_async_context(ClientSession(read, write))
            with anyio.fail_after(config.startup_timeout):
                init = await session.initialize()
        except TimeoutError as e:
            raise UpstreamStartError(
                f"{shlex.join(config.upstream)} did not initialize within "
                f"{config.startup_timeout:g} s"
            ) from e
        except (OSError, McpError) as e:
            raise UpstreamStartError(f"cannot start {shlex.join(config.upstream)}: {e}") from e
        yield session, init


async def run_proxy(
    config: ProxyConfig,
    streams: tuple[Any, Any] | None = None,
) -> None:
    """Serve the governed upstream until the client disconnects.

    ``streams`` is a (read, write) pair of MCP session streams; default the
    process's stdin and stdout, which then carry nothing but JSON-RPC. Raises
    ``UpstreamStartError`` if the upstream does not start, ``OSError`` or
    ``LedgerError`` if the ledger cannot be opened.
    """
    ledger_path = ledger_path_for(config.audit_log_path)
    open_ledger(ledger_path)  # an unusable ledger fails now, not as a DENY per call
    try:
        async with _upstream(config) as (session, init):
            governed = GovernedUpstream(
                session=session,
                agent_ctx=_session_ctx(config),
                ledger_path=ledger_path,
                action_types=dict(config.action_types),
                policy_file=config.policy_file,
                record_results=config.record_results,
            )
            server = _server(governed, init)
            log.info(
                "governing %s (%s) into %s",
                shlex.join(config.upstream),
                init.serverInfo.name,
                ledger_path,
            )
            options = server.create_initialization_options(NotificationOptions())
            if streams is not None:
                await server.run(streams[0], streams[1], options)
                return
            async with stdio_server() as (read, write):
                await server.run(read, write, options)
    except BaseExceptionGroup as group:
        raise _first_leaf(group) from group


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    """anyio task groups wrap errors; callers want the one that happened."""
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first
