"""Word expansion: turn syntax nodes into the argv words bash would pass.

Why: the rules must see ``rm`` however it was spelled. This mixin of the walker performs
quote removal, escape decoding, parameter expansion (with ``${X:-default}`` guesses and
string operators on known values), arrays, ``"$@"``, command and process substitution
(which walk the commands inside, so they are analyzed too), tilde expansion, field
splitting on IFS and brace expansion (the last two in ``shell_words.assemble``).
Unknown parts stay marked, never guessed silently.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence

import tree_sitter

from canopy.decisions.analyzers.shell_env_secrets import SECRET_LABELS, secret_variable_labels
from canopy.decisions.analyzers.shell_state import Collector, Ctx, Scope
from canopy.decisions.analyzers.shell_words import (
    Piece,
    Stream,
    Word,
    assemble,
    decode_ansi_c,
    pieces_pattern,
    unescape_double_quoted,
    unescape_unquoted,
)

__all__ = ["Expander", "adjacent_groups", "is_name", "join_pieces", "node_text"]

Node = tree_sitter.Node


class Expander:
    """Mixin: word expansion for the walker, which provides ``walk`` and ``_generic``."""

    out: Collector

    def walk(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        raise NotImplementedError

    def _generic(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        raise NotImplementedError

    def script(self, text: str, scope: Scope, ctx: Ctx) -> Stream:
        raise NotImplementedError

    def _expanded_again(self, value: Word | Piece, scope: Scope, ctx: Ctx) -> None:
        """A value bash expands a second time (``${X@P}``, a variable inside ``$((...))``):
        command substitutions in it run, so it is analyzed as the words of a command."""
        if "$" in value.text or "`" in value.text:
            self.script(": " + value.text, scope.copy(), ctx.deeper())

    def words(self, node: Node | Sequence[Node], scope: Scope, ctx: Ctx) -> list[Word]:
        """The argv words one syntax node (or adjacent nodes) expands to: zero, one or several."""
        pieces: list[Piece] = []
        for part in [node] if isinstance(node, Node) else node:
            self._pieces(part, scope, ctx, pieces, quoted=False)
        self._tilde(pieces, scope)
        ifs = scope.env["IFS"].text if "IFS" in scope.env and scope.env["IFS"].exact else " \t\n"
        return assemble(pieces, ifs)

    def word(self, nodes: Sequence[Node], scope: Scope, ctx: Ctx) -> Word:
        """One word without splitting (assignment values)."""
        pieces: list[Piece] = []
        for part in nodes:
            self._pieces(part, scope, ctx, pieces, quoted=False)
        self._tilde(pieces, scope)
        text = "".join(p.text if p.fields is None else " ".join(p.fields) for p in pieces)
        labels = frozenset().union(*(p.labels for p in pieces)) if pieces else frozenset()
        content = next((p.content for p in pieces if p.content is not None), None)
        glob = any(not p.quoted and any(c in p.text for c in "*?[") for p in pieces)
        return Word(
            text,
            all(p.exact for p in pieces),
            all(p.resolved for p in pieces),
            glob,
            labels,
            content,
            pieces_pattern(pieces),
        )

    def _tilde(self, pieces: list[Piece], scope: Scope) -> None:
        if (
            not pieces
            or pieces[0].quoted
            or pieces[0].expanded
            or not pieces[0].text.startswith("~")
        ):
            return
        head, sep, rest = pieces[0].text.partition("/")
        user = head[1:]
        if not user:
            home = scope.home
        elif user == "root":
            home = "/root"
        elif user == "+" and scope.cwd_known:
            home = scope.cwd
        elif re.fullmatch(r"[a-z_][a-z0-9_-]*", user):
            home = f"/home/{user}"
        else:
            return
        pieces[0:1] = [Piece(home, quoted=True), Piece(sep + rest)]

    def _pieces(
        self, node: Node, scope: Scope, ctx: Ctx, out: list[Piece], *, quoted: bool
    ) -> None:
        kind = node.type
        if kind in ("word", "variable_name"):
            raw = node_text(node)
            if quoted:
                out.append(Piece(raw, quoted=True))
            else:
                out.extend(Piece(t, quoted=q) for t, q in unescape_unquoted(raw))
        elif kind in ("number", "extglob_pattern", "brace_expression", "regex"):
            out.append(Piece(node_text(node), quoted=quoted))
        elif kind == "raw_string":
            out.append(Piece(node_text(node)[1:-1], quoted=True))
        elif kind == "ansi_c_string":
            out.append(Piece(decode_ansi_c(node_text(node)[2:-1]), quoted=True))
        elif kind in ("string", "translated_string"):
            self._pieces_with_gaps(
                node,
                scope,
                ctx,
                out,
                quoted=True,
                literal_types=("string_content",),
                drop_delims=True,
            )
        elif kind in ("concatenation", "command_name"):
            self._pieces_with_gaps(node, scope, ctx, out, quoted=quoted, literal_types=())
        elif kind == "simple_expansion":
            out.append(self._variable(node_text(node)[1:], node_text(node), scope, quoted))
        elif kind == "expansion":
            out.append(self._braced(node, scope, ctx, quoted))
        elif kind in ("command_substitution", "process_substitution"):
            out.append(self._substituted(node, scope, ctx, quoted))
        elif kind == "arithmetic_expansion":
            self._generic(node, scope, ctx)
            for name in _arithmetic_names(node):
                if name in scope.env:
                    self._expanded_again(scope.env[name], scope, ctx)
            out.append(Piece(node_text(node), quoted=True, exact=False, resolved=False))
        elif not node.is_named or not node.named_children:
            out.append(Piece(node_text(node), quoted=quoted))
        else:
            self._generic(node, scope, ctx)
            out.append(Piece(node_text(node), quoted=True, exact=False, resolved=False))

    def _pieces_with_gaps(
        self,
        node: Node,
        scope: Scope,
        ctx: Ctx,
        out: list[Piece],
        *,
        quoted: bool,
        literal_types: tuple[str, ...],
        drop_delims: bool = False,
    ) -> None:
        """Children in order; text between children (not in any child) is literal."""
        raw = node.text or b""
        base = node.start_byte
        children = node.children
        pos = base
        for i, child in enumerate(children):
            if child.start_byte > pos:
                gap = raw[pos - base : child.start_byte - base].decode("utf-8", "replace")
                out.append(Piece(unescape_double_quoted(gap) if quoted else gap, quoted=quoted))
            pos = child.end_byte
            if drop_delims and not child.is_named and (i == 0 or i == len(children) - 1):
                continue
            if child.type in literal_types:
                out.append(Piece(unescape_double_quoted(node_text(child)), quoted=True))
            elif not child.is_named and quoted:
                out.append(Piece(node_text(child), quoted=True))
            else:
                self._pieces(child, scope, ctx, out, quoted=quoted)
        end = node.end_byte
        if end > pos:
            out.append(Piece(raw[pos - base :].decode("utf-8", "replace"), quoted=quoted))

    def _variable(self, name: str, source: str, scope: Scope, quoted: bool) -> Piece:
        if name in ("@", "*"):
            if scope.positional is None:
                return Piece(source, quoted=True, exact=False, resolved=False)
            values = tuple(w.text for w in scope.positional)
            labels = (
                frozenset().union(*(w.labels for w in scope.positional)) if values else frozenset()
            )
            if name == "@" and quoted:
                return Piece("", quoted=True, expanded=True, fields=values, labels=labels)
            return Piece(" ".join(values), quoted=quoted, expanded=True, labels=labels)
        if name.isdigit() and name != "0":
            index = int(name) - 1
            if scope.positional is None:
                return Piece(source, quoted=True, exact=False, resolved=False)
            if index >= len(scope.positional):
                return Piece("", quoted=quoted, expanded=True)  # known: not given, so empty
            value = scope.positional[index]
        elif name in scope.env:
            value = scope.env[name]
        elif name == "#" and scope.positional is not None:
            return Piece(str(len(scope.positional)), quoted=quoted, expanded=True)
        else:  # inherited from the environment: a token, if its name says so
            labels = secret_variable_labels(name)
            return Piece(source, quoted=True, exact=False, resolved=False, labels=labels)
        return Piece(
            value.text,
            quoted=quoted,
            expanded=True,
            exact=value.exact,
            resolved=value.resolved,
            labels=value.labels,
            content=value.content,
            pattern=value.pattern,
        )

    def _braced(self, node: Node, scope: Scope, ctx: Ctx, quoted: bool) -> Piece:
        """``${X}``, ``${X:-default}``, ``${#X}``, ``${X:1:2}``, ``${X#prefix}``..."""
        source = node_text(node)
        inner = [c for c in node.children if c.type not in ("${", "}")]
        if not inner:
            return Piece(source, quoted=True, exact=False, resolved=False)
        prefix_op = None
        if not inner[0].is_named and inner[0].type in ("#", "!"):
            prefix_op, inner = inner[0].type, inner[1:]
        if inner and inner[0].type == "subscript" and prefix_op is None and len(inner) == 1:
            return self._element(inner[0], scope, ctx, source, quoted)
        if not inner or inner[0].type not in ("variable_name", "special_variable_name"):
            return self._unknown_expansion(node, scope, ctx, source)
        name = node_text(inner[0])
        rest = inner[1:]
        base = self._variable(name, "$" + name, scope, quoted)
        if prefix_op == "#":
            return (
                Piece(str(len(base.text)), quoted=quoted, expanded=True)
                if base.exact
                else Piece(source, quoted=True, exact=False, resolved=False)
            )
        if prefix_op == "!":
            if base.exact and is_name(base.text):
                return self._variable(base.text, source, scope, quoted)
            # ${!v} with v unknown may be any variable (a loop over compgen -e): a secret
            labels = SECRET_LABELS if not rest else base.labels
            return Piece(source, quoted=True, exact=False, resolved=False, labels=labels)
        if not rest:
            return base
        op = rest[0].type if not rest[0].is_named else ""
        if op == "@" and len(rest) > 1 and rest[1].type == "P":  # prompt expansion
            self._expanded_again(base, scope, ctx)
        args = rest[1:]
        arg_text, arg_exact = self._expansion_args(args, scope, ctx)
        return _apply_operator(op, base, arg_text, arg_exact, args, source, quoted, scope, name)

    def _element(self, node: Node, scope: Scope, ctx: Ctx, source: str, quoted: bool) -> Piece:
        """``${a[@]}``, ``${a[1]}`` of an array assigned in this text."""
        name_node = node.child_by_field_name("name")
        index_node = node.child_by_field_name("index")
        name = node_text(name_node) if name_node is not None else ""
        values = scope.arrays.get(name) if name_node is not None else None
        index = node_text(index_node) if index_node is not None else ""
        if values is None:  # set by mapfile or read -a, or a scalar (${x[0]} is $x)
            piece = self._unknown_expansion(node, scope, ctx, source)
            piece.labels = _scalar_labels(name, scope)
            return piece
        labels = frozenset().union(*(w.labels for w in values)) if values else frozenset()
        exact = all(w.exact for w in values)
        if index in ("@", "*"):
            texts = tuple(w.text for w in values)
            if index == "@" and quoted:
                return Piece(
                    "", quoted=True, expanded=True, fields=texts, labels=labels, exact=exact
                )
            return Piece(" ".join(texts), quoted=quoted, expanded=True, labels=labels, exact=exact)
        if index.isdigit() and int(index) < len(values):
            value = values[int(index)]
            return Piece(
                value.text,
                quoted=quoted,
                expanded=True,
                exact=value.exact,
                resolved=value.resolved,
                labels=value.labels,
            )
        return Piece(source, quoted=True, exact=False, resolved=False)

    def _expansion_args(self, nodes: list[Node], scope: Scope, ctx: Ctx) -> tuple[str, bool]:
        pieces: list[Piece] = []
        for n in nodes:
            self._pieces(n, scope, ctx, pieces, quoted=True)
        self._tilde(pieces, scope)
        return "".join(p.text for p in pieces), all(p.exact for p in pieces)

    def _unknown_expansion(self, node: Node, scope: Scope, ctx: Ctx, source: str) -> Piece:
        self._generic(node, scope, ctx)
        return Piece(source, quoted=True, exact=False, resolved=False)

    def _substituted(self, node: Node, scope: Scope, ctx: Ctx, quoted: bool) -> Piece:
        stream = self.walk(node, scope, ctx)
        if node.type == "process_substitution":
            return Piece("/dev/fd/63", quoted=True, content=stream, labels=stream.labels)
        if stream.text is not None:
            return Piece(
                stream.text.rstrip("\n"), quoted=quoted, expanded=True, labels=stream.labels
            )
        return Piece(
            node_text(node), quoted=True, exact=False, resolved=False, labels=stream.labels
        )


def _scalar_labels(name: str, scope: Scope) -> frozenset[str]:
    """The labels of what a name holds when no array of that name was assigned."""
    value = scope.env.get(name)
    return value.labels if value is not None else secret_variable_labels(name)


def _arithmetic_names(node: Node) -> list[str]:
    names = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "variable_name":
            names.append(node_text(n))
        stack.extend(n.children)
    return names


def node_text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


def adjacent_groups(nodes: Sequence[Node]) -> list[list[Node]]:
    """Siblings with no whitespace between them are one shell word.

    tree-sitter-bash splits ``'r'\\m`` into two arguments; bash reads one word ``rm``.
    """
    groups: list[list[Node]] = []
    for n in nodes:
        if n.type == "$" and not n.is_named:
            continue  # `$"text"` (locale translation) is just "text"
        if groups and groups[-1][-1].end_byte == n.start_byte:
            groups[-1].append(n)
        else:
            groups.append([n])
    return groups


def join_pieces(pieces: list[Piece]) -> Word:
    text = "".join(p.text if p.fields is None else " ".join(p.fields) for p in pieces)
    labels = frozenset().union(*(p.labels for p in pieces)) if pieces else frozenset()
    return Word(
        text,
        all(p.exact for p in pieces),
        all(p.resolved for p in pieces),
        labels=labels,
        pattern=pieces_pattern(pieces),
    )


def _apply_operator(
    op: str,
    base: Piece,
    arg: str,
    arg_exact: bool,
    args: list[Node],
    source: str,
    quoted: bool,
    scope: Scope,
    name: str,
) -> Piece:
    """Parameter expansion operators, when the variable is known (or has a default)."""
    known = base.exact
    value = base.text
    dynamic = Piece(source, quoted=True, exact=False, resolved=False, labels=base.labels)
    if op in (":-", "-", ":=", "="):
        if known and (value or op in ("-", "=")):
            return base
        guess = Piece(
            arg, quoted=quoted, expanded=True, exact=False, resolved=arg_exact, labels=base.labels
        )
        if op in (":=", "=") and not known:
            scope.env[name] = Word(arg, exact=False, resolved=arg_exact)
        return guess
    if op in (":+", "+"):
        if known:
            return Piece(arg if value else "", quoted=quoted, expanded=True, exact=arg_exact)
        return Piece(source, quoted=True, exact=False, resolved=False)  # ARG or "", not $X
    if not known or not arg_exact:
        return dynamic
    result = _string_operator(op, value, arg, args)
    if result is None:
        return dynamic
    return Piece(result, quoted=quoted, expanded=True, labels=base.labels)


def _string_operator(op: str, value: str, arg: str, args: list[Node]) -> str | None:
    if op in ("#", "##"):
        return _strip_prefix(value, arg, longest=op == "##")
    if op in ("%", "%%"):
        return _strip_suffix(value, arg, longest=op == "%%")
    if op == ":":
        numbers = [node_text(a) for a in args if a.is_named]
        try:
            start = int(numbers[0]) if numbers else 0
            if len(numbers) > 1:
                length = int(numbers[1])
                return value[start : start + length] if length >= 0 else value[start:length]
            return value[start:]
        except ValueError:
            return None
    if op in ("^^", "^"):
        return value.upper() if op == "^^" else value[:1].upper() + value[1:]
    if op in (",,", ","):
        return value.lower() if op == ",," else value[:1].lower() + value[1:]
    if op in ("/", "//"):
        parts = [node_text(a) for a in args if a.is_named]
        if not parts or any(c in parts[0] for c in "*?["):
            return None
        new = parts[1] if len(parts) > 1 else ""
        return value.replace(parts[0], new) if op == "//" else value.replace(parts[0], new, 1)
    return None


def _strip_prefix(value: str, pattern: str, *, longest: bool) -> str:
    lengths = range(len(value), -1, -1) if longest else range(len(value) + 1)
    for n in lengths:
        if fnmatch.fnmatchcase(value[:n], pattern):
            return value[n:]
    return value


def _strip_suffix(value: str, pattern: str, *, longest: bool) -> str:
    starts = range(len(value) + 1) if longest else range(len(value), -1, -1)
    for n in starts:
        if fnmatch.fnmatchcase(value[n:], pattern):
            return value[:n]
    return value


def is_name(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text))
