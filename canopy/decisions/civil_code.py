"""The Civil Code: ten titles of conservative defaults an operator may relax.

Each title is a small function from the action to findings. A title's
override is an ``agent_ctx`` key (the table in the README); when it relaxes a
finding the verdict records which override was used. Overrides relax only
this layer: a Constitution or Firewall DENY is untouched by them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from canopy.canonical import canonical_text
from canopy.decisions.action import ActionView
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.facts import url_info
from canopy.decisions.model import Decision, Finding, LayerName, Severity, Verdict
from canopy.decisions.pipeline import LayerContext
from canopy.errors import MalformedInputError

__all__ = ["DEFAULT_SPENDING_LIMIT", "TITLES", "CivilCode"]

DEFAULT_SPENDING_LIMIT = Decimal("10")

Title = Callable[[ActionView, list[str]], list[Finding]]


def _ctx_true(ctx: Any, key: str) -> bool:
    return ctx.get(key) is True


def _ctx_list(ctx: Any, key: str) -> list[str]:
    value = ctx.get(key)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return []


_NO_RISKS: frozenset[ShellRisk] = frozenset()


def _risks(action: ActionView) -> frozenset[ShellRisk]:
    """The shell analyzer's risks, computed once per decision (five titles ask)."""
    if action.shell is None:
        return _NO_RISKS
    risks = action.memo.get(_RISKS_KEY)
    if risks is None:
        risks = action.memo[_RISKS_KEY] = frozenset(f.risk for f in action.shell.findings)
    return risks


_RISKS_KEY = ("civil_code", "shell risks")


# --- Title I: Autonomy ----------------------------------------------------------

_HIGH_IMPACT_RISKS = {
    ShellRisk.RECURSIVE_DELETE,
    ShellRisk.SYSTEM_CONTROL,
    ShellRisk.PRIVILEGE,
    ShellRisk.PERMISSIONS,
}
_DESTRUCTIVE_SQL = re.compile(r"\b(drop|truncate|delete|alter|grant|revoke)\b", re.IGNORECASE)


def title_i_autonomy(action: ActionView, used: list[str]) -> list[Finding]:
    reasons = []
    if action.action_type == "delete_file":
        reasons.append("deleting files")
    risky = _risks(action) & _HIGH_IMPACT_RISKS
    if risky:
        reasons.append("shell " + ", ".join(sorted(r.value for r in risky)))
    if action.action_type == "query_database" and _DESTRUCTIVE_SQL.search(action.payload_text):
        reasons.append("destructive database statement")
    if not reasons:
        return []
    if _ctx_true(action.agent_ctx, "autonomous_mode"):
        used.append("autonomous_mode")
        return []
    return [
        Finding(
            "civil.I.autonomy",
            Decision.REQUIRE_APPROVAL,
            f"Title I (Autonomy): high-impact action ({'; '.join(reasons)}) needs approval",
            Severity.MEDIUM,
            override_key="autonomous_mode",
        )
    ]


# --- Title II: Financial ---------------------------------------------------------


def _limit(ctx: Any) -> Decimal | None:
    """The spending limit in USD; None means unlimited."""
    value = ctx.get("spending_limit", None)
    if value is None:
        return DEFAULT_SPENDING_LIMIT
    if isinstance(value, str) and value.strip().lower() == "unlimited":
        return None
    if isinstance(value, bool):
        return DEFAULT_SPENDING_LIMIT
    try:
        limit = Decimal(str(value))
    except InvalidOperation:
        return DEFAULT_SPENDING_LIMIT
    return limit if limit.is_finite() and limit >= 0 else DEFAULT_SPENDING_LIMIT


def title_ii_financial(action: ActionView, used: list[str]) -> list[Finding]:
    if action.money is None and not action.amounts:
        return []
    limit = _limit(action.agent_ctx)
    currency = str(action.agent_ctx.get("spending_currency", "USD")).upper()
    configured = "spending_limit" in action.agent_ctx
    money = action.money
    if limit is None:
        used.append("spending_limit")
        return []
    if money is None:
        listed = ", ".join(f"{m.amount} {m.currency}" for m in action.amounts)
        return [
            Finding(
                "civil.II.financial",
                Decision.REQUIRE_APPROVAL,
                f"Title II (Financial): amounts in several currencies ({listed}): their sum "
                f"cannot be compared with a spending limit of {limit} {currency}",
                Severity.MEDIUM,
            )
        ]
    if money.currency == currency and money.amount <= limit:
        if configured:
            used.append("spending_limit")
        return []
    why = (
        f"{money.amount} {money.currency} exceeds the spending limit of {limit} {currency}"
        if money.currency == currency
        else f"{money.currency} amount cannot be compared with a {currency} spending limit"
    )
    return [
        Finding(
            "civil.II.financial",
            Decision.REQUIRE_APPROVAL,
            f"Title II (Financial): {why}",
            Severity.MEDIUM,
            override_key="spending_limit",
        )
    ]


# --- Title III: Privacy ----------------------------------------------------------

#: ``git@github.com:org/repo`` (an ssh target: ``@`` then ``host:path``) is no address.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b(?!:[^\s:])")
_SSN = re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b")
_DIGIT = re.compile(r"\d")  # the SSN, card and IBAN patterns each need one
#: In ASCII text ``\d`` is exactly these bytes, so counting them (a C loop) tells
#: which patterns could match at all: an SSN needs 9 digits, a card number 13, an
#: IBAN 15 characters of ``[A-Z0-9]``.
_ASCII_DIGITS = b"0123456789"
_IBAN_CHARACTERS = _ASCII_DIGITS + b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SSN_DIGITS, _CARD_DIGITS, _IBAN_LENGTH = 9, 13, 15


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card_network(digits: str) -> bool:
    """Card networks' numbers start with 2 to 6 (any script's digits count)."""
    return 2 <= int(digits[0]) <= 6


def _iban_ok(text: str) -> bool:
    moved = text[4:] + text[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def personal_data(text: str) -> list[str]:
    """Kinds of personal data found in ``text`` (validated, not just pattern-shaped)."""
    kinds = []
    # Each pattern needs an "@", a "-" or a digit: without one its scan is skipped.
    if "@" in text and _EMAIL.search(text):
        kinds.append("email address")
    if text.isascii():
        raw = text.encode("ascii")
        digits = len(raw) - len(raw.translate(None, _ASCII_DIGITS))
        if not digits:
            return kinds
        ssn, card = digits >= _SSN_DIGITS, digits >= _CARD_DIGITS
        iban = len(raw) - len(raw.translate(None, _IBAN_CHARACTERS)) >= _IBAN_LENGTH
    elif not _DIGIT.search(text):
        return kinds
    else:
        ssn = card = iban = True  # other scripts have digits too: scan
    if ssn and "-" in text and _SSN.search(text):
        kinds.append("social security number")
    for match in _CARD.finditer(text) if card else ():
        digits_found = re.sub(r"\D", "", match.group())
        # Card networks' numbers start with 2-6; a millisecond timestamp, a snowflake
        # id (1...) or an ISBN (978...) passes Luhn one time in ten but is no card.
        if 13 <= len(digits_found) <= 19 and _card_network(digits_found) and _luhn(digits_found):
            kinds.append("payment card number")
            break
    if iban and any(_iban_ok(m.group()) for m in _IBAN.finditer(text)):
        kinds.append("IBAN")
    return kinds


def _destination_hosts(action: ActionView) -> list[str]:
    hosts = []
    for url in action.urls:
        info = url_info(action, url)
        hosts.append(url if isinstance(info, MalformedInputError) else info.host.host)
    return hosts


_RECIPIENT_KEYS = frozenset(
    {"to", "cc", "bcc", "recipient", "recipients", "from", "sender", "reply_to", "email"}
)


def _recipient_domains(payload: Mapping[str, Any]) -> list[str]:
    """The domains of the addresses a message is sent to (``to``, ``cc``...)."""
    domains: list[str] = []
    for key, value in payload.items():
        if str(key).lower() not in _RECIPIENT_KEYS:
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                domains += [m.group(1).lower() for m in _ADDRESS_DOMAIN.finditer(item)]
    return domains


_ADDRESS_DOMAIN = re.compile(r"[A-Za-z0-9._%+-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")


def title_iii_privacy(action: ActionView, used: list[str]) -> list[Finding]:
    outward = action.action_type in {"call_external_api", "send_message"} or (
        action.shell is not None and ShellRisk.NETWORK in _risks(action)
    )
    if action.action_type == "process_personal_data":
        return [
            Finding(
                "civil.III.privacy",
                Decision.REQUIRE_APPROVAL,
                "Title III (Privacy): processing personal data needs approval",
                Severity.MEDIUM,
            )
        ]
    if not outward:
        return []
    text, recipients = action.payload_text, []
    if action.action_type == "send_message":
        # Whom a message goes to is where it goes, not personal data it discloses.
        recipients = _recipient_domains(action.payload)
        if recipients:
            text = canonical_text(
                {k: v for k, v in action.payload.items() if str(k).lower() not in _RECIPIENT_KEYS}
            )
    kinds = personal_data(text)
    if not kinds:
        return []
    trusted = _ctx_list(action.agent_ctx, "trusted_domains")
    hosts = _destination_hosts(action) + recipients
    if trusted and hosts and all(net.host_allowed(h, trusted) for h in hosts):
        used.append("trusted_domains")
        return []
    return [
        Finding(
            "civil.III.privacy",
            Decision.DENY,
            f"Title III (Privacy): {', '.join(kinds)} sent to "
            f"{', '.join(hosts) or 'an unlisted destination'} outside trusted_domains",
            Severity.HIGH,
            override_key="trusted_domains",
        )
    ]


# --- Title IV: Communication -------------------------------------------------------

_CHANNEL_KEYS = ("channel", "platform", "medium", "service")


def _channel(action: ActionView) -> str:
    for key in _CHANNEL_KEYS:
        value = action.payload.get(key)
        if isinstance(value, str) and value:
            return value.strip().lower()
    requested = action.requested_type.strip().lower()
    for name in ("email", "sms", "slack", "teams", "discord", "tweet", "whatsapp"):
        if name in requested:
            return name
    return "message"


def title_iv_communication(action: ActionView, used: list[str]) -> list[Finding]:
    if action.action_type != "send_message":
        return []
    channel = _channel(action)
    allowed = [c.lower() for c in _ctx_list(action.agent_ctx, "communication_channels")]
    if channel in allowed or "*" in allowed:
        used.append("communication_channels")
        return []
    return [
        Finding(
            "civil.IV.communication",
            Decision.REQUIRE_APPROVAL,
            f"Title IV (Communication): sending on channel {channel!r} needs approval",
            Severity.MEDIUM,
            override_key="communication_channels",
        )
    ]


# --- Titles V-X ----------------------------------------------------------------------


def title_v_subagents(action: ActionView, used: list[str]) -> list[Finding]:
    if action.action_type != "spawn_agent":
        return []
    if _ctx_true(action.agent_ctx, "can_spawn_agents"):
        used.append("can_spawn_agents")
        return []
    return [
        Finding(
            "civil.V.subagents",
            Decision.REQUIRE_APPROVAL,
            "Title V (Sub-agents): spawning or delegating to another agent needs approval",
            Severity.MEDIUM,
            override_key="can_spawn_agents",
        )
    ]


def _names_stratum(text: str) -> bool:
    """Whether the text names a ``stratum+tcp://`` URL, in any case. Lowering ASCII
    text changes only letters: without a "+" and a "://" as written, there is none
    (and the copy that ``lower`` makes is skipped)."""
    if text.isascii() and ("+" not in text or "://" not in text):
        return False
    return "stratum+tcp://" in text.lower()


def title_vi_resources(action: ActionView, used: list[str]) -> list[Finding]:
    mining = ShellRisk.CRYPTO_MINING in _risks(action) or _names_stratum(action.payload_text)
    if not mining:
        return []
    if _ctx_true(action.agent_ctx, "mining_authorized"):
        used.append("mining_authorized")
        return []
    return [
        Finding(
            "civil.VI.resources",
            Decision.DENY,
            "Title VI (Resources): cryptocurrency mining",
            Severity.HIGH,
            override_key="mining_authorized",
        )
    ]


def title_vii_physical(action: ActionView, used: list[str]) -> list[Finding]:
    if action.action_type != "physical_action":
        return []
    allowed = _ctx_list(action.agent_ctx, "physical_actions")
    name = next(
        (
            str(action.payload[k])
            for k in ("action", "command", "operation", "name")
            if isinstance(action.payload.get(k), str)
        ),
        "",
    )
    if not allowed:
        return [
            Finding(
                "civil.VII.physical",
                Decision.DENY,
                "Title VII (Physical): physical actions are denied unless "
                "agent_ctx['physical_actions'] lists them",
                Severity.HIGH,
                override_key="physical_actions",
            )
        ]
    if name in allowed:
        used.append("physical_actions")
        return []
    return [
        Finding(
            "civil.VII.physical",
            Decision.REQUIRE_APPROVAL,
            f"Title VII (Physical): {name or 'this action'!r} is not in physical_actions",
            Severity.MEDIUM,
            override_key="physical_actions",
        )
    ]


def title_viii_security(action: ActionView, used: list[str]) -> list[Finding]:
    if ShellRisk.SECURITY_TOOL not in _risks(action):
        return []
    if _ctx_true(action.agent_ctx, "security_testing_authorized"):
        used.append("security_testing_authorized")
        return []
    return [
        Finding(
            "civil.VIII.security",
            Decision.DENY,
            "Title VIII (Security): offensive security tooling without authorization",
            Severity.HIGH,
            override_key="security_testing_authorized",
        )
    ]


_BYPASS_KEYS = frozenset(
    {
        "skip_constitution",
        "skip_firewall",
        "skip_policy",
        "skip_civil_code",
        "bypass_governance",
        "disable_governance",
        "canopy_disabled",
        "governance_override",
    }
)


def title_ix_governance(action: ActionView, used: list[str]) -> list[Finding]:
    reasons = []
    if ShellRisk.GOVERNANCE_TAMPER in _risks(action):
        reasons.append("the command touches Canopy's ledger, keys, policy or settings")
    if action.action_type == "modify_governance":
        reasons.append("the action modifies governance")
    asked = [k for k in action.agent_ctx if str(k).lower() in _BYPASS_KEYS]
    if asked:
        reasons.append(f"the agent context asks to bypass governance ({', '.join(sorted(asked))})")
    if not reasons:
        return []
    return [
        Finding(
            "civil.IX.governance",
            Decision.DENY,
            f"Title IX (Governance): {'; '.join(reasons)}",
            Severity.CRITICAL,
        )
    ]


_COMPUTE_KEYS = {"gpu_hours": 8, "gpus": 4, "instances": 10, "nodes": 10, "cpu_hours": 100}


def title_x_sustainability(action: ActionView, used: list[str]) -> list[Finding]:
    heavy = []
    for key, threshold in _COMPUTE_KEYS.items():
        value = action.payload.get(key)
        if value is None:
            continue  # the usual answer, without the isinstance checks
        if isinstance(value, int | float) and not isinstance(value, bool) and value > threshold:
            heavy.append(f"{key}={value}")
    if action.requested_type.strip().lower() in {"train_model", "provision_compute"}:
        heavy.append(action.requested_type)
    if not heavy:
        return []
    if _ctx_true(action.agent_ctx, "high_compute_authorized"):
        used.append("high_compute_authorized")
        return []
    return [
        Finding(
            "civil.X.sustainability",
            Decision.REQUIRE_APPROVAL,
            f"Title X (Sustainability): high compute ({', '.join(heavy)}) needs approval",
            Severity.LOW,
            override_key="high_compute_authorized",
        )
    ]


TITLES: tuple[Title, ...] = (
    title_i_autonomy,
    title_ii_financial,
    title_iii_privacy,
    title_iv_communication,
    title_v_subagents,
    title_vi_resources,
    title_vii_physical,
    title_viii_security,
    title_ix_governance,
    title_x_sustainability,
)


class CivilCode:
    name = LayerName.CIVIL_CODE

    def __init__(self, titles: Iterable[Title] = TITLES) -> None:
        self.titles = tuple(titles)

    def evaluate(self, action: ActionView, context: LayerContext) -> Verdict:
        used: list[str] = []
        findings = [f for title in self.titles for f in title(action, used)]
        return Verdict.from_findings(self.name, findings, tuple(dict.fromkeys(used)))
