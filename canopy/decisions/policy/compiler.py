"""From policy text to a ``CompiledPolicy``: validate, then compile every part once.

Errors are collected across the whole file (conditions, regexes, misplaced
keys) and raised together, each with ``file:line:column``; a policy that
compiles has nothing left to fail at evaluation time.
"""

from __future__ import annotations

import hashlib

from canopy.decisions.policy.conditions import (
    CompiledCondition,
    ConditionSyntaxError,
    compile_condition,
)
from canopy.decisions.policy.errors import PolicyError, PolicyIssue
from canopy.decisions.policy.evaluate import CompiledPolicy, CompiledRule, PolicySnapshot
from canopy.decisions.policy.patterns import PatternSet, compile_pattern
from canopy.decisions.policy.regexes import RegexGroup, UserRegex, compile_user_regex
from canopy.decisions.policy.schema import PolicySpec, RuleSpec, normalize_action_type, parse_policy
from canopy.decisions.policy.source import Scalar

__all__ = ["compile_policy_bytes", "compile_policy_text"]

#: Action types whose written paths ``allow_if: safe_paths`` can judge.
_SAFE_PATH_TYPES = frozenset({"modify_file", "delete_file", "execute_shell"})


def compile_policy_text(
    text: str, *, file: str | None = None, source: str = "file"
) -> CompiledPolicy:
    """Compile policy text; the snapshot hashes its UTF-8 bytes."""
    return _compile(text, hashlib.sha256(text.encode("utf-8")).hexdigest(), file, source)


def compile_policy_bytes(data: bytes, *, file: str | None, source: str) -> CompiledPolicy:
    """Compile the exact bytes of a policy file (hashed as read)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyError([PolicyIssue(file, 0, 0, f"policy is not UTF-8: {e}")]) from e
    return _compile(text, hashlib.sha256(data).hexdigest(), file, source)


def _compile(text: str, content_hash: str, file: str | None, source: str) -> CompiledPolicy:
    spec, issues = parse_policy(text, file)
    compiler = _RuleCompiler(spec)
    rules = tuple(compiler.rule(r) for r in spec.rules)
    issues += compiler.issues
    if issues:
        raise PolicyError(sorted(issues, key=lambda i: (i.line, i.column)))
    snapshot = PolicySnapshot(file, content_hash, spec.version, source, text)
    return CompiledPolicy(spec, rules, snapshot)


class _RuleCompiler:
    def __init__(self, spec: PolicySpec) -> None:
        self.policy = spec
        self.issues: list[PolicyIssue] = []

    def error(
        self, scalar: Scalar, message: str, rule: RuleSpec, offset: int | None = None
    ) -> None:
        mark = scalar.mark if offset is None else scalar.offset_mark(offset)
        self.issues.append(PolicyIssue(self.policy.file, mark.line, mark.column, message, rule.id))

    def rule(self, spec: RuleSpec) -> CompiledRule:
        types = (
            None
            if spec.action_types is None
            else frozenset(normalize_action_type(s.value) for s in spec.action_types)
        )
        if spec.allow_if is not None and types is not None and not types & _SAFE_PATH_TYPES:
            self.error(
                spec.allow_if,
                f"allow_if: safe_paths in rule '{spec.id}' judges file writes and shell "
                "commands, but the rule covers none (modify_file, delete_file, execute_shell)",
                spec,
            )
        return CompiledRule(
            spec=spec,
            action_types=types,
            when_all=self.conditions(spec, "when_all"),
            when_any=self.conditions(spec, "when_any"),
            when_not=self.conditions(spec, "when_not"),
            deny_if=self.patterns(spec, "deny_if"),
            deny_regex=self.regexes(spec, "deny_regex"),
            approval_if=self.patterns(spec, "require_approval_if"),
            approval_regex=self.regexes(spec, "require_approval_regex"),
            shadow=spec.shadow or self.policy.shadow,
        )

    def conditions(self, spec: RuleSpec, key: str) -> tuple[CompiledCondition, ...]:
        out: list[CompiledCondition] = []
        for scalar in spec.conditions[key]:
            try:
                out.append(compile_condition(scalar.value))
            except ConditionSyntaxError as e:
                self.error(
                    scalar, f"bad condition in {key} of rule '{spec.id}': {e}", spec, e.offset
                )
        return tuple(out)

    def patterns(self, spec: RuleSpec, key: str) -> PatternSet:
        return PatternSet(tuple(compile_pattern(s.value) for s in spec.patterns[key]))

    def regexes(self, spec: RuleSpec, key: str) -> RegexGroup:
        out: list[UserRegex] = []
        for scalar in spec.regexes[key]:
            try:
                out.append(compile_user_regex(scalar.value))
            except ValueError as e:
                self.error(scalar, f"{key} in rule '{spec.id}': {e}", spec)
        return RegexGroup(out)
