"""Running a compiled policy against one action: findings, allows, shadow findings.

Everything is precomputed by the compiler; here we only look up the rules
indexed under the action's type and run their closures over lazy ``Facts``.
The policy reports; it does not combine verdicts with the other layers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from canopy.decisions.action import ActionView
from canopy.decisions.analyzers.paths import is_autorun_file
from canopy.decisions.model import Decision, Finding, Severity
from canopy.decisions.policy.conditions import CompiledCondition
from canopy.decisions.policy.facts import WRITE_TYPES, Facts
from canopy.decisions.policy.pathmatch import is_within, normalize_path, resolved_path
from canopy.decisions.policy.patterns import PatternSet
from canopy.decisions.policy.regexes import RegexGroup
from canopy.decisions.policy.schema import PolicySpec, RuleSpec

__all__ = ["CompiledPolicy", "CompiledRule", "PolicyResult", "PolicySnapshot"]

_EVIDENCE_MAX = 120


@dataclass(frozen=True, slots=True)
class PolicySnapshot:
    """Which policy decided: recorded with every decision."""

    file: str | None
    content_hash: str  # full SHA-256 hex of the file bytes
    version: str | None
    source: str  # "default" | "file" | "env"
    #: The text those bytes decode to: what the activation event records, so the
    #: evidence holds the rules that ran, not the file as it is later on disk.
    text: str | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, str | None]:
        return {
            "file": self.file,
            "content_hash": self.content_hash,
            "version": self.version,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """What the policy found for one action (enforced, allowed, and shadowed)."""

    findings: tuple[Finding, ...] = ()
    allows: tuple[str, ...] = ()
    shadow_findings: tuple[Finding, ...] = ()

    @property
    def decision(self) -> Decision:
        """The policy on its own: DENY beats everything; an allow lifts approvals."""
        decisions = {f.decision for f in self.findings}
        if Decision.DENY in decisions:
            return Decision.DENY
        if Decision.REQUIRE_APPROVAL in decisions and not self.allows:
            return Decision.REQUIRE_APPROVAL
        return Decision.ALLOW


_NOTHING = PolicyResult()


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """One rule with its conditions, patterns and regexes compiled."""

    spec: RuleSpec
    action_types: frozenset[str] | None  # None: every action type
    when_all: tuple[CompiledCondition, ...]
    when_any: tuple[CompiledCondition, ...]
    when_not: tuple[CompiledCondition, ...]
    deny_if: PatternSet
    deny_regex: RegexGroup
    approval_if: PatternSet
    approval_regex: RegexGroup
    shadow: bool

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def is_static(self) -> bool:
        """True if ``apply`` reads nothing of the action: no condition, pattern,
        regex or ``allow_if`` (its answer is fixed once the rule is compiled)."""
        return not (
            self.when_all
            or self.when_any
            or self.when_not
            or self.deny_if.patterns
            or self.deny_regex.regexes
            or self.approval_if.patterns
            or self.approval_regex.regexes
            or self.spec.allow_if is not None
        )

    def conditions_hold(self, facts: Facts) -> str | None:
        """The conditions that held (for the reason), or None when the rule is off."""
        if not (self.when_all or self.when_any or self.when_not):
            return ""
        if not all(c.test(facts) for c in self.when_all):
            return None
        held = [c.text for c in self.when_all]
        if self.when_any:
            first = next((c for c in self.when_any if c.test(facts)), None)
            if first is None:
                return None
            held.append(first.text)
        if any(c.test(facts) for c in self.when_not):
            return None
        held += [f"not ({c.text})" for c in self.when_not]
        return " and ".join(held)

    def apply(self, facts: Facts) -> tuple[Finding | None, bool]:
        """``(finding, allowed)`` for an action whose type this rule covers."""
        held = self.conditions_hold(facts)
        if held is None:
            return None, False
        when = f" (when {held})" if held else ""
        spec = self.spec
        if spec.deny:
            return self._finding(Decision.DENY, f"denied{when}"), False
        denial = _first_pattern(self.deny_if, "deny_if", facts) or _first_regex(
            self.deny_regex, "deny_regex", facts
        )
        if denial:
            return self._finding(Decision.DENY, denial + when), False
        if spec.require_approval:
            return self._finding(Decision.REQUIRE_APPROVAL, f"requires approval{when}"), False
        approval = _first_pattern(self.approval_if, "require_approval_if", facts) or _first_regex(
            self.approval_regex, "require_approval_regex", facts
        )
        if approval:
            return self._finding(Decision.REQUIRE_APPROVAL, approval + when), False
        if spec.allow:
            return None, True
        if spec.allow_if is not None:
            return self._safe_paths(facts)
        return None, False

    def _safe_paths(self, facts: Facts) -> tuple[Finding | None, bool]:
        """``allow_if: safe_paths``: writes only under agent_ctx["safe_paths"]."""
        view = facts.view
        written = facts.written_paths
        if written is None:
            return self._finding(
                Decision.REQUIRE_APPROVAL,
                "allow_if safe_paths: the paths this command writes cannot be determined",
            ), False
        if not written:
            if view.action_type in WRITE_TYPES:
                return self._finding(
                    Decision.REQUIRE_APPROVAL, "allow_if safe_paths: the action names no path"
                ), False
            return None, False
        roots = _safe_roots(view.agent_ctx, facts.cwd)
        if roots is None:
            return self._finding(
                Decision.REQUIRE_APPROVAL,
                "allow_if safe_paths: agent_ctx.safe_paths is not a list of paths",
            ), False
        resolved_roots = [resolved_path(root) for root in roots]
        for path in written:
            real = resolved_path(path)
            if not any(is_within(path, root) for root in roots) or not any(
                is_within(real, root) for root in resolved_roots
            ):
                shown = ", ".join(roots) or "none"
                return self._finding(
                    Decision.REQUIRE_APPROVAL,
                    f"allow_if safe_paths: {_short(path)} is outside the safe paths ({shown})",
                ), False
        if view.action_type not in WRITE_TYPES:
            return None, False  # a shell command's safe paths are merely checked
        autorun = next((p for p in written if is_autorun_file(p)), None)
        if autorun is not None:  # safe where it is, but it runs code later
            return self._finding(
                Decision.REQUIRE_APPROVAL,
                f"allow_if safe_paths: {_short(autorun)} runs code later by itself "
                "(git config or hook, .envrc, editor tasks); its place does not make it safe",
            ), False
        return None, True

    def _finding(self, decision: Decision, detail: str) -> Finding:
        spec = self.spec
        head = spec.reason or f"policy rule '{spec.id}'"
        default = Severity.HIGH if decision is Decision.DENY else Severity.MEDIUM
        return Finding(spec.id, decision, f"{head}: {detail}", spec.severity or default)


def _first_pattern(patterns: PatternSet, key: str, facts: Facts) -> str | None:
    found = patterns.first(facts)
    if found is None:
        return None
    pattern, evidence = found
    return f"{key} '{pattern.text}' matched {_short(evidence)!r}"


def _first_regex(group: RegexGroup, key: str, facts: Facts) -> str | None:
    if not group.regexes:
        return None
    found = group.first(facts.regex_targets)
    if found is None:
        return None
    regex, target = found
    return f"{key} '{regex.text}' matched {_short(target)!r}"


def _safe_roots(agent_ctx: Mapping[str, object], cwd: str | None) -> list[str] | None:
    value = agent_ctx.get("safe_paths")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        return None
    return [normalize_path(v, cwd) for v in value]


def _short(text: str) -> str:
    return text if len(text) <= _EVIDENCE_MAX else text[: _EVIDENCE_MAX - 3] + "..."


class CompiledPolicy:
    """A policy ready to evaluate: rules indexed by the action types they cover."""

    def __init__(
        self, spec: PolicySpec, rules: tuple[CompiledRule, ...], snapshot: PolicySnapshot
    ) -> None:
        self.spec = spec
        self.rules = rules
        self.snapshot = snapshot
        self.shadow = spec.shadow
        wildcard = tuple(r for r in rules if r.action_types is None)
        named = {t for r in rules for t in (r.action_types or ())}
        self._wildcard = wildcard
        self._by_type: dict[str, tuple[CompiledRule, ...]] = {
            t: tuple(r for r in rules if r.action_types is None or t in r.action_types)
            for t in named
        }
        # Action types all of whose rules are static get the same answer for every
        # action: computed here, once (``require_approval: true`` for API calls).
        self._static: dict[str, PolicyResult] = {
            t: _apply_all(by_type, None)
            for t, by_type in self._by_type.items()
            if all(r.is_static for r in by_type)
        }
        self._static_wildcard = (
            _apply_all(wildcard, None) if all(r.is_static for r in wildcard) else None
        )

    def rules_for(self, action_type: str) -> tuple[CompiledRule, ...]:
        return self._by_type.get(action_type, self._wildcard)

    def evaluate(self, action: ActionView) -> PolicyResult:
        """Findings of every rule that covers ``action``, in rule order."""
        action_type = action.action_type
        rules = self._by_type.get(action_type)
        static = self._static.get(action_type) if rules is not None else self._static_wildcard
        if static is not None:
            return static
        return _apply_all(self._wildcard if rules is None else rules, Facts(action))

    def __repr__(self) -> str:
        s = self.snapshot
        return f"CompiledPolicy(file={s.file!r}, version={s.version!r}, rules={len(self.rules)})"


def _apply_all(rules: tuple[CompiledRule, ...], facts: Facts | None) -> PolicyResult:
    """Every rule's finding or allow, in rule order. ``facts`` may be None only when
    every rule is static (``CompiledRule.is_static``): none of them reads it."""
    if not rules:
        return _NOTHING
    if facts is None:
        assert all(r.is_static for r in rules), "only static rules run without facts"
    findings: list[Finding] = []
    shadow: list[Finding] = []
    allows: list[str] = []
    for rule in rules:
        finding, allowed = rule.apply(facts)  # type: ignore[arg-type]
        if finding is not None:
            (shadow if rule.shadow else findings).append(finding)
        elif allowed and not rule.shadow:
            allows.append(rule.id)
    if not (findings or shadow or allows):
        return _NOTHING
    return PolicyResult(tuple(findings), tuple(allows), tuple(shadow))
