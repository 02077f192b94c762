"""Commands git runs from its configuration, remotes and subcommand options.

Why: ``git -c core.pager='rm -rf /' log``, ``git config alias.x '!rm -rf /'``, an
``ext::`` remote, ``git rebase --exec CMD`` or ``git submodule foreach CMD`` never put
``rm`` where a command goes, so the walker alone sees only ``git``. Each command git
would run is handed back to the walker.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from canopy.decisions.analyzers.shell_endpoints import record_server
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_rules import Call
from canopy.decisions.analyzers.shell_tool_effects import run_shell, run_word
from canopy.decisions.analyzers.shell_words import Word
from canopy.decisions.model import Severity

__all__ = ["git_config_settings", "rule_git"]

R = ShellRisk
S = Severity

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
#: Keys naming the proxy git's requests go through: ``http.proxy``, ``http.URL.proxy``.
_GIT_PROXY_KEYS = re.compile(r"^https?(?:\..+)?\.proxy$")
_GIT_BOOLEANS = frozenset({"", "true", "false", "yes", "no", "on", "off", "0", "1"})
_GIT_CONFIG_VALUE_OPTS = frozenset({"-f", "--file", "--blob", "--type", "--default", "--comment"})
#: Subcommands whose option (or operand) is a command they run.
_GIT_RUNNERS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "rebase": frozenset({"-x", "--exec"}),
        # The program run on the other end of the transport, run here through sh.
        "clone": frozenset({"-u", "--upload-pack"}),
        "fetch": frozenset({"--upload-pack"}),
        "pull": frozenset({"--upload-pack"}),
        "ls-remote": frozenset({"--upload-pack"}),
        "push": frozenset({"--receive-pack", "--exec"}),
        "archive": frozenset({"--exec"}),
        "difftool": frozenset({"-x", "--extcmd"}),
        "send-email": frozenset({"--to-cmd", "--cc-cmd", "--sendmail-cmd"}),
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
    if _GIT_PROXY_KEYS.match(name) and value.resolved and text:
        record_server(call, text)  # every request goes through that host
        return
    if name == "core.hookspath":
        call.report(R.UNVERIFIABLE, S.MEDIUM, f"git runs hooks from {text or 'a directory'}")
        return
    if _GIT_INCLUDE_KEYS.match(name):
        _included_configuration(call, value)
        return
    if not _GIT_COMMAND_KEYS.match(name) or text.lower() in _GIT_BOOLEANS:
        return
    if _GIT_BANG_KEYS.match(name):
        if text.startswith("!"):
            text = text[1:]
        elif "/" not in text:
            return  # a git alias of git subcommands, or a named credential helper
    run_word(call, Word(text, value.exact, value.resolved, labels=value.labels), f"git {name}")


#: Keys naming another configuration file git reads (``include.path``,
#: ``includeIf.gitdir:~/work/.path``).
_GIT_INCLUDE_KEYS = re.compile(r"^include(?:if\..+)?\.path$")
#: A configuration file that holds nothing: git told to ignore the user's own.
_EMPTY_CONFIG = frozenset({"/dev/null", ""})


def _included_configuration(call: Call, file: Word) -> None:
    """A configuration file git is told to read: its settings if this text wrote it, a
    human's look otherwise (a file we cannot see may set ``core.fsmonitor``)."""
    if file.resolved and file.text in _EMPTY_CONFIG:
        return
    path = call.ref(file).path if file.resolved else None
    content = call.scope.files.get(path) if path is not None else None
    if content is None or content.text is None:
        shown = file.text if file.resolved else "a file named at run time"
        call.report(R.UNVERIFIABLE, S.MEDIUM, f"git reads configuration from {shown}")
        return
    for key, value in git_config_settings(content.text):
        _git_setting(call, key, Word(value, labels=content.labels))


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
                run_word(call, Word(value, word.exact, word.resolved), f"git {sub} {name}")
            elif i + 1 < len(rest):
                run_word(call, rest[i + 1], f"git {sub} {name}")
    texts = [w.text for w in rest]
    if sub == "submodule" and "foreach" in texts:
        cmd = [w for w in rest[texts.index("foreach") + 1 :] if not w.text.startswith("--")]
        if cmd:
            run_shell(call, " ".join(w.text for w in cmd), "git submodule foreach")
    if sub == "bisect" and texts[:1] == ["run"] and len(rest) > 1:
        call.runner.argv(rest[1:], call.scope.copy(), call.ctx.wrapped("git bisect run"))


#: Files git reads its configuration from (paths as normalized, home as ``~``).
_CONFIG_FILES = re.compile(r"(?:^|/)(?:\.git/config|\.gitconfig|\.config/git/config)$")
#: Variables naming a configuration file git reads.
_CONFIG_FILE_VARIABLES = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG")
_HOOKS = re.compile(r"(?:^|/)\.git/hooks/[^/]+$")


def _written_configuration(call: Call) -> None:
    """Configuration and hooks this text wrote: ``printf '[alias] x = !rm -rf /' >>
    .git/config; git x`` runs what the file says, and a hook runs on commit."""
    named = {
        call.ref(word).path
        for variable in _CONFIG_FILE_VARIABLES
        if (word := call.scope.env.get(variable)) is not None and word.resolved
    }
    for variable in _CONFIG_FILE_VARIABLES:
        word = call.scope.env.get(variable)
        if word is not None and (not word.resolved or call.ref(word).path not in call.scope.files):
            _included_configuration(call, word)
    for path in call.out.made(call.scope):
        if _HOOKS.search(path):
            call.runner.argv(
                [Word.literal(call.scope.spelled(path))],
                call.scope.copy(),
                call.ctx.wrapped("git hook", nested=True),
            )
            continue
        if path not in named and not _CONFIG_FILES.search(path):
            continue
        content = call.scope.files.get(path)
        if content is None or content.text is None:
            call.report(R.UNVERIFIABLE, S.MEDIUM, f"git reads {path}, which this command changed")
            continue
        for key, value in git_config_settings(content.text):
            _git_setting(call, key, Word(value, labels=content.labels))


def git_config_settings(text: str) -> list[tuple[str, str]]:
    """``(section.subsection.key, value)`` for each setting of a git-config(1) file."""
    settings: list[tuple[str, str]] = []
    section = ""
    lines = iter(text.replace("\\r\n", "\n").split("\n"))
    for line in lines:
        while line.endswith("\\") and not line.endswith("\\\\"):
            line = line[:-1] + next(lines, "")  # a value continued on the next line
        stripped = line.strip()
        header = re.match(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]', stripped)
        if header:
            section = header.group(1).lower()
            if header.group(2) is not None:
                section += "." + re.sub(r"\\(.)", r"\1", header.group(2))
            stripped = stripped[header.end() :].strip()
        if not stripped or stripped[0] in "#;" or not section:
            continue
        key, eq, value = stripped.partition("=")
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", key.strip()):
            settings.append(
                (f"{section}.{key.strip().lower()}", _config_value(value) if eq else "")
            )
    return settings


def _config_value(raw: str) -> str:
    """A value as git reads it: quotes removed, escapes applied, comments cut."""
    out: list[str] = []
    quoted = False
    escapes = {"n": "\n", "t": "\t", "b": "\b", '"': '"', "\\": "\\"}
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            out.append(escapes.get(raw[i + 1], raw[i + 1]))
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        elif ch in "#;" and not quoted:
            break
        else:
            out.append(ch)
        i += 1
    return "".join(out).strip()


def rule_git(call: Call) -> None:
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
    _written_configuration(call)
    if not ops:
        return
    sub, rest = ops[0].text, list(ops[1:])
    if sub == "config":
        _git_config_args(call, rest)
    if sub == "clone":
        _clone_settings(call, rest)
    _git_runner_options(call, sub, rest)


def _clone_settings(call: Call, rest: list[Word]) -> None:
    """``git clone -c KEY=VALUE`` configures the new repository before its checkout runs
    hooks; ``--template=DIR`` copies hooks from DIR into it."""
    for i, word in enumerate(rest):
        name, eq, value = word.text.partition("=")
        setting = value if eq else (rest[i + 1].text if i + 1 < len(rest) else "")
        if name in ("-c", "--config") and "=" in setting:
            key, _, val = setting.partition("=")
            _git_setting(call, key, Word(val, word.exact, word.resolved))
        elif name == "--template" and setting:
            call.report(R.UNVERIFIABLE, S.MEDIUM, f"git clone copies hooks from {setting}")
