"""User regexes go through RE2 only: linear time, so no policy can hang a decision.

RE2 has no backreferences or lookarounds; a pattern that needs them is an
error the author must see, never a rule skipped in silence.

Matching uses ``RE2::Set`` (unanchored, i.e. ``search`` semantics): it answers
"which of these patterns occur in this text" in one pass, without building
match objects, which is several times cheaper per call than ``search`` from
Python. A rule's regexes share one set, so each target is scanned once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import re2

__all__ = ["RegexGroup", "UserRegex", "compile_user_regex"]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors are reported to the author, not to stderr


def _search_set(patterns: Sequence[str]) -> Any:
    regex_set = re2.Set.SearchSet(_OPTIONS)
    for pattern in patterns:
        regex_set.Add(pattern)
    regex_set.Compile()
    return regex_set


@dataclass(frozen=True, slots=True)
class UserRegex:
    """A user's pattern, validated and compiled once."""

    text: str
    compiled: Any  # re2._Regexp: the authoritative compilation (and error messages)
    matcher: Any  # a one-pattern RE2 Set: the same language, matched cheaply

    def found_in(self, text: str) -> bool:
        return self.matcher.Match(text) is not None

    def first_match(self, targets: Sequence[str]) -> str | None:
        """The first target the pattern occurs in."""
        match = self.matcher.Match
        for target in targets:
            if match(target) is not None:
                return target
        return None

    @property
    def matches_empty(self) -> bool:
        return self.found_in("")


def compile_user_regex(text: str) -> UserRegex:
    """Compile with RE2 or raise ``ValueError`` explaining why RE2 refused it."""
    try:
        compiled = re2.compile(text, _OPTIONS)
    except re2.error as e:
        detail = e.args[0] if e.args else e
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        hint = ""
        if any(look in text for look in ("(?=", "(?!", "(?<=", "(?<!")):
            hint = "; RE2 has no lookahead or lookbehind"
        elif "invalid escape sequence: \\" in str(detail) and any(
            f"\\{d}" in text for d in "123456789"
        ):
            hint = "; RE2 has no backreferences"
        raise ValueError(f"RE2 cannot compile '{text}': {detail}{hint}") from e
    return UserRegex(text, compiled, _search_set([text]))


class RegexGroup:
    """Several user regexes tested together: one scan per target."""

    __slots__ = ("_matcher", "regexes")

    def __init__(self, regexes: Sequence[UserRegex]) -> None:
        self.regexes = tuple(regexes)
        self._matcher = _search_set([r.text for r in self.regexes]) if self.regexes else None

    def first(self, targets: Sequence[str]) -> tuple[UserRegex, str] | None:
        """The earliest regex (in policy order) found in any target, and that target."""
        if self._matcher is None:
            return None
        match = self._matcher.Match
        best: int | None = None
        where = ""
        for target in targets:
            hits = match(target)
            if hits:
                lowest = min(hits)
                if best is None or lowest < best:
                    best, where = lowest, target
                    if best == 0:
                        break
        return None if best is None else (self.regexes[best], where)
