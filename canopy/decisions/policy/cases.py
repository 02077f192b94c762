"""Policy tests: a YAML list of actions and the decision each must get.

```yaml
- name: rm -rf is denied
  action_type: execute_shell
  payload: {command: "rm -fr /tmp/logs"}
  agent_ctx: {env: production}
  expect: DENY
```

The CLI passes ``decide`` (the real authorize pipeline, called as
``decide(agent_ctx=..., action_type=..., action_payload=...)``); without it
the policy is judged alone on a minimal ``ActionView``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canopy.canonical import canonical_text
from canopy.decisions.action import ActionView
from canopy.decisions.model import Decision
from canopy.decisions.policy.cache import load_policy
from canopy.decisions.policy.errors import PolicyError, PolicyIssue
from canopy.decisions.policy.schema import normalize_action_type
from canopy.decisions.policy.source import (
    Map,
    Mark,
    Node,
    Scalar,
    Seq,
    parse_yaml,
    to_python,
    type_name,
)

__all__ = ["CaseResult", "PolicyCase", "build_action_view", "load_cases", "run_policy_cases"]

Decide = Callable[..., Any]  # returns a Decision, its name, or a mapping/object with .decision

_CASE_KEYS = ("name", "action_type", "payload", "agent_ctx", "expect")
_PATH_KEYS = ("path", "file", "file_path", "filepath", "filename", "target", "destination")


@dataclass(frozen=True, slots=True)
class PolicyCase:
    name: str
    action_type: str
    payload: dict[str, Any]
    agent_ctx: dict[str, Any]
    expect: Decision
    line: int


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: PolicyCase
    actual: Decision | None  # None when deciding raised
    detail: str  # the deciding rules and reasons, or the error

    @property
    def passed(self) -> bool:
        return self.actual is self.case.expect


def load_cases(path: str | os.PathLike[str]) -> list[PolicyCase]:
    """Read and validate a cases file; errors carry ``file:line:column``."""
    file = str(path)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError([PolicyIssue(file, 0, 0, f"cannot read cases: {e}")]) from e
    root = parse_yaml(text, file)
    if isinstance(root, Map) and root.get("cases") is not None:
        root = root.get("cases")
    issues: list[PolicyIssue] = []

    def error(node: Node, message: str) -> None:
        issues.append(PolicyIssue(file, node.mark.line, node.mark.column, message))

    if not isinstance(root, Seq) or not root.items:
        mark_node = root if root is not None else Scalar(None, Mark(1, 1))
        error(mark_node, "a cases file is a non-empty list of cases")
        raise PolicyError(issues)
    cases: list[PolicyCase] = []
    for index, node in enumerate(root.items, start=1):
        if not isinstance(node, Map):
            error(node, f"case {index} must be a mapping, not {type_name(node)}")
            continue
        for key, _ in node.entries:
            if key.value not in _CASE_KEYS:
                error(key, f"unknown key '{key.value}' in case {index}")
        fields = {k.value: v for k, v in node.entries}
        name = fields.get("name")
        label = name.value if isinstance(name, Scalar) and isinstance(name.value, str) else None
        label = label or f"case {index}"
        kind, expect = fields.get("action_type"), fields.get("expect")
        if not (isinstance(kind, Scalar) and isinstance(kind.value, str) and kind.value.strip()):
            error(kind or node, f"'{label}' needs an action_type string")
            continue
        choices = [d.value for d in Decision]
        if not (
            isinstance(expect, Scalar)
            and isinstance(expect.value, str)
            and expect.value.upper() in choices
        ):
            error(expect or node, f"'{label}' needs expect: one of {', '.join(choices)}")
            continue
        mappings = {}
        for key in ("payload", "agent_ctx"):
            value = fields.get(key)
            if value is not None and not isinstance(value, Map):
                error(value, f"'{key}' of '{label}' must be a mapping, not {type_name(value)}")
            mappings[key] = to_python(value) if isinstance(value, Map) else {}
        cases.append(
            PolicyCase(
                label,
                kind.value,
                mappings["payload"],
                mappings["agent_ctx"],
                Decision(expect.value.upper()),
                node.mark.line,
            )
        )
    if issues:
        raise PolicyError(issues)
    return cases


def run_policy_cases(
    cases_path: str | os.PathLike[str],
    policy_path: str | os.PathLike[str] | None = None,
    *,
    decide: Decide | None = None,
) -> list[CaseResult]:
    """Decide every case and compare with its expectation (one result per case)."""
    cases = load_cases(cases_path)
    if decide is None:
        policy = load_policy(policy_path)

        def decide_alone(case: PolicyCase) -> tuple[Decision, str]:
            view = build_action_view(case.action_type, case.payload, case.agent_ctx)
            result = policy.evaluate(view)
            detail = "; ".join(f"{f.rule_id}: {f.reason}" for f in result.findings)
            if result.allows:
                detail += ("; " if detail else "") + "allowed by " + ", ".join(result.allows)
            return result.decision, detail

        judge = decide_alone
    else:

        def judge(case: PolicyCase) -> tuple[Decision, str]:
            outcome = decide(
                agent_ctx=case.agent_ctx,
                action_type=case.action_type,
                action_payload=case.payload,
            )
            return _as_decision(outcome)

    results: list[CaseResult] = []
    for case in cases:
        try:
            actual, detail = judge(case)
        except Exception as e:  # a case that crashes the decision fails, the run goes on
            results.append(CaseResult(case, None, f"{type(e).__name__}: {e}"))
            continue
        results.append(CaseResult(case, actual, detail))
    return results


def _as_decision(outcome: Any) -> tuple[Decision, str]:
    """Accept a Decision, its name, a result mapping or an outcome object."""
    detail = ""
    if isinstance(outcome, Mapping):
        detail = " ".join(str(outcome[k]) for k in ("rule_id", "reason") if outcome.get(k))
        outcome = outcome.get("decision")
    elif not isinstance(outcome, str | Decision) and hasattr(outcome, "decision"):
        detail = str(getattr(outcome, "reason", "") or "")
        outcome = outcome.decision
    if isinstance(outcome, Decision):
        return outcome, detail
    if isinstance(outcome, str) and outcome.upper() in Decision.__members__:
        return Decision(outcome.upper()), detail
    raise TypeError(f"decide returned {outcome!r}, not a decision")


def build_action_view(
    action_type: str, payload: Mapping[str, Any], agent_ctx: Mapping[str, Any]
) -> ActionView:
    """A minimal ActionView for judging the policy alone (not the full extractor)."""
    command = payload.get("command")
    if isinstance(command, list) and all(isinstance(c, str) for c in command):
        command = shlex.join(command)
    commands = (command,) if isinstance(command, str) and command.strip() else ()
    shell = None
    if commands:
        try:
            from canopy.decisions.analyzers.shell import analyze_shell
        except ImportError:
            pass
        else:
            cwd = agent_ctx.get("cwd")
            shell = analyze_shell(commands[0], cwd=cwd if isinstance(cwd, str) else None)
    paths = tuple(v for k in _PATH_KEYS if isinstance(v := payload.get(k), str) and v.strip())
    urls = tuple(s for s in _strings(payload) if s.startswith(("http://", "https://")))
    return ActionView(
        action_type=normalize_action_type(action_type),
        requested_type=action_type,
        payload=payload,
        agent_ctx=agent_ctx,
        payload_text=canonical_text(payload),
        commands=commands,
        shell=shell,
        paths=paths,
        urls=urls,
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
