"""Handing the commands a tool runs, and the files it touches, back to the shell walker.

Why: ``tar --to-command='rm -rf /'``, ``vim -c '!rm -rf /'`` or ``sqlite3 x.db '.shell rm'``
never put ``rm`` where a command goes. The tool rules (``shell_git``, ``shell_tool_options``,
``shell_tool_scripts``, ``shell_databases``) find that text; this module gives it to the
walker, so the nested command is judged like any other.
"""

from __future__ import annotations

from enum import StrEnum

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_rules import Call, read_target, remote_labels, write_target
from canopy.decisions.analyzers.shell_words import Stream, Word
from canopy.decisions.model import Severity

__all__ = [
    "Effect",
    "Kind",
    "apply_effects",
    "run_shell",
    "run_word",
    "shell_quote",
    "stdin_text",
]


class Kind(StrEnum):
    """What one effect of a tool's script does with its text."""

    RUN = "run"  # runs it as a shell command
    WRITE = "write"  # writes the file it names
    READ = "read"  # reads the file it names
    FETCH = "fetch"  # requests the URL it names
    NOTE = "note"  # something we cannot follow, reported as it says


#: One effect of a tool's script, before it is handed to the walker.
Effect = tuple[Kind, str]


def run_shell(call: Call, text: str, via: str, labels: frozenset[str] = frozenset()) -> None:
    """Analyze ``text`` as the shell command ``via`` will run."""
    if remote_labels(Stream(None, labels)):
        call.report(ShellRisk.REMOTE_CODE, Severity.HIGH, f"{via} runs downloaded or decoded code")
    if text.strip():
        call.runner.script(text, call.scope.copy(), call.ctx.wrapped(via, nested=True))


def run_word(call: Call, word: Word, via: str) -> None:
    """An option value that is a command line: analyzed, or reported when not literal."""
    if not word.resolved:
        call.report(
            ShellRisk.UNVERIFIABLE, Severity.MEDIUM, f"{via} runs a command that is not a literal"
        )
    run_shell(call, word.text, via, word.labels)


def apply_effects(call: Call, effects: list[Effect], via: str) -> None:
    """Run, write, read or report each effect of a script ``via`` executes."""
    for kind, text in effects:
        if kind == Kind.RUN:
            run_shell(call, text, via)
        elif kind == Kind.WRITE:
            write_target(call, call.ref(Word.literal(text)), truncate=True, verb=f"{via} writes")
        elif kind == Kind.READ:
            read_target(call, call.ref(Word.literal(text)))
        elif kind == Kind.FETCH:
            call.runner.argv(
                [Word.literal("curl"), Word.literal("--"), Word.literal(text)],
                call.scope.copy(),
                call.ctx.wrapped(via, nested=True),
            )
        else:
            call.report(ShellRisk.UNVERIFIABLE, Severity.MEDIUM, f"{via}: {text}")


def stdin_text(call: Call) -> str | None:
    """What the command reads on stdin, when the walker knows it."""
    return call.ctx.stdin.text


def shell_quote(text: str) -> str:
    """``text`` as one single-quoted shell word."""
    return "'" + text.replace("'", "'\\''") + "'"
