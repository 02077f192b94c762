"""The condition mini-language: tokenized, parsed to an AST, compiled to closures.

A condition is an expression such as ``agent_ctx.env == "production" and not
(payload contains "dry-run")``. It is parsed once at compile time (never
``eval``-ed, never matched with one big regex); a syntax error carries the
character offset so the compiler can report ``file:line:column``.

Semantics, in brief (docs/policy.md has the full table):

* a missing value behaves exactly like ``null``: ``== null`` is true,
  ``exists`` is false, every other positive test is false;
* every negative operator is the negation of its positive twin
  (``a != b`` is ``not (a == b)``, ``not in`` is ``not (... in ...)``);
* typed comparisons: numbers (int, float, Decimal; never bools) compare
  numerically, strings with strings; mixing kinds is false, never an error;
* ``host``, ``path``, ``program`` and ``risk`` are collections: a positive test
  is true when ANY element satisfies it.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from canopy.decisions.policy.facts import Facts, normalize_text
from canopy.decisions.policy.regexes import UserRegex, compile_user_regex

__all__ = [
    "Compare",
    "CompiledCondition",
    "ConditionSyntaxError",
    "Exists",
    "Literal",
    "Not",
    "Operand",
    "compile_condition",
    "parse_condition",
    "polarity",
    "walk",
]

SCALAR_OPERANDS = ("action_type", "amount", "currency")
COLLECTION_OPERANDS = ("host", "path", "program", "risk")
_ROOTS = ("agent_ctx", "payload", *SCALAR_OPERANDS, *COLLECTION_OPERANDS)
_KEYWORDS = frozenset(
    [
        "and",
        "or",
        "not",
        "in",
        "contains",
        "matches",
        "startswith",
        "endswith",
        "exists",
        "true",
        "false",
        "null",
    ]
)
_WORD_OPS = ("in", "contains", "matches", "startswith", "endswith")


class ConditionSyntaxError(ValueError):
    """A condition that does not parse; ``offset`` is 0-based in the condition text."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


# --- AST -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operand:
    root: str  # one of _ROOTS
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        return ".".join((self.root, *self.path))


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any  # str, int, Decimal, bool, None, or a tuple of those


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # == != < <= > >= in "not in" contains matches startswith endswith
    left: Operand
    right: Operand | Literal


@dataclass(frozen=True, slots=True)
class Exists:
    operand: Operand


@dataclass(frozen=True, slots=True)
class Not:
    expr: Expr


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[Expr, ...]


Expr = Compare | Exists | Not | And | Or


def walk(expr: Expr) -> Iterator[Expr]:
    """Every node of an expression, outermost first."""
    yield expr
    if isinstance(expr, Not):
        yield from walk(expr.expr)
    elif isinstance(expr, And | Or):
        for item in expr.items:
            yield from walk(item)


def polarity(expr: Expr) -> tuple[bool, Expr]:
    """``(positive?, core)``: ``a != b`` is ``(False, a == b)``. Used by the linter."""
    if isinstance(expr, Not):
        positive, core = polarity(expr.expr)
        return not positive, core
    if isinstance(expr, Compare) and expr.op in ("!=", "not in"):
        return False, Compare("==" if expr.op == "!=" else "in", expr.left, expr.right)
    return True, expr


# --- tokenizer -------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<num>-?\d+(?:\.\d+)?(?![\w.]))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # str num name op punct end
    text: str
    offset: int
    value: Any = None


def _unquote(token: str) -> str:
    """Only the quote, ``\\\\`` and ``\\'``/``\\"`` are escapes; ``\\s`` stays for regexes."""
    body, quote = token[1:-1], token[0]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] in (quote, "\\"):
            out.append(body[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            what = "unterminated string" if text[pos] in "\"'" else f"unexpected {text[pos]!r}"
            raise ConditionSyntaxError(what, pos)
        kind = m.lastgroup
        assert kind is not None
        raw = m.group()
        if kind == "str":
            tokens.append(_Tok("str", raw, pos, _unquote(raw)))
        elif kind == "num":
            value: int | Decimal = Decimal(raw) if "." in raw else int(raw)
            tokens.append(_Tok("num", raw, pos, value))
        elif kind != "ws":
            tokens.append(_Tok(kind, raw, pos))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


# --- parser ----------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.i]

    def next(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def is_word(self, word: str, ahead: int = 0) -> bool:
        tok = self.tokens[min(self.i + ahead, len(self.tokens) - 1)]
        return tok.kind == "name" and tok.text == word

    def fail(self, message: str, tok: _Tok | None = None) -> ConditionSyntaxError:
        tok = tok or self.tok
        found = "end of condition" if tok.kind == "end" else repr(tok.text)
        return ConditionSyntaxError(f"{message}, found {found}", tok.offset)

    def parse(self) -> Expr:
        if self.tok.kind == "end":
            raise ConditionSyntaxError("empty condition", 0)
        expr = self.or_expr()
        if self.tok.kind != "end":
            raise self.fail("expected 'and', 'or' or the end of the condition")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.is_word("or"):
            self.next()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.unary()]
        while self.is_word("and"):
            self.next()
            items.append(self.unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Expr:
        if self.is_word("not"):
            self.next()
            return Not(self.unary())
        if self.tok.kind == "punct" and self.tok.text == "(":
            self.next()
            expr = self.or_expr()
            if not (self.tok.kind == "punct" and self.tok.text == ")"):
                raise self.fail("expected ')'")
            self.next()
            return expr
        if self.is_word("exists"):
            self.next()
            return Exists(self.operand())
        return self.comparison()

    def operand(self) -> Operand:
        tok = self.tok
        if tok.kind != "name" or tok.text in _KEYWORDS:
            raise self.fail("expected an operand such as agent_ctx.env or payload.path")
        root, *path = tok.text.split(".")
        if root not in _ROOTS:
            close = difflib.get_close_matches(root, _ROOTS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ConditionSyntaxError(f"unknown operand '{root}'{hint}", tok.offset)
        if root == "agent_ctx" and not path:
            raise ConditionSyntaxError("use agent_ctx.<key>, not bare agent_ctx", tok.offset)
        if root not in ("agent_ctx", "payload") and path:
            raise ConditionSyntaxError(f"'{root}' has no fields", tok.offset)
        self.next()
        return Operand(root, tuple(path))

    def comparison(self) -> Expr:
        left_tok = self.tok
        left = self.operand()
        op_tok = self.tok
        if op_tok.kind == "op":
            op = self.next().text
        elif self.is_word("not") and self.is_word("in", 1):
            self.next()
            self.next()
            op = "not in"
        elif op_tok.kind == "name" and op_tok.text in _WORD_OPS:
            op = self.next().text
        else:
            raise self.fail(f"expected an operator after '{left}'")
        right_tok = self.tok
        right = self.value()
        _check_types(left, op, right, left_tok, right_tok)
        return Compare(op, left, right)

    def value(self) -> Operand | Literal:
        tok = self.tok
        if tok.kind in ("str", "num"):
            self.next()
            return Literal(tok.value)
        if tok.kind == "name" and tok.text in ("true", "false", "null"):
            self.next()
            return Literal({"true": True, "false": False, "null": None}[tok.text])
        if tok.kind == "punct" and tok.text == "[":
            return Literal(self.list_literal())
        if tok.kind == "name" and tok.text not in _KEYWORDS:
            return self.operand()
        raise self.fail("expected a value (a string, number, true/false/null, list or operand)")

    def list_literal(self) -> tuple[Any, ...]:
        self.next()  # [
        items: list[Any] = []
        while not (self.tok.kind == "punct" and self.tok.text == "]"):
            item = self.value()
            if not isinstance(item, Literal) or isinstance(item.value, tuple):
                raise self.fail("list items must be plain literals", self.tokens[self.i - 1])
            items.append(item.value)
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.next()
            elif not (self.tok.kind == "punct" and self.tok.text == "]"):
                raise self.fail("expected ',' or ']' in a list")
        self.next()  # ]
        return tuple(items)


def _check_types(left: Operand, op: str, right: Operand | Literal, lt: _Tok, rt: _Tok) -> None:
    """Reject what can only be a mistake, at compile time."""
    if (
        left.root == "payload"
        and not left.path
        and op
        not in (
            "contains",
            "matches",
            "startswith",
            "endswith",
        )
    ):
        raise ConditionSyntaxError(
            "bare 'payload' is the payload text: use contains, matches, startswith or "
            "endswith, or payload.<field>",
            lt.offset,
        )
    if isinstance(right, Operand) and right.root in COLLECTION_OPERANDS:
        raise ConditionSyntaxError(f"'{right.root}' is a collection: put it on the left", rt.offset)
    if op == "matches" and not (isinstance(right, Literal) and isinstance(right.value, str)):
        raise ConditionSyntaxError("'matches' needs a quoted regex", rt.offset)
    if not isinstance(right, Literal):
        return
    value = right.value
    if op in ("startswith", "endswith") and not isinstance(value, str):
        raise ConditionSyntaxError(f"'{op}' needs a string", rt.offset)
    if op in ("in", "not in") and not isinstance(value, tuple):
        raise ConditionSyntaxError(f'\'{op}\' needs a list such as ["a", "b"]', rt.offset)
    if op in ("<", "<=", ">", ">=") and (value is None or isinstance(value, bool | tuple)):
        raise ConditionSyntaxError(f"'{op}' needs a number or a string", rt.offset)


def parse_condition(text: str) -> Expr:
    """Parse a condition string; raise ``ConditionSyntaxError`` with the offset."""
    return _Parser(text).parse()


# --- evaluation ------------------------------------------------------------

_MISSING: Any = None  # missing values are null (see module doc)

Getter = Callable[[Facts], Any]
Test = Callable[[Facts], bool]


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    text: str
    ast: Expr
    test: Test
    regexes: tuple[UserRegex, ...]  # the `matches` patterns inside, for lint


def compile_condition(text: str) -> CompiledCondition:
    """Parse and compile; bad regexes raise ``ConditionSyntaxError`` at their offset."""
    parser = _Parser(text)
    ast = parser.parse()
    regexes: list[UserRegex] = []
    test = _compile(ast, regexes, text)
    return CompiledCondition(text, ast, test, tuple(regexes))


def _dig(value: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if isinstance(value, Mapping):
            value = value.get(key, _MISSING)
        elif isinstance(value, list | tuple) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return _MISSING
    return value


def _getter(operand: Operand) -> Getter:
    root, path = operand.root, operand.path
    if root == "agent_ctx":
        if len(path) == 1:
            (key,) = path
            return lambda f: f.view.agent_ctx.get(key)
        return lambda f: _dig(f.view.agent_ctx, path)
    if root == "payload":
        if not path:
            return lambda f: f.view.payload_text
        return lambda f: _dig(f.view.payload, path)
    if root == "action_type":
        return lambda f: f.view.action_type
    if root == "amount":
        return lambda f: f.amount
    if root == "currency":
        return lambda f: f.currency
    return {
        "host": lambda f: f.hosts,
        "path": lambda f: f.paths,
        "program": lambda f: f.programs,
        "risk": lambda f: f.risks,
    }[root]


def _num(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        try:
            out = Decimal(repr(value))
        except InvalidOperation:  # pragma: no cover - repr of a float always parses
            return None
        return out if out.is_finite() else None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    return None


def _eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    na, nb = _num(a), _num(b)
    if na is not None or nb is not None:
        return na is not None and nb is not None and na == nb
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_eq(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return dict(a) == dict(b)
    return False


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        na, nb = _num(a), _num(b)
        if na is not None and nb is not None:
            return op(na, nb)
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        return False

    return compare


def _member(a: Any, b: Any) -> bool:
    return isinstance(b, list | tuple) and any(_eq(a, x) for x in b)


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, str):
        return isinstance(b, str) and normalize_text(b) in normalize_text(a)
    if isinstance(a, list | tuple):
        return any(_eq(x, b) for x in a)
    if isinstance(a, Mapping):
        return isinstance(b, str) and b in a
    return False


def _startswith(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.startswith(b)


def _endswith(a: Any, b: Any) -> bool:
    return isinstance(a, str) and isinstance(b, str) and a.endswith(b)


_POSITIVE: dict[str, Callable[[Any, Any], bool]] = {
    "==": _eq,
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
    "in": _member,
    "contains": _contains,
    "startswith": _startswith,
    "endswith": _endswith,
}


def _compile(expr: Expr, regexes: list[UserRegex], text: str) -> Test:
    if isinstance(expr, Not):
        inner = _compile(expr.expr, regexes, text)
        return lambda f: not inner(f)
    if isinstance(expr, And):
        parts = tuple(_compile(e, regexes, text) for e in expr.items)
        return lambda f: all(p(f) for p in parts)
    if isinstance(expr, Or):
        parts = tuple(_compile(e, regexes, text) for e in expr.items)
        return lambda f: any(p(f) for p in parts)
    if isinstance(expr, Exists):
        get = _getter(expr.operand)
        if expr.operand.root in COLLECTION_OPERANDS:
            return lambda f: bool(get(f))
        return lambda f: get(f) is not None
    return _compile_compare(expr, regexes, text)


def _compile_compare(expr: Compare, regexes: list[UserRegex], text: str) -> Test:
    negate = expr.op in ("!=", "not in")
    op = {"!=": "==", "not in": "in"}.get(expr.op, expr.op)
    left = _getter(expr.left)
    right = expr.right
    bare_payload = expr.left.root == "payload" and not expr.left.path

    test: Test
    if op == "matches":
        assert isinstance(right, Literal)
        try:
            regex = compile_user_regex(right.value)
        except ValueError as e:
            raise ConditionSyntaxError(str(e), max(text.find(right.value) - 1, 0)) from e
        regexes.append(regex)
        if bare_payload:
            test = lambda f: regex.first_match(f.regex_targets) is not None  # noqa: E731
        else:
            found_in = regex.found_in
            test = _each(expr.left, left, lambda a: isinstance(a, str) and found_in(a))
    elif isinstance(right, Literal):
        constant = right.value
        if bare_payload and op == "contains":
            needle = normalize_text(constant) if isinstance(constant, str) else None
            test = lambda f: needle is not None and needle in f.text  # noqa: E731
        elif op == "==" and isinstance(constant, str):
            # Python's == is already typed for strings: no number, bool or null equals one.
            test = _each(expr.left, left, lambda a: a == constant)
        else:
            fn = _POSITIVE[op]
            test = _each(expr.left, left, lambda a: fn(a, constant))
    else:
        test = _against_operand(expr.left, left, _POSITIVE[op], _getter(right))
    if negate:
        positive = test
        return lambda f: not positive(f)
    return test


def _each(operand: Operand, get: Getter, check: Callable[[Any], bool]) -> Test:
    """Apply ``check`` to the value, or to ANY element of a collection operand."""
    if operand.root in COLLECTION_OPERANDS:
        return lambda f: any(check(v) for v in get(f))
    return lambda f: check(get(f))


def _against_operand(
    operand: Operand, get: Getter, fn: Callable[[Any, Any], bool], other: Getter
) -> Test:
    """Like ``_each``, when the right side is an operand read from the same action."""
    many = operand.root in COLLECTION_OPERANDS

    def test(facts: Facts) -> bool:
        right = other(facts)
        values = get(facts) if many else (get(facts),)
        return any(fn(v, right) for v in values)

    return test
