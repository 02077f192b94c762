"""``authorize_action``: decide, record one signed event, return at once.

Every call writes exactly one ``authorization`` event before returning (plus,
the first time a policy is used with a ledger, a ``policy_activated`` event in
the same transaction). If anything fails on the way (malformed input, a
malformed policy, a layer that raises, a ledger that cannot be written) the
answer is DENY with a distinct ``reason_code``, never ALLOW.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import os
import reprlib
import secrets
import threading
import time
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canopy.canonical import canonical_bytes, canonical_text, trusted_canonical_bytes
from canopy.decisions.civil_code import CivilCode
from canopy.decisions.constitution import CONSTITUTION, CONSTITUTION_HASH, Constitution
from canopy.decisions.extract import PayloadTooLargeError, build_action_view
from canopy.decisions.firewall import Firewall
from canopy.decisions.identity import avid_for
from canopy.decisions.killswitch import KillSwitchWatcher
from canopy.decisions.model import Decision, DecisionOutcome, LayerName, Severity
from canopy.decisions.pipeline import LayerContext, decide
from canopy.decisions.policy import PolicyError, load_policy
from canopy.decisions.policy_layer import PolicyLayer
from canopy.errors import CanopyError, LedgerError, MalformedInputError

if TYPE_CHECKING:
    from canopy.ledger.store import AppendReceipt, Ledger

__all__ = [
    "AUDIT_LOG_ENV",
    "DEFAULT_AUDIT_LOG",
    "MODE_ENV",
    "POLICY_FILE_ENV",
    "authorize_action",
    "ledger_path_for",
    "open_ledger",
]

AUDIT_LOG_ENV = "CANOPY_AUDIT_LOG_PATH"
POLICY_FILE_ENV = "CANOPY_POLICY_FILE"
MODE_ENV = "CANOPY_MODE"
DEFAULT_AUDIT_LOG = "audit.log"

log = logging.getLogger("canopy")


def ledger_path_for(audit_log_path: str | os.PathLike[str] | None) -> Path:
    """``audit_log_path``, else ``CANOPY_AUDIT_LOG_PATH``, else ``./audit.log``."""
    chosen = os.fspath(audit_log_path or os.environ.get(AUDIT_LOG_ENV) or DEFAULT_AUDIT_LOG)
    # Only a relative path depends on the working directory (and getcwd is a syscall).
    return _resolved(chosen, "" if os.path.isabs(chosen) else os.getcwd())


@functools.lru_cache(maxsize=256)
def _resolved(path: str, cwd: str) -> Path:
    """realpath once per (path, working directory): it costs tens of microseconds."""
    return Path(os.path.realpath(os.path.join(cwd, path)))


class _Runtime:
    """Per-ledger state kept for the life of the process: the open ledger,
    the kill-switch view, and which policies this ledger has recorded."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.kill_switch = KillSwitchWatcher()
        self.policy_seqs: dict[str, int] = {}
        self.lock = threading.Lock()
        key = str(ledger.path)
        self.governance = frozenset({key, f"{key}.key", f"{key}-wal", f"{key}-shm"})
        self.layers = (Constitution(), CivilCode(), Firewall(), PolicyLayer())

    def kill_switch_reason(self, avid: str) -> str | None:
        return self.kill_switch.reason_for(self.ledger, avid)

    def known_policy_seq(self, content_hash: str) -> int | None:
        if content_hash in self.policy_seqs:
            return self.policy_seqs[content_hash]
        for event in self.ledger.events_of_kind("policy_activated"):
            self.policy_seqs.setdefault(str(event.fields.get("policy_hash")), event.seq)
        return self.policy_seqs.get(content_hash)


_RUNTIMES: dict[Path, _Runtime] = {}
_RUNTIMES_LOCK = threading.Lock()


def open_ledger(audit_log_path: str | os.PathLike[str] | None = None) -> Ledger:
    """The process-wide open ledger for a path (created on first use)."""
    return _runtime(ledger_path_for(audit_log_path)).ledger


def _runtime(path: Path) -> _Runtime:
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(path)
        if runtime is None:
            # Imported here, once per ledger: importing the package stays fast.
            from canopy.ledger.store import Ledger

            runtime = _RUNTIMES[path] = _Runtime(Ledger(path))
        return runtime


#: Deeper values are recorded as a bounded repr: a plain ``repr`` of a structure
#: nested thousands of levels deep raises RecursionError, outside any layer.
_SHALLOW = reprlib.Repr()
_SHALLOW.maxlevel, _SHALLOW.maxstring, _SHALLOW.maxother = 4, 200, 200


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Context values recorded as evidence: JSON as is, common types converted."""
    if depth > 16:
        return _SHALLOW.repr(value)
    kind = type(value)  # exact types first: nearly every value is one of these
    if kind is str or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if kind is list:
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else repr(value)
        )
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_jsonable(v, depth + 1) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return _SHALLOW.repr(value)


def _fail_closed(reason: str, code: str) -> DecisionOutcome:
    return DecisionOutcome(
        Decision.DENY, reason, code, Severity.CRITICAL, LayerName.PIPELINE, code, ()
    )


def _compact_verdicts(outcome: DecisionOutcome) -> list[dict[str, Any]]:
    out = []
    for v in outcome.verdicts:
        entry: dict[str, Any] = {"layer": v.layer.value, "decision": v.decision.value}
        if v.findings:
            entry["findings"] = [
                [f.rule_id, f.decision.value, f.severity.label, f.reason] for f in v.findings
            ]
        if v.overrides_used:
            entry["overrides_used"] = list(v.overrides_used)
        if v.allows:
            entry["allows"] = list(v.allows)
        if v.error:
            entry["error"] = v.error
        out.append(entry)
    return out


def _new_ids() -> tuple[str, str]:
    """A new authorization id (32 hex digits) and trace id, time-ordered.

    Each starts with the time in milliseconds (48 bits) and ends with random
    bits (80 for the authorization, 48 for the trace), as UUIDv7 does: ids made
    later sort later, so the ledger's indexes grow at their end instead of at a
    random page each time, and appends cost the same at a million events.
    """
    now = f"{time.time_ns() // 1_000_000:012x}"
    random = secrets.token_bytes(16)  # one draw for both
    return now + random[:10].hex(), f"trace-{now}{random[10:].hex()}"


def _sha256_text(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def authorize_action(
    agent_ctx: Mapping[str, Any] | None,
    action_type: str,
    action_payload: Mapping[str, Any] | None,
    *,
    policy_file: str | os.PathLike[str] | None = None,
    audit_log_path: str | os.PathLike[str] | None = None,
    prompt: str | None = None,
    agent_response: str | None = None,
) -> dict[str, Any]:
    """Decide ALLOW, DENY or REQUIRE_APPROVAL for one action and record it.

    Returns a dict with ``decision``, ``reason``, ``reason_code``, ``severity``,
    ``layers``, ``rule_id``, ``avid``, ``authorization_id``, ``witness``,
    ``trace_id``, ``policy_snapshot``, ``override_possible``/``override_key``.
    """
    ctx = _jsonable(dict(agent_ctx or {})) if isinstance(agent_ctx, Mapping | None) else {}
    avid = avid_for(ctx)
    authorization_id, fresh_trace = _new_ids()
    trace_id = str(ctx.get("trace_id") or fresh_trace)
    shadow = os.environ.get(MODE_ENV, "").strip().lower() == "shadow"
    runtime: _Runtime | None = None
    policy = None
    encoded: dict[str, bytes] = {}  # canonical bytes computed once, reused by the ledger
    payload_record: Any = None
    try:
        runtime = _runtime(ledger_path_for(audit_log_path))
        from_env = None if policy_file else os.environ.get(POLICY_FILE_ENV) or None
        policy = load_policy(policy_file or from_env, source="env" if from_env else None)
        if not isinstance(agent_ctx, Mapping | None):
            raise MalformedInputError(
                f"agent_ctx must be a mapping, not {type(agent_ctx).__name__}"
            )
        action = build_action_view(
            action_type,
            action_payload if action_payload is not None else {},
            ctx,
            protected_names=runtime.governance,
        )
        context = LayerContext(
            kill_switch_reason=runtime.kill_switch_reason(avid),
            policy=policy,
            shadow=shadow,  # a policy's own ``mode: shadow`` shadows only its rules
            agent_text=agent_response or "",
        )
        outcome = decide(action, context, runtime.layers)
        canonical_type = action.action_type
        if action_payload is not None:
            # The payload is plain JSON (it was just canonicalized), so its record
            # is exactly these bytes: the ledger commits to them as they are.
            payload_record = action.payload
            encoded["payload"] = action.payload_text.encode("utf-8")
    except PolicyError as e:
        outcome = _fail_closed(f"Denied: the policy cannot be used: {e}", "pipeline.policy_invalid")
        canonical_type = str(action_type)
    except PayloadTooLargeError as e:
        outcome = _fail_closed(f"Denied: {e}", "pipeline.payload_too_large")
        canonical_type = str(action_type)
    except MalformedInputError as e:
        outcome = _fail_closed(f"Denied: malformed input: {e}", "pipeline.malformed_input")
        canonical_type = str(action_type)
    except LedgerError as e:
        outcome = _fail_closed(f"Denied: the ledger cannot be opened: {e}", "ledger.unavailable")
        canonical_type = str(action_type)
    except Exception as e:  # a boundary: nothing unexpected may turn into ALLOW
        log.exception("authorize_action failed; denying")
        outcome = _fail_closed(
            f"Denied: internal error ({type(e).__name__}: {e}); failing closed",
            "pipeline.internal_error",
        )
        canonical_type = str(action_type)
    if "payload" not in encoded and action_payload is not None:
        payload_record = _jsonable(action_payload)  # not analysable: recorded as converted

    snapshot = _snapshot(policy)
    encoded["agent_ctx"] = canonical_bytes(ctx)
    context_hash = hashlib.sha256(encoded["agent_ctx"]).hexdigest()
    result = _result(outcome, avid, trace_id, authorization_id, snapshot, context_hash)
    result["action_type"] = canonical_type
    if runtime is None:
        return result
    fields = {
        "trace_id": trace_id,
        "avid": avid,
        "authorization_id": authorization_id,
        "action_type": canonical_type if isinstance(canonical_type, str) else str(canonical_type),
        "decision": outcome.decision.value,
        "payload": payload_record,
        "agent_ctx": ctx,
        "detail": _detail(outcome, action_type, prompt, agent_response),
    }
    try:
        policy_text = getattr(getattr(policy, "snapshot", None), "text", None)
        receipt, policy_seq = _record(runtime, fields, snapshot, encoded, policy_text)
    except (CanopyError, OSError) as e:
        log.error("authorization %s not recorded: %s", authorization_id, e)
        failed = _fail_closed(f"Denied: the ledger cannot be written: {e}", "ledger.unavailable")
        result.update(_result(failed, avid, trace_id, authorization_id, snapshot, context_hash))
        result["action_type"] = canonical_type
        return result
    result["witness"] = {
        "signature": base64.b64encode(receipt.signature).decode("ascii"),
        "key_id": receipt.key_id,
        "seq": receipt.seq,
        "leaf_hash": receipt.leaf_hash.hex(),
        "ledger": runtime.ledger.origin,
        "timestamp": receipt.ts,
        "policy_hash": snapshot["policy_hash"],
        "policy_seq": policy_seq,
        "context_hash": context_hash,
        "constitution_hash": CONSTITUTION_HASH,
        "constitution_version": CONSTITUTION["version"],
    }
    return result


def _detail(
    outcome: DecisionOutcome, action_type: Any, prompt: str | None, agent_response: str | None
) -> dict[str, Any]:
    """The authorization event's ``detail``: why, by which layer, and what each said."""
    return {
        "reason": outcome.reason,
        "reason_code": outcome.reason_code,
        "severity": outcome.severity.label,
        "layer": outcome.deciding_layer.value if outcome.deciding_layer else None,
        "rule_id": outcome.rule_id,
        "layers": _compact_verdicts(outcome),
        "requested_type": str(action_type),
        "override_possible": outcome.override_possible,
        "override_key": outcome.override_key,
        "shadow": outcome.shadow,
        **outcome.extra,
        "prompt_sha256": _sha256_text(prompt),
        "response_sha256": _sha256_text(agent_response),
    }


def _snapshot(policy: Any) -> dict[str, Any]:
    snap = getattr(policy, "snapshot", None)
    if snap is None:
        return {
            "policy_file": None,
            "policy_hash": None,
            "policy_version": None,
            "policy_source": "unavailable",
        }
    return {
        "policy_file": snap.file,
        "policy_hash": snap.content_hash,
        "policy_version": snap.version,
        "policy_source": snap.source,
    }


def _record(
    runtime: _Runtime,
    fields: dict[str, Any],
    snapshot: dict[str, Any],
    encoded: Mapping[str, bytes],
    policy_text: str | None,
) -> tuple[AppendReceipt, int | None]:
    """Append the authorization (and the policy's activation the first time).

    Once its policy is on record, an authorization is appended without this
    runtime's lock, so threads deciding at once share the ledger's group commit.
    """
    content_hash = snapshot["policy_hash"]
    policy_seq = runtime.policy_seqs.get(content_hash) if content_hash else None
    if content_hash and policy_seq is None:
        with runtime.lock:  # one activation event per policy, even under threads
            policy_seq = runtime.known_policy_seq(content_hash)
            if policy_seq is None:
                fields["detail"]["policy_seq"] = None
                activation, authorization = runtime.ledger.append_batch(
                    [
                        ("policy_activated", _activation_fields(snapshot, policy_text)),
                        ("authorization", fields),
                    ]
                )
                runtime.policy_seqs[content_hash] = activation.seq
                return authorization, activation.seq
    fields["detail"]["policy_seq"] = policy_seq
    # The detail is built here from strings, booleans and small integers only.
    encoded = {**encoded, "detail": trusted_canonical_bytes(fields["detail"])}
    return runtime.ledger.append("authorization", fields, encoded=encoded), policy_seq


def _activation_fields(snapshot: dict[str, Any], text: str | None) -> dict[str, Any]:
    """The policy as compiled (``text``, whose bytes ``policy_hash`` digests), never the
    file re-read: it may have changed since."""
    return {
        "policy_file": snapshot["policy_file"],
        "policy_hash": snapshot["policy_hash"],
        "policy_version": snapshot["policy_version"],
        "policy_source": snapshot["policy_source"],
        "policy_text": text,
        "constitution_hash": CONSTITUTION_HASH,
        "constitution": canonical_text(CONSTITUTION),
    }


def _result(
    outcome: DecisionOutcome,
    avid: str,
    trace_id: str,
    authorization_id: str,
    snapshot: dict[str, Any],
    context_hash: str,
) -> dict[str, Any]:
    layers = {v.layer.value: v.to_json() for v in outcome.verdicts}
    return {
        "decision": outcome.decision,
        "reason": outcome.reason,
        "reason_code": outcome.reason_code,
        "severity": outcome.severity.label,
        "layers": layers,
        "decided_by": outcome.deciding_layer.value if outcome.deciding_layer else None,
        "rule_id": outcome.rule_id,
        "avid": avid,
        "authorization_id": authorization_id,
        "trace_id": trace_id,
        "policy_snapshot": snapshot,
        "override_possible": outcome.override_possible,
        "override_key": outcome.override_key,
        "overrides_used": [o for v in outcome.verdicts for o in v.overrides_used],
        "shadow": outcome.shadow,
        **({"shadow_decision": outcome.extra["shadow_decision"]} if outcome.shadow else {}),
        "witness": None,
        "context_hash": context_hash,
    }
