"""Commands as shell patterns see them: canonical program names and flag sets.

Both sides of a shell pattern go through the same normalization, so ``rm -rf``
in a policy meets ``rm -fr``, ``rm -r -f``, ``rm -R --force`` and ``/bin/rm -rf``
in an action. ``fallback_commands`` is a deliberately crude word splitter used
only when the tree-sitter analyzer produced no commands (not installed, or a
parse error): it keeps the policy semantic instead of degrading to substrings.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
import shlex
from dataclasses import dataclass

from canopy.decisions.analyzers.shell_model import SimpleCommand

__all__ = [
    "KNOWN_PROGRAMS",
    "CommandView",
    "canonical_command",
    "canonical_flags",
    "canonical_program",
    "command_views",
    "fallback_commands",
    "parse_args",
    "pattern_args",
]

# fmt: off
#: Names that make a one-word pattern a command pattern rather than a word.
KNOWN_PROGRAMS = frozenset((
    "rm", "rmdir", "unlink", "mv", "cp", "ln", "dd", "mkfs", "shred", "truncate", "wipefs",
    "fdisk", "sfdisk", "parted", "mkswap", "chmod", "chown", "chgrp", "chattr", "setfacl",
    "sudo", "doas", "su", "pkexec", "runuser", "env", "nohup", "nice", "timeout", "exec",
    "eval", "source", "curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ssh", "scp",
    "sftp", "rsync", "ftp", "tftp", "git", "docker", "podman", "kubectl", "helm", "systemctl",
    "service", "shutdown", "reboot", "halt", "poweroff", "init", "kill", "pkill", "killall",
    "crontab", "at", "pip", "pipx", "npm", "npx", "yarn", "pnpm", "apt", "apt-get",
    "aptitude", "dpkg", "yum", "dnf", "rpm", "zypper", "apk", "brew", "gem", "cargo", "go",
    "conda", "snap", "flatpak", "bash", "sh", "zsh", "dash", "ksh", "fish", "csh", "tcsh",
    "python", "pypy", "node", "deno", "bun", "perl", "ruby", "php", "lua", "osascript",
    "powershell", "pwsh", "iptables", "nft", "ufw", "useradd", "userdel", "usermod", "passwd",
    "chpasswd", "visudo", "mount", "umount", "insmod", "rmmod", "modprobe", "sysctl", "xmrig",
    "minerd", "nmap", "masscan", "hydra", "john", "hashcat", "sqlmap", "msfconsole", "base64",
    "openssl", "gpg", "tar", "zip", "unzip", "find", "xargs", "tee", "history",
))

#: Interpreters and package tools whose version suffix does not matter (pip3 -> pip).
_VERSIONED = frozenset((
    "python", "pip", "pypy", "node", "perl", "ruby", "php", "lua", "gem", "pydoc", "idle",
    "easy_install",
))
_SHELLS = frozenset(("sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh"))
_WRAPPERS = frozenset((
    "sudo", "doas", "env", "nohup", "nice", "timeout", "time", "exec", "command", "builtin",
    "stdbuf",
))
#: Options of sudo/doas that take a value (``sudo -u root rm``).
_WRAPPER_VALUE_FLAGS = frozenset(("-u", "-g", "-h", "-p", "-C", "-U", "-r", "-t", "-D"))
# fmt: on

#: Per program, flags that mean the same thing (rm -R == rm -r == rm --recursive).
_FLAG_ALIASES: dict[str, dict[str, str]] = {
    "rm": {"-R": "-r", "--recursive": "-r", "--force": "-f", "--dir": "-d"},
    "cp": {"-R": "-r", "--recursive": "-r", "--force": "-f"},
    "chmod": {"--recursive": "-R"},
    "chown": {"--recursive": "-R"},
    "chgrp": {"--recursive": "-R"},
    "kill": {"-KILL": "-9", "-SIGKILL": "-9"},
    "node": {"--eval": "-e", "--print": "-p"},
    "deno": {"--eval": "-e"},
    "ruby": {"--eval": "-e"},
    "php": {"--run": "-r"},
    "pwsh": {"-Command": "-c", "-command": "-c"},
    "powershell": {"-Command": "-c", "-command": "-c"},
    "curl": {"--output": "-o", "--remote-name": "-O"},
    "git": {"--force": "-f"},
}

_SEPARATORS = frozenset(";|&()")


@functools.lru_cache(maxsize=4096)
def canonical_program(name: str) -> str:
    """Basename, casefolded, version suffix dropped for interpreters (python3.11 -> python)."""
    base = posixpath.basename(name.strip().strip("\\\"'")).casefold()
    stripped = _without_version(base)
    stripped = stripped.removesuffix("-")  # pip-3.11
    return stripped if stripped in _VERSIONED else base


def _without_version(name: str) -> str:
    """``name`` less a trailing version (``python3.11`` -> ``python``): from the first
    digit of its trailing run of digits and dots. By hand, as a regex for it rescans
    that run from every digit (quadratic on ``1111...x``, which an agent can send)."""
    run_start = len(name.rstrip("0123456789."))
    first_digit = next((i for i, ch in enumerate(name[run_start:]) if ch != "."), None)
    return name if first_digit is None else name[: run_start + first_digit]


def canonical_flags(program: str, flags: set[str] | frozenset[str]) -> frozenset[str]:
    """Map a program's equivalent flags onto one spelling each."""
    aliases = _FLAG_ALIASES.get(program)
    if not aliases:
        return frozenset(flags)
    return frozenset(aliases.get(f, f) for f in flags)


def canonical_command(command: SimpleCommand) -> SimpleCommand:
    """The same command with its flags in canonical spelling (``-R --force`` -> ``-r -f``)."""
    program = canonical_program(command.program) if command.program else ""
    flags = {f"-{f.lstrip('-')}" for f in command.short_flags}
    flags |= {f"--{f.lstrip('-')}" for f in command.long_flags}
    flags = set(canonical_flags(program, flags))
    short = frozenset(f[1:] for f in flags if not f.startswith("--"))
    long = frozenset(f[2:] for f in flags if f.startswith("--"))
    if short == command.short_flags and long == command.long_flags:
        return command
    return dataclasses.replace(command, short_flags=short, long_flags=long)


def parse_args(args: tuple[str, ...] | list[str]) -> tuple[set[str], list[str]]:
    """Split raw arguments into flags (``-r``, ``--force``) and the other words.

    Bundles split (``-rf`` -> ``-r``, ``-f``); ``--name=value`` keeps ``--name``;
    everything after ``--`` is a word. This over-approximates flags on purpose:
    it is used to *match* patterns, so seeing a flag too many is the safe side.
    """
    flags: set[str] = set()
    words: list[str] = []
    rest = False
    for arg in args:
        if rest or len(arg) < 2 or not arg.startswith("-"):
            words.append(arg)
        elif arg == "--":
            rest = True
        elif arg.startswith("--"):
            flags.add(arg.split("=", 1)[0])
        else:
            flags.add(arg)  # -9, -KILL, -Command keep their whole spelling too
            flags.update(f"-{c}" for c in arg[1:] if c.isalnum())
    return flags, words


def pattern_args(program: str, args: list[str]) -> tuple[frozenset[str], list[str]]:
    """A pattern's required flags (canonical) and words: ``rm -rf`` needs -r and -f.

    Unlike ``parse_args`` a bundle is only its letters, unless the program
    names the whole spelling (``kill -KILL`` means ``-9``, not -K -I -L).
    """
    aliases = _FLAG_ALIASES.get(program, {})
    flags: set[str] = set()
    words: list[str] = []
    for arg in args:
        if arg in aliases or (arg.startswith("--") and len(arg) > 2):
            flags.add(arg.split("=", 1)[0])
        elif arg.startswith("-") and len(arg) > 1 and not arg.startswith("--"):
            flags.update(f"-{c}" for c in arg[1:])
        else:
            words.append(arg)
    return canonical_flags(program, flags), words


@dataclass(frozen=True, slots=True)
class CommandView:
    """One program invocation (a command or one of its wrappers), ready to match."""

    program: str
    flags: frozenset[str]
    words: tuple[str, ...]  # casefolded non-flag arguments and operands
    source: str


def command_views(command: SimpleCommand) -> list[CommandView]:
    """The command itself and each wrapper it ran under (``sudo``, ``bash -c``)."""
    program = canonical_program(command.program) if command.program else ""
    flags, words = parse_args(command.args)
    flags.update(f"-{f.lstrip('-')}" for f in command.short_flags)
    flags.update(f"--{f.lstrip('-')}" for f in command.long_flags)
    all_words = tuple(w.casefold() for w in (*words, *command.operands))
    views = [CommandView(program, canonical_flags(program, flags), all_words, command.source or "")]
    for wrapper in command.wrappers:
        try:
            parts = shlex.split(wrapper)
        except ValueError:
            parts = wrapper.split()
        if not parts:
            continue
        name = canonical_program(parts[0])
        w_flags, w_words = parse_args(parts[1:])
        views.append(
            CommandView(
                name,
                canonical_flags(name, w_flags),
                tuple(w.casefold() for w in w_words),
                f"{wrapper} {command.source or command.program}".strip(),
            )
        )
    return views


def fallback_commands(text: str, _depth: int = 0) -> tuple[SimpleCommand, ...]:
    """Crude simple commands of a shell text (no analyzer available). See module doc."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: split on whitespace and hope for the best
        tokens = text.split()
    out: list[SimpleCommand] = []
    current: list[str] = []
    skip_next = False
    for token in [*tokens, ";"]:
        if skip_next:
            skip_next = False
            continue
        if token and all(c in _SEPARATORS for c in token):
            out.extend(_simple(current, _depth))
            current = []
        elif token and all(c in "<>&" for c in token) and any(c in "<>" for c in token):
            skip_next = True  # a redirect and its target
            if current and current[-1].isdigit():
                current.pop()  # the "2" of "2>"
        else:
            current.append(token)
    return tuple(out)


def _simple(words: list[str], depth: int) -> list[SimpleCommand]:
    wrappers: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if "=" in word and not word.startswith(("-", "=")) and word.split("=", 1)[0].isidentifier():
            i += 1  # FOO=bar assignment before the program
            continue
        name = canonical_program(word)
        if name not in _WRAPPERS:
            break
        wrappers.append(name)
        i += 1
        while i < len(words) and (
            words[i].startswith("-") or (name == "timeout" and words[i][:1].isdigit())
        ):
            if words[i] in _WRAPPER_VALUE_FLAGS and name in ("sudo", "doas"):
                i += 1
            i += 1
    if i >= len(words):
        return []
    program, args = words[i], tuple(words[i + 1 :])
    name = canonical_program(program)
    flags, operands = parse_args(args)
    inner: list[SimpleCommand] = []
    if depth < 3 and args:
        if name in _SHELLS and any(f == "-c" for f in flags):
            wrap = f"{name} -c"
            for cmd in fallback_commands(operands[0], depth + 1):
                inner.append(_rewrap(cmd, (*wrappers, wrap)))
        elif name == "eval":
            for cmd in fallback_commands(" ".join(args), depth + 1):
                inner.append(_rewrap(cmd, (*wrappers, "eval")))
    canon = canonical_flags(name, flags)  # like the analyzer: -R --force -> r, f for rm
    this = SimpleCommand(
        program=name,
        args=args,
        short_flags=frozenset(f[1:] for f in canon if len(f) == 2 and f[1] != "-"),
        long_flags=frozenset(f[2:] for f in canon if f.startswith("--")),
        operands=tuple(operands),
        wrappers=tuple(wrappers),
        source=" ".join(words[i:]),
    )
    return [this, *inner]


def _rewrap(cmd: SimpleCommand, wrappers: tuple[str, ...]) -> SimpleCommand:
    return dataclasses.replace(cmd, wrappers=(*wrappers, *cmd.wrappers))
