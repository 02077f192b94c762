"""Secrets a Node, Ruby, Perl, PHP or Lua one-liner prints or writes, from its tokens.

Why and what counts as a print: ``interpreter_secrets``. There is no parser for these
languages here, so the rule is local: a print call whose arguments mention a read of
the environment, a name bound from one (assignment, destructuring, loop variable), or a
parameter of a block given to an expression that reads one, prints it. The tokens come
from ``shell_interpreters`` (its tokenizer and call-argument reader are passed in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from canopy.decisions.analyzers.interpreter_effects import Effect
from canopy.decisions.analyzers.interpreter_secrets import (
    RUN_TIME_NAMES,
    SHOWN,
    WHOLE_ENVIRONMENT,
    Secret,
    secret_effect,
    variable,
)

__all__ = ["script_secret_effects"]

_FIXPOINT_ROUNDS = 8


class Token(Protocol):
    @property
    def kind(self) -> str: ...  # "str", "cmd", "id", "op"

    @property
    def text(self) -> str: ...

    @property
    def computed(self) -> bool: ...  # a string with interpolation


Tokenize = Callable[[str], Sequence[Token]]
ArgumentsOf = Callable[..., Any]  # (tokens, index, *, bare) -> argument token lists or None

#: Print-like calls, by language; the ``bare`` ones take arguments without parentheses.
_PRINTS = {
    "node": frozenset(
        {f"console.{m}" for m in ("log", "error", "info", "warn", "debug", "dir", "table", "trace")}
        | {"process.stdout.write", "process.stderr.write"}
    ),
    "ruby": frozenset(
        {"puts", "print", "p", "pp", "printf", "warn", "abort", "raise", "fail", "display"}
        | {
            f"{s}.{m}"
            for s in ("$stdout", "$stderr", "STDOUT", "STDERR")
            for m in ("puts", "print", "write", "printf")
        }
    ),
    "perl": frozenset({"print", "say", "printf", "warn", "die"}),
    "php": frozenset(
        {"echo", "print", "printf", "print_r", "var_dump", "var_export", "vprintf", "die"}
        | {"exit", "error_log", "fwrite", "fputs", "fprintf"}
    ),
    "lua": frozenset({"print", "io.write", "error"}),
}
_BARE = frozenset({"ruby", "perl", "php"})
#: Where interpolated code sits inside a double-quoted string, by language.
_INTERPOLATIONS = {
    "ruby": re.compile(r"#\{([^}]*)\}"),
    "node": re.compile(r"\$\{([^}]*)\}"),
    "perl": re.compile(r"([$@%]\{?\w+\}?(?:\{[^}]*\}|\[[^\]]*\])?)"),
    "php": re.compile(r"\{(\$[^}]*)\}|(\$\w+(?:\[[^\]]*\])?)"),
}
#: Reads of the environment that see only the variables' names.
_NAME_ONLY = frozenset(
    {"keys", "ENV.keys", "ENV.key?", "ENV.include?", "ENV.has_key?", "ENV.key", "ENV.size"}
    | {"ENV.length", "ENV.empty?", "ENV.each_key", "ENV.key?", "array_keys", "Object.keys"}
    | {"isset", "array_key_exists", "exists", "defined"}
)


def script_secret_effects(
    language: str,
    tokens: Sequence[Token],
    *,
    tokenize: Tokenize,
    arguments_of: ArgumentsOf,
    writes: Iterable[str] = (),
) -> list[Effect]:
    """Secrets a Node/Ruby/Perl/PHP/Lua program prints, or writes with a ``writes`` call."""
    prints = _PRINTS.get(language)
    if prints is None:
        return []
    scan = _ScriptScan(language, tokens, tokenize)
    scan.follow_assignments()
    writers = frozenset(writes)
    effects = []
    for i, tok in enumerate(tokens):
        if language == "php" and tok.text == "phpinfo":
            effects.append(secret_effect(Secret(WHOLE_ENVIRONMENT), SHOWN))  # lists every variable
            continue
        shows = tok.text in prints
        if tok.kind != "id" or not (shows or tok.text.rsplit(".", 1)[-1] in writers):
            continue
        args = arguments_of(tokens, i + 1, bare=language in _BARE)
        if not args:
            continue
        data = _before_modifier([t for arg in (args if shows else args[1:]) for t in arg])
        secret = scan.first_secret(data) or scan.block_parameter_secret(i, data)
        if secret is None:
            continue
        if shows:
            effects.append(secret_effect(secret, SHOWN))
        else:
            path = args[0][0]
            literal = len(args[0]) == 1 and path.kind == "str" and not path.computed
            effects.append(secret_effect(secret, path.text if literal else ""))
    return list(dict.fromkeys(effects))


_OPENERS_OF = {")": "(", "]": "[", "}": "{"}
_STATEMENT_ENDS = frozenset({";", "{", "}"})
_DECLARATIONS = frozenset({"my", "our", "local", "const", "let", "var"})


class _ScriptScan:
    """Secret reads in one program's tokens, and the names that come to hold them."""

    def __init__(self, language: str, tokens: Sequence[Token], tokenize: Tokenize) -> None:
        self.language = language
        self.tokens = tokens
        self.tokenize = tokenize
        self.tainted: dict[str, Secret] = {}

    # names that hold secrets
    def follow_assignments(self) -> None:
        """``t = ENV["TOKEN"]``, ``my ($k, $v) = each %ENV``, ``const {GITHUB_TOKEN} =
        process.env``, ``for (const [k, v] of Object.entries(process.env))``,
        ``foreach ($_ENV as $k => $v)``: the names bound hold the secret."""
        for _ in range(_FIXPOINT_ROUNDS):
            before = len(self.tainted)
            for i in range(len(self.tokens) - 1):
                self._bind_at(i)
            if len(self.tainted) == before:
                return

    def _bind_at(self, i: int) -> None:
        tokens = self.tokens
        tok, after = tokens[i], tokens[i + 1]
        if after.kind == "op" and after.text == "=" and _assigns_at(tokens, i + 1):
            secret = self.first_secret(tokens[i + 2 : self._statement_end(i + 2)])
            if secret is None:
                return
            if tok.kind == "id":
                self._taint([tok], secret)
            elif tok.kind == "op" and tok.text in "+.|&-*/" and i and tokens[i - 1].kind == "id":
                self._taint([tokens[i - 1]], secret)  # t += ..., $t .= ...
            elif tok.kind == "op" and tok.text in _OPENERS_OF:
                opened = _opener(tokens, i)
                if opened is not None:
                    self._taint(tokens[opened + 1 : i], secret, by_name=tok.text == "}")
        elif tok.kind == "id" and tok.text in ("for", "foreach"):
            self._bind_loop(i)

    def _bind_loop(self, i: int) -> None:
        """Loop variables over a secret (not over the variables' names)."""
        tokens = self.tokens
        end = self._statement_end(i + 1, stop_at_blocks=True)
        words = [t.text for t in tokens[i:end]]
        for keyword, names_first in (("of", True), ("in", True), ("as", False)):
            if keyword not in words or (keyword == "in" and self.language == "node"):
                continue  # for (k in obj): the keys
            at = i + words.index(keyword)
            names, source = (
                (tokens[i + 1 : at], tokens[at + 1 : end])
                if names_first
                else (tokens[at + 1 : end], tokens[i + 1 : at])
            )
            secret = self.first_secret(source)
            if secret is not None:
                self._taint(names, secret)
            return
        if self.language == "perl":  # for my $v (values %ENV)
            opened = next((k for k in range(i + 1, end) if tokens[k].text == "("), None)
            if opened is not None:
                secret = self.first_secret(tokens[opened:end])
                if secret is not None:
                    self._taint(tokens[i + 1 : opened], secret)

    def _taint(self, names: Sequence[Token], secret: Secret, *, by_name: bool = False) -> None:
        """Bind ``secret`` to the names among these tokens. ``by_name``: a destructuring of
        the environment (``{GITHUB_TOKEN, HOME} = process.env``) binds each name to its
        own variable."""
        whole = secret.what == WHOLE_ENVIRONMENT
        for tok in names:
            if tok.kind != "id" or tok.text in _DECLARATIONS or tok.text in ("of", "in", "as"):
                continue
            bound = variable(tok.text) if by_name and whole else secret
            if bound is not None:
                self.tainted.setdefault(tok.text, bound)

    def _statement_end(self, i: int, *, stop_at_blocks: bool = False) -> int:
        """Where the statement from tokens[i] ends: ``;``, an unmatched closer, the
        next assignment (Ruby's lines), or a block's start when asked."""
        tokens, depth = self.tokens, 0
        while i < len(tokens):
            tok = tokens[i]
            if tok.kind == "op" and tok.text in "([{":
                if stop_at_blocks and tok.text == "{" and depth == 0:
                    return i
                depth += 1
            elif tok.kind == "op" and tok.text in ")]}":
                if depth == 0:
                    return i
                depth -= 1
                if stop_at_blocks and depth == 0 and tok.text == ")":
                    return i + 1
            elif depth == 0 and (tok.text in (";", "do") or _assigns_at(tokens, i + 1)):
                return i
            i += 1
        return i

    def block_parameter_secret(self, i: int, data: Sequence[Token]) -> Secret | None:
        """A print inside a block or callback given to an expression that reads a secret
        (``ENV.each { |k, v| puts v }``, ``Object.entries(process.env).forEach(([k, v])
        => console.log(v))``), printing one of the block's parameters, prints it."""
        tokens = self.tokens
        printed_names = {t.text for t in data if t.kind == "id"}
        printed_names |= {
            t.text
            for tok in data
            if tok.kind == "str" and tok.computed
            for t in self.tokenize(tok.text)
            if t.kind == "id"
        }
        position = i
        while (opened := _enclosing(tokens, position)) is not None:
            head_start = opened
            while head_start > 0 and tokens[head_start - 1].text not in _STATEMENT_ENDS:
                head_start -= 1
            secret = self.first_secret(tokens[head_start:opened])
            parameters = {t.text for t in tokens[opened + 1 : i] if t.kind == "id"}
            if secret is not None and parameters & printed_names:
                return secret
            position = opened
        return None

    # reads of the environment
    def first_secret(self, tokens: Sequence[Token]) -> Secret | None:
        for i, tok in enumerate(tokens):
            secret = None if _names_only(tokens, i) else self._read_at(tokens, i)
            if secret is None and tok.kind == "id":
                secret = self.tainted.get(tok.text)
            if secret is None and tok.kind == "str" and tok.computed:
                secret = self._interpolated(tok.text)
            if secret is not None:
                return secret
        return None

    def _interpolated(self, text: str) -> Secret | None:
        pattern = _INTERPOLATIONS.get(self.language)
        if pattern is None:
            return None
        for match in pattern.finditer(text):
            code = next((g for g in match.groups() if g is not None), "")
            secret = self.first_secret(list(self.tokenize(code)))
            if secret is not None:
                return secret
        return None

    def _read_at(self, tokens: Sequence[Token], i: int) -> Secret | None:
        """A read of the environment starting at tokens[i], if any."""
        tok = tokens[i]
        if tok.kind != "id":
            return None
        text = tok.text
        if self.language == "node":
            text = text.removeprefix("globalThis.").removeprefix("global.")
            if _required_process(tokens, i):  # require("process").env
                text = "process." + text
        if self.language == "node" and text.startswith("process.env"):
            rest = text.removeprefix("process.env")
            if rest.startswith("."):
                return variable(rest[1:].split(".", 1)[0])
            return _subscripted(tokens, i, "[", "]") if rest == "" else None
        if self.language == "ruby" and (text == "ENV" or text.startswith("ENV.")):
            if text in _NAME_ONLY:
                return None
            if text == "ENV":
                return _subscripted(tokens, i, "[", "]")
            if text in ("ENV.fetch", "ENV.[]", "ENV.values_at"):
                return _subscripted(tokens, i, "(", ")")
            return Secret(WHOLE_ENVIRONMENT)
        if self.language == "perl" and text in ("$ENV", "%ENV", "@ENV"):
            if text == "%ENV":
                return Secret(WHOLE_ENVIRONMENT)
            return _subscripted(tokens, i, "{", "}")
        if self.language == "php" and text in ("$_ENV", "$_SERVER", "getenv"):
            if text == "getenv":
                return _call_read(tokens, i)
            return _subscripted(tokens, i, "[", "]")
        if self.language == "lua" and text == "os.getenv":
            return _call_read(tokens, i)
        return None


#: ``print $x if $ENV{TOKEN}``: the condition after these words is no argument.
_MODIFIERS = frozenset({"if", "unless", "while", "until", "and", "or", "for", "foreach"})


def _before_modifier(tokens: list[Token]) -> list[Token]:
    depth = 0
    for k, tok in enumerate(tokens):
        if tok.kind == "op" and tok.text in "([{":
            depth += 1
        elif tok.kind == "op" and tok.text in ")]}":
            depth -= 1
        elif depth == 0 and tok.kind == "id" and tok.text in _MODIFIERS:
            return tokens[:k]
    return tokens


def _required_process(tokens: Sequence[Token], i: int) -> bool:
    """tokens[i] is ``env...`` right after ``require("process").``."""
    if i < 5 or not (tokens[i].text == "env" or tokens[i].text.startswith("env.")):
        return False
    before = [t.text for t in tokens[i - 5 : i]]
    return before == ["require", "(", "process", ")", "."] and tokens[i - 3].kind == "str"


def _names_only(tokens: Sequence[Token], i: int) -> bool:
    """``keys %ENV``, ``Object.keys(process.env)``, ``array_keys($_ENV)``: names, not values."""
    before = i - 1
    if before >= 0 and tokens[before].text == "(":
        before -= 1
    return before >= 0 and tokens[before].text in _NAME_ONLY


def _opener(tokens: Sequence[Token], close: int) -> int | None:
    """Index of the bracket that the closer at ``close`` matches."""
    want, depth = _OPENERS_OF[tokens[close].text], 0
    for k in range(close - 1, -1, -1):
        tok = tokens[k]
        if tok.kind != "op":
            continue
        if tok.text in _OPENERS_OF:
            depth += 1
        elif tok.text in "([{":
            if depth == 0:
                return k if tok.text == want else None
            depth -= 1
    return None


def _enclosing(tokens: Sequence[Token], i: int) -> int | None:
    """Index of the innermost bracket still open at tokens[i]."""
    depth = 0
    for k in range(i - 1, -1, -1):
        tok = tokens[k]
        if tok.kind != "op":
            continue
        if tok.text in _OPENERS_OF:
            depth += 1
        elif tok.text in "([{":
            if depth == 0:
                return k
            depth -= 1
    return None


def _subscripted(tokens: Sequence[Token], i: int, open_: str, close: str) -> Secret | None:
    """``ENV["NAME"]``, ``$ENV{NAME}``, ``ENV.fetch("NAME")``: that variable; the object
    itself (nothing subscripted): every variable."""
    if i + 1 >= len(tokens) or tokens[i + 1].text != open_:
        return Secret(WHOLE_ENVIRONMENT)
    key = tokens[i + 2] if i + 2 < len(tokens) else None
    closed = i + 3 < len(tokens) and tokens[i + 3].text == close
    if key is None or not closed:
        return Secret(RUN_TIME_NAMES)
    literal = key.kind == "str" and not key.computed
    bareword = key.kind == "id" and open_ == "{" and key.text[:1] not in "$@%"  # $ENV{HOME}
    return variable(key.text) if literal or bareword else Secret(RUN_TIME_NAMES)


def _call_read(tokens: Sequence[Token], i: int) -> Secret | None:
    """``getenv("NAME")``: that variable; ``getenv()``: every variable."""
    if i + 2 < len(tokens) and tokens[i + 1].text == "(" and tokens[i + 2].text == ")":
        return Secret(WHOLE_ENVIRONMENT)
    return _subscripted(tokens, i, "(", ")") if i + 1 < len(tokens) else None


def _assigns_at(tokens: Sequence[Token], equals: int) -> bool:
    """Is tokens[equals] an assignment's ``=`` (not ``==``, ``=>``, ``=~``)?"""
    if equals >= len(tokens) or tokens[equals].kind != "op" or tokens[equals].text != "=":
        return False
    if equals + 1 < len(tokens) and tokens[equals + 1].text in ("=", ">", "~"):
        return False
    return equals > 0 and tokens[equals - 1].text not in ("!", "<", ">", "=")
