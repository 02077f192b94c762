"""Programs whose options or subcommands name a command they run.

Why: ``tar --to-command='rm -rf /'``, ``rsync -e CMD``, ``zip -TT CMD``, ``uv run rm -rf /``,
``npm exec``, ``nix-shell --run CMD``, ``tmux new-window CMD``, ``cmake -E remove_directory /``
and ``python -m zipfile -e`` never put the command where the walker looks for one. Each
rule finds it in the program's arguments and hands it back to the walker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_rules import Call
from canopy.decisions.analyzers.shell_state import UNKNOWN
from canopy.decisions.analyzers.shell_tool_effects import run_shell, run_word
from canopy.decisions.analyzers.shell_words import Word
from canopy.decisions.model import Severity

__all__ = [
    "SUBCOMMAND_RUNNERS",
    "rule_cmake",
    "rule_command_options",
    "rule_nix_shell",
    "rule_python_archiver",
    "rule_split",
    "rule_subcommand_runner",
    "rule_tmux",
    "rule_zip",
]

# --- option values that are command lines: tar, rsync, man, zip ----------------------------

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
            run_word(call, word, f"{call.name} --{key}")
    if call.name == "tar":
        for word in call.parsed.value_words.get("checkpoint-action", []):
            action, eq, command = word.text.partition("=")
            if action == "exec" and eq:
                run_word(call, Word(command, word.exact, word.resolved), "tar checkpoint exec")


def rule_split(call: Call) -> None:
    """``split --filter=CMD``: CMD runs once per piece, reading the piece on stdin."""
    filters = call.parsed.value_words.get("filter", [])
    if not filters:
        return
    operands = call.parsed.operands
    data = call.ctx.stdin
    if operands and operands[0].text != "-":
        data = call.scope.files.get(call.ref(operands[0]).path, UNKNOWN)
    scope = call.scope.copy()
    prefix = operands[1].text if len(operands) > 1 else "x"
    scope.env["FILE"] = Word.literal(prefix + "aa")  # each piece's name; the first stands in
    for word in filters:
        if not word.resolved:
            call.report(ShellRisk.UNVERIFIABLE, Severity.MEDIUM, "split --filter is not a literal")
        call.runner.script(
            word.text, scope.copy(), call.ctx.wrapped("split --filter", nested=True, stdin=data)
        )


def rule_zip(call: Call) -> None:
    """``zip -T -TT CMD`` / ``--unzip-command CMD`` tests the archive with CMD."""
    args = call.args
    for i, word in enumerate(args):
        name, eq, value = word.text.partition("=")
        if name in ("-TT", "--unzip-command"):
            if eq:
                run_word(call, Word(value, word.exact, word.resolved), "zip -TT")
            elif i + 1 < len(args):
                run_word(call, args[i + 1], "zip -TT")


# --- tools that stand for another command: cmake -E, python -m zipfile ---------------------

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
SUBCOMMAND_RUNNERS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = MappingProxyType(
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
    subs, values = SUBCOMMAND_RUNNERS[call.name]
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
            run_word(call, args[i + 1], "nix-shell --run")
        elif word.text in ("-c", "--command") and call.name == "nix":
            call.runner.argv(list(args[i + 1 :]), call.scope.copy(), call.ctx.wrapped("nix -c"))
            return


# --- tmux: commands for new panes and windows, and typed keys --------------------------------

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
                run_word(call, word, via)
            if len(ops) > 1 and sub not in ("if-shell", "if"):
                run_shell(call, " ".join(w.text for w in ops), via)
        elif sub in _TMUX_KEYS:
            typed = [w.text for w in ops if not _TMUX_KEY_NAME.match(w.text)]
            run_shell(call, " ".join(typed), "tmux send-keys")
