"""Interpreters whose code we cannot analyze: PowerShell, R, Julia, Tcl, Lisps, Erlang...

Why: ``pwsh -c 'Remove-Item -Recurse C:/'`` or ``Rscript -e 'unlink("/", TRUE)'`` runs code
that no parser here understands. Passing it would be a silent hole, so the code is
reported UNVERIFIABLE instead: HIGH when it names something destructive or a call that runs
commands, MEDIUM otherwise. (Languages we can read are in ``shell_interpreters``.)
"""

from __future__ import annotations

import base64
import binascii
import re

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_programs import DESTRUCTIVE_TOKEN, name_sets
from canopy.decisions.analyzers.shell_rules import Call
from canopy.decisions.analyzers.shell_tool_effects import stdin_text
from canopy.decisions.analyzers.shell_words import Word
from canopy.decisions.model import Severity

__all__ = ["OPAQUE_INTERPRETERS", "rule_opaque_interpreter"]

R = ShellRisk
S = Severity

#: Interpreters without a parser here, and the options that carry their code. Their
#: code is reported UNVERIFIABLE (HIGH when it names something destructive), never passed.
OPAQUE_INTERPRETERS = name_sets(
    {
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
    for word in call.args:  # a script this text wrote or fetched: its code, as text
        content = call.scope.files.get(call.ref(word).path) if word.resolved else None
        if content is not None:
            codes.append(content.text if content.text is not None else word.text)
    stdin = stdin_text(call)
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
