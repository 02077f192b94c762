"""Commands in the scripts that editors, pagers, debuggers, sed and make run.

Why: ``vim -c '!rm -rf /'``, ``ed`` fed ``!rm -rf /`` on stdin, ``less '+!rm -rf /'``,
``gdb -ex 'shell rm -rf /'``, ``sed 's/.*/rm -rf \\//e'`` and a makefile recipe never put
``rm`` where a command goes. Each script is read in its own language (ex commands, gdb
commands, GNU sed's grammar, makefile recipes), and the commands it runs and the files it
touches are handed back to the walker.
"""

from __future__ import annotations

import posixpath
import re

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_options import parse_options
from canopy.decisions.analyzers.shell_programs import SPECS
from canopy.decisions.analyzers.shell_rules import Call, remote_labels
from canopy.decisions.analyzers.shell_tool_effects import (
    Effect,
    Kind,
    apply_effects,
    run_shell,
    shell_quote,
    stdin_text,
)
from canopy.decisions.analyzers.shell_words import Stream, Word, read_delimited
from canopy.decisions.model import Severity

__all__ = [
    "VIM_FAMILY",
    "ex_effects",
    "gdb_effects",
    "make_recipes",
    "rule_ed",
    "rule_gdb",
    "rule_less",
    "rule_make",
    "rule_sed_script",
    "rule_vim",
    "sed_effects",
]

R = ShellRisk
S = Severity

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
        return [(Kind.RUN, line[1:])]
    m = _EX_FILTER.match(line)
    if m:
        return [(Kind.RUN, m.group(1))]
    m = _EX_FILE.match(line)
    if m:
        kind = Kind.READ if m.group(1).startswith("r") else Kind.WRITE
        return [(kind, m.group(2).strip())]
    m = _EX_CODE.match(line)
    if not m:
        return []
    verb, rest = m.group(1), m.group(2).strip()
    if verb in _EX_INTERPRETERS:
        lang = _EX_INTERPRETERS[verb]
        flag = "-c" if lang == "python3" else "-e"
        return [(Kind.RUN, f"{lang} {flag} {shell_quote(rest)}")]
    if verb.startswith("ter"):
        return [(Kind.RUN, rest)] if rest else []
    if verb in ("mz", "tcl"):
        return [(Kind.NOTE, f"runs {verb} code")] if rest else []
    return _ex_strings(verb, rest, depth)


def _ex_strings(verb: str, rest: str, depth: int) -> list[Effect]:
    """``:exe "..."`` runs its strings as ex commands; ``:call system('...')`` as shell."""
    strings = [a if a is not None else b.replace("''", "'") for a, b in _EX_STRING.findall(rest)]
    if verb.startswith("exe"):
        if not strings:
            return [(Kind.NOTE, "runs a computed editor command")]
        return ex_effects(" ".join(strings), depth + 1)
    if re.search(r"\b(?:system|systemlist|jobstart|job_start|termopen)\s*\(", rest):
        if not strings:
            return [(Kind.NOTE, "runs a computed command")]
        return [(Kind.RUN, s) for s in strings]
    return []


VIM_FAMILY = frozenset({"vim", "vi", "nvim", "view", "rvim", "gvim", "evim", "vimdiff", "ex"})


def rule_vim(call: Call) -> None:
    """``-c CMD``, ``--cmd CMD``, ``+CMD``, ``-S SCRIPT`` and, in ex mode, stdin lines."""
    parsed = parse_options(call.args, SPECS["vim"])
    commands = [*parsed.values.get("c", []), *parsed.values.get("cmd", [])]
    commands += [w.text[1:] for w in parsed.operands if w.text.startswith("+") and len(w.text) > 1]
    for command in commands:
        apply_effects(call, ex_effects(command), call.program)
    scripts = [*parsed.value_words.get("S", []), *parsed.value_words.get("u", [])]
    for script in scripts:  # vim scripts (-S, a vimrc via -u) written earlier, or <(...)
        content = script.content or call.scope.files.get(call.ref(script).path)
        for line in (content.text or "").splitlines() if content is not None else ():
            apply_effects(call, ex_effects(line), call.program)
    stdin = stdin_text(call)
    if stdin is not None and (call.name == "ex" or parsed.has("e", "E", "es")):
        for line in stdin.splitlines():
            apply_effects(call, ex_effects(line), call.program)


def rule_ed(call: Call) -> None:
    stdin = stdin_text(call)
    if stdin is None:
        return
    for line in stdin.splitlines():
        apply_effects(call, ex_effects(line), "ed")


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
        return [(Kind.RUN, m.group(1))]
    m = _GDB_PYTHON.match(command)
    if m:
        return [(Kind.RUN, f"python3 -c {shell_quote(m.group(1))}")]
    if re.match(r"^\s*call\s+\(?\s*(?:\(\w+\)\s*)?(?:system|execve?l?p?)\s*\(", command):
        strings = re.findall(r'"((?:[^"\\]|\\.)*)"', command)
        return [(Kind.RUN, s) for s in strings] or [(Kind.NOTE, "gdb calls a computed command")]
    return []


def rule_gdb(call: Call) -> None:
    args = call.args
    i = 0
    while i < len(args):
        text = args[i].text
        name, eq, value = text.partition("=")
        if name in _GDB_COMMAND_OPTS:
            command = value if eq else (args[i + 1].text if i + 1 < len(args) else "")
            apply_effects(call, gdb_effects(command), "gdb")
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
    """A field up to the next unescaped delimiter; ``\\delim`` is the delimiter itself and
    ``\\n`` a newline."""

    def escape(ch: str) -> str:
        return ch if ch == delim else "\n" if ch == "n" else "\\" + ch

    return read_delimited(script, i, delim, escape)


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
        effects.append((Kind.RUN, replacement.replace("\\\\", "\\")))
        if re.search(r"&|\\[0-9]", replacement):
            effects.append((Kind.NOTE, "runs edited input lines as commands"))
    if i < len(script) and script[i] == "w":
        name, i = _sed_line(script, i + 1)
        effects.append((Kind.WRITE, name))
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
            effects.append((Kind.READ if ch in "rR" else Kind.WRITE, name))
        elif ch == "e":
            command, i = _sed_line(script, i + 1)
            effects.append(
                (Kind.RUN, command) if command else (Kind.NOTE, "runs input lines as commands")
            )
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
        apply_effects(call, [e for e in sed_effects(script) if e[1] not in _SED_STD_FILES], "sed")


_SED_STD_FILES = frozenset({"/dev/stdout", "/dev/stderr"})


# --- pagers: less ---------------------------------------------------------------------------


def rule_less(call: Call) -> None:
    """``less '+!cmd' FILE``: a ``+`` operand is an initial less command; ``!`` runs a shell."""
    for word in call.args:
        command = word.text.lstrip("+")
        if word.text.startswith("+") and command.startswith(("!", "|")):
            run_shell(call, command[1:].lstrip("!"), "less +!")


# --- make: recipes and $(shell ...) calls -----------------------------------------------------

_MAKE_SHELL_CALL = re.compile(r"\$[({]shell\s+([^)}]*)[)}]")
_MAKE_VARIABLE = re.compile(r"\$[({][^)}]*[)}]|\$[^$({]")


def make_recipes(text: str) -> list[str]:
    """Shell commands in makefile text: recipe lines, inline ``target: ; recipe`` and
    ``$(shell ...)`` calls. Make variables become unknown shell variables."""
    commands = [m.group(1).replace("$$", "$") for m in _MAKE_SHELL_CALL.finditer(text)]
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


#: What make reads when no ``-f`` names a makefile (the first that exists; any may).
_DEFAULT_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")


def rule_make(call: Call) -> None:
    parsed = call.parsed
    texts = [*parsed.values.get("E", []), *parsed.values.get("eval", [])]
    names = [*parsed.values.get("f", []), *parsed.values.get("file", [])]
    names += parsed.values.get("makefile", [])
    if not names:
        directory = parsed.value("C", "directory") or ""
        names = [posixpath.join(directory, name) for name in _DEFAULT_MAKEFILES]
    for name in names:
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
            run_shell(call, command, "make recipe")
