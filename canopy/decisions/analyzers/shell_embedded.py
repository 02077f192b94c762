"""Programs that run commands named in their options, configuration or scripts.

Why: ``tar --to-command='rm -rf /'``, ``git -c core.pager='rm -rf /' log``,
``vim -c '!rm -rf /'``, ``sed 's/.*/rm -rf \\//e'`` and ``sqlite3 x.db '.shell rm -rf /'``
never put ``rm`` where a command goes, so the walker alone sees ``tar``, ``git``, ``vim``.
Each rule here finds the text such a program hands to a shell (or the file it writes or
reads) and gives it back to the walker, so the nested command is judged like any other.
Also here: commands that print credentials (``gh auth token``), system controls that
need a human (``iptables -F``, ``umount -a``, ``modprobe``), and interpreters whose code
we cannot analyze (``pwsh -c``, ``Rscript -e``), which are reported rather than passed.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_options import parse_options
from canopy.decisions.analyzers.shell_programs import DESTRUCTIVE_TOKEN, SPECS
from canopy.decisions.analyzers.shell_rules import Call, read_target, remote_labels, write_target
from canopy.decisions.analyzers.shell_words import Stream, Word
from canopy.decisions.model import Severity

__all__ = [
    "EMBEDDED_RULES",
    "OPAQUE_INTERPRETERS",
    "ex_effects",
    "gdb_effects",
    "make_recipes",
    "sed_effects",
    "sql_effects",
]

R = ShellRisk
S = Severity

#: Effects a tool's script has, before they are handed to the walker.
RUN, WRITE, READ, NOTE = "run", "write", "read", "note"
Effect = tuple[str, str]


# --- handing text back to the walker ---------------------------------------------------


def _run_shell(call: Call, text: str, via: str, labels: frozenset[str] = frozenset()) -> None:
    """Analyze ``text`` as the shell command ``via`` will run."""
    if remote_labels(Stream(None, labels)):
        call.report(R.REMOTE_CODE, S.HIGH, f"{via} runs downloaded or decoded code")
    if text.strip():
        call.runner.script(text, call.scope.copy(), call.ctx.wrapped(via, nested=True))


def _run_word(call: Call, word: Word, via: str) -> None:
    """An option value that is a command line: analyzed, or reported when not literal."""
    if not word.resolved:
        call.report(R.UNVERIFIABLE, S.MEDIUM, f"{via} runs a command that is not a literal")
    _run_shell(call, word.text, via, word.labels)


def _apply(call: Call, effects: list[Effect], via: str) -> None:
    for kind, text in effects:
        if kind == RUN:
            _run_shell(call, text, via)
        elif kind == WRITE:
            write_target(call, call.ref(Word.literal(text)), truncate=True, verb=f"{via} writes")
        elif kind == READ:
            read_target(call, call.ref(Word.literal(text)))
        else:
            call.report(R.UNVERIFIABLE, S.MEDIUM, f"{via}: {text}")


def _stdin_text(call: Call) -> str | None:
    return call.ctx.stdin.text


# --- git: configuration that names commands ------------------------------------------------

#: Configuration keys (lowercased) whose value git runs through the shell.
_GIT_COMMAND_KEYS = re.compile(
    r"^(?:core\.(?:sshcommand|pager|editor|fsmonitor|askpass|gitproxy)|diff\.external"
    r"|(?:diff|merge|filter)\..+\.(?:command|textconv|driver|clean|smudge|process)"
    r"|pager\..+|sequence\.editor|gpg(?:\..+)?\.program|uploadpack\.packobjectshook"
    r"|remote\..+\.(?:uploadpack|receivepack)|sendemail\.(?:sendmailcmd|tocmd|cccmd)"
    r"|credential(?:\..+)?\.helper|alias\..+)$"
)
#: Keys whose value is a command only when it starts with "!" (otherwise a git
#: subcommand or a helper name); a path to a helper program counts too.
_GIT_BANG_KEYS = re.compile(r"^(?:alias\..+|credential(?:\..+)?\.helper)$")
_GIT_BOOLEANS = frozenset({"", "true", "false", "yes", "no", "on", "off", "0", "1"})
_GIT_CONFIG_VALUE_OPTS = frozenset({"-f", "--file", "--blob", "--type", "--default", "--comment"})
#: Subcommands whose option (or operand) is a command they run.
_GIT_RUNNERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "rebase": frozenset({"-x", "--exec"}),
        "filter-branch": frozenset(
            {
                "--env-filter",
                "--tree-filter",
                "--index-filter",
                "--parent-filter",
                "--msg-filter",
                "--commit-filter",
                "--tag-name-filter",
            }
        ),
    }
)


def _git_ext_argv(text: str) -> list[str]:
    """git-remote-ext(1): arguments split at spaces, ``% `` is a space inside one,
    ``%%`` a percent sign."""
    argv: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "%" and i + 1 < len(text) and text[i + 1] in " %":
            current.append(text[i + 1])
            i += 2
            continue
        if ch == " ":
            if current:
                argv.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if current:
        argv.append("".join(current))
    return argv


def _git_setting(call: Call, key: str, value: Word) -> None:
    """One ``key=value`` git will use: analyze the command it names, if any."""
    name = key.lower()
    text = value.text.strip()
    if name == "core.hookspath":
        call.report(R.UNVERIFIABLE, S.MEDIUM, f"git runs hooks from {text or 'a directory'}")
        return
    if not _GIT_COMMAND_KEYS.match(name) or text.lower() in _GIT_BOOLEANS:
        return
    if _GIT_BANG_KEYS.match(name):
        if text.startswith("!"):
            text = text[1:]
        elif "/" not in text:
            return  # a git alias of git subcommands, or a named credential helper
    _run_word(call, Word(text, value.exact, value.resolved, labels=value.labels), f"git {name}")


def _git_config_args(call: Call, ops: list[Word]) -> None:
    """``git config [--global] KEY VALUE`` and ``git config set KEY VALUE``."""
    words: list[Word] = []
    skip = False
    for word in ops:
        if skip:
            skip = False
        elif word.text in _GIT_CONFIG_VALUE_OPTS:
            skip = True
        elif not word.text.startswith("-"):
            words.append(word)
    if words and words[0].text in ("set", "--add", "add"):
        words = words[1:]
    if len(words) >= 2 and "." in words[0].text:
        _git_setting(call, words[0].text, words[1])


def _git_runner_options(call: Call, sub: str, rest: list[Word]) -> None:
    options = _GIT_RUNNERS.get(sub, frozenset())
    for i, word in enumerate(rest):
        name, eq, value = word.text.partition("=")
        if name in options:
            if eq:
                _run_word(call, Word(value, word.exact, word.resolved), f"git {sub} {name}")
            elif i + 1 < len(rest):
                _run_word(call, rest[i + 1], f"git {sub} {name}")
    texts = [w.text for w in rest]
    if sub == "submodule" and "foreach" in texts:
        cmd = [w for w in rest[texts.index("foreach") + 1 :] if not w.text.startswith("--")]
        if cmd:
            _run_shell(call, " ".join(w.text for w in cmd), "git submodule foreach")
    if sub == "bisect" and texts[:1] == ["run"] and len(rest) > 1:
        call.runner.argv(rest[1:], call.scope.copy(), call.ctx.wrapped("git bisect run"))


def rule_git(call: Call) -> None:
    _git_commands(call)
    rule_secret_printers(call)


def _git_commands(call: Call) -> None:
    """Commands git runs: from ``-c`` settings, ``git config``, ext:: remotes, and the
    subcommands that take one (``rebase --exec``, ``submodule foreach``...)."""
    for setting in call.parsed.value_words.get("c", []):
        key, eq, value = setting.text.partition("=")
        if eq:
            _git_setting(call, key, Word(value, setting.exact, setting.resolved))
    for setting in call.parsed.values.get("config-env", []):  # KEY=ENVVAR
        key, _, variable = setting.partition("=")
        if variable in call.scope.env:
            _git_setting(call, key, call.scope.env[variable])
    ops = call.parsed.operands
    for word in ops:
        if word.text.startswith("ext::"):  # the ext transport runs its argument
            argv = [Word(a) for a in _git_ext_argv(word.text[5:])]
            if argv:
                call.runner.argv(
                    argv, call.scope.copy(), call.ctx.wrapped("git ext::", nested=True)
                )
    if not ops:
        return
    sub, rest = ops[0].text, list(ops[1:])
    if sub == "config":
        _git_config_args(call, rest)
    _git_runner_options(call, sub, rest)


# --- archivers, rsync, man, pagers ------------------------------------------------------------

#: Option keys (as parsed) whose value is a command line the program runs.
_COMMAND_OPTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "tar": (
            "to-command",
            "use-compress-program",
            "I",
            "info-script",
            "new-volume-script",
            "F",
            "rsh-command",
        ),
        "rsync": ("e", "rsh", "rsync-path"),
        "man": ("P", "pager", "H", "html"),
    }
)


def rule_command_options(call: Call) -> None:
    for key in _COMMAND_OPTIONS.get(call.name, ()):
        for word in call.parsed.value_words.get(key, []):
            _run_word(call, word, f"{call.name} --{key}")
    if call.name == "tar":
        for word in call.parsed.value_words.get("checkpoint-action", []):
            action, eq, command = word.text.partition("=")
            if action == "exec" and eq:
                _run_word(call, Word(command, word.exact, word.resolved), "tar checkpoint exec")


def rule_zip(call: Call) -> None:
    """``zip -T -TT CMD`` / ``--unzip-command CMD`` tests the archive with CMD."""
    args = call.args
    for i, word in enumerate(args):
        name, eq, value = word.text.partition("=")
        if name in ("-TT", "--unzip-command"):
            if eq:
                _run_word(call, Word(value, word.exact, word.resolved), "zip -TT")
            elif i + 1 < len(args):
                _run_word(call, args[i + 1], "zip -TT")


# --- editors: ex commands ---------------------------------------------------------------------

_EX_PREFIX = re.compile(r"^[\s:]*(?:sil(?:ent)?!?\s*)?(?:[\d.$%,'<>+-]|\\[/?&])*\s*")
#: ``:r !cmd`` / ``:r!cmd`` read a command's output, ``:w !cmd`` pipes to one; ``:w! F``
#: (no space) is a forced write, not a command.
_EX_FILTER = re.compile(r"^(?:r(?:ead)?\s*|(?:w(?:rite)?|e(?:dit)?)\s+)!(.*)$", re.DOTALL)
_EX_FILE = re.compile(
    r"^(w(?:rite)?|wq|x(?:it)?|sav(?:eas)?|up(?:date)?|r(?:ead)?)!?\s+(\S.*)$", re.DOTALL
)
_EX_CODE = re.compile(
    r"^(py3|python3|py|python|pyx|pythonx|lua|perl|ruby|rub|mz|tcl|exe(?:cute)?|call|"
    r"ter(?:m(?:inal)?)?)\b\s*(.*)$",
    re.DOTALL,
)
_EX_STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^']|'')*)'")
_EX_INTERPRETERS = {
    "py3": "python3",
    "python3": "python3",
    "py": "python3",
    "python": "python3",
    "pyx": "python3",
    "pythonx": "python3",
    "lua": "lua",
    "perl": "perl",
    "ruby": "ruby",
    "rub": "ruby",
}


def ex_effects(command: str, depth: int = 0) -> list[Effect]:
    """What one vi/vim/ex/ed command line does: ``!cmd``, ``r !cmd``, ``w FILE``,
    ``:py3 ...``, ``:call system('...')``. Everything else is editing."""
    line = _EX_PREFIX.sub("", command, count=1)
    if not line or depth > 4:
        return []
    if line.startswith("!"):
        return [(RUN, line[1:])]
    m = _EX_FILTER.match(line)
    if m:
        return [(RUN, m.group(1))]
    m = _EX_FILE.match(line)
    if m:
        kind = READ if m.group(1).startswith("r") else WRITE
        return [(kind, m.group(2).strip())]
    m = _EX_CODE.match(line)
    if not m:
        return []
    verb, rest = m.group(1), m.group(2).strip()
    if verb in _EX_INTERPRETERS:
        lang = _EX_INTERPRETERS[verb]
        flag = "-c" if lang == "python3" else "-e"
        return [(RUN, f"{lang} {flag} {_shell_quote(rest)}")]
    if verb.startswith("ter"):
        return [(RUN, rest)] if rest else []
    if verb in ("mz", "tcl"):
        return [(NOTE, f"runs {verb} code")] if rest else []
    return _ex_strings(verb, rest, depth)


def _ex_strings(verb: str, rest: str, depth: int) -> list[Effect]:
    """``:exe "..."`` runs its strings as ex commands; ``:call system('...')`` as shell."""
    strings = [a if a is not None else b.replace("''", "'") for a, b in _EX_STRING.findall(rest)]
    if verb.startswith("exe"):
        if not strings:
            return [(NOTE, "runs a computed editor command")]
        return ex_effects(" ".join(strings), depth + 1)
    if re.search(r"\b(?:system|systemlist|jobstart|job_start|termopen)\s*\(", rest):
        if not strings:
            return [(NOTE, "runs a computed command")]
        return [(RUN, s) for s in strings]
    return []


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


_VIM_FAMILY = frozenset({"vim", "vi", "nvim", "view", "rvim", "gvim", "evim", "vimdiff", "ex"})


def rule_vim(call: Call) -> None:
    """``-c CMD``, ``--cmd CMD``, ``+CMD``, ``-S SCRIPT`` and, in ex mode, stdin lines."""
    parsed = parse_options(call.args, SPECS["vim"])
    commands = [*parsed.values.get("c", []), *parsed.values.get("cmd", [])]
    commands += [w.text[1:] for w in parsed.operands if w.text.startswith("+") and len(w.text) > 1]
    for command in commands:
        _apply(call, ex_effects(command), call.program)
    scripts = [*parsed.value_words.get("S", []), *parsed.value_words.get("u", [])]
    for script in scripts:  # vim scripts (-S, a vimrc via -u) written earlier, or <(...)
        content = script.content or call.scope.files.get(call.ref(script).path)
        for line in (content.text or "").splitlines() if content is not None else ():
            _apply(call, ex_effects(line), call.program)
    stdin = _stdin_text(call)
    if stdin is not None and (call.name == "ex" or parsed.has("e", "E", "es")):
        for line in stdin.splitlines():
            _apply(call, ex_effects(line), call.program)


def rule_ed(call: Call) -> None:
    stdin = _stdin_text(call)
    if stdin is None:
        return
    for line in stdin.splitlines():
        _apply(call, ex_effects(line), "ed")


# --- gdb ------------------------------------------------------------------------------------

_GDB_COMMAND_OPTS = frozenset(
    {"-ex", "-iex", "-eval-command", "-init-eval-command"}
    | {"--ex", "--iex", "--eval-command", "--init-eval-command"}
)
_GDB_SHELL = re.compile(r"^\s*(?:shell\s+|!\s*|pipe\s+[^|]*\|\s*|\|\s*)(.*)$", re.DOTALL)
_GDB_PYTHON = re.compile(r"^\s*(?:python|py|python-interactive|pi)\s+(.*)$", re.DOTALL)


def gdb_effects(command: str) -> list[Effect]:
    """What one gdb command does: ``shell``/``!``/``pipe`` run shell text, ``python`` runs
    Python, ``call system("...")`` runs its string."""
    m = _GDB_SHELL.match(command)
    if m:
        return [(RUN, m.group(1))]
    m = _GDB_PYTHON.match(command)
    if m:
        return [(RUN, f"python3 -c {_shell_quote(m.group(1))}")]
    if re.match(r"^\s*call\s+\(?\s*(?:\(\w+\)\s*)?(?:system|execve?l?p?)\s*\(", command):
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', command)
        return [(RUN, s) for s in strings] or [(NOTE, "gdb calls a computed command")]
    return []


def rule_gdb(call: Call) -> None:
    args = call.args
    i = 0
    while i < len(args):
        text = args[i].text
        name, eq, value = text.partition("=")
        if name in _GDB_COMMAND_OPTS:
            command = value if eq else (args[i + 1].text if i + 1 < len(args) else "")
            _apply(call, gdb_effects(command), "gdb")
            i += 1 if eq else 2
            continue
        if text == "--args" and i + 1 < len(args):
            call.runner.argv(list(args[i + 1 :]), call.scope.copy(), call.ctx.wrapped("gdb --args"))
            return
        i += 1


# --- sed scripts --------------------------------------------------------------------------

_SED_ADDRESS = frozenset("0123456789$,+~!{}; \t\n")
_SED_LABEL_COMMANDS = frozenset(":btTvlLqQ")


def _sed_line(script: str, i: int) -> tuple[str, int]:
    """The rest of the line (GNU: file names and ``e`` commands end at a newline only)."""
    end = script.find("\n", i)
    end = len(script) if end < 0 else end
    return script[i:end].strip(), end


def _sed_delimited(script: str, i: int, delim: str) -> tuple[str, int]:
    """A field up to the next unescaped delimiter; ``\\delim`` is the delimiter itself."""
    out: list[str] = []
    while i < len(script):
        ch = script[i]
        if ch == "\\" and i + 1 < len(script):
            nxt = script[i + 1]
            out.append(nxt if nxt == delim else "\n" if nxt == "n" else "\\" + nxt)
            i += 2
            continue
        if ch == delim:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return "".join(out), i


def _sed_substitute(script: str, i: int, effects: list[Effect]) -> int:
    if i >= len(script):
        return i
    delim = script[i]
    _, i = _sed_delimited(script, i + 1, delim)
    replacement, i = _sed_delimited(script, i, delim)
    flags = ""
    while i < len(script) and script[i] in "gpiImMe0123456789":
        flags += script[i]
        i += 1
    if "e" in flags:
        effects.append((RUN, replacement.replace("\\\\", "\\")))
        if re.search(r"&|\\[0-9]", replacement):
            effects.append((NOTE, "runs edited input lines as commands"))
    if i < len(script) and script[i] == "w":
        name, i = _sed_line(script, i + 1)
        effects.append((WRITE, name))
    return i


def sed_effects(script: str) -> list[Effect]:
    """Commands of a sed script that run programs (``e``, ``s///e``) or touch files
    (``r``, ``R``, ``w``, ``W``, ``s///w``), per GNU sed's grammar."""
    effects: list[Effect] = []
    i = 0
    while i < len(script):
        ch = script[i]
        if ch in _SED_ADDRESS:
            i += 1
        elif ch == "#":
            i = _sed_line(script, i)[1]
        elif ch in "/\\":
            delim = "/" if ch == "/" else script[i + 1 : i + 2]
            i = _sed_delimited(script, i + (1 if ch == "/" else 2), delim)[1]
            while i < len(script) and script[i] in "IM":
                i += 1
        elif ch in "aic":
            i = _sed_line(script, i + 1)[1]
        elif ch in "rRwW":
            name, i = _sed_line(script, i + 1)
            effects.append((READ if ch in "rR" else WRITE, name))
        elif ch == "e":
            command, i = _sed_line(script, i + 1)
            effects.append((RUN, command) if command else (NOTE, "runs input lines as commands"))
        elif ch == "s":
            i = _sed_substitute(script, i + 1, effects)
        elif ch == "y" and i + 1 < len(script):
            delim = script[i + 1]
            i = _sed_delimited(script, _sed_delimited(script, i + 2, delim)[1], delim)[1]
        elif ch in _SED_LABEL_COMMANDS:
            while i < len(script) and script[i] not in ";\n":
                i += 1
        else:
            i += 1
    return effects


def rule_sed_script(call: Call) -> None:
    parsed = call.parsed
    if "sandbox" in parsed.longs:
        return
    scripts = [*parsed.values.get("e", []), *parsed.values.get("expression", [])]
    if not scripts and not parsed.has("f", "file") and parsed.operands:
        scripts = [parsed.operands[0].text]
    for name in parsed.values.get("f", []) + parsed.values.get("file", []):
        content = call.scope.files.get(call.ref(Word.literal(name)).path)
        if content is not None and content.text is not None:
            scripts.append(content.text)
    for script in scripts:
        _apply(call, [e for e in sed_effects(script) if e[1] not in _SED_STD_FILES], "sed")


_SED_STD_FILES = frozenset({"/dev/stdout", "/dev/stderr"})


# --- database shells: meta-commands --------------------------------------------------------

_SQL_FILE_FUNCTIONS = {"writefile": WRITE, "readfile": READ, "load_file": READ, "edit": NOTE}


def sql_effects(sql: str) -> list[Effect]:
    """Files and commands SQL names in string literals (read as SQL reads them, ``''``
    escapes included): ``writefile``/``readfile``/``load_file`` paths, ``INTO OUTFILE``
    targets, and ``COPY ... TO/FROM PROGRAM 'cmd'``, which runs a shell command."""
    effects: list[Effect] = []
    for m in re.finditer(
        r"\b(writefile|readfile|load_file|edit|load_extension)\s*\(\s*'", sql, re.I
    ):
        name = m.group(1).lower()
        literal = _sql_string(sql, m.end())
        if name == "load_extension":
            effects.append((NOTE, "loads a native extension"))
        elif literal is not None:
            effects.append((_SQL_FILE_FUNCTIONS[name], literal))
    for m in re.finditer(r"\binto\s+(?:out|dump)file\s+'", sql, re.I):
        literal = _sql_string(sql, m.end())
        if literal is not None:
            effects.append((WRITE, literal))
    for m in re.finditer(r"\b(?:to|from)\s+program\s+'", sql, re.I):
        literal = _sql_string(sql, m.end())
        if literal is not None:
            effects.append((RUN, literal))
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
    args = [a for a in rest.split() if not a.startswith("-")]
    target = args[0] if args else ""
    if verb in ("shell", "system"):
        return [(RUN, rest)]
    if verb in ("output", "once", "read") and target.startswith("|"):
        return [(RUN, rest[rest.index("|") + 1 :])]
    if verb in ("output", "once", "backup", "save") and target:
        return [(WRITE, args[-1] if verb in ("backup", "save") else target)]
    if verb in ("read", "import") and target:
        return [(READ, target)]
    if verb == "load":
        return [(NOTE, "loads a native extension")]
    return []


def _psql_meta(line: str) -> list[Effect]:
    effects: list[Effect] = []
    for m in re.finditer(
        r"\\(!|o|out|g|gx|w|write|i|ir|include|copy|lo_export)(?![A-Za-z])(.*)", line
    ):
        verb, rest = m.group(1), m.group(2).strip()
        if verb == "!":
            effects.append((RUN, rest))
        elif rest.startswith("|"):
            effects.append((RUN, rest[1:]))
        elif verb in ("o", "out", "g", "gx", "w", "write") and rest:
            effects.append((WRITE, rest.split()[0]))
        elif verb in ("i", "ir", "include") and rest:
            effects.append((READ, rest.split()[0]))
        elif verb == "lo_export" and len(rest.split()) > 1:
            effects.append((WRITE, rest.split()[1]))
        break  # a meta-command takes the rest of the line
    return effects


_MYSQL_LINE = re.compile(r"^\s*(\\!|system|\\P|pager|\\T|tee|\\\.|source)\s+(.*)$", re.I)


def _mysql_line(line: str) -> list[Effect]:
    m = _MYSQL_LINE.match(line)
    if not m:
        return []
    verb, rest = m.group(1).lower(), m.group(2).strip().rstrip(";")
    if verb in ("\\!", "system", "\\p", "pager"):
        return [(RUN, rest)]
    if verb in ("\\t", "tee"):
        return [(WRITE, rest)]
    return [(READ, rest)]


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
    stdin = _stdin_text(call)
    if stdin is not None:
        texts.append(stdin)
    return texts


def rule_database_shell(call: Call) -> None:
    line_effects: Callable[[str], list[Effect]] = {
        "sqlite3": lambda line: _sqlite_dot(line) if line.lstrip().startswith(".") else [],
        "psql": _psql_meta,
    }.get(call.name, _mysql_line)
    if call.name in ("mysql", "mariadb") and call.parsed.values.get("pager"):
        _run_shell(call, call.parsed.values["pager"][-1], "mysql --pager")
    for text in _db_texts(call):
        effects = sql_effects(text)
        for line in text.splitlines():
            effects += line_effects(line)
        _apply(call, effects, call.name)


# --- make and cmake -----------------------------------------------------------------------

_MAKE_SHELL_CALL = re.compile(r"\$[({]shell\s+([^)}]*)[)}]")
_MAKE_VARIABLE = re.compile(r"\$[({][^)}]*[)}]|\$[^$({]")


def make_recipes(text: str) -> list[str]:
    """Shell commands in makefile text: recipe lines, inline ``target: ; recipe`` and
    ``$(shell ...)`` calls. Make variables become unknown shell variables."""
    commands = [m.group(1) for m in _MAKE_SHELL_CALL.finditer(text)]
    for line in text.replace("\\\n", " ").splitlines():
        recipe = None
        if line.startswith("\t"):
            recipe = line.lstrip("\t")
        elif ":" in line and ";" in line.split(":", 1)[1] and "=" not in line.split(":", 1)[0]:
            recipe = line.split(":", 1)[1].split(";", 1)[1]
        if recipe is not None:
            recipe = _MAKE_VARIABLE.sub("$MAKEVAR", recipe.lstrip("@-+ ")).replace("$$", "$")
            commands.append(recipe)
    return commands


def rule_make(call: Call) -> None:
    parsed = call.parsed
    texts = [*parsed.values.get("E", []), *parsed.values.get("eval", [])]
    for name in (*parsed.values.get("f", []), *parsed.values.get("file", [])):
        if name in ("-", "/dev/stdin"):
            content = call.ctx.stdin
        else:
            content = call.scope.files.get(call.ref(Word.literal(name)).path) or Stream()
        if content.text is not None:
            texts.append(content.text)
        if remote_labels(content):
            call.report(R.REMOTE_CODE, S.HIGH, "make runs a downloaded or decoded makefile")
    for text in texts:
        for command in make_recipes(text):
            _run_shell(call, command, "make recipe")


#: ``cmake -E TOOL ARGS``: the command each portable tool stands for.
_CMAKE_TOOLS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "rm": ("rm",),
        "remove": ("rm",),
        "remove_directory": ("rm", "-r"),
        "rename": ("mv",),
        "copy": ("cp",),
        "copy_if_different": ("cp",),
        "copy_directory": ("cp", "-r"),
        "copy_directory_if_different": ("cp", "-r"),
        "create_symlink": ("ln", "-s"),
        "create_hardlink": ("ln",),
        "make_directory": ("mkdir", "-p"),
        "touch": ("touch",),
        "touch_nocreate": ("touch",),
        "tar": ("tar",),
        "cat": ("cat",),
        "env": ("env",),
        "time": (),
        "chdir": ("env", "-C"),
    }
)


def rule_cmake(call: Call) -> None:
    args = call.args
    if len(args) < 2 or args[0].text != "-E" or args[1].text not in _CMAKE_TOOLS:
        return
    argv = [Word(t) for t in _CMAKE_TOOLS[args[1].text]] + list(args[2:])
    if argv:
        call.runner.argv(argv, call.scope.copy(), call.ctx.wrapped(f"cmake -E {args[1].text}"))


#: ``python -m zipfile -e ARCHIVE DIR`` and ``-m tarfile -e``: extraction like unzip/tar.
_PYTHON_ARCHIVERS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"zipfile": ("unzip", "{0}", "-d", "{1}"), "tarfile": ("tar", "-xf", "{0}", "-C", "{1}")}
)


def rule_python_archiver(call: Call) -> None:
    args = [w.text for w in call.args]
    if len(args) >= 3 and args[0] in ("-e", "--extract"):
        argv = [Word(t.format(args[1], args[2])) for t in _PYTHON_ARCHIVERS[call.name]]
        call.runner.argv(argv, call.scope.copy(), call.ctx.wrapped(f"python -m {call.name}"))


# --- project and environment runners: `uv run CMD`, `npm exec CMD` ---------------------------

#: Program -> subcommands that run the command after them, and that subcommand's options
#: taking a value (so ``uv run --python 3.12 rm -rf /`` still finds ``rm``).
_SUBCOMMAND_RUNNERS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = MappingProxyType(
    {
        name: (frozenset(subs.split()), frozenset(values.split()))
        for name, (subs, values) in {
            "uv": (
                "run tool:run",
                "--with --python -p --from --package --env-file --directory "
                "--project --group --extra --index --with-requirements",
            ),
            "poetry": ("run", "-C --directory -P --project"),
            "pipenv": ("run", ""),
            "pdm": ("run", "-p --project"),
            "hatch": ("run", "-e --env"),
            "rye": ("run", ""),
            "pipx": ("run", "--spec --python --index-url"),
            "conda": ("run", "-n --name -p --prefix --cwd"),
            "mamba": ("run", "-n --name -p --prefix --cwd"),
            "micromamba": ("run", "-n --name -p --prefix --cwd"),
            "bundle": ("exec", "--gemfile"),
            "npm": ("exec x", "--package -p -w --workspace"),
            "pnpm": ("exec dlx", "--package -C --dir --filter"),
            "yarn": ("exec dlx", "-p --package"),
            "bun": ("x", ""),
            "direnv": ("exec", ""),
            "mise": ("exec x", "-C --cd"),
            "asdf": ("exec", ""),
            "doppler": ("run", "-p --project -c --config --token"),
            "op": ("run", "--env-file"),
            "aws-vault": ("exec", "--region --duration"),
            "dotenv": ("run", "-f -e"),
        }.items()
    }
)
#: Runners whose first operand after the subcommand is theirs (``direnv exec DIR CMD``).
_RUNNER_SKIPS = MappingProxyType({("direnv", "exec"): 1, ("aws-vault", "exec"): 1})


def _runner_command(words: list[Word], value_options: frozenset[str], skip: int) -> list[Word]:
    """The command after a runner's options: everything after ``--``, else from the
    first word that is neither an option nor an option's value."""
    i = 0
    while i < len(words):
        text = words[i].text
        if text == "--":
            return words[i + 1 :]
        if text in value_options:
            i += 2
        elif text.startswith("-"):
            i += 1
        elif skip:
            skip -= 1
            i += 1
        else:
            return words[i:]
    return []


def rule_subcommand_runner(call: Call) -> None:
    subs, values = _SUBCOMMAND_RUNNERS[call.name]
    args = list(call.args)
    for i, word in enumerate(args):
        if word.text.startswith("-"):
            continue
        pair = f"{word.text}:{args[i + 1].text}" if i + 1 < len(args) else ""
        sub = word.text if word.text in subs else pair if pair in subs else None
        if sub is None:
            return  # the first operand is another subcommand
        rest = args[i + (2 if ":" in sub else 1) :]
        command = _runner_command(rest, values, _RUNNER_SKIPS.get((call.name, sub), 0))
        if command:
            via = f"{call.name} {sub.replace(':', ' ')}"
            call.runner.argv(command, call.scope.copy(), call.ctx.wrapped(via))
        return


def rule_nix_shell(call: Call) -> None:
    """``nix-shell --run CMD`` / ``--command CMD``; ``nix develop -c CMD...``."""
    args = call.args
    for i, word in enumerate(args[:-1]):
        if word.text in ("--run", "--command") and call.name == "nix-shell":
            _run_word(call, args[i + 1], "nix-shell --run")
        elif word.text in ("-c", "--command") and call.name == "nix":
            call.runner.argv(list(args[i + 1 :]), call.scope.copy(), call.ctx.wrapped("nix -c"))
            return


def rule_less(call: Call) -> None:
    """``less '+!cmd' FILE``: a ``+`` operand is an initial less command; ``!`` runs a shell."""
    for word in call.args:
        command = word.text.lstrip("+")
        if word.text.startswith("+") and command.startswith(("!", "|")):
            _run_shell(call, command[1:].lstrip("!"), "less +!")


# --- tmux, at ---------------------------------------------------------------------------

_TMUX_RUNNERS = frozenset(
    {
        "new-session",
        "new",
        "new-window",
        "neww",
        "split-window",
        "splitw",
        "respawn-pane",
        "respawnp",
        "respawn-window",
        "respawnw",
        "run-shell",
        "run",
        "display-popup",
        "popup",
        "pipe-pane",
        "pipep",
        "if-shell",
        "if",
    }
)
_TMUX_KEYS = frozenset({"send-keys", "send"})
_TMUX_VALUE_FLAGS = frozenset("tsncexyFlpwTNSfL")
_TMUX_KEY_NAME = re.compile(r"^(?:Enter|Escape|Space|Tab|BSpace|BTab|[CMS]-.+|F\d+|KP.*)$")


def _tmux_commands(args: list[Word]) -> Iterator[list[Word]]:
    """tmux runs several commands separated by ``;`` words."""
    current: list[Word] = []
    for word in args:
        if word.text in (";", "\\;"):
            yield current
            current = []
        else:
            current.append(word)
    yield current


def _tmux_operands(words: list[Word]) -> list[Word]:
    ops: list[Word] = []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word.text.startswith("-") and len(word.text) > 1 and not ops:
            skip = word.text[-1] in _TMUX_VALUE_FLAGS
        else:
            ops.append(word)
    return ops


def rule_tmux(call: Call) -> None:
    args = list(call.args)
    while args and args[0].text.startswith("-"):  # tmux's own options: -L NAME, -S SOCKET...
        args = args[2:] if args[0].text in ("-L", "-S", "-f", "-c", "-T") else args[1:]
    for command in _tmux_commands(args):
        if not command:
            continue
        sub, ops = command[0].text, _tmux_operands(command[1:])
        if sub in _TMUX_RUNNERS and ops:
            via = f"tmux {sub}"
            for word in ops[:2] if sub in ("if-shell", "if") else ops[:1]:
                _run_word(call, word, via)
            if len(ops) > 1 and sub not in ("if-shell", "if"):
                _run_shell(call, " ".join(w.text for w in ops), via)
        elif sub in _TMUX_KEYS:
            typed = [w.text for w in ops if not _TMUX_KEY_NAME.match(w.text)]
            _run_shell(call, " ".join(typed), "tmux send-keys")


# --- interpreters we cannot analyze --------------------------------------------------------

#: Interpreters without a parser here, and the options that carry their code. Their
#: code is reported UNVERIFIABLE (HIGH when it names something destructive), never passed.
OPAQUE_INTERPRETERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        name: frozenset(flags.split())
        for name, flags in {
            "Rscript": "-e",
            "R": "-e",
            "julia": "-e --eval -E --print",
            "osascript": "-e",
            "groovy": "-e",
            "scala": "-e",
            "swift": "-e",
            "expect": "-c",
            "tclsh": "",
            "wish": "",
            "jshell": "",
            "elixir": "-e --eval",
            "erl": "-eval",
            "guile": "-c",
            "racket": "-e --eval",
            "sbcl": "--eval",
            "clisp": "-x",
            "clojure": "-e --eval",
            "bb": "-e --eval",
            "nu": "-c --commands",
            "xonsh": "-c",
            "elvish": "-c",
            "ghci": "-e",
            "emacs": "--eval -eval",
            "emacsclient": "-e --eval",
            "pwsh": "",
            "powershell": "",
        }.items()
    }
)
_READS_CODE_FROM_STDIN = frozenset({"tclsh", "wish", "jshell", "expect", "R", "nu", "xonsh"})


def _powershell_code(args: list[Word]) -> list[str]:
    """``-Command``/``-c`` and ``-EncodedCommand``/``-e``/``-ec`` in any case and any
    unambiguous abbreviation, as PowerShell reads its parameters."""
    codes: list[str] = []
    for i, word in enumerate(args[:-1]):
        name = word.text.lstrip("-/").lower()
        if not word.text.startswith(("-", "/")) or not name:
            continue
        if "command".startswith(name):
            codes.append(" ".join(w.text for w in args[i + 1 :]))
        elif "encodedcommand".startswith(name) or name == "ec":
            codes.append(_utf16_base64(args[i + 1].text) or args[i + 1].text)
    return codes


def _utf16_base64(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=True).decode("utf-16-le")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _opaque_codes(call: Call) -> list[str]:
    if call.name in ("pwsh", "powershell"):
        return _powershell_code(call.args)
    flags = OPAQUE_INTERPRETERS[call.name]
    codes = []
    for i, word in enumerate(call.args):
        name, eq, value = word.text.partition("=")
        if name in flags:
            if eq:
                codes.append(value)
            elif i + 1 < len(call.args):
                codes.append(call.args[i + 1].text)
    stdin = _stdin_text(call)
    if not codes and call.name in _READS_CODE_FROM_STDIN and stdin is not None:
        operands = [w for w in call.args if not w.text.startswith("-")]
        if not operands:
            codes.append(stdin)
    return codes


#: Words that, in code we cannot parse, run commands or delete files.
_CODE_RUNNERS = re.compile(
    r"^(?:system|exec|execute|spawn|popen|shell|shell-command|call-process|start-process|"
    r"do shell script|run|remove-item|rmtree|rm_rf|unlink|delete-directory|delete-file|"
    r"format-volume|clear-disk|invoke-expression|iex|start-process)$",
    re.IGNORECASE,
)


def rule_opaque_interpreter(call: Call) -> None:
    for code in _opaque_codes(call):
        words = re.findall(r"[\w./+~-]+", code)
        destructive = any(DESTRUCTIVE_TOKEN.match(w) or _CODE_RUNNERS.match(w) for w in words)
        call.report(
            R.UNVERIFIABLE,
            S.HIGH if destructive else S.MEDIUM,
            f"runs {call.name} code that cannot be analyzed",
        )


# --- commands that print credentials -----------------------------------------------------------

#: Subcommand paths that print a token, password or private key.
_SECRET_SUBCOMMANDS: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        "gh": (("auth", "token"),),
        "gcloud": (
            ("auth", "print-access-token"),
            ("auth", "print-identity-token"),
            ("auth", "application-default", "print-access-token"),
            ("config", "config-helper"),
        ),
        "az": (("account", "get-access-token"),),
        "aws": (
            ("configure", "export-credentials"),
            ("ecr", "get-login-password"),
            ("ecr-public", "get-login-password"),
            ("codeartifact", "get-authorization-token"),
        ),
        "git": (("credential", "fill"),),
        "op": (("read",),),
        "pass": (("show",),),
        "security": (("find-generic-password",), ("find-internet-password",)),
    }
)
_AWS_SECRET_KEY = re.compile(r"secret|session_token|access_key_id", re.IGNORECASE)


def _secret_printed(call: Call) -> str | None:
    ops = [w.text for w in call.parsed.operands]
    for path in _SECRET_SUBCOMMANDS.get(call.name, ()):
        if tuple(ops[: len(path)]) == path:
            if call.name == "security" and not call.parsed.has("w", "g"):
                return None
            return " ".join(path)
    args = [w.text for w in call.args]
    if call.name == "aws" and ops[:2] == ["configure", "get"] and len(ops) > 2:
        return "configure get" if _AWS_SECRET_KEY.search(ops[2]) else None
    if call.name == "gh" and ops[:2] == ["auth", "status"] and {"-t", "--show-token"} & set(args):
        return "auth status --show-token"
    if call.name == "kubectl":
        return _kubectl_secret(ops, args)
    if call.name == "gpg" and {"--export-secret-keys", "--export-secret-subkeys"} & set(args):
        return "--export-secret-keys"
    return None


def _kubectl_secret(ops: list[str], args: list[str]) -> str | None:
    if ops[:2] == ["config", "view"] and ("--raw" in args or "--flatten" in args):
        return "config view --raw"
    wants_values = any(a.startswith(("-o", "--output")) for a in args)
    kinds = {p for op in ops[1:2] for p in op.lower().split(",")}
    if ops[:1] == ["get"] and kinds & {"secret", "secrets"} and wants_values:
        return "get secret -o"
    if ops[:1] == ["get"] and any(op.lower().startswith("secret/") for op in ops[1:]):
        return "get secret/NAME" if wants_values else None
    return None


def rule_secret_printers(call: Call) -> Stream | None:
    what = _secret_printed(call)
    if what is None:
        return None
    call.report(R.CREDENTIAL_ACCESS, S.HIGH, f"{call.name} {what} prints a credential")
    return None


def rule_op(call: Call) -> None:
    """1Password's CLI: ``op run -- CMD`` runs a command, ``op read`` prints a secret."""
    rule_subcommand_runner(call)
    rule_secret_printers(call)


# --- system controls ---------------------------------------------------------------------------


def _firewall_flush(call: Call) -> str | None:
    flags = {w.text for w in call.args}
    if call.name in ("nft",):
        ops = [w.text for w in call.parsed.operands]
        return "flushes or deletes firewall rules" if ops[:1] in (["flush"], ["delete"]) else None
    if call.name == "ufw":
        ops = [w.text for w in call.parsed.operands]
        return f"ufw {ops[0]}" if ops[:1] in (["disable"], ["reset"]) else None
    if flags & {"-F", "--flush", "-X", "--delete-chain", "-P", "--policy"}:
        return "flushes firewall rules or changes a chain's policy"
    return None


def _mount_change(call: Call) -> str | None:
    ops = list(call.parsed.operands)
    if call.name == "umount":
        if call.parsed.has("a", "all"):
            return "unmounts every file system"
        for word in ops:
            info = call.ref(word).info
            if info is not None and (info.critical or info.system):
                return f"unmounts {call.ref(word).path}"
        return None
    return "mounts or remounts a file system" if ops or call.parsed.has("o") else None


def _kernel_settings(call: Call) -> str | None:
    ops = [w.text for w in call.parsed.operands]
    if call.name == "sysctl":
        writes = call.parsed.has("w", "write", "p", "load", "system") or any("=" in o for o in ops)
        return "changes kernel settings" if writes else None
    if call.name == "setenforce":
        return "switches SELinux enforcement" if ops else None
    if call.name == "swapoff":
        return "turns swap off"
    if call.name == "auditctl":
        flags = {w.text for w in call.args}
        return "disables or clears the audit system" if flags & {"-D", "-e"} else None
    return None


def _network_down(call: Call) -> str | None:
    ops = [w.text for w in call.parsed.operands]
    if call.name == "ip":
        if "down" in ops and ops[:1] in (["link"], ["l"]):
            return "takes a network interface down"
        if ops[:1] in (["route"], ["r"]) and {"flush", "del", "delete"} & set(ops):
            return "removes network routes"
        return None
    if call.name == "ifconfig":
        return "takes a network interface down" if "down" in ops else None
    return "takes a network interface down"  # ifdown


_SYSTEM_CONTROLS: Mapping[str, Callable[[Call], str | None]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("iptables", "ip6tables", "iptables-legacy", "iptables-nft", "ebtables", "arptables"),
            _firewall_flush,
        ),
        "nft": _firewall_flush,
        "ufw": _firewall_flush,
        "mount": _mount_change,
        "umount": _mount_change,
        "sysctl": _kernel_settings,
        "setenforce": _kernel_settings,
        "swapoff": _kernel_settings,
        "auditctl": _kernel_settings,
        "ip": _network_down,
        "ifconfig": _network_down,
        "ifdown": _network_down,
    }
)
#: Loading or unloading kernel code is a privilege whatever the arguments.
_KERNEL_MODULE_PROGRAMS = frozenset({"insmod", "rmmod", "modprobe", "kexec"})


def rule_system_control(call: Call) -> None:
    if call.name in _KERNEL_MODULE_PROGRAMS:
        call.report(R.PRIVILEGE, S.HIGH, f"{call.name} loads or unloads kernel code")
        return
    check = _SYSTEM_CONTROLS.get(call.name)
    what = check(call) if check is not None else None
    if what is not None:
        call.report(R.SYSTEM_CONTROL, S.HIGH, what)


# --- builtins that rebind names or re-run history -----------------------------------------------


def rule_rebinding_builtins(call: Call) -> None:
    """``hash -p /bin/rm ls`` makes ``ls`` run rm; ``enable -f lib.so NAME`` loads a
    builtin from a shared object; ``fc -s`` re-runs history we never saw."""
    flags = {c for w in call.args if w.text.startswith("-") for c in w.text[1:]}
    if call.name == "hash" and "p" in flags:
        call.report(R.ENV_HIJACK, S.HIGH, "hash -p binds a command name to another program")
    elif call.name == "enable" and "f" in flags:
        call.report(R.ENV_HIJACK, S.HIGH, "enable -f loads a builtin from a shared object")
    elif call.name == "fc" and "l" not in flags:
        call.report(R.UNVERIFIABLE, S.MEDIUM, "fc re-runs commands from the history")


# --- network clients that name hosts in options -------------------------------------------------


def rule_openssl_connect(call: Call) -> None:
    args = call.args
    for i, word in enumerate(args[:-1]):
        if word.text in ("-connect", "-host", "-proxy"):
            call.out.path("urls", "//" + args[i + 1].text)
            call.report(R.NETWORK, S.MEDIUM, f"openssl connects to {args[i + 1].text}")


EMBEDDED_RULES: Mapping[str, Callable[[Call], object]] = MappingProxyType(
    {
        "git": rule_git,
        "tar": rule_command_options,
        "rsync": rule_command_options,
        "man": rule_command_options,
        "zip": rule_zip,
        **dict.fromkeys(_VIM_FAMILY, rule_vim),
        "ed": rule_ed,
        "gdb": rule_gdb,
        "sed": rule_sed_script,
        "gsed": rule_sed_script,
        "sqlite3": rule_database_shell,
        "psql": rule_database_shell,
        "mysql": rule_database_shell,
        "mariadb": rule_database_shell,
        "make": rule_make,
        "gmake": rule_make,
        "cmake": rule_cmake,
        "zipfile": rule_python_archiver,
        "tarfile": rule_python_archiver,
        "tmux": rule_tmux,
        **dict.fromkeys(_SUBCOMMAND_RUNNERS, rule_subcommand_runner),
        "nix-shell": rule_nix_shell,
        "nix": rule_nix_shell,
        "less": rule_less,
        "openssl": rule_openssl_connect,
        "hash": rule_rebinding_builtins,
        "enable": rule_rebinding_builtins,
        "fc": rule_rebinding_builtins,
        **dict.fromkeys(OPAQUE_INTERPRETERS, rule_opaque_interpreter),
        **dict.fromkeys(
            ("gh", "gcloud", "az", "aws", "op", "pass", "security", "kubectl", "gpg"),
            rule_secret_printers,
        ),
        **dict.fromkeys((*_SYSTEM_CONTROLS, *_KERNEL_MODULE_PROGRAMS), rule_system_control),
        "op": rule_op,
    }
)
