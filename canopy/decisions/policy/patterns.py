"""``deny_if`` / ``require_approval_if`` items, read by what the action is.

The seed matched ``"rm -rf"`` as a substring, so ``rm -fr`` walked past it. Here
one pattern is compiled once into a matcher per domain, and the action's
domain picks which one runs:

* shell: ``rm -rf`` is a command pattern (program, flag set, argument prefixes);
  a lone word that is no program (``bitcoin``) is a whole word of the text;
  a lone absolute path (``/etc/``) is a path the command touches.
* path: ``/etc/`` contains paths component-wise; ``.ssh`` is a component;
  ``id_rsa`` also matches ``id_rsa.pub``.
* url: ``stripe.com`` is the host or a subdomain by labels; ``https://h/p``
  is a URL prefix by components.
* text: a case-insensitive substring of the normalized payload (seed semantics).

A matcher returns the evidence it matched (a command, path or host) or None.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from canopy.decisions.policy.commands import (
    KNOWN_PROGRAMS,
    canonical_program,
    pattern_args,
)
from canopy.decisions.policy.facts import Facts, normalize_text, url_key
from canopy.decisions.policy.pathmatch import normalize_path, path_parts

__all__ = ["Pattern", "PatternSet", "compile_pattern"]

Matcher = Callable[[Facts], str | None]

#: A host name with at least one dot (optionally "*." for subdomains only), or an IPv4.
_HOST = re.compile(
    r"^(\*\.)?([a-z0-9_]([a-z0-9_-]*[a-z0-9])?\.)+[a-z0-9-]*[a-z][a-z0-9-]*$|^\d+(\.\d+){3}$"
)


@dataclass(frozen=True, slots=True)
class Pattern:
    """One pattern with a matcher and a kind (for lint and reasons) per domain."""

    text: str
    matchers: dict[str, Matcher]
    kinds: dict[str, str]  # domain -> "command", "word", "path", "host", "url" or "text"
    program: str | None = None  # the program of a shell command pattern

    def match(self, facts: Facts) -> str | None:
        return self.matchers[facts.domain](facts)


class PatternSet:
    """A rule's patterns, in order; shell command patterns indexed by program.

    For a shell command only the patterns naming one of its programs (or that
    are not command patterns) are tried, so twenty install patterns cost a
    few dictionary lookups for ``ls``.
    """

    __slots__ = ("_by_program", "_not_commands", "patterns")

    def __init__(self, patterns: tuple[Pattern, ...]) -> None:
        self.patterns = patterns
        self._by_program: dict[str, tuple[tuple[int, Pattern], ...]] = {}
        not_commands: list[tuple[int, Pattern]] = []
        for index, pattern in enumerate(patterns):
            if pattern.program is None:
                not_commands.append((index, pattern))
            else:
                entries = self._by_program.get(pattern.program, ())
                self._by_program[pattern.program] = (*entries, (index, pattern))
        self._not_commands = tuple(not_commands)

    def first(self, facts: Facts) -> tuple[Pattern, str] | None:
        """The earliest pattern (in policy order) that matches, with its evidence."""
        if not self.patterns:
            return None
        candidates: Iterable[tuple[int, Pattern]] = enumerate(self.patterns)
        if facts.domain == "shell" and facts.commands:
            found = [e for p in facts.program_keys for e in self._by_program.get(p, ())]
            candidates = sorted((*self._not_commands, *found), key=lambda e: e[0])
        for _, pattern in candidates:
            evidence = pattern.match(facts)
            if evidence is not None:
                return pattern, evidence
        return None


def compile_pattern(text: str) -> Pattern:
    """Compile a pattern for every domain (cheap, and rules may span domains)."""
    shell_kind, shell, program = _shell(text)
    path_kind, path = _path(text)
    url_kind, url = _url(text)
    return Pattern(
        text,
        {"shell": shell, "path": path, "url": url, "text": _substring(text)},
        {"shell": shell_kind, "path": path_kind, "url": url_kind, "text": "text"},
        program,
    )


# --- text ------------------------------------------------------------------


def _substring(text: str) -> Matcher:
    needle = normalize_text(text)

    def match(facts: Facts) -> str | None:
        return text if needle in facts.text else None

    return match


def _whole_word(text: str) -> Matcher:
    needle = normalize_text(text)
    regex = re.compile(
        ("(?<!\\w)" if re.match(r"\w", needle) else "")
        + re.escape(needle)
        + ("(?!\\w)" if re.search(r"\w$", needle) else "")
    )

    def match(facts: Facts) -> str | None:
        return text if regex.search(facts.text) else None

    return match


# --- shell -----------------------------------------------------------------


def _shell(text: str) -> tuple[str, Matcher, str | None]:
    try:
        words = shlex.split(text)
    except ValueError:
        return "text", _substring(text), None
    if not words:
        return "text", _substring(text), None
    program = canonical_program(words[0])
    if len(words) == 1 and program not in KNOWN_PROGRAMS:
        if words[0].startswith(("/", "~")):
            return "path", _either(_path_matcher(words[0]), _whole_word(text)), None
        return "word", _whole_word(text), None
    flags, rest = pattern_args(program, words[1:])
    matcher = _command(text, program, flags, tuple(w.casefold() for w in rest))
    return "command", matcher, program


def _command(text: str, program: str, flags: frozenset[str], words: tuple[str, ...]) -> Matcher:
    # Numbers are values, not prefixes: "kill -9 1" must not match pid 12.
    exact = tuple(w.isdigit() for w in words)
    as_text = _whole_word(text)

    def word_ok(args: tuple[str, ...]) -> bool:
        for word, is_exact in zip(words, exact, strict=True):
            if is_exact:
                if word not in args:
                    return False
            elif not any(a.startswith(word) for a in args):
                return False
        return True

    def match(facts: Facts) -> str | None:
        if not facts.commands:
            return as_text(facts)  # no command could be read: seed-style text match
        for view in facts.views_by_program.get(program, ()):
            if flags <= view.flags and (not words or word_ok(view.words)):
                return view.source or view.program
        return None

    return match


def _either(first: Matcher, second: Matcher) -> Matcher:
    def match(facts: Facts) -> str | None:
        return first(facts) or second(facts)

    return match


# --- paths -----------------------------------------------------------------


def _path(text: str) -> tuple[str, Matcher]:
    if not text.strip() or any(c.isspace() for c in text.strip()):
        return "text", _substring(text)
    return "path", _path_matcher(text.strip())


def _path_matcher(text: str) -> Matcher:
    parts = path_parts(normalize_path(text).casefold())
    if text.startswith(("/", "~")):
        # Within a root: the root's components lead some path's components.
        return lambda facts: facts.path_index.get(parts)
    if len(parts) == 1:
        # A component, or a file name it starts followed by a dot (id_rsa -> id_rsa.pub).
        name = parts[0]
        return lambda facts: facts.path_index.get(name)
    size = len(parts)

    def run(facts: Facts) -> str | None:
        for path, have in zip(facts.paths, facts.folded_parts, strict=True):
            if any(have[i : i + size] == parts for i in range(len(have) - size + 1)):
                return path
        return None

    return run


# --- URLs ------------------------------------------------------------------


def _url(text: str) -> tuple[str, Matcher]:
    candidate = text.strip()
    if "://" in candidate:
        key = url_key(candidate)
        if key is None:
            return "text", _substring(text)
        return "url", _url_prefix(*key)
    folded = candidate.casefold().rstrip(".")
    if not _HOST.match(folded):
        return "text", _substring(text)
    subdomains_only = folded.startswith("*.")
    base = folded.removeprefix("*.")
    suffix = "." + base

    def host(facts: Facts) -> str | None:
        for h in facts.hosts:
            if h.endswith(suffix) or (h == base and not subdomains_only):
                return h
        return None

    return "host", host


def _url_prefix(scheme: str, host: str, port: int | None, segments: tuple[str, ...]) -> Matcher:
    size = len(segments)
    want = (scheme, host, port)

    def match(facts: Facts) -> str | None:
        for url, (s, h, p, segs) in facts.url_keys:
            if (s, h, p) == want and segs[:size] == segments:
                return url
        return None

    return match
