"""Shell analyzer: what a shell text would execute, and how risky that is.

Why: the package we replace matched substrings, so ``rm -fr /``, ``bash -c 'rm -r -f /'``
or ``curl<TAB>x|sh`` passed while ``grep "rm -rf" docs/`` did not. Here the text is parsed
with tree-sitter-bash, every command is found (lists, pipelines, subshells, substitutions,
function bodies, heredocs fed to shells, wrappers like sudo/env/xargs/find -exec, strings
run by ``sh -c``/``eval``/interpreters, commands that tools take in options and scripts
such as ``tar --to-command``, ``git -c core.pager``, ``vim -c '!...'`` or sed's ``e``
(``shell_embedded``)), words are normalized the way bash would, and per-program rules
(``shell_rules``) classify what each command does. Data is not execution: arguments of
``echo`` or ``grep`` and heredocs fed to ``cat`` are never run.

The analyzer never touches the filesystem or runs anything; paths are normalized
lexically. Anything it cannot resolve is reported as UNVERIFIABLE, never dropped.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import tree_sitter
import tree_sitter_bash

from canopy.decisions.analyzers.paths import credential_examples
from canopy.decisions.analyzers.shell_builtins import ASSIGNMENT, Builtins, xtrace_after
from canopy.decisions.analyzers.shell_descriptors import UNKNOWN_TARGET, Descriptors
from canopy.decisions.analyzers.shell_embedded import EMBEDDED_RULES
from canopy.decisions.analyzers.shell_env_secrets import env_dump, is_secret_variable
from canopy.decisions.analyzers.shell_expand import adjacent_groups, is_name, node_text
from canopy.decisions.analyzers.shell_interpreters import (
    Effect,
    EffectKind,
    python_effects,
    script_effects,
)
from canopy.decisions.analyzers.shell_lookup import path_candidates
from canopy.decisions.analyzers.shell_model import ShellAnalysis, ShellRisk
from canopy.decisions.analyzers.shell_options import Parsed, parse_options
from canopy.decisions.analyzers.shell_programs import (
    DESTRUCTIVE_TOKEN,
    FIND_EXEC,
    FIND_NARROWING,
    FIND_ONE_ARG,
    FIND_WRITES,
    GOVERNANCE_ENV_PREFIX,
    INTERPRETER_CODE_OPTS,
    NETWORK_PROGRAMS,
    SHELLS,
    SPECS,
    WRAPPERS,
    Wrapper,
    family,
    opts,
    shebang_program,
    spec_for,
)
from canopy.decisions.analyzers.shell_rules import (
    Call,
    apply_rules,
    delete_target,
    read_target,
    remote_labels,
    write_target,
)
from canopy.decisions.analyzers.shell_secret_flow import (
    captured,
    consumed,
    printed,
    printed_if_secret,
    printed_on_stderr,
    redirected,
    secret_items,
    shown,
    superseded,
    with_secrets_of,
    written,
)
from canopy.decisions.analyzers.shell_secret_paths import find_lists_secrets
from canopy.decisions.analyzers.shell_state import (
    UNKNOWN,
    BudgetExceeded,
    Collector,
    Ctx,
    Scope,
    render,
)
from canopy.decisions.analyzers.shell_words import (
    EMPTY,
    LABEL_BUILT,
    LABEL_FOUND,
    LABEL_NARROWED,
    LABEL_REMOTE,
    LABEL_SECRET,
    LABEL_SECRET_PATHS,
    LABEL_TRANSFORMED,
    Piece,
    Stream,
    Word,
    join_words,
)
from canopy.decisions.model import Severity

__all__ = ["MAX_DEPTH", "MAX_INPUT_BYTES", "analyze_argv", "analyze_shell"]

MAX_INPUT_BYTES = 256 * 1024  # larger texts are refused whole, never analyzed in part
MAX_DEPTH = 8  # sh -c inside eval inside bash -c ... deeper than this is UNVERIFIABLE
MAX_WALK_LEVEL = 120  # syntax-tree nesting we follow before calling it UNVERIFIABLE
MAX_LOOP_VALUES = 16  # for-loop values analyzed one by one
MAX_UNROLLED_LOOPS = 2  # nested loops beyond this run once with their variable unknown
MAX_ITEMS = 16  # xargs/find items substituted into a command

_PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))
_DEFAULT_HOME = os.path.expanduser("~")

R = ShellRisk
S = Severity
Node = tree_sitter.Node


def analyze_shell(
    text: str,
    *,
    home: str | None = None,
    cwd: str | None = None,
    protected_names: frozenset[str] = frozenset(),
) -> ShellAnalysis:
    """Analyze shell text (what an agent would pass to ``sh -c``)."""
    walker, scope = _start(text, home, cwd, protected_names)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_INPUT_BYTES:
        walker.out.finding(
            R.UNVERIFIABLE, S.HIGH, f"text larger than {MAX_INPUT_BYTES} bytes: not analyzed"
        )
        return walker.out.result()
    walker.guarded(lambda: shown(walker.out, walker.script(text, scope, Ctx())))
    return walker.out.result()


def analyze_argv(
    argv: Sequence[str],
    *,
    home: str | None = None,
    cwd: str | None = None,
    protected_names: frozenset[str] = frozenset(),
) -> ShellAnalysis:
    """Analyze an argv run without a shell (``subprocess.run([...])``)."""
    text = render(list(argv))
    walker, scope = _start(text, home, cwd, protected_names)
    if sum(len(a) for a in argv) > MAX_INPUT_BYTES:
        walker.out.finding(
            R.UNVERIFIABLE, S.HIGH, f"argv larger than {MAX_INPUT_BYTES} bytes: not analyzed"
        )
        return walker.out.result()
    words = [Word(a, glob=any(c in a for c in "*?[")) for a in argv]
    walker.guarded(lambda: shown(walker.out, walker.run(words, scope, Ctx(), text)))
    return walker.out.result()


def _start(
    text: str, home: str | None, cwd: str | None, protected: frozenset[str]
) -> tuple[_Walker, Scope]:
    home = posixpath.normpath(home or _DEFAULT_HOME)
    start = posixpath.normpath(cwd) if cwd and cwd.startswith("/") else ""
    out = Collector(text, home, start or None, protected)
    env = {"HOME": Word(home), "IFS": Word(" \t\n")}
    if start:
        env["PWD"] = Word(start)
    return _Walker(out), Scope(env=env, cwd=start, home=home)


@dataclass(slots=True)
class _Redirs:
    """What a command's redirections do: its stdin, where stdout goes, what follows."""

    stdin: Stream | None = None
    descriptors: Descriptors = field(default_factory=Descriptors)  # where stdout/stderr go
    #: Paths opened with ``>>``, and what they held before (the command appends to it).
    appended: dict[str, Stream] = field(default_factory=dict)
    #: Descriptors other than 0 opened for reading (``3<s``), and what they hold.
    inputs: dict[int, Stream] = field(default_factory=dict)
    network: bool = False  # a redirect to /dev/tcp or /dev/udp
    #: For a command's own redirections: the shell's descriptors before them, and what
    #: the shell printed for the command there (a ``set -x`` trace), which they do not move.
    shell_fds: Descriptors | None = None
    trace: Stream = EMPTY
    continuations: list[Node] = field(default_factory=list)  # heredoc quirk: `<<EOF | sh`


_CODE_FAMILIES = frozenset({"python", "perl", "ruby", "node", "php", "lua"})
#: ``python -m MODULE SCRIPT``: modules that run the script they are given.
_SCRIPT_RUNNING_MODULES = frozenset({"pdb", "cProfile", "profile", "trace", "runpy", "ipdb"})
#: Files an interpreter may load besides the one it is told to run: by suffix, by name.
_LOADABLE: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "python": ((".py", ".pth"), frozenset()),
    "node": ((".js", ".mjs", ".cjs"), frozenset()),
    "ruby": ((".rb", ".rake", ".gemspec"), frozenset({"Rakefile", "rakefile", "Gemfile"})),
    "perl": ((".pl", ".pm", ".t"), frozenset()),
    "php": ((".php", ".inc", ".phtml"), frozenset()),
    "lua": ((".lua", ".rockspec"), frozenset()),
}
_AWKS = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})
_TRUE_CONDITIONS = frozenset({"true", ":", "[ 1 ]", "((1))", "(( 1 ))", "[[ 1 ]]"})
_GLOB_CANDIDATES = (
    "rm",
    "dd",
    "sh",
    "bash",
    "mkfs",
    "shred",
    "chmod",
    "chown",
    "mv",
    "curl",
    "wget",
    "python",
    "python3",
    "perl",
    "find",
    "kill",
    "reboot",
    "shutdown",
)
#: tree-sitter-bash slips on valid bash; each repair keeps what runs unchanged.
#: ``! case ...``: negation only flips the exit status, so dropping it is safe.
_GRAMMAR_REPAIRS = (
    (
        re.compile(
            r"(^|[;&|(\n{`!]|\b(?:then|do|else))(\s*)!\s+"
            r"(?=(?:case|if|while|until|for|select|function)\b|[{(\[!]|[\w.:-]+\s*\(\s*\))"
        ),
        r"\1\2",
    ),
)
_RESERVED_OPENERS = frozenset({"{", "!", "then", "do", "else", "elif", "if", "while", "until"})
_RESERVED_CLOSERS = frozenset({"}", "fi", "done", "esac", ";;"})
_ENV_SPEC = opts(
    "uCS", "unset chdir split-string", longs={"ignore-environment": "i", "null": "0"}, stop=True
)
_FIND_NAME_TESTS = frozenset({"-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename"})
_AT_SPEC = opts("qft", known="VqmMftlrdbcv")
_NAMES_STDERR = re.compile(
    r"stderr|STDERR|dup2|/dev/fd/2|/proc/self/fd/2|\bwarn\b|\bdie\b|error_log|"
    r"console\.(?:error|warn|trace)|Console\b|redirect_stdout|\$stderr|io\.stderr"
)
_EXEC_ONLY = re.compile(r"(?:(?:command|builtin)\s+)?exec")
_BRACED_NAME = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_VARIABLE_USE = re.compile(r"\$\{?[#!]?([A-Za-z_][A-Za-z0-9_]*)")
_SKIP_TYPES = frozenset({"comment", "heredoc_start", "heredoc_end", "file_descriptor"})


def _as_double_quoted(text: str) -> Node | None:
    """``text`` parsed as the inside of a double-quoted string (a here-document body
    expands the same way, but for ``"``), or None if it does not parse as one."""
    root = _PARSER.parse(f'"{_HEREDOC_TO_QUOTED.sub(_to_quoted, text)}"'.encode()).root_node
    if root.has_error:
        return None
    node = root
    while node.named_children and node.type != "string":
        node = node.named_children[0]
    return node if node.type == "string" else None


#: In a here-document ``\`` escapes only ``$``, backquote, ``\`` and newline (kept as
#: they are); ``"`` is plain, and so is the backslash of ``\"``.
_HEREDOC_TO_QUOTED = re.compile(r'\\[$`\\\n]|\\"|"')


def _to_quoted(match: re.Match[str]) -> str:
    return {'"': '\\"', '\\"': '\\\\\\"'}.get(match.group(), match.group())


#: What ``ssh-agent`` prints when it starts on its own, for ``eval "$(ssh-agent -s)"``:
#: assignments of its socket and pid (the csh form of ``-c`` reads the same to us).
_SSH_AGENT_SETUP = Stream(
    "SSH_AUTH_SOCK=/tmp/ssh-agent.sock; export SSH_AUTH_SOCK;\n"
    "SSH_AGENT_PID=1; export SSH_AGENT_PID;\necho Agent pid 1;\n",
    frozenset(),
)


def _list_items(node: Node) -> list[Node]:
    """``a && b || c`` nests to the left, one level per operator: flattened, so a long
    chain is not mistaken for deep nesting."""
    items: list[Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "list":
            stack.extend(reversed([c for c in n.named_children if c.type not in _SKIP_TYPES]))
        else:
            items.append(n)
    return items


class _Walker(Builtins):
    """Walks syntax trees and argvs, feeding the collector. One per analyze_* call."""

    def __init__(self, out: Collector) -> None:
        self.out = out
        self.level = 0
        self.unrolling = 0  # for-loops being unrolled around the current node
        self.marks: list[set[str]] = []
        #: What each function's body printed when walked at its definition: a call walks it
        #: again, and a function never seen called may still be (trap, export -f).
        self.definitions: dict[str, Stream] = {}
        #: Pipeline stages followed by ``|&``: their stderr joins stdout after their own
        #: redirections (bash's implicit ``2>&1``).
        self.stderr_to_pipe: set[int] = set()

    # --- entry points ----------------------------------------------------------------

    def guarded(self, work: Callable[[], object]) -> None:
        """Run the analysis; running out of budget is reported, never silent."""
        try:
            work()
        except BudgetExceeded as e:
            self.out.finding(R.UNVERIFIABLE, S.HIGH, f"{e}: analysis incomplete")
        except RecursionError:
            self.out.finding(
                R.UNVERIFIABLE, S.HIGH, "nesting too deep to analyze: analysis incomplete"
            )

    def script(self, text: str, scope: Scope, ctx: Ctx) -> Stream:
        """Parse and walk shell text (top level, ``sh -c``, ``eval``, heredocs into shells)."""
        if ctx.depth > MAX_DEPTH:
            self.out.finding(
                R.UNVERIFIABLE, S.HIGH, f"commands nested more than {MAX_DEPTH} levels deep"
            )
            return UNKNOWN
        data = text.encode("utf-8", "replace")
        self.out.spend(parsed=len(data))
        root = self._repaired(text) or _PARSER.parse(data).root_node
        if root.has_error:
            self._parse_errors(root, ctx)
        return self.walk(root, scope, ctx)

    def _repaired(self, text: str) -> Node | None:
        """Valid bash that tree-sitter-bash misparses (sometimes silently): rewrite it with
        the same meaning and use that tree when it parses cleanly."""
        for pattern, replacement in _GRAMMAR_REPAIRS:
            fixed = pattern.sub(replacement, text)
            if fixed == text:
                continue
            data = fixed.encode("utf-8", "replace")
            self.out.spend(parsed=len(data))
            candidate = _PARSER.parse(data).root_node
            if not candidate.has_error:
                return candidate
        return None

    def argv(self, words: list[Word], scope: Scope, ctx: Ctx) -> Stream:
        """Runner protocol: analyze an argv (from find -exec, interpreters, nc -e)."""
        if ctx.depth > MAX_DEPTH:
            self.out.finding(
                R.UNVERIFIABLE, S.HIGH, f"commands nested more than {MAX_DEPTH} levels deep"
            )
            return UNKNOWN
        return self.run(words, scope, ctx, render(words))

    def _parse_errors(self, root: Node, ctx: Ctx) -> None:
        bad: list[Node] = []
        stack = [root]
        while stack:
            node = stack.pop()
            if node.is_error or (node.is_missing and not _harmless_missing(node)):
                bad.append(node)
                continue
            stack.extend(c for c in node.children if c.has_error or c.is_missing)
        if not bad:
            return
        self.out.parse_error = True
        snippet = " ".join(node_text(n) or n.type for n in bad)[:80]
        # The lines around the damage say what the broken text was trying to do.
        lines = node_text(root).split("\n")
        around = [
            lines[r]
            for n in bad
            for r in range(n.start_point[0], n.end_point[0] + 1)
            if r < len(lines)
        ]
        tokens = re.findall(r"[\w./+~-]+", " ".join(around))
        severity = S.HIGH if any(DESTRUCTIVE_TOKEN.match(t) for t in tokens) else S.MEDIUM
        self.out.finding(R.UNVERIFIABLE, severity, f"shell text does not parse near {snippet!r}")

    # --- tree walking ----------------------------------------------------------------

    def walk(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        self.out.spend(nodes=1)
        self.level += 1
        try:
            if self.level > MAX_WALK_LEVEL:
                raise BudgetExceeded(f"syntax nested more than {MAX_WALK_LEVEL} levels")
            handler = _NODE_HANDLERS.get(node.type)
            if handler is not None:
                return handler(self, node, scope, ctx)
            return self._generic(node, scope, ctx)
        finally:
            self.level -= 1

    def _generic(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        """Unknown node: walk its children so no command inside escapes."""
        stream = EMPTY
        for child in node.named_children:
            if child.type not in _SKIP_TYPES:
                stream = stream.merge(self.walk(child, scope, ctx))
        return stream

    def _sequence(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        stream = EMPTY
        for child in node.named_children:
            if child.type in _SKIP_TYPES:
                continue
            stream = stream.merge(self.walk(child, scope, ctx))
        return stream

    def _list(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        items = _list_items(node)
        stream = self.walk(items[0], scope, ctx) if items else EMPTY
        for item in items[1:]:  # after && / || a command may not run
            stream = stream.merge(self.walk(item, scope, ctx.branched()))
        return stream

    def _branches(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        """if/case/loop bodies: what they assign may or may not happen."""
        return self._sequence(node, scope, ctx.branched())

    def _subshell(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        return self._sequence(node, scope.copy(), ctx)

    def _substitution(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        stream = self._substitution_output(node, scope, ctx)
        if node.type == "command_substitution":  # a value, not output; <(...) is a file
            return captured(self.out, stream)
        # <(...) writes its stderr to the shell's, not to the command it feeds: its prints
        # there are not routed by that command's redirections (left unsettled: shown)
        return replace(stream, err_prints=frozenset())

    def _substitution_output(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        inner = scope.copy()
        children = [c for c in node.named_children if c.type not in _SKIP_TYPES]
        if children and all(c.type == "file_redirect" for c in children):
            # ``$(< FILE)`` is bash's ``$(cat FILE)``: it reads the file.
            redirs = self._redirects(children, inner, ctx, node_text(node))
            return redirs.stdin if redirs.stdin is not None else UNKNOWN
        return self._sequence(node, inner, ctx.with_stdin(UNKNOWN))

    def _pipeline(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        """Each stage's stdout feeds the next; its stderr goes to the pipeline's stderr,
        or with ``|&`` into the next stage too."""
        marks: set[str] = set()
        self.marks.append(marks)
        stream, on_stderr = ctx.stdin, frozenset[int]()
        stages = [c for c in node.children if c.is_named and c.type not in _SKIP_TYPES]
        try:
            for n, stage in enumerate(stages):
                on_stderr |= stream.err_prints
                after = stage.next_sibling
                stream = self._stage(
                    stage,
                    replace(stream, err_prints=frozenset()),
                    scope,
                    ctx,
                    piped=n < len(stages) - 1,
                    with_stderr=after is not None and after.type == "|&",
                )
        finally:
            self.marks.pop()
        stream = replace(stream, err_prints=stream.err_prints | on_stderr)
        if self.marks and _is_pipeline_stage(node):
            self.marks[-1].update(marks)  # `a | b 2>&1 | c` parses as nested pipelines
        if {"shell_sink", "network"} <= marks:
            self.out.finding(
                R.REMOTE_CODE,
                S.HIGH,
                "a shell reads commands from a pipeline that talks to the network",
                node_text(node),
            )
        return stream

    def _stage(
        self,
        node: Node,
        stdin: Stream,
        scope: Scope,
        ctx: Ctx,
        *,
        piped: bool = False,
        with_stderr: bool = False,
    ) -> Stream:
        """One stage of a pipeline, fed ``stdin``: secrets it does not pass on, it used.
        ``piped``: its stdout is the pipe, whatever ``exec`` did to the shell's.
        ``with_stderr`` (``|&``): its stderr too, after its own redirections."""
        stage_scope = scope.copy()
        if piped:
            stage_scope.fds = scope.fds.piped()
        if with_stderr and node.type in ("command", "redirected_statement"):
            self.stderr_to_pipe.add(node.id)  # its capture applies 2>&1 after the rest
        elif with_stderr:
            stage_scope.fds.duplicate(2, 1)
        output = self.walk(node, stage_scope, ctx.with_stdin(stdin))
        consumed(self.out, stdin, output)
        return output

    def _mark(self, mark: str) -> None:
        if self.marks:
            self.marks[-1].add(mark)

    def _while(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        condition = node.child_by_field_name("condition")
        body = node.child_by_field_name("body")
        endless = condition is not None and node_text(condition).strip(" ;\n") in _TRUE_CONDITIONS
        if endless and body is not None and _has_background(body):
            detail = "endless loop starting background processes"
            self.out.finding(R.FORK_BOMB, S.CRITICAL, detail, node_text(node))
        return self._sequence(node, scope, ctx.branched())

    def _for(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        variable = node.child_by_field_name("variable")
        body = node.child_by_field_name("body")
        values: list[Word] = []
        has_in = any(c.type == "in" for c in node.children)
        for group in adjacent_groups(node.children_by_field_name("value")):
            values.extend(self.words(group, scope, ctx))
        if not has_in:
            values = list(scope.positional or [Word("$@", exact=False, resolved=False)])
        values = [match for value in values for match in self._glob_matches(value, scope)]
        if variable is None or body is None:
            return self._generic(node, scope, ctx)
        name = node_text(variable)
        if len(values) > MAX_LOOP_VALUES or not values or self.unrolling >= MAX_UNROLLED_LOOPS:
            scope.env.pop(name, None)  # one pass with the variable unknown (dynamic)
            return self.walk(body, scope, ctx)
        stream = EMPTY
        self.unrolling += 1
        try:
            for value in values:
                scope.env[name] = value
                stream = stream.merge(self.walk(body, scope, ctx))
        finally:
            self.unrolling -= 1
        return stream

    def _glob_matches(self, word: Word, scope: Scope) -> list[Word]:
        """A glob in a ``for`` list, and each file this text wrote that it matches
        (``for f in *.sh; do bash "$f"; done`` runs the script written just before)."""
        if not word.glob or not word.resolved:
            return [word]
        pattern = scope.normalize(word.text)
        written = self.out.made(scope)
        matches = [path for path in written if fnmatch.fnmatchcase(path, pattern)]
        return [word, *(Word.literal(scope.spelled(path)) for path in matches)]

    def _function_definition(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            return self._generic(node, scope, ctx)
        name = node_text(name_node)
        scope.functions[name] = body
        if _is_fork_bomb(name, body):
            self.out.finding(
                R.FORK_BOMB,
                S.CRITICAL,
                f"function {name} spawns itself recursively",
                node_text(node),
            )
        inner = scope.copy()
        inner.calling = scope.calling | {name}
        self.definitions[name] = self.walk(body, inner, ctx)
        return EMPTY

    def _redirected(self, node: Node, scope: Scope, ctx: Ctx) -> Stream:
        body = node.child_by_field_name("body")
        redirects = node.children_by_field_name("redirect")
        if body is not None and body.type == "list":
            # tree-sitter reads ``cd ~ && echo x >> .bashrc`` as ``(cd ~ && echo x) >>
            # .bashrc``; bash redirects the last command alone, after ``cd`` moved it.
            items = _list_items(body)
            stream = self.walk(items[0], scope, ctx) if len(items) > 1 else EMPTY
            for item in items[1:-1]:
                stream = stream.merge(self.walk(item, scope, ctx.branched()))
            last_ctx = ctx.branched() if len(items) > 1 else ctx
            return stream.merge(self._with_redirects(node, items[-1], redirects, scope, last_ctx))
        return self._with_redirects(node, body, redirects, scope, ctx)

    def _with_redirects(
        self, node: Node, body: Node | None, redirects: list[Node], scope: Scope, ctx: Ctx
    ) -> Stream:
        redirs = self._redirects(redirects, scope, ctx, node_text(node))
        inner_ctx = ctx.with_stdin(redirs.stdin) if redirs.stdin is not None else ctx
        if body is not None and _EXEC_ONLY.fullmatch(node_text(body)):
            scope.fds = redirs.descriptors  # ``exec 1>&2``: for the rest of this shell
            scope.inputs.update(redirs.inputs)
            if redirs.stdin is not None:
                scope.inputs[0] = redirs.stdin  # ``exec <s``: what the next commands read
            return EMPTY
        if node.id in self.stderr_to_pipe:
            redirs.descriptors.duplicate(2, 1)
        context, scope.fds = scope.fds, Descriptors()  # the body's output, placed below
        try:
            if body is None:
                stream = EMPTY
            elif body.type == "command":
                redirs.shell_fds = context
                stream = self._command_node(body, scope, inner_ctx, redirs)
            else:
                stream = self.walk(body, scope, inner_ctx)
        finally:
            scope.fds = context
        if redirs.stdin is not None:
            consumed(self.out, redirs.stdin, stream)
        stream = with_secrets_of(self._capture(redirs, stream, scope), redirs.trace)
        for cont in redirs.continuations:
            stream = self._continue(cont, stream, scope, ctx)
        return stream

    def _continue(self, node: Node, stream: Stream, scope: Scope, ctx: Ctx) -> Stream:
        """``cat <<EOF | sh`` parses the pipe inside the heredoc redirect: follow it."""
        if node.type == "pipeline":
            for stage in node.named_children:
                if stage.type == "pipeline":
                    stream = self._continue(stage, stream, scope, ctx)
                elif stage.type not in _SKIP_TYPES:
                    stream = self._stage(stage, stream, scope, ctx)
            return stream
        return self.walk(node, scope, ctx)

    # --- redirections ----------------------------------------------------------------

    def _redirects(
        self,
        nodes: Sequence[Node],
        scope: Scope,
        ctx: Ctx,
        source: str,
        suffixes: dict[int, list[Node]] | None = None,
    ) -> _Redirs:
        """Evaluate redirections. ``suffixes``: words glued to a redirect's target (see
        ``_adjacent_groups``), keyed by the redirect node's id."""
        redirs = _Redirs(descriptors=scope.fds.copy())
        for node in nodes:
            suffix = (suffixes or {}).get(node.id, [])
            if node.type == "file_redirect":
                self._file_redirect(node, scope, ctx, source, redirs, suffix)
            elif node.type == "heredoc_redirect":
                self._heredoc(node, scope, ctx, source, redirs)
            elif node.type == "herestring_redirect":
                words = [
                    w
                    for g in adjacent_groups([*node.named_children, *suffix])
                    for w in self.words(g, scope, ctx)
                ]
                text = " ".join(w.text for w in words)
                labels = frozenset().union(*(w.labels for w in words)) if words else frozenset()
                redirs.stdin = Stream(text + "\n", labels)
            else:
                self.walk(node, scope, ctx)
        return redirs

    def _file_redirect(
        self, node: Node, scope: Scope, ctx: Ctx, source: str, redirs: _Redirs, suffix: list[Node]
    ) -> None:
        op = next((c.type for c in node.children if not c.is_named), ">")
        fd_node = node.child_by_field_name("descriptor")
        fd_text = node_text(fd_node) if fd_node is not None else None
        implicit = fd_text is None and not _named_descriptor(node)  # {var}>f names one
        # None for a descriptor bash picks at run time ({var}>f): neither stdout nor stderr
        fd = (0 if op.startswith("<") else 1) if implicit else _descriptor(fd_text or "")
        dests = [*node.children_by_field_name("destination"), *suffix]
        if op in (">&-", "<&-"):
            if fd is not None:
                redirs.descriptors.close(fd)
            return
        if not dests:
            return
        dest = dests[0]
        if op in (">&", "<&") and len(dests) == 1:
            source = node_text(dest)
            if source == "-" or source.isdigit():
                if fd is not None and source == "-":
                    redirs.descriptors.close(fd)
                elif fd is not None:
                    redirs.descriptors.duplicate(fd, int(source))
                    opened = redirs.inputs.get(int(source), scope.inputs.get(int(source)))
                    if opened is not None:  # ``bash <&3`` after ``exec 3<script``
                        self._opened_for_reading(redirs, fd, opened)
                return
        words = self.words(dests, scope, ctx)
        if not words:
            return
        word = words[0]
        call = self._redirect_call(scope, ctx, source)
        ref = self.out.ref(word, scope)
        if ref.path.startswith(("/dev/tcp/", "/dev/udp/")):
            redirs.network = True
        if op in ("<", "<>"):
            read_target(call, ref)
            content = word.content if word.content is not None else scope.files.get(ref.path)
            if ref.path.startswith(("/dev/tcp/", "/dev/udp/")):
                content = Stream(None, frozenset({LABEL_REMOTE}))
            if fd is not None:
                self._opened_for_reading(redirs, fd, content if content is not None else UNKNOWN)
            if op == "<":
                return
        truncate = op in (">", ">|", "&>", ">&", "<>") and op != "<>"
        path = ref.path if ref.info is not None else UNKNOWN_TARGET
        if not truncate and path in scope.files:
            redirs.appended[path] = scope.files[path]
        write_target(call, ref, truncate=truncate)
        if op in ("&>", "&>>") or (op == ">&" and implicit):  # both, bash's >&word
            redirs.descriptors.to_file(1, path)
            redirs.descriptors.to_file(2, path)
        elif fd is not None:
            redirs.descriptors.to_file(fd, path)

    @staticmethod
    def _opened_for_reading(redirs: _Redirs, fd: int, content: Stream) -> None:
        if fd == 0:
            redirs.stdin = content
        else:
            redirs.inputs[fd] = content

    def _heredoc(self, node: Node, scope: Scope, ctx: Ctx, source: str, redirs: _Redirs) -> None:
        start = next((c for c in node.children if c.type == "heredoc_start"), None)
        quoted = start is not None and any(q in node_text(start) for q in "'\"\\")
        text, labels = "", frozenset[str]()
        for child in node.named_children:
            if child.type == "heredoc_body":
                text, labels = self._heredoc_text(child, quoted, scope, ctx)
            elif child.type == "file_redirect":  # ``cat <<EOF > f``
                self._file_redirect(child, scope, ctx, source, redirs, [])
            elif child.type == "herestring_redirect":
                self._redirects([child], scope, ctx, source)
            elif child.type not in _SKIP_TYPES:
                redirs.continuations.append(child)
        redirs.stdin = Stream(text, labels)

    def _heredoc_text(
        self, body: Node, quoted: bool, scope: Scope, ctx: Ctx
    ) -> tuple[str, frozenset[str]]:
        raw = node_text(body)
        if quoted:
            return raw, frozenset()
        literal_types, drop_delims = ("heredoc_content",), False
        if not body.named_children:
            # tree-sitter leaves a ``<<-`` body unparsed; bash expands it like "...".
            if "$" not in raw and "`" not in raw:
                return raw, frozenset()
            string = _as_double_quoted(raw)
            if string is None:
                detail = "here-document body does not parse"
                self.out.finding(R.UNVERIFIABLE, S.MEDIUM, detail, raw)
                return raw, frozenset()
            body, literal_types, drop_delims = string, ("string_content",), True
        pieces: list[Piece] = []
        self._pieces_with_gaps(
            body,
            scope,
            ctx,
            pieces,
            quoted=True,
            literal_types=literal_types,
            drop_delims=drop_delims,
        )
        text = "".join(p.text for p in pieces)
        labels = frozenset().union(*(p.labels for p in pieces))
        return text, labels

    def _redirect_call(self, scope: Scope, ctx: Ctx, source: str) -> Call:
        return Call("redirect", "redirect", [], Parsed(), source, scope, ctx, self.out, self)

    def _capture(self, redirs: _Redirs, stream: Stream, scope: Scope) -> Stream:
        """stdout or stderr redirected: a file now holds what went there, and the pipe
        gets only what still goes to stdout."""
        if not redirs.descriptors.moved:
            return stream
        stream, files = redirected(self.out, stream, redirs.descriptors)
        for path, content in files.items():
            before = redirs.appended.get(path)
            scope.files[path] = content if before is None else before.merge(content)
        return stream

    # --- commands --------------------------------------------------------------------

    def _command_node(
        self, node: Node, scope: Scope, ctx: Ctx, outer: _Redirs | None = None
    ) -> Stream:
        stream = self._command_once(node, scope, ctx, outer)
        if scope.alternatives:
            for other in self._command_alternatives(node, scope, ctx, outer):
                stream = with_secrets_of(stream, other)
        return stream

    def _command_alternatives(
        self, node: Node, scope: Scope, ctx: Ctx, outer: _Redirs | None
    ) -> list[Stream]:
        """Analyze the command again with each value a variable it uses may still hold."""
        names = set(_VARIABLE_USE.findall(node_text(node))) & scope.alternatives.keys()
        outputs = []
        for name in sorted(names):
            for value in scope.alternatives[name]:
                other = scope.copy()
                other.alternatives = {}
                other.env[name] = value
                outputs.append(self._command_once(node, other, ctx, outer))
        return outputs

    def _command_once(
        self, node: Node, scope: Scope, ctx: Ctx, outer: _Redirs | None = None
    ) -> Stream:
        items = _command_items(node)
        prefix: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirect_nodes: list[Node] = []
        suffixes: dict[int, list[Node]] = {}
        for kind, first, suffix in items:
            if kind == "assign":
                prefix.append(self._assignment(first, scope, ctx, persist=False, suffix=suffix))
            elif kind == "redirect":
                redirect_nodes.append(first)
                suffixes[first.id] = suffix
            else:
                words.extend(self.words([first, *suffix], scope, ctx))
        source = node_text(node)
        redirs = self._redirects(redirect_nodes, scope, ctx, source, suffixes)
        if node.id in self.stderr_to_pipe:
            redirs.descriptors.duplicate(2, 1)
        if redirs.stdin is not None:
            ctx = ctx.with_stdin(redirs.stdin)
        elif ctx.stdin is UNKNOWN and 0 in scope.inputs:
            ctx = ctx.with_stdin(scope.inputs[0])  # the shell's stdin, since ``exec <s``
        trace = EMPTY
        if scope.xtrace:
            own = outer is not None and outer.shell_fds is not None
            trace = self._traced(words, prefix, scope, source, outer.shell_fds if own else None)
            if own:  # placed by the caller, after the redirections it applies
                outer.trace, trace = with_secrets_of(outer.trace, trace), EMPTY
        if not words:
            for name, word in prefix:
                scope.assign(name, word, conditional=ctx.branch)
                self._check_assignment(name, word, source, scope, ctx)
            return with_secrets_of(self._capture(redirs, EMPTY, scope), trace)
        run_scope = scope
        if prefix:
            run_scope = scope.copy()
            for name, word in prefix:
                self._check_assignment(name, word, source, scope, ctx)
                run_scope.env[name] = word
        network = redirs.network or (outer is not None and outer.network)
        if network and family(_program_name(words[0])) in SHELLS | _CODE_FAMILIES:
            self.out.finding(
                R.REMOTE_CODE,
                S.HIGH,
                "a shell's input or output is a network socket (reverse shell)",
                source,
            )
        stream = self.run(words, run_scope, ctx, source)
        if run_scope is not scope:
            scope.files.update(run_scope.files)
        if redirs.stdin is not None:
            consumed(self.out, redirs.stdin, stream)
        return with_secrets_of(self._capture(redirs, stream, scope), trace)

    def run(self, words: list[Word], scope: Scope, ctx: Ctx, source: str = "") -> Stream:
        """Execute an argv, in analysis: dispatch to builtins, wrappers, shells, rules."""
        if not words:
            return EMPTY
        name = words[0]
        if not name.resolved or not name.text:
            return self._dynamic_program(words, scope, ctx, source)
        if name.glob:
            return self._glob_program(words, scope, ctx, source)
        program = _program_name(name)
        if name.text in _RESERVED_OPENERS or name.text in _RESERVED_CLOSERS:
            # A grammar slip (`! { rm -rf /; }` parses `{` as a command): bash would run
            # what follows the reserved word, so analyze that.
            rest = [w for w in words[1:] if w.text not in _RESERVED_CLOSERS]
            while rest and (m := ASSIGNMENT.match(rest[0].text)):
                value = rest.pop(0).tail(m.start(3))
                scope.assign(m.group(1), value, conditional=ctx.branch)
                self._check_assignment(m.group(1), value, source, scope, ctx)
            return self.run(rest, scope, ctx, source) if rest else EMPTY
        if not name.exact:
            self.out.finding(
                R.UNVERIFIABLE,
                S.HIGH,
                f"program name {name.text!r} is a guess from a default",
                source,
            )
        if "/" in name.text:
            self._executes_file(name, scope, ctx, source)
        elif program in scope.functions:
            return self._call_function(program, words, scope, ctx, source)
        else:
            self._looked_up(name, scope, ctx, source)
        if program in NETWORK_PROGRAMS:
            self._mark("network")
        handler = _PROGRAM_HANDLERS.get(program)
        if handler is not None:
            return handler(self, program, words, scope, ctx, source)
        wrapper = WRAPPERS.get(program)
        if wrapper is not None:
            return self._wrapper(program, wrapper, words, scope, ctx, source)
        fam = family(program)
        if fam in SHELLS:
            return self._shell(program, words, scope, ctx, source)
        if fam in _CODE_FAMILIES:
            return self._interpreter(program, fam, words, scope, ctx, source)
        if fam in _AWKS:
            return self._awk(program, words, scope, ctx, source)
        return self._generic_program(program, words, scope, ctx, source)

    def _generic_program(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        args = words[1:]
        name = family(program)
        if (
            name == "tar"
            and args
            and re.fullmatch(r"[A-Za-z]+", args[0].text)
            and set(args[0].text) & set("cxtruA")
        ):
            args = [replace(args[0], text="-" + args[0].text), *args[1:]]
        parsed = parse_options(args, spec_for(program))
        self._record(program, words, parsed, scope, ctx, source)
        call = Call(program, name, args, parsed, render(words), scope, ctx, self.out, self)
        embedded = EMBEDDED_RULES.get(name)
        if embedded is not None:
            embedded(call)
        return apply_rules(call)

    def _dynamic_program(self, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        name = words[0]
        self._record("", words, parse_options(words[1:], spec_for("")), scope, ctx, source)
        text = render(words)
        if remote_labels(Stream(None, name.labels)):
            self.out.finding(
                R.REMOTE_CODE, S.HIGH, "runs downloaded or decoded text as a command", text
            )
        severity = S.HIGH if self._destructive_args(words[1:], scope) else S.MEDIUM
        self.out.finding(R.UNVERIFIABLE, severity, f"program name {name.text} is dynamic", text)
        return UNKNOWN

    def _destructive_args(self, args: list[Word], scope: Scope) -> bool:
        for word in args:
            if re.fullmatch(
                r"-[a-zA-Z]*[rRf][a-zA-Z]*|--(?:recursive|force|no-preserve-root)", word.text
            ):
                return True
            ref = self.out.ref(word, scope)
            if ref.info is not None and (ref.info.critical or ref.info.device or ref.info.system):
                return True
        return False

    def _glob_program(self, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        """``/???/r?`` could be ``/bin/rm``: analyze each dangerous program it could name."""
        pattern = posixpath.basename(words[0].text)
        self.out.finding(
            R.UNVERIFIABLE,
            S.HIGH if self._destructive_args(words[1:], scope) else S.MEDIUM,
            f"program name {words[0].text} is a glob",
            source,
        )
        stream = UNKNOWN
        for candidate in _GLOB_CANDIDATES:
            if fnmatch.fnmatchcase(candidate, pattern):
                stream = self.run([Word(candidate), *words[1:]], scope, ctx.wrapped("glob"), source)
        return stream

    def _looked_up(self, name: Word, scope: Scope, ctx: Ctx, source: str) -> None:
        """``PATH=$PWD:$PATH ls`` after writing ``ls``: the file a PATH lookup may
        find instead of the system's program runs as the file it is."""
        if not scope.files and not self.out.paths["written"]:
            return
        path_word = scope.env.get("PATH")
        written = self.out.made(scope)
        value = None if path_word is None else path_word.text
        for path in path_candidates(name.text, value, written, scope.normalize):
            self._executes_file(replace(name, text=path), scope, ctx, source, path=path)

    def _executes_file(
        self, name: Word, scope: Scope, ctx: Ctx, source: str, *, path: str | None = None
    ) -> None:
        """``./install.sh`` after ``curl -o install.sh``, ``./s.py`` after writing it:
        running a file this text fetched or wrote, in the language its ``#!`` names.
        ``path``: already normalized (a PATH lookup's find)."""
        path = scope.normalize(name.text) if path is None else path
        content = scope.files.get(path)
        if self._runs_unknown_output(path, name, content, source) or content is None:
            return
        if remote_labels(content):
            self.out.finding(R.REMOTE_CODE, S.HIGH, f"executes downloaded file {name.text}", source)
        if content.text is None:
            return
        interpreter = shebang_program(content.text)
        kind = "shell" if interpreter is None else family(interpreter)
        if kind in SHELLS:
            kind = "shell"
        if kind == "shell" or kind in _CODE_FAMILIES:
            self._analyze_code(
                content.text, kind, scope.copy(), ctx.wrapped(name.text, nested=True), source
            )
            if kind != "shell":
                self._loadable_files(kind, scope, ctx, source, path)
        else:
            self.out.finding(
                R.UNVERIFIABLE,
                S.MEDIUM,
                f"runs {name.text}, written here, with {interpreter}: contents not analyzed",
                source,
            )

    def _call_function(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        self._record(program, words, Parsed(operands=words[1:]), scope, ctx, source)
        if program in scope.calling or ctx.depth >= MAX_DEPTH:
            return UNKNOWN
        body = scope.functions[program]
        superseded(self.out, self.definitions.pop(program, EMPTY))  # the call's prints count
        saved = scope.positional, scope.calling
        scope.positional, scope.calling = tuple(words[1:]), scope.calling | {program}
        try:
            return self.walk(body, scope, ctx.deeper())
        finally:
            scope.positional, scope.calling = saved

    # --- wrappers --------------------------------------------------------------------

    def _wrapper(
        self, program: str, wrapper: Wrapper, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        parsed = parse_options(words[1:], wrapper.spec)
        self._record(program, words, parsed, scope, ctx, source)
        text = render(words)
        if wrapper.risk is not None:
            self.out.finding(
                wrapper.risk, wrapper.severity, f"runs a command through {program}", text
            )
        if program == "command" and parsed.has("v", "V"):
            return UNKNOWN
        inner_scope = self._chdir_scope(scope, parsed, wrapper.chdir)
        skip = 0 if program == "runuser" and parsed.has("u") else wrapper.skip
        if program == "coproc" and _named_coproc(parsed.operands):
            skip = 1  # coproc NAME { ...; }: the name is not a command
        if program == "ssh":
            return self._ssh(parsed, inner_scope, ctx, text)
        script = parsed.value_word(wrapper.script_opt) if wrapper.script_opt else None
        if script is None and wrapper.script_opt:
            script = parsed.value_word("command")
        if script is not None:
            return self._code_word(
                script, "shell", inner_scope.copy(), ctx.wrapped(f"{program} -c", nested=True), text
            )
        inner = parsed.operands[skip:]
        if (
            wrapper.script_opt
            and len(inner) > 1
            and inner[0].text in (f"-{wrapper.script_opt}", "--command")
        ):
            return self._code_word(
                inner[1],
                "shell",
                inner_scope.copy(),
                ctx.wrapped(f"{program} -c", nested=True),
                text,
            )
        if skip and inner and inner[0].text.startswith("-"):
            inner = parse_options(inner, wrapper.spec).operands  # perf record -g CMD
        if not inner:
            return _SSH_AGENT_SETUP if program == "ssh-agent" else UNKNOWN
        if wrapper.join and not parsed.has("x", "exec"):
            word = join_words(inner)
            return self._code_word(
                word, "shell", inner_scope.copy(), ctx.wrapped(program, nested=True), text
            )
        return self.run(list(inner), inner_scope, ctx.wrapped(program), render(inner))

    def _chdir_scope(self, scope: Scope, parsed: Parsed, options: frozenset[str]) -> Scope:
        target = next((parsed.value(o) for o in options if parsed.value(o)), None)
        if target is None:
            return scope
        inner = scope.copy()
        inner.cwd = inner.normalize(target)
        return inner

    def _ssh(self, parsed: Parsed, scope: Scope, ctx: Ctx, text: str) -> Stream:
        ops = parsed.operands
        for option in parsed.values.get("o", []):
            key, _, value = option.partition("=")
            if key.lower() in ("proxycommand", "localcommand") and value:
                self.script(value, scope.copy(), ctx.wrapped(f"ssh -o {key}", nested=True))
        if not ops:
            return Stream(None, frozenset({LABEL_REMOTE}))
        host = ops[0].text
        self.out.path("urls", f"ssh://{host}")
        if len(ops) > 1:
            remote = Scope(
                env={"HOME": scope.env["HOME"], "IFS": Word(" \t\n")}, cwd="", home=scope.home
            )
            word = join_words(ops[1:])
            self._code_word(word, "shell", remote, ctx.wrapped(f"ssh {host}", nested=True), text)
        return Stream(None, frozenset({LABEL_REMOTE}))

    def _env(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        parsed = parse_options(words[1:], _ENV_SPEC)
        self._record(program, words, parsed, scope, ctx, source)
        text = render(words)
        inner_scope = self._chdir_scope(scope, parsed, frozenset({"C", "chdir"})).copy()
        ops = list(parsed.operands)
        cleared = parsed.has("i") or (bool(ops) and ops[0].text == "-")  # prints only its own
        if parsed.has("i"):
            inner_scope.env = {k: v for k, v in inner_scope.env.items() if k in ("HOME", "IFS")}
        for name in parsed.values.get("u", []) + parsed.values.get("unset", []):
            inner_scope.env.pop(name, None)
            if name.startswith(GOVERNANCE_ENV_PREFIX):
                self.out.finding(
                    R.GOVERNANCE_TAMPER, S.CRITICAL, f"unsets Canopy's setting {name}", text
                )
        if ops and ops[0].text == "-":  # `env -` is `env -i`
            ops.pop(0)
            inner_scope.env = {k: v for k, v in inner_scope.env.items() if k in ("HOME", "IFS")}
        while ops and ASSIGNMENT.match(ops[0].text):
            m = ASSIGNMENT.match(ops[0].text)
            assert m is not None
            value = ops[0].tail(m.start(3))
            self._check_assignment(m.group(1), value, text, inner_scope, ctx)
            inner_scope.env[m.group(1)] = value
            ops.pop(0)
        split = parsed.value_word("S", "split-string")
        if split is not None:
            word = join_words([split, *ops])
            return self._code_word(
                word, "shell", inner_scope, ctx.wrapped("env -S", nested=True), text
            )
        if not ops:  # prints the environment; cleared, only what it set
            return UNKNOWN if cleared else env_dump(self.out, program, text)
        return self.run(ops, inner_scope, ctx.wrapped("env"), render(ops))

    def _xargs(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        parsed = parse_options(words[1:], SPECS["xargs"])
        self._record(program, words, parsed, scope, ctx, source)
        inner = list(parsed.operands) or [Word("echo")]
        stream = ctx.stdin
        arg_file = parsed.value("a", "arg-file")
        if arg_file:
            ref = self.out.ref(Word(arg_file), scope)
            stream = scope.files.get(ref.path) or self.run(  # read as ``cat FILE`` reads it
                [Word("cat"), Word(arg_file)], scope, ctx.wrapped("xargs -a"), source
            )
        delimiter = "\0" if parsed.has("0", "null") else parsed.value("d", "delimiter")
        items = _items(stream, delimiter, lines=parsed.has("I", "L", "i", "replace"))
        replace_with = parsed.value("I", "replace", "i") or ("{}" if parsed.has("i") else None)
        stdin = secret_items(stream) or UNKNOWN
        return self._run_with_items(
            inner, items, replace_with, scope, ctx.wrapped("xargs", stdin=stdin)
        )

    def _parallel(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        parsed = parse_options(words[1:], SPECS["parallel"])
        self._record(program, words, parsed, scope, ctx, source)
        ops = list(parsed.operands)
        if parsed.has("pipe", "pipepart") and ops:  # stdin is split among the jobs' stdin
            return self.run(ops, scope, ctx.wrapped("parallel --pipe"), render(ops))
        if ":::" in (w.text for w in ops):
            at = next(i for i, w in enumerate(ops) if w.text == ":::")
            inner, items = ops[:at], [w for w in ops[at + 1 :] if w.text not in (":::", "::::")]
        else:
            inner, items = ops, _items(ctx.stdin, None, lines=True)
        if not inner:
            return self._run_with_items(
                [Word("sh"), Word("-c")], items, None, scope, ctx.wrapped("parallel")
            )
        stdin = secret_items(ctx.stdin) or UNKNOWN
        return self._run_with_items(inner, items, "{}", scope, ctx.wrapped("parallel", stdin=stdin))

    def _run_with_items(
        self, inner: list[Word], items: list[Word], token: str | None, scope: Scope, ctx: Ctx
    ) -> Stream:
        """xargs/parallel: the command runs with stdin items appended or substituted."""
        if token is not None and any(token in w.text for w in inner):
            stream = EMPTY
            for item in items[:MAX_ITEMS]:
                argv = [_substitute(w, token, item) for w in inner]
                stream = stream.merge(self.run(argv, scope, ctx, render(argv)))
            return stream
        argv = inner + items[: MAX_ITEMS * 4]
        return self.run(argv, scope, ctx, render(argv))

    def _find(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        args = words[1:]
        i = 0
        while (i < len(args) and args[i].text in ("-H", "-L", "-P")) or (
            i < len(args) and args[i].text.startswith(("-D", "-O")) and len(args[i].text) <= 3
        ):
            i += 2 if args[i].text == "-D" else 1
        roots: list[Word] = []
        while (
            i < len(args)
            and not args[i].text.startswith("-")
            and args[i].text not in ("(", "!", ")", ",")
        ):
            roots.append(args[i])
            i += 1
        roots = roots or [Word(".")]
        narrowed, deletes, execs, writes, names = _find_expression(args[i:])
        parsed = Parsed(operands=roots, files=roots)
        self._record(program, words, parsed, scope, ctx, source)
        labels = {LABEL_FOUND} | ({LABEL_NARROWED} if narrowed else set())
        selected = self._secrets_selected(roots, names, scope)
        root_refs = [self.out.ref(r, scope) for r in roots]
        if selected or find_lists_secrets(root_refs, names, self.out):
            labels.add(LABEL_SECRET_PATHS)
        found = [replace(r, labels=r.labels | frozenset(labels)) for r in roots]
        found += selected
        call = Call(program, "find", args, parsed, render(words), scope, ctx, self.out, self)
        for word in writes:
            write_target(call, self.out.ref(word, scope), truncate=True)
        if deletes:
            for root in found:
                delete_target(call, self.out.ref(root, scope), recursive=True)
        for action, command in execs:
            self._find_exec(action, command, found, scope, ctx)
        if execs:
            return UNKNOWN
        paths = tuple(self.out.ref(r, scope).path for r in found)
        return Stream(None, frozenset(labels), roots=paths)

    def _secrets_selected(
        self, roots: list[Word], names: list[tuple[str, str]], scope: Scope
    ) -> list[Word]:
        """``find ~ -name id_rsa``: the credential files its name tests select, as paths,
        so ``-exec cat {}`` or ``| xargs cat`` are seen reading them."""
        selected = []
        for primary, pattern in names:
            if "path" in primary:  # -path matches whole paths, and its `*` crosses `/`
                examples = credential_examples(self.out.home)
                hit = next((e for e in examples if fnmatch.fnmatchcase(e, pattern)), None)
                selected += [Word(hit)] if hit else []
                continue
            for root in roots:
                word = Word.literal(f"{root.text}/{pattern}")
                ref = self.out.ref(word, scope)
                if ref.info is not None and ref.info.credential:
                    selected.append(word)
        return selected

    def _find_exec(
        self, action: str, command: list[Word], found: list[Word], scope: Scope, ctx: Ctx
    ) -> None:
        if not command:
            return
        inner_ctx = ctx.wrapped(f"find {action}", stdin=UNKNOWN)
        if not any("{}" in w.text for w in command):
            self.run(command, scope.copy(), inner_ctx, render(command))
            return
        for root in found[:MAX_ITEMS]:
            argv = [_substitute(w, "{}", root) for w in command]
            self.run(argv, scope.copy(), inner_ctx, render(argv))

    # --- shells, eval, source --------------------------------------------------------

    def _shell(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        parsed = parse_options(_without_plus_options(words[1:]), SPECS["sh"])
        self._record(program, words, parsed, scope, ctx, source)
        text = render(words)
        ops = parsed.operands
        options = [w.text for w in words[1 : len(words) - len(ops)]]
        scope = scope.copy()  # a new shell: ``set -x`` is not inherited, ``bash -x`` sets it
        scope.xtrace = xtrace_after(options, False)
        for name in parsed.values.get("rcfile", []) + parsed.values.get("init-file", []):
            self._code_file(Word(name), "shell", scope.copy(), ctx.wrapped(program), text)
        if parsed.has("c"):
            if not ops:
                return EMPTY
            inner = self._shell_scope(scope, ops[1:])
            return self._code_word(
                ops[0], "shell", inner, ctx.wrapped(f"{program} -c", nested=True), text
            )
        if ops and not parsed.has("s"):
            inner = self._shell_scope(scope, ops)
            return self._code_file(ops[0], "shell", inner, ctx.wrapped(program, nested=True), text)
        self._mark_sink(ctx.stdin)
        return self._code_stream(
            ctx.stdin,
            "shell",
            self._shell_scope(scope, ops),
            ctx.wrapped(f"{program} <stdin", nested=True),
            text,
        )

    def _mark_sink(self, stdin: Stream) -> None:
        if stdin.text is None and not remote_labels(stdin):
            self._mark("shell_sink")

    def _shell_scope(self, scope: Scope, positional: Sequence[Word]) -> Scope:
        inner = scope.copy()
        inner.functions = {}
        inner.calling = frozenset()
        inner.fds = Descriptors()  # its output is placed by the command that started it
        if positional:
            inner.env["0"] = positional[0]
        inner.positional = tuple(positional[1:])  # a new shell knows its arguments exactly
        return inner

    def _eval(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        args = words[1:]
        self._record(program, words, Parsed(operands=args), scope, ctx, source)
        if not args:
            return EMPTY
        word = join_words(args)
        return self._code_word(
            word, "shell", scope, ctx.wrapped("eval", nested=True), render(words)
        )

    def _source(
        self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        args = words[1:]
        self._record(program, words, Parsed(operands=args), scope, ctx, source)
        if not args:
            return EMPTY
        return self._code_file(
            args[0], "shell", scope, ctx.wrapped(program, nested=True), render(words)
        )

    def _code_word(self, word: Word, kind: str, scope: Scope, ctx: Ctx, text: str) -> Stream:
        """A string that will run as code (``sh -c``, ``eval``, ``python -c``)."""
        if remote_labels(Stream(None, word.labels)):
            self.out.finding(R.REMOTE_CODE, S.HIGH, "runs downloaded or decoded code", text)
        if not word.resolved:
            self.out.finding(
                R.UNVERIFIABLE,
                S.MEDIUM,
                f"{ctx.wrappers[-1] if ctx.wrappers else kind} of a non-literal",
                text,
            )
            if kind != "shell":
                return UNKNOWN
        return self._analyze_code(word.text, kind, scope, ctx, text)

    def _code_file(self, word: Word, kind: str, scope: Scope, ctx: Ctx, text: str) -> Stream:
        """A script file that will run: known when this text wrote or downloaded it."""
        if word.text in ("-", "/dev/stdin", "/proc/self/fd/0", "/dev/fd/0"):
            self._mark_sink(ctx.stdin)
            return self._code_stream(ctx.stdin, kind, scope, ctx, text)
        if word.content is not None:
            return self._code_stream(word.content, kind, scope, ctx, text)
        if looks_remote(word.text):
            self.out.path("urls", word.text)
            self.out.finding(R.REMOTE_CODE, S.HIGH, f"runs code from {word.text}", text)
            return UNKNOWN
        ref = self.out.ref(word, scope)
        call = self._redirect_call(scope, ctx, text)
        read_target(call, ref)
        content = scope.files.get(ref.path)
        if self._runs_unknown_output(ref.path, word, content, text):
            return UNKNOWN
        if content is None:
            if not word.resolved:
                self.out.finding(
                    R.UNVERIFIABLE, S.MEDIUM, f"runs script {word.text}: path is dynamic", text
                )
            else:
                self.out.note(f"runs script file {ref.path} (contents not analyzed)")
            return UNKNOWN
        return self._code_stream(content, kind, scope, ctx, text)

    def _runs_unknown_output(
        self, path: str, word: Word, content: Stream | None, text: str
    ) -> bool:
        """Running a file this text wrote or changed, when what it holds is not known
        (``sed -i``, ``mv s d/``, ``a && b > s``, a file an interpreter wrote): what runs
        is the text's own doing, so it cannot pass unseen. Reported; True if so."""
        if content is not None and (
            content.text is not None
            or remote_labels(content)
            or LABEL_TRANSFORMED in content.labels
            or LABEL_BUILT in content.labels
        ):
            return False
        if not self.out.wrote(path, glob=word.glob, tree=LABEL_FOUND in word.labels):
            return False
        self.out.finding(
            R.UNVERIFIABLE,
            S.MEDIUM,
            f"runs {word.text}, which this command wrote or changed: contents unknown",
            text,
        )
        return True

    def _code_stream(self, stream: Stream, kind: str, scope: Scope, ctx: Ctx, text: str) -> Stream:
        """Code arriving as data (stdin, a process substitution, a file written earlier)."""
        if stream is UNKNOWN:
            return UNKNOWN
        if remote_labels(stream):
            self.out.finding(R.REMOTE_CODE, S.HIGH, "runs downloaded or decoded code", text)
        if stream.text is None and stream.prints:  # ``echo $TOKEN | bash``: runs the token,
            shown(self.out, stream)  # and the error ("ghp_...: command not found") shows it
        if stream.text is not None:
            return self._analyze_code(stream.text, kind, scope, ctx.with_stdin(UNKNOWN), text)
        if LABEL_TRANSFORMED in stream.labels:
            self.out.finding(
                R.UNVERIFIABLE, S.HIGH, "runs text rewritten by a program we do not model", text
            )
        return UNKNOWN

    def _analyze_code(self, code: str, kind: str, scope: Scope, ctx: Ctx, text: str) -> Stream:
        if kind == "shell":
            return self.script(code, scope, ctx)
        if ctx.depth > MAX_DEPTH:
            self.out.finding(
                R.UNVERIFIABLE, S.HIGH, f"commands nested more than {MAX_DEPTH} levels deep", text
            )
            return UNKNOWN
        self.out.spend(parsed=len(code))
        effects = python_effects(code) if kind == "python" else script_effects(kind, code)
        names_stderr = _NAMES_STDERR.search(code) is not None
        return self._apply_effects(effects, scope, ctx, text, stderr=names_stderr)

    def _apply_effects(
        self, effects: list[Effect], scope: Scope, ctx: Ctx, text: str, *, stderr: bool = False
    ) -> Stream:
        """``stderr``: the code names stderr somewhere (``print STDERR``, ``sys.stdout =
        sys.stderr``, ``os.dup2(2, 1)``): a print may go to either stream, so it rides on
        both and is shown if either is."""
        call = self._redirect_call(scope, ctx, text)
        stream = UNKNOWN
        for e in effects:
            if e.kind is EffectKind.SHELL:
                self.script(e.text, scope.copy(), ctx.deeper())
            elif e.kind is EffectKind.ARGV:
                argv = [Word(a, glob=any(c in a for c in "*?[")) for a in e.argv]
                self.argv(argv, scope.copy(), ctx.deeper())
            elif e.kind is EffectKind.DELETE:
                word = Word(e.text) if e.text else Word("<computed>", exact=False, resolved=False)
                delete_target(call, self.out.ref(word, scope), recursive=e.recursive)
            elif e.kind is EffectKind.WRITE:
                write_target(call, self.out.ref(Word(e.text), scope), truncate=True)
            elif e.kind is EffectKind.READ:
                read_target(call, self.out.ref(Word(e.text), scope))
            elif e.kind is EffectKind.NETWORK:
                self.out.finding(
                    R.NETWORK, S.MEDIUM, f"opens a network connection ({e.text})", text
                )
                if "://" in e.text:
                    self.out.path("urls", e.text)
                stream = Stream(None, frozenset({LABEL_REMOTE}))
            elif e.kind in (EffectKind.SECRET_PRINT, EffectKind.SECRET_WRITE):
                before = stream.prints
                stream = self._secret_effect(e, scope, text, stream)
                if stderr:
                    stream = replace(stream, err_prints=stream.err_prints | stream.prints - before)
            else:
                self._effect_finding(e, text)
        return stream

    def _secret_effect(self, e: Effect, scope: Scope, text: str, stream: Stream) -> Stream:
        """Environment variables the code prints (on stdout or stderr: the print rides
        on the stream and is judged where it goes) or writes to a file. A variable is a
        secret by its name, unless this text set it, then by what it was set to
        (``MY_VAR=$GITHUB_TOKEN python3 ...`` holds a token)."""
        env = scope.env
        secrets = [
            name
            for name in e.variables
            if (LABEL_SECRET in env[name].labels if name in env else is_secret_variable(name))
        ]
        if not e.everything and not secrets:
            return stream
        what = e.everything or ", ".join(secrets)
        if e.kind is EffectKind.SECRET_PRINT:
            if e.detail != "stderr":
                return printed(self.out, f"the code prints {what}", text, stream)
            return printed_on_stderr(self.out, f"the code prints {what} on stderr", text, stream)
        secret = printed(self.out, f"the code writes {what}", text, Stream())
        if not e.text:
            written(self.out, secret, "")
            return stream
        ref = self.out.ref(Word(e.text), scope)
        written(self.out, secret, ref.path if ref.info is not None else "")
        return stream

    def _effect_finding(self, e: Effect, text: str) -> None:
        if e.kind is EffectKind.REMOTE_CODE:
            self.out.finding(R.REMOTE_CODE, S.HIGH, e.text, text)
        elif e.kind is EffectKind.FORK_BOMB:
            self.out.finding(R.FORK_BOMB, S.CRITICAL, e.text, text)
        elif e.kind is EffectKind.UNVERIFIABLE:
            self.out.finding(R.UNVERIFIABLE, S.HIGH if e.destructive else S.MEDIUM, e.text, text)

    def _interpreter(
        self, program: str, fam: str, words: list[Word], scope: Scope, ctx: Ctx, source: str
    ) -> Stream:
        args = words[1:]
        parsed = parse_options(args, spec_for(program))
        self._record(program, words, parsed, scope, ctx, source)
        text = render(words)
        label = f"{program} -c" if fam == "python" else f"{program} -e"
        module = parsed.value("m") if fam == "python" else None
        codes = [w for key in INTERPRETER_CODE_OPTS[fam] for w in parsed.value_words.get(key, [])]
        if fam == "node" and parsed.has("p", "print"):
            codes = [_printed_value(w) for w in codes]
        stream = UNKNOWN
        local = self._local_module(module, scope) if module is not None else None
        if local is not None:  # sys.path[0] is the working directory: it shadows the rest
            stream = self._code_stream(
                local, fam, scope.copy(), ctx.wrapped(f"{program} -m", nested=True), text
            )
        elif module in _SCRIPT_RUNNING_MODULES:  # python3 -m pdb s.py runs s.py
            for word in _module_args(args):
                if word.text.endswith(".py") or scope.normalize(word.text) in scope.files:
                    stream = self._code_file(
                        word, fam, scope.copy(), ctx.wrapped(f"{program} -m {module}"), text
                    )
        elif module is not None:
            stream = self.run(
                [Word(module), *_module_args(args)], scope, ctx.wrapped(f"{program} -m"), text
            )
        elif codes:  # perl -pe, python -c '...sys.stdin...': a filter, its input may show
            for word in codes:
                stream = self._code_word(
                    word, fam, scope.copy(), ctx.wrapped(label, nested=True), text
                )
            stream = printed_if_secret(self.out, program, text, with_secrets_of(stream, ctx.stdin))
            if ctx.stdin.prints and any(_NAMES_STDERR.search(w.text) for w in codes):
                stream = replace(stream, err_prints=stream.err_prints | ctx.stdin.prints)
        elif parsed.operands:
            stream = self._code_file(
                parsed.operands[0], fam, scope.copy(), ctx.wrapped(program, nested=True), text
            )
        else:
            stream = self._code_stream(
                ctx.stdin, fam, scope.copy(), ctx.wrapped(f"{program} <stdin", nested=True), text
            )
        runs_operand = module is None and not codes and parsed.operands  # the script itself
        main = scope.normalize(parsed.operands[0].text) if runs_operand else None
        stream = stream.merge(self._loadable_files(fam, scope, ctx, text, main))
        call = Call(program, fam, args, parsed, text, scope, ctx, self.out, self)
        apply_rules(call)
        return stream

    def project_code(self, language: str, scope: Scope, ctx: Ctx, text: str) -> Stream:
        return self._loadable_files(language, scope, ctx, text, None)

    def _loadable_files(
        self, fam: str, scope: Scope, ctx: Ctx, text: str, main: str | None
    ) -> Stream:
        """Code files in ``fam``'s language that this text wrote or fetched before running
        it: the program may import any of them (``import m``, ``require('./m')``, a
        ``json.py`` shadowing the library's, a ``sitecustomize.py`` or ``.pth`` loaded at
        start-up), and which it does is not decidable from its text, so each is analysed
        as if it ran."""
        stream = EMPTY
        suffixes, names = _LOADABLE.get(fam, ((), ()))
        for path, content in list(scope.files.items()):
            if path != main and (path.endswith(suffixes) or posixpath.basename(path) in names):
                loaded = self._code_stream(
                    content, fam, scope.copy(), ctx.wrapped(path, nested=True), text
                )
                stream = stream.merge(loaded)
        return stream

    def _local_module(self, module: str, scope: Scope) -> Stream | None:
        """What ``python -m MODULE`` runs when this text wrote it in the working directory
        (``MODULE.py``, or a package's ``__main__.py``)."""
        base = module.replace(".", "/")
        for path in (f"{base}.py", f"{base}/__main__.py"):
            content = scope.files.get(scope.normalize(path))
            if content is not None:
                return content
        return None

    def _awk(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        args = words[1:]
        parsed = parse_options(args, SPECS["awk"])
        self._record(program, words, parsed, scope, ctx, source)
        text = render(words)
        programs: list[str] = []
        for name in parsed.values.get("f", []) + parsed.values.get("file", []):
            content = scope.files.get(scope.normalize(name))  # ``awk -f f`` after writing f
            if content is not None and remote_labels(content):
                self.out.finding(R.REMOTE_CODE, S.HIGH, "awk runs a downloaded program", text)
            if content is not None and content.text is not None:
                programs.append(content.text)
        if not parsed.has("f", "file") and parsed.operands:
            code = parsed.operands[0]
            if not code.resolved:
                self.out.finding(R.UNVERIFIABLE, S.MEDIUM, "awk program is not a literal", text)
            else:
                programs.append(code.text)
        shown_by_code = EMPTY
        for program_text in programs:
            shown_by_code = shown_by_code.merge(
                self._apply_effects(
                    script_effects("awk", program_text),
                    scope.copy(),
                    ctx.wrapped("awk", nested=True),
                    text,
                    stderr=_NAMES_STDERR.search(program_text) is not None,
                )
            )
        call = Call(program, "awk", args, parsed, text, scope, ctx, self.out, self)
        output = apply_rules(call)  # what the program prints of the environment rides on it
        return with_secrets_of(output, shown_by_code)

    def _deno(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        args = words[1:]
        parsed = parse_options(
            args, opts("A", "allow-read allow-write allow-net allow-env allow-run", stop=True)
        )
        self._record(program, words, parsed, scope, ctx, source)
        ops = parsed.operands
        text = render(words)
        if ops and ops[0].text == "eval" and len(ops) > 1:
            return self._code_word(
                ops[1], "node", scope.copy(), ctx.wrapped("deno eval", nested=True), text
            )
        if ops and ops[0].text == "run" and len(ops) > 1:
            target = next((w for w in ops[1:] if not w.text.startswith("-")), None)
            if target is not None:
                return self._code_file(
                    target, "node", scope.copy(), ctx.wrapped("deno run", nested=True), text
                )
        return UNKNOWN

    def _at(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        """``at``/``batch`` run the shell commands on their stdin (or ``-f FILE``) later."""
        parsed = parse_options(words[1:], _AT_SPEC)
        self._record(program, words, parsed, scope, ctx, source)
        if parsed.has("l", "r", "d", "c"):
            return UNKNOWN  # listing, removing or printing jobs
        text = render(words)
        self.out.finding(R.PRIVILEGE, S.MEDIUM, f"{program} schedules commands to run later", text)
        inner = ctx.wrapped(program, nested=True)
        script = parsed.value_word("f")
        if script is not None:
            return self._code_file(script, "shell", scope.copy(), inner, text)
        self._mark_sink(ctx.stdin)
        return self._code_stream(ctx.stdin, "shell", scope.copy(), inner, text)

    def _bun(self, program: str, words: list[Word], scope: Scope, ctx: Ctx, source: str) -> Stream:
        args = words[1:]
        parsed = parse_options(args, opts("e", "eval print", stop=True))
        self._record(program, words, parsed, scope, ctx, source)
        code = parsed.value_word("e", "eval", "print")
        if code is not None:
            return self._code_word(
                code, "node", scope.copy(), ctx.wrapped("bun -e", nested=True), render(words)
            )
        call = Call(program, "bun", args, parsed, render(words), scope, ctx, self.out, self)
        EMBEDDED_RULES["bun"](call)  # bun x CMD
        return apply_rules(call)


_NODE_HANDLERS: dict[str, Callable[[_Walker, Node, Scope, Ctx], Stream]] = {
    "program": _Walker._sequence,
    "list": _Walker._list,
    "compound_statement": _Walker._sequence,
    "do_group": _Walker._sequence,
    "if_statement": _Walker._branches,
    "elif_clause": _Walker._branches,
    "else_clause": _Walker._branches,
    "case_statement": _Walker._branches,
    "case_item": _Walker._branches,
    "negated_command": _Walker._sequence,
    "c_style_for_statement": _Walker._branches,
    "subshell": _Walker._subshell,
    "pipeline": _Walker._pipeline,
    "redirected_statement": _Walker._redirected,
    "command": _Walker._command_node,
    "declaration_command": _Walker._declaration,
    "unset_command": _Walker._unset,
    "variable_assignment": _Walker._assignment_node,
    "variable_assignments": _Walker._sequence,
    "function_definition": _Walker._function_definition,
    "while_statement": _Walker._while,
    "for_statement": _Walker._for,
    "command_substitution": _Walker._substitution,
    "process_substitution": _Walker._substitution,
    "comment": lambda w, n, s, c: EMPTY,
}
_PROGRAM_HANDLERS: dict[str, Callable[[_Walker, str, list[Word], Scope, Ctx, str], Stream]] = {
    "cd": _Walker._cd,
    "pushd": _Walker._cd,
    "popd": _Walker._popd,
    "eval": _Walker._eval,
    "source": _Walker._source,
    ".": _Walker._source,
    "alias": _Walker._alias,
    "trap": _Walker._trap,
    "read": _Walker._read,
    "mapfile": _Walker._read,
    "readarray": _Walker._read,
    "set": _Walker._set,
    "shift": _Walker._shift,
    "export": _Walker._export_command,
    "declare": _Walker._export_command,
    "typeset": _Walker._export_command,
    "local": _Walker._export_command,
    "readonly": _Walker._export_command,
    "unset": _Walker._unset_command,
    "env": _Walker._env,
    "xargs": _Walker._xargs,
    "parallel": _Walker._parallel,
    "find": _Walker._find,
    "deno": _Walker._deno,
    "bun": _Walker._bun,
    "at": _Walker._at,
    "batch": _Walker._at,
}


# --- helpers -------------------------------------------------------------------------


def _command_items(node: Node) -> list[tuple[str, Node, list[Node]]]:
    """A command's assignments, redirects and words in order, with glued suffixes."""
    items: list[tuple[str, Node, list[Node]]] = []
    last_end = -1
    for i, child in enumerate(node.children):
        field_name = node.field_name_for_child(i)
        if child.type == "variable_assignment":
            kind = "assign"
        elif field_name == "redirect":
            kind = "redirect"
        elif field_name in ("name", "argument"):
            kind = "word"
        else:
            continue
        if child.type == "$" and not child.is_named:
            continue
        if kind == "word" and items and child.start_byte == last_end:
            items[-1][2].append(child)
        else:
            items.append((kind, child, []))
        last_end = child.end_byte
    return items


def _without_plus_options(args: list[Word]) -> list[Word]:
    """A shell's ``+e``, ``+x``, ``+o name``, ``+O name`` turn options off: drop them, so
    the script after them is still seen as the script."""
    kept: list[Word] = []
    skip = False
    for i, word in enumerate(args):
        if skip:
            skip = False
        elif word.text.startswith("+") and len(word.text) > 1 and not kept:
            skip = word.text[-1] in "oO" and i + 1 < len(args)
        else:
            kept.append(word)
    return kept


def _descriptor(text: str) -> int | None:
    return int(text) if text.isdigit() else None


def _named_descriptor(redirect: Node) -> bool:
    """``{fd}>file``: bash opens a new descriptor and keeps its number in ``fd``; stdout
    stays where it was. The grammar reads ``{fd}`` as the last word of the command."""
    before = redirect.prev_sibling
    while before is not None and before.type == "command" and before.children:
        before = before.children[-1]
    return (
        before is not None
        and before.end_byte == redirect.start_byte
        and _BRACED_NAME.fullmatch(node_text(before)) is not None
    )


def _printed_value(word: Word) -> Word:
    """``node -p CODE`` prints the value of CODE: analysed as ``console.log(CODE)``."""
    if not word.resolved:
        return word
    return replace(word, text=f"console.log({word.text}\n)")


def _module_args(args: list[Word]) -> list[Word]:
    """``python -m MOD ARGS``: everything after the module name is the module's."""
    for i, word in enumerate(args):
        if word.text == "-m":
            return args[i + 2 :]
        if word.text.startswith("-m"):
            return args[i + 1 :]
    return []


def _named_coproc(ops: Sequence[Word]) -> bool:
    return len(ops) > 1 and ops[1].text in ("{", "(") and is_name(ops[0].text)


def _is_pipeline_stage(node: Node) -> bool:
    """A pipeline that is itself a stage of an enclosing pipeline (possibly through the
    redirection the grammar wraps around it)."""
    parent = node.parent
    if parent is not None and parent.type == "redirected_statement":
        parent = parent.parent
    return parent is not None and parent.type == "pipeline"


def _harmless_missing(node: Node) -> bool:
    """``x=1 >f`` parses with a MISSING empty command name: not an error for us."""
    parent = node.parent
    return node.type == "word" and parent is not None and parent.type == "command_name"


def _program_name(word: Word) -> str:
    text = word.text
    if _PROC_EXE.match(text):
        return "sh"  # /proc/self/exe: the running shell itself
    return posixpath.basename(text.rstrip("/")) if "/" in text else text


_PROC_EXE = re.compile(r"^/proc/[^/]+/exe$")


def looks_remote(text: str) -> bool:
    return text.startswith(("http://", "https://", "ftp://"))


def _has_background(node: Node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "&":
            return True
        stack.extend(n.children)
    return False


def _is_fork_bomb(name: str, body: Node) -> bool:
    """A function that calls itself twice concurrently (``:(){ :|:& };:``)."""
    calls, concurrent = 0, False
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type == "command":
            cmd = n.child_by_field_name("name")
            if cmd is not None and _unquote(node_text(cmd)) == name:
                calls += 1
        elif n.type in ("pipeline", "&"):
            concurrent = True
        stack.extend(n.children)
    return (calls >= 2 and concurrent) or (calls >= 1 and concurrent and _has_loop(body))


def _has_loop(node: Node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type in ("while_statement", "for_statement", "c_style_for_statement"):
            return True
        stack.extend(n.children)
    return False


def _unquote(text: str) -> str:
    return re.sub(r"[\\'\"]", "", text)


def _substitute(word: Word, token: str, item: Word) -> Word:
    if token not in word.text:
        return word
    resolved = word.resolved and item.resolved
    return Word(
        word.text.replace(token, item.text),
        word.exact and item.exact,
        resolved,
        word.glob or item.glob,
        word.labels | item.labels,
        word.content,
        None if resolved else word.glob_text.replace(token, item.glob_text),
    )


def _items(stream: Stream, delimiter: str | None, *, lines: bool) -> list[Word]:
    """What xargs reads from stdin, as words."""
    labels = stream.labels
    if stream.roots:
        return [Word(r, labels=labels | {LABEL_FOUND}) for r in stream.roots]
    if stream.text is None:
        return [Word("{stdin}", exact=False, resolved=False, labels=labels)]
    if delimiter:
        parts = stream.text.split(delimiter)
    elif lines:
        parts = stream.text.split("\n")
    else:
        parts = stream.text.split()
    return [Word(p, glob=False, labels=labels) for p in parts if p][: MAX_ITEMS * 4]


def _find_expression(
    args: list[Word],
) -> tuple[bool, bool, list[tuple[str, list[Word]]], list[Word], list[tuple[str, str]]]:
    """Scan a find expression: filters, -delete, -exec commands, output files, and the
    name and path tests (primary, pattern)."""
    narrowed = deletes = False
    execs: list[tuple[str, list[Word]]] = []
    writes: list[Word] = []
    names: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        t = args[i].text
        if t in FIND_EXEC:
            j = i + 1
            while j < len(args) and args[j].text not in (";", "+"):
                j += 1
            execs.append((t, list(args[i + 1 : j])))
            i = j + 1
            continue
        if t == "-delete":
            deletes = True
        if t in FIND_NARROWING:
            narrowed = True
        if t in FIND_WRITES and i + 1 < len(args):
            writes.append(args[i + 1])
        if t in _FIND_NAME_TESTS and i + 1 < len(args):
            names.append((t, args[i + 1].text.lower() if t.startswith("-i") else args[i + 1].text))
        if t in FIND_ONE_ARG or t.startswith("-newer"):
            i += 1
        i += 1
    return narrowed, deletes, execs, writes, names
