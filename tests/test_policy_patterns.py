"""deny_if / require_approval_if read semantically: commands, paths, hosts, words."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_policy_support import cmd, policy_from, shell_view, view, write_policy

from canopy.decisions.model import Decision
from canopy.decisions.policy import CompiledPolicy, lint_policy


def shell_policy(tmp_path: Path, pattern: str) -> CompiledPolicy:
    return policy_from(
        tmp_path, f"rules:\n  - id: p\n    action_type: execute_shell\n    deny_if: ['{pattern}']\n"
    )


def denied(policy: CompiledPolicy, action: Any) -> bool:
    return any(f.decision is Decision.DENY for f in policy.evaluate(action).findings)


# --- shell: command patterns over analyzed commands ---------------------------

RM_RF_SPELLINGS = [
    cmd("rm", "-rf", "/tmp/logs"),
    cmd("rm", "-fr", "/tmp/logs"),
    cmd("rm", "-r", "-f", "/tmp/logs"),
    cmd("rm", "-R", "-f", "/tmp/logs"),
    cmd("rm", "--recursive", "--force", "/tmp/logs"),
    cmd("rm", "-rfv", "/tmp/logs"),
    cmd("/bin/rm", "-f", "-r", "/tmp/logs"),
    cmd("rm", "-rf", "/", wrappers=("sudo",)),
    cmd("rm", "-r", "-f", "/", wrappers=("bash -c",)),
]


@pytest.mark.parametrize("command", RM_RF_SPELLINGS, ids=lambda c: c.source)
def test_rm_rf_in_every_spelling(tmp_path: Path, command: Any) -> None:
    policy = shell_policy(tmp_path, "rm -rf")
    result = policy.evaluate(shell_view(command.source, command))
    (finding,) = result.findings
    assert finding.rule_id == "p" and "deny_if 'rm -rf'" in finding.reason


@pytest.mark.parametrize(
    "command",
    [
        cmd("rm", "-r", "/tmp/logs"),  # recursive but not forced
        cmd("rm", "-f", "/tmp/logs"),
        cmd("rmdir", "-p", "/tmp/logs"),
        cmd("echo", "rm -rf /"),  # text mentioning it, not running it
        cmd("grep", "-rf", "patterns.txt"),
    ],
    ids=lambda c: c.source,
)
def test_rm_rf_negatives(tmp_path: Path, command: Any) -> None:
    assert not denied(shell_policy(tmp_path, "rm -rf"), shell_view(command.source, command))


@pytest.mark.parametrize(
    ("pattern", "command", "expected"),
    [
        ("curl http", cmd("curl", "-s", "https://x.test/a"), True),
        ("curl http", cmd("curl", "HTTP://x.test/a"), True),
        ("curl http", cmd("curl", "ftp://x.test/a"), False),
        ("chmod 777", cmd("chmod", "777", "f"), True),
        ("chmod 777", cmd("chmod", "-R", "777", "/srv"), True),
        ("chmod 777", cmd("chmod", "7777", "f"), False),  # numbers are exact, not prefixes
        ("chmod 777", cmd("chmod", "755", "f"), False),
        ("kill -9 1", cmd("kill", "-9", "1"), True),
        ("kill -9 1", cmd("kill", "-9", "12"), False),
        ("kill -9 1", cmd("kill", "-KILL", "1"), True),
        ("kill -9 1", cmd("kill", "1"), False),
        ("pip install", cmd("pip", "install", "x"), True),
        ("pip install", cmd("pip3", "install", "x"), True),
        ("pip install", cmd("pip3.11", "install", "x"), True),
        ("pip install", cmd("pip", "download", "x"), False),
        ("python -c", cmd("python3", "-c", "print(1)"), True),
        ("mkfs", cmd("mkfs.ext4", "/dev/sda1"), True),
        ("mkfs", cmd("mkfifo", "p"), False),
        ("dd of=/dev/", cmd("dd", "if=/dev/zero", "of=/dev/sda"), True),
        ("dd of=/dev/", cmd("dd", "if=/dev/zero", "of=/tmp/img"), False),
        ("sudo", cmd("ls", wrappers=("sudo",)), True),
        ("sudo", cmd("sudo", "-l"), True),
        ("sudo", cmd("ls", "sudo"), False),
        ("bash -c", cmd("rm", "x", wrappers=("bash -c",)), True),
        ("bash -c", cmd("bash", "script.sh"), False),
        ("git push --force", cmd("git", "push", "--force", "origin"), True),
        ("git push --force", cmd("git", "push", "origin"), False),
    ],
)
def test_command_patterns(tmp_path: Path, pattern: str, command: Any, expected: bool) -> None:
    policy = shell_policy(tmp_path, pattern)
    assert denied(policy, shell_view(command.source, command)) is expected


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("buy bitcoin now", True),
        ("echo BITCOIN", True),
        ("echo bitcoins", False),  # whole words only
        ("echo mybitcoin", False),
    ],
)
def test_word_pattern(tmp_path: Path, command: str, expected: bool) -> None:
    policy = shell_policy(tmp_path, "bitcoin")
    words = command.split()
    assert denied(policy, shell_view(command, cmd(*words))) is expected


def test_path_pattern_in_a_shell_command(tmp_path: Path) -> None:
    policy = shell_policy(tmp_path, "/etc/")
    sneaky = cmd("cat", "/tmp/../etc//shadow")
    assert denied(policy, shell_view(sneaky.source, sneaky))
    harmless = cmd("cat", "/etcetera/x")
    assert not denied(policy, shell_view(harmless.source, harmless))


def test_without_the_analyzer_commands_are_still_read(tmp_path: Path) -> None:
    policy = shell_policy(tmp_path, "rm -rf")
    for text in ["rm -fr /tmp/x", "ls && sudo rm -r -f /x", "bash -c 'rm -R --force /'"]:
        assert denied(policy, shell_view(text, analyzed=False)), text
    assert not denied(policy, shell_view("rm -r /tmp/x", analyzed=False))


def test_shell_action_without_any_command_falls_back_to_text(tmp_path: Path) -> None:
    policy = shell_policy(tmp_path, "rm -rf")
    odd = view("execute_shell", {"script": "rm -rf /"})  # nothing extracted a command
    assert denied(policy, odd)


def test_wildcard_rule_reads_commands_in_any_action(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, "rules:\n  - {id: w, action_type: '*', deny_if: 'rm -rf'}\n")
    tool = view("run_tool", {"command": "rm -fr /"}, commands=("rm -fr /",))
    assert denied(policy, tool)


# --- regexes see every spelling ----------------------------------------------


@pytest.mark.parametrize("command", RM_RF_SPELLINGS[:6], ids=lambda c: c.source)
def test_regex_sees_canonical_spellings(tmp_path: Path, command: Any) -> None:
    policy = policy_from(
        tmp_path, "rules:\n  - {action_type: execute_shell, deny_regex: 'rm\\s+-rf'}\n"
    )
    assert denied(policy, shell_view(command.source, command))


def test_regex_on_other_actions_sees_paths_and_urls(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        "rules:\n  - {action_type: '*', require_approval_regex: '^https://[^/]*\\.internal/'}\n",
    )
    url = "https://db.internal/admin"
    api = view("call_external_api", {"target": url}, urls=(url,))
    assert policy.evaluate(api).decision is Decision.REQUIRE_APPROVAL
    other = "https://example.org/db.internal/"
    api = view("call_external_api", {"target": other}, urls=(other,))
    assert policy.evaluate(api).decision is Decision.ALLOW


# --- file paths ------------------------------------------------------------


def file_policy(tmp_path: Path, *patterns: str) -> CompiledPolicy:
    items = ", ".join(f"'{p}'" for p in patterns)
    return policy_from(
        tmp_path,
        f"rules:\n  - id: f\n    action_type: [modify_file, read_file]\n    deny_if: [{items}]\n",
    )


def write(path: str, **ctx: Any) -> Any:
    return view("modify_file", {"path": path}, ctx, paths=(path,))


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/etc/", "/etc/passwd", True),
        ("/etc/", "/etc", True),
        ("/etc/", "/etc/../etc/x", True),
        ("/etc/", "/tmp/../etc/passwd", True),
        ("/etc/", "//etc/./passwd", True),
        ("/etc/", "/etcetera/x", False),
        ("/etc/", "/tmp/etc/x", False),
        ("/etc/", "/etc/../tmp/x", False),
        ("/etc", "/ETC/passwd", True),  # deny patterns compare case-insensitively
        (".ssh", "/home/u/.ssh/authorized_keys", True),
        (".ssh", "/home/u/.sshd/x", False),
        (".ssh", "/home/u/not.ssh", False),
        ("id_rsa", "/home/u/.ssh/id_rsa", True),
        ("id_rsa", "/home/u/id_rsa.pub", True),
        ("id_rsa", "/home/u/my_id_rsa", False),
        (".env", "/app/.env", True),
        (".env", "/app/.env.local", True),
        (".env", "/app/.envrc", False),
        (".env", "/app/.environment", False),
        (".ssh/id_rsa", "/home/u/.ssh/id_rsa", True),
        (".ssh/id_rsa", "/home/u/.ssh/other/id_rsa", False),
        ("~/.aws", "~/.aws/credentials", True),
    ],
)
def test_path_patterns(tmp_path: Path, pattern: str, path: str, expected: bool) -> None:
    assert denied(file_policy(tmp_path, pattern), write(path)) is expected


def test_relative_paths_resolve_against_cwd(tmp_path: Path) -> None:
    policy = file_policy(tmp_path, "/etc/")
    assert denied(policy, write("../../etc/hosts", cwd="/srv/app"))
    assert not denied(policy, write("../../etc/hosts"))  # no cwd: cannot be placed


# --- allow_if: safe_paths ----------------------------------------------------

SAFE = "rules:\n  - id: safe\n    action_type: modify_file\n    allow_if: safe_paths\n"


@pytest.mark.parametrize(
    ("path", "safe_paths", "allowed"),
    [
        ("/tmp/x.txt", ["/tmp/"], True),
        ("/tmp/a/b/../c.txt", ["/tmp"], True),
        ("/tmp/../root/.bashrc", ["/tmp/"], False),
        ("/tmpfoo/x", ["/tmp"], False),
        ("/tmp", ["/tmp/"], True),
        ("/var/data/x", ["/tmp", "/var/data"], True),
        ("/TMP/x", ["/tmp"], False),  # the allow side compares exactly
        ("relative.txt", ["/tmp"], False),
        ("/tmp/x", "/tmp", True),  # one string is one safe path
    ],
)
def test_safe_paths(tmp_path: Path, path: str, safe_paths: Any, allowed: bool) -> None:
    result = policy_from(tmp_path, SAFE).evaluate(write(path, safe_paths=safe_paths))
    if allowed:
        assert result.allows == ("safe",) and result.findings == ()
    else:
        assert result.allows == ()
        assert [f.decision for f in result.findings] == [Decision.REQUIRE_APPROVAL]
        assert "outside the safe paths" in result.findings[0].reason


@pytest.mark.parametrize("ctx", [{}, {"safe_paths": 5}, {"safe_paths": [1]}])
def test_safe_paths_missing_or_malformed_requires_approval(tmp_path: Path, ctx: Any) -> None:
    result = policy_from(tmp_path, SAFE).evaluate(write("/tmp/x", **ctx))
    assert result.decision is Decision.REQUIRE_APPROVAL
    assert "agent_ctx.safe_paths" in result.findings[0].reason


def test_safe_paths_with_no_path_requires_approval(tmp_path: Path) -> None:
    result = policy_from(tmp_path, SAFE).evaluate(view("modify_file", {}, {"safe_paths": ["/"]}))
    assert result.decision is Decision.REQUIRE_APPROVAL


def test_safe_paths_for_shell_writes(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path, "rules:\n  - {id: w, action_type: execute_shell, allow_if: safe_paths}\n"
    )
    ctx = {"safe_paths": ["/tmp"]}
    inside = shell_view("echo > /tmp/x", cmd("echo"), agent_ctx=ctx, written=("/tmp/x",))
    result = policy.evaluate(inside)
    assert result.findings == () and result.allows == ()  # checked, never lifted
    outside = shell_view("echo > ~/.bashrc", cmd("echo"), agent_ctx=ctx, written=("/root/x",))
    assert policy.evaluate(outside).decision is Decision.REQUIRE_APPROVAL
    unknown = shell_view("echo > /tmp/x", agent_ctx=ctx, analyzed=False)
    assert "cannot be determined" in policy.evaluate(unknown).findings[0].reason


# --- URLs ------------------------------------------------------------------


def api_policy(tmp_path: Path, pattern: str) -> CompiledPolicy:
    return policy_from(
        tmp_path,
        f"rules:\n  - id: u\n    action_type: call_external_api\n    deny_if: '{pattern}'\n",
    )


def call(url: str) -> Any:
    return view("call_external_api", {"url": url}, urls=(url,))


@pytest.mark.parametrize(
    ("pattern", "url", "expected"),
    [
        ("stripe.com", "https://stripe.com/", True),
        ("stripe.com", "https://api.stripe.com/v1/payouts", True),
        ("stripe.com", "https://API.Stripe.COM./v1", True),
        ("stripe.com", "https://evilstripe.com/", False),
        ("stripe.com", "https://stripe.com.evil.io/", False),
        ("stripe.com", "https://stripe.com@evil.io/", False),  # userinfo is not the host
        ("stripe.com", "https://evil.io/?next=stripe.com", False),
        ("*.stripe.com", "https://stripe.com/", False),
        ("*.stripe.com", "https://api.stripe.com/", True),
        ("169.254.169.254", "http://169.254.169.254/latest/meta-data", True),
        ("https://api.stripe.com/v1", "https://api.stripe.com/v1/payouts", True),
        ("https://api.stripe.com/v1", "https://api.stripe.com:443/v1", True),
        ("https://api.stripe.com/v1", "https://api.stripe.com/v10", False),
        ("https://api.stripe.com/v1", "http://api.stripe.com/v1", False),
        ("https://api.stripe.com/v1", "https://api.stripe.com.evil.io/v1", False),
        ("https://api.stripe.com/v1", "https://api.stripe.com:8443/v1", False),
    ],
)
def test_url_patterns(tmp_path: Path, pattern: str, url: str, expected: bool) -> None:
    assert denied(api_policy(tmp_path, pattern), call(url)) is expected


def test_text_patterns_keep_the_seed_semantics(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path, "rules:\n  - {action_type: send_message, deny_if: 'Wire Transfer'}\n"
    )
    assert denied(policy, view("send_message", {"body": "please  wire\ntransfer now"}))
    assert not denied(policy, view("send_message", {"body": "wire the transfer"}))


SEED_DENY_IF = """\
rules:
  - action_type: execute_shell
    deny_if: ["rm -rf", "sudo", "mkfs", "dd ", "chmod 777", "chown ", "curl http",
              "pip install", "/etc/", ".ssh", "id_rsa", ".env", "bitcoin"]
"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rm -fr build", True),
        ("sudo -n true", True),
        ("mkfs.xfs /dev/sdb", True),
        ("dd if=a of=b", True),
        ("chmod 777 run.sh", True),
        ("chown root:root f", True),
        ("curl -fsSL HTTPS://get.example", True),
        ("pip3 install requests", True),
        ("cat /etc//passwd", True),
        ("cat ~/.ssh/id_rsa", True),
        ("cat id_rsa.pub", True),
        ("source .env.local", True),
        ("echo buy Bitcoin", True),
        ("ls -la", False),
        ("cat .environment", False),
        ("chmod 755 run.sh", False),
        ("echo etc", False),
    ],
)
def test_the_seed_deny_if_list_is_read_semantically(
    tmp_path: Path, text: str, expected: bool
) -> None:
    policy = policy_from(tmp_path, SEED_DENY_IF)
    assert denied(policy, shell_view(text, analyzed=False)) is expected


def test_the_seed_deny_if_list_lints_clean(tmp_path: Path) -> None:
    assert lint_policy(write_policy(tmp_path, SEED_DENY_IF)).clean
