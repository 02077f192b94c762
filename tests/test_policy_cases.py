"""run_policy_cases: expected decisions, with the policy alone or a supplied decide()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_policy_support import write_policy

from canopy.decisions.model import Decision
from canopy.decisions.policy import PolicyError, run_policy_cases

CASES = """\
- name: rm -rf is denied
  action_type: execute_shell
  payload: {command: "rm -rf /tmp/logs"}
  agent_ctx: {env: production}
  expect: DENY
- name: listing is fine
  action_type: Execute Shell
  payload: {command: "ls -la"}
  expect: allow
- name: writes under safe paths
  action_type: modify_file
  payload: {path: /tmp/out.txt}
  agent_ctx: {safe_paths: [/tmp]}
  expect: ALLOW
- name: a wrong expectation
  action_type: call_external_api
  payload: {url: "https://api.example/"}
  expect: ALLOW
"""


def test_cases_against_the_default_policy(tmp_path: Path) -> None:
    results = run_policy_cases(write_policy(tmp_path, CASES, "cases.yaml"))
    assert [(r.case.name, r.passed) for r in results] == [
        ("rm -rf is denied", True),
        ("listing is fine", True),
        ("writes under safe paths", True),
        ("a wrong expectation", False),
    ]
    assert "shell.destructive" in results[0].detail
    assert results[2].detail == "allowed by file.safe-paths"
    assert results[3].actual is Decision.REQUIRE_APPROVAL
    assert results[3].case.line == 15


def test_cases_against_a_given_policy(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "rules:\n  - {id: m, action_type: send_message, deny: true}\n")
    cases = write_policy(
        tmp_path,
        "cases:\n  - {action_type: send_message, expect: DENY}\n"
        "  - {action_type: execute_shell, payload: {command: rm -rf /}, expect: ALLOW}\n",
        "cases.yaml",
    )
    results = run_policy_cases(cases, policy)
    assert [r.passed for r in results] == [True, True]
    assert results[0].case.name == "case 1"


def test_a_supplied_decide_is_called_like_authorize_action(tmp_path: Path) -> None:
    calls: list[dict[str, Any]] = []

    def decide(**kwargs: Any) -> Any:
        calls.append(kwargs)
        answers = {
            "execute_shell": {"decision": "DENY", "rule_id": "x", "reason": "why"},
            "call_external_api": "REQUIRE_APPROVAL",
        }
        return answers.get(kwargs["action_type"], Decision.ALLOW)

    results = run_policy_cases(write_policy(tmp_path, CASES, "cases.yaml"), decide=decide)
    assert calls[0] == {
        "agent_ctx": {"env": "production"},
        "action_type": "execute_shell",
        "action_payload": {"command": "rm -rf /tmp/logs"},
    }
    assert calls[1]["action_type"] == "Execute Shell"  # normalizing is decide's job
    assert [r.actual for r in results] == [
        Decision.DENY,
        Decision.ALLOW,
        Decision.ALLOW,
        Decision.REQUIRE_APPROVAL,
    ]
    assert results[0].detail == "x why"
    assert [r.passed for r in results] == [True, True, True, False]


def test_a_crashing_decide_fails_that_case_only(tmp_path: Path) -> None:
    def decide(**kwargs: Any) -> str:
        if kwargs["action_type"] == "modify_file":
            raise RuntimeError("boom")
        return "ALLOW"

    results = run_policy_cases(write_policy(tmp_path, CASES, "cases.yaml"), decide=decide)
    assert [r.passed for r in results] == [False, True, False, True]
    assert results[2].actual is None and results[2].detail == "RuntimeError: boom"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("- {action_type: send_message, expect: MAYBE}\n", "1:39"),
        ("- {expect: DENY}\n", "1:3"),
        ("- {action_type: x, expect: DENY, payload: [1]}\n", "1:43"),
        ("- {action_type: x, expect: DENY, extra: 1}\n", "1:34"),
        ("[]\n", "1:1"),
        ("- just a string\n", "1:3"),
    ],
)
def test_malformed_cases(tmp_path: Path, text: str, where: str) -> None:
    path = write_policy(tmp_path, text, "cases.yaml")
    with pytest.raises(PolicyError) as caught:
        run_policy_cases(path)
    assert str(caught.value).startswith(f"{path}:{where}: error:")
