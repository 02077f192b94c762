"""Which rules judge what a program does beyond the words the walker sees.

Why: ``tar --to-command='rm -rf /'``, ``git -c core.pager='rm -rf /' log``,
``vim -c '!rm -rf /'``, ``sed 's/.*/rm -rf \\//e'`` and ``sqlite3 x.db '.shell rm -rf /'``
never put ``rm`` where a command goes, so the walker alone sees ``tar``, ``git``, ``vim``;
``psql -h 10.0.0.5`` names its server in an option, ``docker run -v /:/h`` hands a container
the host, ``ps e`` prints every process's environment. The rules live by family (``shell_git``,
``shell_tool_options``, ``shell_tool_scripts``, ``shell_databases``,
``shell_opaque_interpreters``, ``shell_system``, ``shell_env_secrets``, ``shell_endpoints``,
``shell_containers``, ``shell_project_code``); this table is the one place the walker
(``shell.py``) looks them up, by program family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from canopy.decisions.analyzers.shell_compilers import (
    C_COMPILERS,
    TOOLCHAINS,
    rule_c_compiler,
    rule_toolchain,
)
from canopy.decisions.analyzers.shell_containers import (
    CONTAINER_ENGINES,
    rule_container_run,
    rule_kubernetes_pod,
)
from canopy.decisions.analyzers.shell_databases import rule_database_shell
from canopy.decisions.analyzers.shell_endpoints import CLIENTS, rule_client_endpoints
from canopy.decisions.analyzers.shell_env_secrets import rule_ps_environment
from canopy.decisions.analyzers.shell_git import rule_git
from canopy.decisions.analyzers.shell_opaque_interpreters import (
    OPAQUE_INTERPRETERS,
    rule_opaque_interpreter,
)
from canopy.decisions.analyzers.shell_project_code import (
    PROJECT_RUNNERS,
    rule_project_code,
    rule_run_parts,
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
    rule_split,
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


def _registry(*entries: tuple[str | Iterable[str], Rule]) -> Mapping[str, Rule]:
    """Rules by program family. A family named by several entries gets each rule in turn,
    in the order listed, so adding a family never silently replaces another's rule."""
    table: dict[str, list[Rule]] = {}
    for names, rule in entries:
        for name in (names,) if isinstance(names, str) else names:
            table.setdefault(name, []).append(rule)
    return MappingProxyType(
        {name: rules[0] if len(rules) == 1 else _in_turn(*rules) for name, rules in table.items()}
    )


EMBEDDED_RULES: Mapping[str, Rule] = _registry(
    (("tar", "rsync", "man"), rule_command_options),
    ("zip", rule_zip),
    ("split", rule_split),
    (VIM_FAMILY, rule_vim),
    ("ed", rule_ed),
    ("gdb", rule_gdb),
    (("sed", "gsed"), rule_sed_script),
    (("sqlite3", "psql", "mysql", "mariadb"), rule_database_shell),
    (("make", "gmake"), rule_make),
    ("cmake", rule_cmake),
    (("zipfile", "tarfile"), rule_python_archiver),
    ("tmux", rule_tmux),
    (SUBCOMMAND_RUNNERS, rule_subcommand_runner),
    (("nix-shell", "nix"), rule_nix_shell),
    ("less", rule_less),
    ("openssl", rule_openssl_connect),
    (("hash", "enable", "fc"), rule_rebinding_builtins),
    (OPAQUE_INTERPRETERS, rule_opaque_interpreter),
    ("git", rule_git),
    (SECRET_PRINTERS, rule_secret_printers),  # op run -- (a runner), op read (a printer)
    (SYSTEM_CONTROL_PROGRAMS, rule_system_control),
    ("ps", rule_ps_environment),
    (CLIENTS, rule_client_endpoints),
    (CONTAINER_ENGINES, rule_container_run),
    (("kubectl", "oc"), rule_kubernetes_pod),
    (PROJECT_RUNNERS, rule_project_code),
    ("run-parts", rule_run_parts),
    (C_COMPILERS, rule_c_compiler),
    (TOOLCHAINS, rule_toolchain),
)
