"""Secrets held in the environment: which variables hold them, and what prints them.

Why: ``cat /proc/self/environ`` reads every token the agent's process holds, and the
firewall refuses it. ``env``, ``printenv``, ``set``, ``export -p`` or ``declare -x`` print
the same thing, and ``echo $AWS_SECRET_ACCESS_KEY`` or ``printenv GITHUB_TOKEN`` print one
of them. Those prints are recorded here and judged by where their output goes
(``shell_secret_flow``): shown to the agent, reading credentials; fed to ``docker login
--password-stdin``, used. A secret variable handed to a program as an argument
(``curl -H "Authorization: Bearer $GITHUB_TOKEN" ...``) is using it, not printing it;
sending secrets out is the network rules' business. ``ps e`` prints other processes'
environments, like reading ``/proc/*/environ``: refused wherever its output goes.

Which names hold secrets (compared in upper case):

* a name containing SECRET, PASSWORD, PASSWD, PASSPHRASE, CREDENTIAL, PRIVATE_KEY,
  API_KEY, ACCESS_KEY or SESSION_KEY (underscores optional: ``APIKEY``, ``PGPASSWORD``);
* or with a part (between underscores) that is TOKEN/TOKENS or ends in TOKEN
  (``GITHUB_TOKEN``, ``GHTOKEN``; not ``TOKENIZERS_PARALLELISM``), AUTH or AUTHORIZATION
  (``NPM_CONFIG__AUTH``; not ``AUTHOR``), or PWD after another part (``MYSQL_PWD``; not
  ``PWD``, the working directory);
* unless its last part says where the secret is or whom it names rather than holding it:
  FILE, PATH, DIR, SOCK, SOCKET, ID, URL, URI, HOST, PORT, USER, USERNAME, NAME, TYPE
  (``SSH_AUTH_SOCK``, ``AWS_ACCESS_KEY_ID``, ``DB_PASSWORD_FILE``).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_secret_flow import printed
from canopy.decisions.analyzers.shell_state import UNKNOWN
from canopy.decisions.analyzers.shell_words import LABEL_SECRET, Stream
from canopy.decisions.model import Severity

if TYPE_CHECKING:
    from canopy.decisions.analyzers.shell_rules import Call
    from canopy.decisions.analyzers.shell_state import Collector

__all__ = [
    "SECRET_LABELS",
    "declared_secrets",
    "dumps_environment",
    "env_dump",
    "is_secret_variable",
    "rule_printenv",
    "rule_ps_environment",
    "secret_variable_labels",
]

_SECRET_WORDS = (
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "PASSPHRASE",
    "CREDENTIAL",
    "PRIVATEKEY",
    "APIKEY",
    "ACCESSKEY",
    "SESSIONKEY",
)
_SECRET_PARTS = frozenset({"TOKEN", "TOKENS", "AUTH", "AUTHORIZATION"})
_NOT_SECRET_LAST = frozenset(
    {"FILE", "PATH", "DIR", "SOCK", "SOCKET", "ID", "URL", "URI", "HOST", "PORT"}
    | {"USER", "USERNAME", "NAME", "TYPE"}
)
SECRET_LABELS = frozenset({LABEL_SECRET})
_NONE: frozenset[str] = frozenset()
#: Flags with which ``declare``/``typeset``/``export`` and no names print variables.
_DUMP_FLAGS = {"export": frozenset("p"), "declare": frozenset("pxg"), "typeset": frozenset("pxg")}


@lru_cache(maxsize=1024)
def is_secret_variable(name: str) -> bool:
    """Does this variable's name mark its value as a secret (see the module docstring)?"""
    upper = name.upper()
    parts = [p for p in upper.split("_") if p]
    if not parts or parts[-1] in _NOT_SECRET_LAST:
        return False
    compact = "".join(parts)
    if any(word in compact for word in _SECRET_WORDS):
        return True
    return any(
        part in _SECRET_PARTS or part.endswith("TOKEN") or (part == "PWD" and i > 0)
        for i, part in enumerate(parts)
    )


def secret_variable_labels(name: str) -> frozenset[str]:
    """The labels an unknown (inherited) variable's value carries."""
    return SECRET_LABELS if is_secret_variable(name) else _NONE


def dumps_environment(program: str, args: Sequence[str]) -> bool:
    """``export``/``export -p``, ``declare``/``declare -x``/``declare -p``, ``typeset``:
    no names, and no flag that narrows the listing to something else (``declare -f``)."""
    allowed = _DUMP_FLAGS.get(program)
    if allowed is None or any(not a.startswith("-") for a in args):
        return False
    return all(set(a[1:]) <= allowed for a in args)


def declared_secrets(program: str, args: Sequence[str], known: Container[str]) -> list[str]:
    """``declare -p NAME``/``typeset -p NAME`` print NAME's value: the secret ones among
    the names this text did not set itself."""
    if program not in ("declare", "typeset"):
        return []
    if not any(a.startswith("-") and "p" in a for a in args):
        return []
    return [a for a in args if a[:1] != "-" and a not in known and is_secret_variable(a)]


def env_dump(out: Collector, program: str, text: str) -> Stream:
    """The output of ``env``, ``set``, ``export -p``...: a print of every secret."""
    what = f"{program} prints the whole environment (its tokens and keys)"
    return printed(out, what, text, Stream())


def rule_printenv(call: Call) -> Stream:
    """``printenv`` prints the environment; ``printenv NAME`` prints NAME's value, a secret
    when this text did not set it and its name says so."""
    names = [w.text for w in call.parsed.operands]
    if not names:
        return env_dump(call.out, call.program, call.text)
    known = call.scope.env
    labels = frozenset().union(*(known[n].labels for n in names if n in known))
    secret = [name for name in names if name not in known and is_secret_variable(name)]
    if secret:
        return printed(call.out, f"{call.program} prints {secret[0]}", call.text, Stream())
    return Stream(None, labels) if labels else UNKNOWN


def rule_ps_environment(call: Call) -> None:
    """BSD-style ``ps e``/``ps auxe``/``ps eww`` (no dash) prints each process's environment."""
    first = call.args[0].text if call.args else ""
    if first and not first.startswith("-") and "e" in first and first.isalpha():
        call.report(
            ShellRisk.CREDENTIAL_ACCESS, Severity.HIGH, "ps e prints every process's environment"
        )
