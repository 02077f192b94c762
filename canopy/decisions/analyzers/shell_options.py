"""Split a program's arguments into options and operands, GNU style.

Why: ``rm -rf /``, ``rm -fr /``, ``rm -r -f /``, ``rm --recursive --force /`` and
``rm / -rf`` are one command. Bundles are split, long names mapped to short ones, options
after operands still count (GNU permutes), ``--`` ends options, and options that take a
value consume it (``tar -f out.tar``, ``timeout -s KILL 5``), per the program's spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from canopy.decisions.analyzers.shell_programs import OptionSpec
from canopy.decisions.analyzers.shell_words import Word

__all__ = ["Parsed", "parse_options"]


@dataclass(slots=True)
class Parsed:
    """Options and operands of one invocation. ``values`` maps an option to its arguments."""

    shorts: set[str] = field(default_factory=set)
    longs: set[str] = field(default_factory=set)
    values: dict[str, list[str]] = field(default_factory=dict)
    value_words: dict[str, list[Word]] = field(default_factory=dict)
    operands: list[Word] = field(default_factory=list)
    files: list[Word] = field(default_factory=list)  # operands after leading data (grep PATTERN)
    rest: int | None = None  # index of the first operand when options stop there (wrappers)

    def has(self, *names: str) -> bool:
        """Any of these options given (short letter or long name)."""
        return any(n in self.shorts or n in self.longs or n in self.values for n in names)

    def add_value(self, key: str, word: Word) -> None:
        self.values.setdefault(key, []).append(word.text)
        self.value_words.setdefault(key, []).append(word)

    def value_word(self, *names: str) -> Word | None:
        for n in names:
            if self.value_words.get(n):
                return self.value_words[n][-1]
        return None

    def value(self, *names: str) -> str | None:
        for n in names:
            if self.values.get(n):
                return self.values[n][-1]
        return None


def parse_options(args: Sequence[Word], spec: OptionSpec) -> Parsed:
    """Parse ``args`` (the words after the program name)."""
    out = Parsed()
    i = 0
    while i < len(args):
        text = args[i].text
        if text == "--":
            out.rest = i + 1
            out.operands.extend(args[i + 1 :])
            break
        if text.startswith("--") and len(text) > 2:
            i = _long(args, i, spec, out)
            continue
        if text.startswith("-") and len(text) > 1 and _is_option_bundle(text[1:], spec):
            i = _short(args, i, spec, out)
            continue
        if spec.stop:
            out.rest = i
            out.operands.extend(args[i:])
            break
        out.operands.append(args[i])
        i += 1
    _split_data(out, spec)
    return out


def _is_option_bundle(letters: str, spec: OptionSpec) -> bool:
    if spec.known is None:
        return True
    first = spec.aliases.get(letters[0], letters[0])
    if first in spec.values or first in spec.optional:
        return first in spec.known
    return all(spec.aliases.get(c, c) in spec.known for c in letters)


def _long(args: Sequence[Word], i: int, spec: OptionSpec, out: Parsed) -> int:
    name, eq, value = args[i].text[2:].partition("=")
    key = spec.long_to_short.get(name, name)
    count = spec.long_values.get(name, 0)
    if key != name:
        out.shorts.add(key)
    else:
        out.longs.add(name)
    word = args[i]
    taken: list[Word] = [_part(word, value)] if eq else []
    need = count - len(taken)
    if need > 0:
        taken.extend(args[i + 1 : i + 1 + need])
        i += need
    for w in taken:
        out.add_value(key, w)
    return i + 1


def _short(args: Sequence[Word], i: int, spec: OptionSpec, out: Parsed) -> int:
    letters = args[i].text[1:]
    j = 0
    while j < len(letters):
        c = spec.aliases.get(letters[j], letters[j])
        out.shorts.add(c)
        attached = letters[j + 1 :]
        j += 1
        if c in spec.numeric:
            digits = len(attached) - len(attached.lstrip("0123456789"))
            if digits:
                out.add_value(c, Word(attached[:digits]))
                j += digits
            continue
        if c in spec.chains and (
            (attached and attached[0] in spec.chains)
            or (not attached and i + 1 < len(args) and _chained(args[i + 1].text, spec))
        ):
            continue  # node -pe CODE, node -p -e CODE: -p, then -e takes CODE
        if c in spec.values:
            if attached:
                out.add_value(c, _part(args[i], attached))
            elif i + 1 < len(args):
                out.add_value(c, args[i + 1])
                i += 1
            return i + 1
        if c in spec.optional:
            if attached:
                out.add_value(c, _part(args[i], attached))
            return i + 1
    return i + 1


def _chained(text: str, spec: OptionSpec) -> bool:
    return len(text) == 2 and text[0] == "-" and text[1] in spec.chains


def _part(word: Word, text: str) -> Word:
    """The value attached to an option (``-oFILE``, ``--out=F``) keeps the word's origin."""
    return word.tail(len(word.text) - len(text))


def _split_data(out: Parsed, spec: OptionSpec) -> None:
    skip = spec.data
    if skip and any(out.has(o) for o in spec.data_opts):
        skip = 0
    out.files = out.operands[skip:]
