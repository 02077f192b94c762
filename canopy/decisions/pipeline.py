"""The four-layer pipeline: every layer runs, the most restrictive verdict wins.

The seed package stopped at the first non-ALLOW layer, so an early
REQUIRE_APPROVAL hid a later DENY and a human could approve writing
/etc/passwd. Here every layer runs and records its findings; DENY beats
REQUIRE_APPROVAL beats ALLOW. A layer that raises is a DENY (fail closed).

Precedence, in full:

1. Any DENY from any layer is the answer. Nothing lifts a DENY.
2. Else any REQUIRE_APPROVAL is the answer, except that a policy ``allow``
   rule (or satisfied ``allow_if: safe_paths``) naming this action lifts
   REQUIRE_APPROVAL findings of the Civil Code, the Firewall and the Policy.
   Constitution findings are never lifted.
3. Else ALLOW.

Civil Code findings may be relaxed by ``agent_ctx`` overrides inside the Civil
Code layer itself; overrides never touch other layers. In shadow mode the
would-be decision is recorded and ALLOW returned, except for Constitution
findings, which are enforced in every mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from canopy.decisions.action import ActionView
from canopy.decisions.model import (
    Decision,
    DecisionOutcome,
    Finding,
    LayerName,
    Severity,
    Verdict,
)

__all__ = ["Layer", "LayerContext", "combine", "decide"]

_LIFTABLE = frozenset({LayerName.CIVIL_CODE, LayerName.FIREWALL, LayerName.POLICY})


@dataclass(frozen=True, slots=True)
class LayerContext:
    """What layers may consult besides the action: operator state and the policy."""

    kill_switch_reason: str | None  # operator kill switch in force for this agent
    policy: object  # canopy.decisions.policy.CompiledPolicy
    shadow: bool = False
    agent_text: str = ""  # the agent's own response text, for the Art.1 floor


class Layer(Protocol):
    name: LayerName

    def evaluate(self, action: ActionView, context: LayerContext) -> Verdict: ...


def _failed(layer: LayerName, error: BaseException) -> Verdict:
    finding = Finding(
        "pipeline.layer_error",
        Decision.DENY,
        f"{layer.value} layer failed ({type(error).__name__}: {error}); failing closed",
        Severity.CRITICAL,
    )
    return Verdict(layer, Decision.DENY, (finding,), error=f"{type(error).__name__}: {error}")


def decide(action: ActionView, context: LayerContext, layers: Sequence[Layer]) -> DecisionOutcome:
    """Run every layer (a layer that raises is a DENY), then combine."""
    verdicts: list[Verdict] = []
    policy_allows: tuple[str, ...] = ()
    for layer in layers:
        try:
            verdict = layer.evaluate(action, context)
            if type(verdict) is not Verdict and not isinstance(verdict, Verdict):
                raise TypeError(f"layer returned {type(verdict).__name__}, not a Verdict")
        except Exception as e:  # a boundary: any layer failure fails closed
            verdict = _failed(layer.name, e)
        verdicts.append(verdict)
        if verdict.allows and verdict.layer is LayerName.POLICY:
            policy_allows += tuple(verdict.allows)
    return combine(verdicts, policy_allows, shadow=context.shadow)


def combine(
    verdicts: Sequence[Verdict], policy_allows: Sequence[str] = (), *, shadow: bool = False
) -> DecisionOutcome:
    """Most restrictive wins; see the module docstring for the precise rule."""
    if not verdicts:
        return _outcome_fail_closed("no layer ran")
    effective: list[tuple[Verdict, Finding]] = []
    lifted: list[Finding] = []
    for verdict in verdicts:
        if not verdict.findings:
            continue  # most verdicts: a plain ALLOW
        liftable = bool(policy_allows) and verdict.layer in _LIFTABLE
        for finding in verdict.findings:
            if liftable and finding.decision is Decision.REQUIRE_APPROVAL:
                lifted.append(finding)
                continue
            effective.append((verdict, finding))
    if not effective:
        return _allowed(verdicts, policy_allows, lifted)  # nothing to rank or shadow
    if len(effective) == 1:  # the usual objection: one finding decides, nothing to rank
        winners = effective
        decision = effective[0][1].decision
    else:
        decision = Decision.most_restrictive([f.decision for _, f in effective])
        winners = [(v, f) for v, f in effective if f.decision is decision]
    if decision is Decision.ALLOW:
        return _allowed(verdicts, policy_allows, lifted)
    assert winners, "a decision other than ALLOW comes from some finding"
    # The first winner by precedence (min keeps the earliest of equals, as a
    # stable sort would); it also carries the highest severity of them all.
    verdict, finding = winners[0] if len(winners) == 1 else min(winners, key=_precedence)
    overridable = decision is Decision.REQUIRE_APPROVAL and all(
        v.layer is LayerName.CIVIL_CODE and f.override_key for v, f in winners
    )
    outcome = DecisionOutcome(
        decision,
        finding.reason,
        finding.rule_id,
        finding.severity,
        verdict.layer,
        finding.rule_id,
        tuple(verdicts),
        override_possible=overridable,
        override_key=finding.override_key if overridable else None,
    )
    if shadow and outcome.decision is not Decision.ALLOW:
        constitutional = any(
            v.layer is LayerName.CONSTITUTION and f.decision is not Decision.ALLOW
            for v, f in effective
        )
        if not constitutional:
            return DecisionOutcome(
                Decision.ALLOW,
                f"Shadow mode: would be {outcome.decision.value} ({outcome.reason})",
                "shadow",
                outcome.severity,
                outcome.deciding_layer,
                outcome.rule_id,
                outcome.verdicts,
                shadow=True,
                extra={"shadow_decision": outcome.decision.value},
            )
    return outcome


def _precedence(winner: tuple[Verdict, Finding]) -> tuple[int, int]:
    """Most severe first, then the earlier layer."""
    verdict, finding = winner
    return -finding.severity, _LAYER_ORDER[verdict.layer]


def _allowed(
    verdicts: Sequence[Verdict], policy_allows: Sequence[str], lifted: list[Finding]
) -> DecisionOutcome:
    reason = "Allowed: no layer objected"
    if lifted:
        reason = f"Allowed by policy rule(s) {', '.join(policy_allows)} (approval lifted)"
    return DecisionOutcome(
        Decision.ALLOW, reason, "allowed", Severity.NONE, None, None, tuple(verdicts)
    )


_LAYER_ORDER = {
    LayerName.CONSTITUTION: 0,
    LayerName.CIVIL_CODE: 1,
    LayerName.FIREWALL: 2,
    LayerName.POLICY: 3,
    LayerName.PIPELINE: 4,
}


def _outcome_fail_closed(why: str) -> DecisionOutcome:
    return DecisionOutcome(
        Decision.DENY,
        f"Denied: {why}; failing closed",
        "pipeline.empty",
        Severity.CRITICAL,
        LayerName.PIPELINE,
        "pipeline.empty",
        (),
    )
