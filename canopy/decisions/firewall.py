"""The Firewall: technical analysis of commands, paths, URLs and amounts.

It reads the facts the analyzers extracted (``ActionView``) and refuses what
is dangerous in itself, whatever the policy says: code fetched or decoded and
piped into a shell, environment hijacking, credential reads, containers given the
host (``docker run -v /:/h``, ``--privileged``), writes to system,
credential, shell-startup and governance locations (``safe_paths`` cannot open
these up), unparseable or non-web URLs, hosts outside an allow-list, amounts
that do not parse strictly, and payloads that lack what their action needs.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from canopy.decisions.action import CANONICAL_ACTION_TYPES, ActionView
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.paths import PathClass, is_autorun_file
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.facts import path_verdict, url_info
from canopy.decisions.model import Decision, Finding, LayerName, Severity, Verdict
from canopy.decisions.pipeline import LayerContext
from canopy.errors import MalformedInputError

__all__ = ["Firewall"]

_DENY_RISKS = {
    ShellRisk.REMOTE_CODE: "code fetched or decoded and piped into an interpreter",
    ShellRisk.ENV_HIJACK: "environment hijacking (LD_PRELOAD, PYTHONPATH, PATH, ...)",
    ShellRisk.CREDENTIAL_ACCESS: "reading credentials or secrets",
    ShellRisk.HOST_ESCAPE: "a container given root on the host",
}
_APPROVAL_RISKS = {
    ShellRisk.PRIVILEGE: "privilege escalation",
    ShellRisk.SYSTEM_CONTROL: "system control (shutdown, reboot, killing all processes)",
    ShellRisk.SECRET_TO_FILE: "secrets printed into a file, where they outlive the command",
}
_WRITE_PROTECTED = {
    PathClass.SYSTEM_CRITICAL: "a system location",
    PathClass.CREDENTIAL: "a credential file",
    PathClass.SHELL_STARTUP: "a shell start-up or scheduled-task file",
    PathClass.GOVERNANCE: "Canopy's own ledger, key or policy",
    PathClass.DEVICE: "a device",
}
_READ_PROTECTED = {
    PathClass.CREDENTIAL: "a credential file",
    PathClass.GOVERNANCE: "Canopy's signing key or ledger",
}
#: Device paths every program writes to; only real devices are protected.
_HARMLESS_DEVICES = frozenset(
    {
        "/dev/null",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/stdin",
        "/dev/tty",
        "/dev/zero",
        "/dev/random",
        "/dev/urandom",
        "/dev/full",
    }
)
_WEB_SCHEMES = frozenset({"http", "https", "ws", "wss"})
_FORBIDDEN_SCHEMES = frozenset({"file", "gopher", "dict", "ldap", "ldaps", "jar", "netdoc", "tftp"})


def _shell_findings(action: ActionView) -> list[Finding]:
    if action.shell is None:
        return []
    findings = []
    for finding in action.shell.findings:
        if finding.risk in _DENY_RISKS:
            findings.append(
                Finding(
                    f"firewall.shell.{finding.risk.value}",
                    Decision.DENY,
                    f"Firewall: {_DENY_RISKS[finding.risk]}: {finding.detail}",
                    max(finding.severity, Severity.HIGH),
                )
            )
        elif finding.risk in _APPROVAL_RISKS:
            findings.append(
                Finding(
                    f"firewall.shell.{finding.risk.value}",
                    Decision.REQUIRE_APPROVAL,
                    f"Firewall: {_APPROVAL_RISKS[finding.risk]}: {finding.detail}",
                    finding.severity,
                )
            )
        elif finding.risk is ShellRisk.UNVERIFIABLE:
            destructive = finding.severity >= Severity.HIGH
            findings.append(
                Finding(
                    "firewall.shell.unverifiable",
                    Decision.DENY if destructive else Decision.REQUIRE_APPROVAL,
                    f"Firewall: cannot verify what the command runs: {finding.detail}",
                    finding.severity,
                )
            )
    return findings


def _mentioned_shell_findings(action: ActionView) -> list[Finding]:
    """A command in an unknown tool's text that we would refuse or hold if it ran:
    a human decides whether this tool runs it. Lesser findings are left alone, as
    the text is as likely words as a command."""
    if action.mentioned_shell is None:
        return []
    details = [
        f.detail
        for f in action.mentioned_shell.findings
        if f.risk is not ShellRisk.UNVERIFIABLE
        and (f.risk in _DENY_RISKS or f.severity >= Severity.HIGH)
    ]
    return [
        Finding(
            "firewall.shell.mentioned",
            Decision.REQUIRE_APPROVAL,
            "Firewall: a field of this unknown tool reads as a command that "
            f"{detail}; approve only if the tool does not run it",
            Severity.HIGH,
        )
        for detail in list(dict.fromkeys(details))[:5]
    ]


def _path_findings(
    paths: tuple[str, ...] | list[str],
    protected: dict[PathClass, str],
    verb: str,
    action: ActionView,
) -> list[Finding]:
    findings = []
    for raw in paths:
        verdict = path_verdict(action, raw)
        if isinstance(verdict, MalformedInputError):
            e = verdict
            findings.append(
                Finding("firewall.path.malformed", Decision.DENY, f"Firewall: {e}", Severity.HIGH)
            )
            continue
        text = str(verdict.path)
        if text in _HARMLESS_DEVICES or text.startswith(("/dev/fd/", "/dev/shm/")):
            continue
        hits = sorted(c.value for c in verdict.classes if c in protected)
        if hits:
            what = protected[PathClass(hits[0])]
            findings.append(
                Finding(
                    f"firewall.path.{hits[0]}",
                    Decision.DENY,
                    f"Firewall: {verb} {verdict.path} touches {what}"
                    + (" (safe_paths cannot open it up)" if verdict.inside_safe else ""),
                    Severity.HIGH,
                )
            )
    return findings


#: Canopy's own code: an agent that rewrites the Constitution's source is not governed.
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def _writes(action: ActionView, *, deletes: bool) -> tuple[tuple[str, ...], Decision]:
    """The paths an action writes (and deletes, if asked), and what a protected one
    earns: a file action or a command is refused, a tool we do not know needs approval."""
    decision = Decision.DENY
    written: tuple[str, ...] = ()
    if action.action_type in {"modify_file", "delete_file"}:
        written = action.paths
    elif action.action_type not in CANONICAL_ACTION_TYPES:
        written, decision = action.paths, Decision.REQUIRE_APPROVAL
    if action.shell is not None:
        written = (*written, *action.shell.paths_written)
        if deletes:
            written = (*written, *action.shell.paths_deleted)
    return written, decision


@lru_cache(maxsize=64)
def _resolved(path: str) -> str:
    """The policy file, symlinks resolved once (it is named on every call)."""
    return str(Path(path).resolve())


def _governance_code_findings(action: ActionView, context: LayerContext) -> list[Finding]:
    """Writes to Canopy's installed code or to the policy now in force. Reading them
    is fine."""
    written, decision = _writes(action, deletes=True)
    if not written:
        return []
    snapshot = getattr(context.policy, "snapshot", None)
    policy_file = getattr(snapshot, "file", None)
    guarded = [_PACKAGE_DIR, *([_resolved(policy_file)] if policy_file else [])]
    for raw in written:
        verdict = path_verdict(action, raw)
        if isinstance(verdict, MalformedInputError):
            continue
        target = str(verdict.path)
        for root in guarded:
            if target == root or target.startswith(root.rstrip("/") + "/"):
                what = "Canopy's own code" if root == _PACKAGE_DIR else "the policy in force"
                return [
                    Finding(
                        "firewall.path.governance",
                        decision,
                        f"Firewall: writing {target} changes {what}",
                        Severity.CRITICAL if decision is Decision.DENY else Severity.MEDIUM,
                    )
                ]
    return []


def _autorun_findings(action: ActionView) -> list[Finding]:
    """Writing a file that runs code later, unseen by any check: approval."""
    written, _ = _writes(action, deletes=False)
    for raw in written:
        if is_autorun_file(raw):
            return [
                Finding(
                    "firewall.path.autorun",
                    Decision.REQUIRE_APPROVAL,
                    f"Firewall: writing {raw} sets up code that runs later by itself",
                    Severity.MEDIUM,
                )
            ]
    return []


_SQL_STATEMENT_KEYS = ("sql", "query", "statement", "statements")
_EVERY_ROW = re.compile(r"^\s*(?:update|delete)\b(?![^;]*\bwhere\b)", re.I | re.M)
_WHOLE_TABLE = re.compile(r"^\s*(?:drop|truncate|alter)\b", re.I | re.M)


def _sql_findings(action: ActionView) -> list[Finding]:
    """Statements that change a whole table at once (``UPDATE t SET x = 0`` with no
    WHERE, ``DELETE FROM t``, ``DROP``, ``TRUNCATE``, ``ALTER``): approval."""
    for key in _SQL_STATEMENT_KEYS:
        value = action.payload.get(key)
        texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for text in texts:
            if not isinstance(text, str):
                continue
            statements = text.replace(";", "\n")
            if _EVERY_ROW.search(statements) or _WHOLE_TABLE.search(statements):
                return [
                    Finding(
                        "firewall.sql.whole_table",
                        Decision.REQUIRE_APPROVAL,
                        "Firewall: the statement changes or removes a whole table",
                        Severity.MEDIUM,
                    )
                ]
    return []


def _unknown_action_paths(action: ActionView) -> list[Finding]:
    """A tool we do not know, given a path: whether it reads or writes is unknown, so
    what no action may read is refused and what no action may write needs approval."""
    findings = _path_findings(action.paths, _READ_PROTECTED, "using", action)
    refused = {f.rule_id for f in findings}
    for finding in _path_findings(action.paths, _WRITE_PROTECTED, "using", action):
        if finding.rule_id not in refused:
            findings.append(
                Finding(
                    finding.rule_id,
                    Decision.REQUIRE_APPROVAL,
                    f"{finding.reason} (action {action.requested_type!r} may write it)",
                    Severity.MEDIUM,
                )
            )
    return findings


def _url_findings(action: ActionView) -> list[Finding]:
    findings = []
    allow_list = [
        str(h)
        for key in ("allowed_hosts", "allowed_domains")
        for h in (action.agent_ctx.get(key) or [])
    ]
    for url in action.urls:
        info = url_info(action, url)
        if isinstance(info, MalformedInputError):
            e = info
            findings.append(
                Finding("firewall.url.malformed", Decision.DENY, f"Firewall: {e}", Severity.HIGH)
            )
            continue
        if info.host.category is net.HostCategory.INVALID:
            findings.append(
                Finding(
                    "firewall.url.invalid_host",
                    Decision.DENY,
                    f"Firewall: {url!r} has no valid host",
                    Severity.HIGH,
                )
            )
        elif info.scheme in _FORBIDDEN_SCHEMES:
            findings.append(
                Finding(
                    "firewall.url.scheme",
                    Decision.DENY,
                    f"Firewall: {info.scheme}:// requests are not allowed",
                    Severity.HIGH,
                )
            )
        elif info.scheme and info.scheme not in _WEB_SCHEMES:
            findings.append(
                Finding(
                    "firewall.url.scheme",
                    Decision.REQUIRE_APPROVAL,
                    f"Firewall: {info.scheme}:// request needs approval",
                    Severity.MEDIUM,
                )
            )
        if allow_list and not net.host_allowed(info.host.host, allow_list):
            findings.append(
                Finding(
                    "firewall.url.not_allowed",
                    Decision.DENY,
                    f"Firewall: host {info.host.host} is not in the agent's allowed hosts",
                    Severity.HIGH,
                )
            )
    return findings


class Firewall:
    name = LayerName.FIREWALL

    def evaluate(self, action: ActionView, context: LayerContext) -> Verdict:
        findings = _shell_findings(action)
        if action.shape_error:
            findings.append(
                Finding(
                    "firewall.payload.shape",
                    Decision.DENY,
                    f"Firewall: {action.shape_error}",
                    Severity.HIGH,
                )
            )
        if action.money_error:
            findings.append(
                Finding(
                    "firewall.money.unparseable",
                    Decision.DENY,
                    f"Firewall: amount not accepted: {action.money_error}",
                    Severity.HIGH,
                )
            )
        if action.action_type in {"modify_file", "delete_file"}:
            findings += _path_findings(action.paths, _WRITE_PROTECTED, "writing", action)
        elif action.action_type == "read_file":
            findings += _path_findings(action.paths, _READ_PROTECTED, "reading", action)
        elif action.action_type not in CANONICAL_ACTION_TYPES:
            findings += _unknown_action_paths(action)
            findings += _mentioned_shell_findings(action)
        if action.shell is not None:
            written = (*action.shell.paths_deleted, *action.shell.paths_written)
            findings += _path_findings(written, _WRITE_PROTECTED, "writing", action)
            findings += _path_findings(action.shell.paths_read, _READ_PROTECTED, "reading", action)
        findings += _governance_code_findings(action, context)
        if action.action_type == "query_database":
            findings += _sql_findings(action)
        findings += _autorun_findings(action)
        findings += _url_findings(action)
        return Verdict.from_findings(self.name, findings)
