"""Malformed policies: every error names file, line and column, and all are reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_policy_support import write_policy

from canopy.decisions.policy import PolicyError, compile_policy_text, format_issue, load_policy
from canopy.errors import MalformedInputError


def errors_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        compile_policy_text(text, file="policy.yaml")
    return [format_issue(issue) for issue in caught.value.issues]


def test_unknown_key_with_suggestion() -> None:
    text = """\
rules:
  - id: no-rm
    action_type: execute_shell
    deny_regexp: 'rm'
"""
    assert errors_of(text) == [
        "policy.yaml:2:5: error: rule 'no-rm' has no decision key (one of deny, deny_if, "
        "deny_regex, require_approval, require_approval_if, require_approval_regex, allow_if, "
        "allow)",
        "policy.yaml:4:5: error: unknown key 'deny_regexp' in rule 'no-rm' "
        "(did you mean 'deny_regex'?)",
    ]


def test_wrong_type() -> None:
    text = "rules:\n  - id: t\n    action_type: execute_shell\n    deny_if: 5\n"
    assert errors_of(text) == [
        "policy.yaml:4:14: error: 'deny_if' in rule 't' must be a string or a list of "
        "non-empty strings, not an integer"
    ]


def test_lookahead_is_an_error_not_a_skipped_rule() -> None:
    text = "rules:\n  - id: la\n    action_type: execute_shell\n    deny_regex: ['ok', '(?=x)']\n"
    (error,) = errors_of(text)
    assert error.startswith("policy.yaml:4:24: error: deny_regex in rule 'la': RE2 cannot ")
    assert "'(?=x)'" in error and "lookahead" in error


def test_backreference_is_an_error() -> None:
    text = "rules:\n  - id: br\n    require_approval_regex: '(a)\\1'\n"
    (error,) = errors_of(text)
    assert error.startswith("policy.yaml:3:29: error: require_approval_regex in rule 'br'")
    assert "backreferences" in error


def test_bad_condition_points_into_the_condition() -> None:
    text = """\
rules:
  - id: c
    action_type: execute_shell
    when_all:
      - 'agent_ctx.env = "x"'
    deny: true
"""
    # column 24 is the '=' itself: the quote is at 9, the condition starts at 10
    assert errors_of(text) == [
        "policy.yaml:5:24: error: bad condition in when_all of rule 'c': unexpected '='"
    ]


@pytest.mark.parametrize(
    ("condition", "column", "message"),
    [
        ('agent_ctx.env == "x" and', 41, "expected an operand"),
        ("bogus.x == 1", 17, "unknown operand 'bogus'"),
        ('payload == "x"', 17, "bare 'payload' is the payload text"),
        ("agent_ctx.env", 30, "expected an operator after 'agent_ctx.env'"),
        ('agent_ctx.env == "x', 34, "unterminated string"),
        ("(agent_ctx.a == 1", 34, "expected ')'"),
        ("agent_ctx.a in 1", 32, "needs a list"),
        ("agent_ctx.a > true", 31, "needs a number or a string"),
        ("host == path", 25, "'path' is a collection"),
        ("amount.x > 1", 17, "'amount' has no fields"),
        ("agent_ctx == 1", 17, "use agent_ctx.<key>"),
    ],
)
def test_condition_syntax_errors(condition: str, column: int, message: str) -> None:
    text = f"rules:\n  - when_all: ['{condition}']\n    deny: true\n"
    (error,) = errors_of(text)
    assert error.startswith(f"policy.yaml:2:{column}: error: bad condition in when_all")
    assert message in error


def test_empty_condition() -> None:
    assert errors_of("rules:\n  - when_all: ['']\n    deny: true\n") == [
        "policy.yaml:2:16: error: 'when_all' in rule 'policy.rule1' must be a string or a "
        "list of non-empty strings, not an empty string"
    ]


def test_bad_regex_inside_a_condition() -> None:
    (error,) = errors_of(
        "rules:\n  - when_all: ['agent_ctx.x matches \"(?=a)\"']\n    deny: true\n"
    )
    assert "RE2 cannot compile '(?=a)'" in error and error.startswith("policy.yaml:2:")


def test_duplicate_mapping_key() -> None:
    text = """\
rules:
  - id: d
    action_type: execute_shell
    deny: true
    action_type: modify_file
"""
    assert errors_of(text) == [
        "policy.yaml:5:5: error: duplicate key 'action_type' (first at line 3)"
    ]


def test_duplicate_top_level_key() -> None:
    text = "rules:\n  - {deny: true}\nrules:\n  - {allow: true}\n"
    assert errors_of(text) == ["policy.yaml:3:1: error: duplicate key 'rules' (first at line 1)"]


def test_duplicate_rule_id() -> None:
    text = "rules:\n  - id: same\n    deny: true\n  - id: same\n    require_approval: true\n"
    assert errors_of(text) == [
        "policy.yaml:4:5: error: duplicate rule id 'same' (first used at line 2)"
    ]


def test_default_id_collision_is_a_duplicate() -> None:
    text = "rules:\n  - {deny: true}\n  - {id: policy.rule1, deny: true}\n"
    assert errors_of(text) == [
        "policy.yaml:3:6: error: duplicate rule id 'policy.rule1' (first used at line 2)"
    ]


def test_rule_without_decision() -> None:
    text = "rules:\n  - id: lonely\n    action_type: execute_shell\n    reason: nothing\n"
    (error,) = errors_of(text)
    assert error.startswith("policy.yaml:2:5: error: rule 'lonely' has no decision key")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules: []\n", "policy.yaml:1:8: error: 'rules' is an empty list"),
        ("version: '1'\n", "policy.yaml:1:1: error: missing required top-level key 'rules'"),
        ("", "policy.yaml:1:1: error: empty policy"),
        ("- deny: true\n", "policy.yaml:1:1: error: a policy is a mapping with 'rules:'"),
        ("rules: {deny: true}\n", "policy.yaml:1:8: error: 'rules' must be a list, not a mapping"),
        ("rules:\n  - deny\n", "policy.yaml:2:5: error: rule 1 must be a mapping, not a string"),
    ],
)
def test_empty_or_missing_rules(text: str, expected: str) -> None:
    assert errors_of(text)[0].startswith(expected)


def test_unknown_top_level_key() -> None:
    assert errors_of("rule:\n  - deny: true\n")[0] == (
        "policy.yaml:1:1: error: unknown top-level key 'rule' (did you mean 'rules'?)"
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{id: x, deny: true, allow: true}", "2:13: error: rule 'x' combines 'allow' and 'deny'"),
        (
            "{id: x, require_approval: true, require_approval_if: curl}",
            "2:37: error: rule 'x' combines 'require_approval' and 'require_approval_if'",
        ),
        ("{id: x, allow: true, allow_if: safe_paths}", "2:26: error: rule 'x' combines 'allow'"),
        ("{id: x, deny: false}", "2:19: error: 'deny' in rule 'x' must be true"),
        ("{id: x, allow: yes please}", "2:20: error: 'allow' in rule 'x' must be true"),
        ("{id: x, deny_if: []}", "2:22: error: 'deny_if' in rule 'x' is an empty list"),
        ("{id: x, deny_if: ['']}", "2:23: error: 'deny_if' in rule 'x' must be a string"),
        ("{id: x, deny: true, severity: urgent}", "2:35: error: 'severity' in rule 'x' must be"),
        ("{id: x, deny: true, mode: shade}", "2:31: error: 'mode' in rule 'x' must be"),
        (
            "{id: x, action_type: modify_file, allow_if: safe_path}",
            "2:49: error: 'allow_if' in rule 'x' must be 'safe_paths', not 'safe_path' "
            "(did you mean 'safe_paths'?)",
        ),
        (
            "{id: x, action_type: send_message, allow_if: safe_paths}",
            "2:50: error: allow_if: safe_paths in rule 'x' judges file writes",
        ),
        ("{id: 7, deny: true}", "2:10: error: 'id' in rule 1 must be a string, not an integer"),
        ("{id: ' x', deny: true}", "2:6: error: rule id ' x' is blank or padded"),
        ("{action_type: [], deny: true}", "2:19: error: 'action_type' in rule 'policy.rule1'"),
        ("{action_type: 5, deny: true}", "2:19: error: 'action_type' in rule 'policy.rule1'"),
    ],
)
def test_rule_key_errors(rule: str, expected: str) -> None:
    assert errors_of(f"rules:\n  - {rule}\n")[0].startswith(f"policy.yaml:{expected}")


def test_top_level_value_types() -> None:
    assert errors_of("version: 1.2\nrules:\n  - {deny: true}\n") == [
        "policy.yaml:1:10: error: 'version' in the policy must be a string, not a number (quote it)"
    ]
    assert errors_of("mode: shade\nrules:\n  - {deny: true}\n")[0].startswith(
        "policy.yaml:1:7: error: 'mode' in the policy must be 'enforce' or 'shadow'"
    )


def test_invalid_yaml_has_a_position() -> None:
    (error,) = errors_of("rules:\n  - id: x\n   deny: true\n")
    assert error.startswith("policy.yaml:3:4: error: invalid YAML")


def test_every_error_is_reported_at_once() -> None:
    text = """\
rules:
  - id: a
    deny_iff: x
  - id: b
    deny_regex: '(?!x)'
  - id: c
    when_all: 'agent_ctx.x =! 1'
    deny: true
"""
    errors = errors_of(text)
    assert [e.split(": error")[0] for e in errors] == [  # in file order
        "policy.yaml:2:5",  # rule a has no decision ...
        "policy.yaml:3:5",  # ... because its key is misspelled
        "policy.yaml:5:17",  # lookahead
        "policy.yaml:7:28",  # '=' then '!': the tokenizer stops at '='
    ]


def test_policy_error_is_a_malformed_input_error(tmp_path: Path) -> None:
    path = write_policy(tmp_path, "rules: []\n")
    with pytest.raises(MalformedInputError) as caught:
        load_policy(path)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{path.resolve()}:1:8: error:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "absent.yaml")
    (issue,) = caught.value.issues
    assert issue.line == 0 and "cannot read policy" in issue.message
    assert format_issue(issue).startswith(f"{tmp_path / 'absent.yaml'}: error: cannot read")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("rules:\n  - {deny_if: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(PolicyError, match="not UTF-8"):
        load_policy(path)
