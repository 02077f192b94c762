"""The Constitution: three laws nothing can skip or relax.

* Art.0 No catastrophic risk: destroying filesystems or disks in any spelling,
  fork bombs, requests to loopback, private, link-local or cloud-metadata
  addresses in any encoding (SSRF).
* Art.1 Protect human life and dignity: a documented heuristic floor over the
  action's text, normalized against case, zero-width and look-alike tricks.
* Art.7 Kill switch: an operator's kill switch recorded in the ledger, or the
  agent's own context asking to stop. An agent cannot switch an operator's
  kill switch off: its context can only add a stop, never remove one.

There is no parameter, context key or policy rule that disables this layer;
``authorize_action`` has no ``skip_constitution`` argument.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from canopy.decisions.action import ActionView
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.paths import PathClass
from canopy.decisions.analyzers.shell_model import ShellRisk
from canopy.decisions.analyzers.text import LEET, deleet, normalize_text
from canopy.decisions.facts import path_verdict, url_info
from canopy.decisions.model import Decision, Finding, LayerName, Severity, Verdict
from canopy.decisions.pipeline import LayerContext
from canopy.errors import MalformedInputError

__all__ = ["CONSTITUTION", "CONSTITUTION_HASH", "Constitution"]

CONSTITUTION: dict[str, Any] = {
    "id": "canopy-constitution",
    "version": "3.0",
    "articles": {
        "Art.0": "No catastrophic risk: no destruction of filesystems or disks, no fork "
        "bombs, no requests to loopback, private, link-local or metadata addresses.",
        "Art.1": "Protect human life and dignity: no action whose text plans or incites "
        "violence against people, weapons of mass harm, self-harm, exploitation or "
        "targeted harassment.",
        "Art.7": "Sovereign kill switch: when an operator or the agent's own context "
        "stops the agent, every action is denied.",
    },
}
#: Recorded with every decision, so a ledger shows which laws were in force.
CONSTITUTION_HASH = hashlib.sha256(
    json.dumps(CONSTITUTION, sort_keys=True, separators=(",", ":")).encode()
).hexdigest()

_FORBIDDEN_HOSTS = frozenset(
    {
        net.HostCategory.LOOPBACK,
        net.HostCategory.PRIVATE,
        net.HostCategory.LINK_LOCAL,
        net.HostCategory.METADATA,
        net.HostCategory.UNSPECIFIED,
        net.HostCategory.LOCAL_NAME,
        net.HostCategory.BROADCAST,
        net.HostCategory.MULTICAST,
        net.HostCategory.RESERVED,
    }
)
_KILL_VALUES = frozenset({"true", "on", "yes", "1", "stop"})

# Art.1 heuristic floor: (rule id, pattern) over normalized, de-leeted text.
_PEOPLE = (
    r"(him|her|them|someone|somebody|anyone|everyone|people|persons?|humans?|"
    r"(a|the|my|your|his|her|our|their) (man|woman|child|kid|baby|wife|husband|boss|"
    r"neighbou?r|coworker|colleague|teacher|student|family|president|senator|judge|"
    r"girlfriend|boyfriend|mother|father|son|daughter|brother|sister)|children|kids|"
    r"civilians|students|voters|jews|muslims|christians|immigrants|refugees)"
)
_HARM_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (rule, re.compile(pattern))
    for rule, pattern in (
        (
            "constitution.art1.violence",
            rf"\b(kill|murder|assassinate|poison|stab|shoot|strangle|behead|torture|"
            rf"kidnap|rape|maim|execute|lynch) {_PEOPLE}\b",
        ),
        (
            "constitution.art1.mass_harm",
            r"\b(make|build|assemble|synthesi[sz]e|produce|weaponi[sz]e|deploy|detonate)"
            r"( an?| the| some)? (pipe bomb|bomb|explosive device|nerve agent|sarin|vx|"
            r"novichok|anthrax|ricin|botulinum|bioweapon|biological weapon|chemical weapon|"
            r"dirty bomb|nuclear weapon)s?\b",
        ),
        (
            "constitution.art1.mass_harm",
            r"\b(mass shooting|school shooting|terror(ist)? attack|ethnic cleansing|"
            r"genocide against|exterminate (all|the))\b",
        ),
        (
            "constitution.art1.self_harm",
            r"\b(kill yourself|kys|commit suicide|end your life|hang yourself|"
            r"cut yourself|how to (kill|hang|poison) myself)\b",
        ),
        (
            "constitution.art1.exploitation",
            r"\b(child sexual abuse|csam|sell (a|the) child|human trafficking|"
            r"traffic (women|children|girls))\b",
        ),
        (
            "constitution.art1.harassment",
            r"\b(doxx?(ing)? (him|her|them|someone)|swat(ting)? (him|her|them|someone)|"
            r"publish (his|her|their) home address)\b",
        ),
    )
)


def _art0_shell(action: ActionView) -> list[Finding]:
    if action.shell is None:
        return []
    findings = []
    for finding in action.shell.findings:
        if finding.risk in (ShellRisk.DESTROY_SYSTEM, ShellRisk.FORK_BOMB):
            rule = "constitution.art0." + finding.risk.value
            reason = f"Art.0 catastrophic risk: {finding.detail}"
            findings.append(Finding(rule, Decision.DENY, reason, Severity.CRITICAL))
    return findings


def _art0_network(action: ActionView) -> list[Finding]:
    findings = []
    for url in action.urls:
        info = url_info(action, url)
        if isinstance(info, MalformedInputError):
            continue  # unparseable URLs are the Firewall's to refuse
        if info.host.category in _FORBIDDEN_HOSTS:
            notes = f" ({', '.join(info.host.notes)})" if info.host.notes else ""
            findings.append(
                Finding(
                    "constitution.art0.ssrf",
                    Decision.DENY,
                    f"Art.0 catastrophic risk: request to {info.host.category.value} address "
                    f"{info.host.host}{notes}",
                    Severity.CRITICAL,
                )
            )
    return findings


def _art0_files(action: ActionView) -> list[Finding]:
    if action.action_type not in {"delete_file", "modify_file"}:
        return []
    findings = []
    for path in action.paths:
        verdict = path_verdict(action, path)
        if isinstance(verdict, MalformedInputError):
            continue
        catastrophic = PathClass.DEVICE in verdict.classes or (
            action.action_type == "delete_file"
            and PathClass.SYSTEM_CRITICAL in verdict.classes
            and len(verdict.path.parts) <= 2
        )
        if catastrophic:
            findings.append(
                Finding(
                    "constitution.art0.destroy_system",
                    Decision.DENY,
                    f"Art.0 catastrophic risk: {action.action_type} on {verdict.path}",
                    Severity.CRITICAL,
                )
            )
    return findings


# Every Art.1 pattern contains one of these words; texts without any (nearly all
# of them) skip the full patterns. Two regexes, not one: re scans an alternation
# of plain words many times faster than one that also holds ``\b`` terms, and the
# two short words that need boundaries are looked for only when they occur.
_HARM_WORD_LIST = (
    *("kill", "murder", "assassin", "poison", "stab", "shoot", "strangl", "behead"),
    *("tortur", "kidnap", "rape", "maim", "execut", "lynch", "bomb", "explosive"),
    *("nerve", "sarin", "novichok", "anthrax", "ricin", "botulinum", "weapon", "terror"),
    *("cleansing", "genocide", "extermin", "suicide", "end your life", "hang"),
    *("cut yourself", "csam", "child sexual", "sell", "traffic", "dox", "swat"),
    "home address",
)


def _trie_pattern(words: tuple[str, ...]) -> str:
    """A regex that matches where any of ``words`` starts, as a trie of alternations.

    re tries an alternation's branches one by one, so ``kill|murder|...`` spends
    38 comparisons on every position of the text; branching on shared prefixes
    (``k(?:idnap|ill)|m(?:aim|urder)``) rejects a position after a couple. Where a
    word ends, its longer siblings are dropped: they contain it, so they find
    nothing more (the regex is only ever asked whether it matches).
    """
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def branch(node: dict) -> str:  # type: ignore[type-arg]
        if "" in node:
            return ""
        alternatives = [re.escape(char) + branch(child) for char, child in sorted(node.items())]
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"

    return branch(trie)


_HARM_WORDS = re.compile(_trie_pattern(_HARM_WORD_LIST))
_HARM_SHORT_WORDS = re.compile(r"\bvx\b|\bkys\b")
#: What ``deleet`` rewrites: a text without any reads the same after it.
_LEET_CHARACTERS = re.compile(f"[{re.escape(''.join(LEET))}]")


def _mentions_short_word(text: str) -> bool:
    return ("vx" in text or "kys" in text) and _HARM_SHORT_WORDS.search(text) is not None


def _mentions_harm(text: str) -> bool:
    """True if ``text`` holds a word that some Art.1 pattern needs (the prefilter)."""
    return _HARM_WORDS.search(text) is not None or _mentions_short_word(text)


def human_harm(text: str) -> str | None:
    """The Art.1 rule a text trips, or None. Exposed for tests and documentation."""
    plain = normalize_text(text)
    leet = _LEET_CHARACTERS.search(plain) is not None
    widest = deleet(plain) if leet else plain
    readings = {plain, widest}
    # deleet rewrites no letter and no space, so a harm word in the plain reading
    # is one in the de-leeted reading too: one scan of that tells for both.
    some_word = _HARM_WORDS.search(widest) is not None
    for candidate in readings:
        has_word = some_word and (candidate is widest or _HARM_WORDS.search(candidate))
        if not has_word and not _mentions_short_word(candidate):
            continue
        for rule, pattern in _HARM_PATTERNS:
            if pattern.search(candidate):
                return rule
    return None


def _art1(action: ActionView, extra_text: str) -> list[Finding]:
    rule = human_harm(action.payload_text + "\n" + extra_text)
    if rule is None:
        return []
    return [
        Finding(
            rule,
            Decision.DENY,
            "Art.1 human life and dignity: the action's text plans or incites harm to people",
            Severity.CRITICAL,
        )
    ]


def _art7(action: ActionView, context: LayerContext) -> list[Finding]:
    findings = []
    flag = action.agent_ctx.get("kill_switch")
    if flag is True or (isinstance(flag, str) and flag.strip().lower() in _KILL_VALUES):
        findings.append(
            Finding(
                "constitution.art7.context",
                Decision.DENY,
                "Art.7 kill switch: the agent's context says stop",
                Severity.CRITICAL,
            )
        )
    if context.kill_switch_reason:
        findings.append(
            Finding(
                "constitution.art7.operator",
                Decision.DENY,
                f"Art.7 kill switch: {context.kill_switch_reason}",
                Severity.CRITICAL,
            )
        )
    return findings


class Constitution:
    name = LayerName.CONSTITUTION

    def evaluate(self, action: ActionView, context: LayerContext) -> Verdict:
        findings = [
            *_art7(action, context),
            *_art0_shell(action),
            *_art0_network(action),
            *_art0_files(action),
            *_art1(action, context.agent_text),
        ]
        return Verdict.from_findings(self.name, findings)
