"""Each shortcut on the decision path answers exactly as the plain computation.

The decision path skips work where it can prove the answer: ASCII fast paths
for text folding, digit counts before the personal-data scans, one harm-word
scan for both readings of a text, lstat skipped below a missing component,
policy answers fixed at compile time, and a combine that does not rank a single
finding. Every test here runs the shortcut against the plain code it replaces.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections import deque
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_decision_caches import _personal_data_reference

from canopy.decisions import civil_code, constitution
from canopy.decisions.analyzers import paths, text
from canopy.decisions.extract import build_action_view
from canopy.decisions.model import (
    Decision,
    DecisionOutcome,
    Finding,
    LayerName,
    Severity,
    Verdict,
)
from canopy.decisions.pipeline import _LIFTABLE, _allowed, _precedence, combine
from canopy.decisions.policy import PRODUCTION_POLICY, load_policy
from canopy.decisions.policy.evaluate import _apply_all
from canopy.decisions.policy.facts import Facts

# --- text folding: ASCII fast paths ----------------------------------------------------


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_ascii_normalize_text_is_the_general_fold(value: str) -> None:
    assert text.normalize_text(value) == " ".join(text._fold(value).split())


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=60) | st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_deleet_is_the_translation_table(value: str) -> None:
    assert text.deleet(value) == value.translate(text._LEET_TABLE)


# --- Art.1: one harm-word scan for both readings ------------------------------------------


def _human_harm_reference(value: str) -> str | None:
    """human_harm before the shortcut: each reading scanned on its own."""
    plain = text.normalize_text(value)
    readings = (
        {plain, text.deleet(plain)} if constitution._LEET_CHARACTERS.search(plain) else {plain}
    )
    for candidate in readings:
        if not constitution._mentions_harm(candidate):
            continue
        for rule, pattern in constitution._HARM_PATTERNS:
            if pattern.search(candidate):
                return rule
    return None


_HARM_PIECES = [
    *("kill", "k1ll", "him", "h1m", "vx", "@vx", "$kys", "kys", "vx1", "make a", "b0mb"),
    *("bomb", "sarin", "dox", "d0x", "them", "people", "the man", "swat", "5wat", "@"),
]


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        st.sampled_from(_HARM_PIECES)
        | st.text(alphabet=st.sampled_from(list("abkilmsvxy 013457@$_-.")), max_size=12),
        max_size=6,
    )
)
def test_human_harm_matches_the_per_reading_scan(parts: list[str]) -> None:
    for joined in (" ".join(parts), "".join(parts)):
        assert constitution.human_harm(joined) == _human_harm_reference(joined)


# --- Civil Code prefilters ----------------------------------------------------------------

_ASCII_PERSONAL = st.text(alphabet=st.sampled_from(list("0123456789 -@.GBAZXWESTx")), max_size=40)


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        _ASCII_PERSONAL
        | st.sampled_from(
            [
                "123-45-6789",
                "4111 1111 1111 1111",
                "4111-1111-1111-1111",
                "GB82WEST12345698765432",
                "DE89370400440532013000",
                "a@b.co",
            ]
        ),
        max_size=4,
    )
)
def test_personal_data_digit_counts_drop_nothing(parts: list[str]) -> None:
    value = " ".join(parts)
    assert civil_code.personal_data(value) == _personal_data_reference(value)


@settings(max_examples=2000, deadline=None)
@given(
    st.lists(
        st.sampled_from(["stratum+tcp://", "STRATUM+TCP://", "Stratum", "+tcp:/", "://", "\u0130"])
        | st.text(alphabet=st.sampled_from(list("stratum+cp:/ ")), max_size=10),
        max_size=4,
    )
)
def test_stratum_prefilter_is_the_lowered_search(parts: list[str]) -> None:
    value = "".join(parts)
    assert civil_code._names_stratum(value) is ("stratum+tcp://" in value.lower())


# --- paths: home, working directory, and the symlink walk ------------------------------------


@pytest.mark.parametrize("home", ["/home/alice", "/home/alice/", "/", "//", "", "relative/x"])
def test_default_home_is_expanduser(home: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", home)
    assert paths._default_home(None) == os.path.expanduser("~")


def test_default_home_without_home_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOME", raising=False)
    assert paths._default_home(None) == os.path.expanduser("~")


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "..", ".", "", "~", "$HOME", "c.d"]), max_size=5),
    st.lists(st.sampled_from(["x", "..", ".", "y"]), min_size=1, max_size=3),
)
def test_working_directory_shortcut_is_the_plain_join(cwd_parts: list[str], rel: list[str]) -> None:
    cwd = "/" + "/".join(cwd_parts)
    relative = "/".join(rel)
    home = "/home/h"
    plain = paths._collapsed(paths._absolute(cwd, None, home)) + "/" + relative
    assert paths._absolute(relative, cwd, home) == plain


def _readlink_reference(path: str) -> str | None:
    try:
        return os.readlink(path) if stat.S_ISLNK(os.lstat(path).st_mode) else None
    except OSError:
        return None


def _resolve_reference(absolute: str) -> paths._Resolution:
    """The walk before the shortcut: one lstat for every component, always."""
    pending = deque(p for p in absolute.split("/") if p and p != ".")
    resolved = "/"
    links: list[tuple[str, str]] = []
    while pending:
        name = pending.popleft()
        if name == "..":
            resolved = posixpath.dirname(resolved)
            continue
        candidate = resolved + name if resolved == "/" else resolved + "/" + name
        target = _readlink_reference(candidate)
        if target is None:
            resolved = candidate
            continue
        if len(links) >= paths._MAX_SYMLINKS:
            rest = "/".join([name, *pending])
            return paths._Resolution(paths._collapsed(resolved + "/" + rest), tuple(links), True)
        links.append((candidate, target))
        if target.startswith("/"):
            resolved = "/"
        pending.extendleft(reversed([p for p in target.split("/") if p and p != "."]))
    return paths._Resolution(paths._collapsed(resolved), tuple(links), False)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directories, a file, links (relative, absolute, dangling, to a file, a loop)."""
    root = tmp_path_factory.mktemp("walk")
    (root / "d" / "e").mkdir(parents=True)
    (root / "f").write_text("x", encoding="utf-8")
    (root / "d" / "g").write_text("y", encoding="utf-8")
    (root / "up").symlink_to("..")
    (root / "abs").symlink_to(root / "d")
    (root / "dangling").symlink_to("missing/deeper")
    (root / "tofile").symlink_to("f")
    (root / "loop").symlink_to("loop")
    (root / "d" / "back").symlink_to("../abs/e")
    return root


_WALK_PARTS = ["d", "e", "f", "g", "up", "abs", "dangling", "tofile", "loop", "back", "missing"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from([*_WALK_PARTS, "..", "."]), max_size=7))
def test_walk_below_missing_components_is_the_full_walk(tree: Path, parts: list[str]) -> None:
    absolute = str(tree) + "/" + "/".join(parts)
    assert paths._resolve(absolute) == _resolve_reference(absolute)


# --- policy: answers fixed at compile time ---------------------------------------------------

_CTX = {"cwd": "/srv/app", "safe_paths": ["/srv/app"]}
_ACTIONS = [
    ("call_external_api", {"url": "https://api.example.com/v1", "method": "POST"}),
    ("spend_money", {"amount": "12.50", "currency": "USD"}),
    ("modify_file", {"path": "src/x.py", "content": "x"}),
    ("read_file", {"path": "/etc/passwd"}),
    ("send_message", {"channel": "slack", "text": "hi"}),
    ("execute_shell", {"command": "rm -rf /tmp/x"}),
    ("frobnicate", {"x": 1}),
]
_STATIC_POLICY = """\
version: "s1"
rules:
  - {id: api, action_type: call_external_api, require_approval: true}
  - {id: api-shadow, action_type: call_external_api, deny: true, mode: shadow}
  - {id: pay, action_type: spend_money, allow: true}
  - {id: chat, action_type: send_message, deny: true}
  - {id: anything, require_approval: true, reason: every action}
"""


def _policies(tmp_path: Path) -> list[object]:
    static = tmp_path / "static.yaml"
    static.write_text(_STATIC_POLICY, encoding="utf-8")
    return [load_policy(None), load_policy(PRODUCTION_POLICY), load_policy(static)]


@pytest.mark.parametrize(("kind", "payload"), _ACTIONS)
def test_static_policy_answers_are_the_evaluated_ones(
    kind: str, payload: dict[str, object], tmp_path: Path
) -> None:
    for policy in _policies(tmp_path):
        view = build_action_view(kind, payload, _CTX)
        plain = _apply_all(policy.rules_for(view.action_type), Facts(view))  # type: ignore[attr-defined]
        assert policy.evaluate(view) == plain  # type: ignore[attr-defined]


# --- combine: one finding needs no ranking ------------------------------------------------------


def _combine_reference(
    verdicts: list[Verdict], policy_allows: tuple[str, ...], shadow: bool
) -> DecisionOutcome:
    """combine as written before its shortcuts."""
    effective = []
    lifted = []
    for verdict in verdicts:
        for finding in verdict.findings:
            if (
                finding.decision is Decision.REQUIRE_APPROVAL
                and policy_allows
                and verdict.layer in _LIFTABLE
            ):
                lifted.append(finding)
                continue
            effective.append((verdict, finding))
    if not effective:
        return _allowed(verdicts, policy_allows, lifted)
    decision = Decision.most_restrictive([f.decision for _, f in effective])
    if decision is Decision.ALLOW:
        return _allowed(verdicts, policy_allows, lifted)
    winners = [(v, f) for v, f in effective if f.decision is decision]
    verdict, finding = min(winners, key=_precedence)
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


_FINDINGS = st.builds(
    Finding,
    st.sampled_from(["r1", "r2", "r3"]),
    st.sampled_from(list(Decision)),
    st.sampled_from(["why", "because"]),
    st.sampled_from(list(Severity)),
    st.sampled_from([None, "autonomous_mode"]),
)
_VERDICTS = st.builds(
    lambda layer, findings: Verdict(layer, Decision.ALLOW, tuple(findings)),
    st.sampled_from(
        [LayerName.CONSTITUTION, LayerName.CIVIL_CODE, LayerName.FIREWALL, LayerName.POLICY]
    ),
    st.lists(_FINDINGS, max_size=3),
)


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(_VERDICTS, min_size=1, max_size=4),
    st.sampled_from([(), ("allow-rule",)]),
    st.booleans(),
)
def test_combine_is_the_plain_ranking(
    verdicts: list[Verdict], policy_allows: tuple[str, ...], shadow: bool
) -> None:
    expected = _combine_reference(verdicts, policy_allows, shadow)
    assert combine(verdicts, policy_allows, shadow=shadow) == expected
