"""Build the ``ActionView``: normalize the action type and find the facts in a payload.

The seed package looked only at ``payload["command"]`` under the action type
``execute_shell``; ``shell`` with ``cmd`` sailed through. Here the action type
is normalized (case, separators, aliases) and the payload is searched under
any key, at any depth, for commands (strings or argv lists), file paths, URLs
and amounts, whatever the action type claims to be. A payload too large to
analyse in full is refused rather than truncated.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from types import ModuleType
from typing import Any

from canopy.canonical import canonical_text
from canopy.decisions.action import CANONICAL_ACTION_TYPES, ActionView
from canopy.decisions.analyzers import money as money_analyzer
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.shell_model import ShellAnalysis
from canopy.errors import CanonicalEncodingError, MalformedInputError

__all__ = [
    "ACTION_ALIASES",
    "MAX_PAYLOAD_BYTES",
    "PayloadTooLargeError",
    "build_action_view",
    "normalize_action_type",
]

#: Larger payloads are refused (DENY), never analysed in part.
MAX_PAYLOAD_BYTES = 1 << 20
_MAX_DEPTH = 12

ACTION_ALIASES: dict[str, str] = {
    **dict.fromkeys(
        (
            "shell",
            "bash",
            "sh",
            "zsh",
            "run_command",
            "run_shell",
            "shell_command",
            "execute_command",
            "exec",
            "execute",
            "command",
            "terminal",
            "run",
            "cmd",
            "subprocess",
            "system",
            "run_bash",
            "bash_command",
            "shell_exec",
            "run_terminal_cmd",
            "execute_bash",
            "run_script",
            "powershell",
        ),
        "execute_shell",
    ),
    **dict.fromkeys(
        (
            "write_file",
            "edit_file",
            "file_write",
            "create_file",
            "append_file",
            "save_file",
            "update_file",
            "write",
            "edit",
            "patch_file",
            "str_replace_editor",
            "move_file",
            "copy_file",
            "rename_file",
            "chmod",
            "file_edit",
        ),
        "modify_file",
    ),
    **dict.fromkeys(
        ("remove_file", "rm", "unlink", "delete", "file_delete", "delete_directory"),
        "delete_file",
    ),
    **dict.fromkeys(
        ("read", "cat", "open_file", "file_read", "view_file", "get_file", "read_text"),
        "read_file",
    ),
    **dict.fromkeys(
        (
            "http_request",
            "http",
            "api_call",
            "call_api",
            "fetch",
            "web_request",
            "request",
            "curl",
            "http_get",
            "http_post",
            "get",
            "post",
            "browse",
            "web_fetch",
            "open_url",
            "external_api",
            "webhook",
            "requests",
        ),
        "call_external_api",
    ),
    **dict.fromkeys(
        (
            "pay",
            "payment",
            "purchase",
            "buy",
            "transfer",
            "transfer_funds",
            "send_money",
            "charge",
            "payout",
            "spend",
            "make_payment",
            "wire",
            "refund",
        ),
        "spend_money",
    ),
    **dict.fromkeys(
        (
            "send_email",
            "email",
            "send_sms",
            "sms",
            "post_message",
            "slack_message",
            "send_slack",
            "notify",
            "tweet",
            "message",
            "send_notification",
            "chat_post",
        ),
        "send_message",
    ),
    **dict.fromkeys(
        ("spawn", "delegate", "create_agent", "sub_agent", "spawn_subagent", "handoff"),
        "spawn_agent",
    ),
    **dict.fromkeys(
        ("actuate", "move_robot", "control_device", "iot_command", "drive", "physical"),
        "physical_action",
    ),
    **dict.fromkeys(("sql", "query", "db_query", "run_sql", "database"), "query_database"),
}

_COMMAND_KEYS = frozenset(
    {
        "command",
        "cmd",
        "commands",
        "script",
        "shell",
        "bash",
        "sh",
        "argv",
        "command_line",
        "commandline",
        "shell_command",
        "code_to_run",
        "cmdline",
        "exec",
        "run",
    }
)
_PATH_KEYS = frozenset(
    {
        "path",
        "file",
        "file_path",
        "filepath",
        "filename",
        "target",
        "target_path",
        "destination",
        "dest",
        "dst",
        "src",
        "source",
        "source_path",
        "output",
        "output_path",
        "dir",
        "directory",
        "folder",
        "paths",
        "files",
        "new_path",
        "old_path",
    }
)
_URL_KEYS = frozenset(
    {"url", "uri", "endpoint", "href", "link", "webhook", "webhook_url", "base_url", "urls"}
)


@lru_cache(maxsize=4096)
def _analyze_shell(
    text: str, *, home: str | None, cwd: str | None, protected_names: frozenset[str]
) -> ShellAnalysis:
    """Shell analysis is a pure function of the text and these settings, and agents
    run the same commands again and again (``git status``, ``pytest``): cached."""
    return _shell().analyze_shell(text, home=home, cwd=cwd, protected_names=protected_names)


def _shell() -> ModuleType:
    """The shell analyzer, imported on first use: with tree-sitter and its rule
    tables it is most of the package's import time, and many agents never send
    a shell command."""
    from canopy.decisions.analyzers import shell

    return shell


class PayloadTooLargeError(MalformedInputError):
    """A payload bigger than we analyse in full (we refuse rather than truncate)."""


def normalize_action_type(action_type: str) -> str:
    """``" Run-Command "`` -> ``execute_shell``; unknown types keep their normalized form."""
    if not isinstance(action_type, str):
        raise MalformedInputError(f"action_type must be a string, not {type(action_type).__name__}")
    if type(action_type) is str and len(action_type) <= _CACHED_TYPE_LENGTH:
        return _cached_type(action_type)
    return _normalized_type(action_type)  # str subclasses and long names: not cached


def _normalized_type(action_type: str) -> str:
    key = "_".join(action_type.strip().lower().replace("-", " ").replace(".", " ").split())
    if key in CANONICAL_ACTION_TYPES:
        return key
    return ACTION_ALIASES.get(key, key)


#: Pure, and agents use a handful of action types: cached (short names only, so
#: the cache stays small whatever callers send).
_cached_type = lru_cache(maxsize=1024)(_normalized_type)
_CACHED_TYPE_LENGTH = 100


def _key_values(payload: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every (key, value) pair in a nested payload, keys lowercased, depth first.

    Collected once per action: commands, paths and URLs are all looked up in it.
    """
    pairs: list[tuple[str, Any]] = []

    def visit(value: Any, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise MalformedInputError(f"payload nested deeper than {_MAX_DEPTH} levels")
        if isinstance(value, str):
            return  # the common leaf; a str is no Mapping, and the ABC check is slow
        if isinstance(value, Mapping):
            for key, item in value.items():
                pairs.append((str(key).lower(), item))
                visit(item, depth + 1)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item, depth + 1)

    visit(payload, 0)
    return pairs


def _is_argv(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(x, str | int | float) and not isinstance(x, bool) for x in value)
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _find_commands(
    payload: Mapping[str, Any], pairs: list[tuple[str, Any]], action_type: str
) -> list[str | list[str]]:
    found: list[str | list[str]] = []
    for key, value in pairs:
        if key not in _COMMAND_KEYS and key != "args":
            continue
        if isinstance(value, str) and key != "args":
            found.append(value)
        elif _is_argv(value):
            if key == "commands":
                found.extend(str(x) for x in value)
            elif key == "args" and action_type != "execute_shell":
                continue  # plain argument lists of other tools are not argv
            else:
                found.append([str(x) for x in value])
    if not found and action_type == "execute_shell":
        # A shell action whose command sits under an unfamiliar key: every
        # top-level string is treated as a command, so nothing escapes.
        for value in payload.values():
            if isinstance(value, str):
                found.append(value)
            elif _is_argv(value):
                found.append([str(x) for x in value])
    return found


def _find_paths(pairs: list[tuple[str, Any]]) -> list[str]:
    paths: list[str] = []
    for key, value in pairs:
        if key in _PATH_KEYS:
            paths.extend(s for s in _strings(value) if s)
    return paths


def _find_urls(
    payload: Mapping[str, Any],
    pairs: list[tuple[str, Any]],
    payload_text: str,
    action_type: str,
) -> list[str]:
    """URLs the action would request. Free text is scanned only when the action is a
    request (or of unknown type): a URL inside a file's content is data, not a request."""
    urls: list[str] = []
    for key, value in pairs:
        if key in _URL_KEYS:
            urls.extend(s for s in _strings(value) if s)
    if action_type == "call_external_api" or action_type not in CANONICAL_ACTION_TYPES:
        for found in net.find_urls(payload_text):
            if found not in urls:
                urls.append(found)
    if "host" in payload and isinstance(payload["host"], str):
        urls.append(f"//{payload['host']}")
    return urls


def _merge(analyses: Sequence[ShellAnalysis], text: str) -> ShellAnalysis | None:
    if not analyses:
        return None
    if len(analyses) == 1:
        return analyses[0]
    return ShellAnalysis(
        text=text,
        commands=tuple(c for a in analyses for c in a.commands),
        findings=tuple(f for a in analyses for f in a.findings),
        parse_error=any(a.parse_error for a in analyses),
        paths_deleted=tuple(p for a in analyses for p in a.paths_deleted),
        paths_written=tuple(p for a in analyses for p in a.paths_written),
        paths_read=tuple(p for a in analyses for p in a.paths_read),
        urls=tuple(u for a in analyses for u in a.urls),
        notes=tuple(n for a in analyses for n in a.notes),
    )


def build_action_view(
    action_type: str,
    payload: Any,
    agent_ctx: Mapping[str, Any],
    *,
    protected_names: frozenset[str] = frozenset(),
) -> ActionView:
    """Normalize and analyse one action. Raises for input we cannot analyse in full."""
    canonical_type = normalize_action_type(action_type)
    if not isinstance(payload, Mapping):
        raise MalformedInputError(
            f"action_payload must be a JSON object, not {type(payload).__name__}"
        )
    try:
        payload_text = canonical_text(payload)
    except CanonicalEncodingError as e:
        raise MalformedInputError(f"action_payload is not JSON: {e}") from e
    if len(payload_text) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLargeError(
            f"action_payload is {len(payload_text)} bytes; at most {MAX_PAYLOAD_BYTES} are "
            "analysed, and we do not analyse part of a payload"
        )
    cwd = agent_ctx.get("cwd") if isinstance(agent_ctx.get("cwd"), str) else None
    home = agent_ctx.get("home") if isinstance(agent_ctx.get("home"), str) else None
    pairs = _key_values(payload)
    commands = _find_commands(payload, pairs, canonical_type)
    analyses: list[ShellAnalysis] = []
    texts: list[str] = []
    for command in commands:
        if isinstance(command, str):
            texts.append(command)
            analyses.append(
                _analyze_shell(command, home=home, cwd=cwd, protected_names=protected_names)
            )
        else:
            texts.append(" ".join(command))
            analyses.append(
                _shell().analyze_argv(command, home=home, cwd=cwd, protected_names=protected_names)
            )
    analysis = _merge(analyses, "\n".join(texts))
    urls = _find_urls(payload, pairs, payload_text, canonical_type)
    if analysis is not None:
        urls.extend(u for u in analysis.urls if u not in urls)
    money = money_error = None
    try:
        money = money_analyzer.find_money(payload)
    except MalformedInputError as e:
        money_error = str(e)
    paths = _find_paths(pairs)
    shape_error = _shape_error(canonical_type, texts, paths, urls, money, money_error)
    return ActionView(
        action_type=canonical_type,
        requested_type=action_type,
        payload=payload,
        agent_ctx=agent_ctx,
        payload_text=payload_text,
        commands=tuple(texts),
        shell=analysis,
        paths=tuple(paths),
        urls=tuple(urls),
        money=money,
        money_error=money_error,
        shape_error=shape_error,
        notes=(f"action type {action_type!r} read as {canonical_type!r}",)
        if canonical_type != action_type
        else (),
        governance=protected_names,
    )


def _shape_error(
    action_type: str,
    commands: list[str],
    paths: list[str],
    urls: list[str],
    money: Any,
    money_error: str | None,
) -> str | None:
    """What a known action type needs but its payload lacks (None if fine)."""
    if action_type == "execute_shell" and not commands:
        return "execute_shell payload carries no command (looked for command/cmd/argv/args)"
    if action_type in {"modify_file", "delete_file", "read_file"} and not paths:
        return f"{action_type} payload names no file path"
    if action_type == "call_external_api" and not urls:
        return "call_external_api payload names no URL"
    if action_type == "spend_money" and money is None and money_error is None:
        return "spend_money payload has no amount field"
    return None


def default_cwd() -> str:
    return os.getcwd()
