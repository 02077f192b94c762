"""One credential table for the whole firewall.

The shell analyzer and the path analyzer used to keep separate lists of secret
files, and they drifted: ``cat .env`` was allowed while ``read_file .env`` was
denied, and ``read_file /proc/1/environ`` was allowed while ``cat`` of it was
denied. Now the shell analyzer asks the path analyzer; these tests pin the
agreement on every pattern of the table and on the decisions users see.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from canopy import authorize_action
from canopy.decisions.analyzers.paths import (
    CREDENTIAL_NAMES,
    HOME_CREDENTIALS,
    SYSTEM_CREDENTIALS,
    PathClass,
    path_classes,
)
from canopy.decisions.analyzers.shell_paths import path_info

HOME = "/home/agent"


def example(pattern: str) -> str:
    """A concrete path a table pattern matches."""
    return pattern.replace("**", "deep/file").replace("*", "x")


def table_examples() -> list[str]:
    paths = [example(p) for p in SYSTEM_CREDENTIALS]
    for pattern in HOME_CREDENTIALS:
        paths += [f"{HOME}/{example(pattern)}", f"/home/other/{example(pattern)}"]
    paths += [f"/srv/app/{example(name)}" for name in CREDENTIAL_NAMES]
    return paths


NOT_SECRETS = [
    f"{HOME}/.ssh/id_ed25519.pub",
    "/srv/app/.env.example",
    "/srv/app/README.md",
    "/etc/passwd",
    "/proc/1/status",
    f"{HOME}/project/src/keys.py",
]


@pytest.mark.parametrize("path", table_examples())
def test_every_table_entry_is_a_secret_to_both_analyzers(path: str) -> None:
    assert PathClass.CREDENTIAL in path_classes(path, home=HOME), path
    assert path_info(path, glob=False, home=HOME, workspace=None).credential, path


@pytest.mark.parametrize("path", NOT_SECRETS)
def test_ordinary_files_are_not_secrets_to_either(path: str) -> None:
    assert PathClass.CREDENTIAL not in path_classes(path, home=HOME)
    assert not path_info(path, glob=False, home=HOME, workspace=None).credential


@pytest.mark.parametrize(
    "path",
    [
        "/srv/app/.env",
        "/proc/1/environ",
        "/run/secrets/db_password",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "/srv/app/keystore.jks",
    ],
)
def test_shell_and_read_file_decide_alike(path: str, tmp_path: Path) -> None:
    ledger = tmp_path / "audit.log"
    ctx = {"public_key": "pk-credentials", "cwd": "/srv/app"}
    by_shell = authorize_action(
        ctx, "execute_shell", {"command": f"cat {path}"}, audit_log_path=ledger
    )
    by_path = authorize_action(ctx, "read_file", {"path": path}, audit_log_path=ledger)
    assert by_shell["decision"] == by_path["decision"] == "DENY"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("git diff --no-index ~/.ssh/id_ed25519 /dev/null", "DENY"),
        ("git commit -F ~/.aws/credentials", "DENY"),
        ("git commit --file=/home/agent/.netrc", "DENY"),
        ("git hash-object -w ~/.ssh/id_rsa", "DENY"),
        ("git show HEAD:.env", "DENY"),
        ("git add .env", "DENY"),
        ("cat .env", "DENY"),
        ("tar czf /tmp/keys.tgz ~/.ssh", "DENY"),
        ("git diff --no-index a.txt b.txt", "ALLOW"),
        ("git log -- src/app.py", "ALLOW"),
        ("git show HEAD:README.md", "ALLOW"),
        ("git add .env.example", "ALLOW"),
        ("cat ~/.ssh/id_ed25519.pub", "ALLOW"),
        ("ls -la ~/.ssh", "ALLOW"),
    ],
)
def test_credential_reads_through_any_program(command: str, expected: str, tmp_path: Path) -> None:
    ctx = {"public_key": "pk-credentials", "home": HOME}
    result = authorize_action(
        ctx, "execute_shell", {"command": command}, audit_log_path=tmp_path / "a.log"
    )
    assert result["decision"] == expected, (command, result["reason"])
