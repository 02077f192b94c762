"""Secrets that interpreter one-liners print: ``python3 -c 'print(os.environ["GITHUB_TOKEN"])'``.

Why: ``echo $GITHUB_TOKEN`` and ``env`` are refused because they show tokens to the
agent (``shell_env_secrets``); the same print in Python, Node, Ruby, Perl, PHP or Lua must
not pass. A value read from a secret variable (the names ``is_secret_variable`` calls
secret), from a variable named at run time, or the whole environment, is followed to
where it goes. Printed (``print``, ``sys.stdout``/``sys.stderr``, ``pprint``, ``logging``,
an exit message, an exception), it is an ``Effect(SECRET_PRINT)``: the shell analyzer
then judges the interpreter's output like any print of a secret (``shell_secret_flow``):
shown to the agent, reading credentials (DENY); into a file, approval; into a program
that uses it (``| docker login --password-stdin``), nothing. Written to a file by the code
itself, it is a ``SECRET_WRITE`` of that file.

Not prints: values only tested, counted, compared or hashed (``"TOKEN" in os.environ``,
``len(...)``, ``hashlib.sha256(...)``), the names of the variables (``list(os.environ)``,
``os.environ.keys()``), and values handed to other calls (a request header is the network
rules' business).

Python code is followed through its syntax tree (``python_secrets``), the other
languages through their tokens (``script_secrets``); this module holds what both report.
They report every environment variable a print or write may carry; the shell analyzer
decides which are secrets, because it knows what the text itself set (``MY_VAR=$TOKEN
python3 -c 'print(os.environ["MY_VAR"])'`` launders a token under a plain name).

Not followed (known, left): a secret handed to the interpreter as an argument and printed
from ``sys.argv``/``ARGV``/``$argv`` (passing a secret as an argument is use, for every
program); values leaked one character at a time through tests or hashes;
``eval``/``with``/``new Function`` in Node. A print on stderr goes where the command's
redirections send descriptor 2 (``shell_descriptors``); a script this text wrote runs in
the language its ``#!`` line names (``./s.py``), or as ``python3 -m s``, and every code
file it wrote in an interpreter's language counts as run when that interpreter runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from canopy.decisions.analyzers.interpreter_effects import Effect, EffectKind

__all__ = [
    "RUN_TIME_NAMES",
    "SHOWN",
    "STDERR",
    "WHOLE_ENVIRONMENT",
    "Secret",
    "merged",
    "secret_effect",
    "variable",
]

WHOLE_ENVIRONMENT = "the whole environment"
RUN_TIME_NAMES = "environment variables named at run time"
#: Where a value is printed: the program's standard output or its standard error
#: (the rest: a file path, "" when computed).
SHOWN = "<stdout>"
STDERR = "<stderr>"


@dataclass(frozen=True, slots=True)
class Secret:
    """Environment variables a value may hold. Which of them are secrets is decided by
    the shell analyzer, which knows the variables the text itself set (``MY_VAR=$TOKEN
    python3 ...`` launders a token under a plain name); ``everything``: the whole
    environment or variables named at run time, secret whatever the text set."""

    variables: frozenset[str] = frozenset()
    everything: str = ""  # WHOLE_ENVIRONMENT, RUN_TIME_NAMES or ""

    def describe(self) -> str:
        return self.everything or ", ".join(sorted(self.variables))


def variable(name: Any) -> Secret:
    """The value of the variable ``name`` (a name not known here: any variable)."""
    if not isinstance(name, str | bytes):
        return Secret(everything=RUN_TIME_NAMES)
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    return Secret(frozenset({text}))


def merged(found: Iterable[Secret | None]) -> Secret | None:
    """Everything these values may hold together (None: none holds a variable)."""
    variables: set[str] = set()
    everything = ""
    any_found = False
    for secret in found:
        if secret is None:
            continue
        any_found = True
        variables |= secret.variables
        everything = everything or secret.everything
    return Secret(frozenset(variables), everything) if any_found else None


def secret_effect(secret: Secret, target: str) -> Effect:
    """The effect the shell analyzer judges: a print where ``target`` is a standard
    stream, else a write of that file."""
    names = tuple(sorted(secret.variables))
    if target in (SHOWN, STDERR):
        return Effect(
            EffectKind.SECRET_PRINT,
            variables=names,
            everything=secret.everything,
            detail="stderr" if target == STDERR else "",
        )
    return Effect(EffectKind.SECRET_WRITE, target, variables=names, everything=secret.everything)
