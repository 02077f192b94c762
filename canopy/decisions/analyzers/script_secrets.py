"""Secrets a Node, Ruby, Perl, PHP or Lua one-liner prints or writes, from its tokens.

Why and what counts as a print: ``interpreter_secrets``. There is no parser for these
languages here, so the rule is local: a print whose arguments mention a read of the
environment, a name bound from one (assignment, destructuring, loop variable, a function
whose body reads one), or a parameter of a block given to an expression that reads one,
prints it. A read only tested, measured or hashed (``!!process.env.TOKEN``, ``length
$ENV{TOKEN}``, ``ENV["TOKEN"].nil?``, ``getenv("TOKEN") ~= nil``) is not a print, nor is
a list of the variables' names. The tokens come from ``shell_interpreters`` (its
tokenizer and call-argument reader are passed in).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from canopy.decisions.analyzers.interpreter_effects import Effect
from canopy.decisions.analyzers.interpreter_secrets import (
    RUN_TIME_NAMES,
    SHOWN,
    STDERR,
    WHOLE_ENVIRONMENT,
    Secret,
    merged,
    secret_effect,
    variable,
)

__all__ = ["opener_of", "script_secret_effects"]

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


@dataclass(frozen=True, slots=True)
class _Tok:
    """A token this module makes up (a normalized spelling)."""

    kind: str
    text: str
    computed: bool = False


def _streams(*pairs: tuple[str, str]) -> dict[str, str]:
    return {name: stream for names, stream in pairs for name in names.split()}


#: Print-like calls by language, and the stream each writes to.
_PRINTS = {
    "node": _streams(
        ("console.log console.info console.debug console.dir console.table", SHOWN),
        ("process.stdout.write", SHOWN),
        ("console.error console.warn console.trace process.stderr.write", STDERR),
        ("process.emitWarning throw assert assert.ok assert.equal console.assert", STDERR),
    ),
    "ruby": _streams(
        ("puts print p pp printf display putc Kernel.puts Kernel.print Kernel.p", SHOWN),
        ("$stdout.puts $stdout.print $stdout.write $stdout.printf $stdout.syswrite", SHOWN),
        ("STDOUT.puts STDOUT.print STDOUT.write STDOUT.printf STDOUT.syswrite", SHOWN),
        ("warn abort raise fail $stderr.puts $stderr.print $stderr.write", STDERR),
        ("$stderr.syswrite STDERR.puts STDERR.print STDERR.write STDERR.syswrite", STDERR),
        ("$stdout STDOUT", SHOWN),  # $stdout << value
        ("$stderr STDERR", STDERR),
    ),
    "perl": _streams(("print say printf syswrite", SHOWN), ("warn die croak confess", STDERR)),
    "php": _streams(
        ("echo print printf print_r var_dump var_export vprintf exit die", SHOWN),
        ("fwrite fputs fprintf", SHOWN),
        ("error_log trigger_error user_error throw", STDERR),
    ),
    "lua": _streams(("print io.write io.stdout:write", SHOWN), ("error io.stderr:write", STDERR)),
}
#: Keywords that print the expression after them, without parentheses.
_KEYWORD_PRINTS = frozenset({"throw", "echo", "print", "raise", "fail", "die", "exit"})
_BARE = frozenset({"ruby", "perl", "php"})
#: Where interpolated code sits inside a double-quoted string, by language.
_INTERPOLATIONS = {
    "ruby": re.compile(r"#\{([^}]*)\}"),
    "node": re.compile(r"\$\{([^}]*)\}"),
    "perl": re.compile(r"([$@%]\{?\w+\}?(?:\{[^}]*\}|\[[^\]]*\])?)"),
    "php": re.compile(r"\{(\$[^}]*)\}|(\$\w+(?:\[[^\]]*\])?)"),
}
#: Words before a read of the environment that see only the variables' names.
_NAME_ONLY = frozenset(
    {"keys", "array_keys", "Object.keys", "Object.hasOwn", "isset", "array_key_exists"}
    | {"exists", "defined", "in", "Reflect.has", "Object.getOwnPropertyNames"}
)
#: Ruby's ENV methods that give names or facts, not values.
_RUBY_NAME_METHODS = frozenset(
    {"keys", "key?", "include?", "has_key?", "member?", "key", "size", "length", "empty?"}
    | {"each_key", "any?", "none?", "count"}
)
#: Words before a read that make it a test, a measure or a digest, not the value.
_OPAQUE_BEFORE = frozenset(
    {"!", "#", "length", "strlen", "mb_strlen", "empty", "is_null", "defined", "isset"}
    | {"Boolean", "len", "md5", "sha1", "hash", "crc32", "password_hash", "scalar"}
    | {"Digest::SHA256.hexdigest", "Digest::MD5.hexdigest", "Digest::SHA1.hexdigest"}
    | {"sha256_hex", "md5_hex", "sha1_hex", "update", "hash_hmac", "bool", "not"}
)
#: Words right after a read that make it a test or a measure.
_OPAQUE_AFTER = frozenset({"?", "=", "!", "<", ">", "~", "ne", "eq", "lt", "gt", "and", "or"})
_OPAQUE_METHODS = frozenset(
    {"length", "size", "nil?", "empty?", "present?", "blank?", "startsWith", "endsWith"}
    | {"start_with?", "end_with?", "include?", "includes", "match?", "hash", "bytesize"}
)
#: Clients and programs a value is handed to: used there, their results are responses.
_CONSUMER_RECEIVERS = frozenset(
    {"axios", "https", "http", "got", "superagent", "needle", "request", "child_process"}
    | {"Net::HTTP", "HTTParty", "Faraday", "RestClient", "Open3", "subprocess", "requests"}
)
_CONSUMERS = frozenset(
    {"fetch", "axios", "request", "execSync", "exec", "spawn", "spawnSync"}
    | {"execFile", "execFileSync", "system", "shell_exec", "passthru", "curl_setopt"}
    | {"curl_exec", "file_get_contents", "Net::HTTP", "HTTParty", "Faraday", "open-uri"}
    | {"LWP::UserAgent", "HTTP::Tiny", "capture2", "capture3", "popen3", "execute"}
)
_OPENERS_OF = {")": "(", "]": "[", "}": "{"}
_DECLARATIONS = frozenset({"my", "our", "local", "const", "let", "var", "function", "def"})
_FILE_OPENERS = frozenset({"File.open", "File.new", "open", "io.open", "fopen", "IO.open"})


def script_secret_effects(
    language: str,
    tokens: Sequence[Token],
    *,
    tokenize: Tokenize,
    arguments_of: ArgumentsOf,
    writes: Iterable[str] = (),
) -> list[Effect]:
    """Environment variables a Node/Ruby/Perl/PHP/Lua program prints, or writes with a
    ``writes`` call (``fs.writeFileSync(path, value)``)."""
    prints = _PRINTS.get(language)
    if prints is None:
        return []
    tokens = _normalized(language, tokens)
    scan = _ScriptScan(language, tokens, tokenize, prints)
    scan.follow_assignments()
    writers = frozenset(writes)
    effects = []
    for i, tok in enumerate(tokens):
        if language == "php" and tok.text == "phpinfo":
            effects.append(secret_effect(Secret(everything=WHOLE_ENVIRONMENT), SHOWN))
            continue
        if tok.kind != "id":
            continue
        stream = scan.stream_of(tok.text)
        if stream is not None:
            effects.extend(scan.print_effects(i, stream, arguments_of))
        elif tok.text.rsplit(".", 1)[-1] in writers | {"writeSync"}:
            effects.extend(scan.write_effects(i, arguments_of))
        elif (language == "lua" and ":" in tok.text) or tok.text.rsplit(".", 1)[-1] in (
            "write",
            "puts",
            "print",
        ):
            effects.extend(scan.handle_effects(i, arguments_of))
    return list(dict.fromkeys(effects))


def _normalized(language: str, tokens: Sequence[Token]) -> list[Token]:
    """One spelling for the reads and calls written several ways: ``process["env"]``,
    ``globalThis.process``, ``require("process").env``, ``?.``, ``console["log"]``,
    Lua's ``io.stdout:write`` and ``os["getenv"]``, Perl's ``print {*STDOUT}``, PHP's ``@``."""
    out: list[Token] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        texts = [t.text for t in tokens[i : i + 6]]
        if tok.kind == "id" and texts[1:4:2] == ["[", "]"] and len(texts) > 3:
            key = tokens[i + 2]
            plain = key.kind == "str" and not key.computed and re.fullmatch(r"\w+", key.text)
            if plain and tok.text in ("process", "console", "os", "globalThis", "global"):
                out.append(_Tok("id", f"{tok.text}.{key.text}"))
                i += 4
                continue
        if texts[:5] == ["require", "(", "process", ")", "."] and len(tokens) > i + 5:
            out.append(_Tok("id", "process." + tokens[i + 5].text))
            i += 6
            continue
        if language == "lua" and len(texts) > 2 and texts[1] == ":" and tok.kind == "id":
            out.append(_Tok("id", f"{tok.text}:{texts[2]}"))
            i += 3
            continue
        if language == "node" and tok.kind == "op" and tok.text == "?" and texts[1:2] == ["."]:
            i += 1  # a?.b: a.b
            continue
        joins = out and out[-1].kind == "id" and i + 1 < len(tokens) and tokens[i + 1].kind == "id"
        if language == "node" and tok.kind == "op" and tok.text == "." and joins:
            out[-1] = _Tok("id", f"{out[-1].text}.{tokens[i + 1].text}")  # a?.b, f().b
            i += 2
            continue
        if tok.kind == "op" and tok.text == "@" and language == "php":
            i += 1  # @getenv(...): errors silenced, same value
            continue
        if tok.kind == "id":
            text = tok.text.removeprefix("globalThis.").removeprefix("global.")
            if language == "perl" and text in ("print", "say", "printf") and texts[1:2] == ["{"]:
                close = next((k for k in range(i + 2, len(tokens)) if tokens[k].text == "}"), i)
                out.append(_Tok("id", text))
                i = close + 1  # print {*STDOUT} LIST: the handle block is no argument
                continue
            tok = _Tok("id", text) if text != tok.text else tok
        out.append(tok)
        i += 1
    return out


class _ScriptScan:
    """Environment reads in one program's tokens, and the names that come to hold them."""

    def __init__(
        self, language: str, tokens: Sequence[Token], tokenize: Tokenize, prints: dict[str, str]
    ) -> None:
        self.language = language
        self.tokens = tokens
        self.tokenize = tokenize
        self.prints = dict(prints)
        self.tainted: dict[str, Secret] = {}
        self.readers: set[str] = {"os.getenv", "getenv"}  # local g = os.getenv
        ids = {t.text for t in tokens if t.kind == "id"}
        self.perl_env_names = language == "perl" and "Env" in ids and "use" in ids

    def stream_of(self, name: str) -> str | None:
        return self.prints.get(name)

    # names that hold values
    def follow_assignments(self) -> None:
        """``t = ENV["TOKEN"]``, ``my ($k, $v) = each %ENV``, ``const {GITHUB_TOKEN: t} =
        process.env``, ``for (const [k, v] of Object.entries(process.env))``, ``foreach
        ($_ENV as $k => $v)``, ``function t() { return process.env.TOKEN }``: the names
        bound hold the value; ``log = console.log``, ``g = os.getenv``: aliases."""
        for _ in range(_FIXPOINT_ROUNDS):
            before = (dict(self.tainted), len(self.prints), len(self.readers))
            for i in range(len(self.tokens) - 1):
                self._bind_at(i)
            if (self.tainted, len(self.prints), len(self.readers)) == before:
                return

    def _bind_at(self, i: int) -> None:
        tokens = self.tokens
        tok, after = tokens[i], tokens[i + 1]
        if after.kind == "op" and after.text == "=" and _assigns_at(tokens, i + 1):
            self._bind_assignment(i)
        elif tok.kind == "id" and tok.text in ("for", "foreach"):
            self._bind_loop(i)
        elif tok.kind == "id" and tok.text in ("function", "def", "sub") and after.kind == "id":
            end = self._statement_end(i + 2, stop_at_blocks=True)
            body_end = _closer(tokens, end) if end < len(tokens) else end
            body = tokens[end:body_end] if tok.text != "def" else tokens[i + 2 : body_end]
            secret = self.values(body)
            if secret is not None:
                self._bind(after.text, secret)

    def _bind_assignment(self, i: int) -> None:
        tokens = self.tokens
        tok = tokens[i]
        end = self._statement_end(i + 2)
        value = tokens[i + 2 : end]
        if tok.kind == "id" and len(value) == 1 and value[0].kind == "id":
            alias = value[0].text
            if alias in self.prints:
                self.prints.setdefault(tok.text, self.prints[alias])
            if alias in self.readers:
                self.readers.add(tok.text)
        if [t.text for t in value] == ["console"] and tok.text == "}":
            opened = opener_of(tokens, i)
            for name in tokens[opened:i] if opened is not None else ():
                if f"console.{name.text}" in self.prints:  # const {log} = console
                    self.prints.setdefault(name.text, self.prints[f"console.{name.text}"])
            return
        secret = self.values(value)
        if [t.text for t in value] == ["process"] and tok.text == "}":
            secret = Secret(everything=WHOLE_ENVIRONMENT)  # const {env} = process
            opened = opener_of(tokens, i)
            if opened is not None and any(t.text == "env" for t in tokens[opened:i]):
                self._bind("env", secret)
            return
        if secret is None:
            return
        if tok.kind == "id":
            self._bind(tok.text, secret)
        elif tok.kind == "op" and tok.text in "+.|&-*/" and i and tokens[i - 1].kind == "id":
            self._bind(tokens[i - 1].text, secret)  # t += ..., $t .= ...
        elif tok.kind == "op" and tok.text in _OPENERS_OF:
            opened = opener_of(tokens, i)
            if opened is not None:
                pattern = tokens[opened + 1 : i]
                if tok.text == "}":
                    self._destructure(pattern, secret)
                else:
                    pairs = any(t.text in ("each", "entries") for t in value)
                    self._bind_names(pattern, secret, skip_key=pairs)

    def _bind_loop(self, i: int) -> None:
        """Loop variables over values (not over the variables' names)."""
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
            secret = self.values(source)
            if secret is not None:
                self._bind_names(names, secret, skip_key=True)
            return
        if self.language == "perl":  # for my $v (values %ENV)
            opened = next((k for k in range(i + 1, end) if tokens[k].text == "("), None)
            if opened is not None:
                secret = self.values(tokens[opened:end])
                if secret is not None:
                    self._bind_names(tokens[i + 1 : opened] or [_Tok("id", "$_")], secret)

    def _bind_names(
        self, names: Sequence[Token], secret: Secret, *, skip_key: bool = False
    ) -> None:
        """Bind every name among these tokens; with ``skip_key``, of two or more names the
        first is a key (``for k, v in ENV``, ``[k, v]`` of ``entries``, ``$k => $v``)."""
        bound = [
            t.text
            for t in names
            if t.kind == "id" and t.text not in _DECLARATIONS and t.text not in ("of", "in", "as")
        ]
        if skip_key and len(bound) >= 2:
            bound = bound[1:]
        for name in bound:
            self._bind(name, secret)

    def _destructure(self, pattern: Sequence[Token], secret: Secret) -> None:
        """``{GITHUB_TOKEN, HOME: home, ...rest} = process.env``: each name its variable."""
        by_name = secret.everything == WHOLE_ENVIRONMENT
        k = 0
        while k < len(pattern):
            tok = pattern[k]
            if tok.kind == "id" and tok.text not in _DECLARATIONS:
                renamed = k + 2 < len(pattern) and pattern[k + 1].text == ":"
                target = pattern[k + 2].text if renamed else tok.text
                rest = k >= 3 and [t.text for t in pattern[k - 3 : k]] == [".", ".", "."]
                whole = rest or not by_name
                self._bind(target, secret if whole else variable(tok.text))
                k += 3 if renamed else 1
                continue
            k += 1

    def _bind(self, name: str, secret: Secret) -> None:
        base = self._base(name)
        self.tainted[base] = merged((self.tainted.get(base), secret)) or secret

    def _base(self, name: str) -> str:
        """``o.t`` is held by ``o``; Perl's ``%e``, ``$e{...}`` and ``@e`` are one ``e``."""
        base = re.split(r"\.|->|:", name, maxsplit=1)[0] or name
        if self.language == "perl" and base[:1] in "$@%" and len(base) > 1:
            return base[1:]
        return base

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

    # where values go
    def print_effects(self, i: int, stream: str, arguments_of: ArgumentsOf) -> Iterable[Effect]:
        tokens = self.tokens
        name = tokens[i].text
        following = [t.text for t in tokens[i + 1 : i + 3]]
        if name in ("$stdout", "STDOUT", "$stderr", "STDERR") and following != ["<", "<"]:
            return
        if following[:1] != ["("] and i and tokens[i - 1].text in ("(", ","):
            secret = self._enclosing_call_secret(i)  # [token].forEach(console.log)
            if secret is not None:
                yield secret_effect(secret, stream)
            return
        data = self._arguments(i, arguments_of)
        secret = self.values(data) if data else None
        mentions_topic = not data or any("$_" in t.text for t in data)
        topic = self._implicit_topic(i) if mentions_topic else None
        secret = merged((secret, topic, self.block_parameter_secret(i, data)))
        if secret is not None:
            yield secret_effect(secret, stream)

    def write_effects(self, i: int, arguments_of: ArgumentsOf) -> Iterable[Effect]:
        args = arguments_of(self.tokens, i + 1, bare=self.language in _BARE) or []
        if len(args) < 2:
            return
        secret = self.values([t for arg in args[1:] for t in arg])
        if secret is None:
            return
        first = args[0]
        if len(first) == 1 and first[0].text in ("1", "2"):  # fs.writeSync(1, ...)
            yield secret_effect(secret, SHOWN if first[0].text == "1" else STDERR)
            return
        literal = len(first) == 1 and first[0].kind == "str" and not first[0].computed
        yield secret_effect(secret, first[0].text if literal else "")

    def handle_effects(self, i: int, arguments_of: ArgumentsOf) -> Iterable[Effect]:
        """``f.puts value``, ``f:write(value)``: a write through a handle; to the file an
        enclosing ``File.open(path)``/``io.open(path)`` names, else to one we cannot name."""
        name = self.tokens[i].text
        receiver = re.split(r"\.|:", name, maxsplit=1)[0]
        if not receiver or receiver in ("process", "console", "fs", "io", "os", "ENV"):
            return
        data = self._arguments(i, arguments_of)
        secret = self.values(data) if data else None
        if secret is not None:
            yield secret_effect(secret, self._opened_path(i, receiver))

    def _opened_path(self, i: int, receiver: str) -> str:
        tokens = self.tokens
        for k in range(i - 1, -1, -1):
            tok = tokens[k]
            if tok.kind == "id" and tok.text in _FILE_OPENERS and k + 2 < len(tokens):
                path = tokens[k + 2]
                if tokens[k + 1].text == "(" and path.kind == "str" and not path.computed:
                    return path.text
                return ""
        return ""

    def _arguments(self, i: int, arguments_of: ArgumentsOf) -> list[Token]:
        tokens = self.tokens
        bare = self.language in _BARE or tokens[i].text in _KEYWORD_PRINTS
        args = arguments_of(tokens, i + 1, bare=bare)
        if args:
            flat = [t for arg in args for t in arg]
        else:  # puts *ENV.values, print +$ENV{X}, $stdout << x: to the statement's end
            start = i + 1
            if [t.text for t in tokens[start : start + 2]] == ["<", "<"]:
                start += 2
            flat = list(tokens[start : self._statement_end(start)])
        return _before_modifier(flat)

    def _implicit_topic(self, i: int) -> Secret | None:
        """Perl's ``print`` with no argument prints ``$_``: set by ``for LIST`` after it,
        or by an assignment."""
        if self.language != "perl":
            return None
        tokens = self.tokens
        end = self._statement_end(i + 1)
        words = [t.text for t in tokens[i + 1 : end]]
        for keyword in ("for", "foreach"):
            if keyword in words:
                at = i + 1 + words.index(keyword)
                secret = self.values(tokens[at + 1 : end])
                if secret is not None:
                    return secret
        return self.tainted.get("_")

    def _enclosing_call_secret(self, i: int) -> Secret | None:
        opened = _enclosing(self.tokens, i)
        if opened is None:
            return None
        return self.values(self.tokens[self._head_start(opened) : opened])

    def block_parameter_secret(self, i: int, data: Sequence[Token]) -> Secret | None:
        """A print inside a block or callback given to an expression that reads values
        (``ENV.each { |k, v| puts v }``, ``Object.entries(process.env).forEach(([k, v])
        => console.log(v))``, ``array_map(function($v) { echo $v; }, getenv())``),
        printing one of the block's parameters (the first of two or more is the key)."""
        tokens = self.tokens
        printed_names = {self._base(t.text) for t in data if t.kind == "id"}
        printed_names |= {
            self._base(t.text)
            for tok in data
            if tok.kind == "str" and tok.computed
            for t in self.tokenize(tok.text)
            if t.kind == "id"
        }
        position = i
        while (opened := _enclosing(tokens, position)) is not None:
            closed = _closer(tokens, opened)
            group = [*tokens[self._head_start(opened) : opened], *tokens[closed : closed + 1]]
            around = [*group, *tokens[i + 1 + len(data) : closed]]
            secret = self.values(around) if any(t.kind == "id" for t in around) else None
            parameters = [
                self._base(t.text)
                for t in tokens[opened + 1 : i]
                if t.kind == "id" and t.text not in _DECLARATIONS and t.text != "function"
            ]
            if len(parameters) >= 2:
                parameters = parameters[1:]
            if secret is not None and set(parameters) & printed_names:
                return secret
            position = opened
        return None

    def _head_start(self, opened: int) -> int:
        """Where the expression a block or argument list belongs to starts: back over
        chained calls (``ENV.map { ... }.each``) to the statement's start."""
        tokens, k = self.tokens, opened
        while k > 0:
            before = tokens[k - 1]
            if before.kind == "op" and before.text in _OPENERS_OF:
                start = opener_of(tokens, k - 1)
                if start is None:
                    return k
                k = start
                continue
            if before.text in (";", "{", "(", "[") and before.kind == "op":
                return k
            k -= 1
        return k

    # reads of the environment
    def values(self, tokens: Sequence[Token]) -> Secret | None:
        """Every environment variable these tokens may put in front of a reader."""
        found: list[Secret | None] = []
        skip_to = -1
        for i, tok in enumerate(tokens):
            if i <= skip_to:
                continue
            call = _consumer_call(tokens, i)
            if call is not None:  # fetch(url, {token}), new Octokit({auth}): used there
                skip_to = _closer(tokens, call)
                continue
            if _names_only(tokens, i) or self._opaque(tokens, i):
                continue
            secret = self._read_at(tokens, i)
            if secret is None and tok.kind == "id":
                secret = self._held(tok.text)
            if secret is None and tok.kind == "str" and tok.computed:
                secret = self._interpolated(tok.text)
            found.append(secret)
        return merged(found)

    def _held(self, name: str) -> Secret | None:
        base = self._base(name)
        secret = self.tainted.get(base)
        if secret is None:
            return None
        rest = name[len(base) :].lstrip(".$@%")
        member = re.split(r"\.|->", rest, maxsplit=1)[0] if rest and rest[0] != "{" else ""
        if secret.everything == WHOLE_ENVIRONMENT and member and member != base:
            return variable(member)  # e = process.env; e.GITHUB_TOKEN
        return secret

    def _opaque(self, tokens: Sequence[Token], i: int) -> bool:
        """Is the read at tokens[i] only tested, measured or hashed?"""
        before = i - 1
        while before >= 0 and tokens[before].text == "(":
            before -= 1
        if before >= 0 and tokens[before].text in _OPAQUE_BEFORE:
            return True
        opened = _enclosing(tokens, i)  # hash("sha256", getenv("TOKEN"))
        if opened and tokens[opened].text == "(" and tokens[opened - 1].text in _OPAQUE_BEFORE:
            return True
        end = _read_end(tokens, i)
        if end < len(tokens) and tokens[end].text in _OPAQUE_AFTER:
            operator = tokens[end].text + (tokens[end + 1].text if end + 1 < len(tokens) else "")
            return operator not in ("=>", "=~", "<<", ">>")  # pairs, substitutions, appends
        while end + 1 < len(tokens) and tokens[end].text == ".":  # .to_s.length
            if any(m in _OPAQUE_METHODS for m in tokens[end + 1].text.split(".")):
                return True
            end += 2
        methods = tokens[i].text.split(".")[1:]
        return any(m in _OPAQUE_METHODS for m in methods)

    def _interpolated(self, text: str) -> Secret | None:
        pattern = _INTERPOLATIONS.get(self.language)
        if pattern is None:
            return None
        found = []
        for match in pattern.finditer(text):
            code = next((g for g in match.groups() if g is not None), "")
            if self.language == "perl":
                code = re.sub(r"^([$@%])\{(\w+)\}", r"\1\2", code)  # "${t}" is $t
            found.append(self.values(list(self.tokenize(code))))
        return merged(found)

    def _read_at(self, tokens: Sequence[Token], i: int) -> Secret | None:
        """A read of the environment starting at tokens[i], if any."""
        tok = tokens[i]
        if tok.kind not in ("id", "str"):
            return None
        text = tok.text
        if tok.kind == "str":  # PHP: $f = "getenv"; $f("TOKEN")
            return _call_read(tokens, i) if text in self.readers else None
        if self.language == "node" and text.startswith("process.env"):
            rest = text.removeprefix("process.env")
            if rest.startswith("."):
                return variable(rest[1:].split(".", 1)[0])
            return _subscripted(tokens, i, "[", "]") if rest == "" else None
        if self.language == "ruby" and (text == "ENV" or text.startswith("ENV.")):
            method = text.removeprefix("ENV").lstrip(".").split(".", 1)[0]
            if method in _RUBY_NAME_METHODS:
                return None
            if text == "ENV":
                return _subscripted(tokens, i, "[", "]")
            if method in ("fetch", "[]", "values_at"):
                return _subscripted(tokens, i, "(", ")")
            return Secret(everything=WHOLE_ENVIRONMENT)
        if self.language == "perl":
            if text in ("$ENV", "@ENV"):
                return _subscripted(tokens, i, "{", "}")
            if text == "%ENV":
                return Secret(everything=WHOLE_ENVIRONMENT)
            if self.perl_env_names and text[:1] == "$" and text[1:].isidentifier():
                return variable(text[1:])  # use Env: $GITHUB_TOKEN is the variable
        if self.language == "php" and text in ("$_ENV", "$_SERVER"):
            return _subscripted(tokens, i, "[", "]")
        if text in self.readers and self.language in ("php", "lua"):
            return _call_read(tokens, i)
        return None


def _consumer_call(tokens: Sequence[Token], i: int) -> int | None:
    """The opening parenthesis of a client or program call starting at tokens[i]."""
    tok = tokens[i]
    if tok.kind != "id":
        return None
    at = i + 2 if tok.text == "new" else i + 1
    if at >= len(tokens) or tokens[at].text != "(":
        return None
    if tok.text == "new":  # new Octokit({auth}): a client; new Error(value) shows it
        made = tokens[i + 1].text
        return None if made.endswith(("Error", "Exception")) else at
    return at if _consumes(tok.text) else None


def _consumes(name: str) -> bool:
    """Is ``name(...)`` a client or program call (``fetch``, ``axios.post``, ``execSync``)?"""
    if name in _CONSUMERS:
        return True
    receiver, _, method = name.rpartition(".")
    if receiver.split(".")[0] in _CONSUMER_RECEIVERS:
        return True
    return bool(receiver) and method in _CONSUMERS and receiver not in ("ENV", "process.env")


def _names_only(tokens: Sequence[Token], i: int) -> bool:
    """``keys %ENV``, ``Object.keys(process.env)``, ``"X" in process.env``: names."""
    before = i - 1
    if before >= 0 and tokens[before].text == "(":
        before -= 1
    return before >= 0 and tokens[before].text in _NAME_ONLY


def _read_end(tokens: Sequence[Token], i: int) -> int:
    """Index after the read starting at tokens[i] (its subscript or call included)."""
    end = i + 1
    while end < len(tokens) and tokens[end].kind == "op" and tokens[end].text in "[({":
        end = _closer(tokens, end) + 1
    return end


def _closer(tokens: Sequence[Token], opened: int) -> int:
    """Index of the bracket closing the one at ``opened`` (the last token if none)."""
    depth = 0
    for k in range(opened, len(tokens)):
        tok = tokens[k]
        if tok.kind == "op" and tok.text in "([{":
            depth += 1
        elif tok.kind == "op" and tok.text in ")]}":
            depth -= 1
            if depth == 0:
                return k
    return len(tokens) - 1


def _subscripted(tokens: Sequence[Token], i: int, open_: str, close: str) -> Secret:
    """``ENV["NAME"]``, ``$ENV{NAME}``, ``ENV.fetch("NAME", default)``: that variable;
    the object itself (nothing subscripted): every variable."""
    if i + 1 >= len(tokens) or tokens[i + 1].text != open_:
        return Secret(everything=WHOLE_ENVIRONMENT)
    key = tokens[i + 2] if i + 2 < len(tokens) else None
    after = tokens[i + 3].text if i + 3 < len(tokens) else ""
    if key is None or after not in (close, ","):
        return Secret(everything=RUN_TIME_NAMES)
    literal = key.kind == "str" and not key.computed
    bareword = key.kind == "id" and open_ == "{" and key.text[:1] not in "$@%"  # $ENV{HOME}
    return variable(key.text) if literal or bareword else Secret(everything=RUN_TIME_NAMES)


def _call_read(tokens: Sequence[Token], i: int) -> Secret | None:
    """``getenv("NAME")``: that variable; ``getenv()``: every variable."""
    if i + 2 < len(tokens) and tokens[i + 1].text == "(" and tokens[i + 2].text == ")":
        return Secret(everything=WHOLE_ENVIRONMENT)
    return _subscripted(tokens, i, "(", ")") if i + 1 < len(tokens) else None


def _assigns_at(tokens: Sequence[Token], equals: int) -> bool:
    """Is tokens[equals] an assignment's ``=`` (not ``==``, ``=>``, ``=~``)?"""
    if equals >= len(tokens) or tokens[equals].kind != "op" or tokens[equals].text != "=":
        return False
    if equals + 1 < len(tokens) and tokens[equals + 1].text in ("=", ">", "~"):
        return False
    return equals > 0 and tokens[equals - 1].text not in ("!", "<", ">", "=")


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


def opener_of(tokens: Sequence[Token], close: int) -> int | None:
    """Index of the bracket that the closer at ``close`` matches."""
    opened = _enclosing(tokens, close)
    if opened is None or tokens[opened].text != _OPENERS_OF[tokens[close].text]:
        return None
    return opened


def _enclosing(tokens: Sequence[Token], i: int) -> int | None:
    """The innermost bracket still open at tokens[i] (the nearest opener not closed before it)."""
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
