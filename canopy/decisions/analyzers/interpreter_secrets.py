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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canopy.decisions.analyzers.interpreter_effects import Effect, EffectKind
from canopy.decisions.analyzers.shell_env_secrets import is_secret_variable

__all__ = [
    "RUN_TIME_NAMES",
    "SHOWN",
    "WHOLE_ENVIRONMENT",
    "Secret",
    "secret_effect",
    "variable",
]

WHOLE_ENVIRONMENT = "the whole environment"
RUN_TIME_NAMES = "environment variables named at run time"
#: Where a handle writes: the agent's screen, or a file path ("" when computed).
SHOWN = "<shown>"


@dataclass(frozen=True, slots=True)
class Secret:
    what: str  # GITHUB_TOKEN, the whole environment, ...
    variables: tuple[str, ...] = ()  # the variables it reads, when named


def variable(name: Any) -> Secret | None:
    """The value of the variable ``name`` (None: a variable that holds no secret)."""
    if not isinstance(name, str | bytes):
        return Secret(RUN_TIME_NAMES)
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    return Secret(text, (text,)) if is_secret_variable(text) else None


def secret_effect(secret: Secret, target: str) -> Effect:
    """The effect the shell analyzer judges: a print where ``target`` is SHOWN, else a
    write of that file."""
    if target == SHOWN:
        return Effect(EffectKind.SECRET_PRINT, f"prints {secret.what}", variables=secret.variables)
    return Effect(
        EffectKind.SECRET_WRITE, target, variables=secret.variables, detail=f"writes {secret.what}"
    )
