"""Commands that are risky in themselves, whatever they run: printing a credential,
changing the system, rebinding a command name, connecting out.

Why: ``gh auth token``, ``kubectl get secret -o yaml`` or ``gpg --export-secret-keys`` put
a credential on stdout; ``iptables -F``, ``umount -a``, ``sysctl -w`` or ``modprobe`` change
the machine for everyone; ``hash -p /bin/rm ls`` makes ``ls`` run rm; ``openssl s_client
-connect HOST`` reaches the network. None of them names a file or a nested command for the
other rules to catch, so each is recognized by program and arguments and reported (a
printed credential by where the print goes: ``shell_secret_flow``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.shell_rules import Call
from canopy.decisions.model import Severity

__all__ = [
    "SECRET_PRINTERS",
    "SYSTEM_CONTROL_PROGRAMS",
    "rule_openssl_connect",
    "rule_rebinding_builtins",
    "rule_secret_printers",
    "rule_system_control",
]

R = ShellRisk
S = Severity

# --- commands that print credentials -----------------------------------------------------------

#: Subcommand paths that print a token, password or private key.
_SECRET_SUBCOMMANDS: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        "gh": (("auth", "token"),),
        "gcloud": (
            ("auth", "print-access-token"),
            ("auth", "print-identity-token"),
            ("auth", "application-default", "print-access-token"),
            ("config", "config-helper"),
        ),
        "az": (("account", "get-access-token"),),
        "aws": (
            ("configure", "export-credentials"),
            ("ecr", "get-login-password"),
            ("ecr-public", "get-login-password"),
            ("codeartifact", "get-authorization-token"),
        ),
        "git": (("credential", "fill"),),
        "op": (("read",),),
        "pass": (("show",),),
        "security": (("find-generic-password",), ("find-internet-password",)),
    }
)
#: Programs with a subcommand or option that prints a credential.
SECRET_PRINTERS = ("gh", "gcloud", "az", "aws", "op", "pass", "security", "kubectl", "gpg", "git")
_AWS_SECRET_KEY = re.compile(r"secret|session_token|access_key_id", re.IGNORECASE)
#: Long-lived private keys, not session tokens: exporting them anywhere is reading
#: them, like ``cat ~/.ssh/id_ed25519 > key``, whatever consumes the output.
_PRIVATE_KEY_EXPORTS = frozenset({"--export-secret-keys", "config view --raw"})


def _secret_printed(call: Call) -> str | None:
    ops = [w.text for w in call.parsed.operands]
    for path in _SECRET_SUBCOMMANDS.get(call.name, ()):
        if tuple(ops[: len(path)]) == path:
            if call.name == "security" and not call.parsed.has("w", "g"):
                return None
            return " ".join(path)
    args = [w.text for w in call.args]
    if call.name == "aws" and ops[:2] == ["configure", "get"] and len(ops) > 2:
        return "configure get" if _AWS_SECRET_KEY.search(ops[2]) else None
    if call.name == "gh" and ops[:2] == ["auth", "status"] and {"-t", "--show-token"} & set(args):
        return "auth status --show-token"
    if call.name == "kubectl":
        return _kubectl_secret(ops, args)
    if call.name == "gpg" and {"--export-secret-keys", "--export-secret-subkeys"} & set(args):
        return "--export-secret-keys"
    return None


def _kubectl_secret(ops: list[str], args: list[str]) -> str | None:
    if ops[:2] == ["config", "view"] and ("--raw" in args or "--flatten" in args):
        return "config view --raw"
    wants_values = any(a.startswith(("-o", "--output")) for a in args)
    kinds = {p for op in ops[1:2] for p in op.lower().split(",")}
    if ops[:1] == ["get"] and kinds & {"secret", "secrets"} and wants_values:
        return "get secret -o"
    if ops[:1] == ["get"] and any(op.lower().startswith("secret/") for op in ops[1:]):
        return "get secret/NAME" if wants_values else None
    return None


def rule_secret_printers(call: Call) -> None:
    """Its output is a print of a credential, judged by where it goes (``shell_secret_flow``):
    ``gh auth token`` shown is reading it, ``| docker login --password-stdin`` is using it."""
    what = _secret_printed(call)
    if what in _PRIVATE_KEY_EXPORTS:
        call.report(
            ShellRisk.CREDENTIAL_ACCESS, Severity.HIGH, f"{call.name} {what} exports private keys"
        )
    elif what is not None:
        call.secret_printed = f"{call.name} {what} prints a credential"


# --- system controls ---------------------------------------------------------------------------


def _firewall_flush(call: Call) -> str | None:
    flags = {w.text for w in call.args}
    if call.name in ("nft",):
        ops = [w.text for w in call.parsed.operands]
        return "flushes or deletes firewall rules" if ops[:1] in (["flush"], ["delete"]) else None
    if call.name == "ufw":
        ops = [w.text for w in call.parsed.operands]
        return f"ufw {ops[0]}" if ops[:1] in (["disable"], ["reset"]) else None
    if flags & {"-F", "--flush", "-X", "--delete-chain", "-P", "--policy"}:
        return "flushes firewall rules or changes a chain's policy"
    return None


def _mount_change(call: Call) -> str | None:
    ops = list(call.parsed.operands)
    if call.name == "umount":
        if call.parsed.has("a", "all"):
            return "unmounts every file system"
        for word in ops:
            info = call.ref(word).info
            if info is not None and (info.critical or info.system):
                return f"unmounts {call.ref(word).path}"
        return None
    return "mounts or remounts a file system" if ops or call.parsed.has("o") else None


def _kernel_settings(call: Call) -> str | None:
    ops = [w.text for w in call.parsed.operands]
    if call.name == "sysctl":
        writes = call.parsed.has("w", "write", "p", "load", "system") or any("=" in o for o in ops)
        return "changes kernel settings" if writes else None
    if call.name == "setenforce":
        return "switches SELinux enforcement" if ops else None
    if call.name == "swapoff":
        return "turns swap off"
    if call.name == "auditctl":
        flags = {w.text for w in call.args}
        return "disables or clears the audit system" if flags & {"-D", "-e"} else None
    return None


def _network_down(call: Call) -> str | None:
    ops = [w.text for w in call.parsed.operands]
    if call.name == "ip":
        if "down" in ops and ops[:1] in (["link"], ["l"]):
            return "takes a network interface down"
        if ops[:1] in (["route"], ["r"]) and {"flush", "del", "delete"} & set(ops):
            return "removes network routes"
        return None
    if call.name == "ifconfig":
        return "takes a network interface down" if "down" in ops else None
    return "takes a network interface down"  # ifdown


_SYSTEM_CONTROLS: Mapping[str, Callable[[Call], str | None]] = MappingProxyType(
    {
        **dict.fromkeys(
            ("iptables", "ip6tables", "iptables-legacy", "iptables-nft", "ebtables", "arptables"),
            _firewall_flush,
        ),
        "nft": _firewall_flush,
        "ufw": _firewall_flush,
        "mount": _mount_change,
        "umount": _mount_change,
        "sysctl": _kernel_settings,
        "setenforce": _kernel_settings,
        "swapoff": _kernel_settings,
        "auditctl": _kernel_settings,
        "ip": _network_down,
        "ifconfig": _network_down,
        "ifdown": _network_down,
    }
)
#: Loading or unloading kernel code is a privilege whatever the arguments.
_KERNEL_MODULE_PROGRAMS = frozenset({"insmod", "rmmod", "modprobe", "kexec"})
#: Every program ``rule_system_control`` judges.
SYSTEM_CONTROL_PROGRAMS = (*_SYSTEM_CONTROLS, *_KERNEL_MODULE_PROGRAMS)


def rule_system_control(call: Call) -> None:
    if call.name in _KERNEL_MODULE_PROGRAMS:
        call.report(R.PRIVILEGE, S.HIGH, f"{call.name} loads or unloads kernel code")
        return
    check = _SYSTEM_CONTROLS.get(call.name)
    what = check(call) if check is not None else None
    if what is not None:
        call.report(R.SYSTEM_CONTROL, S.HIGH, what)


# --- builtins that rebind names or re-run history -----------------------------------------------


def rule_rebinding_builtins(call: Call) -> None:
    """``hash -p /bin/rm ls`` makes ``ls`` run rm; ``enable -f lib.so NAME`` loads a
    builtin from a shared object; ``fc -s`` re-runs history we never saw."""
    flags = {c for w in call.args if w.text.startswith("-") for c in w.text[1:]}
    if call.name == "hash" and "p" in flags:
        call.report(R.ENV_HIJACK, S.HIGH, "hash -p binds a command name to another program")
    elif call.name == "enable" and "f" in flags:
        call.report(R.ENV_HIJACK, S.HIGH, "enable -f loads a builtin from a shared object")
    elif call.name == "fc" and "l" not in flags:
        call.report(R.UNVERIFIABLE, S.MEDIUM, "fc re-runs commands from the history")


# --- network clients that name hosts in options -------------------------------------------------


def rule_openssl_connect(call: Call) -> None:
    args = call.args
    for i, word in enumerate(args[:-1]):
        if word.text in ("-connect", "-host", "-proxy"):
            call.out.path("urls", "//" + args[i + 1].text)
            call.report(R.NETWORK, S.MEDIUM, f"openssl connects to {args[i + 1].text}")
