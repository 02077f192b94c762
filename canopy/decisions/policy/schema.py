"""The shape of a policy file: which keys exist, their types, and their combinations.

Validation turns located YAML nodes into ``PolicySpec``/``RuleSpec`` records
and collects every error with its position; nothing is compiled here. String
items keep their ``Scalar`` so the compiler can point into them.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from canopy.decisions.model import Severity
from canopy.decisions.policy.errors import PolicyError, PolicyIssue
from canopy.decisions.policy.source import Map, Mark, Node, Scalar, Seq, parse_yaml, type_name

__all__ = [
    "DECISION_KEYS",
    "RULE_KEYS",
    "PolicySpec",
    "RuleSpec",
    "normalize_action_type",
    "parse_policy",
]

TOP_KEYS = ("rules", "version", "description", "mode")

_LIST_KEYS = (
    "when_all",
    "when_any",
    "when_not",
    "deny_if",
    "deny_regex",
    "require_approval_if",
    "require_approval_regex",
)
_TRUE_KEYS = ("deny", "require_approval", "allow")
_TEXT_KEYS = ("id", "description", "reason")
_CHOICE_KEYS: dict[str, tuple[str, ...]] = {
    "severity": ("low", "medium", "high", "critical"),
    "mode": ("enforce", "shadow"),
    "allow_if": ("safe_paths",),
}
RULE_KEYS = (*_TEXT_KEYS, "action_type", *_LIST_KEYS, *_TRUE_KEYS, *_CHOICE_KEYS)
DECISION_KEYS = (
    "deny",
    "deny_if",
    "deny_regex",
    "require_approval",
    "require_approval_if",
    "require_approval_regex",
    "allow_if",
    "allow",
)

#: Keys that must stand alone, and what each may not be combined with.
_CONFLICTS: dict[str, tuple[str, ...]] = {
    "allow": tuple(k for k in DECISION_KEYS if k != "allow"),
    "deny": tuple(k for k in DECISION_KEYS if k not in ("deny", "allow")),
    "require_approval": ("require_approval_if", "require_approval_regex", "allow_if"),
}

_SEVERITY = {
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


def normalize_action_type(name: str) -> str:
    """The comparison form of an action type: lowercase, underscores, no padding."""
    return name.strip().lower().replace(" ", "_").replace("-", "_")


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One validated rule, still uncompiled, with the positions of its parts."""

    index: int  # 1-based position in `rules`
    id: str
    mark: Mark
    action_types: tuple[Scalar, ...] | None  # None: every action type ("*" or omitted)
    conditions: dict[str, tuple[Scalar, ...]]  # when_all / when_any / when_not
    patterns: dict[str, tuple[Scalar, ...]]  # deny_if / require_approval_if
    regexes: dict[str, tuple[Scalar, ...]]  # deny_regex / require_approval_regex
    deny: bool
    require_approval: bool
    allow: bool
    allow_if: Scalar | None
    reason: str | None
    description: str | None
    severity: Severity | None
    shadow: bool
    key_marks: dict[str, Mark]


@dataclass(frozen=True, slots=True)
class PolicySpec:
    file: str | None
    version: str | None
    description: str | None
    shadow: bool
    rules: tuple[RuleSpec, ...]


def parse_policy(text: str, file: str | None) -> tuple[PolicySpec, list[PolicyIssue]]:
    """Parse and validate policy text: the spec of what is valid, and every problem.

    Raises ``PolicyError`` only when nothing usable remains (bad YAML, no
    mapping); otherwise the caller compiles what it can and reports all issues.
    """
    root = parse_yaml(text, file)
    checker = _Checker(file)
    spec = checker.policy(root)
    if spec is None:
        raise PolicyError(checker.issues)
    return spec, checker.issues


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Checker:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.issues: list[PolicyIssue] = []

    def error(self, mark: Mark, message: str, rule_id: str | None = None) -> None:
        self.issues.append(PolicyIssue(self.file, mark.line, mark.column, message, rule_id))

    # --- top level ---------------------------------------------------------

    def policy(self, root: Node | None) -> PolicySpec | None:
        if root is None:
            self.error(Mark(1, 1), "empty policy: a top-level 'rules:' list is required")
            return None
        if not isinstance(root, Map):
            self.error(root.mark, f"a policy is a mapping with 'rules:', not {type_name(root)}")
            return None
        for key, _ in root.entries:
            if key.value not in TOP_KEYS:
                hint = _did_you_mean(key.value, TOP_KEYS)
                self.error(key.mark, f"unknown top-level key '{key.value}'{hint}")
        version = self.text(root, "version", "the policy")
        description = self.text(root, "description", "the policy")
        mode = self.choice(root, "mode", ("enforce", "shadow"), "the policy")
        rules_node = root.get("rules")
        rules: list[RuleSpec] = []
        if rules_node is None:
            self.error(root.mark, "missing required top-level key 'rules'")
        elif not isinstance(rules_node, Seq):
            self.error(rules_node.mark, f"'rules' must be a list, not {type_name(rules_node)}")
        elif not rules_node.items:
            self.error(rules_node.mark, "'rules' is an empty list: a policy needs a rule")
        else:
            first_seen: dict[str, Mark] = {}
            for index, node in enumerate(rules_node.items, start=1):
                rule = self.rule(index, node)
                if rule is None:
                    continue
                if rule.id in first_seen:
                    where = first_seen[rule.id]
                    self.error(
                        rule.key_marks.get("id", rule.mark),
                        f"duplicate rule id '{rule.id}' (first used at line {where.line})",
                        rule.id,
                    )
                else:
                    first_seen[rule.id] = rule.key_marks.get("id", rule.mark)
                rules.append(rule)
        return PolicySpec(self.file, version, description, mode == "shadow", tuple(rules))

    # --- one rule ----------------------------------------------------------

    def rule(self, index: int, node: Node) -> RuleSpec | None:
        default_id = f"policy.rule{index}"
        if not isinstance(node, Map):
            self.error(node.mark, f"rule {index} must be a mapping, not {type_name(node)}")
            return None
        explicit_id = self.text(node, "id", f"rule {index}")
        rule_id = explicit_id or default_id
        where = f"rule '{rule_id}'"
        for key, _ in node.entries:
            if key.value not in RULE_KEYS:
                hint = _did_you_mean(key.value, RULE_KEYS)
                self.error(key.mark, f"unknown key '{key.value}' in {where}{hint}", rule_id)
        if explicit_id is not None and (
            not explicit_id.strip() or explicit_id != explicit_id.strip()
        ):
            self.error(
                _key_mark(node, "id"), f"rule id {explicit_id!r} is blank or padded", rule_id
            )

        lists = {k: self.strings(node, k, where, rule_id) for k in _LIST_KEYS}
        flags = {k: self.true_flag(node, k, where, rule_id) for k in _TRUE_KEYS}
        action_types = self.action_types(node, where, rule_id)
        severity = self.choice(node, "severity", _CHOICE_KEYS["severity"], where, rule_id)
        mode = self.choice(node, "mode", _CHOICE_KEYS["mode"], where, rule_id)
        allow_if = self.choice(node, "allow_if", _CHOICE_KEYS["allow_if"], where, rule_id)

        present = [k for k in DECISION_KEYS if k in _keys(node)]
        if not present:
            self.error(
                node.mark,
                f"{where} has no decision key (one of {', '.join(DECISION_KEYS)})",
                rule_id,
            )
        for key, forbidden in _CONFLICTS.items():
            if key in present:
                for other in forbidden:
                    if other in present:
                        mark = _key_mark(node, other)
                        self.error(
                            mark, f"{where} combines '{key}' and '{other}', which conflict", rule_id
                        )
        return RuleSpec(
            index=index,
            id=rule_id,
            mark=node.mark,
            action_types=action_types,
            conditions={k: lists[k] for k in ("when_all", "when_any", "when_not")},
            patterns={k: lists[k] for k in ("deny_if", "require_approval_if")},
            regexes={k: lists[k] for k in ("deny_regex", "require_approval_regex")},
            deny=flags["deny"],
            require_approval=flags["require_approval"],
            allow=flags["allow"],
            allow_if=_scalar(node.get("allow_if")) if allow_if else None,
            reason=self.text(node, "reason", where, rule_id),
            description=self.text(node, "description", where, rule_id),
            severity=_SEVERITY[severity] if severity else None,
            shadow=mode == "shadow",
            key_marks={k.value: k.mark for k, _ in node.entries},
        )

    # --- typed getters: report and return a safe default ---------------------

    def text(self, node: Map, key: str, where: str, rule_id: str | None = None) -> str | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, Scalar) and isinstance(value.value, str):
            return value.value
        hint = " (quote it)" if isinstance(value, Scalar) and value.value is not None else ""
        self.error(
            value.mark,
            f"'{key}' in {where} must be a string, not {type_name(value)}{hint}",
            rule_id,
        )
        return None

    def choice(
        self, node: Map, key: str, choices: tuple[str, ...], where: str, rule_id: str | None = None
    ) -> str | None:
        text = self.text(node, key, where, rule_id)
        if text is None or text in choices:
            return text
        quoted = [f"'{c}'" for c in choices]
        shown = " or ".join(quoted) if len(quoted) < 3 else f"one of {', '.join(quoted)}"
        hint = _did_you_mean(text, choices)
        self.error(
            _value_mark(node, key),
            f"'{key}' in {where} must be {shown}, not '{text}'{hint}",
            rule_id,
        )
        return None

    def true_flag(self, node: Map, key: str, where: str, rule_id: str) -> bool:
        value = node.get(key)
        if value is None:
            return False
        if isinstance(value, Scalar) and value.value is True:
            return True
        self.error(
            value.mark,
            f"'{key}' in {where} must be true (remove the key to turn it off), not {_shown(value)}",
            rule_id,
        )
        return False

    def strings(self, node: Map, key: str, where: str, rule_id: str) -> tuple[Scalar, ...]:
        value = node.get(key)
        if value is None:
            return ()
        items = value.items if isinstance(value, Seq) else (value,)
        if isinstance(value, Seq) and not items:
            self.error(value.mark, f"'{key}' in {where} is an empty list", rule_id)
        out: list[Scalar] = []
        for item in items:
            if isinstance(item, Scalar) and isinstance(item.value, str) and item.value.strip():
                out.append(item)
                continue
            what = "an empty string" if isinstance(item, Scalar) and item.value == "" else None
            self.error(
                item.mark,
                f"'{key}' in {where} must be a string or a list of non-empty strings, "
                f"not {what or type_name(item)}",
                rule_id,
            )
        return tuple(out)

    def action_types(self, node: Map, where: str, rule_id: str) -> tuple[Scalar, ...] | None:
        """The listed types; ``None`` means every type (``"*"`` or no key)."""
        if node.get("action_type") is None:
            if "action_type" in _keys(node):
                mark = _key_mark(node, "action_type")
                self.error(mark, f"'action_type' in {where} is null", rule_id)
            return None
        items = self.strings(node, "action_type", where, rule_id)
        if any(normalize_action_type(s.value) == "*" for s in items):
            return None
        return items


def _value_mark(node: Map, key: str) -> Mark:
    value = node.get(key)
    return value.mark if value is not None else node.mark


def _scalar(node: Node | None) -> Scalar | None:
    return node if isinstance(node, Scalar) else None


def _keys(node: Map) -> set[str]:
    return {k.value for k, _ in node.entries}


def _key_mark(node: Map, key: str) -> Mark:
    for k, _ in node.entries:
        if k.value == key:
            return k.mark
    return node.mark


def _shown(node: Node) -> str:
    if isinstance(node, Scalar) and node.value is not None:
        return repr(node.value) if not isinstance(node.value, bool) else str(node.value).lower()
    return type_name(node)
