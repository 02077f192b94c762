"""What the shell analyzer reports: the commands a text would run, and their risks.

Shared by the analyzer (``shell.py``), the firewall and the policy language, so
it holds only data. ``spellings()`` renders a command in its equivalent forms,
so a user's regex written for one spelling (``rm\\s+-rf``) also matches the others
(``rm -fr``, ``rm -r -f``, ``rm --recursive --force``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import StrEnum

from canopy.decisions.model import Severity

__all__ = ["ShellAnalysis", "ShellFinding", "ShellRisk", "SimpleCommand"]


class ShellRisk(StrEnum):
    DESTROY_SYSTEM = "destroy_system"  # wipe /, system dirs, home, disks: Constitution Art.0
    FORK_BOMB = "fork_bomb"  # Constitution Art.0
    REMOTE_CODE = "remote_code"  # download or decoded data piped into a shell/interpreter
    RECURSIVE_DELETE = "recursive_delete"
    DELETE = "delete"
    OVERWRITE = "overwrite"  # truncating redirects, dd, shred, truncate on files
    NETWORK = "network"
    PACKAGE_INSTALL = "package_install"
    PRIVILEGE = "privilege"  # sudo, doas, su, pkexec, setuid bits
    PERMISSIONS = "permissions"  # chmod/chown, esp. recursive or world-writable
    SYSTEM_CONTROL = "system_control"  # shutdown, reboot, kill -1, systemctl stop
    CRYPTO_MINING = "crypto_mining"
    SECURITY_TOOL = "security_tool"  # scanners, crackers, exploit frameworks
    GOVERNANCE_TAMPER = "governance_tamper"  # touching Canopy's ledger, keys, policy, env
    ENV_HIJACK = "env_hijack"  # LD_PRELOAD, PYTHONPATH, DYLD_*, PATH rewrites
    CREDENTIAL_ACCESS = "credential_access"  # reading keys, tokens, shadow
    SECRET_TO_FILE = "secret_to_file"  # printed secrets written to a file: env > env.txt
    HOST_ESCAPE = "host_escape"  # a container given the host: / or docker.sock, --privileged
    UNVERIFIABLE = "unverifiable"  # dynamic command names, eval of non-literals, parse errors


@dataclass(frozen=True, slots=True)
class SimpleCommand:
    """One command the text would execute, after unwrapping and unquoting.

    ``program`` is the normalized name (basename, quotes and escapes removed:
    ``/bin/rm``, ``\\rm``, ``r''m`` and ``"rm"`` are all ``rm``); it is ``""``
    when the name is dynamic. ``short_flags`` and ``long_flags`` are the options
    with bundles split (``-rf`` -> {"r", "f"}) and known long forms mapped to
    short ones where the program defines them. ``operands`` are the remaining
    arguments in order, with ``~`` and ``$HOME`` expanded when known.
    """

    program: str
    args: tuple[str, ...]
    short_flags: frozenset[str] = frozenset()
    long_flags: frozenset[str] = frozenset()
    operands: tuple[str, ...] = ()
    dynamic: bool = False
    wrappers: tuple[str, ...] = ()  # e.g. ("sudo", "bash -c")
    source: str = ""
    cwd: str | None = None

    def spellings(self, limit: int = 24) -> tuple[str, ...]:
        """Equivalent renderings of this command for text patterns (bounded)."""
        program = self.program or "?"
        rest = " ".join(self.operands)
        longs = [f"--{name}" for name in sorted(self.long_flags)]
        shorts = sorted(self.short_flags)
        out: list[str] = []

        def add(*parts: str) -> None:
            text = " ".join(p for p in parts if p)
            if text not in out and len(out) < limit:
                out.append(text)

        add(program, *self.args)
        if shorts:
            for order in itertools.islice(itertools.permutations(shorts), limit):
                add(program, "-" + "".join(order), *longs, rest)
            add(program, *(f"-{s}" for s in shorts), *longs, rest)
        else:
            add(program, *longs, rest)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class ShellFinding:
    risk: ShellRisk
    severity: Severity
    detail: str
    command: str = ""  # the simple command (rendered) that raised it


@dataclass(frozen=True, slots=True)
class ShellAnalysis:
    """Everything the analyzer learned about one shell text."""

    text: str
    commands: tuple[SimpleCommand, ...] = ()
    findings: tuple[ShellFinding, ...] = ()
    parse_error: bool = False
    paths_deleted: tuple[str, ...] = ()
    paths_written: tuple[str, ...] = ()
    paths_read: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def programs(self) -> frozenset[str]:
        return frozenset(c.program for c in self.commands if c.program)

    def has(self, risk: ShellRisk) -> bool:
        return any(f.risk is risk for f in self.findings)
