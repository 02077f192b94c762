"""Build the ``ActionView``: normalize the action type and find the facts in a payload.

The seed package looked only at ``payload["command"]`` under the action type
``execute_shell``; ``shell`` with ``cmd`` sailed through. Here the action type
is normalized (case, separators, aliases) and the payload is searched under
any key, at any depth, for commands (strings or argv lists), file paths, URLs
and amounts, whatever the action type claims to be. A payload too large to
analyse in full is refused rather than truncated.
"""

from __future__ import annotations

import ast
import json
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
from canopy.decisions.action_types import (
    ACTION_ALIASES,
    code_language_of_name,
    inferred_action_type,
    normalize_action_type,
)
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
_MAX_DEPTH = 32

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
    | {"dsn", "connection_string", "connection_uri", "connection_url", "database_url", "db_url"}
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


def _key_values(payload: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every (key, value) pair in a nested payload, keys lowercased, depth first.

    Collected once per action: commands, paths and URLs are all looked up in it.
    """
    pairs: list[tuple[str, Any]] = []

    def visit(value: Any, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise MalformedInputError(f"payload nested deeper than {_MAX_DEPTH} levels")
        if isinstance(value, str):
            if value[:1] in "{[" and value[-1:] in "}]":  # arguments sent as JSON text
                decoded = _json_container(value)
                if decoded is not None:
                    visit(decoded, depth + 1)
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


def _json_container(text: str) -> Any:
    """An object or array encoded as a string (OpenAI-style ``"arguments": "{...}"``):
    what the tool will decode, so it is searched like the rest of the payload."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict | list) else None


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
        if not _is_command_key(key) and key != "args":
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
    """The language of the code a code-running action carries ("" when only the code
    can tell), or None if it is no such action (or its code is shell)."""
    if canonical != "execute_shell" and canonical in CANONICAL_ACTION_TYPES:
        return None  # a file's or a message's code is data, not something run
    named = _first_string(payload, _LANGUAGE_KEYS)
    by_name = code_language_of_name(requested)
    if by_name is None and not (named and "code" in payload):
        return None
    return (named or by_name or "").strip().lower()


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
    if not language:
        language = "python" if _parses_as_python(code) else "shell"
    prefix = _INTERPRETERS.get(language)
    if prefix is None:
        return [code]  # bash, sh, or a language we cannot run: read as shell
    if language == "php":
        code = code.removeprefix("<?php").removesuffix("?>")
    return [[*prefix, code]]


def _parses_as_python(code: str) -> bool:
    """Code whose language nobody named: Python if it parses as Python, else shell."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


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


def _sql_commands(pairs: list[tuple[str, Any]]) -> list[str | list[str]]:
    """What SQL makes the database server do, as the commands that would do the same
    there: ``COPY ... TO PROGRAM 'cmd'`` runs cmd, ``pg_read_file('/etc/shadow')`` reads
    like ``cat``, ``INTO OUTFILE`` and ``ATTACH`` write, ``url('http://...')`` fetches."""
    commands: list[str | list[str]] = []
    for key, value in pairs:
        if key not in _SQL_KEYS or not isinstance(value, str) or "'" not in value:
            continue
        for kind, text in _shell_databases().sql_effects(value):
            if kind == "run":
                commands.append(text)
            elif kind in _SQL_AS_ARGV:
                commands.append([*_SQL_AS_ARGV[kind], text])
    return commands


#: A file or URL the database server touches, as the argv that touches it the same way.
_SQL_AS_ARGV = {
    "read": ("cat", "--"),
    "write": ("truncate", "-s", "0", "--"),
    "fetch": ("curl", "--"),
}


def _shell_databases() -> ModuleType:
    """The shell analyzer's SQL reader, imported on first use (see ``_shell``)."""
    from canopy.decisions.analyzers import shell_databases

    return shell_databases


def _is_command_key(key: str) -> bool:
    """``command``, ``cmd``... and names built on them (``test_command``, ``script_body``)."""
    return (
        key in _COMMAND_KEYS or key.endswith(_COMMAND_SUFFIXES) or key.startswith(_COMMAND_PREFIXES)
    )


_COMMAND_SUFFIXES = ("_command", "_commands", "_cmd", "_script")
_COMMAND_PREFIXES = ("command_", "cmd_", "script_")
_PATH_SUFFIXES = (
    "_path",
    "_paths",
    "_file",
    "_files",
    "_filename",
    "_dir",
    "_directory",
    "_folder",
)
#: Keys of a file action that name its two ends (``rename {"old": a, "new": b}``).
_FILE_END_KEYS = frozenset({"old", "new", "from", "to", "source", "destination"})
_PATCH_KEYS = frozenset({"patch", "diff", "input", "changes", "edits"})
_DIRECTORY_KEYS = ("directory", "dir", "folder", "base_dir", "root", "root_dir", *_CWD_KEYS)
#: Files a patch names: ``*** Update File: p`` (apply_patch), ``+++ b/p``, ``diff --git``.
_PATCH_PATHS = re.compile(
    r"^(?:\*\*\* (?:Add|Update|Delete) File: |\*\*\* Move to: |\+\+\+ (?:b/)?|--- (?:a/)?)"
    r"(\S.*?)\s*$",
    re.M,
)


def _find_paths(pairs: list[tuple[str, Any]], action_type: str) -> list[str]:
    """Paths under path-like keys; for file actions also both ends of a move and the
    files a patch names; relative paths also joined to a directory the payload gives."""
    file_action = action_type in _FILE_ACTIONS
    paths: list[str] = []
    for key, value in pairs:
        if (
            key in _PATH_KEYS
            or key.endswith(_PATH_SUFFIXES)
            or (file_action and key in _FILE_END_KEYS)
        ):
            paths.extend(s for s in _strings(value) if s)
        elif key in _PATCH_KEYS and isinstance(value, str):
            paths.extend(p for p in _PATCH_PATHS.findall(value) if p != "/dev/null")
    base = next((v for k, v in pairs if k in _DIRECTORY_KEYS and isinstance(v, str) and v), None)
    if base is not None:
        paths += [posixpath.join(base, p) for p in paths if not p.startswith(("/", "~"))]
    return list(dict.fromkeys(paths))


_FILE_ACTIONS = frozenset({"modify_file", "delete_file", "read_file"})


def _find_urls(
    payload: Mapping[str, Any],
    pairs: list[tuple[str, Any]],
    payload_text: str,
    action_type: str,
) -> tuple[list[str], list[str]]:
    """URLs the action would request, and URLs its free text only mentions.

    Free text is scanned only when the action is a request (or of unknown type): a
    URL inside a file's content is data, not a request. For an action of unknown
    type, what the scan finds beyond the URL and host fields is a mention, and so
    is a URL inside another one (``redirect_uri=http://localhost/cb``)."""
    urls: list[str] = []
    for key, value in pairs:
        if key in _URL_KEYS:
            urls.extend(s for s in _strings(value) if s)
    request = action_type == "call_external_api"
    unknown = action_type not in CANONICAL_ACTION_TYPES
    if "host" in payload and isinstance(payload["host"], str):
        urls.append(f"//{payload['host']}")
    if unknown or request:
        urls += [f"//{v}" for k, v in pairs if k in _HOST_KEYS and _looks_like_host(v)]
    mentioned: list[str] = []
    if request or unknown:
        whole = {v.strip() for _, v in pairs if isinstance(v, str)}  # a field that is a URL
        for found in net.find_urls(payload_text):
            if found in urls or found in mentioned:
                continue
            inside = any(found in url and not url.startswith(found) for url in urls)
            prose = unknown and found not in whole
            (mentioned if inside or prose else urls).append(found)
    if request:
        urls += [u for u in _joined_urls(payload, urls) if u not in urls]
    return list(dict.fromkeys(urls)), mentioned


#: Keys of a host a tool connects to, and what such a value looks like.
_HOST_KEYS = frozenset(
    {"host", "hostname", "server", "address", "addr", "ip", "target", "target_host"}
    | {"remote_host", "location", "domain"}
)
_HOST_VALUE = re.compile(r"^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::\d{1,5})?(?:/\S*)?$")


def _looks_like_host(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) < 300 and bool(_HOST_VALUE.match(value))


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
    notes: list[str] = []
    if canonical_type not in CANONICAL_ACTION_TYPES:
        inferred = inferred_action_type(canonical_type, lambda need: _carries(need, payload, pairs))
        if inferred is not None:
            notes.append(f"action type {action_type!r} read as {inferred!r} by its name")
            canonical_type = inferred
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
    mentioned_shell = None
    if not commands and canonical_type not in CANONICAL_ACTION_TYPES:
        mentioned_shell = _mentioned_shell(pairs, home=home, cwd=cwd, governance=protected_names)
    urls, mentioned_urls = _find_urls(payload, pairs, payload_text, canonical_type)
    if analysis is not None:
        urls.extend(u for u in map(remote_url, analysis.urls) if u not in urls)
    money = money_error = None
    amounts: tuple[money_analyzer.Money, ...] = ()
    try:
        money = money_analyzer.find_money(payload)
    except money_analyzer.MixedCurrencyError as e:
        amounts = e.amounts  # each parsed; only their sum has no currency
    except MalformedInputError as e:
        money_error = str(e)
    paths = _find_paths(pairs, canonical_type)
    shape_error = _shape_error(canonical_type, texts, paths, urls, money or amounts, money_error)
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
        mentioned_urls=tuple(mentioned_urls),
        mentioned_shell=mentioned_shell,
        money=money,
        amounts=amounts,
        money_error=money_error,
        shape_error=shape_error,
        notes=tuple(notes)
        or (
            (f"action type {action_type!r} read as {canonical_type!r}",)
            if canonical_type != action_type
            else ()
        ),
        governance=protected_names,
    )


def _mentioned_shell(
    pairs: list[tuple[str, Any]], *, home: str | None, cwd: str | None, governance: frozenset[str]
) -> ShellAnalysis | None:
    """What the text fields of an unknown tool would do if that tool ran them.

    Its fields are read as shell text, whole, or line by line when the whole does
    not parse (prose around a command). Only readings with a finding count: a
    sentence reads as a harmless command of an unknown program."""
    analyses: list[ShellAnalysis] = []
    for _, value in pairs:
        if not isinstance(value, str) or not value.strip():
            continue
        whole = _analyze_shell(value, home=home, cwd=cwd, protected_names=governance)
        readings = [whole]
        if whole.parse_error and "\n" in value:
            readings = [
                _analyze_shell(line, home=home, cwd=cwd, protected_names=governance)
                for line in value.splitlines()
                if line.strip()
            ]
        analyses += [a for a in readings if a.findings]
    return _merge(analyses, "\n".join(a.text for a in analyses))


def _carries(need: str, payload: Mapping[str, Any], pairs: list[tuple[str, Any]]) -> bool:
    """Does the payload carry what an action of an inferred kind needs?"""
    if need == "path":
        return bool(_find_paths(pairs, "modify_file"))
    if need == "command":
        return any(_is_command_key(key) for key, _ in pairs)
    if any(_MONEY_KEY_WORDS.intersection(key.split("_")) for key, _ in pairs):
        return True  # an amount under a name the money reader may not know: it must say
    try:
        return money_analyzer.find_money(payload) is not None
    except MalformedInputError:
        return True  # an amount that does not parse: the money checks refuse it


#: Words of a key that hold an amount (``amt``, ``grand_total``, ``limit_price``, ``eth``).
_MONEY_KEY_WORDS = frozenset(
    {
        "amount",
        "amt",
        "total",
        "price",
        "cost",
        "sum",
        "value",
        "fee",
        "usd",
        "eur",
        "gbp",
        "jpy",
        "eth",
        "btc",
        "sats",
        "wei",
        "gwei",
        "lamports",
        "denomination",
        "budget",
        "subtotal",
    }
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
