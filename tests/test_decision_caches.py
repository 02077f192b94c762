"""The decision path's caches and shortcuts never answer for a world that changed.

Every cache on the path is keyed by everything that can change its answer; the
state that lives outside the process (kill switch events, policy files, symlinks
on disk) is read again for every decision. Each shortcut that skips work is
checked against the plain computation it stands for.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from decimal import Inexact, localcontext
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canopy import authorize_action
from canopy.decisions import constitution
from canopy.decisions.analyzers import net
from canopy.decisions.analyzers.money import parse_amount
from canopy.decisions.civil_code import personal_data
from canopy.decisions.extract import normalize_action_type
from canopy.decisions.identity import _avid_of, avid_for, identity_of
from canopy.decisions.killswitch import kill_switch_fields

AGENT = {"public_key": "pk-cache-test", "created_at": "2026-01-01T00:00:00Z"}


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("CANOPY_AUDIT_LOG_PATH", "CANOPY_POLICY_FILE", "CANOPY_MODE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "audit.db"


def decide(ledger: Path, action_type: str, payload: dict, ctx: dict, **kw: object) -> dict:
    return authorize_action(ctx, action_type, payload, audit_log_path=ledger, **kw)


# --- kill switch: written by another process, seen by the next decision -------------

_SWITCH = textwrap.dedent(
    """
    import json, sys
    from canopy.decisions.killswitch import kill_switch_fields
    from canopy.ledger.store import Ledger

    path, on, avid = sys.argv[1], sys.argv[2] == "on", sys.argv[3] or None
    with Ledger(path) as ledger:
        ledger.append("kill_switch", kill_switch_fields(on, avid=avid, reason="from elsewhere"))
    """
)


def switch_in_another_process(ledger: Path, on: bool, avid: str = "") -> None:
    subprocess.run(
        [sys.executable, "-c", _SWITCH, str(ledger), "on" if on else "off", avid],
        check=True,
        timeout=60,
    )


def test_kill_switch_from_another_process_stops_the_very_next_decision(ledger: Path) -> None:
    first = decide(ledger, "read_file", {"path": "README.md"}, AGENT)
    assert first["decision"] == "ALLOW"  # the runtime is open and its view is current

    switch_in_another_process(ledger, on=True, avid=first["avid"])
    stopped = decide(ledger, "read_file", {"path": "README.md"}, AGENT)
    assert stopped["decision"] == "DENY"
    assert stopped["rule_id"] == "constitution.art7.operator"
    assert "from elsewhere" in stopped["reason"]
    other = decide(ledger, "read_file", {"path": "README.md"}, {"public_key": "pk-other"})
    assert other["decision"] == "ALLOW"  # scoped to that agent only

    switch_in_another_process(ledger, on=False, avid=first["avid"])
    assert decide(ledger, "read_file", {"path": "README.md"}, AGENT)["decision"] == "ALLOW"


def test_global_kill_switch_from_another_process(ledger: Path) -> None:
    assert decide(ledger, "read_file", {"path": "a.txt"}, AGENT)["decision"] == "ALLOW"
    switch_in_another_process(ledger, on=True)
    for agent in (AGENT, {"agent_id": "someone-else"}):
        assert decide(ledger, "read_file", {"path": "a.txt"}, agent)["decision"] == "DENY"


def test_kill_switch_through_the_runtimes_own_ledger_object(ledger: Path) -> None:
    from canopy.authorize import open_ledger

    avid = decide(ledger, "read_file", {"path": "a.txt"}, AGENT)["avid"]
    open_ledger(ledger).append("kill_switch", kill_switch_fields(True, avid=avid))
    assert decide(ledger, "read_file", {"path": "a.txt"}, AGENT)["decision"] == "DENY"


# --- policy files: an edit is honoured by the next decision ---------------------------

_DENY_READS = 'version: "v1"\nrules:\n  - {id: no-reads, action_type: read_file, deny: true}\n'
_ALLOW_ALL = 'version: "v2"\nrules:\n  - {id: chat, action_type: send_message, allow: true}\n'


def test_changed_policy_file_is_honoured_on_the_next_call(ledger: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(_DENY_READS, encoding="utf-8")
    first = decide(ledger, "read_file", {"path": "a.txt"}, AGENT, policy_file=policy)
    assert first["decision"] == "DENY" and first["rule_id"] == "no-reads"

    policy.write_text(_ALLOW_ALL, encoding="utf-8")
    st = policy.stat()
    os.utime(policy, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # coarse clocks
    second = decide(ledger, "read_file", {"path": "a.txt"}, AGENT, policy_file=policy)
    assert second["decision"] == "ALLOW"
    assert second["policy_snapshot"]["policy_version"] == "v2"
    assert second["witness"]["policy_hash"] != first["witness"]["policy_hash"]


# --- the same payload under another context is decided afresh --------------------------


def test_same_payload_with_different_context_is_decided_separately(ledger: Path) -> None:
    payment = {"amount": "50.00", "currency": "USD"}
    default_limit = decide(ledger, "spend_money", payment, AGENT)
    raised_limit = decide(ledger, "spend_money", payment, {**AGENT, "spending_limit": 100})
    assert default_limit["rule_id"] == "civil.II.financial"
    assert raised_limit["layers"]["civil_code"]["decision"] == "ALLOW"
    assert raised_limit["layers"]["civil_code"]["overrides_used"] == ["spending_limit"]

    write = {"path": "authorized_keys", "content": "x"}
    in_project = decide(ledger, "modify_file", write, {**AGENT, "cwd": str(ledger.parent)})
    in_ssh = decide(ledger, "modify_file", write, {**AGENT, "cwd": "/root/.ssh"})
    assert in_ssh["decision"] == "DENY" and in_ssh["rule_id"].startswith("firewall.path")
    assert in_project["layers"]["firewall"]["decision"] == "DENY"  # a key file by name
    assert in_project["reason"] != in_ssh["reason"]


def test_a_symlink_made_between_two_decisions_is_followed(ledger: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "config").write_text("Host *\n", encoding="utf-8")
    ctx = {**AGENT, "cwd": str(tmp_path), "home": str(home)}
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n", encoding="utf-8")
    assert decide(ledger, "read_file", {"path": "notes.txt"}, ctx)["decision"] == "ALLOW"

    notes.unlink()
    notes.symlink_to(home / ".ssh" / "config")
    after = decide(ledger, "read_file", {"path": "notes.txt"}, ctx)
    assert after["decision"] == "DENY" and after["rule_id"] == "firewall.path.credential"


# --- AVIDs: cached only for exact string identities -----------------------------------


@pytest.mark.parametrize(
    "ctx",
    [
        AGENT,
        {"public_key": "pk", "created_at": "2026-01-01T00:00:00+00:00"},
        {"agent_id": "a-1"},
        {"agent_name": "n"},
        {"name": "x", "trace_id": "t"},
        {},
        {"agent_id": 1},
        {"agent_id": True},
        {"agent_id": 1.0},
        {"public_key": ["k", 1]},
        {"public_key": "pk", "created_at": 5},
    ],
)
def test_avid_is_the_digest_of_the_identity(ctx: dict) -> None:
    assert avid_for(ctx) == _avid_of(identity_of(ctx))
    assert avid_for(ctx) == avid_for(dict(ctx))  # and stable


def test_identities_that_compare_equal_in_python_get_different_avids() -> None:
    spelled = [{"agent_id": v} for v in ("1", 1, True)]
    assert len({avid_for(ctx) for ctx in spelled}) == 3


def test_avid_ignores_per_call_settings_but_not_identity() -> None:
    assert avid_for({**AGENT, "trace_id": "a"}) == avid_for({**AGENT, "trace_id": "b"})
    assert avid_for(AGENT) != avid_for({**AGENT, "public_key": "pk-cache-test-2"})
    same_instant = {**AGENT, "created_at": "2026-01-01T00:00:00+00:00"}
    assert avid_for(AGENT) == avid_for(same_instant)


def test_action_type_subclasses_are_normalized_without_the_cache() -> None:
    class Shouty(str):
        pass

    assert normalize_action_type(Shouty(" Run-Command ")) == "execute_shell"
    assert normalize_action_type("x" * 500) == "x" * 500


# --- prefilters agree with the full scans they skip ------------------------------------

_ORIGINAL_HARM_TRIGGER = re.compile(
    r"kill|murder|assassin|poison|stab|shoot|strangl|behead|tortur|kidnap|rape|maim|"
    r"execut|lynch|bomb|explosive|nerve|sarin|\bvx\b|novichok|anthrax|ricin|botulinum|"
    r"weapon|terror|cleansing|genocide|extermin|\bkys\b|suicide|end your life|hang|"
    r"cut yourself|csam|child sexual|sell|traffic|doxx?|swat|home address"
)
_HARM_WORDS = [
    *("kill", "vx", "kys", "dox", "doxx", "sell", "swat", "hang", "terror", "nerve"),
    *("end your life", "home address", "cut yourself", "child sexual"),
    *("vxs", "xvx", "kyss", "skys"),  # near misses of the two bounded words
]
_TEXT = st.text(
    alphabet=st.sampled_from([*"abcdehiklmnorstuvxy 013457@$_-.:/\\", "\u017f", "\u212a"]),
    max_size=40,
)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_HARM_WORDS) | _TEXT, max_size=6))
def test_harm_prefilter_is_the_original_trigger(parts: list[str]) -> None:
    text = " ".join(parts)
    for candidate in (text, "".join(parts), constitution.deleet(text)):
        expected = _ORIGINAL_HARM_TRIGGER.search(candidate) is not None
        assert constitution._mentions_harm(candidate) is expected


def _human_harm_reference(text: str) -> str | None:
    plain = constitution.normalize_text(text)
    for candidate in {plain, constitution.deleet(plain)}:
        if _ORIGINAL_HARM_TRIGGER.search(candidate):
            for rule, pattern in constitution._HARM_PATTERNS:
                if pattern.search(candidate):
                    return rule
    return None


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from([*_HARM_WORDS, "the man", "people", "make a", "bomb"]), max_size=5))
def test_human_harm_matches_the_unfiltered_reference(words: list[str]) -> None:
    text = " ".join(words)
    for spelled in (text, text.replace("i", "1").replace("e", "3"), text.upper()):
        assert constitution.human_harm(spelled) == _human_harm_reference(spelled)


def _find_urls_reference(text: str) -> list[str]:
    found = [(m.start(1), net._trim(m.group(1))) for m in net._URL_IN_TEXT.finditer(text)]
    found += [(m.start(1), net._trim(m.group(1))) for m in net._BARE_IP_IN_TEXT.finditer(text)]
    out: list[str] = []
    for item in sorted(set(found)):
        if item[1]:
            out.append(item[1])
    return out


_URLISH = st.text(
    alphabet=st.sampled_from(list("hHtTpPsSfilF:/\\.1279[]x ab\"'ſé+_\u212a")), max_size=40
)


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        _URLISH
        | st.sampled_from(
            ["https://a.b/c", "10.0.0.1:80", "file:\\\\x", "mongodb+srv://h", "x+ssh://h"]
        )
    )
)
def test_find_urls_prefilter_drops_nothing(parts: list[str]) -> None:
    text = " ".join(parts)
    assert net.find_urls(text) == _find_urls_reference(text)


def _personal_data_reference(text: str) -> list[str]:
    from canopy.decisions import civil_code as cc

    kinds = [
        kind
        for kind, pattern in (("email address", cc._EMAIL), ("social security number", cc._SSN))
        if pattern.search(text)
    ]
    for match in cc._CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and int(digits[0]) in range(2, 7) and cc._luhn(digits):
            kinds.append("payment card number")
            break
    if any(cc._iban_ok(m.group()) for m in cc._IBAN.finditer(text)):
        kinds.append("IBAN")
    return kinds


_PERSONAL = [
    "mail me at a.b@example.com",
    "ssn 123-45-6789 here",
    "card 4111 1111 1111 1111",
    "card \u0664\u0661\u0661\u0661 1111 1111 1111",  # Arabic-Indic digits are digits too
    "iban GB82WEST12345698765432",
    "nothing personal, 2026-01-01",
    "",
]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_PERSONAL) | st.text(max_size=30), max_size=4))
def test_personal_data_prefilters_keep_every_kind(parts: list[str]) -> None:
    text = " ".join(parts)
    assert personal_data(text) == _personal_data_reference(text)


# --- money: the caller's decimal context plays no part ---------------------------------


def test_amounts_parse_the_same_under_any_decimal_context() -> None:
    expected = parse_amount("123456789012345678901.25")
    with localcontext() as ctx:
        ctx.prec = 3
        ctx.traps[Inexact] = True
        assert parse_amount("123456789012345678901.25") == expected
        assert parse_amount("12.5", currency="USD").amount == parse_amount("12.50").amount


# --- path classes: compiled tables agree with plain fnmatch ------------------------------


def _classes_reference(path: str, home: str, governance: tuple[str, ...]) -> frozenset:
    """The classification written plainly: fnmatchcase per component, is_within."""
    from fnmatch import fnmatchcase

    from canopy.decisions.analyzers import paths as pa

    def matches(parts: tuple[str, ...], pattern: str) -> bool:
        pat = tuple(x for x in pattern.split("/") if x)
        if pat and pat[-1] == "**":
            return len(parts) >= len(pat) - 1 and all(map(fnmatchcase, parts, pat[:-1]))
        return len(parts) == len(pat) and all(map(fnmatchcase, parts, pat))

    p = pa.normalize_path(path, home=home)
    if str(p) in pa.BENIGN_DEVICES:
        return frozenset({pa.PathClass.ORDINARY})
    parts, rel = p.parts, p.parts[1:]
    homes = {pa.normalize_path(home).parts, ("/", "root")}
    if len(parts) >= 3 and parts[1] in ("home", "Users"):
        homes.add(parts[:3])
    rel_homes = [parts[len(h) :] for h in homes if len(h) > 1 and parts[: len(h)] == h]
    found = set()
    for g in (pa.normalize_path(x, home=home) for x in governance):
        sidecars = {g.name + s for s in ("-wal", "-shm", "-journal")}
        if pa.is_within(p, g) or (p.parent == g.parent and p.name in sidecars):
            found.add(pa.PathClass.GOVERNANCE)
    public = p.name in pa.PUBLIC_CERTIFICATE_NAMES or any(
        matches(rel, x) for x in pa.PUBLIC_CERTIFICATE_TREES
    )
    name = (
        not pa.is_template_name(p.name)
        and any(fnmatchcase(p.name, n) for n in pa.CREDENTIAL_NAMES)
        and not public
    )
    anywhere = any(  # a dot-directory of credentials under any directory
        part.startswith(".") and any(matches(rel[i:], x) for x in pa.HOME_CREDENTIALS)
        for i, part in enumerate(rel[:-1])
    )
    if not p.name.endswith(".pub") and (
        any(matches(rel, x) for x in pa.SYSTEM_CREDENTIALS)
        or name
        or any(matches(r, x) for r in rel_homes for x in pa.HOME_CREDENTIALS)
        or anywhere
    ):
        found.add(pa.PathClass.CREDENTIAL)
    if len(rel) > 1 and rel[0] == "dev":
        found.add(pa.PathClass.DEVICE)
    if (
        any(matches(rel, x) for x in pa.SYSTEM_STARTUP)
        or pa._startup_anywhere(parts)
        or any(matches(r, x) for r in rel_homes for x in pa.HOME_STARTUP)
    ):
        found.add(pa.PathClass.SHELL_STARTUP)
    if str(p) in pa.SYSTEM_DIRS or any(matches(rel, x) for x in pa.SYSTEM_TREES):
        found.add(pa.PathClass.SYSTEM_CRITICAL)
    return frozenset(found or {pa.PathClass.ORDINARY})


_PATH_PARTS = [
    *("etc", "usr", "var", "lib", "spool", "cron", "cron.d", "crontab", "home", "alice"),
    *("root", ".ssh", "id_rsa", "id_rsa.pub", "authorized_keys", ".env", ".env.example"),
    *("key.pem", "x.key", ".aws", "credentials", ".bashrc", ".config", "fish", "conf.d"),
    *("systemd", "dev", "sda", "null", ".git", "hooks", "site-packages", "a.pth", "Users"),
    *("shadow", "sudoers.d", "ssh", "ssh_host_rsa_key", "docker.sock", "run", "audit.db"),
    *("audit.db-wal", "audit.db.key", "srv", "opt", "..", ".", "[x]", "*"),
]
_GOVERNANCE = ("/srv/canopy/audit.db", "/srv/canopy/audit.db.key", "~/policy.yaml")


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PATH_PARTS), max_size=6), st.sampled_from(["/root", "/home/bob"]))
def test_path_classes_match_the_plain_reference(parts: list[str], home: str) -> None:
    from canopy.decisions.analyzers.paths import path_classes

    for path in ("/" + "/".join(parts), "/srv/canopy/" + "/".join(parts), "~/" + "/".join(parts)):
        expected = _classes_reference(path, home, _GOVERNANCE)
        assert path_classes(path, home=home, governance=_GOVERNANCE) == expected, path


def test_policy_paths_follow_a_changed_home(monkeypatch: pytest.MonkeyPatch) -> None:
    from canopy.decisions.policy.pathmatch import normalize_path

    monkeypatch.setenv("HOME", "/home/alice")
    assert normalize_path("~/notes.txt") == "/home/alice/notes.txt"
    monkeypatch.setenv("HOME", "/home/bob")
    assert normalize_path("~/notes.txt") == "/home/bob/notes.txt"
