"""Commands and files named in SQL and in database shells' meta-commands.

Why: ``sqlite3 x.db '.shell rm -rf /'``, ``psql -c '\\! rm -rf /'``, ``mysql -e 'system rm'``
and ``COPY t TO PROGRAM 'rm -rf /'`` run shell commands, and ``writefile()``, ``INTO
OUTFILE`` or ``.output`` write files, without ``rm`` or the path standing where the walker
looks. ``sql_effects`` is also used on SQL in action payloads (``extract.py``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable

from canopy.decisions.analyzers.shell_rules import Call
from canopy.decisions.analyzers.shell_tool_effects import (
    Effect,
    Kind,
    apply_effects,
    run_shell,
    stdin_text,
)
from canopy.decisions.analyzers.shell_words import Word

__all__ = ["rule_database_shell", "sql_effects"]

_SQL_FILE_FUNCTIONS = {
    "writefile": Kind.WRITE,
    "readfile": Kind.READ,
    "load_file": Kind.READ,
    "edit": Kind.NOTE,
    "pg_read_file": Kind.READ,
    "pg_read_binary_file": Kind.READ,
    "pg_stat_file": Kind.READ,
    "lo_import": Kind.READ,
    "file": Kind.READ,  # ClickHouse file('path')
}
#: Table functions that fetch a URL from the database server (ClickHouse, DuckDB...).
_SQL_URL_FUNCTIONS = "url|s3|s3cluster|hdfs|remote|remotesecure|mysql|postgresql|read_csv_auto"


def sql_effects(sql: str) -> list[Effect]:
    """Files and commands SQL names in string literals (read as SQL reads them, ``''``
    escapes included): ``writefile``/``readfile``/``load_file`` paths, ``INTO OUTFILE``
    targets, and ``COPY ... TO/FROM PROGRAM 'cmd'``, which runs a shell command."""
    effects: list[Effect] = []
    for m in re.finditer(
        r"\b(writefile|readfile|load_file|edit|load_extension|pg_read_file|pg_read_binary_file"
        r"|pg_stat_file|lo_import|file)\s*\(\s*'",
        sql,
        re.I,
    ):
        name = m.group(1).lower()
        literal = _sql_string(sql, m.end())
        if name == "load_extension":
            effects.append((Kind.NOTE, "loads a native extension"))
        elif literal is not None:
            effects.append((_SQL_FILE_FUNCTIONS[name], literal))
    for m in re.finditer(rf"\b(?:{_SQL_URL_FUNCTIONS})\s*\(\s*'", sql, re.I):
        literal = _sql_string(sql, m.end())
        if literal is not None and "://" in literal:
            effects.append((Kind.FETCH, literal))
    for m in re.finditer(r"\blo_export\s*\([^,()]*,\s*'", sql, re.I):
        literal = _sql_string(sql, m.end())
        if literal is not None:
            effects.append((Kind.WRITE, literal))
    for m in re.finditer(r"\battach\s+(?:database\s+)?'", sql, re.I):  # SQLite creates it
        literal = _sql_string(sql, m.end())
        if literal is not None and literal not in ("", ":memory:"):
            effects.append((Kind.WRITE, literal))
    for m in re.finditer(r"\bcopy\b[^;']*?\b(to|from)\s+'", sql, re.I):  # COPY t TO 'file'
        literal = _sql_string(sql, m.end())
        if literal is not None:
            effects.append((Kind.WRITE if m.group(1).lower() == "to" else Kind.READ, literal))
    for m in re.finditer(r"\binto\s+(?:out|dump)file\s+'", sql, re.I):
        literal = _sql_string(sql, m.end())
        if literal is not None:
            effects.append((Kind.WRITE, literal))
    for m in re.finditer(r"\b(?:to|from)\s+program\s+'", sql, re.I):
        literal = _sql_string(sql, m.end())
        if literal is not None:
            effects.append((Kind.RUN, literal))
    return effects


def _sql_string(sql: str, i: int) -> str | None:
    """The SQL string literal whose body starts at ``i`` ('' is a quote)."""
    out: list[str] = []
    while i < len(sql):
        if sql[i] == "'":
            if sql[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out)
        out.append(sql[i])
        i += 1
    return None


def _sqlite_dot(line: str) -> list[Effect]:
    verb, _, rest = line.strip()[1:].partition(" ")
    rest = rest.strip()
    try:  # the sqlite3 shell unquotes its arguments: .once '|cmd'
        words = shlex.split(rest)
    except ValueError:
        words = rest.split()
    args = [a for a in words if not a.startswith("-")]
    target = args[0] if args else ""
    if verb in ("shell", "system"):
        return [(Kind.RUN, rest)]
    if verb in ("output", "once", "read", "import") and target.startswith("|"):
        return [(Kind.RUN, target[1:])]
    if verb == "log" and target not in ("", "off", "stdout", "stderr"):
        return [(Kind.WRITE, target)]
    if verb in ("output", "once", "backup", "save") and target:
        return [(Kind.WRITE, args[-1] if verb in ("backup", "save") else target)]
    if verb in ("read", "import") and target:
        return [(Kind.READ, target)]
    if verb == "load":
        return [(Kind.NOTE, "loads a native extension")]
    return []


def _psql_meta(line: str) -> list[Effect]:
    effects: list[Effect] = []
    for m in re.finditer(
        r"\\(!|o|out|g|gx|w|write|i|ir|include|copy|lo_export)(?![A-Za-z])(.*)", line
    ):
        verb, rest = m.group(1), m.group(2).strip()
        if verb == "!":
            effects.append((Kind.RUN, rest))
        elif rest.startswith("|"):
            effects.append((Kind.RUN, rest[1:]))
        elif verb in ("o", "out", "g", "gx", "w", "write") and rest:
            effects.append((Kind.WRITE, rest.split()[0]))
        elif verb in ("i", "ir", "include") and rest:
            effects.append((Kind.READ, rest.split()[0]))
        elif verb == "lo_export" and len(rest.split()) > 1:
            effects.append((Kind.WRITE, rest.split()[1]))
        break  # a meta-command takes the rest of the line
    return effects


_MYSQL_LINE = re.compile(r"^\s*(\\!|system|\\P|pager|\\T|tee|\\\.|source)\s+(.*)$", re.I)


def _mysql_line(line: str) -> list[Effect]:
    m = _MYSQL_LINE.match(line)
    if not m:
        return []
    verb, rest = m.group(1).lower(), m.group(2).strip().rstrip(";")
    if verb in ("\\!", "system", "\\p", "pager"):
        return [(Kind.RUN, rest)]
    if verb in ("\\t", "tee"):
        return [(Kind.WRITE, rest)]
    return [(Kind.READ, rest)]


def _sqlite_texts(args: list[Word]) -> list[str]:
    """sqlite3 takes single-dash long options (``-cmd TEXT``); its first operand is the
    database and the rest are SQL or dot-commands."""
    texts: list[str] = []
    operands: list[str] = []
    i = 0
    while i < len(args):
        text = args[i].text
        if text in ("-cmd", "--cmd") and i + 1 < len(args):
            texts.append(args[i + 1].text)
            i += 2
            continue
        if text in _SQLITE_VALUE_OPTIONS:
            i += 2
            continue
        if not text.startswith("-"):
            operands.append(text)
        i += 1
    return texts + operands[1:]


_SQLITE_VALUE_OPTIONS = frozenset(
    {"-init", "-separator", "-newline", "-nullvalue", "-vfs", "-maxsize", "-mmap", "-lookaside"}
)


def _db_texts(call: Call) -> list[str]:
    parsed = call.parsed
    if call.name == "sqlite3":
        texts = _sqlite_texts(call.args)
    elif call.name == "psql":
        texts = parsed.values.get("c", []) + parsed.values.get("command", [])
    else:
        texts = parsed.values.get("e", []) + parsed.values.get("execute", [])
    stdin = stdin_text(call)
    if stdin is not None:
        texts.append(stdin)
    return texts


def rule_database_shell(call: Call) -> None:
    line_effects: Callable[[str], list[Effect]] = {
        "sqlite3": lambda line: _sqlite_dot(line) if line.lstrip().startswith(".") else [],
        "psql": _psql_meta,
    }.get(call.name, _mysql_line)
    if call.name in ("mysql", "mariadb") and call.parsed.values.get("pager"):
        run_shell(call, call.parsed.values["pager"][-1], "mysql --pager")
    for text in _db_texts(call):
        effects = sql_effects(text)
        for line in text.splitlines():
            effects += line_effects(line)
        apply_effects(call, effects, call.name)
