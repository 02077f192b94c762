"""Builtins that change the shell itself: directory, variables, aliases, traps.

Why: ``cd / && rm -rf *`` and ``X=rm; $X -rf /`` are only understood if the analyzer
tracks what ``cd`` and assignments do, straight-line, as bash would. ``export``,
``declare`` and friends are expanded first and then read as an argv, so every quoting of
``LD_PRELOAD=...`` or ``CANOPY_*=...`` is seen the same way.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import replace

import tree_sitter

from canopy.decisions.analyzers.shell_descriptors import Descriptors
from canopy.decisions.analyzers.shell_env_secrets import (
    declared_secrets,
    dumps_environment,
    env_dump,
)
from canopy.decisions.analyzers.shell_expand import (
    Expander,
    adjacent_groups,
    is_name,
    join_pieces,
    node_text,
)
from canopy.decisions.analyzers.shell_model import ShellRisk, SimpleCommand
from canopy.decisions.analyzers.shell_options import Parsed, parse_options
from canopy.decisions.analyzers.shell_programs import (
    COMMAND_VARS,
    COMMON_COMMANDS,
    GOVERNANCE_ENV_PREFIX,
    HIJACK_PREFIXES,
    HIJACK_VARS,
    PROMPT_VARS,
    WRITABLE_PATH_ENTRIES,
    opts,
)
from canopy.decisions.analyzers.shell_secret_flow import printed, printed_on_stderr, redirected
from canopy.decisions.analyzers.shell_state import UNKNOWN, Ctx, Scope, render
from canopy.decisions.analyzers.shell_words import EMPTY, LABEL_SECRET, Piece, Stream, Word
from canopy.decisions.model import Severity

__all__ = ["ASSIGNMENT", "Builtins", "xtrace_after"]

Node = tree_sitter.Node
R = ShellRisk
S = Severity
ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(\+?=)(.*)$", re.DOTALL)
#: git reads configuration from the environment too (any key, so any command key).
_GIT_CONFIG_VALUE = re.compile(r"^GIT_CONFIG_(?:VALUE_\d+|PARAMETERS)$")


def _commands_in(name: str, value: str) -> list[str]:
    """The command lines a variable's value holds: ``LESSOPEN='|cmd %s'`` drops the
    pipe; ``GIT_CONFIG_PARAMETERS="'k'='v' ..."`` holds one value per quoted pair."""
    if name.startswith("LESS"):
        return [value.lstrip("|-")]
    if name == "GIT_CONFIG_PARAMETERS":
        try:
            return [token.partition("=")[2] for token in shlex.split(value)]
        except ValueError:
            return [value]
    return [value]


_READ_SPEC = opts("adpnNtuiCc", known="adpnNtuirseCcsO")
_MAPFILE_SPEC = opts("dnOsuCc", known="dnOsuCct")


class Builtins(Expander):
    """Mixin: builtins and assignments for the walker, which provides ``run``."""

    def run(self, words: list[Word], scope: Scope, ctx: Ctx, source: str = "") -> Stream:
        raise NotImplementedError

    def _code_word(self, word: Word, kind: str, scope: Scope, ctx: Ctx, text: str) -> Stream:
        raise NotImplementedError

    def _cd(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        ops = [w for w in words[1:] if not re.fullmatch(r"-[LPe@]+", w.text)]
        self._record(program, words, Parsed(operands=ops), scope, ctx, source)
        if program == "pushd":
            scope.dirstack.append(scope.cwd)
        if not ops:
            scope.cwd = scope.home
        elif ops[0].text == "-" or not ops[0].resolved:
            scope.cwd = ""
            scope.env.pop("PWD", None)
            if not ops[0].resolved:
                scope.cwd_dynamic = True
        else:
            scope.cwd = scope.normalize(ops[0].text)
            scope.cwd_dynamic = scope.cwd_dynamic and not scope.cwd_known
        if scope.cwd_known:
            scope.env["PWD"] = Word(scope.cwd)
        if any(LABEL_SECRET in w.labels for w in ops):  # "cd: ghp_...: No such file"
            what = f"{program} names a secret operand in its error"
            return printed_on_stderr(self.out, what, source, EMPTY)
        return EMPTY

    def _popd(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        self._record(program, words, Parsed(), scope, ctx, source)
        scope.cwd = scope.dirstack.pop() if scope.dirstack else ""
        return EMPTY

    def _alias(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        args = [w for w in words[1:] if w.text != "-p"]
        self._record(program, words, Parsed(operands=args), scope, ctx, source)
        for word in args:
            name, eq, value = word.text.partition("=")
            if not eq:
                continue
            if name in COMMON_COMMANDS:
                self.out.finding(R.ENV_HIJACK, S.HIGH, f"alias redefines {name}", render(words))
            self._code_word(
                replace(word, text=value),
                "shell",
                scope.copy(),
                ctx.wrapped(f"alias {name}", nested=True),
                render(words),
            )
        return EMPTY

    def _trap(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        args = [w for w in words[1:] if w.text != "--"]
        self._record(program, words, Parsed(operands=args), scope, ctx, source)
        if len(args) >= 2 and args[0].text not in ("-", "-p", "-l"):
            self._code_word(
                args[0], "shell", scope.copy(), ctx.wrapped("trap", nested=True), render(words)
            )
        return EMPTY

    def _read(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        reads_lines = program != "read"  # mapfile/readarray: every line, into an array
        parsed = parse_options(words[1:], _MAPFILE_SPEC if reads_lines else _READ_SPEC)
        self._record(program, words, parsed, scope, ctx, source)
        names = [w.text for w in parsed.operands] or ["MAPFILE" if reads_lines else "REPLY"]
        for key in ("a",):
            names += parsed.values.get(key, [])
        stdin = ctx.stdin
        line = stdin.text.split("\n", 1)[0] if stdin.text is not None else None
        fields = line.split(None, len(names) - 1) if line is not None else []
        for i, name in enumerate(names):
            if line is not None:
                value = Word(fields[i] if i < len(fields) else "", labels=stdin.labels)
            else:
                value = Word(f"${name}", exact=False, resolved=False, labels=stdin.labels)
            scope.assign(name, value, conditional=ctx.branch)
        return EMPTY

    def _set(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        args = words[1:]
        self._record(program, words, Parsed(operands=args), scope, ctx, source)
        if not args:
            return env_dump(self.out, program, source or render(words))
        texts = [w.text for w in args]
        if "--" in texts:
            scope.positional = tuple(args[texts.index("--") + 1 :])
        scope.xtrace = xtrace_after(texts, scope.xtrace)
        return EMPTY

    def _shift(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        self._record(program, words, Parsed(operands=words[1:]), scope, ctx, source)
        n = int(words[1].text) if len(words) > 1 and words[1].text.isdigit() else 1
        if scope.positional is not None:
            scope.positional = scope.positional[n:]
        return EMPTY

    def _export_command(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        args = words[1:]
        self._record(program, words, Parsed(operands=args), scope, ctx, source)
        flags = {w.text for w in args if w.text.startswith("-")}
        names = [w for w in args if not w.text.startswith("-")]
        texts = [w.text for w in args]
        if not names:  # declare -f prints functions, not variables
            dumps = dumps_environment(program, texts)
            return env_dump(self.out, program, render(words)) if dumps else UNKNOWN
        output = self._declared_output(program, texts, scope, render(words))
        for word in names:
            m = ASSIGNMENT.match(word.text)
            if m:
                value = word.tail(m.start(3))
                self._check_assignment(m.group(1), value, render(words), scope, ctx)
                scope.assign(m.group(1), value, conditional=ctx.branch)
            elif "-n" in flags and word.text.startswith(GOVERNANCE_ENV_PREFIX):
                self.out.finding(
                    R.GOVERNANCE_TAMPER,
                    S.CRITICAL,
                    f"un-exports Canopy's setting {word.text}",
                    render(words),
                )
        return output

    def _declared_output(self, program: str, texts: list[str], scope: Scope, text: str) -> Stream:
        """``declare -p GITHUB_TOKEN`` prints the secret's value."""
        secrets = declared_secrets(program, texts, scope.env)
        if not secrets:
            return EMPTY
        return printed(self.out, f"{program} prints {secrets[0]}", text, UNKNOWN)

    def _unset_command(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        args = words[1:]
        self._record(program, words, Parsed(operands=args), scope, ctx, source)
        self._unset_names([w.text for w in args], scope, render(words))
        return EMPTY

    def _unset_names(self, names: list[str], scope: Scope, text: str) -> None:
        functions = "-f" in names
        for name in names:
            if name.startswith("-"):
                continue
            if functions:
                scope.functions.pop(name, None)
                continue
            scope.env.pop(name, None)
            if name.startswith(GOVERNANCE_ENV_PREFIX) or not is_name(name):
                detail = (
                    f"unsets Canopy's setting {name}"
                    if is_name(name)
                    else f"unsets variables matching {name}"
                )
                severity = S.CRITICAL if is_name(name) else S.MEDIUM
                risk = R.GOVERNANCE_TAMPER if is_name(name) else R.UNVERIFIABLE
                self.out.finding(risk, severity, detail, text)

    def _declaration(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        """``export``/``declare``/``local``...: expand the words, then treat them as an argv.

        Why: ``export LD_'P'\\RELOAD=x`` parses as three odd nodes, but bash hands export
        the single word ``LD_PRELOAD=x``; the argv handler sees what bash sees.
        """
        keyword = node.children[0].type if node.children else "declare"
        words = [Word(keyword)]
        for group in adjacent_groups(node.named_children):
            if any(n.type == "variable_assignment" for n in group):
                pieces: list[Piece] = []
                for n in group:
                    self._assignment_pieces(n, scope, ctx, pieces)
                words.append(join_pieces(pieces))
            else:
                words.extend(self.words(group, scope, ctx))
        return self.run(words, scope, ctx, node_text(node))

    def _assignment_pieces(self, node: Node, scope: Scope, ctx: Ctx, out: list[Piece]) -> None:
        if node.type != "variable_assignment":
            self._pieces(node, scope, ctx, out, quoted=False)
            return
        for child in node.children:
            if child.type == "array":
                items = [w.text for c in child.named_children for w in self.words(c, scope, ctx)]
                out.append(Piece(" ".join(items), quoted=True))
            elif child.is_named:
                self._pieces(child, scope, ctx, out, quoted=False)
            else:
                out.append(Piece(node_text(child), quoted=True))

    def _unset(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        names = [node_text(c) for c in node.named_children]
        self._record(
            "unset",
            [Word("unset"), *(Word(n) for n in names)],
            Parsed(operands=[Word(n) for n in names]),
            scope,
            ctx,
            node_text(node),
        )
        self._unset_names(names, scope, node_text(node))
        return EMPTY

    def _assignment_node(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        name, word = self._assignment(node, scope, ctx, persist=True)
        self._check_assignment(name, word, node_text(node), scope, ctx)
        if scope.xtrace:
            return self._traced([], [(name, word)], scope, node_text(node))
        return EMPTY

    def _traced(
        self,
        words: list[Word],
        prefix: list[tuple[str, Word]],
        scope: Scope,
        source: str,
        fds: Descriptors | None = None,
    ) -> Stream:
        """``set -x`` prints the expanded command on the shell's stderr before the
        command's own redirections apply: a secret among its words is printed there.
        Returns that print, placed where the shell's descriptors send it."""
        if not any(LABEL_SECRET in w.labels for w in [*words, *(w for _, w in prefix)]):
            return EMPTY
        what = "set -x prints a secret in a command's trace"
        trace = printed_on_stderr(self.out, what, source, EMPTY)
        stream, files = redirected(self.out, trace, scope.fds if fds is None else fds)
        for path, content in files.items():
            scope.files[path] = scope.files[path].merge(content) if path in scope.files else content
        return stream

    def _assignment(
        self, node: Node, scope: Scope, ctx: Ctx, *, persist: bool, suffix: Sequence[Node] = ()
    ) -> tuple[str, Word]:
        name_node = node.child_by_field_name("name")
        name = node_text(name_node).split("[", 1)[0] if name_node is not None else ""
        value_node = node.child_by_field_name("value")
        append = any(c.type == "+=" for c in node.children)
        if value_node is None:
            word = self.word(suffix, scope, ctx) if suffix else Word("")
        elif value_node.type == "array":
            items = [
                w
                for g in adjacent_groups(value_node.named_children)
                for w in self.words(g, scope, ctx)
            ]
            if persist:
                scope.arrays[name] = tuple(items)
            word = Word(
                " ".join(w.text for w in items),
                all(w.exact for w in items),
                all(w.resolved for w in items),
                labels=frozenset().union(*(w.labels for w in items)) if items else frozenset(),
            )
        else:
            word = self.word([value_node, *suffix], scope, ctx)
        if append:
            old = scope.env.get(name)
            word = Word(
                (old.text if old else f"${name}") + word.text,
                word.exact and old is not None,
                word.resolved and old is not None,
                labels=word.labels | (old.labels if old else frozenset()),
            )
        if persist:
            scope.assign(name, word, conditional=ctx.branch)
        return name, word

    def _check_assignment(self, name: str, word: Word, text: str, scope: Scope, ctx: Ctx) -> None:
        """Variables that change Canopy's settings, which code programs load, or which
        command a program runs (``PAGER='rm -rf /' man ls``: that command is analyzed)."""
        if name in PROMPT_VARS:
            self._expanded_again(word, scope, ctx)
        if (name in COMMAND_VARS or _GIT_CONFIG_VALUE.match(name)) and word.resolved:
            for command in _commands_in(name, word.text):
                self._code_word(
                    replace(word, text=command),
                    "shell",
                    scope.copy(),
                    ctx.wrapped(f"${name}", nested=True),
                    text,
                )
        if name.startswith(GOVERNANCE_ENV_PREFIX):
            self.out.finding(R.GOVERNANCE_TAMPER, S.CRITICAL, f"sets Canopy's setting {name}", text)
        if name in HIJACK_VARS or name.startswith(HIJACK_PREFIXES):
            self.out.finding(R.ENV_HIJACK, S.HIGH, f"sets {name}", text)
        if name == "PATH":
            risky = [
                e for e in word.text.split(":") if "$" not in e and WRITABLE_PATH_ENTRIES.match(e)
            ]
            if risky:
                self.out.finding(
                    R.ENV_HIJACK,
                    S.HIGH,
                    f"PATH searches writable or relative directories first: {risky[0] or '.'}",
                    text,
                )

    def _record(
        self, program: str, words: list[Word], parsed: Parsed, scope: Scope, ctx: Ctx, source: str
    ) -> None:
        self.out.command(
            SimpleCommand(
                program=program,
                args=tuple(w.text for w in words[1:]),
                short_flags=frozenset(parsed.shorts),
                long_flags=frozenset(parsed.longs),
                operands=tuple(w.text for w in parsed.operands),
                dynamic=any(not w.exact for w in words),
                wrappers=ctx.wrappers,
                source=source or render(words),
                cwd=scope.cwd if scope.cwd_known else None,
            )
        )


def xtrace_after(options: Sequence[str], xtrace: bool) -> bool:
    """Whether ``set OPTIONS`` (or a shell started with them) leaves ``-x`` on."""
    texts = list(options)
    for i, text in enumerate(texts):
        if text in ("--", "-"):
            break
        if text[:1] not in "-+" or text[1:2] == "-":
            continue
        on = text[0] == "-"
        if text[1:] == "o":
            if i + 1 < len(texts) and texts[i + 1] == "xtrace":
                xtrace = on
        elif "x" in text[1:]:
            xtrace = on
    return xtrace
