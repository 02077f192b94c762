"""Action types: the caller's name for an action, read as one the layers know.

Why: ``mcp__filesystem__read_file``, ``functions.read_file``, ``fs.readFile``,
``ＲＥＡＤ_file``, ``read\u200b_file`` and ``wr\u0456te_file`` (a Cyrillic i) name the
same actions as ``read_file`` and ``write_file``, and an agent framework picks its
own spelling. A name that slips past the table must not slip past the checks, so
the name is read the way a person would: Unicode compatibility forms folded,
invisible characters dropped, look-alike letters mapped, camelCase split,
namespaces (``server__tool``, ``module.tool``) and ``_tool`` suffixes peeled off.
A name still unknown is read by the verbs and nouns it is made of (``remove``,
``writeFile``, ``send_crypto``, ``run_shell_command``) when the payload carries
what that kind of action needs; otherwise it stays unknown and is analysed by the
shape of its payload.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from canopy.decisions.action import CANONICAL_ACTION_TYPES
from canopy.errors import MalformedInputError

__all__ = [
    "ACTION_ALIASES",
    "CODE_ACTION_LANGUAGES",
    "code_language_of_name",
    "inferred_action_type",
    "name_candidates",
    "normalize_action_type",
    "type_key",
]

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
            "spawn_process",
            "start_process",
            "create_process",
            "run_process",
            "popen",
            "shell_tool",
            "computer_terminal",
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
    **dict.fromkeys(
        ("run_code", "execute_code", "code_execution", "exec_code", "eval", "evaluate"), None
    ),
}
ACTION_ALIASES.update(dict.fromkeys(CODE_ACTION_LANGUAGES, "execute_shell"))

#: Latin look-alikes from other scripts that NFKC keeps apart (Cyrillic, Greek).
_LOOKALIKES = str.maketrans(
    "\u0430\u0441\u0435\u0456\u0458\u043e\u0440\u0455\u0443\u0445\u04bb\u0501\u051b"
    "\u03bf\u03b1\u03b5\u03b9\u03ba\u03bd\u03c1\u03c4\u03c5\u03c7",
    "aceijopsyxhdqoaeiknptux",
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
#: Where a namespace ends: ``server__tool``, ``module.tool``, ``ns/tool``, ``ns:tool``.
_NAMESPACE = re.compile(r"__|[./:]")


def type_key(action_type: str) -> str:
    """The comparison form of a name: ``" Run-Command "`` -> ``run_command``,
    ``readFile`` -> ``read_file``, ``ｒｅａｄ\u200b_file`` -> ``read_file``."""
    text = unicodedata.normalize("NFKC", action_type)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf").translate(_LOOKALIKES)
    text = _CAMEL.sub("_", text).lower()
    return _SEPARATORS.sub("_", text).strip("_")


def name_candidates(action_type: str) -> list[str]:
    """The name, then the same without its namespace, then without a ``tool`` affix."""
    clean = "".join(
        c for c in unicodedata.normalize("NFKC", action_type) if unicodedata.category(c) != "Cf"
    ).strip()
    keys = [type_key(clean)]
    parts = [p for p in _NAMESPACE.split(clean) if p.strip()]
    if len(parts) > 1:
        keys.append(type_key(parts[-1]))
    for key in list(keys):
        for affix in ("_tool", "_tools", "tool_"):
            if key.endswith(affix) or key.startswith(affix):
                keys.append(key.removesuffix(affix).removeprefix(affix).strip("_"))
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def normalize_action_type(action_type: str) -> str:
    """``" Run-Command "`` -> ``execute_shell``; unknown types keep their key form."""
    if not isinstance(action_type, str):
        raise MalformedInputError(f"action_type must be a string, not {type(action_type).__name__}")
    if type(action_type) is str and len(action_type) <= _CACHED_TYPE_LENGTH:
        return _cached_type(action_type)
    return _normalized_type(action_type)  # str subclasses and long names: not cached


def _normalized_type(action_type: str) -> str:
    for key in name_candidates(action_type):
        if key in CANONICAL_ACTION_TYPES:
            return key
        if key in ACTION_ALIASES:
            return ACTION_ALIASES[key]
    return _plain_key(action_type)


def _plain_key(action_type: str) -> str:
    """An unknown name as it is recorded: lowercase, separators as ``_``, nothing else
    changed (the name the caller used stays recognisable in the evidence)."""
    return "_".join(action_type.strip().lower().replace("-", " ").replace(".", " ").split())


#: Pure, and agents use a handful of action types: cached (short names only, so
#: the cache stays small whatever callers send).
_cached_type = lru_cache(maxsize=1024)(_normalized_type)
_CACHED_TYPE_LENGTH = 100


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words of a name that say what kind of action it is, checked in this order.
#: Each kind is chosen only when the payload has what it needs (``needs``).
_READ_WORDS = _words("read cat view open load get list ls show head tail search find stat")
_KINDS: tuple[tuple[str, frozenset[str], str], ...] = (
    ("execute_shell", _words("shell bash sh zsh terminal console cmd command commands"), "command"),
    ("delete_file", _words("delete remove rm rmdir unlink trash erase purge destroy wipe"), "path"),
    (
        "modify_file",
        _words(
            "write save create edit update replace patch append insert rename move mv copy cp "
            "chmod chown permissions permission touch mkdir upload overwrite"
        ),
        "path",
    ),
    ("read_file", _READ_WORDS | _words("file files dir directory"), "path"),
    (
        "spend_money",
        _words(
            "pay payment payments charge transfer purchase buy order checkout invoice refund "
            "payout crypto wire tip donate donation withdraw withdrawal trade swap stake"
        ),
        "money",
    ),
    ("query_database", _words("sql database db postgres mysql sqlite"), ""),
)
# Web and messaging tools are not re-typed: their URLs are checked under any name (the
# Constitution's SSRF article, the Firewall's scheme and host checks), and re-typing
# them would put every ``fetch_url`` tool under the policy's rules for API calls.


def inferred_action_type(key: str, has: Callable[[str], bool]) -> str | None:
    """The kind of action an unknown name's words say it is, if the payload has what
    that kind needs (``has("path")``, ``has("money")``, ``has("command")``); None
    when the words say nothing or the payload disagrees.
    A name with a reading verb (``list_orders``, ``get_invoice``) moves no money."""
    words = frozenset(type_key(key).split("_"))
    for kind, signs, needs in _KINDS:
        if not words & signs:
            continue
        if kind == "spend_money" and words & _READ_WORDS:
            continue
        if not needs or has(needs):
            return kind
    return None


#: Words of a name that say it runs code, and in which language ("": the language is
#: read from the code itself).
_CODE_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("ipython", _words("ipython jupyter")),
    ("python", _words("python python3 py repl")),
    ("javascript", _words("javascript js nodejs")),
    ("", _words("eval interpreter sandbox")),
)


@lru_cache(maxsize=1024)  # pure, asked on every shell action: agents use few names
def code_language_of_name(action_type: str) -> str | None:
    """The language of the code an action of this name runs (``execute_python``,
    ``PythonREPLTool``, ``execute_ipython_cell``), "" when the name says code but
    not which language, None when the name says it runs no code."""
    candidates = name_candidates(action_type)
    for key in candidates:
        if key in CODE_ACTION_LANGUAGES:
            return CODE_ACTION_LANGUAGES[key] or ""
    words = frozenset(candidates[0].split("_")) if candidates else frozenset()
    return next((language for language, signs in _CODE_WORDS if words & signs), None)
