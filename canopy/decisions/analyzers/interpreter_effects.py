"""What an interpreter one-liner does, as the shell analyzer needs to know it.

Why its own module: the Python and the script analyzers (``shell_interpreters``) and the
secret-print analysis (``interpreter_secrets``) all produce these records, and the shell
walker (``shell.py``) turns them into findings with its path, command and secret rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Effect", "EffectKind"]


class EffectKind(StrEnum):
    SHELL = "shell"  # runs this text with /bin/sh
    ARGV = "argv"  # runs this argv directly
    DELETE = "delete"
    WRITE = "write"
    READ = "read"
    NETWORK = "network"
    REMOTE_CODE = "remote_code"
    FORK_BOMB = "fork_bomb"
    UNVERIFIABLE = "unverifiable"
    #: prints environment variables on stdout, or on stderr (detail "stderr")
    SECRET_PRINT = "secret_print"
    #: writes environment variables into the file ``text`` ("": named at run time)
    SECRET_WRITE = "secret_write"


@dataclass(frozen=True, slots=True)
class Effect:
    kind: EffectKind
    text: str = ""  # shell text, path, URL or detail
    argv: tuple[str, ...] = ()
    recursive: bool = False
    destructive: bool = False  # UNVERIFIABLE: the unknown value reaches a destructive call
    #: SECRET_PRINT/SECRET_WRITE: the environment variables printed or written, and
    #: "the whole environment" or "... named at run time" when not only those
    variables: tuple[str, ...] = ()
    everything: str = ""
    #: SECRET_PRINT: "stderr" for a print there
    detail: str = ""
