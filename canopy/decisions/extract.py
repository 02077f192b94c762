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
import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from types import ModuleType
from typing import Any
from urllib.parse import urljoin

from canopy.canonical import canonical_text
from canopy.decisions.action import CANONICAL_ACTION_TYPES, ActionView
from canopy.decisions.analyzers import money as money_analyzer
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.shell_model import ShellAnalysis
from canopy.decisions.analyzers.shell_paths import remote_url
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
        (
            "read",
            "cat",
            "open_file",
            "file_read",
            "view_file",
            "get_file",
            "read_text",
            "view",
            "read_text_file",
            "read_multiple_files",
            "read_media_file",
            "get_file_contents",
            "fs_read",
            "readfile",
        ),
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

#: Action types that run code in an interpreter: read as ``execute_shell`` running that
#: interpreter (``python3 -c CODE``), with the language their code is in unless the
#: payload names one (None: the payload must say, else the code is read as shell).
CODE_ACTION_LANGUAGES: dict[str, str | None] = {
    **dict.fromkeys(
        (
            "execute_python",
            "run_python",
            "python",
            "python_repl",
            "python_exec",
            "exec_python",
            "code_interpreter",
        ),
        "python",
    ),
    **dict.fromkeys(
        ("ipython", "jupyter", "notebook", "run_cell", "execute_cell", "notebook_cell"), "ipython"
    ),
    **dict.fromkeys(
        ("run_javascript", "execute_javascript", "javascript", "node", "run_js"), "javascript"
    ),
    **dict.fromkeys(("run_code", "execute_code", "code_execution", "exec_code"), None),
}
ACTION_ALIASES.update(dict.fromkeys(CODE_ACTION_LANGUAGES, "execute_shell"))
#: How a language's one-liner is run, as the argv prefix before the code.
_INTERPRETERS: dict[str, tuple[str, ...]] = {
    "python": ("python3", "-c"),
    "python3": ("python3", "-c"),
    "py": ("python3", "-c"),
    "javascript": ("node", "-e"),
    "js": ("node", "-e"),
    "node": ("node", "-e"),
    "typescript": ("node", "-e"),
    "ts": ("node", "-e"),
    "ruby": ("ruby", "-e"),
    "perl": ("perl", "-e"),
    "php": ("php", "-r"),
    "lua": ("lua", "-e"),
    "r": ("Rscript", "-e"),
    "julia": ("julia", "-e"),
    "powershell": ("pwsh", "-c"),
    "pwsh": ("pwsh", "-c"),
}
_CODE_KEYS = frozenset(
    {"code", "source", "source_code", "cell", "program", "snippet", "python", "query", "input"}
    | {"script", "command", "cmd"}
)
_LANGUAGE_KEYS = ("language", "lang", "kernel", "runtime")
_CWD_KEYS = ("cwd", "working_directory", "working_dir", "workdir")
_ENV_KEYS = ("env", "environment", "env_vars", "envs")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Keys of a request's path, joined to its base URL by the tool (naively or not).
_URL_PATH_KEYS = ("path", "route", "resource", "endpoint_path")
_SQL_KEYS = ("sql", "query", "statement", "statements")

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


def _type_key(action_type: str) -> str:
    return "_".join(action_type.strip().lower().replace("-", " ").replace(".", " ").split())


def _normalized_type(action_type: str) -> str:
    key = _type_key(action_type)
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


def _code_language(requested: str, canonical: str, payload: Mapping[str, Any]) -> str | None:
    """The language of the code a code-running action carries, or None if it is no
    such action (or its code is shell)."""
    if canonical != "execute_shell" and canonical in CANONICAL_ACTION_TYPES:
        return None  # a file's or a message's code is data, not something run
    key = requested if requested == canonical else _type_key(requested)
    named = _first_string(payload, _LANGUAGE_KEYS)
    if key not in CODE_ACTION_LANGUAGES and not (named and "code" in payload):
        return None
    language = (named or CODE_ACTION_LANGUAGES.get(key) or "").strip().lower()
    return language or None


def _first_string(payload: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = payload.get(key)
        if isinstance(value, str):
            return value
    return None


def _code_commands(language: str, code: str) -> list[str | list[str]]:
    """Code as the command that runs it: ``python3 -c CODE``; shell code as it is;
    IPython cells split into their ``!shell`` lines and their Python."""
    if language == "ipython":
        return _ipython_commands(code)
    prefix = _INTERPRETERS.get(language)
    if prefix is None:
        return [code]  # bash, sh, or a language we cannot run: read as shell
    if language == "php":
        code = code.removeprefix("<?php").removesuffix("?>")
    return [[*prefix, code]]


_IPYTHON_SHELL_LINE = re.compile(r"^\s*(?:\w+\s*=\s*)?(?:!!?|%(?:system|sx|sc)\b)\s*(.*)$")
_IPYTHON_SHELL_CELL = re.compile(r"^\s*%%(?:bash|sh|script\s+\S*sh|system)\b[^\n]*\n?")


def _ipython_commands(cell: str) -> list[str | list[str]]:
    shell_cell = _IPYTHON_SHELL_CELL.match(cell)
    if shell_cell:
        return [cell[shell_cell.end() :]]
    commands: list[str | list[str]] = []
    python_lines = []
    for line in cell.split("\n"):
        m = _IPYTHON_SHELL_LINE.match(line)
        if m:
            commands.append(m.group(1))
            python_lines.append("")
        else:
            python_lines.append("" if line.lstrip().startswith("%") else line)
    commands.append(["python3", "-c", "\n".join(python_lines)])
    return commands


def _code_strings(payload: Mapping[str, Any], pairs: list[tuple[str, Any]]) -> list[str]:
    found = [v for k, v in pairs if k in _CODE_KEYS and isinstance(v, str)]
    if found:
        return found
    skip = {*_LANGUAGE_KEYS, *_CWD_KEYS}
    return [v for k, v in payload.items() if isinstance(v, str) and str(k).lower() not in skip]


def _shell_cwd(payload: Mapping[str, Any], agent_cwd: str | None) -> str | None:
    """The directory a shell action runs in: the payload's ``cwd`` if it gives one."""
    given = _first_string(payload, _CWD_KEYS)
    if not given:
        return agent_cwd
    if given.startswith("/"):
        return given
    return posixpath.join(agent_cwd, given) if agent_cwd else agent_cwd


def _shell_env(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Environment variables a shell action sets for its command (``{"env": {...}}``)."""
    for key in _ENV_KEYS:
        env = payload.get(key)
        if env is not None and isinstance(env, Mapping):  # the ABC check is slow: rarely
            return [
                (str(k), str(v))
                for k, v in env.items()
                if _ENV_NAME.fullmatch(str(k)) and isinstance(v, str | int | float)
            ]
    return []


def _with_env(command: str | list[str], env: list[tuple[str, str]]) -> str | list[str]:
    """The command as the shell would run it with those variables exported."""
    if not env:
        return command
    if isinstance(command, list):
        return ["env", *(f"{k}={v}" for k, v in env), *command]
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env)
    return f"export {exports}; {command}"


def _sql_commands(pairs: list[tuple[str, Any]]) -> list[str]:
    """``COPY ... TO PROGRAM 'cmd'`` runs a shell command on the database host."""
    commands: list[str] = []
    for key, value in pairs:
        if key in _SQL_KEYS and isinstance(value, str) and "program" in value.lower():
            effects = _shell_databases().sql_effects(value)
            commands += [text for kind, text in effects if kind == "run"]
    return commands


def _shell_databases() -> ModuleType:
    """The shell analyzer's SQL reader, imported on first use (see ``_shell``)."""
    from canopy.decisions.analyzers import shell_databases

    return shell_databases


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
    if action_type == "call_external_api":
        urls += [u for u in _joined_urls(payload, urls) if u not in urls]
    return urls


def _joined_urls(payload: Mapping[str, Any], bases: list[str]) -> list[str]:
    """A base URL and a path the tool appends: both the naive concatenation
    (``http://a.com`` + ``@169.254.169.254/``) and ``urljoin``'s reading."""
    paths = [path for key in _URL_PATH_KEYS if isinstance(path := payload.get(key), str)]
    joined: list[str] = []
    for base in bases[:4] if paths else ():
        for path in paths:
            joined += [base + path, urljoin(base, path)]
    return joined


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
    language = _code_language(action_type, canonical_type, payload)
    if language is not None:
        commands = [
            c for text in _code_strings(payload, pairs) for c in _code_commands(language, text)
        ]
    else:
        commands = _find_commands(payload, pairs, canonical_type)
    if canonical_type == "execute_shell":
        cwd = _shell_cwd(payload, cwd)
        env = _shell_env(payload)
        commands = [_with_env(c, env) for c in commands]
    elif canonical_type == "query_database":
        commands += _sql_commands(pairs)
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
        urls.extend(u for u in map(remote_url, analysis.urls) if u not in urls)
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
