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

from canopy.decisions.action import ActionView
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.paths import PathClass
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
        if action.shell is not None:
            written = (*action.shell.paths_deleted, *action.shell.paths_written)
            findings += _path_findings(written, _WRITE_PROTECTED, "writing", action)
            findings += _path_findings(action.shell.paths_read, _READ_PROTECTED, "reading", action)
        findings += _url_findings(action)
        return Verdict.from_findings(self.name, findings)
