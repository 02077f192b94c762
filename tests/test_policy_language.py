"""The policy language: the seed grammar verbatim, conditions, combinations, modes."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_policy_support import Money, cmd, policy_from, shell_view, view

from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.model import Decision, Severity
from canopy.decisions.policy import compile_policy_text

SEED = """\
rules:
  - action_type: "execute_shell"
    when_all:
      - 'agent_ctx.env == "production"'
      - 'payload contains "rm"'
    deny_regex: 'rm\\s+-rf'
  - action_type: "call_external_api"
    require_approval: true
"""

PROD = {"env": "production"}


# --- the seed examples, verbatim --------------------------------------------


def test_seed_when_all_rm_example_denies_in_production(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, SEED)
    result = policy.evaluate(shell_view("rm -rf /tmp/logs", agent_ctx=PROD, analyzed=False))
    assert [f.rule_id for f in result.findings] == ["policy.rule1"]
    finding = result.findings[0]
    assert finding.decision is Decision.DENY
    assert "rm\\s+-rf" in finding.reason and 'agent_ctx.env == "production"' in finding.reason


def test_seed_when_all_needs_every_condition(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, SEED)
    staging = shell_view("rm -rf /tmp/logs", agent_ctx={"env": "staging"}, analyzed=False)
    assert policy.evaluate(staging).findings == ()
    no_rm = shell_view("ls -la", agent_ctx=PROD, analyzed=False)
    assert policy.evaluate(no_rm).findings == ()


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("rm -fr /tmp/logs", cmd("rm", "-fr", "/tmp/logs")),
        ("rm -r -f /tmp/logs", cmd("rm", "-r", "-f", "/tmp/logs")),
        ("bash -c 'rm -r -f /'", cmd("rm", "-r", "-f", "/", wrappers=("bash -c",))),
    ],
)
def test_seed_regex_also_sees_the_other_spellings(tmp_path: Path, text: str, command: Any) -> None:
    policy = policy_from(tmp_path, SEED)
    result = policy.evaluate(shell_view(text, command, agent_ctx=PROD))
    assert [f.decision for f in result.findings] == [Decision.DENY]


def test_seed_require_approval_example(tmp_path: Path) -> None:
    policy = policy_from(tmp_path, SEED)
    api = view("call_external_api", {"url": "https://x.test/"}, urls=("https://x.test/",))
    result = policy.evaluate(api)
    assert [(f.rule_id, f.decision) for f in result.findings] == [
        ("policy.rule2", Decision.REQUIRE_APPROVAL)
    ]
    assert policy.evaluate(view("send_message", {"to": "x"})).findings == ()


# --- conditions ------------------------------------------------------------


def holds(condition: str, action: Any | None = None, **ctx: Any) -> bool:
    """Does ``condition`` hold for ``action`` (default: a send_message with ctx)?"""
    policy = compile_policy_text(
        "rules:\n  - action_type: '*'\n    when_all:\n      - "
        + _yaml_quote(condition)
        + "\n    deny: true\n"
    )
    target = action if action is not None else view("send_message", {"to": "x"}, ctx)
    return bool(policy.evaluate(target).findings)


def _yaml_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.parametrize(
    ("condition", "ctx", "expected"),
    [
        ('agent_ctx.env == "production"', {"env": "production"}, True),
        ('agent_ctx.env == "production"', {"env": "Production"}, False),
        ('agent_ctx.env != "production"', {"env": "staging"}, True),
        ('agent_ctx.env != "production"', {"env": "production"}, False),
        # missing behaves as null: == is false, != is true, == null is true
        ('agent_ctx.env == "production"', {}, False),
        ('agent_ctx.env != "production"', {}, True),
        ("agent_ctx.env == null", {}, True),
        ("agent_ctx.env == null", {"env": None}, True),
        ("agent_ctx.env != null", {"env": "x"}, True),
        ("exists agent_ctx.env", {"env": "x"}, True),
        ("exists agent_ctx.env", {}, False),
        ("exists agent_ctx.env", {"env": None}, False),
        ("not exists agent_ctx.env", {}, True),
        # typed comparisons
        ("agent_ctx.limit > 10", {"limit": 11}, True),
        ("agent_ctx.limit > 10", {"limit": 10}, False),
        ("agent_ctx.limit >= 10", {"limit": 10}, True),
        ("agent_ctx.limit < 10", {"limit": 9.5}, True),
        ("agent_ctx.limit <= 10.5", {"limit": Decimal("10.50")}, True),
        ("agent_ctx.limit == 10.5", {"limit": 10.5}, True),
        ("agent_ctx.limit == 10", {"limit": Decimal("10.0")}, True),
        ("agent_ctx.limit > 10", {"limit": "11"}, False),  # string vs number: false
        ('agent_ctx.limit == "10"', {"limit": 10}, False),
        ("agent_ctx.limit < 10", {}, False),  # missing: ordering is false
        ("agent_ctx.limit > 10", {"limit": None}, False),
        ("agent_ctx.flag == 1", {"flag": True}, False),  # bools are not numbers
        ("agent_ctx.flag == true", {"flag": True}, True),
        ("agent_ctx.flag == false", {"flag": 0}, False),
        ('agent_ctx.name < "m"', {"name": "alice"}, True),
        ('agent_ctx.name > "m"', {"name": "alice"}, False),
        # membership
        ('agent_ctx.tier in ["gold", "silver"]', {"tier": "gold"}, True),
        ('agent_ctx.tier in ["gold", "silver"]', {"tier": "bronze"}, False),
        ('agent_ctx.tier not in ["gold", "silver"]', {"tier": "bronze"}, True),
        ('agent_ctx.tier not in ["gold", "silver"]', {}, True),
        ("agent_ctx.level in [1, 2]", {"level": 2.0}, True),
        # contains: list membership, or case-insensitive substring of a string
        ('agent_ctx.tags contains "ops"', {"tags": ["dev", "ops"]}, True),
        ('agent_ctx.tags contains "op"', {"tags": ["dev", "ops"]}, False),
        ('agent_ctx.team contains "OPS"', {"team": "devops"}, True),
        ('agent_ctx.team contains "x"', {}, False),
        # startswith / endswith / matches
        ('agent_ctx.team startswith "dev"', {"team": "devops"}, True),
        ('agent_ctx.team endswith "dev"', {"team": "devops"}, False),
        ('agent_ctx.team matches "^dev(ops)?$"', {"team": "devops"}, True),
        ('agent_ctx.team matches "^ops"', {"team": "devops"}, False),
        ('agent_ctx.team matches "x"', {"team": 5}, False),
        # dotted paths and list indexes
        ("agent_ctx.limits.daily > 5", {"limits": {"daily": 6}}, True),
        ('agent_ctx.owners.0 == "ana"', {"owners": ["ana", "bo"]}, True),
        ('agent_ctx.owners.5 == "ana"', {"owners": ["ana"]}, False),
        ("agent_ctx.limits.daily.x == 1", {"limits": {"daily": 6}}, False),
        # and / or / not / parentheses; "and" binds tighter than "or"
        ("agent_ctx.a == 1 and agent_ctx.b == 2", {"a": 1, "b": 2}, True),
        ("agent_ctx.a == 1 and agent_ctx.b == 2", {"a": 1, "b": 3}, False),
        ("agent_ctx.a == 1 or agent_ctx.b == 2", {"a": 0, "b": 2}, True),
        ("not agent_ctx.a == 1", {"a": 1}, False),
        ("agent_ctx.a == 1 or agent_ctx.b == 2 and agent_ctx.c == 3", {"a": 1}, True),
        ("(agent_ctx.a == 1 or agent_ctx.b == 2) and agent_ctx.c == 3", {"a": 1}, False),
        ("not (agent_ctx.a == 1 or agent_ctx.b == 2)", {"a": 0, "b": 0}, True),
        # an operand on the right
        ("agent_ctx.spent > agent_ctx.limit", {"spent": 12, "limit": 10}, True),
        ("agent_ctx.spent > agent_ctx.limit", {"spent": 12}, False),
        ('action_type == "send_message"', {}, True),
        ('agent_ctx.quote == "it\'s"', {"quote": "it's"}, True),
        ("agent_ctx.quote == 'it\\'s'", {"quote": "it's"}, True),
        ('agent_ctx.path == "C:\\\\x"', {"path": "C:\\x"}, True),
    ],
)
def test_condition(condition: str, ctx: dict[str, Any], expected: bool) -> None:
    assert holds(condition, **ctx) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ('payload contains "RM -RF"', True),  # case-insensitive
        ('payload contains "rm -rf /data"', True),  # whitespace runs collapse
        ('payload contains "rm -rf /etc"', False),
        ('payload matches "rm\\s+-rf"', True),
        ('payload matches "^rm"', False),  # payload text is JSON: starts with {
        ('payload.command startswith "rm"', True),
        ('payload.command endswith "/data"', True),
        ('payload.command == "rm   -rf /data"', True),
        ("payload.options.force == true", True),
        ("payload.options.force != true", False),
        ('payload.missing != "x"', True),
    ],
)
def test_payload_conditions(condition: str, expected: bool) -> None:
    action = view("send_message", {"command": "rm   -rf /data", "options": {"force": True}})
    assert holds(condition, action) is expected


def test_contains_normalizes_unicode_compatibility_forms() -> None:
    fullwidth = view("send_message", {"text": "please ｒｍ －ｒｆ it"})
    assert holds('payload contains "rm -rf"', fullwidth)


def test_amount_and_currency() -> None:
    pay = view("spend_money", {"amount": "150 USD"}, money=Money(Decimal("150.00"), "USD"))
    assert holds("amount > 100", pay)
    assert holds("amount == 150", pay)
    assert not holds("amount > 150", pay)
    assert holds('currency == "USD"', pay)
    assert not holds("amount > 100", view("spend_money", {"amount": "?"}))  # no Money parsed


def test_collection_operands_are_true_if_any_element_is() -> None:
    urls = ("https://api.stripe.com/v1/x", "https://example.org/")
    api = view("call_external_api", {"urls": list(urls)}, urls=urls)
    assert holds('host == "example.org"', api)
    assert holds('host endswith ".stripe.com"', api)
    assert holds('host in ["example.org"]', api)
    assert not holds('host != "example.org"', api)  # negation of "any host is example.org"
    assert holds('host != "example.com"', api)
    assert holds("exists host", api)
    assert not holds("exists host", view("call_external_api", {}))
    assert not holds('host == "x"', view("call_external_api", {}))
    assert holds('host != "x"', view("call_external_api", {}))

    files = view("modify_file", {"path": "/etc/../etc/hosts"}, paths=("/etc/../etc/hosts",))
    assert holds('path == "/etc/hosts"', files)  # paths are normalized
    assert holds('path startswith "/etc/"', files)


def test_program_and_risk_operands() -> None:
    action = shell_view(
        "sudo rm -rf /x",
        cmd("rm", "-rf", "/x", wrappers=("sudo",)),
        risks=(ShellRisk.RECURSIVE_DELETE, ShellRisk.PRIVILEGE),
    )
    assert holds('program == "rm"', action)
    assert holds('program == "sudo"', action)  # wrappers count as programs
    assert not holds('program == "curl"', action)
    assert holds('risk == "recursive_delete"', action)
    assert holds('risk in ["network", "privilege"]', action)
    assert not holds('risk == "network"', action)


# --- rule structure --------------------------------------------------------


def test_when_any_and_when_not(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        """\
rules:
  - id: r
    action_type: send_message
    when_any: ['agent_ctx.channel == "sms"', 'agent_ctx.channel == "email"']
    when_not: 'agent_ctx.trusted == true'
    require_approval: true
""",
    )

    def decide(**ctx: Any) -> list[str]:
        return [f.rule_id for f in policy.evaluate(view("send_message", {}, ctx)).findings]

    assert decide(channel="sms") == ["r"]
    assert decide(channel="email") == ["r"]
    assert decide(channel="slack") == []
    assert decide(channel="sms", trusted=True) == []


def test_action_type_forms(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        """\
rules:
  - id: list
    action_type: [modify_file, Delete-File]
    deny: true
  - id: alias-spelling
    action_type: " Send Message "
    deny: true
  - id: everything
    action_type: "*"
    require_approval: true
  - id: omitted
    require_approval: true
""",
    )
    assert [f.rule_id for f in policy.evaluate(view("delete_file")).findings] == [
        "list",
        "everything",
        "omitted",
    ]
    assert [f.rule_id for f in policy.evaluate(view("send_message")).findings] == [
        "alias-spelling",
        "everything",
        "omitted",
    ]
    assert [f.rule_id for f in policy.evaluate(view("some_new_type")).findings] == [
        "everything",
        "omitted",
    ]


def test_reason_severity_and_default_ids(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        """\
rules:
  - action_type: send_message
    deny: true
    reason: no messages today
    severity: critical
  - action_type: send_message
    require_approval: true
""",
    )
    first, second = policy.evaluate(view("send_message")).findings
    assert (first.rule_id, first.severity) == ("policy.rule1", Severity.CRITICAL)
    assert first.reason.startswith("no messages today")
    assert (second.rule_id, second.severity) == ("policy.rule2", Severity.MEDIUM)
    assert "policy rule 'policy.rule2'" in second.reason


def test_shadow_rules_record_without_enforcing(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        """\
rules:
  - id: shadowed
    action_type: send_message
    deny: true
    mode: shadow
  - id: enforced
    action_type: send_message
    require_approval: true
""",
    )
    result = policy.evaluate(view("send_message"))
    assert [f.rule_id for f in result.shadow_findings] == ["shadowed"]
    assert [f.rule_id for f in result.findings] == ["enforced"]
    assert result.decision is Decision.REQUIRE_APPROVAL


def test_policy_level_shadow_mode(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        "mode: shadow\nrules:\n  - {id: d, action_type: send_message, deny: true}\n",
    )
    result = policy.evaluate(view("send_message"))
    assert result.findings == () and [f.rule_id for f in result.shadow_findings] == ["d"]
    assert result.decision is Decision.ALLOW


def test_explicit_allow_is_listed_and_lifts_only_approvals(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        """\
rules:
  - id: ask
    action_type: call_external_api
    require_approval: true
  - id: no-evil
    action_type: call_external_api
    deny_if: evil.example
  - id: trusted-api
    action_type: call_external_api
    when_all: ['host == "api.partner.example"']
    allow: true
""",
    )
    partner = ("https://api.partner.example/v1",)
    result = policy.evaluate(view("call_external_api", {"url": partner[0]}, urls=partner))
    assert result.allows == ("trusted-api",)
    assert [f.rule_id for f in result.findings] == ["ask"]
    assert result.decision is Decision.ALLOW  # the allow lifts the approval

    both = ("https://api.partner.example/v1", "https://evil.example/")
    result = policy.evaluate(view("call_external_api", {"urls": list(both)}, urls=both))
    assert result.allows == ("trusted-api",)
    assert result.decision is Decision.DENY  # but never a DENY

    other = ("https://other.example/",)
    result = policy.evaluate(view("call_external_api", {"url": other[0]}, urls=other))
    assert result.allows == () and result.decision is Decision.REQUIRE_APPROVAL


def test_shadow_allow_is_not_listed(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path,
        "rules:\n  - {id: a, action_type: send_message, allow: true, mode: shadow}\n",
    )
    assert policy.evaluate(view("send_message")).allows == ()


def test_snapshot_records_version_and_hash(tmp_path: Path) -> None:
    import hashlib

    text = 'version: "2024.1"\nrules:\n  - {action_type: send_message, deny: true}\n'
    policy = policy_from(tmp_path, text)
    snap = policy.snapshot
    assert snap.version == "2024.1" and snap.source == "file"
    assert snap.content_hash == hashlib.sha256(text.encode()).hexdigest()
    assert snap.file == str((tmp_path / "policy.yaml").resolve())


def test_re2_regexes_run_in_linear_time(tmp_path: Path) -> None:
    policy = policy_from(
        tmp_path, "rules:\n  - action_type: send_message\n    deny_regex: '(a+)+$'\n"
    )
    assert type(policy.rules[0].deny_regex.regexes[0].compiled).__module__.startswith("re2")
    # With a backtracking engine each of these takes longer than the age of the universe.
    evil = view("send_message", {"text": "a" * 50_000 + "b"})
    assert policy.evaluate(evil).findings == ()
    assert holds('payload.text matches "(a+)+$"', evil) is False
    assert holds('payload.text matches "(a+)+b$"', evil) is True
