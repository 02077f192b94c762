"""canopy.decisions.analyzers.text: folding the disguises of a phrase back to it.

Zero-width splits, Cyrillic/Greek look-alikes, fullwidth and mathematical
letters, case, spacing and leet all fold to the plain phrase; ordinary text only
changes case and whitespace; whole-word matching does not fire inside words.
"""

from __future__ import annotations

import string
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canopy.decisions.analyzers.text import (
    CONFUSABLES,
    contains_phrase,
    deleet,
    normalize_text,
)
from canopy.errors import MalformedInputError

DISGUISES = [
    # (text, what normalize_text makes of it)
    ("kill", "kill"),
    ("KILL", "kill"),
    ("KiLl", "kill"),
    ("k\u200bill", "kill"),  # zero width space
    ("k\u200cil\u200dl", "kill"),  # ZWNJ, ZWJ
    ("\ufeffkill", "kill"),  # BOM
    ("k\u2060i\u2061l\u2062l\u2063", "kill"),  # word joiner, invisible operators
    ("ki\u00adll", "kill"),  # soft hyphen
    ("k\u202eill", "kill"),  # bidi override
    ("kil\ufe0fl", "kill"),  # variation selector
    ("k\U000e0069ill", "kill"),  # tag character
    ("kіll", "kill"),  # Cyrillic і
    ("кill", "kill"),  # Cyrillic к
    ("КІLL", "kill"),  # Cyrillic capitals
    ("ѕсаm", "scam"),  # Cyrillic ѕ с а
    ("роѕt", "post"),  # Cyrillic р о ѕ
    ("хуј", "xyj"),  # Cyrillic х у ј
    ("еvе", "eve"),  # Cyrillic е
    ("κιλλ", "kiλλ"),  # Greek kappa/iota map; lambda has no Latin twin
    ("ΚΙLL", "kill"),  # Greek capitals
    ("ΒΟΜΒ", "bomb"),
    ("ｋｉｌｌ", "kill"),  # fullwidth
    ("ＫＩＬＬ", "kill"),
    ("𝐤𝐢𝐥𝐥", "kill"),  # mathematical bold
    ("𝓀𝒾𝓁𝓁", "kill"),  # mathematical script
    ("ⓚⓘⓛⓛ", "kill"),  # circled
    ("ᴋɪʟʟ", "kill"),  # small capitals
    ("kïll", "kill"),  # diaeresis
    ("k̶i̶l̶l̶", "kill"),  # combining strike-through
    ("kı̇ll", "kill"),  # dotless i + combining dot
    ("ﬁre", "fire"),  # ligature
    ("k\u3164ill", "k ill"),  # Hangul filler renders blank: a space
    ("kill\u2800them", "kill them"),  # Braille blank
    ("kill\u00a0them", "kill them"),  # no-break space
    ("kill\u3000\u2003them", "kill them"),  # ideographic and em spaces
    ("  kill \t\n them  ", "kill them"),
    ("STRASSE straße", "strasse strasse"),  # full case folding
]


@pytest.mark.parametrize(("text", "expected"), DISGUISES)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


ORDINARY = [
    "Please summarize the quarterly report.",
    "Deploy build 1234 to staging at 10:30, then run tests.",
    "rm -rf ./build && make",
    "Email: alice@example.com; cost $5.",
    "Ünïcödé café naïve résumé",
]


@pytest.mark.parametrize("text", ORDINARY[:4])
def test_ordinary_ascii_text_only_changes_case_and_spaces(text: str) -> None:
    assert normalize_text(text) == " ".join(text.casefold().split())
    assert normalize_text(f"  {text}\n\n") == normalize_text(text)


def test_accents_are_folded_away() -> None:
    assert normalize_text(ORDINARY[4]) == "unicode cafe naive resume"


@given(st.text(alphabet=string.ascii_letters + string.digits + string.punctuation + " \t\n"))
def test_ascii_text_is_only_casefolded_and_spaced(text: str) -> None:
    assert normalize_text(text) == " ".join(text.lower().split())


@given(st.text())
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


def test_confusables_map_to_ascii_letters() -> None:
    assert all(len(v) == 1 and v in string.ascii_letters for v in CONFUSABLES.values())
    assert all(not k.isascii() for k in CONFUSABLES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("k1ll", "kill"),
        ("h4ck3r", "hacker"),
        ("5t0p", "stop"),
        ("@ss@ult", "assault"),
        ("$7e@l", "steal"),
        ("n0 ch4ng3", "no change"),
        ("plain", "plain"),
    ],
)
def test_deleet(text: str, expected: str) -> None:
    assert deleet(text) == expected


def test_deleet_is_separate_from_normalize() -> None:
    assert normalize_text("build 1234") == "build 1234"
    assert deleet(normalize_text("K1LL")) == "kill"


MATCHES = [
    "kill",
    "KILL",
    "I will kill them",
    "k\u200bill",
    "kіll",  # Cyrillic
    "ｋｉｌｌ",
    "𝐤𝐢𝐥𝐥",
    "k i l l",
    "k.i.l.l",
    "k-i-l-l",
    "k_i_l_l",
    "k. i. l. l.",
    "k1ll",
    "ki11",
    "K1LL",
    "kiiiill",
    "kill!",
    "(kill)",
    "#kill",
    "k̶i̶l̶l̶",
]


@pytest.mark.parametrize("text", MATCHES)
def test_contains_phrase_sees_through_disguises(text: str) -> None:
    assert contains_phrase(text, "kill")


NON_MATCHES = [
    "skill",
    "killer",  # a different word: whole words only
    "skilled",
    "back ill",
    "mask ill",
    "k....i....l....l",  # gaps longer than MAX_GAP
    "ki",
    "",
    "lick",
]


@pytest.mark.parametrize("text", NON_MATCHES)
def test_contains_phrase_needs_whole_words(text: str) -> None:
    assert not contains_phrase(text, "kill")


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        ("how to build a bomb at home", "build a bomb", True),
        ("how to BUILD   A  B0MB", "build a bomb", True),
        ("build-a-bomb", "build a bomb", True),
        ("buildabomb", "build a bomb", True),
        ("#killyourself", "kill yourself", True),
        ("kill your self", "kill yourself", True),
        ("build a bombastic speech", "build a bomb", False),
        ("rebuild a bomb shelter", "build a bomb", False),
        ("the bomb was built", "build a bomb", False),
        ("Kill Yourself", "KILL YOURSELF", True),
        ("kіll уоurѕеlf", "kill yourself", True),  # Cyrillic throughout
        ("kill them", "k.i.l.l", True),  # the phrase is normalized too
        ("kill lots", "kill lots", True),  # a letter shared across the word break
        ("k i l l l o t s", "kill lots", True),
        ("a bomb bag", "bomb bag", True),
        ("bomb ag", "bomb bag", True),  # merged runs: the accepted fuzz
    ],
)
def test_contains_phrase_multiword(text: str, phrase: str, expected: bool) -> None:
    assert contains_phrase(text, phrase) is expected


@pytest.mark.parametrize("phrase", ["", "   ", "!!!", "\u200b"])
def test_phrase_without_letters_is_an_error(phrase: str) -> None:
    with pytest.raises(MalformedInputError):
        contains_phrase("anything", phrase)


@given(
    st.from_regex(r"[a-z]{2,8}", fullmatch=True),
    st.lists(st.sampled_from(["", " ", ".", "\u200b", "-", "\u00ad"]), min_size=8, max_size=8),
)
def test_inserted_separators_between_letters(word: str, seps: list[str]) -> None:
    disguised = "".join(c + s for c, s in zip(word, seps, strict=False))
    assert contains_phrase(f"say {disguised} now", word)


@given(st.from_regex(r"[a-z]{3,8}", fullmatch=True), st.from_regex(r"[a-z]{1,3}", fullmatch=True))
def test_never_matches_inside_a_longer_word(word: str, prefix: str) -> None:
    if prefix[-1] == word[0]:
        return  # "kkill": the repeated letter is tolerated by design
    assert not contains_phrase(f"{prefix}{word}", word)


@pytest.mark.parametrize(
    "text",
    [
        "k" + "i" * 200_000 + "ll",
        "k" * 200_000,
        "k." * 100_000,
        "k i " * 50_000 + "x",
        "k i l l " * 50_000 + "x",
        "kill " * 50_000,
        "l l " * 100_000,
        "k i " * 50_000 + "l l",
    ],
    ids=lambda text: f"{text[:8]!r}x{len(text)}",
)
def test_matching_stays_linear(text: str) -> None:
    start = time.perf_counter()
    for phrase in ("kill yourself", "kill lots", "l l l l"):
        contains_phrase(text, phrase)
    assert time.perf_counter() - start < 3.0


@given(st.text(min_size=1, max_size=40))
def test_a_phrase_is_found_in_itself(phrase: str) -> None:
    if not any(c.isalnum() for c in deleet(normalize_text(phrase)) + normalize_text(phrase)):
        with pytest.raises(MalformedInputError):
            contains_phrase(phrase, phrase)
        return
    assert contains_phrase(phrase, phrase)
    assert contains_phrase(f"before {phrase} after", phrase)


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_fast_path_equals_the_general_path(text: str) -> None:
    from canopy.decisions.analyzers.text import _fold

    assert normalize_text(text) == " ".join(_fold(text).split())
