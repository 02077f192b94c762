"""Policy lint: the compiler's errors, plus warnings about rules that do not mean
what they look like (never match, always match, or fall back to plain text).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path

from canopy.decisions.action import CANONICAL_ACTION_TYPES
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.policy.cache import DEFAULT_POLICY
from canopy.decisions.policy.compiler import compile_policy_bytes
from canopy.decisions.policy.conditions import (
    Compare,
    CompiledCondition,
    Literal,
    polarity,
    walk,
)
from canopy.decisions.policy.errors import PolicyError, PolicyIssue
from canopy.decisions.policy.evaluate import CompiledPolicy, CompiledRule
from canopy.decisions.policy.facts import domain_for
from canopy.decisions.policy.schema import normalize_action_type
from canopy.decisions.policy.source import Mark, Scalar

__all__ = ["LintReport", "lint_compiled", "lint_policy"]

_RISKS = frozenset(r.value for r in ShellRisk)


@dataclass(frozen=True, slots=True)
class LintReport:
    errors: list[PolicyIssue] = field(default_factory=list)
    warnings: list[PolicyIssue] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.errors and not self.warnings


def lint_policy(path: str | os.PathLike[str] | None) -> LintReport:
    """Errors (as the compiler reports them) and warnings for a policy file."""
    file = str(path if path is not None else DEFAULT_POLICY)
    try:
        data = Path(file).read_bytes()
    except OSError as e:
        return LintReport([PolicyIssue(file, 0, 0, f"cannot read policy: {e}")])
    try:
        policy = compile_policy_bytes(data, file=file, source="file")
    except PolicyError as e:
        return LintReport(list(e.issues))
    return LintReport([], lint_compiled(policy))


def lint_compiled(policy: CompiledPolicy) -> list[PolicyIssue]:
    """Warnings for a policy that compiled."""
    out: list[PolicyIssue] = []
    for rule in policy.rules:
        out += _RuleLint(policy.snapshot.file, rule).run()
    return sorted(out, key=lambda i: (i.line, i.column))


class _RuleLint:
    def __init__(self, file: str | None, rule: CompiledRule) -> None:
        self.file = file
        self.rule = rule
        self.spec = rule.spec
        self.out: list[PolicyIssue] = []

    def warn(self, mark: Mark, message: str) -> None:
        self.out.append(
            PolicyIssue(self.file, mark.line, mark.column, message, self.spec.id, "warning")
        )

    def run(self) -> list[PolicyIssue]:
        self.action_types()
        self.contradictions()
        self.regexes()
        self.patterns()
        self.risk_values()
        return self.out

    def action_types(self) -> None:
        spec = self.spec
        if spec.allow and spec.action_types is None:
            self.warn(
                spec.key_marks["allow"],
                f"rule '{spec.id}' has 'allow: true' for every action type; "
                "name the action_type it allows",
            )
        for scalar in spec.action_types or ():
            name = normalize_action_type(scalar.value)
            if name in CANONICAL_ACTION_TYPES:
                continue
            close = difflib.get_close_matches(name, sorted(CANONICAL_ACTION_TYPES), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            self.warn(
                scalar.mark,
                f"action_type '{scalar.value}' in rule '{spec.id}' is not a canonical action "
                f"type, so it never matches{hint}",
            )

    def contradictions(self) -> None:
        spec, rule = self.spec, self.rule
        required = list(zip(spec.conditions["when_all"], rule.when_all, strict=True))
        excluded = list(zip(spec.conditions["when_not"], rule.when_not, strict=True))
        seen: dict[object, tuple[bool, str]] = {}
        for scalar, cond in required:
            positive, core = polarity(cond.ast)
            if core in seen and seen[core][0] != positive:
                self.warn(
                    scalar.mark,
                    f"when_all of rule '{spec.id}' requires both '{seen[core][1]}' and "
                    f"'{cond.text}': the rule never matches",
                )
            seen.setdefault(core, (positive, cond.text))
        for scalar, cond in excluded:
            positive, core = polarity(cond.ast)
            if core in seen and seen[core][0] == positive:
                self.warn(
                    scalar.mark,
                    f"rule '{spec.id}' both requires and excludes '{cond.text}': "
                    "the rule never matches",
                )

    def regexes(self) -> None:
        spec, rule = self.spec, self.rule
        for key, compiled in (
            ("deny_regex", rule.deny_regex.regexes),
            ("require_approval_regex", rule.approval_regex.regexes),
        ):
            for scalar, regex in zip(spec.regexes[key], compiled, strict=True):
                if regex.matches_empty:
                    self.warn(
                        scalar.mark,
                        f"{key} '{regex.text}' in rule '{spec.id}' matches the empty string, "
                        "so it matches every action",
                    )
        for scalar, cond in self._conditions():
            for regex in cond.regexes:
                if regex.matches_empty:
                    self.warn(
                        scalar.mark,
                        f"regex '{regex.text}' in rule '{spec.id}' matches the empty string",
                    )
        self._duplicates(
            [*spec.regexes["deny_regex"], *spec.regexes["require_approval_regex"]], "regex"
        )

    def patterns(self) -> None:
        spec, rule = self.spec, self.rule
        scalars = [*spec.patterns["deny_if"], *spec.patterns["require_approval_if"]]
        self._duplicates(scalars, "pattern", squash=True)
        if rule.action_types is None:
            return  # "*": read by whatever the action turns out to be
        domains = sorted({domain_for(t, has_command=False) for t in rule.action_types})
        for scalar, pattern in zip(
            scalars, (*rule.deny_if.patterns, *rule.approval_if.patterns), strict=True
        ):
            textual = [d for d in domains if pattern.kinds[d] == "text"]
            if textual:
                self.warn(
                    scalar.mark,
                    f"pattern '{pattern.text}' in rule '{spec.id}' has no {'/'.join(textual)} "
                    "meaning and is matched as plain text in the payload",
                )

    def risk_values(self) -> None:
        for scalar, cond in self._conditions():
            for node in walk(cond.ast):
                if not (isinstance(node, Compare) and node.left.root == "risk"):
                    continue
                if isinstance(node.right, Literal):
                    values = node.right.value
                    for value in values if isinstance(values, tuple) else (values,):
                        if isinstance(value, str) and value not in _RISKS:
                            self.warn(
                                scalar.mark,
                                f"risk '{value}' in rule '{self.spec.id}' is not a shell "
                                f"risk ({', '.join(sorted(_RISKS))})",
                            )

    def _conditions(self) -> list[tuple[Scalar, CompiledCondition]]:
        spec, rule = self.spec, self.rule
        pairs: list[tuple[Scalar, CompiledCondition]] = []
        for key, compiled in (
            ("when_all", rule.when_all),
            ("when_any", rule.when_any),
            ("when_not", rule.when_not),
        ):
            pairs += zip(spec.conditions[key], compiled, strict=True)
        return pairs

    def _duplicates(self, scalars: list[Scalar], what: str, squash: bool = False) -> None:
        first: dict[str, Scalar] = {}
        for scalar in scalars:
            key = " ".join(scalar.value.split()) if squash else scalar.value
            if key in first:
                self.warn(
                    scalar.mark,
                    f"duplicate {what} '{scalar.value}' in rule '{self.spec.id}' "
                    f"(also at line {first[key].mark.line})",
                )
            else:
                first[key] = scalar
