"""``canopy mcp-proxy``: govern an MCP server's tool calls, as an MCP server itself.

``mcp`` is an optional extra and slow to import: nothing here imports it (or
the proxy) until the command runs, so ``canopy --help`` stays fast.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from canopy.cli.common import EXIT_FAILED, err_console, handle_errors

EXIT_UPSTREAM = 3  # the upstream server did not start or initialize
_INSTALL_HINT = "canopy mcp-proxy needs the MCP SDK: pip install 'canopy-runtime[mcp]'"


def _agent_ctx(_ctx: click.Context, _param: click.Parameter, value: str | None) -> Any:
    """``--agent-ctx``: a JSON object, or ``@FILE`` holding one."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text(encoding="utf-8")
        except OSError as e:
            raise click.BadParameter(f"cannot read {value[1:]}: {e}") from e
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as e:
        raise click.BadParameter(f"not valid JSON: {e}") from e
    if not isinstance(parsed, dict):
        raise click.BadParameter(f"must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _action_types(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """``--action-type TOOL=TYPE``, repeatable."""
    mapping: dict[str, str] = {}
    for value in values:
        tool, sep, action_type = value.partition("=")
        if not sep or not tool.strip() or not action_type.strip():
            raise click.BadParameter(f"{value!r}: expected TOOL=TYPE, e.g. shell=execute_shell")
        if tool in mapping and mapping[tool] != action_type.strip():
            raise click.BadParameter(f"{tool!r} is given two action types")
        mapping[tool] = action_type.strip()
    return mapping


@click.command(
    "mcp-proxy",
    context_settings={"allow_interspersed_args": False},
)
@click.option(
    "--audit-log-path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The ledger (default: $CANOPY_AUDIT_LOG_PATH or ./audit.log).",
)
@click.option(
    "--policy-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Policy YAML (default: $CANOPY_POLICY_FILE or the bundled policy).",
)
@click.option(
    "--agent-ctx",
    metavar="JSON|@FILE",
    callback=_agent_ctx,
    help="The agent context of every decision (default: an identity derived from the "
    "upstream command).",
)
@click.option(
    "--action-type",
    "action_types",
    multiple=True,
    metavar="TOOL=TYPE",
    callback=_action_types,
    help="Decide TOOL's calls as action TYPE instead of its name. Repeatable.",
)
@click.option("--record-results", is_flag=True, help="Keep tool results in the ledger.")
@click.option(
    "--startup-timeout",
    type=click.FloatRange(0, min_open=True),
    default=30.0,
    show_default=True,
    metavar="SECONDS",
    help="How long the upstream may take to start and initialize.",
)
@click.argument(
    "upstream", nargs=-1, type=click.UNPROCESSED, metavar="-- UPSTREAM_COMMAND [ARGS]..."
)
@handle_errors
def mcp_proxy_cmd(
    audit_log_path: Path | None,
    policy_file: Path | None,
    agent_ctx: dict[str, Any] | None,
    action_types: dict[str, str],
    record_results: bool,
    startup_timeout: float,
    upstream: tuple[str, ...],
) -> None:
    """Serve MCP on stdio, forwarding to the upstream only what Canopy allows.

    Each tools/call is decided on its tool name and arguments; DENY and
    REQUIRE_APPROVAL answer with an isError result and nothing is forwarded.
    Once an operator approves a REQUIRE_APPROVAL (canopy approvals approve),
    the same call with the same arguments is forwarded once, also after a
    restart of the proxy (the same upstream command and --agent-ctx).
    resources/read is decided on the URI; tool and resource lists and prompts
    are forwarded. stdout carries only MCP JSON-RPC; logs go to stderr.

    Exit codes: 0 the client disconnected; 1 the MCP SDK is missing or the proxy
    failed; 2 usage error (bad option, unreadable policy or ledger); 3 the
    upstream did not start.
    """
    if not upstream:
        raise click.UsageError(
            "no upstream command: canopy mcp-proxy [OPTIONS] -- COMMAND [ARGS]..."
        )
    try:
        import anyio

        from canopy.integrations import mcp_proxy
    except ModuleNotFoundError as e:
        if (e.name or "").partition(".")[0] not in ("mcp", "anyio", "pydantic"):
            raise
        from rich.markup import escape

        err_console.print(f"[bold red]error:[/] {escape(_INSTALL_HINT)} ({escape(str(e))})")
        sys.exit(EXIT_FAILED)
    if policy_file is not None:
        from canopy.decisions.policy import load_policy

        load_policy(policy_file)  # a broken policy is a usage error now, not a DENY per call
    config = mcp_proxy.ProxyConfig(
        upstream=upstream,
        agent_ctx=agent_ctx,
        action_types=action_types,
        audit_log_path=audit_log_path,
        policy_file=policy_file,
        record_results=record_results,
        startup_timeout=startup_timeout,
    )
    _log_to_stderr()
    try:
        anyio.run(mcp_proxy.run_proxy, config)
    except mcp_proxy.UpstreamStartError as e:
        from rich.markup import escape

        err_console.print(f"[bold red]upstream failed:[/] {escape(str(e))}")
        sys.exit(EXIT_UPSTREAM)
    except KeyboardInterrupt:
        sys.exit(EXIT_FAILED)


def _log_to_stderr() -> None:
    """The proxy's decisions, one line each, on stderr (stdout is the MCP channel)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("canopy mcp-proxy: %(message)s"))
    logger = logging.getLogger("canopy.mcp_proxy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
