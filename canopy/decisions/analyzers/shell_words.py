"""Words as the shell hands them to a program: quotes gone, escapes decoded, expansions done.

Why: an adversary spells ``rm`` as ``r''m``, ``\\rm``, ``"r"m`` or ``$'\\x72\\x6d'``. Every rule
downstream must see the one spelling the kernel will execute, and must know when a part of
a word could not be resolved (``$DIR``) instead of guessing silently.

This module holds the pure pieces: the ``Word`` and ``Stream`` records, field assembly
(splitting, brace expansion, glob detection) and the escape decoders. Walking the syntax
tree lives in ``shell.py``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

__all__ = [
    "EMPTY",
    "LABEL_BUILT",
    "LABEL_CANOPY_PIDS",
    "LABEL_DECODED",
    "LABEL_FOUND",
    "LABEL_NARROWED",
    "LABEL_REMOTE",
    "LABEL_SECRET",
    "LABEL_SECRET_PATHS",
    "LABEL_TRANSFORMED",
    "Piece",
    "Stream",
    "Word",
    "assemble",
    "decode_ansi_c",
    "decode_base64",
    "decode_echo_escapes",
    "decode_hex",
    "join_words",
    "pieces_pattern",
    "printf_output",
    "read_delimited",
    "unescape_double_quoted",
    "unescape_unquoted",
]

# Labels say where data came from; rules decide what that means for the sink.
LABEL_REMOTE = "remote"  # fetched from the network
LABEL_DECODED = "decoded"  # decoded from base64/hex/escapes: deliberate obfuscation
LABEL_TRANSFORMED = "transformed"  # literal text rewritten by a program we do not model
LABEL_BUILT = "built"  # compiled from files that were there before this text ran
LABEL_SECRET = "secret"  # an environment dump, a secret variable, a credential file
LABEL_CANOPY_PIDS = "canopy_pids"  # process ids of Canopy itself (pgrep canopy)
LABEL_FOUND = "found"  # an entry found under a tree (find ROOT): stands for the whole tree
LABEL_NARROWED = "narrowed"  # ... filtered by name/time/size tests, so not every entry
#: Names of credential files: what ``ls ~/.ssh`` or ``find ~ -name id_rsa`` prints.
LABEL_SECRET_PATHS = "secret_paths"

MAX_FIELDS = 256  # brace expansion and splitting never produce more words than this


@dataclass(frozen=True, slots=True)
class Stream:
    """What flows out of a command or into a file: literal text when known, and its origin."""

    text: str | None = None
    labels: frozenset[str] = frozenset()
    roots: tuple[str, ...] = ()  # find/ls output: entries under these trees
    #: The prints of secrets this output carries, by id (``shell_secret_flow``).
    prints: frozenset[int] = frozenset()
    #: ... and those the command wrote on stderr, which is not part of the output but
    #: goes where its redirections send it (``shell_descriptors``).
    err_prints: frozenset[int] = frozenset()

    def merge(self, other: Stream) -> Stream:
        """Two commands writing to the same pipe: keep every label, text only if both known."""
        if other is EMPTY:
            return self
        if self is EMPTY:
            return other
        text = None if self.text is None or other.text is None else self.text + other.text
        return Stream(
            text,
            self.labels | other.labels,
            self.roots + other.roots,
            self.prints | other.prints,
            self.err_prints | other.err_prints,
        )

    def with_labels(self, *labels: str) -> Stream:
        return replace(self, labels=self.labels | frozenset(labels))


EMPTY = Stream(text="")


@dataclass(frozen=True, slots=True)
class Word:
    """One argument after expansion.

    ``exact``: every part is known. ``resolved``: unknown parts had a default we used
    (``${X:-/}``), so ``text`` is our best guess; otherwise ``text`` keeps the source
    of the unknown part (``$DIR/x``). ``content`` is set for process substitutions: what
    reading that file would yield. ``pattern``, for an unresolved word, is its text with
    each unknown part as ``*`` (``~/.ssh/$x`` -> ``/home/me/.ssh/*``): a glob of what it
    may name.
    """

    text: str
    exact: bool = True
    resolved: bool = True
    glob: bool = False
    labels: frozenset[str] = frozenset()
    content: Stream | None = None
    pattern: str | None = None

    @property
    def dynamic(self) -> bool:
        return not self.exact

    @property
    def glob_text(self) -> str:
        """The word as a glob of what it may name: an unknown part is ``*``."""
        return self.text if self.resolved else (self.pattern or "*")

    def tail(self, start: int) -> Word:
        """The word from ``start`` on (``--out=FILE``'s FILE, ``NAME=VALUE``'s VALUE), its
        pattern cut the same way while the part cut off is known text."""
        pattern = self.pattern
        if pattern is not None:
            pattern = pattern[start:] if pattern[:start] == self.text[:start] else None
        return replace(self, text=self.text[start:], pattern=pattern)

    def head(self, separator: str) -> Word:
        """The word up to the first ``separator`` (``-v HOST:CONTAINER``'s HOST)."""
        pattern = self.pattern.split(separator, 1)[0] if self.pattern is not None else None
        return replace(self, text=self.text.split(separator, 1)[0], pattern=pattern)

    @classmethod
    def literal(cls, text: str) -> Word:
        return cls(text, glob=any(c in text for c in "*?["))


def join_words(words: Sequence[Word]) -> Word:
    """Words glued with spaces into one string that will run as code (eval, ssh, watch)."""
    labels: frozenset[str] = frozenset().union(*(w.labels for w in words)) if words else frozenset()
    return Word(
        " ".join(w.text for w in words),
        exact=all(w.exact for w in words),
        resolved=all(w.resolved for w in words),
        labels=labels,
    )


@dataclass(slots=True)
class Piece:
    """A run of characters inside a word, with how the shell treats it.

    ``quoted`` text is never split, globbed or brace-expanded. ``expanded`` text came
    from a parameter or substitution: split on IFS when unquoted, never brace-expanded.
    ``fields`` is set for ``"$@"``, which expands to several words.
    """

    text: str
    quoted: bool = False
    expanded: bool = False
    exact: bool = True
    resolved: bool = True
    labels: frozenset[str] = frozenset()
    fields: tuple[str, ...] | None = None
    content: Stream | None = None
    pattern: str | None = None  # an unresolved value's own pattern (see ``Word``)

    @property
    def glob_text(self) -> str:
        """The text as a glob: an unknown part is ``*`` (or the pattern it carries)."""
        return self.text if self.resolved else (self.pattern or "*")


def pieces_pattern(pieces: Sequence[Piece]) -> str | None:
    """The pattern of a word made of these pieces; None when every piece is known."""
    if all(p.resolved for p in pieces):
        return None
    return "".join(p.glob_text for p in pieces)


@dataclass(slots=True)
class _Field:
    chars: list[str] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)  # unquoted literal: brace-expandable
    globbable: bool = False
    exact: bool = True
    resolved: bool = True
    labels: set[str] = field(default_factory=set)
    content: Stream | None = None
    touched: bool = False  # something other than an empty unquoted expansion went in
    pattern: list[str] | None = None  # the chars with unknown parts as "*", once one came

    def add(self, text: str, piece: Piece, active: bool) -> None:
        if not piece.resolved and self.pattern is None:
            self.pattern = list(self.chars)
        self.chars.append(text)
        self.active.append(active)
        if self.pattern is not None:
            self.pattern.append(text if piece.resolved else piece.glob_text)
        if not piece.quoted and any(c in text for c in "*?["):
            self.globbable = True
        self.exact &= piece.exact
        self.resolved &= piece.resolved
        self.labels |= piece.labels
        if piece.content is not None:
            self.content = piece.content
        if text or piece.quoted or not piece.expanded:
            self.touched = True


def assemble(pieces: list[Piece], ifs: str = " \t\n") -> list[Word]:
    """Join pieces into words the way bash does: split unquoted expansions, expand braces."""
    fields: list[_Field] = [_Field()]
    for piece in pieces:
        if piece.fields is not None:
            _add_multi(fields, piece, ifs)
        elif piece.expanded and not piece.quoted and piece.exact and ifs:
            _add_split(fields, piece, piece.text, ifs)
        else:
            fields[-1].add(piece.text, piece, active=not piece.quoted and not piece.expanded)
        if len(fields) > MAX_FIELDS:
            break
    words: list[Word] = []
    for f in fields:
        if f.touched:
            words.extend(_finish(f))
    return words[:MAX_FIELDS]


def _add_split(fields: list[_Field], piece: Piece, text: str, ifs: str) -> None:
    """Field splitting: IFS characters in an unquoted expansion end the current word."""
    parts = re.split("[" + re.escape(ifs) + "]+", text) if text else [""]
    for i, part in enumerate(parts):
        if i:
            fields.append(_Field())
        if part:
            fields[-1].add(part, piece, active=False)
        elif not text:
            fields[-1].add("", piece, active=False)


def _add_multi(fields: list[_Field], piece: Piece, ifs: str) -> None:
    """``"$@"``: the first value joins the current word, the others start new words."""
    assert piece.fields is not None
    for i, value in enumerate(piece.fields):
        if i:
            fields.append(_Field())
        if piece.quoted:
            fields[-1].add(value, piece, active=False)
            fields[-1].touched = True
        else:
            _add_split(fields, piece, value, ifs)


def _finish(f: _Field) -> list[Word]:
    labels = frozenset(f.labels)
    texts = _brace_expand(f.chars, f.active)
    pattern = "".join(f.pattern) if f.pattern is not None else None
    return [
        Word(
            t,
            exact=f.exact,
            resolved=f.resolved,
            glob=f.globbable,
            labels=labels,
            content=f.content,
            pattern=pattern,
        )
        for t in texts
    ]


def _brace_expand(chars: list[str], active: list[bool]) -> list[str]:
    """Expand ``{a,b}`` and ``{1..3}`` where the braces are unquoted literal text."""
    text = "".join(chars)
    if "{" not in text:
        return [text]
    mask: list[bool] = []
    for chunk, on in zip(chars, active, strict=True):
        mask.extend([on] * len(chunk))
    return _expand(text, mask)[:MAX_FIELDS]


def _expand(text: str, mask: list[bool]) -> list[str]:
    span = _find_brace(text, mask)
    if span is None:
        return [text]
    start, end, alternatives = span
    head, tail, tail_mask = text[:start], text[end + 1 :], mask[end + 1 :]
    out: list[str] = []
    for alt_text, alt_mask in alternatives:
        for expanded in _expand(alt_text + tail, alt_mask + tail_mask):
            out.append(head + expanded)
            if len(out) >= MAX_FIELDS:
                return out
    return out


def _find_brace(
    text: str, mask: list[bool]
) -> tuple[int, int, list[tuple[str, list[bool]]]] | None:
    for start, ch in enumerate(text):
        if ch != "{" or not mask[start]:
            continue
        depth, commas = 0, []
        for end in range(start, len(text)):
            if not mask[end]:
                continue
            if text[end] == "{":
                depth += 1
            elif text[end] == "}":
                depth -= 1
                if depth == 0:
                    inner = text[start + 1 : end]
                    if commas:
                        return start, end, _split_alternatives(text, mask, start, end, commas)
                    seq = _sequence(inner)
                    if seq is not None:
                        return start, end, [(s, [False] * len(s)) for s in seq]
                    break
            elif text[end] == "," and depth == 1:
                commas.append(end)
    return None


def _split_alternatives(
    text: str, mask: list[bool], start: int, end: int, commas: list[int]
) -> list[tuple[str, list[bool]]]:
    bounds = [start, *commas, end]
    return [(text[a + 1 : b], mask[a + 1 : b]) for a, b in itertools.pairwise(bounds)]


_SEQ = re.compile(r"^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$")


def _sequence(inner: str) -> list[str] | None:
    m = _SEQ.match(inner)
    if not m:
        return None
    a, b, step_text = m.group(1), m.group(2), m.group(3)
    step = abs(int(step_text)) if step_text else 1
    step = step or 1
    if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
        lo, hi = int(a), int(b)
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [str(i) for i in list(rng)[:MAX_FIELDS]]
    if len(a) == 1 and len(b) == 1 and a.isalpha() and b.isalpha():
        lo, hi = ord(a), ord(b)
        rng = range(lo, hi + 1, step) if lo <= hi else range(lo, hi - 1, -step)
        return [chr(i) for i in list(rng)[:MAX_FIELDS]]
    return None


# --- escape decoders -------------------------------------------------------------------

_ANSI_SIMPLE = {
    "a": "\a",
    "b": "\b",
    "e": "\x1b",
    "E": "\x1b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ANSI_ESCAPE = re.compile(
    r"\\(?:x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{1,4})|U([0-9A-Fa-f]{1,8})|([0-7]{1,3})|c(.)|(.))",
    re.DOTALL,
)


def decode_ansi_c(body: str) -> str:
    """Decode the inside of ``$'...'`` (bash QUOTING: ANSI-C Quoting)."""
    return _ANSI_ESCAPE.sub(_ansi_replace, body)


def _ansi_replace(m: re.Match[str]) -> str:
    hex2, u4, u8, octal, ctrl, other = m.groups()
    if hex2 is not None:
        return chr(int(hex2, 16))
    if u4 is not None or u8 is not None:
        code = int(u4 or u8 or "0", 16)
        return chr(code) if code <= 0x10FFFF else "?"
    if octal is not None:
        return chr(int(octal, 8) & 0xFF)
    if ctrl is not None:
        return chr(ord(ctrl) & 0x1F)
    return _ANSI_SIMPLE.get(other, "\\" + other)


_ECHO_ESCAPE = re.compile(r"\\(?:x([0-9A-Fa-f]{1,2})|0([0-7]{0,3})|([0-7]{1,3})|(.))", re.DOTALL)


def decode_echo_escapes(text: str, *, printf: bool = False) -> tuple[str, bool]:
    """Decode ``echo -e``/``printf`` escapes. Returns the text and whether hex/octal was used."""
    numeric = False

    def repl(m: re.Match[str]) -> str:
        nonlocal numeric
        hex2, zero_octal, octal, other = m.groups()
        if hex2 is not None:
            numeric = True
            return chr(int(hex2, 16))
        if zero_octal is not None:
            numeric = numeric or bool(zero_octal)
            return chr(int(zero_octal or "0", 8) & 0xFF)
        if octal is not None and printf:
            numeric = True
            return chr(int(octal, 8) & 0xFF)
        if octal is not None:
            return "\\" + octal
        return _ANSI_SIMPLE.get(other, "\\" + other) if other not in "'\"?" else "\\" + other

    return _ECHO_ESCAPE.sub(repl, text), numeric


_PRINTF_DIRECTIVE = re.compile(r"%(?:%|[-+ #0]*\d*(?:\.\d+)?([sbdiucxXoeEfgGq]))")


def printf_output(fmt: str, args: list[str]) -> tuple[str, bool]:
    """What ``printf FMT ARGS...`` prints, for the directives scripts actually use."""
    pending = list(args)
    numeric = False
    out: list[str] = []
    while True:
        used = False

        def repl(m: re.Match[str]) -> str:
            nonlocal used, numeric
            if m.group(0) == "%%":
                return "%"
            used = True
            value = pending.pop(0) if pending else ""
            if m.group(1) == "b":
                value, num = decode_echo_escapes(value)
                numeric = numeric or num
            return value

        body = _PRINTF_DIRECTIVE.sub(repl, fmt)
        decoded, num = decode_echo_escapes(body, printf=True)
        numeric = numeric or num
        out.append(decoded)
        if not used or not pending or len(out) > 64:
            break
    return "".join(out), numeric


def unescape_unquoted(text: str) -> list[tuple[str, bool]]:
    """Split an unquoted word into (text, quoted) runs.

    ``\\x`` quotes x; ``\\<newline>`` vanishes (a line continuation).
    """
    if "\\" not in text:
        return [(text, False)]
    runs: list[tuple[str, bool]] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            if buf:
                runs.append(("".join(buf), False))
                buf = []
            if text[i + 1] != "\n":
                runs.append((text[i + 1], True))
            i += 2
            continue
        buf.append(ch)
        i += 1
    if buf:
        runs.append(("".join(buf), False))
    return runs


_DQ_ESCAPE = re.compile(r"\\([$`\"\\\n])")


def unescape_double_quoted(text: str) -> str:
    """Inside double quotes a backslash only escapes $ ` " \\ and newline."""
    if "\\" not in text:
        return text
    return _DQ_ESCAPE.sub(lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def read_delimited(
    text: str, i: int, close: str, escape: Callable[[str], str] | None = None
) -> tuple[str, int]:
    """The text from ``i`` up to the next ``close`` not escaped by a backslash, and the
    index after that delimiter (the end of ``text`` when it never comes). ``escape`` turns
    the character after a backslash into what it stands for; by default the pair is kept."""
    out: list[str] = []
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\\" + nxt if escape is None else escape(nxt))
            i += 2
            continue
        if ch == close:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    return "".join(out), i


def decode_base64(text: str) -> str | None:
    """Decode base64 the way ``base64 -d`` would; None when it is not base64."""
    compact = "".join(text.split())
    if not compact:
        return ""
    compact += "=" * (-len(compact) % 4)
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        try:
            raw = base64.urlsafe_b64decode(compact)
        except (binascii.Error, ValueError):
            return None
    return raw.decode("utf-8", errors="replace")


def decode_hex(text: str) -> str | None:
    """Decode plain hex (``xxd -r -p``); None when it is not hex."""
    compact = "".join(text.split())
    try:
        return bytes.fromhex(compact).decode("utf-8", errors="replace")
    except ValueError:
        return None
