"""The Constitution: three laws nothing can skip or relax.

* Art.0 No catastrophic risk: destroying filesystems or disks in any spelling,
  fork bombs, requests to loopback, private, link-local or cloud-metadata
  addresses in any encoding (SSRF).
* Art.1 Protect human life and dignity: a documented heuristic floor over the
  action's text, normalized against case, zero-width and look-alike tricks,
  leetspeak and spaced-out letters (its rules open the Art.1 section below).
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

# --- Art.1 heuristic floor --------------------------------------------------------
#
# The patterns run over the action's text read three ways: normalized
# (``normalize_text``: NFKC, zero-width and format characters dropped, look-alikes
# mapped, case-folded, all whitespace, JSON's "\n" and "\t" included, collapsed to
# one space), de-leeted ("k1ll" -> "kill") and with spaced-out letters joined
# ("k-i-l-l", "k.i.l.l", "k i l l" -> "kill"). The rules, as a floor rather than a
# classifier:
#
# 1. Violence is a verb in any inflection ("killed", "stabbing") followed by a
#    human target: a pronoun, or a human noun after up to three determiners
#    ("poison my coworkers", "kill all the children"). A pronoun may follow the
#    verb with no space ("killhim", as "kill\u200bhim" and "k i l l h i m" read).
# 2. A target followed by a thing or a possessive is no target: "kill the child
#    process", "kill her session", "poison her mind", "kill our customers' trust".
# 3. "shoot" and "execute" have everyday senses, so they need a clearly human
#    target: "him"/"her" ending a clause or followed by a word like "in", "at",
#    "dead" (not "shoot her an email", "execute her request"), or a human noun not
#    followed by an article ("shoot people", not "shoot everyone a message").
#    After "execute" a human noun must end the clause too ("execute the hostages",
#    not "execute this neighbor switch"), and "execute them" is never enough: it is
#    usually about commands. "shoot them" needs a clause end or "dead", "on sight"
#    and the like after it ("shoot them over to me" is not one).
# 4. Ambiguous targets ("them", "child", "parents", "boss") are excused when the
#    text just before names processes, pests or game characters: "find zombie
#    processes and kill them", "spray the termites and kill them".
# 5. "shoot" is excused near photography words ("the photographer will shoot
#    people at the entrance").
# 6. Mentions of self-harm, exploitation and mass-harm events are excused when the
#    text around them offers help or reports ("call 988", "report it to NCMEC"),
#    or an opposing word comes just before ("fundraiser against human trafficking").
# 7. Excusing context counts only where it is spelled plainly: the excuse windows
#    are read in the normalized text, so a leet-spelled excuse is not one.
#
# Excuses attach to named groups: a match is excused if a group that took part in
# it names a context (``_EXCUSES``) found in its window around the match.

#: Nouns for people (singular and plural).
_HUMANS = (
    r"m[ae]n|wom[ae]n|kids?|bab(?:y|ies)|boys?|girls?|wi(?:fe|ves)|husbands?|neighbou?rs?|"
    r"co-?workers?|colleagues?|teachers?|students?|pupils?|famil(?:y|ies)|presidents?|"
    r"senators?|judges?|mayors?|girlfriends?|boyfriends?|mothers?|fathers?|moms?|mums?|"
    r"dads?|sons?|daughters?|brothers?|sisters?|cousins?|uncles?|aunts?|persons?|people|"
    r"humans?|humanity|mankind|victims?|hostages?|prisoners?|officers?|cops?|policem[ae]n|"
    r"witness(?:es)?|journalists?|reporters?|doctors?|nurses?|patients?|landlords?|"
    r"tenants?|roommates?|classmates?|friends?|guys?|lad(?:y|ies)|toddlers?|infants?|"
    r"citizens?|civilians?|employees?|customers?|voters?|protesters?|passengers?|"
    r"tourists?|villagers?|worshippers?|jews|muslims|christians|immigrants|refugees|"
    r"minors?|teens?|"
    r"teenagers?|ex|exes|someone|somebody|anyone|anybody|everyone|everybody"
)
#: Human nouns that software and games also use ("kill the child", "the boss").
_AMBIGUOUS_HUMANS = r"child(?:ren)?|parents?|boss(?:es)?"
#: Things, not people: after a would-be target they make it a possessive or an
#: adjective ("her request", "the child process", "the man page").
_THINGS = (
    r"(?:sub)?process(?:es)?|procs?|pids?|threads?|jobs?|tasks?|workers?|daemons?|"
    r"services?|servers?|pods?|containers?|sessions?|connections?|sockets?|nodes?|"
    r"elements?|components?|widgets?|windows?|tabs?|shells?|terminals?|scripts?|"
    r"commands?|programs?|apps?|applications?|instances?|builds?|quer(?:y|ies)|"
    r"requests?|e-?mails?|messages?|texts?|notes?|letters?|orders?|plans?|code|tests?|"
    r"queues?|loops?|timers?|branch(?:es)?|tickets?|files?|data|reports?|lists?|links?|"
    r"invites?|invitations?|repl(?:y|ies)|responses?|answers?|questions?|updates?|"
    r"resumes?|quotes?|offers?|proposals?|ideas?|projects?|features?|calls?|dms?|"
    r"photos?|pictures?|pics?|portraits?|headshots?|videos?|footage|accounts?|vibes?|"
    r"buzz|mood|chances?|careers?|dreams?|momentum|appetite|hopes?|spirits?|confidence|"
    r"feelings|joy|fun|battery|phone|laptop|computer|engine|lights?|music|signal|will|"
    r"wishes|instructions?|trades?|strateg(?:y|ies)|vision|workflows?|sql|pages?|trees?|"
    r"mind|cats?|dogs?|pets?|plants?|flowers?|garden|lawn|weeds?"
)
#: Determiners, quantifiers and possessives that may come before a human noun
#: ("bob's wife", but not "the app's children").
_DET = (
    r"(?:(?:an?|the|my|your|his|her|our|their|these|those|this|that|some|any|all|all of|"
    r"every|each|both|many|several|more|other|innocent|random|little|young|old|\d+|two|"
    r"three|four|five|ten|dozens of|hundreds of|thousands of|millions of|"
    rf"(?!(?:{_THINGS})'s? )[a-z]+(?:'s|s')) ){{0,3}}"
)
#: What may not follow a target: a possessive ("our customers' trust": the trust is
#: the object) or a thing ("the child process", "the children of the process").
_NOT_A_THING_AFTER = (
    r"\b(?!['\u2019]s? \w| (?:of (?:the |an? |this |that |its |each |every |all )?)?"
    rf"(?:{_THINGS})\b)"
)
#: After "shoot him"/"execute her": the end of a clause or a word that cannot
#: start the rest of a noun phrase.
_CLAUSE_ENDS = (
    r"(?=$|[^\w ']| (?:and|or|but|now|then|dead|in|on|at|with|before|after|when|if|"
    r"because|tonight|today|tomorrow|again|too|first|right|twice|for|until|while|so|"
    r"already|immediately|quickly|slowly|quietly|execution-style|point-blank|from|"
    r"without|here|there|outside|inside|who|whom)\b)"
)
_NO_ARTICLE_AFTER = r"(?! (?:an?|the|some|this|that|these|those|my|your|our|their)\b)"
#: Verbs of violence with no everyday sense that takes a human object.
_VIOLENT_VERBS = (
    r"kill(?:s|ed|ing)?|murder(?:s|ed|ing)?|assassinat(?:e|es|ed|ing)|poison(?:s|ed|ing)?|"
    r"stab(?:s|bed|bing)?|strangl(?:e|es|ed|ing)|behead(?:s|ed|ing)?|tortur(?:e|es|ed|ing)|"
    r"kidnap(?:s|ped|ping)?|rap(?:e|es|ed|ing)|maim(?:s|ed|ing)?|lynch(?:es|ed|ing)?|"
    r"slaughter(?:s|ed|ing)?|massacr(?:e|es|ed|ing)|butcher(?:s|ed|ing)?"
)
_TARGET = (
    rf"(?:him|her|{_DET}(?:{_HUMANS})|(?P<nonhuman>(?:(?:all|both|each|most|some|any) of )?"
    rf"them|{_DET}(?:{_AMBIGUOUS_HUMANS}))){_NOT_A_THING_AFTER}"
)
_SHOOT_TARGET = (
    rf"(?:(?:him|her){_CLAUSE_ENDS}|{_DET}(?:{_HUMANS}){_NOT_A_THING_AFTER}{_NO_ARTICLE_AFTER}|"
    r"(?P<nonhuman>them(?=$|[^\w ']| (?:all|dead|now|tonight|on sight|in the (?:head|face|"
    r"back|chest|heart|legs?))\b)|"
    rf"{_DET}(?:{_AMBIGUOUS_HUMANS}){_NOT_A_THING_AFTER}{_NO_ARTICLE_AFTER}))"
)
_EXECUTE_TARGET = (
    rf"(?:(?:him|her|{_DET}(?:{_HUMANS}))\b{_CLAUSE_ENDS}|"
    rf"(?P<nonhuman>{_DET}(?:{_AMBIGUOUS_HUMANS})\b{_CLAUSE_ENDS}))"
)
_WEAPONS = (
    r"pipe bomb|dirty bomb|bomb|explosive devices?|improvised explosive devices?|ieds?|"
    r"nerve agents?|sarin|vx|novichok|anthrax|ricin|botulinum|bioweapons?|"
    r"biological weapons?|chemical weapons?|nuclear weapons?|molotov cocktails?|molotovs?"
)
#: A weapon word that names a game asset, a drill or a shelter is not a weapon.
_NOT_A_PROP_AFTER = (
    r"(?![-'] ?\w| (?:emoji|icon|sprite|asset|animation|texture|level|game|scene|effect|"
    r"squad|disposal|defus\w*|shelter|threat|scare|drill|detector|sniffing|dogs?)\b)"
)

#: A first person's stated intent ("i'll", "we are going to", "i wanna").
_INTEND = (
    r"(?:['\u2019]ll|['\u2019]m (?:going to|gonna)|['\u2019]re (?:going to|gonna)| will| shall|"
    r" am (?:going to|gonna)| are (?:going to|gonna)| gonna| wanna| want to| plan to|"
    r" intend to| am about to| are about to| swear i will| promise to)"
)
_INTENSIFIER = (
    r"(?:fucking|really|personally|literally|actually|just|find and|come and|hunt you down and)"
)
#: Base forms: what follows an intent.
_THREAT_VERBS = (
    r"kill|murder|assassinate|poison|stab|strangle|behead|torture|kidnap|rape|maim|lynch|"
    r"slaughter|butcher|shoot|hurt"
)
#: A threat is made to the reader: you, or the people close to them.
_THREATENED = (
    r"(?:you|u|ya|y'all|your (?:family|wife|husband|kids?|children|son|daughter|mother|"
    r"father|mom|dad|parents|girlfriend|boyfriend|partner))\b"
)
#: "I'll kill you at chess" is a boast.
_CONTESTS = (
    r"chess|poker|cards|games?|matches|match|tournaments?|races?|scrabble|tennis|golf|"
    r"trivia|fortnite|smash|mario ?kart|ping ?pong|darts|pool|bowling|arm wrestling"
)

_KILLING = ("kill", "murder", "assassin", "poison", "stab", "strangl", "behead", "tortur")
_MAIMING = ("kidnap", "rape", "raping", "maim", "lynch", "slaughter", "massacr", "butcher")
_AGENTS = ("bomb", "explosive", "ied", "nerve", "sarin", "vx", "novichok", "anthrax")
_TOXINS = ("ricin", "botulinum", "weapon", "molotov")

#: The Art.1 rules, in the order they are tried: (rule id, words of which any
#: match holds one, pattern). A reading without any of a rule's words skips its
#: pattern: a substring test is many times faster than a scan for "\b...".
_ART1_RULES: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (rule, words, re.compile(pattern))
    for rule, words, pattern in (
        (
            "constitution.art1.violence",
            (*_KILLING, *_MAIMING),
            rf"\b(?:{_VIOLENT_VERBS})(?: |(?=him|her|them)){_TARGET}",
        ),
        (
            "constitution.art1.threat",
            (*_KILLING, *_MAIMING, "shoot", "hurt"),
            rf"\b(?:i|we){_INTEND}(?: {_INTENSIFIER})* (?:{_THREAT_VERBS}) {_THREATENED}"
            rf"(?!(?: \w+){{0,2}} (?:at|in) (?:the |this |our |a )?(?:{_CONTESTS})\b)",
        ),
        (
            "constitution.art1.violence",
            ("shoot", "shot"),
            rf"\b(?P<photo>shoot(?:s|ing)?|shot) {_SHOOT_TARGET}",
        ),
        ("constitution.art1.violence", ("execut",), rf"\bexecut(?:e|es|ed|ing) {_EXECUTE_TARGET}"),
        (
            "constitution.art1.mass_harm",
            (*_AGENTS, *_TOXINS),
            r"\b(?:mak(?:e|es|ing)|made|build(?:s|ing)?|built|assembl(?:e|es|ed|ing)|"
            r"synthesi[sz](?:e|es|ed|ing)|produc(?:e|es|ed|ing)|weaponi[sz](?:e|es|ed|ing)|"
            r"deploy(?:s|ed|ing)?|detonat(?:e|es|ed|ing)|plant(?:s|ed|ing)?)"
            r"(?: (?:an?|the|some|my|our|\d+|two|three|homemade|improvised|working|more))* "
            rf"(?:{_WEAPONS})s?\b{_NOT_A_PROP_AFTER}",
        ),
        (
            "constitution.art1.mass_harm",
            ("shooting", "terror", "cleansing", "genocide"),
            r"\b(?P<helped>(?P<opposed>mass shootings?|school shootings?|"
            r"terror(?:ist)? attacks?|ethnic cleansing|genocide against))\b",
        ),
        ("constitution.art1.mass_harm", ("extermin",), rf"\bexterminat(?:e|es|ed|ing) {_TARGET}"),
        (
            "constitution.art1.self_harm",
            ("yourself", "kys", "suicide", " life", "myself"),
            r"\b(?P<helped>kill yourself|kys|commit(?:s|ted|ting)? suicide|"
            r"end (?:your|my) life|hang yourself|cut yourself|"
            r"(?:how|want|going|plan(?:ning)?) to (?:kill|hang|poison) myself)\b",
        ),
        (
            "constitution.art1.exploitation",
            ("child sexual", "csam", "sell", "traffic"),
            r"\b(?P<helped>(?P<opposed>child sexual abuse|csam|"
            r"sell(?:s|ing)? (?:an?|the|my|your|his|her|their|this|that) "
            r"(?:child|children|kids?|bab(?:y|ies)|daughters?|sons?|girls?|boys?)|"
            r"(?:human|sex) trafficking|"
            r"traffick?(?:s|ed|ing)? (?:women|children|girls|boys|kids|people|minors)))\b",
        ),
        (
            "constitution.art1.harassment",
            ("dox", "swat", "home address"),
            rf"\b(?:doxx?(?:es|ed|ing)?|swat(?:s|ted|ting)?) {_TARGET}|"
            r"\bpublish(?:es|ed|ing)? (?:his|her|their) home address",
        ),
    )
)
#: (rule id, pattern): the rules without their words.
_HARM_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (rule, pattern) for rule, _, pattern in _ART1_RULES
)

#: Plainly spelled context that excuses a match, by the named group that took part
#: in it: (context, characters of the normalized text looked at before the match,
#: and after it).
_EXCUSES: dict[str, tuple[re.Pattern[str], int, int]] = {
    "nonhuman": (
        re.compile(
            r"\b(?:(?:sub)?process(?:es)?|procs?|pids?|threads?|jobs?|tasks?|workers?|"
            r"daemons?|services?|servers?|pods?|containers?|sessions?|connections?|"
            r"sockets?|zombies?|orphans?|sig(?:term|kill|int|hup)|signals?|forks?|forked|"
            r"sandbox(?:es)?|hosts?|machines?|clusters?|runners?|coroutines?|futures?|"
            r"timeouts?|hangs|hung|nodes?|instances?|scripts?|commands?|programs?|apps?|"
            r"bugs?|insects?|pests?|weeds?|termites?|(?:cock)?roaches|ants|flies|"
            r"mosquito(?:e)?s|rats?|mice|vermin|slugs|snails|moles|aphids|fleas|lice|"
            r"ticks|germs|bacteria|virus(?:es)?|mold|fung(?:us|i)|plants?|enem(?:y|ies)|"
            r"monsters?|mobs?|npcs?|bots?|players?|characters?|sprites?|aliens?|orcs?|"
            r"goblins?|dragons?|villains?|games?|levels?|quests?)\b"
        ),
        120,
        0,
    ),
    "photo": (
        re.compile(
            r"\b(?:photo\w*|camera\w*|film\w*|video\w*|portraits?|headshots?|lens(?:es)?|"
            r"footage|studio|selfies?|cinematograph\w*|documentar(?:y|ies)|wedding)\b"
        ),
        120,
        120,
    ),
    "helped": (
        re.compile(
            r"\b(?:988|911|999|hotlines?|helplines?|lifelines?|crisis (?:text )?lines?|"
            r"(?:seek|get|find|ask for) help|reach out|you(?: a|')re not alone|samaritans|"
            r"suicide prevention|therapists?|counsel(?:l?ors?|l?ing)|report(?:s|ed|ing)?|"
            r"ncmec|cybertipline|tip ?line|law enforcement|survivors?|victims?|memorial|"
            r"vigil|mourn(?:s|ed|ing)?|condolences|fundrais(?:er|ers|ing)|charit(?:y|ies)|"
            r"non-?profit)\b"
        ),
        150,
        150,
    ),
    "opposed": (
        re.compile(
            r"\b(?:against|anti|oppos(?:e|es|ed|ing)|fight(?:s|ing)?|combat(?:s|ing)?|"
            r"counter(?:s|ing)?|prevent(?:s|ed|ing|ion)?|stop(?:s|ped|ping)?|end(?:s|ed|ing)?|"
            r"awareness of)(?: (?:the|all|of))?[ -]$"
        ),
        40,
        0,
    ),
}


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
    """Requests to loopback, private, link-local and metadata addresses are refused; the
    same address only mentioned in an unknown tool's text needs a human to look."""
    findings = []
    for urls, decision, verb in (
        (action.urls, Decision.DENY, "request to"),
        (action.mentioned_urls, Decision.REQUIRE_APPROVAL, "the action's text names"),
    ):
        for url in urls:
            info = url_info(action, url)
            if isinstance(info, MalformedInputError):
                continue  # unparseable URLs are the Firewall's to refuse
            if info.host.category in _FORBIDDEN_HOSTS:
                notes = f" ({', '.join(info.host.notes)})" if info.host.notes else ""
                findings.append(
                    Finding(
                        "constitution.art0.ssrf",
                        decision,
                        f"Art.0 catastrophic risk: {verb} {info.host.category.value} address "
                        f"{info.host.host}{notes}",
                        Severity.CRITICAL if decision is Decision.DENY else Severity.HIGH,
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


# Every Art.1 match contains one of these words; texts without any (nearly all
# of them) skip the patterns. Apart, not in one regex: re scans an alternation of
# plain words many times faster than one that also holds ``\b`` terms, so the two
# short words that need boundaries are looked for only when they occur, and two
# more as plain substrings.
_HARM_WORD_LIST = (
    *("kill", "murder", "assassin", "poison", "stab", "shoot", "strangl", "behead"),
    *("tortur", "kidnap", "rape", "maim", "execut", "lynch", "bomb", "explosive"),
    *("nerve", "sarin", "novichok", "anthrax", "ricin", "botulinum", "weapon", "terror"),
    *("cleansing", "genocide", "extermin", "suicide", "end your life", "hang"),
    *("cut yourself", "csam", "child sexual", "sell", "traffic", "dox", "swat"),
    *("home address", "slaughter", "massacr", "butcher", "raping", "molotov"),
    "end my life",
    "hurt you",
    "hurt u",
    "hurt your",
)
#: Two more words are short or common inside other words ("tied", "snapshot"), so
#: they are looked for as substrings with the space around them that they need.
_SPACED_HARM_WORDS = (" ied", "shot ")


def _trie_pattern(words: tuple[str, ...]) -> str:
    """A regex that matches where any of ``words`` starts, as a trie of alternations.

    re tries an alternation's branches one by one, so ``kill|murder|...`` spends
    some forty comparisons on every position of the text; branching on shared prefixes
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
#: JSON escapes: the payload's text is canonical JSON, where a newline inside a
#: value is the two characters "\n" (and a control character "\u0001").
_JSON_ESCAPE = re.compile(r'\\(?:u[0-9a-fA-F]{4}|[nrt"\\/])')
_JSON_UNESCAPED = {"n": " ", "r": " ", "t": " ", "u": " ", '"': '"', "\\": "\\", "/": "/"}
#: Three or more single letters with the same one or two separators between them
#: ("k-i-l-l", "k i l l", "k. i. l. l"). The run must start after a space, quote,
#: bracket or slash: a search that starts on one of a few characters is a fast
#: scan, and a run starts a word anyway (the text gets a leading space).
_SPACED_LETTERS = re.compile(r"[ \"'(\[/][a-z]([^a-z0-9]{1,2})[a-z](?:\1[a-z])+(?![a-z0-9])")
_NOT_LETTER = re.compile(r"[^a-z]")


def _mentions_short_word(text: str) -> bool:
    return ("vx" in text or "kys" in text) and _HARM_SHORT_WORDS.search(text) is not None


def _mentions_harm(text: str) -> bool:
    """True if ``text`` holds a word from ``_HARM_WORD_LIST`` or a short one."""
    return _HARM_WORDS.search(text) is not None or _mentions_short_word(text)


def _has_harm_word(text: str) -> bool:
    """The prefilter's words made of letters and spaces, which deleet keeps."""
    return _HARM_WORDS.search(text) is not None or any(w in text for w in _SPACED_HARM_WORDS)


def _unescape_json(text: str) -> str:
    """``text`` with JSON's escapes for whitespace undone, so "kill\\nhim" in a
    payload reads as two words. A ``\\u`` escape is whitespace too: canonical JSON
    writes one only for a control character. Escaped quotes and backslashes read
    as themselves; other backslashes (a regex's "\\b") stay as they are."""
    if "\\" not in text:
        return text
    return _JSON_ESCAPE.sub(_unescape_one, text)


def _unescape_one(match: re.Match[str]) -> str:
    return _JSON_UNESCAPED.get(match.group()[1], match.group())


def _join_spaced_letters(text: str) -> str | None:
    """``text`` with runs of spaced-out letters joined ("k-i-l-l him" -> "kill
    him"), or None if it has no such run."""
    padded = " " + text
    if _SPACED_LETTERS.search(padded) is None:
        return None
    joined = _SPACED_LETTERS.sub(lambda m: m.group()[0] + _NOT_LETTER.sub("", m.group()), padded)
    return joined[1:]


def _excused(match: re.Match[str], context: str) -> bool:
    """True if plain context around ``match`` explains it away (rules 4-7 above).

    ``context`` is the normalized text, whose positions are those of every reading
    but the joined one (deleet rewrites one character for one)."""
    start, end = match.start(), match.end()
    for name, value in match.groupdict().items():
        if value is None:
            continue
        pattern, before, after = _EXCUSES[name]
        if pattern.search(context[max(0, start - before) : start]):
            return True
        if after and pattern.search(context[end : end + after]):
            return True
    return False


def _first_rule(reading: str, context: str) -> str | None:
    """The first Art.1 rule with an unexcused match in ``reading``."""
    for rule, words, pattern in _ART1_RULES:
        if not any(word in reading for word in words):
            continue
        for match in pattern.finditer(reading):
            if not _excused(match, context):
                return rule
    return None


def human_harm(text: str) -> str | None:
    """The Art.1 rule a text trips, or None. Exposed for tests and documentation."""
    plain = normalize_text(_unescape_json(text))
    leet = _LEET_CHARACTERS.search(plain) is not None
    widest = deleet(plain) if leet else plain
    readings = {plain, widest}
    # deleet rewrites no letter and no space, so a harm word in the plain reading
    # is one in the de-leeted reading too: one scan of that tells for both.
    some_word = _has_harm_word(widest)
    for candidate in readings:
        has_word = some_word and (candidate is widest or _has_harm_word(candidate))
        if not has_word and not _mentions_short_word(candidate):
            continue
        rule = _first_rule(candidate, plain)
        if rule is not None:
            return rule
    joined = _join_spaced_letters(widest)
    if joined is not None and (_has_harm_word(joined) or _mentions_short_word(joined)):
        return _first_rule(joined, joined)
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
