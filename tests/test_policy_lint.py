"""lint_policy: compiler errors, and warnings for rules that do not mean what they say."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_policy_support import write_policy

from canopy.decisions.policy import (
    DEFAULT_POLICY,
    PRODUCTION_POLICY,
    format_issue,
    lint_policy,
    load_policy,
)


def warnings_of(tmp_path: Path, text: str) -> list[str]:
    report = lint_policy(write_policy(tmp_path, text, "lint.yaml"))
    assert report.errors == []
    return [format_issue(w).split("lint.yaml:", 1)[1] for w in report.warnings]


@pytest.mark.parametrize("path", [DEFAULT_POLICY, PRODUCTION_POLICY], ids=["default", "production"])
def test_bundled_policies_lint_clean_and_compile(path: Path) -> None:
    report = lint_policy(path)
    assert report.errors == [] and report.warnings == [], [
        format_issue(i) for i in report.errors + report.warnings
    ]
    assert report.clean
    policy = load_policy(path)
    assert policy.snapshot.version and len(policy.rules) >= 5


def test_lint_reports_errors_instead_of_raising(tmp_path: Path) -> None:
    report = lint_policy(write_policy(tmp_path, "rules:\n  - {deny_regex: '(?<=a)b'}\n"))
    (error,) = report.errors
    assert (error.line, error.column, error.level) == (2, 18, "error")
    assert report.warnings == [] and not report.clean


def test_lint_of_missing_file(tmp_path: Path) -> None:
    report = lint_policy(tmp_path / "nope.yaml")
    assert "cannot read policy" in report.errors[0].message


def test_unknown_action_type_never_matches(tmp_path: Path) -> None:
    warnings = warnings_of(
        tmp_path, "rules:\n  - {id: r, action_type: [execute_shel, send_message], deny: true}\n"
    )
    assert warnings == [
        "2:27: warning: action_type 'execute_shel' in rule 'r' is not a canonical action type, "
        "so it never matches (did you mean 'execute_shell'?)"
    ]


def test_condition_and_its_negation(tmp_path: Path) -> None:
    text = """\
rules:
  - id: never
    action_type: send_message
    when_all:
      - 'agent_ctx.env == "prod"'
      - 'agent_ctx.env != "prod"'
    deny: true
  - id: never-either
    action_type: send_message
    when_all: ['exists agent_ctx.x', 'not (exists agent_ctx.x)']
    deny: true
  - id: excluded
    action_type: send_message
    when_all: ['agent_ctx.tier in ["a"]']
    when_not: ['agent_ctx.tier in ["a"]']
    deny: true
  - id: fine
    action_type: send_message
    when_all: ['agent_ctx.env == "prod"', 'agent_ctx.env != "dev"']
    deny: true
"""
    warnings = warnings_of(tmp_path, text)
    assert [w.split(": warning")[0] for w in warnings] == ["6:9", "10:38", "15:16"]
    assert (
        "requires both 'agent_ctx.env == \"prod\"' and 'agent_ctx.env != \"prod\"'" in (warnings[0])
    )
    assert "both requires and excludes" in warnings[2]


def test_allow_without_action_type(tmp_path: Path) -> None:
    warnings = warnings_of(
        tmp_path, "rules:\n  - id: all\n    allow: true\n  - {action_type: '*', allow: true}\n"
    )
    assert [w.split(": warning")[0] for w in warnings] == ["3:5", "4:24"]
    assert "'allow: true' for every action type" in warnings[0]


def test_regex_matching_the_empty_string(tmp_path: Path) -> None:
    text = """\
rules:
  - action_type: send_message
    deny_regex: ['secret', 'x*']
    when_all: ['payload matches "a|"']
"""
    warnings = warnings_of(tmp_path, text)
    assert [w.split(": warning")[0] for w in warnings] == ["3:28", "4:16"]
    assert "'x*' in rule 'policy.rule1' matches the empty string" in warnings[0]


def test_duplicate_patterns(tmp_path: Path) -> None:
    text = """\
rules:
  - action_type: execute_shell
    deny_if: ['rm -rf', 'mkfs']
    require_approval_if: ['rm  -rf', 'rm -fr']
    deny_regex: ['a', 'a']
"""
    warnings = warnings_of(tmp_path, text)
    assert warnings == [
        "4:27: warning: duplicate pattern 'rm  -rf' in rule 'policy.rule1' (also at line 3)",
        "5:23: warning: duplicate regex 'a' in rule 'policy.rule1' (also at line 5)",
    ]


def test_textual_patterns(tmp_path: Path) -> None:
    text = """\
rules:
  - id: msg
    action_type: send_message
    deny_if: password
  - id: api
    action_type: call_external_api
    deny_if: ['stripe.com', 'payouts', 'https://x.test/a']
  - id: file
    action_type: modify_file
    deny_if: ['.ssh', 'my secrets']
  - id: shell
    action_type: execute_shell
    deny_if: ['bitcoin', 'rm -rf', '/etc/']
  - id: any
    action_type: '*'
    deny_if: 'whatever you like'
"""
    warnings = warnings_of(tmp_path, text)
    assert [w.split(" in rule")[0] for w in warnings] == [
        "4:14: warning: pattern 'password'",
        "7:29: warning: pattern 'payouts'",
        "10:23: warning: pattern 'my secrets'",
    ]
    assert "has no text meaning" in warnings[0] or "plain text" in warnings[0]


def test_unknown_risk_value(tmp_path: Path) -> None:
    text = (
        "rules:\n  - action_type: execute_shell\n"
        '    when_any: [\'risk in ["network", "nuclear"]\']\n    deny: true\n'
    )
    (warning,) = warnings_of(tmp_path, text)
    assert warning.startswith("3:16: warning: risk 'nuclear' in rule 'policy.rule1'")


def test_warning_format() -> None:
    from canopy.decisions.policy import PolicyIssue

    issue = PolicyIssue("p.yaml", 3, 7, "something odd", "r", "warning")
    assert format_issue(issue) == "p.yaml:3:7: warning: something odd"
    assert format_issue(PolicyIssue(None, 0, 0, "x")) == "<policy>: error: x"
