"""Text folded to a comparable form for the Constitution's Art.1 phrase floor.

A phrase check on raw text misses "k\u200bill", "kіll" (Cyrillic і), "ｋｉｌｌ",
"K I L L" and "k1ll". ``normalize_text`` undoes the invisible and look-alike
tricks (UAX #15 NFKC, Unicode default case folding, a small confusables table in
the spirit of UTS #39), ``deleet`` undoes digit/symbol substitutions, and
``contains_phrase`` matches on word boundaries while tolerating a little
punctuation or spacing between letters.

Decisions documented here:

* Combining marks (Mn, Me) are removed, so "kïll" and strike-through "k̶i̶l̶l̶" fold
  to "kill"; accented text loses its accents. Both sides of a comparison go
  through the same folding, so matching stays consistent for every script.
* Blank-looking letters (Hangul fillers, Braille blank) become spaces; zero-width
  and other format characters (Cf) are deleted.
* Leet is a separate step because digits are meaningful in ordinary text;
  ``contains_phrase`` tries both readings of "1" (i and l).
* Inside a word, up to ``MAX_GAP`` non-alphanumeric characters may separate
  letters ("k.i.l.l", "k i l l", "k--ill"); between words, up to ``MAX_GAP`` + 1.
  A letter may repeat ("kiiiiill"; "k i i l l l" up to ``MAX_REPEAT`` times), so
  the phrase "kill" also matches "kil"; runs of one letter merge across words
  ("kill lots" also matches "kil ots"). Every match attempt does bounded work.
  The bounded gaps keep the regex linear and stop letters from being collected
  across a whole sentence.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from canopy.errors import MalformedInputError

__all__ = ["CONFUSABLES", "LEET", "contains_phrase", "deleet", "normalize_text"]

#: Cyrillic and Greek letters that look like Latin ones (both cases, mapped
#: before case folding so that e.g. Greek Η -> H but η -> n).
CONFUSABLES: dict[str, str] = {
    # Cyrillic
    "А": "A", "а": "a", "В": "B", "в": "b", "С": "C", "с": "c", "Ԁ": "D", "ԁ": "d",
    "Е": "E", "е": "e", "Ё": "E", "ё": "e", "Һ": "H", "һ": "h", "Н": "H", "н": "h",
    "І": "I", "і": "i", "Ї": "I", "ї": "i", "Ӏ": "I", "ӏ": "l", "Ј": "J", "ј": "j",
    "К": "K", "к": "k", "М": "M", "м": "m", "О": "O", "о": "o", "Р": "P", "р": "p",
    "Ԛ": "Q", "ԛ": "q", "Ѕ": "S", "ѕ": "s", "Т": "T", "т": "t", "п": "n", "г": "r",
    "Ѵ": "V", "ѵ": "v", "Ԝ": "W", "ԝ": "w", "Х": "X", "х": "x", "У": "Y", "у": "y",
    "Ү": "Y", "ү": "y", "Ь": "b", "ь": "b", "Ꙇ": "I", "ꙇ": "i",
    # Greek
    "Α": "A", "α": "a", "Β": "B", "β": "b", "Ε": "E", "ε": "e", "Ζ": "Z", "Η": "H",
    "η": "n", "Ι": "I", "ι": "i", "Κ": "K", "κ": "k", "Μ": "M", "Ν": "N", "ν": "v",
    "Ο": "O", "ο": "o", "Ρ": "P", "ρ": "p", "Τ": "T", "τ": "t", "Υ": "Y", "υ": "u",
    "Χ": "X", "χ": "x", "ϲ": "c", "Ϲ": "C", "ϳ": "j", "ω": "w",
    # Latin look-alikes outside ASCII that NFKC keeps
    "ı": "i", "ȷ": "j", "ɡ": "g", "ɑ": "a", "ʀ": "r", "ᴀ": "a", "ʙ": "b", "ᴄ": "c",
    "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l",
    "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ꞯ": "q", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v",
    "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
}  # fmt: skip
#: Letters that render as blank space.
BLANKS = "\u115f\u1160\u3164\uffa0\u2800"
#: Digit and symbol substitutions ("1" also reads as "l": see contains_phrase).
LEET: dict[str, str] = dict(zip("013457@$", "oieastas", strict=True))
MAX_GAP = 2
MAX_REPEAT = 8

_CONFUSABLE_TABLE = str.maketrans(CONFUSABLES)
_BLANK_TABLE = str.maketrans(dict.fromkeys(BLANKS, " "))
_LEET_TABLE = str.maketrans(LEET)
_LEET_L_TABLE = str.maketrans({**LEET, "1": "l"})
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me"})


def _visible(text: str) -> str:
    """Drop format characters (zero-width, bidi, soft hyphen, BOM), variation
    selectors and combining marks; NFD first so that precomposed accents split."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    return unicodedata.normalize("NFC", kept)


def _fold(text: str) -> str:
    """Everything ``normalize_text`` does except collapsing whitespace."""
    folded = unicodedata.normalize("NFKC", text)
    folded = _visible(folded.translate(_BLANK_TABLE))
    # Case folding can produce a look-alike ('Ω' -> 'ω'), and mapping one can
    # need folding again: repeat until nothing changes (idempotent by design).
    for _ in range(4):
        mapped = folded.translate(_CONFUSABLE_TABLE).casefold().translate(_CONFUSABLE_TABLE)
        mapped = unicodedata.normalize("NFKC", mapped)
        if mapped == folded:
            break
        folded = mapped
    return folded


#: For ASCII text every step above works one character at a time, so one
#: translation table built from the general path gives the same result, fast.
_ASCII_TABLE = {code: _fold(chr(code)) for code in range(128)}
#: And that table is ``str.lower`` (checked here, character by character): when it
#: is, ASCII text is folded by ``lower``, several times faster than ``translate``.
_ASCII_FOLD_IS_LOWER = all(_ASCII_TABLE[code] == chr(code).lower() for code in range(128))
#: ``_LEET_TABLE`` for ASCII text as bytes (it maps ASCII to ASCII, one to one):
#: ``bytes.translate`` is a table lookup per byte, ``str.translate`` a dict lookup.
_LEET_BYTES = bytes.maketrans("".join(LEET).encode("ascii"), "".join(LEET.values()).encode("ascii"))


def normalize_text(text: str) -> str:
    """NFKC, invisible characters removed, look-alikes mapped, case-folded, and
    whitespace collapsed to single spaces."""
    if text.isascii():
        folded = text.lower() if _ASCII_FOLD_IS_LOWER else text.translate(_ASCII_TABLE)
        return " ".join(folded.split())
    return " ".join(_fold(text).split())


def deleet(text: str) -> str:
    """Undo common digit/symbol substitutions: 0->o 1->i 3->e 4->a 5->s 7->t @->a $->s."""
    if text.isascii():
        return text.encode("ascii").translate(_LEET_BYTES).decode("ascii")
    return text.translate(_LEET_TABLE)


def _readings(text: str) -> set[str]:
    """The text as written and its leet readings (with "1" as i and as l)."""
    return {text, text.translate(_LEET_TABLE), text.translate(_LEET_L_TABLE)}


_WORD = re.compile(r"[^\W_]+")
_REPEATS = re.compile(r"([^\W_])\1+")
_SEP = r"[\W_]"  # anything that is not a letter or digit


def _gap(width: int) -> str:
    return f"{_SEP}{{0,{width}}}+"


def _letter_runs(phrase: str) -> list[tuple[str, int, int]]:
    """(letter, widest gap before it, widest gap inside the run) for each run of one
    letter in the phrase, across word breaks too: "kill lots" is k, i, l, o, t, s.
    A word break allows MAX_GAP + 1 separators, or as many as the phrase itself has."""
    runs: list[tuple[str, int, int]] = []
    end: int | None = None
    for word in _WORD.finditer(phrase):
        brk = MAX_GAP if end is None else max(MAX_GAP + 1, word.start() - end)
        for i, letter in enumerate(word.group()):
            gap = brk if i == 0 else MAX_GAP
            if runs and runs[-1][0] == letter:
                runs[-1] = (letter, runs[-1][1], max(runs[-1][2], gap))
            else:
                runs.append((letter, gap, MAX_GAP))
        end = word.end()
    return runs


@lru_cache(maxsize=512)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Each letter run matches that letter up to MAX_REPEAT more times, separated by
    up to MAX_GAP non-alphanumerics ("k i l l l"); up to MAX_GAP + 1 between words.

    Gaps are possessive (Python 3.11): a letter always follows them, so giving
    back a separator never helps. Runs are bounded and may give back (the last one
    must not swallow the next word's letter); adjacent runs differ, so a give-back
    anywhere but the end fails at once. Every attempt does bounded work, and
    matching is linear in the text.
    """
    runs = _letter_runs(phrase)
    if not runs:
        raise MalformedInputError(f"phrase has no letters or digits: {phrase!r}")
    parts: list[str] = []
    for index, (letter, gap_before, gap_inside) in enumerate(runs):
        if index:
            parts.append(_gap(gap_before))
        inner = _gap(gap_inside)
        char = re.escape(letter)
        parts.append(f"{char}(?:{inner}{char}){{0,{MAX_REPEAT}}}")
    return re.compile(rf"(?<![^\W_]){''.join(parts)}(?![^\W_])")


def _squeeze(text: str) -> str:
    """Adjacent repeats of a letter or digit collapse to one ("kiiiill" -> "kil")."""
    return _REPEATS.sub(r"\1", text)


def contains_phrase(text: str, phrase: str) -> bool:
    """True if the normalized text contains the normalized phrase as whole words."""
    text_readings = {_squeeze(t) for t in _readings(normalize_text(text))}
    phrase_readings = _readings(normalize_text(phrase))
    patterns = [_phrase_pattern(p) for p in phrase_readings if _WORD.search(p)]
    if not patterns:
        raise MalformedInputError(f"phrase has no letters or digits: {phrase!r}")
    return any(p.search(t) for p in patterns for t in text_readings)
