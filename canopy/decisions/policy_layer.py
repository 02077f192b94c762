"""The Policy layer: the operator's YAML rules, compiled once, as a layer."""

from __future__ import annotations

from canopy.decisions.action import ActionView
from canopy.decisions.model import Decision, Finding, LayerName, Verdict
from canopy.decisions.pipeline import LayerContext

__all__ = ["PolicyLayer"]


class PolicyLayer:
    name = LayerName.POLICY

    def evaluate(self, action: ActionView, context: LayerContext) -> Verdict:
        result = context.policy.evaluate(action)  # type: ignore[attr-defined]
        shadow_notes = [
            Finding(
                f"{f.rule_id} (shadow)",
                Decision.ALLOW,
                f"shadow rule would {f.decision.value}: {f.reason}",
                f.severity,
            )
            for f in result.shadow_findings
        ]
        verdict = Verdict.from_findings(self.name, [*result.findings, *shadow_notes])
        if not result.allows:
            return verdict
        return Verdict(
            verdict.layer,
            verdict.decision,
            verdict.findings,
            verdict.overrides_used,
            verdict.error,
            tuple(result.allows),
        )
