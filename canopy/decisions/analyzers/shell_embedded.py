"""Which rule reads the commands a program hides in its options, configuration or scripts.

Why: ``tar --to-command='rm -rf /'``, ``git -c core.pager='rm -rf /' log``,
``vim -c '!rm -rf /'``, ``sed 's/.*/rm -rf \\//e'`` and ``sqlite3 x.db '.shell rm -rf /'``
never put ``rm`` where a command goes, so the walker alone sees ``tar``, ``git``, ``vim``.
The rules live by family (``shell_git``, ``shell_tool_options``, ``shell_tool_scripts``,
``shell_databases``, ``shell_opaque_interpreters``, ``shell_system``); this table is the
one place the walker (``shell.py``) looks them up, by program family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from canopy.decisions.analyzers.shell_databases import rule_database_shell
from canopy.decisions.analyzers.shell_git import rule_git
from canopy.decisions.analyzers.shell_opaque_interpreters import (
    OPAQUE_INTERPRETERS,
    rule_opaque_interpreter,
)
from canopy.decisions.analyzers.shell_rules import Call
from canopy.decisions.analyzers.shell_system import (
    SECRET_PRINTERS,
    SYSTEM_CONTROL_PROGRAMS,
    rule_openssl_connect,
    rule_rebinding_builtins,
    rule_secret_printers,
    rule_system_control,
)
from canopy.decisions.analyzers.shell_tool_options import (
    SUBCOMMAND_RUNNERS,
    rule_cmake,
    rule_command_options,
    rule_nix_shell,
    rule_python_archiver,
    rule_subcommand_runner,
    rule_tmux,
    rule_zip,
)
from canopy.decisions.analyzers.shell_tool_scripts import (
    VIM_FAMILY,
    rule_ed,
    rule_gdb,
    rule_less,
    rule_make,
    rule_sed_script,
    rule_vim,
)

__all__ = ["EMBEDDED_RULES", "Rule"]

Rule = Callable[[Call], None]


def _in_turn(*rules: Rule) -> Rule:
    """One rule for a program that several families judge (``git`` runs configured
    commands and ``git credential fill`` prints a secret)."""

    def run_each(call: Call) -> None:
        for rule in rules:
            rule(call)

    return run_each


EMBEDDED_RULES: Mapping[str, Rule] = MappingProxyType(
    {
        "tar": rule_command_options,
        "rsync": rule_command_options,
        "man": rule_command_options,
        "zip": rule_zip,
        **dict.fromkeys(VIM_FAMILY, rule_vim),
        "ed": rule_ed,
        "gdb": rule_gdb,
        "sed": rule_sed_script,
        "gsed": rule_sed_script,
        "sqlite3": rule_database_shell,
        "psql": rule_database_shell,
        "mysql": rule_database_shell,
        "mariadb": rule_database_shell,
        "make": rule_make,
        "gmake": rule_make,
        "cmake": rule_cmake,
        "zipfile": rule_python_archiver,
        "tarfile": rule_python_archiver,
        "tmux": rule_tmux,
        **dict.fromkeys(SUBCOMMAND_RUNNERS, rule_subcommand_runner),
        "nix-shell": rule_nix_shell,
        "nix": rule_nix_shell,
        "less": rule_less,
        "openssl": rule_openssl_connect,
        "hash": rule_rebinding_builtins,
        "enable": rule_rebinding_builtins,
        "fc": rule_rebinding_builtins,
        **dict.fromkeys(OPAQUE_INTERPRETERS, rule_opaque_interpreter),
        **dict.fromkeys(SECRET_PRINTERS, rule_secret_printers),
        **dict.fromkeys(SYSTEM_CONTROL_PROGRAMS, rule_system_control),
        "git": _in_turn(rule_git, rule_secret_printers),
        "op": _in_turn(rule_subcommand_runner, rule_secret_printers),  # op run --, op read
    }
)
