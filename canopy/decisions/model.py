"""The decision vocabulary: verdicts, severities, layers and what they carry.

Closed vocabularies are enums; records are frozen dataclasses with one
serializer each. Every layer returns a ``Verdict``; the pipeline combines
them (most restrictive wins) into a ``DecisionOutcome``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

__all__ = [
    "CanopyPermissionError",
    "Decision",
    "DecisionOutcome",
    "Finding",
    "LayerName",
    "Severity",
    "Verdict",
]


class Decision(StrEnum):
    """The three answers. Ordered by restrictiveness via ``rank``."""

    ALLOW = "ALLOW"
    REQUIRE_APPROVAL = "REQUIRE_APPROVAL"
    DENY = "DENY"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def most_restrictive(cls, decisions: list[Decision]) -> Decision:
        """DENY > REQUIRE_APPROVAL > ALLOW. Nothing to combine fails closed."""
        if not decisions:
            return cls.DENY
        return max(decisions, key=_RANK.__getitem__)


_RANK = {Decision.ALLOW: 0, Decision.REQUIRE_APPROVAL: 1, Decision.DENY: 2}


class Severity(IntEnum):
    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return _SEVERITY_LABELS[self]


_SEVERITY_LABELS = {severity: severity.name.lower() for severity in Severity}


class LayerName(StrEnum):
    CONSTITUTION = "constitution"
    CIVIL_CODE = "civil_code"
    FIREWALL = "firewall"
    POLICY = "policy"
    PIPELINE = "pipeline"  # the pipeline itself, when it has to fail closed


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a layer objected (or would have): rule id, verdict, explanation."""

    rule_id: str
    decision: Decision
    reason: str
    severity: Severity = Severity.MEDIUM
    override_key: str | None = None  # the agent_ctx key that relaxes it (Civil Code only)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "decision": self.decision.value,
            "reason": self.reason,
            "severity": self.severity.label,
            "override_key": self.override_key,
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one layer concluded: its decision and every finding behind it."""

    layer: LayerName
    decision: Decision
    findings: tuple[Finding, ...] = ()
    overrides_used: tuple[str, ...] = ()
    error: str | None = None  # set when the layer raised and the pipeline failed closed
    allows: tuple[str, ...] = ()  # policy rules that explicitly allow this action

    @classmethod
    def allow(cls, layer: LayerName, overrides_used: tuple[str, ...] = ()) -> Verdict:
        if not overrides_used and cls is Verdict:
            return _PLAIN_ALLOW[layer]  # immutable, so one per layer is enough
        return cls(layer, Decision.ALLOW, (), overrides_used)

    @classmethod
    def from_findings(
        cls, layer: LayerName, findings: list[Finding], overrides_used: tuple[str, ...] = ()
    ) -> Verdict:
        if not findings:
            return cls.allow(layer, overrides_used)
        if len(findings) == 1:
            return cls(layer, findings[0].decision, (findings[0],), overrides_used)
        decision = Decision.most_restrictive([f.decision for f in findings])
        ordered = sorted(findings, key=lambda f: (-f.decision.rank, -f.severity))
        return cls(layer, decision, tuple(ordered), overrides_used)

    @property
    def deciding_finding(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def to_json(self) -> dict[str, Any]:
        top = self.deciding_finding
        return {
            "layer": self.layer.value,
            "decision": self.decision.value,
            "rule_id": top.rule_id if top else None,
            "reason": top.reason if top else None,
            "findings": [f.to_json() for f in self.findings],
            "overrides_used": list(self.overrides_used),
            "allows": list(self.allows),
            "error": self.error,
        }


_PLAIN_ALLOW = {layer: Verdict(layer, Decision.ALLOW) for layer in LayerName}


@dataclass(frozen=True, slots=True)
class DecisionOutcome:
    """The combined answer before it is recorded."""

    decision: Decision
    reason: str
    reason_code: str
    severity: Severity
    deciding_layer: LayerName | None
    rule_id: str | None
    verdicts: tuple[Verdict, ...]
    override_possible: bool = False
    override_key: str | None = None
    shadow: bool = False  # shadow mode: would-be decision recorded, ALLOW returned
    extra: dict[str, Any] = field(default_factory=dict)


class CanopyPermissionError(PermissionError):
    """Raised by guards when an action is denied or needs an approval it lacks."""

    def __init__(self, message: str, decision: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.decision = decision or {}
